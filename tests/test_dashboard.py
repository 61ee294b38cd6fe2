"""Dashboards and reports: figures for a scope and period, scope and period checks, charts and
tables, XLSX exports, the monthly report, coverage gaps, the work-unit report, certificates."""
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from volunteer.common import utcnow
from volunteer.dashboard.figures import Period, Scope, issue_figures, today_local
from volunteer.dashboard.routes import DashboardError, resolve_period
from volunteer.extensions import db
from volunteer.hours.models import Certificate, ServiceHours
from volunteer.invitations.models import Invitation
from volunteer.issues.models import Issue, IssueEvent
from volunteer.issues.services import Details, IssueInput, file_issue, transition
from volunteer.volunteers.models import ContactView, VolunteerProfile, WorkUnit

TODAY = today_local()  # the town's date (Asia/Shanghai), as the pages use


pytestmark = pytest.mark.usefixtures("following_matcher", "english")


@pytest.fixture
def town(factory):
    va = factory.village(code="VA", name="甲村")
    vb = factory.village(code="VB", name="乙村")
    ga = factory.grid(va, code="VA-01", lat=30.757, lon=121.353)
    gb = factory.grid(vb, code="VB-01", lat=30.70, lon=121.30)
    va.lat, va.lon, vb.lat, vb.lon = 30.757, 121.353, 30.70, 121.30
    db.session.commit()
    return {"va": va, "vb": vb, "ga": ga, "gb": gb,
            "admin": factory.user("admin", name="镇管理员"),
            "vadmin": factory.user("village_admin", va, name="甲村干部"),
            "leader": factory.user("grid_leader", ga, name="甲网格长"),
            "member": factory.user("grid_member", ga, name="甲网格员"),
            "bmember": factory.user("grid_member", gb, name="乙网格员"),
            "resident": factory.user("resident", name="居民")}


def issue(town, grid="ga", lat=30.7571, lon=121.3531, **kw):
    data = {"title": "路灯不亮", "description": "绿地路灯不亮", "category": "facilities",
            "lat": lat, "lon": lon, **kw}
    who = town["member"] if grid == "ga" else town["bmember"]
    if grid == "gb":
        data["lat"], data["lon"] = 30.7001, 121.3001
    made = file_issue(who, IssueInput(**data))
    db.session.commit()
    return made


def close(town, i, late=False, rework=False, rating=None, saved=None):
    member = town["member"] if i.grid_id == town["ga"].id else town["bmember"]
    for action in ("accept", "start"):
        transition(member, i, action)
    transition(member, i, "resolve", Details(resolution="好了", cost_saved_yuan=saved))
    if rework:
        transition(town["admin"], i, "fail_verification", Details(comment="没修好"))
        transition(member, i, "resolve", Details(resolution="再修"))
    transition(town["admin"], i, "verify")
    if late:
        i.closed_at = i.deadline_at + timedelta(hours=5)
    if rating:
        i.rating = rating
    db.session.commit()


def period():
    return Period(TODAY - timedelta(days=30), TODAY + timedelta(days=10))


def test_issue_figures(town):
    a = issue(town)
    b = issue(town, category="environment", source="hotline")
    c = issue(town, grid="gb")
    close(town, a, rating=5, saved=10000)
    close(town, b, late=True, rework=True, rating=3)
    transition(town["bmember"], c, "escalate")
    for x in (a, b, c):  # their deadlines fell in the period
        x.deadline_at = min(x.deadline_at, utcnow() - timedelta(hours=1))
    a.closed_at = a.deadline_at - timedelta(hours=1)
    db.session.commit()
    f = issue_figures(Scope("town"), period())
    assert f.found == 3 and f.by_tier == {"grid": 2, "village": 1}
    assert f.by_source == {"patrol": 2, "hotline": 1}
    assert [(c, n) for c, _z, _e, n in f.by_category] == [("facilities", 2), ("environment", 1)]
    assert (f.due, f.closed_of_due, f.closed_on_time) == (3, 2, 1)
    assert f.closure_rate == pytest.approx(2 / 3) and f.on_time_rate == pytest.approx(1 / 3)
    assert f.overdue_now == 1 and f.rework == 1
    assert f.rating == pytest.approx(4.0) and f.ratings == 2 and f.cost_saved == 10000
    closed = [x for x in (a, b) if x.closed_at]  # the median of two: their mean
    assert f.median_days == pytest.approx(
        sum((x.closed_at - x.created_at).total_seconds() for x in closed) / 2 / 86400)
    assert sum(found for _m, found, _c in f.per_month) == 3
    only_a = issue_figures(Scope("甲村", village_ids=frozenset({town["va"].id})), period())
    assert only_a.found == 2 and only_a.overdue_now == 0


def test_periods():
    assert resolve_period(None, None).end == today_local()
    for start, end, code in (("2026-13-01", None, "bad_date"), ("2026-11-01", "2026-10-01",
                                                                 "reversed"),
                             ("1926-01-01", "2026-01-01", "too_long"),
                             ((TODAY + timedelta(days=5)).isoformat(),
                              (TODAY + timedelta(days=9)).isoformat(), "future")):
        with pytest.raises(DashboardError) as exc:
            resolve_period(start, end)
        assert exc.value.code == code


def test_scope_and_bad_input_on_the_page(client, auth, town):
    issue(town)
    issue(town, grid="gb")
    auth.login(user=town["vadmin"])
    page = client.get("/dashboard/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-testid="found">1<' in body and "甲村" in body
    for args, message in (("?village=VB", "outside your scope"),
                          ("?village=NOPE", "no village or grid with that code"),
                          ("?grid=VB-01", "outside your scope"),
                          ("?from=2026-11-01&to=2026-10-01", "must not be after its end"),
                          ("?from=1926-01-01&to=2026-01-01", "at most five years"),
                          ("?from=yesterday", "YYYY-MM-DD")):
        resp = client.get("/dashboard/" + args)
        assert resp.status_code == 400, args
        body = resp.get_data(as_text=True)
        assert message in body and 'data-testid="found"' not in body, args
        assert client.get("/dashboard/export.xlsx" + args).status_code == 400
        assert client.get("/dashboard/gaps" + args).status_code == 400
    auth.logout()
    auth.login(user=town["leader"])
    assert 'data-testid="found">1<' in client.get("/dashboard/").get_data(as_text=True)
    assert client.get("/dashboard/?village=VA").status_code == 400  # a grid leader: the grid
    auth.logout()
    auth.login(user=town["resident"])
    assert client.get("/dashboard/").status_code == 403


def test_admin_reaches_charts_and_xlsx_from_the_navigation(client, auth, town):
    i = issue(town)
    close(town, i)
    auth.login(user=town["admin"])
    home = client.get("/").get_data(as_text=True)
    assert 'href="/dashboard/"' in home
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'class="js-chart"' in page and "chart.umd.min.js" in page
    assert 'data-testid="xlsx-tiers"' in page and 'data-testid="xlsx-all"' in page
    for name in ("tiers", "months", "categories", "sources", "hours", "invitations", "skills",
                 "party", "all"):
        resp = client.get(f"/dashboard/export.xlsx?table={name}")
        assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet"), name
        wb = load_workbook(io.BytesIO(resp.data))
        assert wb.sheetnames, name
    wb = load_workbook(io.BytesIO(client.get("/dashboard/export.xlsx?table=tiers").data))
    ws = wb.active
    assert [c.value for c in ws[3]] == ["Tier", "Issues", "Share"]
    assert ws["B4"].value == 1  # one issue handled on the spot
    assert client.get("/dashboard/export.xlsx?table=nope").status_code == 404


def test_monthly_report(client, auth, town):
    issue(town)
    auth.login(user=town["admin"])
    month = TODAY.strftime("%Y-%m")
    resp = client.get(f"/dashboard/report?month={month}")
    assert resp.status_code == 200 and "data-print" in resp.get_data(as_text=True)
    assert 'data-testid="found">1<' in resp.get_data(as_text=True)
    assert client.get("/dashboard/report").status_code == 200  # last month by default
    for bad in ("2026-13", "abc", "2999-01", "1900-01"):
        resp = client.get(f"/dashboard/report?month={bad}")
        assert resp.status_code == 400, bad


def test_hours_and_invitations_figures(client, auth, town, factory):
    from volunteer.invitations.services import Pick, invite, respond

    doc = factory.volunteer("电工", ["electrician"], grid=town["ga"])
    other = factory.volunteer("电工二", ["electrician"], grid=town["ga"], lat=30.758)
    i = issue(town, helpers_needed=2)
    a, b = invite(town["leader"], i, [Pick(doc.id), Pick(other.id)])
    db.session.commit()
    respond(doc, a, True)
    respond(other, b, False)
    db.session.commit()
    close(town, i)
    from volunteer.hours.services import confirm

    confirm(town["leader"], db.session.get(Invitation, a.id), "2.5")
    db.session.commit()
    auth.login(user=town["admin"])
    wb = load_workbook(io.BytesIO(client.get("/dashboard/export.xlsx?table=hours").data))
    assert sum(r[1] for r in wb.active.iter_rows(min_row=4, values_only=True)) == 2.5
    wb = load_workbook(io.BytesIO(client.get("/dashboard/export.xlsx?table=invitations").data))
    rows = {r[0]: r[1] for r in wb.active.iter_rows(min_row=4, values_only=True)}
    assert rows["Accepted"] == 1 and rows["Declined"] == 1
    wb = load_workbook(io.BytesIO(client.get("/dashboard/export.xlsx?table=skills").data))
    rows = {r[0]: r[1:] for r in wb.active.iter_rows(min_row=4, values_only=True)}
    assert rows["Electrician"][:3] == (2, 2, 2) or rows["电工"][:3] == (2, 2, 2)


def test_coverage_gaps(client, auth, town, factory):
    from volunteer.dashboard.gaps import coverage

    i = issue(town)
    i.skill_codes = ["doctor"]
    db.session.commit()
    issue(town, title="老人需要量血压", description="请医生上门量血压")
    factory.volunteer("远方医生", ["doctor"], lat=30.60, lon=121.20)  # far: out of range
    factory.volunteer("未认证医生", ["doctor"], grid=town["ga"], verified=False)
    g = coverage(Scope("town"), period())
    vi = [v[1] for v in g.villages].index("VA")
    sj = [s[1] for s in g.skills].index("doctor")
    assert g.demand[vi, sj] == 2 and g.supply[vi, sj] == 0
    assert g.worst[0][0].code == "VA" and g.worst[0][1].code == "doctor"
    factory.volunteer("村医", ["doctor"], grid=town["ga"])
    g = coverage(Scope("town"), period())
    assert g.supply[vi, sj] == 1
    auth.login(user=town["admin"])
    page = client.get("/dashboard/gaps").get_data(as_text=True)
    assert 'data-testid="heat"' in page and "2/1" in page
    wb = load_workbook(io.BytesIO(client.get("/dashboard/export.xlsx?table=gaps").data))
    assert len(wb.sheetnames) == 2


def test_work_unit_report(client, auth, town, factory):
    unit = WorkUnit(name="金山区人民医院", approved=True)
    db.session.add(unit)
    db.session.commit()
    for name, grid in (("党员甲", "ga"), ("党员乙", "gb")):
        v = factory.volunteer(name, ["doctor"], grid=town[grid])
        v.profile.is_party_member, v.profile.work_unit_id = True, unit.id
        v.profile.party_status = "confirmed"
        db.session.add(ServiceHours(volunteer_id=v.id, activity="义诊", served_on=TODAY,
                                    hours=Decimal("3.0"), status="confirmed"))
    db.session.commit()
    auth.login(user=town["admin"])
    page = client.get(f"/dashboard/work-units?unit={unit.id}").get_data(as_text=True)
    assert "党员甲" in page and "党员乙" in page and "6.0 confirmed hours" in page
    assert not re.search(r"1[3-9]\d{9}", page)  # the page is a list: phones masked
    assert db.session.scalar(db.select(sa.func.count(ContactView.id))) == 0
    resp = client.get(f"/dashboard/work-units?unit={unit.id}&format=xlsx")
    wb = load_workbook(io.BytesIO(resp.data))
    rows = list(wb.worksheets[0].iter_rows(min_row=4, values_only=True))
    assert [r[0] for r in rows] == ["党员甲", "党员乙"] and re.fullmatch(r"1[3-9]\d{9}", rows[0][1])
    assert db.session.scalar(db.select(ContactView.context)) == "export"  # logged
    resp = client.get("/dashboard/work-units?unit=不存在的单位")
    assert resp.status_code == 400 and "no approved work unit" in resp.get_data(as_text=True)
    auth.logout()
    auth.login(user=town["vadmin"])
    page = client.get(f"/dashboard/work-units?unit={unit.id}").get_data(as_text=True)
    assert "党员甲" in page and "党员乙" not in page  # only the 村居's own
    assert client.get(f"/dashboard/work-units?unit={unit.id}&village=VB").status_code == 400
    auth.logout()
    auth.login(user=town["leader"])
    assert client.get(f"/dashboard/work-units?unit={unit.id}").status_code == 403


def test_certificate_and_public_verification(client, auth, town, factory):
    v = factory.volunteer("王志愿", ["doctor"], grid=town["ga"])
    auth.login(user=v)
    resp = client.post("/hours/certificate", follow_redirects=True)
    assert "you have none yet" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 0
    for h in ("2.0", "1.5"):
        db.session.add(ServiceHours(volunteer_id=v.id, activity="义诊", served_on=TODAY,
                                    hours=Decimal(h), status="confirmed"))
    db.session.commit()
    resp = client.post("/hours/certificate")
    cert = db.session.scalar(db.select(Certificate))
    assert resp.headers["Location"].endswith(cert.serial)
    page = client.get(f"/hours/certificate/{cert.serial}").get_data(as_text=True)
    assert "王志愿" in page and "3.5" in page and cert.serial in page
    auth.logout()
    assert client.get(f"/hours/certificate/{cert.serial}").status_code == 302  # log in first
    public = client.get(f"/hours/verify?serial={cert.serial.lower()}")
    body = public.get_data(as_text=True)
    assert public.status_code == 200 and "王*" in body and "王志愿" not in body and "3.5" in body
    forged = cert.serial[:-1] + ("2" if cert.serial[-1] != "2" else "3")
    for bad in (forged, "SY-2026-AAAAAAAAAA-A", "<script>", "x" * 60):
        resp = client.get("/hours/verify", query_string={"serial": bad})
        assert resp.status_code == 404 and "No certificate has this number" in \
            resp.get_data(as_text=True)
    assert client.get("/hours/verify").status_code == 200


def test_party_members_per_village(client, auth, town, factory):
    for name, grid, status in (("甲", "ga", "confirmed"), ("乙", "ga", "pending"),
                               ("丙", "gb", "confirmed")):
        v = factory.volunteer(name, ["teacher"], grid=town[grid])
        v.profile.is_party_member, v.profile.party_status = True, status
    db.session.commit()
    from volunteer.dashboard.figures import party_by_village

    assert party_by_village(Scope("town")) == [("VA", "甲村", 1, 1), ("VB", "乙村", 1, 0)]
    assert party_by_village(Scope("甲", village_ids=frozenset({town["va"].id}))) == [
        ("VA", "甲村", 1, 1)]
    assert db.session.scalar(db.select(db.func.count(VolunteerProfile.id))) == 3


def test_rework_counts_failed_verifications(town):
    i = issue(town)
    close(town, i, rework=True)
    assert db.session.scalar(db.select(db.func.count(IssueEvent.id)).where(
        IssueEvent.action == "fail_verification")) == 1
    assert issue_figures(Scope("t"), period()).rework == 1
    assert db.session.get(Issue, i.id).rework_count == 1


def test_gaps_place_a_village_without_coordinates(client, auth, town):
    town["vb"].lat = town["vb"].lon = None
    db.session.commit()
    auth.login(user=town["admin"])
    assert client.get("/dashboard/gaps").status_code == 200
