"""Invitations from suggestions (one, a team, waves), answers in one tap, offers from "needs near
me", double-booking and limits, races, reminders, calendar files; service hours and corrections."""
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from icalendar import Calendar

from volunteer.common import mask_phone, utcnow
from volunteer.extensions import db
from volunteer.hours.models import HoursCorrection, ServiceHours
from volunteer.inbox.models import Notification
from volunteer.invitations.models import Invitation
from volunteer.invitations.services import InvitationError, Pick, invite, respond
from volunteer.issues.models import Issue
from volunteer.issues.services import Details, IssueInput, file_issue, transition
from volunteer.signals import issue_changed

SAT = utcnow().replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=3)


pytestmark = pytest.mark.usefixtures("following_matcher", "english")


@pytest.fixture
def town(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    return {"village": village, "grid": grid,
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "member": factory.user("grid_member", grid, name="网格员"),
            "instructor": factory.user("grid_instructor", grid, name="指导员"),
            "other_leader": factory.user("grid_leader", factory.grid(village, code="VA-02"),
                                         name="别的网格长"),
            "sparky": factory.volunteer("电工甲", ["electrician"], grid=grid),
            "volty": factory.volunteer("电工乙", ["electrician"], lat=30.758, grid=grid),
            "doc": factory.volunteer("医生丙", ["doctor"], lat=30.756, grid=grid)}


def lamp(town, helpers=1, start=None, hours=2):
    issue = file_issue(town["member"], IssueInput(
        title="绿地路灯不亮", description="小区绿地的路灯晚上全部不亮，需要电工排查",
        category="facilities", lat=30.7571, lon=121.3531, helpers_needed=helpers,
        needed_from=start, needed_until=start + timedelta(hours=hours) if start else None))
    db.session.commit()
    return issue


def invitations(issue=None):
    q = db.select(Invitation).order_by(Invitation.id)
    if issue is not None:
        q = q.where(Invitation.issue_id == issue.id)
    return db.session.scalars(q).all()


def close(town, issue):
    issue = db.session.get(Issue, issue.id)
    for action in ("accept", "start"):
        transition(town["member"], issue, action)
    transition(town["member"], issue, "resolve", Details(resolution="修好了"))
    transition(town["leader"], issue, "verify")
    db.session.commit()


# --- inviting from the issue page -------------------------------------------------------------

def test_invite_one_from_the_suggestions(client, auth, town):
    issue = lamp(town, start=SAT)
    auth.login(user=town["leader"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'data-testid="invite-one"' in page and 'data-testid="helpers"' in page
    resp = client.post(f"/tasks/invite/{issue.id}", data={"volunteer": town["sparky"].id},
                       follow_redirects=True)
    assert "Invited: 电工甲" in resp.get_data(as_text=True)
    (inv,) = invitations(issue)
    assert inv.status == "invited" and inv.invited_by_id == town["leader"].id
    assert inv.score is not None and inv.reasons and inv.starts_at == SAT
    assert inv.expires_at <= SAT  # an answer is due before the task starts
    assert [e.action for e in db.session.get(Issue, issue.id).events][-1] == "invite"
    assert db.session.scalar(db.select(Notification.event).where(
        Notification.user_id == town["sparky"].id)) == "invited"
    # Nobody is suggested twice for the same issue.
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f'data-volunteer="{town["sparky"].id}"' not in page
    resp = client.post(f"/tasks/invite/{issue.id}", data={"volunteer": town["sparky"].id},
                       follow_redirects=True)  # no longer suggested, so not invited again
    assert "Only volunteers suggested for this task" in resp.get_data(as_text=True)
    # Nor anyone the matcher would not suggest (here: a resident without a profile).
    resp = client.post(f"/tasks/invite/{issue.id}", data={"volunteer": town["member"].id},
                       follow_redirects=True)
    assert "Only volunteers suggested for this task" in resp.get_data(as_text=True)
    assert len(invitations()) == 1


def test_only_organisers_invite(client, auth, town):
    issue = lamp(town)
    for who in ("member", "instructor", "other_leader"):
        auth.login(user=town[who])
        resp = client.post(f"/tasks/invite/{issue.id}", data={"volunteer": town["sparky"].id})
        assert resp.status_code == 404, who
        auth.logout()
    assert invitations() == []


def test_team_then_waves_and_the_first_to_accept_fills_the_place(client, auth, town):
    issue = lamp(town, helpers=1)
    auth.login(user=town["leader"])
    client.post(f"/tasks/invite/{issue.id}", data={"mode": "team"})
    first = invitations(issue)
    assert len(first) == 1 and first[0].wave == 1
    # Waiting for an answer: "next" invites nobody more.
    resp = client.post(f"/tasks/invite/{issue.id}", data={"mode": "next"}, follow_redirects=True)
    assert "Nobody more to invite" in resp.get_data(as_text=True)
    first_user = db.session.get(type(town["sparky"]), first[0].volunteer_id)
    respond(first_user, first[0], False, "出差")
    db.session.commit()
    client.post(f"/tasks/invite/{issue.id}", data={"mode": "next"})
    second = [i for i in invitations(issue) if i.wave == 2]
    assert len(second) == 1 and second[0].volunteer_id != first_user.id
    # Invite one more by hand; the first of the two to accept fills the one place.
    third = next(u for u in (town["sparky"], town["volty"], town["doc"])
                 if u.id not in {i.volunteer_id for i in invitations(issue)})
    client.post(f"/tasks/invite/{issue.id}", data={"volunteer": third.id})
    a, b = [i for i in invitations(issue) if i.status == "invited"]
    auth.logout()
    auth.login(user=db.session.get(type(third), b.volunteer_id))
    resp = client.post(f"/tasks/{b.id}/accept", follow_redirects=True)
    assert "You are on the team" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Invitation, a.id).status == "withdrawn"
    assert db.session.get(Invitation, a.id).closed_reason == "filled"
    auth.logout()
    auth.login(user=db.session.get(type(third), a.volunteer_id))
    resp = client.post(f"/tasks/{a.id}/accept", follow_redirects=True)
    assert "This invitation was withdrawn" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Invitation, a.id).status == "withdrawn"


def test_bad_answers_change_nothing(client, auth, town):
    issue = lamp(town, helpers=2)
    inv_a, inv_b = invite(town["leader"], issue, [Pick(town["sparky"].id), Pick(town["volty"].id)])
    db.session.commit()
    auth.login(user=town["sparky"])
    assert client.post(f"/tasks/{inv_b.id}/accept").status_code == 404  # not mine
    assert client.get(f"/tasks/{inv_b.id}").status_code == 404
    client.post(f"/tasks/{inv_a.id}/accept")
    resp = client.post(f"/tasks/{inv_a.id}/accept", follow_redirects=True)  # twice
    assert "already accepted" in resp.get_data(as_text=True)
    resp = client.post(f"/tasks/{inv_a.id}/decline", follow_redirects=True)
    assert "This invitation is no longer open" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Invitation, inv_a.id).status == "accepted"

    inv_b = db.session.get(Invitation, inv_b.id)
    inv_b.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    auth.logout()
    auth.login(user=town["volty"])
    resp = client.post(f"/tasks/{inv_b.id}/accept", follow_redirects=True)
    assert "This invitation has expired" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Invitation, inv_b.id).status == "invited"  # expiry is computed
    assert db.session.get(Invitation, inv_b.id).state() == "expired"
    long = "x" * 600
    resp = client.post(f"/tasks/{inv_b.id}/decline", data={"note": long}, follow_redirects=True)
    assert "at most 500 characters" in resp.get_data(as_text=True)


def test_withdrawn_invitation_cannot_be_accepted(client, auth, town):
    issue = lamp(town)
    (inv,) = invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.commit()
    auth.login(user=town["member"])  # not an organiser
    assert client.post(f"/tasks/{inv.id}/withdraw").status_code == 404
    auth.logout()
    auth.login(user=town["leader"])
    client.post(f"/tasks/{inv.id}/withdraw", data={"note": "改由物业处理"})
    auth.logout()
    auth.login(user=town["sparky"])
    resp = client.post(f"/tasks/{inv.id}/accept", follow_redirects=True)
    assert "withdrawn" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Invitation, inv.id).status == "withdrawn"


def test_double_booking_and_monthly_limit(town, factory):
    a = lamp(town, start=SAT, hours=2)
    b = lamp(town, start=SAT + timedelta(hours=1), hours=2)
    c = lamp(town, start=SAT + timedelta(hours=5), hours=1)
    (inv,) = invite(town["leader"], a, [Pick(town["sparky"].id)])
    db.session.commit()
    with pytest.raises(InvitationError) as exc:
        invite(town["leader"], b, [Pick(town["sparky"].id)])
    assert exc.value.code == "double_booked" and exc.value.who == "电工甲"
    db.session.rollback()
    invite(town["leader"], c, [Pick(town["sparky"].id)])  # later that day: fine
    db.session.commit()
    limited = factory.volunteer("少时间", ["electrician"], monthly_limit=1)
    invite(town["leader"], a, [Pick(limited.id)])
    db.session.commit()
    with pytest.raises(InvitationError) as exc:
        invite(town["leader"], c, [Pick(limited.id)])
    assert exc.value.code == "over_limit"
    db.session.rollback()
    assert len(invitations()) == 3


def test_a_team_is_all_or_nothing(client, auth, town):
    busy = lamp(town, start=SAT)
    invite(town["leader"], busy, [Pick(town["volty"].id)])
    db.session.commit()
    issue = lamp(town, helpers=2, start=SAT)
    auth.login(user=town["leader"])
    resp = client.post(f"/tasks/invite/{issue.id}",
                       data={"volunteer": [town["sparky"].id, town["volty"].id]},
                       follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert "电工乙 is already busy at that time" in body and "Nobody was invited" in body
    assert invitations(issue) == []


def _concurrent_invites(app, pairs) -> list[str]:
    """Several sessions invite at the same moment; each reports what happened."""
    from volunteer.auth.models import User

    barrier = threading.Barrier(len(pairs))
    outcomes: list[str] = []

    def worker(leader_id, issue_id, volunteer_id):
        # Each thread has its own app context, hence its own session and connection.
        with app.app_context():
            try:
                leader = db.session.get(User, leader_id)
                issue = db.session.get(Issue, issue_id)
                leader.roles, issue.events  # noqa: B018  (loaded before the race)
                barrier.wait()
                invite(leader, issue, [Pick(volunteer_id)])
                db.session.commit()
                outcomes.append("won")
            except InvitationError as exc:
                db.session.rollback()
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=p) for p in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def test_two_leaders_invite_the_last_free_volunteer_at_once(app, town, factory):
    """Exactly one of two simultaneous invitations for the same time wins (PostgreSQL; SQLite
    serialises writers, so there the rule holds by construction)."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises them")
    other_grid_issue = file_issue(town["member"], IssueInput(
        title="楼道灯坏", description="需要电工", category="facilities", lat=30.7572,
        lon=121.3532, needed_from=SAT, needed_until=SAT + timedelta(hours=2)))
    other_grid_issue.grid_id = town["other_leader"].roles[0].grid_id
    a = lamp(town, start=SAT)
    db.session.commit()
    outcomes = _concurrent_invites(app, [(town["leader"].id, a.id, town["sparky"].id),
                                         (town["other_leader"].id, other_grid_issue.id,
                                          town["sparky"].id)])
    assert sorted(outcomes) == ["double_booked", "won"]
    db.session.expire_all()
    assert len(invitations()) == 1


# --- the volunteer's side: needs near me and offers -------------------------------------------

def test_needs_near_me_and_offers(client, auth, town, factory):
    issue = lamp(town, start=SAT)
    factory.grid(town["village"], code="VA-09", lat=30.847, lon=121.353)
    far = file_issue(town["member"], IssueInput(
        title="路灯不亮", description="需要电工", category="facilities",
        lat=30.757 + 0.09, lon=121.353))  # ~10 km north: beyond a 5 km range
    clinic = file_issue(town["member"], IssueInput(
        title="老人需要量血压", description="独居老人想请医生上门量血压", category="health",
        lat=30.7571, lon=121.3531))
    db.session.commit()
    auth.login(user=town["sparky"])
    page = client.get("/tasks/near").get_data(as_text=True)
    assert f'data-issue="{issue.id}"' in page
    assert f'data-issue="{far.id}"' not in page and f'data-issue="{clinic.id}"' not in page
    assert "需要电工排查" not in page  # the description only after the offer is taken up
    resp = client.post(f"/tasks/offer/{issue.id}", data={"note": "我晚上有空"},
                       follow_redirects=True)
    assert "The organiser will answer your offer" in resp.get_data(as_text=True)
    (offer,) = invitations(issue)
    assert offer.status == "offered" and offer.origin == "offer"
    # While the offer waits, the volunteer sees the public facts: no title, no distance.
    for page in (client.get(f"/tasks/{offer.id}"), client.get("/tasks/")):
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "绿地路灯不亮" not in text and " m from you" not in text
    got = client.get("/api/v1/invitations", headers=bearer(town["sparky"])).json["items"]
    assert [(i["title"], i["distance_m"]) for i in got] == [(f"#{issue.id} 公共设施维修", None)]
    assert f'data-issue="{issue.id}"' not in client.get("/tasks/near").get_data(as_text=True)
    resp = client.post(f"/tasks/offer/{issue.id}", follow_redirects=True)
    assert "was already asked" in resp.get_data(as_text=True)
    resp = client.post(f"/tasks/offer/{far.id}", follow_redirects=True)
    assert "beyond your travel range" in resp.get_data(as_text=True)
    assert len(invitations()) == 1
    auth.logout()

    auth.login(user=town["leader"])
    assert db.session.scalar(db.select(Notification.event).where(
        Notification.user_id == town["leader"].id, Notification.kind == "team")) == "offer"
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'data-testid="take-offer"' in page
    resp = client.post(f"/tasks/{offer.id}/decline-offer", data={"note": ""},
                       follow_redirects=True)
    assert "Please give a reason" in resp.get_data(as_text=True)
    client.post(f"/tasks/{offer.id}/take-offer")
    db.session.expire_all()
    offer = db.session.get(Invitation, offer.id)
    assert offer.status == "accepted" and offer.invited_by_id == town["leader"].id


# --- hours ------------------------------------------------------------------------------------

def test_hours_from_closure_to_correction(client, auth, town):
    issue = lamp(town, helpers=2, start=SAT)
    a, b = invite(town["leader"], issue, [Pick(town["sparky"].id), Pick(town["volty"].id)])
    db.session.commit()
    respond(town["sparky"], a, True)
    respond(town["volty"], b, True)
    db.session.commit()
    auth.login(user=town["sparky"])
    resp = client.post(f"/hours/task/{a.id}", data={"hours": "2"}, follow_redirects=True)
    assert "once the issue is closed" in resp.get_data(as_text=True)
    close(town, issue)
    db.session.expire_all()
    assert {i.status for i in invitations(issue)} == {"done"}

    for bad in ("-1", "0", "100", "24.1", "abc", "nan", "inf"):
        resp = client.post(f"/hours/task/{a.id}", data={"hours": bad}, follow_redirects=True)
        assert "more than 0 and at most 24" in resp.get_data(as_text=True), bad
    assert db.session.scalar(db.select(db.func.count(ServiceHours.id))) == 0
    client.post(f"/hours/task/{a.id}", data={"hours": "2.5", "note": "排查线路"})
    entry = db.session.scalar(db.select(ServiceHours))
    assert entry.hours == Decimal("2.5") and entry.status == "proposed"
    assert entry.served_on == (SAT + timedelta(hours=8)).date()
    auth.logout()

    auth.login(user=town["leader"])
    assert "排查线路" in client.get("/hours/review").get_data(as_text=True)
    client.post(f"/hours/task/{a.id}/confirm", data={"hours": "2.5"})
    client.post(f"/hours/task/{b.id}/confirm", data={"hours": "3"})  # nobody proposed: set
    db.session.expire_all()
    assert [(e.volunteer_id, e.hours, e.status) for e in db.session.scalars(
        db.select(ServiceHours).order_by(ServiceHours.id))] == [
        (town["sparky"].id, Decimal("2.5"), "confirmed"),
        (town["volty"].id, Decimal("3.0"), "confirmed")]
    resp = client.post(f"/hours/task/{a.id}/confirm", data={"hours": "4"}, follow_redirects=True)
    assert "confirmed already" in resp.get_data(as_text=True)
    auth.logout()

    # Corrections: only on one's own hours; a reason; the organiser decides with a reason.
    entry_a, entry_b = db.session.scalars(db.select(ServiceHours).order_by(ServiceHours.id))
    auth.login(user=town["sparky"])
    assert "2.5" in client.get("/hours/").get_data(as_text=True)
    assert client.post(f"/hours/{entry_b.id}/correction",
                       data={"hours": "5", "reason": "x"}).status_code == 404
    resp = client.post(f"/hours/{entry_a.id}/correction", data={"hours": "3.5", "reason": ""},
                       follow_redirects=True)
    assert "Please give a reason" in resp.get_data(as_text=True)
    resp = client.post(f"/hours/{entry_a.id}/correction",
                       data={"hours": "100", "reason": "漏记了"}, follow_redirects=True)
    assert "at most 24" in resp.get_data(as_text=True)
    client.post(f"/hours/{entry_a.id}/correction", data={"hours": "3.5", "reason": "漏记了一小时"})
    resp = client.post(f"/hours/{entry_a.id}/correction",
                       data={"hours": "4", "reason": "再改"}, follow_redirects=True)
    assert "already waiting" in resp.get_data(as_text=True)
    corr = db.session.scalar(db.select(HoursCorrection))
    auth.logout()
    auth.login(user=town["leader"])
    resp = client.post(f"/hours/corrections/{corr.id}/reject", data={"reason": ""},
                       follow_redirects=True)
    assert "Please give a reason" in resp.get_data(as_text=True)
    client.post(f"/hours/corrections/{corr.id}/accept")
    db.session.expire_all()
    assert db.session.get(ServiceHours, entry_a.id).hours == Decimal("3.5")
    assert db.session.get(HoursCorrection, corr.id).old_hours == Decimal("2.5")
    resp = client.post(f"/hours/corrections/{corr.id}/reject", data={"reason": "晚了"},
                       follow_redirects=True)
    assert "already decided" in resp.get_data(as_text=True)


def test_no_show_and_nobody_confirms_their_own_hours(client, auth, town, factory):
    issue = lamp(town, helpers=2)
    leader_volunteer = factory.volunteer("兼职网格长", ["electrician"])
    from volunteer.auth.services import grant_role

    grant_role(leader_volunteer, "grid_leader", town["grid"])
    db.session.commit()
    a, b = invite(town["leader"], issue, [Pick(town["sparky"].id), Pick(leader_volunteer.id)])
    db.session.commit()
    respond(town["sparky"], a, True)
    respond(leader_volunteer, b, True)
    db.session.commit()
    close(town, issue)
    auth.login(user=leader_volunteer)
    resp = client.post(f"/hours/task/{b.id}/confirm", data={"hours": "2"}, follow_redirects=True)
    assert "Nobody confirms their own hours" in resp.get_data(as_text=True)
    client.post(f"/tasks/{a.id}/no-show")
    db.session.expire_all()
    assert db.session.get(Invitation, a.id).status == "no_show"
    resp = client.post(f"/hours/task/{a.id}/confirm", data={"hours": "2"}, follow_redirects=True)
    assert "once the issue is closed" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(ServiceHours.id))) == 0


# --- time, calendar, privacy ------------------------------------------------------------------

def test_tick_sends_each_reminder_once(runner, town):
    now = utcnow()
    soon = lamp(town, start=now + timedelta(hours=20))
    (inv,) = invite(town["leader"], soon, [Pick(town["sparky"].id)])
    later = lamp(town, start=now + timedelta(days=5))
    (waiting,) = invite(town["leader"], later, [Pick(town["volty"].id)])
    gone = lamp(town)
    (lapsed,) = invite(town["leader"], gone, [Pick(town["doc"].id)])
    db.session.commit()
    respond(town["sparky"], inv, True)
    waiting.expires_at = now + timedelta(hours=2)
    lapsed.expires_at = now - timedelta(minutes=5)
    db.session.commit()
    first = runner.invoke(args=["tick"])
    assert "1 invitation(s) about to expire, 1 task(s) starting within a day" in first.output
    assert "; 1 expired" in first.output, first.output
    second = runner.invoke(args=["tick"])
    assert "0 invitation(s) about to expire, 0 task(s) starting within a day" in second.output
    assert "; 0 expired" in second.output

    def events(user):
        return db.session.scalars(db.select(Notification.event).where(
            Notification.user_id == user.id).order_by(Notification.id)).all()
    assert events(town["sparky"]) == ["invited", "tomorrow"]
    assert events(town["volty"]) == ["invited", "expiring"]
    assert "expired" in events(town["leader"])


def test_calendar_file_parses(client, auth, town):
    issue = lamp(town, start=SAT, hours=2)
    (inv,) = invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.commit()
    auth.login(user=town["sparky"])
    resp = client.get(f"/tasks/{inv.id}/calendar.ics")
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    (event,) = Calendar.from_ical(resp.data).walk("VEVENT")
    assert event.decoded("dtstart").replace(tzinfo=None) == SAT
    assert "绿地路灯不亮" in str(event["summary"]) and "GEO" not in event  # not yet accepted
    no_time = lamp(town)
    (other,) = invite(town["leader"], no_time, [Pick(town["sparky"].id)])
    db.session.commit()
    assert client.get(f"/tasks/{other.id}/calendar.ics").status_code == 404


def test_my_data_includes_invitations_and_hours(client, auth, town):
    issue = lamp(town)
    (inv,) = invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.commit()
    respond(town["sparky"], inv, False, "出差")
    db.session.commit()
    auth.login(user=town["sparky"])
    data = client.get("/auth/my-data.json").get_json()
    assert data["invitations"][0]["status"] == "declined"
    assert data["invitations"][0]["note"] == "出差" and data["service_hours"] == []


def test_pages_answer(client, auth, town):
    issue = lamp(town, start=SAT)
    (inv,) = invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.commit()
    auth.login(user=town["sparky"])
    for path in ("/tasks/", "/tasks/near", f"/tasks/{inv.id}", "/hours/", "/tasks/?page=-3"):
        assert client.get(path).status_code == 200, path
    assert client.get("/hours/review").status_code == 403
    auth.logout()
    auth.login(user=town["leader"])
    assert client.get(f"/tasks/{inv.id}").status_code == 302  # organisers go to the issue
    assert client.get("/hours/review").status_code == 200


# --- the API ----------------------------------------------------------------------------------

def bearer(user):
    from volunteer.auth.services import create_token

    token = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_api_invite_accept_hours(client, town):
    issue = lamp(town, start=SAT)
    lh, vh = bearer(town["leader"]), bearer(town["sparky"])
    resp = client.post(f"/api/v1/issues/{issue.id}/invitations", headers=lh,
                       json={"volunteer_ids": [town["sparky"].id]})
    assert resp.status_code == 201, resp.json
    inv_id = resp.json["items"][0]["id"]
    assert resp.json["items"][0]["status"] == "invited"
    resp = client.post(f"/api/v1/issues/{issue.id}/invitations", headers=lh,
                       json={"volunteer_ids": [town["sparky"].id]})
    assert resp.status_code == 422 and "volunteer_ids" in resp.json["fields"]
    resp = client.post(f"/api/v1/issues/{issue.id}/invitations", headers=vh,
                       json={"volunteer_ids": [town["volty"].id]})
    assert resp.status_code == 404  # a volunteer cannot see the issue at all
    assert len(invitations()) == 1
    mine = client.get("/api/v1/invitations?status=invited", headers=vh).json
    assert [i["id"] for i in mine["items"]] == [inv_id]
    assert client.post(f"/api/v1/invitations/{inv_id}/accept", headers=lh).status_code == 404
    assert client.post(f"/api/v1/invitations/{inv_id}/accept", headers=vh).json["status"] == \
        "accepted"
    resp = client.post(f"/api/v1/invitations/{inv_id}/accept", headers=vh)
    assert resp.status_code == 409 and resp.json["error"] == "already_accepted"
    close(town, issue)
    for bad in (-1, 0, 100):
        resp = client.post(f"/api/v1/invitations/{inv_id}/hours", headers=vh,
                           json={"hours": bad})
        assert resp.status_code == 422 and "hours" in resp.json["fields"]
    assert client.post(f"/api/v1/invitations/{inv_id}/hours", headers=vh,
                       json={"hours": 2}).json["status"] == "proposed"
    resp = client.post(f"/api/v1/invitations/{inv_id}/hours/confirm", headers=vh, json={})
    assert resp.status_code == 403
    resp = client.post(f"/api/v1/invitations/{inv_id}/hours/confirm", headers=lh, json={})
    assert resp.json["status"] == "confirmed"
    hours_id = resp.json["id"]
    resp = client.post(f"/api/v1/hours/{hours_id}/corrections", headers=lh,
                       json={"hours": 3, "reason": "x"})
    assert resp.status_code == 404  # not the leader's own hours
    resp = client.post(f"/api/v1/hours/{hours_id}/corrections", headers=vh,
                       json={"hours": 3, "reason": "多做了一小时"})
    corr_id = resp.json["corrections"][0]["id"]
    resp = client.post(f"/api/v1/corrections/{corr_id}/decision", headers=lh,
                       json={"accept": False})
    assert resp.status_code == 422
    resp = client.post(f"/api/v1/corrections/{corr_id}/decision", headers=lh,
                       json={"accept": False, "reason": "记录无误"})
    assert resp.json["hours"] == 2.0 and resp.json["corrections"][0]["status"] == "rejected"
    assert client.get("/api/v1/hours", headers=vh).json["confirmed_hours"] == 2.0
    spec = client.get("/api/v1/openapi.json").json
    assert "/invitations/{invitation_id}/accept" in spec["paths"]


def test_offer_needs_the_skill(client, auth, town):
    clinic = file_issue(town["member"], IssueInput(
        title="老人需要量血压", description="独居老人想请医生上门量血压", category="health",
        lat=30.7571, lon=121.3531))
    db.session.commit()
    auth.login(user=town["sparky"])  # an electrician
    resp = client.post(f"/tasks/offer/{clinic.id}", follow_redirects=True)
    assert "does not need the skills you registered" in resp.get_data(as_text=True)
    assert invitations() == []


def test_details_only_for_those_asked(client, auth, town):
    issue = lamp(town)
    auth.login(user=town["sparky"])
    client.post(f"/tasks/offer/{issue.id}")
    (offer,) = invitations(issue)
    page = client.get(f"/tasks/{offer.id}").get_data(as_text=True)
    assert "需要电工排查" not in page and "The details are shown" in page
    auth.logout()
    auth.login(user=town["leader"])
    client.post(f"/tasks/{offer.id}/take-offer")
    auth.logout()
    auth.login(user=town["sparky"])
    assert "需要电工排查" in client.get(f"/tasks/{offer.id}").get_data(as_text=True)


def test_resolving_closes_the_waiting_but_keeps_the_expired(town):
    issue = lamp(town, helpers=3)
    a, b, c = invite(town["leader"], issue, [Pick(town["sparky"].id), Pick(town["volty"].id),
                                             Pick(town["doc"].id)])
    db.session.commit()
    respond(town["sparky"], a, True)
    c.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    issue = db.session.get(Issue, issue.id)
    for action in ("accept", "start"):
        transition(town["member"], issue, action)
    transition(town["member"], issue, "resolve", Details(resolution="好了"))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Invitation, b.id).status == "withdrawn"
    assert db.session.get(Invitation, c.id).state() == "expired"  # still counted as a lapse
    with pytest.raises(InvitationError) as exc:  # too late to join now
        respond(town["volty"], db.session.get(Invitation, b.id), True)
    assert exc.value.code == "withdrawn"


def test_api_shows_phones_only_as_allowed(client, town, factory):
    issue = lamp(town)
    lh = bearer(town["leader"])
    (inv,) = invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.commit()
    got = client.get("/api/v1/invitations", headers=bearer(town["sparky"])).json["items"][0]
    assert got["volunteer"]["phone"] == town["sparky"].phone  # one's own
    outsider = factory.volunteer("外村电工", ["electrician"], lat=30.7575, lon=121.3535)
    (inv2,) = invite(town["leader"], issue, [Pick(outsider.id)])  # no home grid: another 村居
    db.session.commit()
    resp = client.post(f"/api/v1/invitations/{inv2.id}/withdraw", headers=lh, json={})
    assert resp.status_code == 200  # lists mask phones: a full one comes from a reveal
    assert resp.json["volunteer"]["phone"] == mask_phone(outsider.phone)
    resp = client.post(f"/api/v1/invitations/{inv.id}/withdraw", headers=lh, json={})
    assert resp.json["volunteer"]["phone"] == mask_phone(town["sparky"].phone)


# --- the issue's changes reach the invitations and the inbox by a signal -----------------------

def notices(user, issue):
    return set(db.session.scalars(db.select(Notification.event).where(
        Notification.user_id == user.id, Notification.issue_id == issue.id)))


@pytest.mark.parametrize("inbox_first", [False, True], ids=["invitations-first", "inbox-first"])
def test_issue_changes_reach_invitations_and_inbox_through_the_signal(town, monkeypatch,
                                                                      inbox_first):
    """The issues domain only sends ``issue_changed``: the invitations' receiver closes the
    waiting invitations at resolution and marks the helpers done at closure, the inbox's tells
    the queue, the verifiers and the reporter. Neither depends on the other running first."""
    receivers = {r.__module__ for r in issue_changed.receivers_for(None)}
    assert {"volunteer.invitations.services", "volunteer.inbox.services"} <= receivers
    in_order = issue_changed.receivers_for
    monkeypatch.setattr(issue_changed, "receivers_for", lambda sender: sorted(
        in_order(sender), key=lambda r: (r.__module__ == "volunteer.inbox.services") != inbox_first))
    sent = []

    def spy(issue, action, actor_id, now):
        sent.append((issue.id, action, actor_id))

    with issue_changed.connected_to(spy):
        issue = lamp(town, helpers=2, start=SAT)
        helper, waiting = invite(town["leader"], issue, [Pick(town["sparky"].id),
                                                         Pick(town["volty"].id)])
        respond(town["sparky"], helper, True)
        db.session.commit()
        assert "report" in notices(town["leader"], issue)  # the grid's queue
        close(town, issue)

    member, leader = town["member"].id, town["leader"].id
    assert sent == [(issue.id, "report", member), (issue.id, "accept", member),
                    (issue.id, "start", member), (issue.id, "resolve", member),
                    (issue.id, "verify", leader)]
    db.session.expire_all()
    helper, waiting = db.session.get(Invitation, helper.id), db.session.get(Invitation, waiting.id)
    assert (waiting.status, waiting.closed_reason) == ("withdrawn", "issue_closed")
    assert helper.status == "done"
    assert notices(town["volty"], issue) == {"invited", "issue_closed"}
    assert notices(town["sparky"], issue) == {"invited", "propose_hours"}
    assert "to_verify" in notices(town["leader"], issue)
    assert "verify" in notices(town["member"], issue)  # the reporter is asked for a rating
