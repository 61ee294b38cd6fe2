"""Words and numbers officials read (issue 14): the pager, the coverage-gap heat map and its map,
the monthly report as of the month's end, and the wording of lists, admin screens and the
certificate check — in Chinese and in English."""
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import force_locale
from flask_babel import gettext as _

from volunteer.common import utcnow
from volunteer.dashboard.figures import today_local
from volunteer.extensions import db
from volunteer.hours.models import Certificate, ServiceHours
from volunteer.issues.models import Issue, IssueEvent
from volunteer.issues.services import IssueInput, file_issue

ROOT = Path(__file__).parents[1]
PO = ROOT / "volunteer/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def translated(msgid: str) -> bool:
    """Whether the Chinese catalogue has ``msgid`` translated (new words are merged in later)."""
    with PO.open("rb") as fh:
        m = read_po(fh).get(msgid)
    return bool(m and m.string)


@pytest.fixture
def town(factory):
    va = factory.village(code="VA", name="甲村")
    vb = factory.village(code="VB", name="乙村")
    va.kind = "community"
    ga = factory.grid(va, code="VA-01", lat=30.757, lon=121.353)
    gb = factory.grid(vb, code="VB-01", lat=30.70, lon=121.30)
    va.lat, va.lon, vb.lat, vb.lon = 30.757, 121.353, 30.70, 121.30
    db.session.commit()
    return {"va": va, "vb": vb, "ga": ga, "gb": gb,
            "admin": factory.user("admin", name="镇管理员"),
            "member": factory.user("grid_member", ga, name="甲网格员")}


def issue(town, **kw):
    data = {"title": "路灯不亮", "description": "绿地路灯不亮", "category": "facilities",
            "lat": 30.7571, "lon": 121.3531, **kw}
    made = file_issue(town["member"], IssueInput(**data))
    db.session.commit()
    return made


# The pager

def _pager(page_no: int, pages: int) -> str:
    page = SimpleNamespace(
        page=page_no, pages=pages, has_prev=page_no > 1, has_next=page_no < pages,
        prev_num=page_no - 1 if page_no > 1 else None,
        next_num=page_no + 1 if page_no < pages else None,
        iter_pages=lambda **_kw: [1, None, *range(max(2, page_no - 1), min(pages, page_no + 3)),
                                  None, pages])
    return render_template_string('{% from "_macros/pagination.html" import pager %}'
                                  '{{ pager(page, "board.index") }}', page=page)


def test_pager_has_its_own_words_in_english(app):
    with app.test_request_context("/board/?page=5", headers={"Cookie": "lang=en"}):
        html = _pager(5, 20)
    assert "Previous page" in html and "Next page" in html
    assert 'aria-current="page"' in html and "page=4" in html and "page=6" in html
    # On a phone only the current page shows between the arrows (one line at 360 px).
    assert 'class="pagination pager' in html and ".pager .page-item:not(.active)" in \
        (ROOT / "volunteer/static/css/site.css").read_text()


@pytest.mark.skipif(not translated("Previous page"),
                    reason="the pager's Chinese words are merged from /tmp/po_words.po")
def test_pager_is_translated_in_chinese(app):
    with app.test_request_context("/board/?page=2"):
        html = _pager(2, 3)
    assert "上一页" in html and "下一页" in html
    assert "下一场" not in html and "Previous" not in html


def test_next_session_keeps_its_own_word(app):
    """"Next" on the service menu is the next session (下一场), not the pager's next page."""
    with app.test_request_context("/"), force_locale("zh_Hans_CN"):
        assert _("Next") == "下一场"


# The coverage-gap heat map and map

def test_heat_cells_set_the_tables_own_colour():
    css = (ROOT / "volunteer/static/css/site.css").read_text()
    for level in range(1, 5):
        rule = css.split(f".heat-{level} {{", 1)[1].split("}", 1)[0]
        assert "--bs-table-bg:" in rule, level


def test_heat_map_columns_include_the_skills_of_the_worst_gaps(client, auth, town, factory,
                                                               following_matcher, english):
    from volunteer.dashboard.figures import Period, Scope
    from volunteer.dashboard.gaps import coverage

    for _n in range(3):  # electricians: most demand, all of it met
        i = issue(town)
        i.skill_codes = ["electrician"]
    for n in range(3):
        factory.volunteer(f"电工{n}", ["electrician"], grid=town["ga"])
    d = issue(town, title="需要医生", description="上门量血压")
    d.skill_codes = ["doctor"]  # one doctor needed, none available: the worst gap
    db.session.commit()
    period = Period(today_local() - timedelta(days=30), today_local())
    g = coverage(Scope("town"), period, top_skills=1)
    codes = [s[1] for s in g.skills]
    assert codes[0] == "electrician" and "doctor" in codes
    assert g.worst[0][1].code == "doctor"
    va = [v[1] for v in g.villages].index("VA")
    assert g.village_worst[va][3].code == "doctor" and g.places[va] == (30.757, 121.353)

    auth.login(user=town["admin"])
    page = client.get("/dashboard/gaps").get_data(as_text=True)
    assert 'data-testid="gaps-map"' in page and "js/gaps-map.js" in page
    assert "heat-4" in page and 'data-testid="heat-legend"' in page
    # The map's points carry the worst gap of each 村居 as text, coloured by its level.
    assert "&#34;level&#34;: 4" in page or '"level": 4' in page
    assert "Doctor" in page


def test_gaps_map_sets_its_labels_as_text():
    js = (ROOT / "volunteer/static/js/gaps-map.js").read_text()
    assert "textContent" in js and "innerHTML" not in js


# The monthly report: the month's figures only

def _last_month() -> tuple[date, date]:
    first_this = today_local().replace(day=1)
    last = first_this - timedelta(days=1)
    return last.replace(day=1), last


def test_past_month_report_counts_overdue_and_volunteers_at_its_end(client, auth, town,
                                                                     factory, english):
    from volunteer.dashboard.figures import Period, Scope, issue_figures, volunteer_totals

    first, last = _last_month()
    mid = utcnow().replace(year=first.year, month=first.month, day=10, hour=4)
    # Overdue at the month's end, closed since: counted in that month, not now.
    old = issue(town)
    old.created_at, old.deadline_at = mid, mid + timedelta(days=1)
    for e in db.session.scalars(db.select(IssueEvent).where(IssueEvent.issue_id == old.id)):
        e.created_at = mid
    db.session.commit()
    old.status, old.closed_at = "closed", utcnow()
    db.session.add(IssueEvent(issue_id=old.id, action="verify", from_status="resolved",
                              to_status="closed"))
    # Overdue today, filed this month: not in last month's report.
    new = issue(town)
    new.deadline_at = utcnow() - timedelta(hours=1)
    # A volunteer registered last month, and one today.
    early = factory.volunteer("早来的", ["doctor"], grid=town["ga"])
    early.profile.created_at = mid
    for vs in early.profile.skills:
        vs.verified_at = mid
    factory.volunteer("今天来的", ["doctor"], grid=town["ga"])
    db.session.commit()

    period = Period(first, last)
    now = issue_figures(Scope("town"), period)
    assert now.overdue_now == 1  # today's: the new one
    then = issue_figures(Scope("town"), period, now=period.utc_end)
    assert then.overdue_now == 1 and db.session.get(Issue, old.id).status == "closed"
    assert volunteer_totals(Scope("town")) == (2, 2, 2)
    assert volunteer_totals(Scope("town"), period.utc_end) == (1, 1, 1)

    auth.login(user=town["admin"])
    page = client.get(f"/dashboard/report?month={first:%Y-%m}").get_data(as_text=True)
    assert 'data-testid="overdue">1<' in page and 'data-testid="registered">1<' in page
    assert "Overdue at the end of the month" in page and "Overdue now" not in page
    this = client.get(f"/dashboard/report?month={today_local():%Y-%m}").get_data(as_text=True)
    assert 'data-testid="registered">2<' in this and "Overdue now" in this


def test_skills_table_counts_volunteers_not_a_time(client, auth, town, factory):
    factory.volunteer("医生", ["doctor"], grid=town["ga"])
    auth.login(user=town["admin"])
    page = client.get("/dashboard/").get_data(as_text=True)
    skills = page.split('data-table="skills"', 1)[1].split("</section>", 1)[0]
    assert "注册志愿者" in skills and "注册时间" not in skills  # a count, not a time


# Wording

def test_verify_page_says_hours_and_activities(client, auth, town, factory):
    v = factory.volunteer("王志愿", ["doctor"], grid=town["ga"])
    db.session.add(ServiceHours(volunteer_id=v.id, activity="义诊", served_on=today_local(),
                                hours=Decimal("5.5"), status="confirmed"))
    db.session.commit()
    auth.login(user=v)
    client.post("/hours/certificate")
    cert = db.session.scalar(db.select(Certificate))
    auth.logout()
    body = client.get(f"/hours/verify?serial={cert.serial}").get_data(as_text=True)
    line = body.split('data-testid="verified-hours">', 1)[1].split("</div>", 1)[0]
    assert "5.5 小时" in line and "活动: 1" in line and "项活动" not in line
    client.set_cookie("lang", "en")
    body = client.get(f"/hours/verify?serial={cert.serial}").get_data(as_text=True)
    assert "5.5 hours" in body and "Activities: 1" in body


def test_one_word_for_an_unverified_skill(app):
    with PO.open("rb") as fh:
        catalogue = read_po(fh)
    for m in catalogue:
        if m.id and isinstance(m.string, str):
            assert "未认证" not in m.string and "未验证" not in m.string, m.id
            assert "已认证" not in m.string, m.id
    with app.test_request_context("/"), force_locale("zh_Hans_CN"):
        assert _("%(skill)s (unverified)", skill="医生") == "医生（未核验）"
        assert _("unverified") == "未核验"
        assert str(_("signed up")) == "已报名"


def test_admin_lists_name_things_and_label_codes(client, auth, town, english):
    from volunteer.volunteers.models import ContactView

    db.session.add(ContactView(viewer_id=town["admin"].id, subject_id=town["member"].id,
                               context="reveal"))
    db.session.commit()
    auth.login(user=town["admin"])
    villages = client.get("/admin/a_village/").get_data(as_text=True)
    assert "Village name" in villages and "Residents' committee (居)" in villages
    assert ">community<" not in villages
    assert "Grid name" in client.get("/admin/a_grid/").get_data(as_text=True)
    assert "Service name" in client.get("/admin/a_serviceitem/").get_data(as_text=True)
    assert "Department name" in client.get("/admin/a_department/").get_data(as_text=True)
    log = client.get("/admin/a_contactview/").get_data(as_text=True)
    assert "Shown on request" in log and ">reveal<" not in log
    new_role = client.get("/admin/a_role/new/").get_data(as_text=True)
    assert "Please select model" not in new_role and 'data-placeholder="Name or mobile"' in new_role


def test_staff_list_shows_grid_names_and_keeps_skills_on_a_phone(client, auth, town, factory):
    factory.volunteer("电工甲", ["electrician"], grid=town["ga"])
    auth.login(user=town["admin"])
    body = client.get("/volunteers/").get_data(as_text=True)
    grid_cell = body.split('data-testid="grid-cell">', 1)[1].split("</td>", 1)[0]
    assert "甲村 · 第" in grid_cell and "VA-01" not in grid_cell
    phone = body.split('data-testid="phone-details">', 1)[1].split("</div>", 1)[0]
    assert "d-md-none" in body and "电工" in phone


def test_service_menu_in_english_names_the_department_in_english(client, factory, english):
    from volunteer.org.models import Department, ServiceItem, Town

    dept = Department(town_id=db.session.scalar(db.select(Town.id)), code="DJ", name="司法所", name_en="Justice Office")
    db.session.add(dept)
    db.session.add(ServiceItem(code="SJ", name="法律咨询", name_en="Legal advice",
                               department=dept))
    db.session.commit()
    menu = client.get("/services/").get_data(as_text=True)
    assert "Legal advice" in menu and "Justice Office" in menu and "司法所" not in menu
    item = client.get("/services/items/SJ").get_data(as_text=True)
    assert "Justice Office" in item and "司法所" not in item
