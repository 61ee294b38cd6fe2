"""Service records for the national system (MCA Order No. 67): the confirmed records of a
period, one row each, headed in Chinese, as XLSX and CSV, for the 村居 and town offices only."""
import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from volunteer.extensions import db
from volunteer.hours.models import HoursCorrection, ServiceHours
from volunteer.hours.records import COLUMNS
from volunteer.issues.services import IssueInput, file_issue
from volunteer.volunteers.models import ContactView

pytestmark = pytest.mark.usefixtures("english")
TODAY = date.today()


@pytest.fixture
def town(factory):
    a, b = factory.village(code="VA", name="甲村"), factory.village(code="VB", name="乙村")
    ga = factory.grid(a, code="VA-01")
    factory.grid(b, code="VB-01")
    leader = factory.user("grid_leader", ga, name="网格长")
    t = {"a": a, "b": b, "leader": leader,
         "va_admin": factory.user("village_admin", a), "vb_admin": factory.user("village_admin", b),
         "admin": factory.user("admin"),
         "sparky": factory.volunteer("=HYPERLINK(1)", ["electrician"], grid=ga)}
    issue = file_issue(leader, IssueInput(title="路灯不亮", description="d", category="facilities",
                                          lat=30.757, lon=121.353))
    other = file_issue(leader, IssueInput(title="堆物", description="d", category="facilities",
                                          lat=30.757, lon=121.353, grid_code="VB-01"))
    db.session.flush()
    for iss, day, status in [(issue, TODAY - timedelta(days=3), "confirmed"),
                             (issue, TODAY - timedelta(days=2), "proposed"),
                             (other, TODAY - timedelta(days=1), "confirmed")]:
        db.session.add(ServiceHours(volunteer_id=t["sparky"].id, issue_id=iss.id,
                                    activity=f"#{iss.id} {iss.title}", served_on=day,
                                    hours=Decimal("2.5"), status=status, note="排查线路",
                                    confirmed_by_id=leader.id if status == "confirmed" else None,
                                    confirmed_at=db.func.now() if status == "confirmed" else None))
    db.session.flush()
    first = db.session.scalar(db.select(ServiceHours).order_by(ServiceHours.id))
    db.session.add(HoursCorrection(hours_id=first.id, old_hours=Decimal("2.0"),
                                   new_hours=Decimal("2.5"), reason="少记了半小时",
                                   status="accepted"))
    db.session.commit()
    return t


def _get(client, fmt, who, auth, town):
    auth.login(user=town[who])
    start = (TODAY - timedelta(days=10)).isoformat()
    return client.get(f"/hours/records?format={fmt}&from={start}&to={TODAY.isoformat()}")


def test_the_village_office_downloads_its_records_as_xlsx(client, auth, town):
    resp = _get(client, "xlsx", "va_admin", auth, town)
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    (row,) = rows[1:]  # its own 村居's confirmed record; not the proposed one, not 乙村's
    record = dict(zip(COLUMNS, row, strict=True))
    assert record["志愿者姓名"] == "=HYPERLINK(1)" and ws["B2"].data_type == "s"  # text
    assert record["联系电话"] == town["sparky"].phone and record["服务时长（小时）"] == 2.5
    assert record["组织单位"].endswith("甲村") and record["记录人"] == "网格长"
    assert record["记录状态"] == "有效" and "少记了半小时" in record["更正情况"]
    assert record["服务内容"] == "排查线路"
    assert db.session.scalar(db.select(ContactView.context)) == "export"  # logged


def test_the_town_office_downloads_every_village_as_csv(client, auth, town):
    resp = _get(client, "csv", "admin", auth, town)
    assert resp.status_code == 200 and resp.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 3
    assert rows[1][1] == "'=HYPERLINK(1)"  # a formula in a spreadsheet: kept as text


@pytest.mark.parametrize("who", ["leader", "sparky"])
def test_only_offices_download_records(client, auth, town, who):
    assert _get(client, "xlsx", who, auth, town).status_code == 403


def test_a_bad_period_is_a_message(client, auth, town):
    auth.login(user=town["admin"])
    resp = client.get("/hours/records?from=2026-13-01&format=xlsx")
    assert resp.status_code == 400 and "alert-danger" in resp.get_data(as_text=True)
    page = client.get("/hours/records").get_data(as_text=True)
    assert 'data-testid="records-xlsx"' in page and "2 records, 5.0 hours" in page


def test_the_volunteer_record_carries_a_number_and_an_id_masked_everywhere(client, factory,
                                                                         auth):
    """MCA Order No. 67: a volunteer record may carry the national volunteer number and an
    identity document; the document is optional, checked, never sent back to the browser, and
    masked on every page."""
    from tests.test_volunteer_registration import form_data

    factory.grid(factory.village(code="XJ", name="新江村"), code="XJ-01", lat=30.76, lon=121.35)
    bad = client.post("/volunteers/register/skilled", data=form_data(
        id_type="id_card", id_number="110105194912310021"))
    assert bad.status_code == 200 and "valid last one" in bad.get_data(as_text=True)
    client.post("/volunteers/register/skilled", data=form_data(
        national_no="3101120001", id_type="id_card", id_number="11010519491231002x"))
    from volunteer.volunteers.models import VolunteerProfile

    p = db.session.scalar(db.select(VolunteerProfile))
    assert (p.national_no, p.id_type, p.id_number) == ("3101120001", "id_card",
                                                       "11010519491231002X")
    page = client.get("/volunteers/me").get_data(as_text=True)
    assert "110***********002X" in page and "11010519491231002X" not in page
    form = client.get("/volunteers/me/edit").get_data(as_text=True)
    assert "11010519491231002X" not in form  # not even in the edit form
    client.post("/volunteers/me/edit", data=form_data(national_no="3101120001",
                                                      id_type="id_card", id_number=""))
    db.session.expire_all()
    assert db.session.scalar(db.select(VolunteerProfile.id_number)) == "11010519491231002X"
    client.post("/volunteers/me/edit", data=form_data(national_no="", id_type="", id_number=""))
    db.session.expire_all()
    assert db.session.scalar(db.select(VolunteerProfile.id_number)) is None
    assert db.session.scalar(db.select(VolunteerProfile.national_no)) is None


@pytest.mark.parametrize("issuer", ["", "山阳镇志愿服务中心"])
def test_a_certificate_as_the_national_rules_describe_it(make_app, issuer):
    """With an issuer configured the page is a 志愿服务证明 with the issuer, its person in
    charge, handler and contact, the number and date, a place for the seal and a QR code of the
    public check; without one it is a 服务记录 summary."""
    from volunteer.hours.models import Certificate
    from volunteer.setup import load_reference_data

    from .conftest import PASSWORD, Factory

    app = make_app(CERT_ISSUER=issuer, CERT_ISSUER_HEAD="李主任", CERT_HANDLER="张经办",
                   CERT_CONTACT="021-57000000")
    with app.app_context():
        load_reference_data()
        v = Factory().volunteer("王志愿", ["doctor"])
        v.profile.national_no = "3101120001"
        db.session.add(ServiceHours(volunteer_id=v.id, activity="义诊", served_on=TODAY,
                                    hours=Decimal("2.0"), status="confirmed"))
        db.session.commit()
        web = app.test_client()
        web.post("/auth/login", data={"login": v.phone, "password": PASSWORD})
        web.post("/hours/certificate")
        cert = db.session.scalar(db.select(Certificate))
        page = web.get(f"/hours/certificate/{cert.serial}").get_data(as_text=True)
        assert "3101120001" in page and cert.serial in page and "<svg" in page
        if issuer:
            assert "志愿服务证明</h1>" in page and issuer in page and "李主任" in page
            assert "张经办" in page and 'data-testid="seal"' in page
        else:
            assert "服务记录</h1>" in page and "志愿服务证明</h1>" not in page
            assert "李主任" not in page
        db.session.remove()


def test_a_helper_learns_where_to_go(client, auth, factory, following_matcher):
    """The reporter types an address or a landmark; once a helper takes a place, the task page
    shows it with links that open the phone's map app (AMap and Baidu in GCJ-02), and the
    calendar file carries it. Before that, and to followers, it is not shown."""
    from volunteer.invitations.models import Invitation
    from volunteer.invitations.navigation import wgs_to_gcj
    from volunteer.invitations.services import Pick, invite, respond
    from volunteer.issues.models import Issue

    grid = factory.grid(factory.village(code="VA", name="甲村"), code="VA-01")
    leader = factory.user("grid_leader", grid)
    member = factory.user("grid_member", grid)
    sparky = factory.volunteer("电工", ["electrician"], grid=grid)
    auth.login(user=member)
    resp = client.post("/issues/new", data={
        "title": "路灯不亮", "description": "晚上路灯全灭", "category": "facilities",
        "urgency": "normal", "source": "patrol", "lat": "30.7571", "lon": "121.3531",
        "grid": "", "helpers_needed": "1", "address": "新江村12号楼东侧"})
    assert resp.status_code == 302
    issue = db.session.scalar(db.select(Issue))
    assert issue.address == "新江村12号楼东侧"
    assert "新江村12号楼东侧" in client.get(f"/issues/{issue.id}").get_data(as_text=True)
    auth.logout()
    start = utcnow_plus(days=2)
    issue.needed_from, issue.needed_until = start, start + timedelta(hours=2)
    db.session.commit()
    (inv,) = invite(leader, issue, [Pick(user_id=sparky.id)])
    db.session.commit()
    auth.login(user=sparky)
    page = client.get(f"/tasks/{inv.id}").get_data(as_text=True)
    assert "新江村12号楼东侧" not in page and 'data-testid="navigate"' not in page
    respond(sparky, db.session.get(Invitation, inv.id), accept=True)
    db.session.commit()
    page = client.get(f"/tasks/{inv.id}").get_data(as_text=True)
    assert "新江村12号楼东侧" in page and "geo:30.757100,121.353100" in page
    g_lat, g_lon = wgs_to_gcj(30.7571, 121.3531)
    assert abs(g_lat - 30.7571) > 1e-4 and f"{g_lon:.6f}%2C{g_lat:.6f}" in page  # AMap: GCJ-02
    ics = client.get(f"/tasks/{inv.id}/calendar.ics").get_data(as_text=True)
    assert "新江村12号楼东侧" in ics.replace("\r\n ", "")


def utcnow_plus(days: int):
    from volunteer.common import utcnow

    return utcnow().replace(second=0, microsecond=0) + timedelta(days=days)


def test_the_organiser_changes_time_and_place_and_helpers_are_told(client, auth, factory,
                                                                     following_matcher):
    """Staff set the time window and address after filing: an event on the timeline, the
    helpers' invitations follow and they are told; a change that would double-book a helper,
    or a reversed window, changes nothing."""
    from volunteer.inbox.models import Notification
    from volunteer.invitations.models import Invitation
    from volunteer.invitations.services import Pick, invite, respond
    from volunteer.issues.models import Issue, IssueEvent

    grid = factory.grid(factory.village(code="VA", name="甲村"), code="VA-01")
    leader = factory.user("grid_leader", grid)
    member = factory.user("grid_member", grid)
    sparky = factory.volunteer("电工", ["electrician"], grid=grid)
    start = utcnow_plus(days=2)
    issue = file_issue(member, IssueInput(title="路灯不亮", description="d", category="facilities",
                                          lat=30.757, lon=121.353, needed_from=start,
                                          needed_until=start + timedelta(hours=2)))
    other = file_issue(member, IssueInput(title="水管漏水", description="d", category="facilities",
                                          lat=30.757, lon=121.353,
                                          needed_from=start + timedelta(days=1),
                                          needed_until=start + timedelta(days=1, hours=2)))
    db.session.commit()
    for i in (issue, other):
        (inv,) = invite(leader, i, [Pick(user_id=sparky.id)])
        respond(sparky, inv, accept=True)
    db.session.commit()
    auth.login(user=leader)
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'data-testid="when-where"' in page
    local = (start + timedelta(hours=8 + 3)).strftime("%Y-%m-%dT%H:%M")  # Shanghai = UTC+8
    resp = client.post(f"/tasks/when-where/{issue.id}", data={
        "needed_from": local, "needed_until": "", "address": "菜场后门"}, follow_redirects=True)
    assert "1 helper was told" in resp.get_data(as_text=True)
    fresh = db.session.get(Issue, issue.id)
    assert fresh.address == "菜场后门" and fresh.needed_from == start + timedelta(hours=3)
    inv = db.session.scalar(db.select(Invitation).where(Invitation.issue_id == issue.id))
    assert inv.starts_at == start + timedelta(hours=3)
    assert db.session.scalar(db.select(Notification.event).where(
        Notification.user_id == sparky.id).order_by(Notification.id.desc())) == "task_changed"
    assert db.session.scalar(db.select(IssueEvent.action).where(
        IssueEvent.issue_id == issue.id).order_by(IssueEvent.id.desc())) == "reschedule"
    # Onto the other task's time: the helper would be double-booked, so nothing changes.
    clash = (start + timedelta(days=1, hours=8)).strftime("%Y-%m-%dT%H:%M")
    resp = client.post(f"/tasks/when-where/{issue.id}", data={
        "needed_from": clash, "needed_until": "", "address": "别处"}, follow_redirects=True)
    assert "already busy" in resp.get_data(as_text=True)
    assert db.session.get(Issue, issue.id).address == "菜场后门"
    resp = client.post(f"/tasks/when-where/{issue.id}", data={
        "needed_from": local, "needed_until": (start + timedelta(hours=8)).strftime(
            "%Y-%m-%dT%H:%M"), "address": ""}, follow_redirects=True)
    assert "The end must come after the start" in resp.get_data(as_text=True)
    auth.logout()
    auth.login(user=member)  # not an organiser
    assert client.post(f"/tasks/when-where/{issue.id}", data={"address": "x"}).status_code == 404


def test_identity_numbers_go_out_in_full_only_to_the_volunteers_own_office(client, auth, town):
    """An office exporting the records of its activities sees the identity number of a
    volunteer of another 村居 masked; the town office and the volunteer's own 村居 in full."""
    sparky = db.session.get(type(town["sparky"]), town["sparky"].id)
    sparky.profile.id_type, sparky.profile.id_number = "id_card", "11010519491231002X"
    db.session.commit()
    col = COLUMNS.index("证件号码")
    resp = _get(client, "csv", "vb_admin", auth, town)  # 乙村's activity, 甲村's volunteer
    (row,) = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))[1:]
    assert row[col] == "110***********002X"
    auth.logout()
    resp = _get(client, "csv", "admin", auth, town)
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))[1:]
    assert {r[col] for r in rows} == {"11010519491231002X"}
