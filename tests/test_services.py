"""Residents' services: the menu, grid points with calendar and iCalendar feed, sessions made
by recurrence rules, sign-ups with a waiting list, staff by invitation, attendance and hours,
ordering a service; bad input changes nothing."""
import re
from datetime import date, datetime, time, timedelta

import pytest
from icalendar import Calendar

from volunteer.common import SHANGHAI, to_local, utcnow
from volunteer.extensions import db
from volunteer.hours.models import ServiceHours
from volunteer.inbox.models import Notification
from volunteer.invitations.models import Invitation
from volunteer.invitations.services import InvitationError, Pick, invite, respond
from volunteer.issues.models import Issue
from volunteer.org.models import Department, GridPoint, ServiceItem
from volunteer.services.models import ServiceSession, SessionSignup
from volunteer.services.schedule import Recurrence, ScheduleError, occurrences
from volunteer.services.sessions import schedule
from volunteer.skills.models import Skill

TODAY = datetime.now(SHANGHAI).date()


pytestmark = pytest.mark.usefixtures("following_matcher", "english")


@pytest.fixture
def town(factory):
    village = factory.village(code="XJ", name="新江村")
    town_id = village.town_id
    grid = factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    other = factory.grid(factory.village(code="VB"), code="VB-01", lat=30.70, lon=121.30)
    point = GridPoint(grid=grid, name="新江村第1网格网格点", address="山阳镇新江村90号",
                      lat=30.7572, lon=121.3531, opening_hours="周一至周五 9:00–17:00",
                      party_service_point=True)
    far_point = GridPoint(grid=other, name="远处网格点", address="别处", lat=30.70, lon=121.30)
    dept = Department(town_id=town_id, code="D01", name="社区卫生服务中心")
    db.session.add_all([point, far_point, dept])
    doctor = db.session.scalar(db.select(Skill).where(Skill.code == "doctor"))
    clinic = ServiceItem(code="S03", name="免费义诊", name_en="Free clinic", category="健康服务",
                         description="量血压、测血糖", department=dept, skill=doctor)
    paperwork = ServiceItem(code="S12", name="社保代办", name_en="Social insurance errands",
                            category="政务代办", department=dept)
    db.session.add_all([clinic, paperwork])
    db.session.commit()
    return {"village": village, "grid": grid, "point": point, "far_point": far_point,
            "clinic": clinic, "paperwork": paperwork, "dept": dept,
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "member": factory.user("grid_member", grid, name="欧阳网格员", phone="13911112222"),
            "other_leader": factory.user("grid_leader", other, name="别的网格长"),
            "staff": factory.user("department_staff", dept, name="部门人员"),
            "alice": factory.user("resident", name="居民甲"),
            "bob": factory.user("resident", name="居民乙"),
            "carol": factory.user("resident", name="居民丙"),
            "doc": factory.volunteer("村医", ["doctor"], grid=grid, lat=30.7575)}


def next_weekday(wd: int, after: date = TODAY) -> date:
    d = after + timedelta(days=1)
    while d.weekday() != wd:
        d += timedelta(days=1)
    return d


def one(town, first=None, start=time(9), end=time(11), capacity=2, staff=1, point=None,
        by="leader"):
    (s,) = schedule(town[by], town["clinic"], point or town["point"],
                    Recurrence(first=first or next_weekday(1), start=start, end=end),
                    capacity, staff)
    db.session.commit()
    return s


def count(model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


# --- recurrence -------------------------------------------------------------------------------

def test_recurrence_rules():
    tue = next_weekday(1)
    weekly = occurrences(Recurrence(first=tue, start=time(9), end=time(11), freq="weekly",
                                    weekdays=[1], until=tue + timedelta(days=27)), TODAY)
    assert [s.date() for s, _e in weekly] == [tue + timedelta(days=7 * i) for i in range(4)]
    assert all(e - s == timedelta(hours=2) for s, e in weekly)
    first_third = occurrences(Recurrence(
        first=date(TODAY.year + 1, 1, 1), start=time(14), end=time(16), freq="monthly",
        weekdays=[1], ordinals=[1, 3], until=date(TODAY.year + 1, 3, 31)), TODAY)
    assert len(first_third) == 6
    for s, _e in first_third:
        assert s.weekday() == 1 and (s.day - 1) // 7 in (0, 2)
    every_other = occurrences(Recurrence(first=tue, start=time(9), end=time(10), freq="weekly",
                                         weekdays=[1, 3], interval=2,
                                         until=tue + timedelta(days=27)), TODAY)
    assert len(every_other) == 4


@pytest.mark.parametrize("kw,code", [
    ({"end": time(8)}, "end_before_start"),
    ({"first": TODAY - timedelta(days=1)}, "past"),
    ({"freq": "weekly", "weekdays": [1]}, "until_needed"),
    ({"freq": "weekly", "weekdays": [1], "until": TODAY}, "until_before_first"),
    ({"freq": "weekly", "weekdays": [0, 1, 2, 3, 4, 5, 6],
      "until": TODAY + timedelta(days=360)}, "too_many"),
    ({"freq": "weekly", "weekdays": [1], "until": TODAY + timedelta(days=800)}, "too_far"),
    ({"freq": "weekly", "weekdays": [9], "until": TODAY + timedelta(days=30)}, "bad_days"),
    ({"freq": "hourly", "until": TODAY + timedelta(days=30)}, "bad_freq"),
])
def test_bad_recurrences(kw, code):
    first = TODAY + timedelta(days=1)
    args = {"first": first, "start": time(9), "end": time(11), **kw}
    with pytest.raises(ScheduleError) as exc:
        occurrences(Recurrence(**args), TODAY)
    assert exc.value.code == code


def test_rule_that_makes_no_session():
    wed = next_weekday(2)
    with pytest.raises(ScheduleError) as exc:  # Tuesdays between a Wednesday and the Monday
        occurrences(Recurrence(first=wed, start=time(9), end=time(10), freq="weekly",
                               weekdays=[1], until=wed + timedelta(days=5)), TODAY)
    assert exc.value.code == "no_sessions"


def form(town, **kw):
    data = {"item": "S03", "point": str(town["point"].id),
            "first": next_weekday(1).isoformat(), "start": "09:00", "end": "11:00",
            "freq": "weekly", "weekdays": ["1"], "interval": "1",
            "until": (next_weekday(1) + timedelta(days=27)).isoformat(), "capacity": "20",
            "staff_needed": "2", "note": ""}
    data.update(kw)
    return data


def test_schedule_a_series_on_the_page(client, auth, town):
    auth.login(user=town["leader"])
    assert client.get(f"/services/sessions/new?point={town['point'].id}").status_code == 200
    resp = client.post("/services/sessions/new", data=form(town), follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert "4 session(s) scheduled" in body
    assert "every week on Tue until" in body
    sessions = db.session.scalars(db.select(ServiceSession).order_by(ServiceSession.starts_at))
    sessions = list(sessions)
    assert len(sessions) == 4 and len({s.series for s in sessions}) == 1
    assert to_local(sessions[0].starts_at).hour == 9


@pytest.mark.parametrize("kw,message", [
    ({"end": "08:00"}, "The end must be after the start"),
    ({"first": (TODAY - timedelta(days=3)).isoformat()}, "The date is in the past"),
    ({"until": (next_weekday(1) + timedelta(days=360)).isoformat(),
      "weekdays": ["0", "1", "2", "3", "4", "5", "6"]}, "at most 200 can be scheduled"),
    ({"weekdays": ["1"], "first": next_weekday(2).isoformat(),
      "until": (next_weekday(2) + timedelta(days=5)).isoformat()}, "makes no session"),
    ({"capacity": "0"}, "From 1 to 500"),
    ({"capacity": "abc"}, "Places for residents"),
    ({"item": "S99"}, "Please choose a service from the list"),
    ({"start": "25:00"}, "From"),
])
def test_bad_schedules_change_nothing(client, auth, town, kw, message):
    auth.login(user=town["leader"])
    resp = client.post("/services/sessions/new", data=form(town, **kw))
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)
    assert count(ServiceSession) == 0


def test_only_the_points_staff_schedule(client, auth, town):
    auth.login(user=town["other_leader"])
    resp = client.post("/services/sessions/new", data=form(town))
    assert "Please choose one of your grid points" in resp.get_data(as_text=True)
    s = one(town)
    assert client.get(f"/services/sessions/{s.id}/manage").status_code == 404
    auth.logout()
    auth.login(user=town["alice"])
    assert client.get("/services/sessions/new").status_code == 403
    assert count(ServiceSession) == 1


# --- sign-ups ---------------------------------------------------------------------------------

def test_sign_up_waiting_list_and_moving_up(client, auth, town):
    s = one(town, capacity=2)
    for who in ("alice", "bob", "carol"):
        auth.login(user=town[who])
        client.post(f"/services/sessions/{s.id}/signup")
        auth.logout()
    statuses = dict(db.session.execute(db.select(SessionSignup.user_id, SessionSignup.status))
                    .tuples().all())
    assert statuses == {town["alice"].id: "confirmed", town["bob"].id: "confirmed",
                        town["carol"].id: "waiting"}
    auth.login(user=town["alice"])
    resp = client.post(f"/services/sessions/{s.id}/signup", follow_redirects=True)
    assert "already signed up" in resp.get_data(as_text=True)
    assert count(SessionSignup) == 3
    mine = db.session.scalar(db.select(SessionSignup).where(
        SessionSignup.user_id == town["alice"].id))
    client.post(f"/services/signups/{mine.id}/cancel")
    db.session.expire_all()
    assert db.session.scalar(db.select(SessionSignup.status).where(
        SessionSignup.user_id == town["carol"].id)) == "confirmed"
    assert db.session.scalar(db.select(Notification.event).where(
        Notification.user_id == town["carol"].id)) == "signup_moved_up"
    # Someone else's sign-up cannot be cancelled.
    bobs = db.session.scalar(db.select(SessionSignup).where(
        SessionSignup.user_id == town["bob"].id))
    assert client.post(f"/services/signups/{bobs.id}/cancel").status_code == 404
    # Signing up again after cancelling goes to the end of the queue.
    resp = client.post(f"/services/sessions/{s.id}/signup", follow_redirects=True)
    assert "waiting list" in resp.get_data(as_text=True)


def test_past_and_cancelled_sessions_take_no_sign_ups(client, auth, town):
    s = one(town)
    s.starts_at = utcnow() - timedelta(hours=1)
    t = one(town, first=next_weekday(3))
    t.status = "cancelled"
    db.session.commit()
    auth.login(user=town["alice"])
    resp = client.post(f"/services/sessions/{s.id}/signup", follow_redirects=True)
    assert "already started or is over" in resp.get_data(as_text=True)
    resp = client.post(f"/services/sessions/{t.id}/signup", follow_redirects=True)
    assert "was cancelled" in resp.get_data(as_text=True)
    assert count(SessionSignup) == 0
    assert client.post("/services/sessions/999999/signup").status_code == 404


def test_capacity_cannot_go_below_those_signed_up(client, auth, town):
    s = one(town, capacity=3)
    for who in ("alice", "bob"):
        auth.login(user=town[who])
        client.post(f"/services/sessions/{s.id}/signup")
        auth.logout()
    auth.login(user=town["leader"])
    resp = client.post(f"/services/sessions/{s.id}/manage",
                       data={"capacity": "1", "staff_needed": "1", "note": ""})
    assert "cannot go below" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ServiceSession, s.id).capacity == 3
    client.post(f"/services/sessions/{s.id}/manage",
                data={"capacity": "2", "staff_needed": "1", "note": "请带医保卡"})
    db.session.expire_all()
    assert db.session.get(ServiceSession, s.id).capacity == 2


def test_cancelling_a_session_tells_everyone(client, auth, town):
    s = one(town)
    auth.login(user=town["alice"])
    client.post(f"/services/sessions/{s.id}/signup")
    auth.logout()
    (inv,) = invite(town["leader"], s, [Pick(town["doc"].id)])
    db.session.commit()
    respond(town["doc"], inv, True)
    db.session.commit()
    auth.login(user=town["leader"])
    resp = client.post(f"/services/sessions/{s.id}/cancel", follow_redirects=True)
    assert "1 resident(s) were told" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Invitation, inv.id).status == "withdrawn"
    assert "session_cancelled" in db.session.scalars(db.select(Notification.event).where(
        Notification.user_id == town["alice"].id)).all()


# --- staff, double-booking, attendance and hours ----------------------------------------------

def test_staff_suggested_invited_and_double_booking_refused(client, auth, town):
    a = one(town, first=next_weekday(1), start=time(9), end=time(11))
    b = one(town, first=next_weekday(1), start=time(10), end=time(12))  # overlaps a
    auth.login(user=town["leader"])
    page = client.get(f"/services/sessions/{a.id}/manage").get_data(as_text=True)
    assert f'data-volunteer="{town["doc"].id}"' in page  # the doctor nearby is suggested
    resp = client.post(f"/tasks/invite/session/{a.id}", data={"volunteer": town["doc"].id},
                       follow_redirects=True)
    assert "Invited: 村医" in resp.get_data(as_text=True)
    resp = client.post(f"/tasks/invite/session/{b.id}", data={"volunteer": town["doc"].id},
                       follow_redirects=True)
    assert "村医 is already busy at that time" in resp.get_data(as_text=True)
    assert count(Invitation) == 1
    (inv,) = db.session.scalars(db.select(Invitation)).all()
    assert inv.kind == "session" and inv.starts_at == a.starts_at
    auth.logout()
    auth.login(user=town["doc"])
    page = client.get(f"/tasks/{inv.id}").get_data(as_text=True)
    assert "免费义诊" in page and "新江村第1网格网格点" in page
    client.post(f"/tasks/{inv.id}/accept")
    ics = client.get(f"/tasks/{inv.id}/calendar.ics")
    (event,) = Calendar.from_ical(ics.data).walk("VEVENT")
    assert "免费义诊" in str(event["summary"])


def test_attendance_records_residents_and_staff_hours(client, auth, town):
    s = one(town)
    (inv,) = invite(town["leader"], s, [Pick(town["doc"].id)])
    db.session.commit()
    respond(town["doc"], inv, True)
    for who in ("alice", "bob"):
        db.session.add(SessionSignup(session_id=s.id, user_id=town[who].id, status="confirmed"))
    db.session.commit()
    auth.login(user=town["leader"])
    resp = client.post(f"/services/sessions/{s.id}/attendance", data={"staff": inv.id},
                       follow_redirects=True)
    assert "once the session has started" in resp.get_data(as_text=True)
    s = db.session.get(ServiceSession, s.id)
    s.starts_at -= timedelta(days=10)  # the session is over now
    s.ends_at -= timedelta(days=10)
    db.session.commit()
    alice = db.session.scalar(db.select(SessionSignup).where(
        SessionSignup.user_id == town["alice"].id))
    resp = client.post(f"/services/sessions/{s.id}/attendance",
                       data={"attended": [alice.id], "staff": [inv.id]}, follow_redirects=True)
    assert "Attendance saved" in resp.get_data(as_text=True), re.findall(
        r'alert[^>]*>([^<]*)', resp.get_data(as_text=True))
    db.session.expire_all()
    assert dict(db.session.execute(db.select(SessionSignup.user_id, SessionSignup.status))
                .tuples().all()) == {town["alice"].id: "attended", town["bob"].id: "absent"}
    entry = db.session.scalar(db.select(ServiceHours))
    assert entry.status == "confirmed" and float(entry.hours) == 2.0
    assert entry.session_id == s.id and db.session.get(Invitation, inv.id).status == "done"
    resp = client.post(f"/services/sessions/{s.id}/attendance", data={"staff": [inv.id]},
                       follow_redirects=True)
    assert "already taken" in resp.get_data(as_text=True)
    auth.logout()
    auth.login(user=town["doc"])
    assert "免费义诊" in client.get("/hours/").get_data(as_text=True)


def test_tick_reminds_residents_once(runner, town):
    s = one(town, first=TODAY + timedelta(days=1), start=time(8), end=time(9))
    s.starts_at = utcnow() + timedelta(hours=20)
    db.session.add(SessionSignup(session_id=s.id, user_id=town["alice"].id, status="confirmed"))
    db.session.commit()
    assert "1 resident(s) of a session within a day" in runner.invoke(args=["tick"]).output
    assert "0 resident(s) of a session within a day" in runner.invoke(args=["tick"]).output


# --- public pages -----------------------------------------------------------------------------

def test_menu_near_me(client, town):
    one(town)
    one(town, point=town["far_point"], first=next_weekday(2), by="other_leader")
    page = client.get("/services/?lat=30.757&lon=121.353").get_data(as_text=True)
    assert "新江村第1网格网格点" in page and "远处网格点" not in page
    page = client.get("/services/?village=VB").get_data(as_text=True)
    assert "远处网格点" in page and "新江村第1网格网格点" not in page
    for bad in ("?lat=x&lon=1", "?lat=91&lon=0", "?village=<b>", "?lat=30.7"):
        assert client.get("/services/" + bad).status_code == 200
    assert client.get("/services/items/S03").status_code == 200
    assert client.get("/services/items/NOPE").status_code == 404


def test_point_page_calendar_and_feed(client, town):
    s = one(town)
    page = client.get(f"/services/points/{town['point'].id}").get_data(as_text=True)
    assert "欧**" in page and "欧阳网格员" not in page and "13911112222" not in page
    assert f"/services/sessions/{s.id}" in page
    month = to_local(s.starts_at).strftime("%Y-%m")
    cal = client.get(f"/services/points/{town['point'].id}/calendar?month={month}")
    assert f"/services/sessions/{s.id}" in cal.get_data(as_text=True)
    for bad in ("2026-13", "abc", "1900-01", "-1--1"):
        assert client.get(f"/services/points/{town['point'].id}/calendar?month={bad}") \
            .status_code == 200
    feed = client.get(f"/services/points/{town['point'].id}/calendar.ics")
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    parsed = Calendar.from_ical(feed.data)
    (event,) = parsed.walk("VEVENT")
    assert event.decoded("dtstart").replace(tzinfo=None) == s.starts_at
    assert str(event["summary"]) == "免费义诊"
    data = client.get("/services/points/map.json?kind=party").get_json()
    assert [p[0] for p in data["points"]] == [town["point"].id]
    assert client.get("/services/points/999999").status_code == 404


# --- ordering ---------------------------------------------------------------------------------

def test_order_for_a_neighbour_goes_to_volunteers_or_the_department(client, auth, town):
    auth.login(user=town["alice"])
    resp = client.post("/services/order/S03", data={
        "for_whom": "neighbour", "neighbour": "", "details": "量血压", "grid": "XJ-01"})
    assert "Please say who the service is for" in resp.get_data(as_text=True)
    resp = client.post("/services/order/S03", data={
        "for_whom": "neighbour", "neighbour": "隔壁李大爷，卧床", "details": "想请医生上门量血压",
        "grid": "XJ-01"})
    assert resp.status_code == 302
    clinic = db.session.scalar(db.select(Issue))
    assert clinic.source == "service_order" and clinic.service_item_id == town["clinic"].id
    assert clinic.tier == "grid" and clinic.skill_codes == ["doctor"]
    assert "李大爷" not in clinic.title and "李大爷" in clinic.description
    assert clinic.reporter_id == town["alice"].id
    client.post("/services/order/S12", data={"for_whom": "self", "details": "代办医保报销",
                                             "lat": "30.7571", "lon": "121.3531"})
    errand = db.session.scalar(db.select(Issue).where(Issue.id != clinic.id))
    assert errand.tier == "department" and errand.department_id == town["dept"].id
    assert db.session.scalar(db.select(Notification.event).where(
        Notification.user_id == town["staff"].id)) == "report"  # it reached their queue
    mine = client.get("/services/mine").get_data(as_text=True)
    assert f"#{clinic.id} " in mine and f"#{errand.id} " in mine
    assert client.get(f"/issues/{errand.id}").status_code == 200  # followed like any report
    resp = client.post("/services/order/S12", data={"for_whom": "self", "details": "x",
                                                    "lat": "39.9", "lon": "116.4"})
    assert "not within 3 km" in resp.get_data(as_text=True)
    assert count(Issue) == 2


def test_my_data_includes_sign_ups(client, auth, town):
    s = one(town)
    auth.login(user=town["alice"])
    client.post(f"/services/sessions/{s.id}/signup")
    data = client.get("/auth/my-data.json").get_json()
    assert data["session_signups"][0]["service"] == "免费义诊"


def test_race_for_the_last_place_is_serialised(app, town):
    """Two residents taking the last place at once: one gets it, the other waits."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises them")
    import threading

    from volunteer.auth.models import User
    from volunteer.services.sessions import sign_up

    s = one(town, capacity=1)
    barrier = threading.Barrier(2)
    results = []

    def worker(uid):
        with app.app_context():
            try:
                user = db.session.get(User, uid)
                session = db.session.get(ServiceSession, s.id)
                barrier.wait()
                results.append(sign_up(user, session).status)
                db.session.commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(town[w].id,)) for w in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["confirmed", "waiting"]


def test_pages_for_staff_and_residents(client, auth, town):
    s = one(town)
    auth.login(user=town["leader"])
    for path in ("/services/staff", f"/services/sessions/{s.id}/manage", "/services/sessions/new"):
        assert client.get(path).status_code == 200, path
    auth.logout()
    auth.login(user=town["alice"])
    for path in ("/services/mine", "/services/order/S03", f"/services/sessions/{s.id}"):
        assert client.get(path).status_code == 200, path
    assert client.get("/services/staff").status_code == 403
    body = client.get(f"/services/sessions/{s.id}").get_data(as_text=True)
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", body)


def test_invite_refused_for_a_past_session(town):
    s = one(town)
    s.starts_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    with pytest.raises(InvitationError) as exc:
        invite(town["leader"], s, [Pick(town["doc"].id)])
    assert exc.value.code == "session_not_open"


def test_item_page_pages_through_many_sessions(client, town):
    schedule(town["leader"], town["clinic"], town["point"], Recurrence(
        first=TODAY + timedelta(days=1), start=time(9), end=time(10), freq="weekly",
        weekdays=list(range(7)), until=TODAY + timedelta(days=40)), 5, 0)
    db.session.commit()
    page = client.get("/services/items/S03").get_data(as_text=True)
    assert "/services/items/S03?page=2" in page
    assert client.get("/services/items/S03?page=2").status_code == 200


def test_session_hours_reach_the_review(client, auth, town, factory):
    from volunteer.hours.services import propose

    s = one(town)
    (inv,) = invite(town["leader"], s, [Pick(town["doc"].id)])
    db.session.commit()
    respond(town["doc"], inv, True)
    inv.status = "done"
    db.session.commit()
    propose(town["doc"], inv, "2")
    db.session.commit()
    auth.login(user=town["leader"])
    page = client.get("/hours/review").get_data(as_text=True)
    assert "村医" in page and f"/services/sessions/{s.id}/manage" in page


def test_organisers_are_reminded_of_attendance_nobody_took(runner, town):
    """A session that ended two hours ago without its attendance leaves its staff's hours in
    limbo: its organisers hear of it from tick, once, with a link to take it."""
    s = one(town)
    s.starts_at, s.ends_at = utcnow() - timedelta(hours=5), utcnow() - timedelta(hours=3)
    db.session.commit()
    out = runner.invoke(args=["tick"]).output
    assert "1 session(s) over without attendance" in out
    assert "0 session(s) over without attendance" in runner.invoke(args=["tick"]).output
    (n,) = db.session.scalars(db.select(Notification).where(
        Notification.event == "attendance_due")).all()
    assert n.user_id == town["leader"].id and n.session_id == s.id


def test_service_reference_data_in_english(client, town):
    """Reference data carries both names: in English the menu groups by the English category
    and shows the English description (the Chinese where no English is given)."""
    clinic = town["clinic"]
    clinic.category_en, clinic.description_en = "Health", "Blood pressure and sugar checks"
    db.session.commit()
    page = client.get("/services/").get_data(as_text=True)
    assert "Health" in page and "Blood pressure and sugar checks" in page
    assert "社保代办" not in page or "Social insurance errands" in page
    assert "Health" in client.get(f"/services/items/{clinic.code}").get_data(as_text=True)
    client.set_cookie("lang", "zh_CN")
    page = client.get("/services/").get_data(as_text=True)
    assert "健康服务" in page and "量血压" in page
