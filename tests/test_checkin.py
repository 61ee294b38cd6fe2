"""QR check-in and check-out at service sessions and at tasks: the signed codes (rotation with
one window of grace, printed codes for the day, forged, expired, another session's or a
call-up's), who may check in (an accepted helper, a signed-up resident; not an invited-only or
declined volunteer, a stranger, another 村居's people), idempotent check-in and check-out, hours
proposed to the quarter hour and confirmable as measured, attendance taken from the check-ins,
the organisers' code pages (and nobody else's), the "I'm here" buttons, bad input, both
languages and constant query counts."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from volunteer import policy
from volunteer.callups.services import CallUpError, read_qr
from volunteer.checkin import codes
from volunteer.checkin.codes import CheckVia
from volunteer.checkin.models import CheckIn
from volunteer.checkin.services import (
    CheckInError,
    CheckStage,
    check_in,
    check_out,
    place_of,
    printed_code,
    read_code,
    screen_code,
    stage,
    toggle,
    window,
)
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.inbox.models import Notification
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.invitations.services import Pick, invite, respond
from volunteer.issues.services import IssueInput, file_issue
from volunteer.org.models import GridPoint, ServiceItem
from volunteer.privacy import erase_user, export_user
from volunteer.services.models import ServiceSession, SessionSignup, SignupStatus

from .conftest import PASSWORD, count_queries

pytestmark = pytest.mark.usefixtures("following_matcher")


@pytest.fixture
def world(app, factory):
    """Village A with a grid point, its grid leader, a session that began 10 minutes ago (two
    volunteer staff: one accepted, one only invited; a declined one; residents: two confirmed,
    one waiting), a task (an issue) that starts in 30 minutes with an accepted helper; village
    B with its leader and a volunteer."""
    a, b = factory.village(code="KA", name="甲村"), factory.village(code="KB", name="乙村")
    ga = factory.grid(a, code="KA-01", lat=30.757, lon=121.353)
    gb = factory.grid(b, code="KB-01", lat=30.70, lon=121.30)
    w = {"a": a, "b": b, "ga": ga, "gb": gb,
         "leader": factory.user("grid_leader", ga, name="甲网格长"),
         "member": factory.user("grid_member", ga, name="甲网格员"),
         "other_leader": factory.user("grid_leader", gb, name="乙网格长"),
         "staff": factory.volunteer("医生甲", ["doctor"], grid=ga),
         "helper": factory.volunteer("电工乙", ["electrician"], grid=ga),
         "invited": factory.volunteer("只被邀请", ["doctor"], grid=ga),
         "declined": factory.volunteer("已谢绝", ["doctor"], grid=ga),
         "stranger": factory.volunteer("陌生人", ["doctor"], grid=ga),
         "other_volunteer": factory.volunteer("乙村志愿者", ["doctor"], grid=gb, lat=30.70,
                                              lon=121.30),
         "resident": factory.user("resident", name="居民甲"),
         "resident2": factory.user("resident", name="居民乙"),
         "waiting": factory.user("resident", name="候补居民")}
    point = GridPoint(grid=ga, name="甲村网格点", address="甲村1号", lat=30.757, lon=121.353)
    item = ServiceItem(code="S91", name="义诊", category="健康服务")
    db.session.add_all([point, item])
    now = utcnow().replace(microsecond=0)
    session = ServiceSession(item=item, point=point, starts_at=now - timedelta(minutes=10),
                             ends_at=now + timedelta(hours=2), capacity=2, staff_needed=2,
                             created_by_id=w["leader"].id)
    db.session.add(session)
    db.session.flush()
    for who, status in (("staff", InvitationStatus.accepted), ("invited", InvitationStatus.invited),
                        ("declined", InvitationStatus.declined)):
        db.session.add(Invitation(kind="session", session_id=session.id, volunteer_id=w[who].id,
                                  invited_by_id=w["leader"].id, status=status,
                                  starts_at=session.starts_at, ends_at=session.ends_at,
                                  expires_at=now + timedelta(hours=1)))
    for who, status in (("resident", SignupStatus.confirmed),
                        ("resident2", SignupStatus.confirmed),
                        ("waiting", SignupStatus.waiting)):
        db.session.add(SessionSignup(session_id=session.id, user_id=w[who].id, status=status))
    db.session.commit()
    issue = file_issue(w["member"], IssueInput(
        title="绿地路灯不亮", description="小区绿地的路灯晚上全部不亮", category="facilities",
        lat=30.7571, lon=121.3531, helpers_needed=1,
        needed_from=now + timedelta(minutes=30), needed_until=now + timedelta(hours=2)))
    db.session.commit()
    (inv,) = invite(w["leader"], issue, [Pick(user_id=w["helper"].id)])
    respond(w["helper"], inv, accept=True)
    db.session.commit()
    w.update(session=session, point=point, item=item, issue=issue, task=inv, now=now,
             staff_inv=_inv(session, w["staff"]),
             signup=_signup(session, w["resident"]), signup2=_signup(session, w["resident2"]))
    return w


def _inv(session, user) -> Invitation:
    return db.session.scalar(db.select(Invitation).where(Invitation.session_id == session.id,
                                                         Invitation.volunteer_id == user.id))


def _signup(session, user) -> SessionSignup:
    return db.session.scalar(db.select(SessionSignup).where(
        SessionSignup.session_id == session.id, SessionSignup.user_id == user.id))


def login(app, user):
    """A client of its own, logged in as ``user``, reading English (the source language;
    Chinese is checked where a test sets it)."""
    client = app.test_client()
    client.set_cookie("lang", "en")
    assert client.post("/auth/login", data={"login": user.phone,
                                            "password": PASSWORD}).status_code == 302
    return client


def token_of(app, obj, now=None) -> str:
    with app.test_request_context():
        return screen_code(obj, now).token


def checkins() -> int:
    return db.session.scalar(db.select(db.func.count(CheckIn.id)))


# --- the codes -------------------------------------------------------------------------------

def test_screen_code_rotates_with_one_window_of_grace(app, world):
    app.config["CHECKIN_ROTATE_MINUTES"] = 3
    s = world["session"]
    t = utcnow()
    code = screen_code(s, t)
    assert read_code(code.token, t) == s
    assert code.window == codes.window_of(t, 180) and 1 <= code.refresh_in <= 181
    assert read_code(code.token, t + timedelta(minutes=3)) == s  # the next window: grace
    with pytest.raises(CheckInError) as exc:
        read_code(code.token, t + timedelta(minutes=6, seconds=1))  # two windows on: expired
    assert exc.value.code == "link_expired" and exc.value.status == 410
    # A code of a window still to come cannot be made by anyone but the server: refused.
    future = codes.sign("checkin", {"k": "s", "id": s.id, "w": codes.window_of(t, 180) + 5})
    with pytest.raises(CheckInError, match="bad_link"):
        read_code(future, t)
    # Each rotation makes a new code; it names its own window.
    later = screen_code(s, t + timedelta(minutes=3))
    assert later.token != code.token and later.window == code.window + 1


def test_printed_code_works_for_the_day_only(app, world):
    s = world["session"]
    win = window(s)
    assert win.opens == s.starts_at - timedelta(minutes=60)
    assert win.closes == s.ends_at + timedelta(hours=3)
    printed = printed_code(s, win)
    assert printed.valid_until == win.closes
    assert read_code(printed.token, win.closes) == s
    with pytest.raises(CheckInError, match="link_expired"):
        read_code(printed.token, win.closes + timedelta(seconds=1))  # next week: no


@pytest.mark.parametrize("token", ["", "x", "forged.token.here", "a" * 600])
def test_forged_codes_are_refused(app, world, token):
    with pytest.raises(CheckInError) as exc:
        read_code(token)
    assert exc.value.code == "bad_link" and exc.value.status == 404


def test_codes_are_not_interchangeable(app, world):
    """A code names its session or task; a call-up's link is no check-in code, and back; a
    code of another kind or for nothing is refused."""
    s, issue = world["session"], world["issue"]
    with app.test_request_context():
        assert read_code(screen_code(issue).token) == issue
        assert read_code(screen_code(s).token) == s
        callup_link = codes.sign("callup-qr", {"c": s.id, "a": "in"})
        with pytest.raises(CheckInError, match="bad_link"):
            read_code(callup_link)
        with pytest.raises(CallUpError, match="bad_link"):
            read_qr(screen_code(s).token)
        for data in ({"k": "x", "id": s.id, "w": 1}, {"k": "s", "id": 999999, "u": 2**40},
                     {"k": "s", "id": s.id}, {"k": "s", "id": True, "u": 2**40},
                     {"k": "s", "id": s.id, "w": "1"}):
            with pytest.raises(CheckInError, match="bad_link"):
                read_code(codes.sign("checkin", data))


def test_codes_primitives():
    t = utcnow()
    assert codes.quarter_hours(t, t + timedelta(minutes=7)) == Decimal("0.25")
    assert codes.quarter_hours(t, t + timedelta(hours=2, minutes=8)) == Decimal("2.25")
    assert codes.quarter_hours(t, t + timedelta(hours=2, minutes=7, seconds=31)) == \
        Decimal("2.25")
    assert codes.quarter_hours(t, t + timedelta(hours=30)) == Decimal("24")
    assert codes.rotate_seconds("x") == 180 and codes.rotate_seconds(0) == 5
    assert codes.parse_position("", "", "") == codes.NO_POSITION
    assert codes.parse_position("30.7", "121.3", "12") == (30.7, 121.3, 12.0)
    for bad in (("999", "1", ""), ("nan", "1", ""), ("30.7", "121.3", "-1"), ("x", "", "")):
        with pytest.raises(codes.PositionError):
            codes.parse_position(*bad)
    assert codes.capped(t + timedelta(days=7), t, t + timedelta(hours=3)) == \
        t + timedelta(hours=3)
    assert codes.capped(t - timedelta(hours=1), t, None) == t


# --- who checks in ---------------------------------------------------------------------------

def test_who_may_check_in(app, world):
    s = world["session"]
    assert place_of(world["staff"], s) == world["staff_inv"]
    assert place_of(world["resident"], s) == world["signup"]
    for who in ("invited", "declined", "stranger", "other_volunteer", "waiting", "leader",
                "other_leader"):
        assert place_of(world[who], s) is None, who
        with pytest.raises(CheckInError) as exc:
            toggle(world[who], s, CheckVia.qr)
        assert exc.value.code == "not_involved" and exc.value.status == 403
    assert place_of(world["helper"], world["issue"]) == world["task"]
    assert place_of(world["staff"], world["issue"]) is None
    assert place_of(world["resident"], world["issue"]) is None  # no sign-ups for a task
    # The rule is the policy's: one's own accepted invitation or confirmed sign-up.
    assert policy.may_check_in(world["staff"], world["staff_inv"])
    assert policy.may_check_in(world["resident"], world["signup"])
    assert not policy.may_check_in(world["invited"], _inv(s, world["invited"]))
    assert not policy.may_check_in(world["stranger"], world["staff_inv"])
    assert not policy.may_check_in(world["waiting"], _signup(s, world["waiting"]))
    # Someone else's invitation or sign-up cannot be used.
    with pytest.raises(CheckInError, match="not_involved"):
        check_in(world["stranger"], world["signup"])
    assert checkins() == 0


def test_check_in_and_out_are_idempotent_and_propose_quarter_hours(app, world):
    s, staff, inv = world["session"], world["staff"], world["staff_inv"]
    t0 = s.starts_at + timedelta(minutes=2)
    record = check_in(staff, inv, CheckVia.qr, "30.7572", "121.3531", "20", now=t0)
    db.session.commit()
    assert record.session_id == s.id and record.checkin_lat == pytest.approx(30.7572)
    for _again in range(2):
        with pytest.raises(CheckInError) as exc:
            check_in(staff, inv, CheckVia.qr, now=t0 + timedelta(minutes=1))
        assert exc.value.code == "already_in" and exc.value.status == 409
        db.session.rollback()
    assert checkins() == 1
    assert stage(record) == CheckStage.here
    check_out(staff, inv, CheckVia.qr, now=t0 + timedelta(hours=2, minutes=8))
    db.session.commit()
    entry = db.session.scalar(db.select(ServiceHours).where(
        ServiceHours.invitation_id == inv.id))
    assert entry.hours == Decimal("2.25") and entry.status == HoursStatus.proposed
    assert entry.kind == "session" and entry.proposed_by_id == staff.id
    assert db.session.scalar(db.select(Notification.id).where(
        Notification.user_id == world["leader"].id, Notification.event == "hours_proposed"))
    with pytest.raises(CheckInError, match="already_out"):
        check_out(staff, inv, now=t0 + timedelta(hours=3))
    db.session.rollback()
    with pytest.raises(CheckInError, match="already_out"):
        check_in(staff, inv, now=t0 + timedelta(hours=3))
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(ServiceHours.id))) == 1
    # A resident checks in and out too; no hours for residents.
    check_in(world["resident"], world["signup"], now=t0)
    check_out(world["resident"], world["signup"], now=t0 + timedelta(hours=1))
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(ServiceHours.id))) == 1


def test_hours_proposed_are_updated_not_duplicated_and_a_confirmed_entry_stays(app, world):
    s, staff, inv = world["session"], world["staff"], world["staff_inv"]
    inv.status = InvitationStatus.done
    db.session.add(ServiceHours(volunteer_id=staff.id, invitation_id=inv.id,
                                session_id=s.id, kind="session", activity="义诊",
                                served_on=s.starts_at.date(), hours=Decimal("1"),
                                status=HoursStatus.confirmed, confirmed_by_id=world["leader"].id))
    db.session.commit()
    check_in(staff, inv, now=s.starts_at)
    check_out(staff, inv, now=s.starts_at + timedelta(hours=3))
    db.session.commit()
    (entry,) = db.session.scalars(db.select(ServiceHours)).all()
    assert entry.hours == Decimal("1") and entry.status == HoursStatus.confirmed


def test_check_out_forgotten_counts_until_the_check_in_closed(app, world):
    s, staff, inv = world["session"], world["staff"], world["staff_inv"]
    check_in(staff, inv, now=s.starts_at)
    record = check_out(staff, inv, now=s.starts_at + timedelta(days=6))
    db.session.commit()
    assert record.checked_out_at == window(s).closes
    entry = db.session.scalar(db.select(ServiceHours))
    assert entry.hours == Decimal("5.25")  # 2 h 10 min of session and the 3 h after it


# --- the pages ---------------------------------------------------------------------------------

def test_scan_checks_in_then_out_with_one_tap_each(app, world):
    s, staff = world["session"], world["staff"]
    client = login(app, staff)
    token = token_of(app, s)
    page = client.get(f"/checkin/{token}")
    assert page.status_code == 200 and checkins() == 0  # a GET changes nothing
    html = page.get_data(as_text=True)
    assert 'data-testid="scan-confirm"' in html and "义诊" in html
    resp = client.post(f"/checkin/{token}", data={"lat": "30.7571", "lon": "121.3532",
                                                  "accuracy": "15"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/tasks/{world['staff_inv'].id}")
    (record,) = db.session.scalars(db.select(CheckIn)).all()
    assert record.checkin_via == CheckVia.qr and record.checked_out_at is None
    # The next scan offers check-out.
    again = client.get(f"/checkin/{token}").get_data(as_text=True)
    assert "check out" in again.lower() or "签退" in again
    assert client.post(f"/checkin/{token}").status_code == 302
    db.session.refresh(record)
    assert record.checked_out_at is not None and record.checkout_via == CheckVia.qr
    assert db.session.scalar(db.select(ServiceHours.hours).where(
        ServiceHours.invitation_id == world["staff_inv"].id)) == Decimal("0.25")
    # A third scan changes nothing.
    assert client.post(f"/checkin/{token}").status_code == 302
    assert checkins() == 1
    assert db.session.scalar(db.select(db.func.count(ServiceHours.id))) == 1


def test_a_signed_up_resident_checks_in_by_the_code(app, world):
    client = login(app, world["resident"])
    token = token_of(app, world["session"])
    resp = client.post(f"/checkin/{token}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/services/mine")
    record = db.session.scalar(db.select(CheckIn))
    assert record.signup_id == world["signup"].id and record.invitation_id is None
    page = client.get("/services/mine").get_data(as_text=True)
    assert 'data-testid="checkin-state"' in page and 'data-testid="im-leaving"' in page
    assert client.post(f"/checkin/signup/{world['signup'].id}/out").status_code == 302
    assert db.session.scalar(db.select(CheckIn)).checked_out_at is not None


def test_scan_refusals_write_nothing(app, world):
    s = world["session"]
    token = token_of(app, s)
    old = token_of(app, s, utcnow() - timedelta(hours=1))
    for who in ("stranger", "invited", "declined", "other_volunteer", "waiting"):
        client = login(app, world[who])
        for method in ("get", "post"):
            resp = getattr(client, method)(f"/checkin/{token}")
            assert resp.status_code == 403, (who, method)
            assert "义诊" not in resp.get_data(as_text=True)  # nothing about the session
    client = login(app, world["staff"])
    for method in ("get", "post"):
        assert getattr(client, method)("/checkin/forged").status_code == 404
        assert getattr(client, method)(f"/checkin/{token[:-3]}abc").status_code == 404
        expired = getattr(client, method)(f"/checkin/{old}")
        assert expired.status_code == 410
        assert "expired" in expired.get_data(as_text=True) or "过期" in \
            expired.get_data(as_text=True)
    assert checkins() == 0
    # Not logged in: to the login page, and back to the same link after it.
    anon = app.test_client()
    resp = anon.get(f"/checkin/{token}")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert token in resp.headers["Location"]
    # The organiser scanning their own code is shown the code page.
    leader = login(app, world["leader"])
    resp = leader.get(f"/checkin/{token}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/checkin/session/{s.id}")


def test_checkin_window(app, world):
    """Before check-in opens (an hour before the start) and after it closes (3 hours after the
    end), nothing is recorded."""
    issue, task, staff = world["issue"], world["task"], world["helper"]
    issue.needed_from = task.starts_at = world["now"] + timedelta(hours=5)
    issue.needed_until = task.ends_at = world["now"] + timedelta(hours=7)
    db.session.commit()
    client = login(app, staff)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="task-checkin"' in page and 'data-testid="im-here"' not in page
    resp = client.post(f"/checkin/task/{task.id}/in", follow_redirects=True)
    assert "opens at" in resp.get_data(as_text=True)
    assert checkins() == 0
    with pytest.raises(CheckInError, match="closed"):
        check_in(staff, task, now=world["now"] + timedelta(hours=10, seconds=1))
    db.session.rollback()
    assert checkins() == 0
    # A task without a time has no check-in and no code.
    issue.needed_from = issue.needed_until = task.starts_at = task.ends_at = None
    db.session.commit()
    assert window(issue) is None
    with pytest.raises(CheckInError, match="no_time"):
        check_in(staff, task)
    db.session.rollback()
    page = login(app, world["leader"]).get(f"/checkin/issue/{issue.id}").get_data(as_text=True)
    assert 'data-testid="no-code"' in page and "data-checkin-link" not in page


def test_task_page_button_checks_in_with_position_and_out(app, world):
    task, staff = world["task"], world["helper"]
    client = login(app, staff)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="im-here"' in page and "callup-checkin.js" in page
    resp = client.post(f"/checkin/task/{task.id}/in", data={"lat": "30.7580", "lon": "121.3531",
                                                            "accuracy": "10"})
    assert resp.status_code == 302
    record = db.session.scalar(db.select(CheckIn))
    assert record.issue_id == world["issue"].id and record.checkin_via == CheckVia.button
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="im-leaving"' in page
    assert client.post(f"/checkin/task/{task.id}/out").status_code == 302
    entry = db.session.scalar(db.select(ServiceHours))
    assert entry.hours == Decimal("0.25") and entry.issue_id == world["issue"].id
    assert 'data-testid="measured-hours"' in client.get(f"/tasks/{task.id}").get_data(True)
    # The organiser sees the check-in on the issue's helpers, with the distance rounded
    # (about 100 m), never the position.
    leader = login(app, world["leader"])
    issue_page = leader.get(f"/issues/{world['issue'].id}").get_data(as_text=True)
    assert 'data-testid="checked-in"' in issue_page and 'data-testid="checkin-code"' in issue_page
    assert re.search(r"1[01]0 m", issue_page) and "30.758" not in issue_page
    # Someone else's task or sign-up: 404, nothing written.
    other = login(app, world["stranger"])
    assert other.post(f"/checkin/task/{task.id}/in").status_code == 404
    assert other.post(f"/checkin/signup/{world['signup'].id}/in").status_code == 404
    assert checkins() == 1


def test_hours_confirmed_as_measured_from_hours_to_confirm(app, world):
    s, staff, inv = world["session"], world["staff"], world["staff_inv"]
    check_in(staff, inv, now=s.starts_at)
    check_out(staff, inv, now=s.starts_at + timedelta(hours=1, minutes=16))
    db.session.commit()
    leader = login(app, world["leader"])
    review = leader.get("/hours/review").get_data(as_text=True)
    assert "1.25" in review and "医生甲" in review
    resp = leader.post(f"/hours/task/{inv.id}/confirm", data={"hours": "1.25", "back": "review"})
    assert resp.status_code == 302
    entry = db.session.scalar(db.select(ServiceHours))
    assert entry.status == HoursStatus.confirmed and entry.hours == Decimal("1.25")
    assert entry.confirmed_by_id == world["leader"].id


def test_attendance_is_taken_from_the_check_ins(app, world):
    s = world["session"]
    check_in(world["resident"], world["signup"], CheckVia.qr, "30.7571", "121.3530", "5")
    check_in(world["staff"], world["staff_inv"])
    db.session.commit()
    leader = login(app, world["leader"])
    page = leader.get(f"/services/sessions/{s.id}/manage").get_data(as_text=True)
    assert re.search(rf'value="{world["signup"].id}" id="att-{world["signup"].id}" checked', page)
    assert not re.search(rf'id="att-{world["signup2"].id}" checked', page)
    assert re.search(rf'id="staff-{world["staff_inv"].id}" checked', page)
    assert 'data-testid="checked-in"' in page and "30.7571" not in page
    assert 'data-testid="checkin-code"' in page
    # The organiser saves what was pre-filled (and could correct it by hand).
    resp = leader.post(f"/services/sessions/{s.id}/attendance",
                       data={"attended": [str(world["signup"].id)],
                             "staff": [str(world["staff_inv"].id)]})
    assert resp.status_code == 302
    db.session.expire_all()
    assert _signup(s, world["resident"]).status == SignupStatus.attended
    assert _signup(s, world["resident2"]).status == SignupStatus.absent
    assert _inv(s, world["staff"]).status == InvitationStatus.done


def test_code_pages_are_the_organisers_alone(app, world):
    s, issue = world["session"], world["issue"]
    leader = login(app, world["leader"])
    page = leader.get(f"/checkin/session/{s.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    link = re.search(r'data-checkin-link="([^"]+)"', html).group(1)
    assert "/checkin/" in link and 'src="data:image/svg+xml;base64,' in html
    assert "checkin-code.js" in html and "<script>" not in html
    data = leader.get(f"/checkin/session/{s.id}/code.json").get_json()
    assert data["code"]["link"].startswith("http") and data["expected"] == 3
    assert data["code"]["qr"].startswith("data:image/svg+xml;base64,")
    sheet = leader.get(f"/checkin/session/{s.id}/print").get_data(as_text=True)
    assert 'data-testid="valid-until"' in sheet and "<svg" in sheet
    printed = re.search(r'data-checkin-link="[^"]*/checkin/([^"]+)"', sheet).group(1)
    with app.test_request_context():
        assert read_code(printed) == s
    assert leader.get(f"/checkin/issue/{issue.id}").status_code == 200
    assert leader.get(f"/checkin/issue/{issue.id}/print").status_code == 200
    for who in ("other_leader", "member", "staff", "resident", "stranger"):
        client = login(app, world[who])
        for url in (f"/checkin/session/{s.id}", f"/checkin/session/{s.id}/code.json",
                    f"/checkin/session/{s.id}/print", f"/checkin/issue/{issue.id}",
                    f"/checkin/issue/{issue.id}/code.json", f"/checkin/issue/{issue.id}/print"):
            assert client.get(url).status_code == 404, (who, url)
    assert app.test_client().get(f"/checkin/session/{s.id}").status_code == 302  # log in


def test_bad_input_and_csrf(app, world):
    client = login(app, world["helper"])
    task = world["task"]
    for pos in ({"lat": "999", "lon": "1"}, {"lat": "nan", "lon": "1"},
                {"lat": "30.7", "lon": "121.3", "accuracy": "-3"}, {"lat": "x"}):
        resp = client.post(f"/checkin/task/{task.id}/in", data=pos)
        assert resp.status_code == 302
    assert client.post(f"/checkin/task/{task.id}/out").status_code == 302  # not in: refused
    assert client.post("/checkin/task/abc/in").status_code == 404
    assert client.post(f"/checkin/task/{2**40}/in").status_code == 404
    assert checkins() == 0
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/checkin/task/{task.id}/in").status_code == 400
        assert client.post(f"/checkin/{token_of(app, world['session'])}").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert checkins() == 0


def test_cancelled_session_has_no_check_in(app, world):
    s = world["session"]
    token = token_of(app, s)
    s.status = "cancelled"
    db.session.commit()
    assert window(s) is None
    client = login(app, world["resident"])
    client.set_cookie("lang", "en")
    resp = client.post(f"/checkin/{token}", follow_redirects=True)
    assert "This session was cancelled." in resp.get_data(as_text=True)
    assert checkins() == 0


def test_manage_page_queries_do_not_grow_with_check_ins(app, world, factory):
    s = world["session"]
    leader = login(app, world["leader"])
    check_in(world["resident"], world["signup"])
    db.session.commit()
    leader.get(f"/services/sessions/{s.id}/manage")  # the first look logs the staff's phones
    few = count_queries(leader, f"/services/sessions/{s.id}/manage")
    s.capacity = 10
    for i in range(5):
        person = factory.user("resident", name=f"居民{i}")
        signup = SessionSignup(session_id=s.id, user_id=person.id, status=SignupStatus.confirmed)
        db.session.add(signup)
        db.session.flush()
        check_in(person, signup, CheckVia.qr, "30.757", "121.353", "5")
    db.session.commit()
    assert count_queries(leader, f"/services/sessions/{s.id}/manage") == few
    assert count_queries(leader, f"/checkin/session/{s.id}") == \
        count_queries(leader, f"/checkin/session/{s.id}")


def test_pages_in_both_languages(app, world):
    token = token_of(app, world["session"])
    client = login(app, world["staff"])
    client.set_cookie("lang", "zh_CN")
    zh = client.get(f"/checkin/{token}").get_data(as_text=True)
    client.set_cookie("lang", "en")
    en = client.get(f"/checkin/{token}").get_data(as_text=True)
    assert re.search(r"I(&#39;|&#x27;|')m here: check in", en)
    assert "签到" in zh and "m here: check in" not in zh
    leader = login(app, world["leader"])
    leader.set_cookie("lang", "en")
    page = leader.get(f"/checkin/session/{world['session'].id}").get_data(as_text=True)
    assert "Check-in code" in page and "expected" in page


def test_download_and_delete_my_data(app, world):
    """Download my data lists my check-ins with the position I sent; deleting my account
    removes the positions (a helper's record that they came stays, with its hours)."""
    check_in(world["staff"], world["staff_inv"], CheckVia.button, "30.7571", "121.3532", "9")
    check_in(world["resident"], world["signup"], CheckVia.button, "30.7571", "121.3532", "9")
    db.session.commit()
    data = export_user(world["staff"])
    assert data["checkins"][0]["checkin_lat"] == pytest.approx(30.7571)
    for who in ("staff", "resident"):
        erase_user(world[who])
    db.session.commit()
    rows = db.session.scalars(db.select(CheckIn)).all()
    assert [r.invitation_id for r in rows] == [world["staff_inv"].id]
    assert rows[0].checkin_lat is None and rows[0].checked_in_at is not None
