"""A leader on a phone: the issue page puts the viewer's actions first and folds the rest;
invitations stop once the issue is resolved; withdraw and no-show only where they make sense;
a team is only offered for the places not waiting for an answer; hours are confirmed from the
review list one after another; a rating is five stars; a sign-up is cancelled in two taps."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.hours.models import ServiceHours
from volunteer.invitations.models import Invitation
from volunteer.invitations.services import Pick, invite, respond
from volunteer.issues.models import Issue
from volunteer.issues.services import Details, IssueInput, file_issue, transition

SAT = utcnow().replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=3)

pytestmark = pytest.mark.usefixtures("following_matcher", "english")


@pytest.fixture
def town(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    sparks = [factory.volunteer(f"电工{n}", ["electrician"], lat=30.757 + n / 10000, grid=grid)
              for n in range(7)]
    return {"village": village, "grid": grid, "sparks": sparks,
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "member": factory.user("grid_member", grid, name="网格员"),
            "resident": factory.user("resident", name="居民")}


def lamp(town, helpers=1, start=SAT, reporter="member"):
    issue = file_issue(town[reporter], IssueInput(
        title="绿地路灯不亮", description="小区绿地的路灯晚上全部不亮，需要电工排查",
        category="facilities", lat=30.7571, lon=121.3531, helpers_needed=helpers,
        needed_from=start, needed_until=start + timedelta(hours=2) if start else None))
    db.session.commit()
    return issue


def resolve(town, issue):
    issue = db.session.get(Issue, issue.id)
    for action in ("accept", "start"):
        transition(town["member"], issue, action)
    transition(town["member"], issue, "resolve", Details(resolution="修好了"))
    db.session.commit()


def section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start:page.index("</section>", start)]


def test_actions_come_first_and_the_rest_folds(client, auth, town):
    issue = lamp(town)
    auth.login(user=town["leader"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    order = [page.index(f'data-testid="{t}"') for t in
             ("actions", "photos", "timeline", "helpers", "suggestions")]
    assert order == sorted(order)
    assert page.index('data-testid="actions"') < page.index(issue.description)
    actions = section(page, "actions")
    primary = actions.split('data-testid="primary-action"')[1].split('data-testid="more')[0]
    assert 'data-action="accept"' in primary and 'data-action="reject"' not in primary
    assert re.search(r'<details[^>]*data-more="reject"', actions)
    assert re.search(r'<details[^>]*data-more="comment"', actions)

    # A failed secondary action comes back open, with its error.
    resp = client.post(f"/issues/{issue.id}/act", data={
        "action": "reject", "version": "1", "comment": "x" * 2001})
    assert resp.status_code == 400
    assert re.search(r'<details[^>]*data-more="reject"\s+open', resp.get_data(as_text=True))


def test_suggestions_show_five_and_fold_the_rest(client, auth, town):
    issue = lamp(town)
    auth.login(user=town["leader"])
    page = section(client.get(f"/issues/{issue.id}").get_data(as_text=True), "suggestions")
    top, more = page.split('data-testid="more-suggestions"')
    assert top.count("data-volunteer=") == 5
    assert more.count("data-volunteer=") == 2 and "2 more suggestions" in more


def test_withdraw_and_no_show_only_where_they_make_sense(client, auth, town):
    issue = lamp(town, helpers=2)
    a, b = invite(town["leader"], issue, [Pick(town["sparks"][0].id),
                                          Pick(town["sparks"][1].id)])
    db.session.commit()
    respond(town["sparks"][0], a, True)
    db.session.commit()
    auth.login(user=town["leader"])
    helpers = section(client.get(f"/issues/{issue.id}").get_data(as_text=True), "helpers")
    accepted = helpers.split(f'data-invitation="{a.id}"')[1].split("data-invitation=")[0]
    waiting = helpers.split(f'data-invitation="{b.id}"')[1]
    assert 'data-testid="withdraw"' in waiting and 'data-testid="no-show"' not in waiting
    # The task is on Saturday: nobody can have failed to come yet, and a place taken is not
    # taken back with a tap.
    assert 'data-testid="withdraw"' not in accepted and 'data-testid="no-show"' not in accepted

    resolve(town, issue)
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'data-testid="suggestions"' not in page
    for button in ("invite-one", "invite-team", "invite-next", "withdraw"):
        assert f'data-testid="{button}"' not in page, button
    helpers = section(page, "helpers")
    accepted = helpers.split(f'data-invitation="{a.id}"')[1].split("data-invitation=")[0]
    assert 'data-testid="no-show"' in accepted
    assert db.session.get(Invitation, b.id).status == "withdrawn"  # closed on resolution


def test_no_show_once_the_time_has_started(client, auth, town):
    issue = lamp(town, start=utcnow() + timedelta(hours=2))
    (a,) = invite(town["leader"], issue, [Pick(town["sparks"][0].id)])
    db.session.commit()
    respond(town["sparks"][0], a, True)
    db.session.commit()
    auth.login(user=town["leader"])
    assert 'data-testid="no-show"' not in client.get(f"/issues/{issue.id}").get_data(True)
    issue = db.session.get(Issue, issue.id)
    issue.needed_from = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert 'data-testid="no-show"' in client.get(f"/issues/{issue.id}").get_data(True)


def test_a_team_is_offered_only_for_the_places_not_waiting(client, auth, town):
    issue = lamp(town, helpers=3)
    auth.login(user=town["leader"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "Invite the highlighted team of 3" in page
    client.post(f"/tasks/invite/{issue.id}", data={"volunteer": town["sparks"][6].id})
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "Invite the highlighted team of 2" in page
    assert section(page, "suggestions").count("list-group-item-success") == 2
    client.post(f"/tasks/invite/{issue.id}", data={"mode": "team"})
    assert len(db.session.scalars(db.select(Invitation)).all()) == 3  # not 1 + 3
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    for button in ("invite-team", "invite-next"):
        assert f'data-testid="{button}"' not in page, button
    assert "3 invitations are waiting for an answer." in page
    resp = client.post(f"/tasks/invite/{issue.id}", data={"mode": "team"},
                       follow_redirects=True)
    assert "Nobody more to invite" in resp.get_data(as_text=True)
    assert len(db.session.scalars(db.select(Invitation)).all()) == 3


def test_hours_confirmed_one_after_another_from_the_review(client, auth, town):
    issue = lamp(town, helpers=2)
    a, b = invite(town["leader"], issue, [Pick(town["sparks"][0].id),
                                          Pick(town["sparks"][1].id)])
    db.session.commit()
    respond(town["sparks"][0], a, True)
    respond(town["sparks"][1], b, True)
    db.session.commit()
    resolve(town, issue)
    transition(town["leader"], db.session.get(Issue, issue.id), "verify")
    db.session.commit()
    for who, inv, note in ((0, a, "排查线路"), (1, b, "更换空开")):
        auth.login(user=town["sparks"][who])
        client.post(f"/hours/task/{inv.id}", data={"hours": "2", "note": note})
        auth.logout()

    auth.login(user=town["leader"])
    page = client.get("/hours/review").get_data(as_text=True)
    assert page.count('name="back" value="review"') >= 2
    assert re.search(r'data-testid="hours-input">\s*<span class="input-group-text">hours</span>',
                     page)
    resp = client.post(f"/hours/task/{a.id}/confirm", data={"hours": "2.5", "back": "review"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/hours/review")
    page = client.get("/hours/review").get_data(as_text=True)
    assert "更换空开" in page and "排查线路" not in page  # the next one, right there
    resp = client.post(f"/hours/task/{b.id}/confirm", data={"hours": "2", "back": "review"})
    assert resp.headers["Location"].endswith("/hours/review")
    # From the issue page, back to the issue page.
    resp = client.post(f"/hours/task/{b.id}/confirm", data={"hours": "2"})
    assert f"/issues/{issue.id}" in resp.headers["Location"]
    db.session.expire_all()
    entries = db.session.scalars(db.select(ServiceHours).order_by(ServiceHours.id)).all()
    assert [(e.hours, e.status, e.note) for e in entries] == [
        (Decimal("2.5"), "confirmed", "排查线路"), (Decimal("2.0"), "confirmed", "更换空开")]


def test_rating_is_five_stars_and_reopen_asks_first(client, auth, town):
    issue = lamp(town, reporter="resident", start=None)
    resolve(town, issue)
    transition(town["leader"], db.session.get(Issue, issue.id), "verify")
    db.session.commit()
    auth.login(user=town["resident"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    actions = section(page, "actions")
    primary = actions.split('data-testid="primary-action"')[1].split('data-testid="more')[0]
    stars = re.findall(r'<button class="btn btn-outline-warning" type="submit" name="rating" '
                       r'value="(\d)"', primary)
    assert stars == ["1", "2", "3", "4", "5"]
    assert 'data-action="reopen"' not in primary
    reopen = re.search(r'<details[^>]*data-more="reopen"[^>]*>(.*?)</details>', actions, re.S)
    assert reopen and "Yes, reopen the issue" in reopen.group(1)

    version = str(db.session.get(Issue, issue.id).version)
    client.post(f"/issues/{issue.id}/act", data={"action": "rate", "version": version,
                                                 "rating": "4", "comment": "很快"})
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert (issue.rating, issue.rating_comment, issue.status) == (4, "很快", "closed")


def test_cancelling_a_sign_up_asks_first(client, auth, factory):
    from datetime import time

    from volunteer.org.models import GridPoint, ServiceItem
    from volunteer.services.schedule import Recurrence
    from volunteer.services.sessions import schedule

    village = factory.village(code="XJ", name="新江村")
    grid = factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    leader = factory.user("grid_leader", grid, name="网格长")
    point = GridPoint(grid=grid, name="网格点", address="新江村90号", lat=30.7572, lon=121.3531)
    item = ServiceItem(code="S12", name="社保代办", category="政务代办")
    db.session.add_all([point, item])
    db.session.commit()
    (s,) = schedule(leader, item, point, Recurrence(
        first=(utcnow() + timedelta(days=3)).date(), start=time(9), end=time(11)), 2, 0)
    db.session.commit()
    auth.login(user=factory.user("resident", name="居民甲"))
    client.post(f"/services/sessions/{s.id}/signup")
    page = client.get(f"/services/sessions/{s.id}").get_data(as_text=True)
    step = re.search(r'<details[^>]*data-testid="cancel-step"[^>]*>(.*?)</details>', page, re.S)
    assert step and 'data-testid="cancel-signup"' in step.group(1)
    assert "Yes, cancel my place" in step.group(1)
