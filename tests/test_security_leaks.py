"""Three leaks found in review (issue 13): a volunteer's match score located their home; the
similar-issues hint bisected an issue's exact place at its 300 m edge; "needs near me" showed
hidden titles and exact distances to any self-registered volunteer."""
import math

import pytest

from volunteer import policy
from volunteer.extensions import db
from volunteer.geo import EARTH_KM, haversine_km
from volunteer.invitations.models import Invitation
from volunteer.issues.services import IssueInput, file_issue

pytestmark = pytest.mark.usefixtures("following_matcher", "english")

#: One metre along a meridian, in degrees of latitude.
METRE = math.degrees(0.001 / EARTH_KM)


@pytest.fixture
def town(factory):
    """Two 村居: a leader in 甲村, a volunteer of 乙村 ~520 m north of the leader's grid centre."""
    a, b = factory.village(code="VA", name="甲村"), factory.village(code="VB", name="乙村")
    ga = factory.grid(a, code="VA-01", lat=30.757, lon=121.353)
    gb = factory.grid(b, code="VB-01", lat=30.762, lon=121.358)
    return {"a": a, "b": b, "ga": ga, "gb": gb,
            "leader": factory.user("grid_leader", ga, name="网格长"),
            "member": factory.user("grid_member", ga, name="网格员"),
            "admin": factory.user("admin", name="网格办"),
            "far": factory.volunteer("李电工", ["electrician"], lat=30.7617, lon=121.353,
                                     grid=gb),
            "resident": factory.user("resident", name="居民甲"),
            "stranger": factory.user("resident", name="路人丙")}


def _bearer(user):
    from tests.test_invitations import bearer

    return bearer(user)


# --- 1. the match score -------------------------------------------------------------------------

def _match(client, user, lat, lon=121.353):
    resp = client.post("/api/v1/match", headers=_bearer(user),
                       json={"text": "路灯全部不亮", "lat": lat, "lon": lon,
                             "skills": ["electrician"]})
    assert resp.status_code == 200, resp.json
    return resp.json["suggestions"]


def test_score_of_another_villages_volunteer_does_not_move_with_a_metre(client, town):
    far = town["far"].id
    seen = []
    for lat in (30.757, 30.757 - METRE, 30.757 - 2 * METRE):
        (item,) = [s for s in _match(client, town["leader"], lat) if s["volunteer"]["id"] == far]
        seen.append((item["score"], item["distance_m"], item["reasons"]))
    assert seen[0] == seen[1] == seen[2]  # a few query points no longer give the distance
    score, distance, _reasons = seen[0]
    # No score, and the distance is measured from the volunteer's grid centre, not the home:
    # no query point, however chosen, learns anything of where they live.
    gb = town["gb"]
    assert score is None
    assert distance == policy.shown_distance(
        town["leader"], float(haversine_km(30.757, 121.353, gb.lat, gb.lon)) * 1000, gb.village_id)
    moved = [s for s in _match(client, town["leader"], 30.757, 121.353 + 50 * METRE)
             if s["volunteer"]["id"] == far]
    assert moved[0]["distance_m"] == policy.shown_distance(town["leader"], float(haversine_km(
        30.757, 121.353 + 50 * METRE, gb.lat, gb.lon)) * 1000, gb.village_id)
    # The town admin sees the score inside every 村居: to 2 decimals.
    (item,) = _match(client, town["admin"], 30.757)
    assert item["score"] == round(item["score"], 2)


def test_score_is_rounded_in_issue_suggestions_and_invitations(client, town):
    issue = file_issue(town["member"], IssueInput(
        title="绿地路灯不亮", description="需要电工排查", category="facilities",
        lat=30.757, lon=121.353, skill_codes=["electrician"]))
    db.session.commit()
    headers = _bearer(town["leader"])
    (item,) = client.get(f"/api/v1/issues/{issue.id}/suggestions",
                         headers=headers).json["suggestions"]
    assert item["score"] is None  # a volunteer of another 村居: no score
    resp = client.post(f"/api/v1/issues/{issue.id}/invitations", headers=headers,
                       json={"volunteer_ids": [town["far"].id]})
    assert resp.status_code == 201, resp.json
    (out,) = resp.json["items"]
    stored = db.session.scalar(db.select(Invitation.score).where(Invitation.id == out["id"]))
    assert stored is not None  # the stored score keeps its 4 decimals …
    assert out["score"] is None  # … the organiser of another 村居 sees none
    mine = client.get("/api/v1/invitations", headers=_bearer(town["far"]))
    assert [i["score"] for i in mine.json["items"]] == [stored]  # one's own: in full


def test_shown_score_rule(town):
    far = town["far"].profile
    village = far.home_grid.village_id
    assert policy.shown_score(town["leader"], 0.83456, village) is None
    assert policy.shown_score(town["leader"], 0.83456, town["a"].id) == 0.83
    assert policy.shown_score(town["admin"], 0.83456, village) == 0.83
    assert policy.shown_score(None, 0.83456, village) is None
    assert policy.shown_score(town["leader"], None, village) is None


# --- 2. the similar-issues hint -----------------------------------------------------------------

def _similar(client, lat, lon=121.353):
    resp = client.get(f"/issues/similar?lat={lat!r}&lon={lon!r}&text=路灯")
    assert resp.status_code == 200
    return resp.get_json()["items"]


def _report(town, lat, lon=121.353, title="张伟家门口路灯不亮"):
    issue = file_issue(town["resident"], IssueInput(
        title=title, description=f"{title}，晚上全黑", category="facilities", lat=lat, lon=lon))
    db.session.commit()
    return issue


def test_similar_hint_uses_the_public_place_at_its_edge(client, auth, town):
    # Exactly 300 m north of the query edge below, its public place (30.760) ~45 m nearer.
    inside = _report(town, 30.7604)
    edge = 30.7604 - math.degrees(0.3 / EARTH_KM)
    auth.login(user=town["stranger"])
    near, far = _similar(client, edge + METRE / 2), _similar(client, edge - METRE / 2)
    assert [i["id"] for i in near] == [i["id"] for i in far] == [inside.id]
    public = policy.public_place(inside.lat, inside.lon)
    for lat, items in ((edge + METRE / 2, near), (edge - METRE / 2, far)):
        expected = policy.public_distance(float(haversine_km(lat, 121.353, *public)) * 1000)
        assert items[0]["distance_m"] == expected == 250  # not 300 (from the exact place)


def test_similar_hint_leaves_out_an_issue_whose_public_place_is_outside(client, auth, town):
    # Exactly 300 m away at the edge, but its public place (30.760) ~45 m beyond it.
    outside = _report(town, 30.7596)
    edge = 30.7596 - math.degrees(0.3 / EARTH_KM)
    auth.login(user=town["stranger"])
    for lat in (edge + METRE / 2, edge - METRE / 2, edge + 40 * METRE):
        assert outside.id not in [i["id"] for i in _similar(client, lat)]
    assert outside.id in [i["id"] for i in _similar(client, edge + 60 * METRE)]


def test_similar_hint_orders_unreadable_issues_by_public_place(client, auth, town):
    # a is nearer exactly (22 m against 33 m), c by the public place (44 m against 67 m):
    # the order follows the board, so it tells nothing of the exact places.
    a = _report(town, 30.7574, title="楼道堆放杂物")  # public 30.757
    c = _report(town, 30.7579, title="井盖缺失")  # public 30.758
    auth.login(user=town["stranger"])
    items = _similar(client, 30.7576)
    assert [i["id"] for i in items] == [c.id, a.id]
    assert [i["distance_m"] for i in items] == [50, 50]


# --- 3. needs near me -----------------------------------------------------------------------------

def test_needs_near_me_shows_the_public_facts_until_an_offer_is_taken(client, auth, town,
                                                                      factory):
    ga = town["ga"]
    volunteer = factory.volunteer("王电工", ["electrician"], lat=30.757, lon=121.353, grid=ga)
    issue = file_issue(town["member"], IssueInput(
        title="张伟家门口路灯不亮", description="张伟说晚上全黑，需要电工排查",
        category="facilities", lat=30.7594, lon=121.3531))
    db.session.commit()
    exact = float(haversine_km(30.757, 121.353, issue.lat, issue.lon)) * 1000
    public = policy.public_distance(float(haversine_km(
        30.757, 121.353, *policy.public_place(issue.lat, issue.lon))) * 1000)
    assert (round(exact), public) == (267, 200)
    auth.login(user=volunteer)
    page = client.get("/tasks/near").get_data(as_text=True)
    item = page.split(f'data-issue="{issue.id}"')[1].split('data-testid="offer"')[0]
    assert "张伟" not in page and "路灯" not in page  # neither title nor description
    assert "Public facility repairs" in item
    assert town["a"].name in item and "200 m" in item
    assert "267 m" not in item and "270 m" not in item and "250 m" not in item
    assert ga.name not in item  # the grid is not a public fact
    # The offer still works, and once the organiser takes it up the details follow.
    resp = client.post(f"/tasks/offer/{issue.id}", data={"note": "我晚上有空"},
                       follow_redirects=True)
    assert "The organiser will answer your offer" in resp.get_data(as_text=True)
    (offer,) = db.session.scalars(db.select(Invitation).where(Invitation.issue_id == issue.id))
    assert offer.status == "offered" and offer.volunteer_id == volunteer.id


def test_needs_near_me_range_comes_from_the_public_place(client, auth, town, factory):
    # 1 km range; the issue is 990 m away exactly but its public place 1,034 m: not listed.
    volunteer = factory.volunteer("王电工", ["electrician"], lat=30.757, lon=121.353,
                                  grid=town["ga"], travel_km=1.0)
    lat = 30.757 + math.degrees(0.99 / EARTH_KM)
    assert policy.public_place(lat, 121.353)[0] == 30.766
    issue = file_issue(town["member"], IssueInput(
        title="路灯不亮", description="需要电工", category="facilities", lat=lat, lon=121.353))
    db.session.commit()
    auth.login(user=volunteer)
    assert f'data-issue="{issue.id}"' not in client.get("/tasks/near").get_data(as_text=True)
