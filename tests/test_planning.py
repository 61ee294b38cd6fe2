"""Plan helpers: the needs of a period in the organiser's scope planned at once (better than one
at a time), the preview with reasons and what stays uncovered, edits, sending as invitation
waves with the same checks as by hand, and who may see or touch a plan."""
from datetime import timedelta

import pytest

from volunteer.callups.services import CallUpInput, answer
from volunteer.callups.services import start as start_callup
from volunteer.common import to_local, utcnow
from volunteer.extensions import db
from volunteer.inbox.models import Notification
from volunteer.invitations.models import Invitation
from volunteer.invitations.services import Pick, invite, respond
from volunteer.issues.services import IssueInput, file_issue
from volunteer.org.models import GridPoint, ServiceItem
from volunteer.planning.models import ItemStatus, Plan, PlanItem, PlanNeed, PlanStatus
from volunteer.planning.services import PlanError, add_candidate, make_plan, send, set_removed
from volunteer.services.models import ServiceSession
from volunteer.skills.models import Skill

from .conftest import count_queries

SAT = utcnow().replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=3)

pytestmark = pytest.mark.usefixtures("following_matcher", "english")


@pytest.fixture
def town(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    other_village = factory.village(code="VB", name="乙村")
    other_grid = factory.grid(other_village, code="VB-01", lat=30.757, lon=121.356)
    return {"village": village, "grid": grid, "other_grid": other_grid,
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "member": factory.user("grid_member", grid, name="网格员"),
            "other_member": factory.user("grid_member", other_grid, name="乙村网格员"),
            "other_leader": factory.user("grid_leader", other_grid, name="乙村网格长"),
            "admin": factory.user("village_admin", village, name="总网格长"),
            # near everything, the best fit for both lamps
            "sparky": factory.volunteer("电工甲", ["electrician"], grid=grid),
            # close to the first lamp only: the second is beyond his 1 km
            "volty": factory.volunteer("电工乙", ["electrician"], lat=30.758, grid=grid,
                                       travel_km=1.0)}


def lamp(town, start=None, lat=30.7571, helpers=1, hours=2, member="member", grid="VA-01"):
    issue = file_issue(town[member], IssueInput(
        title="绿地路灯不亮", description="小区绿地的路灯晚上全部不亮，需要电工排查",
        category="facilities", lat=lat, lon=121.3531, grid_code=grid,
        helpers_needed=helpers, skill_codes=["electrician"], needed_from=start,
        needed_until=start + timedelta(hours=hours) if start else None))
    db.session.commit()
    return issue


def period():
    return utcnow(), utcnow() + timedelta(days=7)


def plan_of(user):
    plan = make_plan(user, *period())
    db.session.commit()
    return plan


def proposed(plan) -> dict[int, set[int]]:
    """Issue id -> volunteers proposed."""
    return {n.issue_id: {i.volunteer_id for i in n.items if i.status == ItemStatus.proposed}
            for n in plan.needs}


# --- planning ---------------------------------------------------------------------------------

def test_planning_together_covers_what_one_at_a_time_misses(town):
    first = lamp(town, SAT)
    second = lamp(town, SAT + timedelta(minutes=30), lat=30.775)  # overlaps the first
    plan = plan_of(town["leader"])
    # One at a time, the first lamp takes the nearest electrician, and the second (at the same
    # time, beyond the other's range) finds nobody; together, each lamp gets one.
    assert proposed(plan) == {first.id: {town["volty"].id}, second.id: {town["sparky"].id}}
    assert (plan.filled, plan.places, plan.covered) == (2, 2, 2)
    assert (plan.greedy_filled, plan.greedy_covered) == (1, 1)
    assert plan.total_score > 0 and plan.status == PlanStatus.draft
    assert not db.session.scalars(db.select(Invitation)).all()  # a preview: nothing sent


def test_a_volunteer_is_not_planned_beyond_their_limit_or_twice_at_once(town, factory):
    town["volty"].profile.paused = True
    db.session.commit()
    a = lamp(town, SAT)
    b = lamp(town, SAT + timedelta(hours=1))  # overlaps a
    c = lamp(town, SAT + timedelta(days=1))
    d = lamp(town, SAT + timedelta(days=2))
    town["sparky"].profile.monthly_limit = 2
    db.session.commit()
    plan = plan_of(town["leader"])
    taken = [n for n in plan.needs if n.items]
    assert len(taken) == 2  # his limit
    assert not ({a.id, b.id} <= {n.issue_id for n in taken})  # never both at once
    open_needs = {n.issue_id: n.uncovered for n in plan.needs if not n.items}
    assert set(open_needs) == {a.id, b.id, c.id, d.id} - {n.issue_id for n in taken}
    assert set(open_needs.values()) <= {"at_limit", "busy", "taken"}


def test_busy_volunteers_and_those_already_asked_are_not_proposed(town):
    other = lamp(town, SAT)
    invite(town["leader"], other, [Pick(town["sparky"].id)])
    db.session.commit()
    respond(town["sparky"], db.session.scalars(db.select(Invitation)).one(), True)
    db.session.commit()
    same_time = lamp(town, SAT + timedelta(minutes=30))
    plan = plan_of(town["leader"])
    needs = {n.issue_id: n for n in plan.needs}
    assert other.id not in needs  # its one place is taken
    assert {i.volunteer_id for i in needs[same_time.id].items} == {town["volty"].id}
    assert town["sparky"].id not in {a["user_id"] for a in needs[same_time.id].alternatives}


def test_a_need_nobody_can_take_says_why(town, factory):
    issue = lamp(town, SAT, lat=30.95)  # 20 km away: beyond everyone's range
    plan = plan_of(town["leader"])
    (need,) = plan.needs
    assert need.issue_id == issue.id and not need.items and need.uncovered == "no_candidates"


def test_only_the_needs_of_ones_scope_are_planned(town):
    mine = lamp(town, SAT)
    theirs = lamp(town, SAT, member="other_member", grid="VB-01")
    plan = plan_of(town["leader"])
    assert {n.issue_id for n in plan.needs} == {mine.id}
    other_plan = plan_of(town["other_leader"])
    assert {n.issue_id for n in other_plan.needs} == {theirs.id}


def test_sessions_needing_staff_are_planned(town, factory):
    point = GridPoint(grid=town["grid"], name="甲村网格点", address="甲村1号", lat=30.7572,
                      lon=121.3531)
    db.session.add(point)
    doctor = db.session.scalar(db.select(Skill).where(Skill.code == "doctor"))
    item = ServiceItem(code="S03", name="免费义诊", category="健康服务", skill=doctor)
    session = ServiceSession(item=item, point=point, starts_at=SAT,
                             ends_at=SAT + timedelta(hours=2), staff_needed=1, capacity=10)
    db.session.add_all([point, item, session])
    db.session.commit()
    doc = factory.volunteer("村医", ["doctor"], grid=town["grid"], lat=30.7575)
    plan = plan_of(town["admin"])
    (need,) = [n for n in plan.needs if n.kind == "session"]
    assert need.session_id == session.id and [i.volunteer_id for i in need.items] == [doc.id]


# --- bad input and scope ----------------------------------------------------------------------

def test_bad_periods_and_nothing_to_plan_change_nothing(client, auth, town):
    auth.login(user=town["leader"])
    today = to_local(utcnow()).date()
    for data, text in [
        ({"period_from": today.isoformat(), "period_until": (today - timedelta(days=1))
          .isoformat()}, "The period must end after it starts"),
        ({"period_from": today.isoformat(), "period_until": (today + timedelta(days=90))
          .isoformat()}, "last at most 62 days"),
        ({"period_from": "tomorrow", "period_until": ""}, "Please give a date"),
        ({"period_from": today.isoformat(), "period_until": today.isoformat()},
         "Nothing in your area needs helpers"),
    ]:
        resp = client.post("/plan/", data=data)
        assert resp.status_code == 200 and text in resp.get_data(as_text=True), text
    assert db.session.scalar(db.select(db.func.count(Plan.id))) == 0


def test_who_may_open_and_change_a_plan(client, auth, town, factory):
    lamp(town, SAT)
    plan = plan_of(town["leader"])
    item = db.session.scalars(db.select(PlanItem)).first()
    need = plan.needs[0]
    auth.login(user=town["other_leader"])  # a leader of another 村居
    assert client.get(f"/plan/{plan.id}").status_code == 404
    for url in (f"/plan/{plan.id}/items/{item.id}/remove", f"/plan/{plan.id}/send",
                f"/plan/{plan.id}/discard", f"/plan/{plan.id}/needs/{need.id}/add"):
        assert client.post(url, data={"volunteer": town["volty"].id}).status_code == 404, url
    auth.logout()
    auth.login(user=town["admin"])  # even the 村居's admin: a plan is its maker's
    assert client.get(f"/plan/{plan.id}").status_code == 404
    auth.logout()
    for role in ("volunteer", "resident", "grid_member"):
        auth.login(role)
        assert client.get("/plan/").status_code == 403
        assert client.post("/plan/", data={}).status_code == 403
        auth.logout()
    assert client.get("/plan/").status_code == 302  # to log in
    db.session.refresh(plan)
    assert plan.status == PlanStatus.draft and db.session.get(PlanItem, item.id).status == \
        ItemStatus.proposed


# --- the preview, edits, sending --------------------------------------------------------------

def test_the_leader_plans_edits_and_sends_from_the_pages(client, auth, town):
    first = lamp(town, SAT)
    second = lamp(town, SAT + timedelta(minutes=30), lat=30.775)
    auth.login(user=town["leader"])
    menu = client.get("/plan/").get_data(as_text=True)
    assert 'href="/plan/"' in client.get("/").get_data(as_text=True)  # in the navigation
    assert 'data-testid="plan-form"' in menu
    today = to_local(utcnow()).date()
    resp = client.post("/plan/", data={"period_from": today.isoformat(),
                                       "period_until": (today + timedelta(days=6)).isoformat()})
    assert resp.status_code == 302
    plan = db.session.scalars(db.select(Plan)).one()
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "电工甲" in page and "电工乙" in page and "Send 2 invitations" in page
    assert "electrician (verified)" in page.lower() or "Electrician (verified)" in page
    assert "would propose 1 places" in page or "would propose 1 place" in page

    # Take the second lamp's electrician out, and put him back.
    item = db.session.scalar(db.select(PlanItem).join(PlanNeed)
                             .where(PlanNeed.issue_id == second.id))
    client.post(f"/plan/{plan.id}/items/{item.id}/remove")
    assert db.session.get(PlanItem, item.id).status == ItemStatus.removed
    assert "Send 1 invitation" in client.get(f"/plan/{plan.id}").get_data(as_text=True)
    client.post(f"/plan/{plan.id}/items/{item.id}/restore")
    assert db.session.get(PlanItem, item.id).status == ItemStatus.proposed

    resp = client.post(f"/plan/{plan.id}/send", follow_redirects=True)
    assert "2 invitations sent." in resp.get_data(as_text=True)
    invs = {i.issue_id: i for i in db.session.scalars(db.select(Invitation))}
    assert invs[first.id].volunteer_id == town["volty"].id
    assert invs[second.id].volunteer_id == town["sparky"].id
    assert all(i.status == "invited" and i.invited_by_id == town["leader"].id and i.reasons
               and i.score is not None for i in invs.values())
    told = {n.user_id for n in db.session.scalars(
        db.select(Notification).where(Notification.kind == "invitation"))}
    assert {town["volty"].id, town["sparky"].id} <= told  # each volunteer is told
    db.session.refresh(plan)
    assert plan.status == PlanStatus.sent and plan.sent_at is not None
    assert {i.status for n in plan.needs for i in n.items} == {ItemStatus.sent}
    # Sent once: again changes nothing.
    resp = client.post(f"/plan/{plan.id}/send", follow_redirects=True)
    assert "already sent or discarded" in resp.get_data(as_text=True)
    assert len(db.session.scalars(db.select(Invitation)).all()) == 2


def test_a_proposal_overtaken_meanwhile_fails_alone_with_its_reason(client, auth, town):
    first = lamp(town, SAT)
    second = lamp(town, SAT + timedelta(minutes=30), lat=30.775)
    plan = plan_of(town["leader"])
    # Meanwhile sparky takes a task at the same time, invited by hand elsewhere.
    elsewhere = lamp(town, SAT + timedelta(minutes=15))
    invite(town["admin"], elsewhere, [Pick(town["sparky"].id)])
    db.session.commit()
    sent = send(town["leader"], plan)
    db.session.commit()
    assert (sent.invited, sent.failed) == (1, 1)
    items = {n.issue_id: n.items[0] for n in plan.needs}
    assert items[first.id].status == ItemStatus.sent
    assert (items[second.id].status, items[second.id].error) == (ItemStatus.failed,
                                                                 "double_booked")
    assert not db.session.scalars(db.select(Invitation).where(
        Invitation.issue_id == second.id)).all()
    auth.login(user=town["leader"])
    page = client.get(f"/plan/{plan.id}").get_data(as_text=True)
    assert "is already busy at that time" in page


def test_adding_a_candidate_by_hand(town, factory):
    lamp(town, SAT, helpers=2)
    third = factory.volunteer("电工丙", ["electrician"], lat=30.7572, grid=town["grid"])
    plan = plan_of(town["leader"])
    (need,) = plan.needs
    assert len(need.items) == 2  # the two places
    with pytest.raises(PlanError) as err:
        add_candidate(town["leader"], need, third.id)
    assert err.value.code in ("need_full", "not_a_candidate")
    dropped = need.items[0]
    set_removed(town["leader"], dropped, True)
    spare = {a["user_id"] for a in need.alternatives} - {i.volunteer_id for i in need.items}
    assert spare, "a third electrician to choose from"
    added = add_candidate(town["leader"], need, spare.pop())
    db.session.commit()
    assert added.by_hand and added.status == ItemStatus.proposed
    with pytest.raises(PlanError) as err:
        add_candidate(town["leader"], need, town["leader"].id)  # not a candidate
    assert err.value.code == "not_a_candidate"
    with pytest.raises(PlanError) as err:
        set_removed(town["leader"], dropped, False)  # both places proposed again
    assert err.value.code == "need_full"
    with pytest.raises(PlanError):
        add_candidate(town["other_leader"], need, dropped.volunteer_id)


def test_the_page_speaks_chinese(client, auth, town):
    lamp(town, SAT)
    plan = plan_of(town["leader"])
    client.set_cookie("lang", "zh_CN")
    auth.login(user=town["leader"])
    page = client.get(f"/plan/{plan.id}").get_data(as_text=True)
    assert "电工甲" in page and "Send" not in page


def test_the_plan_page_reads_the_same_queries_however_many_needs(client, auth, town):
    for k in range(2):
        lamp(town, SAT + timedelta(hours=3 * k))
    small = plan_of(town["leader"])
    for k in range(2, 6):
        lamp(town, SAT + timedelta(hours=3 * k))
    big = plan_of(town["leader"])
    assert len(big.needs) == 6 and len(small.needs) == 2
    auth.login(user=town["leader"])
    client.get(f"/plan/{small.id}")  # warm: the session's user, translations
    assert count_queries(client, f"/plan/{big.id}") == count_queries(client, f"/plan/{small.id}")


def test_no_double_booking_between_a_plan_and_a_call_up(town):
    """A volunteer coming to a call-up is not planned at its time; one who says "coming" after
    the plan was made is not invited when it is sent (and the others are)."""
    first = lamp(town, SAT)
    second = lamp(town, SAT + timedelta(minutes=30), lat=30.775)
    typhoon = start_callup(town["admin"], CallUpInput(
        reason="flood_typhoon", title="防台转移", muster="甲村村委会", needed=5,
        starts_at=SAT - timedelta(hours=1), ends_at=SAT + timedelta(hours=3),
        grid_codes=["VA-01"])).callup
    db.session.commit()
    answer(town["volty"], typhoon, True)
    db.session.commit()
    plan = plan_of(town["leader"])
    # volty is out; sparky can take only one of the two lamps at that time.
    taken = {i.volunteer_id for n in plan.needs for i in n.items}
    assert taken == {town["sparky"].id} and plan.filled == 1
    assert {n.uncovered for n in plan.needs if not n.items} <= {"busy", "taken"}

    answer(town["sparky"], typhoon, True)  # after the plan: he is coming too
    db.session.commit()
    sent = send(town["leader"], plan)
    db.session.commit()
    assert (sent.invited, sent.failed) == (0, 1)
    (item,) = [i for n in plan.needs for i in n.items]
    assert (item.status, item.error) == (ItemStatus.failed, "double_booked")
    assert not db.session.scalars(db.select(Invitation).where(
        Invitation.issue_id.in_([first.id, second.id]))).all()
