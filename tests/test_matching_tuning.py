"""Learning in the app: lists shown with their exploration on record, the log read back with
each candidate's outcome, ``flask matching learn`` offering (never switching on) weights and
telling the town admin, the weekly cap on invitations, and the matcher following recent asks
and the set a person switched on."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from volunteer import policy
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.inbox import services as inbox
from volunteer.inbox.models import Notification
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.invitations.services import InvitationError, Pick, invite, offer, respond
from volunteer.issues.services import IssueInput, file_issue
from volunteer.matching import learning, store, tuning
from volunteer.matching.matcher import FEATURES, Weights
from volunteer.matching.models import Slate, WeightSet, WeightSetStatus
from volunteer.matching.queries import issue_query

pytestmark = pytest.mark.usefixtures("following_matcher", "english")


@pytest.fixture
def town(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    return {"grid": grid, "village": village,
            "admin": factory.user("admin", name="镇管理员"),
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "member": factory.user("grid_member", grid, name="网格员"),
            "sparky": factory.volunteer("电工甲", ["electrician"], grid=grid),
            "volty": factory.volunteer("电工乙", ["electrician"], lat=30.758, grid=grid),
            "watts": factory.volunteer("电工丙", ["electrician"], lat=30.759, grid=grid)}


def lamp(town, urgency="normal", helpers=1):
    issue = file_issue(town["member"], IssueInput(
        title="绿地路灯不亮", description="小区绿地的路灯晚上全部不亮，需要电工排查",
        category="facilities", lat=30.7571, lon=121.3531, urgency=urgency,
        helpers_needed=helpers))
    db.session.commit()
    return issue


def test_a_shuffled_list_is_shown_as_logged_with_its_probability(app, client, auth, town):
    app.config["MATCH_EXPLORE"] = 1.0  # always explore: one of the two possible swaps
    issue = lamp(town, urgency="high")
    auth.login(user=town["leader"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    slate = db.session.scalars(db.select(Slate)).one()
    ranked = [town["sparky"].id, town["volty"].id, town["watts"].id]
    k = slate.data["explore"]["swap"]
    assert slate.data["explore"] == {"epsilon": 1.0, "swap": k, "eligible": [1, 2]}
    ranked[k - 1], ranked[k] = ranked[k], ranked[k - 1]
    assert slate.data["ids"] == ranked  # the logged order is the order shown
    assert slate.propensity == pytest.approx(0.5)  # one of two possible swaps
    assert len(set(slate.data["grades"])) == 1 and slate.data["urgent"] is True
    names = {town[w].id: town[w].name for w in ("sparky", "volty", "watts")}
    places = [page.index(names[i]) for i in ranked]
    assert places == sorted(places)  # the page shows the logged order


def test_the_weights_in_use_order_the_lists_by_default(client, auth, town):
    issue = lamp(town)
    auth.login(user=town["leader"])
    client.get(f"/issues/{issue.id}")
    slate = db.session.scalars(db.select(Slate)).one()
    assert slate.data["ids"] == [town["sparky"].id, town["volty"].id, town["watts"].id]
    assert slate.propensity == 1.0 and slate.data["explore"]["swap"] is None


def test_the_log_reads_each_candidates_outcome(client, auth, town):
    issue = lamp(town, helpers=2)
    auth.login(user=town["leader"])
    client.get(f"/issues/{issue.id}")
    slate = db.session.scalars(db.select(Slate)).one()
    for who in ("sparky", "watts"):
        assert client.post(f"/tasks/invite/{issue.id}", data={
            "volunteer": town[who].id, "slate": slate.id}).status_code == 302
    by = {i.volunteer_id: i for i in db.session.scalars(db.select(Invitation))}
    respond(town["sparky"], by[town["sparky"].id], True)
    respond(town["watts"], by[town["watts"].id], False)
    db.session.commit()
    (logged,) = tuning.gather()
    assert logged.invited.tolist() == [True, False, True]  # volty was shown, not invited
    assert logged.outcome.tolist() == [1, 0, -1]
    assert logged.accepted.tolist() == [True, False, False]
    assert logged.answered.tolist() == [True, False, True]
    assert logged.features.shape == (3, len(FEATURES))
    # an invitation left unanswered past its time is a negative; one still open is nothing
    later = utcnow() + timedelta(days=2)
    by[town["watts"].id].status = InvitationStatus.invited
    by[town["watts"].id].responded_at = None
    db.session.commit()
    assert tuning.gather()[0].outcome.tolist() == [1, 0, 0]
    assert tuning.gather()[0].answered.tolist() == [True, False, False]  # still open
    assert tuning.gather(now=later)[0].outcome.tolist() == [1, 0, -1]
    assert tuning.gather(now=later)[0].answered.tolist() == [True, False, True]
    # withdrawn unanswered (the places filled): never known; withdrawn after a yes: a yes
    by[town["watts"].id].status = InvitationStatus.withdrawn
    by[town["sparky"].id].status = InvitationStatus.withdrawn
    db.session.commit()
    logged = tuning.gather(now=later)[0]
    assert logged.answered.tolist() == [True, False, False]
    assert logged.accepted.tolist() == [True, False, False]
    assert logged.outcome.tolist() == [0, 0, 0]  # nor a pair to learn from
    assert tuning.log_size(now=later) == (1, 0)


def test_a_team_invited_by_the_ranking_has_no_place_in_the_list(app, client, auth, town):
    app.config["MATCH_EXPLORE"] = 1.0
    issue = lamp(town, helpers=2)
    auth.login(user=town["leader"])
    client.get(f"/issues/{issue.id}")
    slate = db.session.scalars(db.select(Slate)).one()
    assert client.post(f"/tasks/invite/{issue.id}", data={
        "mode": "team", "slate": slate.id}).status_code == 302
    made = db.session.scalars(db.select(Invitation)).all()
    assert len(made) == 2
    assert {(i.slate_id, i.slate_rank) for i in made} == {(slate.id, None)}
    assert tuning.gather()[0].invited.tolist() == [False, False, False]


def _synthetic_log(n=300, seed=0):
    """Lists where the reliable accept (what learning should find)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        f = np.zeros((6, len(FEATURES)))
        f[:, FEATURES.index("skill_fit")] = 1.0
        f[:, FEATURES.index("distance_km")] = rng.uniform(0.1, 3, 6)
        f[:, FEATURES.index("reliability")] = rng.uniform(0.1, 1, 6)
        swap = int(rng.integers(1, 5)) if rng.random() < 0.2 else None
        invited = rng.random(6) < np.minimum(1, 0.9 / np.arange(1, 7))
        accepted = invited & (rng.random(6) < f[:, FEATURES.index("reliability")])
        out.append(learning.LoggedSlate(f, np.full(6, 4), invited, accepted,
                                        np.where(accepted, 1, np.where(invited, -1, 0)),
                                        swap=swap, eligible=(1, 2, 3, 4)))
    return out


def test_learning_offers_weights_never_switches_them_on_and_tells_the_town_admin(
        app, runner, town, monkeypatch):
    app.config["MATCH_LEARN_MIN_OUTCOMES"] = 100
    monkeypatch.setattr(tuning, "gather", lambda now=None: _synthetic_log())
    result = runner.invoke(args=["matching", "learn"])
    assert result.exit_code == 0, result.output
    assert "is a candidate" in result.output and "SNIPS" in result.output
    ws = db.session.scalars(db.select(WeightSet)).one()
    assert ws.status == WeightSetStatus.candidate and ws.source == "learned"
    assert ws.weights["reliability"] > Weights().reliability
    c = ws.report["comparison"]
    assert c["slates"] == 90 and c["learned"]["snips"]["low"] <= c["learned"]["snips"]["value"]
    assert tuning.live_weights() == Weights()  # nothing changed without a person
    assert store.get_matcher().weights == Weights()
    notice = db.session.scalars(db.select(Notification)).one()
    assert (notice.user_id, notice.event) == (town["admin"].id, "weights_learned")
    assert inbox.town_office(policy.may_tune_matcher) == [town["admin"].id]
    town["admin"].active = False  # a town admin who left hears of nothing
    db.session.commit()
    assert inbox.town_office(policy.may_tune_matcher) == []
    town["admin"].active = True
    db.session.commit()
    # learning again replaces the candidate nobody switched on
    assert runner.invoke(args=["matching", "learn"]).exit_code == 0
    statuses = db.session.scalars(db.select(WeightSet.status).order_by(WeightSet.id)).all()
    assert statuses == [WeightSetStatus.superseded, WeightSetStatus.candidate]


def test_a_log_without_a_yes_and_a_no_in_one_list_says_so(app, runner, town, monkeypatch):
    app.config["MATCH_LEARN_MIN_OUTCOMES"] = 10
    log = _synthetic_log(50)
    for s in log:  # every invited one said yes
        s.accepted[:] = s.invited
        s.outcome[:] = np.where(s.invited, 1, 0)
    monkeypatch.setattr(tuning, "gather", lambda now=None: log)
    result = runner.invoke(args=["matching", "learn"])
    assert result.exit_code != 0 and "还没有一份名单" in result.output
    assert db.session.scalar(db.select(db.func.count(WeightSet.id))) == 0


def test_too_few_outcomes_offer_nothing(runner, town):
    result = runner.invoke(args=["matching", "learn"])
    assert result.exit_code != 0
    assert "已答复的邀请还太少，暂不能学习：目前 0 条，至少需要 300 条" in result.output
    assert db.session.scalar(db.select(db.func.count(WeightSet.id))) == 0


def test_only_the_town_admin_switches_weights_on_and_the_matcher_follows(town):
    ws = WeightSet(source="learned", status=WeightSetStatus.candidate,
                   weights={**{k: 0.0 for k in ("distance", "availability", "local", "load")},
                            "skill": 1.0, "reliability": 0.9, "distance_urgent": 0.0,
                            "load_reliability": 0.1})
    db.session.add(ws)
    db.session.commit()
    assert store.get_matcher().weights == Weights()
    with pytest.raises(tuning.TuningError) as refused:
        tuning.switch_on(town["leader"], ws.id)
    assert refused.value.code == "not_allowed"
    tuning.switch_on(town["admin"], ws.id)
    db.session.commit()
    assert store.get_matcher().weights.reliability == 0.9
    assert store.get_matcher().weights.distance == 0.0
    hand = db.session.scalars(db.select(WeightSet).where(WeightSet.source == "hand")).one()
    assert hand.status == WeightSetStatus.retired
    tuning.switch_on(town["admin"], hand.id)  # roll back
    db.session.commit()
    assert store.get_matcher().weights == Weights()


def test_the_weekly_cap_refuses_one_more_invitation(app, town):
    app.config["MATCH_WEEKLY_CAP"] = 2
    first, second, third = lamp(town), lamp(town), lamp(town)
    for issue in (first, second):
        invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.commit()
    with pytest.raises(InvitationError) as refused:
        invite(town["leader"], third, [Pick(town["sparky"].id)])
    assert refused.value.code == "weekly_cap"
    assert "电工甲本周已被邀请多次" in refused.value.message
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Invitation.id))) == 2
    # nor is the volunteer suggested any more; the others are
    ids = [s.user_id for s in store.get_matcher().match(issue_query(third)).suggestions]
    assert town["sparky"].id not in ids and town["volty"].id in ids
    # being asked is capped, not helping: the volunteer may still offer, and sees the need
    offer(town["sparky"], third)
    db.session.commit()
    assert store.get_matcher().evaluate_one(issue_query(third), town["sparky"].id) is not None


def test_the_matcher_sees_recent_invitations_at_once(town):
    issue, other = lamp(town), lamp(town)
    q = issue_query(other)
    before = store.get_matcher().evaluate_one(q, town["sparky"].id)
    assert before.features[FEATURES.index("asked_lately")] == 0.0
    invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.commit()
    after = store.get_matcher().evaluate_one(q, town["sparky"].id)
    assert after.features[FEATURES.index("asked_lately")] == pytest.approx(1.0, abs=0.01)
    assert after.score == pytest.approx(
        before.score - Weights().fairness - Weights().load * (1 - 1 / 2), abs=0.01)
    top = store.get_matcher().match(q).suggestions[0]
    assert top.user_id == town["volty"].id  # asked lately: the next one comes first


def test_the_town_office_notices_are_offered_to_the_town_admin_only(client, auth, town):
    auth.login(user=town["leader"])
    assert "learned matcher weights" not in client.get("/inbox/settings").get_data(
        as_text=True)
    auth.logout()
    auth.login(user=town["admin"])
    assert "learned matcher weights" in client.get("/inbox/settings").get_data(as_text=True)


def test_recent_asks_fade_with_time_alone(town, monkeypatch):
    issue, other = lamp(town), lamp(town)
    invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.commit()
    q = issue_query(other)
    assert store.get_matcher().evaluate_one(q, town["sparky"].id).features[
        FEATURES.index("asked_lately")] == pytest.approx(1.0, abs=0.01)
    # two weeks on (the invitation moved back: nothing else changes)
    inv = db.session.scalars(db.select(Invitation)).one()
    db.session.execute(db.update(Invitation).where(Invitation.id == inv.id).values(
        created_at=inv.created_at - timedelta(days=14),
        updated_at=inv.updated_at - timedelta(days=14)))
    db.session.commit()
    monkeypatch.setattr(store, "FADE_SECONDS", 0.0)
    store.get_matcher()  # reads what fades
    faded = store.get_matcher().evaluate_one(q, town["sparky"].id)
    assert faded.features[FEATURES.index("asked_lately")] == pytest.approx(0.25, abs=0.01)
