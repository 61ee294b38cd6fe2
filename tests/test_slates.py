"""Every suggestion list shown is on record (a slate), invitations link to the slate and rank
they came from, and a person's data download and deletion treat slates as the privacy rules
say."""
from __future__ import annotations

from datetime import timedelta

import pytest

from volunteer.auth.services import create_token
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.invitations.models import Invitation
from volunteer.issues.services import IssueInput, file_issue
from volunteer.matching.matcher import FEATURES
from volunteer.matching.models import Slate
from volunteer.privacy import erase_user, export_user

pytestmark = pytest.mark.usefixtures("following_matcher")

SAT = utcnow().replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=3)


@pytest.fixture
def town(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    return {"grid": grid, "village": village,
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "member": factory.user("grid_member", grid, name="网格员"),
            "other_leader": factory.user("grid_leader", factory.grid(village, code="VA-02"),
                                         name="别的网格长"),
            "sparky": factory.volunteer("电工甲", ["electrician"], grid=grid),
            "volty": factory.volunteer("电工乙", ["electrician"], lat=30.759, grid=grid)}


def lamp(town):
    issue = file_issue(town["member"], IssueInput(
        title="绿地路灯不亮", description="小区绿地的路灯晚上全部不亮，需要电工排查",
        category="facilities", lat=30.7571, lon=121.3531, needed_from=SAT,
        needed_until=SAT + timedelta(hours=2)))
    db.session.commit()
    return issue


def slates(context=None):
    db.session.expire_all()
    q = db.select(Slate).order_by(Slate.id)
    if context:
        q = q.where(Slate.context == context)
    return db.session.scalars(q).all()


def test_the_issue_page_records_its_list_and_an_invitation_links_to_it(client, auth, town):
    issue = lamp(town)
    auth.login(user=town["leader"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    (slate,) = slates("issue_page")
    assert slate.viewer_id == town["leader"].id and slate.issue_id == issue.id
    assert slate.data["ids"] == [town["sparky"].id, town["volty"].id]
    assert slate.data["feature_names"] == list(FEATURES)
    assert len(slate.data["features"][0]) == len(FEATURES) and slate.propensity == 1.0
    assert slate.skills == ["electrician"] and f'name="slate" value="{slate.id}"' in page
    resp = client.post(f"/tasks/invite/{issue.id}",
                       data={"volunteer": town["volty"].id, "slate": slate.id})
    assert resp.status_code == 302
    (inv,) = db.session.scalars(db.select(Invitation)).all()
    assert (inv.slate_id, inv.slate_rank) == (slate.id, 2)
    assert len(slates()) == 1  # checking the pick at the POST records no list


def test_a_slate_of_someone_else_or_of_another_issue_is_not_linked(client, auth, town):
    issue, other = lamp(town), lamp(town)
    auth.login(user=town["leader"])
    client.get(f"/issues/{other.id}")
    (slate,) = slates()
    resp = client.post(f"/tasks/invite/{issue.id}",
                       data={"volunteer": town["sparky"].id, "slate": slate.id})
    assert resp.status_code == 302
    (inv,) = db.session.scalars(db.select(Invitation)).all()
    assert inv.slate_id is None and inv.slate_rank is None
    for bad in ("x", "-1", "99999999999"):
        client.post(f"/tasks/invite/{other.id}", data={"volunteer": town["volty"].id,
                                                      "slate": bad})
    assert all(i.slate_id is None for i in db.session.scalars(db.select(Invitation)))


def test_the_api_records_what_it_answers(client, town):
    token = create_token(town["leader"])
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/match", headers=headers,
                       json={"text": "路灯不亮", "lat": 30.757, "lon": 121.353}).status_code == 200
    issue = lamp(town)
    assert client.get(f"/api/v1/issues/{issue.id}/suggestions",
                      headers=headers).status_code == 200
    assert [s.context for s in slates()] == ["api_match", "api_issue"]
    assert slates()[1].issue_id == issue.id
    # Refused: nothing on record.
    outsider = create_token(town["other_leader"])
    db.session.commit()
    client.get(f"/api/v1/issues/{issue.id}/suggestions",
               headers={"Authorization": f"Bearer {outsider}"})
    assert len(slates()) == 2


def test_needs_near_me_records_the_issues_shown(client, auth, town):
    issue = lamp(town)
    auth.login(user=town["sparky"])
    page = client.get("/tasks/near").get_data(as_text=True)
    assert "绿地路灯" in page or str(issue.id) in page
    (slate,) = slates("needs_near_me")
    assert slate.item_kind == "issue" and slate.data["ids"] == [issue.id]
    assert slate.volunteers == f",{town['sparky'].id},"


def test_the_download_says_only_how_often_and_deletion_takes_the_person_out(client, auth, town):
    issue = lamp(town)
    auth.login(user=town["leader"])
    client.get(f"/issues/{issue.id}")
    client.get(f"/issues/{issue.id}")
    sparky = town["sparky"]
    assert export_user(sparky)["suggestions"] == {"times_suggested": 2}
    erase_user(sparky)
    db.session.commit()
    for slate in slates():
        assert f",{sparky.id}," not in slate.volunteers
        assert slate.data["ids"] == [0, town["volty"].id]  # the ranks keep their meaning


def test_tick_prunes_old_slates(app, runner, client, auth, town):
    issue = lamp(town)
    auth.login(user=town["leader"])
    client.get(f"/issues/{issue.id}")
    client.post(f"/tasks/invite/{issue.id}", data={"volunteer": town["sparky"].id,
                                                  "slate": slates()[0].id})
    slates()[0].created_at = utcnow() - timedelta(days=app.config["MATCH_SLATE_DAYS"] + 1)
    db.session.commit()
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0 and "1 suggestion list(s)" in result.output
    assert slates() == []
    (inv,) = db.session.scalars(db.select(Invitation)).all()
    assert inv.slate_id is None and inv.slate_rank == 1  # the rank stays
