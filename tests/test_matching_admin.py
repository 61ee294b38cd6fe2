"""The town admin's matcher-weights page: who reaches it, what it shows of a learned candidate,
switching it on, rolling back, and refusals that change nothing."""
import re

import pytest
import sqlalchemy as sa

from volunteer.extensions import db
from volunteer.matching import store, tuning
from volunteer.matching.matcher import TERMS
from volunteer.matching.models import WeightSet

from .conftest import PASSWORD

PAGE = "/admin/matching/"
SWITCH = "/admin/matching/switch"
LEARNED = {"skill": 1.2, "distance": 0.3, "distance_urgent": 0.1, "availability": 0.15,
           "local": 0.02, "load": 0.12, "load_reliability": 0.04, "reliability": 0.07}


def _estimate(value, low, high):
    return {"value": value, "low": low, "high": high}


def candidate(difference=(0.038, 0.012, 0.064), current_id=None, status="candidate"):
    """A learned set as ``tuning.learn`` records it, written directly."""
    current = {t: getattr(tuning.hand_weights(), t) for t in TERMS}
    diff = _estimate(*difference)
    ws = WeightSet(source="learned", status=status, weights=dict(LEARNED), report={
        "comparison": {"slates": 123, "outcomes": 456,
                       "current": {"snips": _estimate(0.412, 0.38, 0.45),
                                   "dr": _estimate(0.405, 0.377, 0.433)},
                       "learned": {"snips": _estimate(0.45, 0.41, 0.49),
                                   "dr": _estimate(0.441, 0.405, 0.476)},
                       "difference": {"snips": diff, "dr": diff}},
        "summary": {"pairs": 789, "coefficients": {t: 2.5 * v for t, v in LEARNED.items()},
                    "train_slates": 287, "train_outcomes": 1064, "eta": 0.734,
                    "position_source": "swaps", "swaps": 52, "pi": [0.5, 0.3, 0.2]},
        "current": current, "current_id": current_id, "top": 5, "logged_slates": 410,
        "outcomes": 1520})
    db.session.add(ws)
    db.session.commit()
    return ws


def statuses():
    return dict(db.session.execute(sa.select(WeightSet.id, WeightSet.status)).all())


# -- who reaches it ----------------------------------------------------------------------------

def test_visitors_are_sent_to_log_in(client):
    ws = candidate()
    for resp in (client.get(PAGE), client.post(SWITCH, data={"id": str(ws.id)})):
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert statuses() == {ws.id: "candidate"}


@pytest.mark.parametrize("role", ["grid_leader", "village_admin", "volunteer"])
def test_other_roles_are_refused(client, auth, role):
    ws = candidate()
    auth.login(role)
    assert client.get(PAGE).status_code == 403
    assert client.post(SWITCH, data={"id": str(ws.id)}).status_code == 403
    assert statuses() == {ws.id: "candidate"}


# -- what it shows -----------------------------------------------------------------------------

def test_without_a_log_there_is_nothing_to_switch_on(client, auth, english, app):
    auth.login("admin")
    page = client.get(PAGE).get_data(as_text=True)
    need = app.config["MATCH_LEARN_MIN_OUTCOMES"]
    assert f"Too few answered invitations to learn from yet: 0 of the {need} needed." in page
    assert "flask --app wsgi matching learn" in page
    assert "set by hand in the configuration" in page
    assert 'name="id"' not in page and "Switch on" not in page


def test_a_candidate_is_shown_beside_the_weights_in_use(client, auth, english):
    ws = candidate()
    auth.login("admin")
    page = client.get(PAGE).get_data(as_text=True)
    assert f'data-testid="switch-{ws.id}"' in page and "Switch on" in page
    assert f'name="id" value="{ws.id}"' in page
    for text in ("SNIPS", "Doubly robust", "0.412", "[0.380, 0.450]", "0.450", "+0.038",
                 "[+0.012, +0.064]", "Judged on 123 later lists with 456 answered invitations",
                 "287 lists with 1064 answered invitations (789 pairs", "η = 0.734",
                 "52 lists in which two neighbours were swapped", "Nearness when urgent",
                 "1.200", "3.000"):  # learned skill weight, its raw coefficient
        assert text in page, text
    assert "cannot tell the two sets of weights apart" not in page
    assert "against other weights than those in use now" not in page
    assert "No earlier weights yet" in page


def test_an_undecided_or_stale_comparison_is_flagged_but_still_switchable(client, auth, english):
    other = WeightSet(source="learned", status="retired", weights=dict(LEARNED))
    db.session.add(other)
    db.session.commit()
    ws = candidate(difference=(0.01, -0.02, 0.04), current_id=other.id)
    auth.login("admin")
    page = client.get(PAGE).get_data(as_text=True)
    assert "cannot tell the two sets of weights apart" in page
    assert "against other weights than those in use now" in page
    assert f'data-testid="switch-{ws.id}"' in page


def test_the_admin_home_links_to_the_page(client, auth, english):
    auth.login("admin")
    home = client.get("/admin/").get_data(as_text=True)
    assert 'data-testid="matching-link"' in home and 'data-testid="weights-waiting"' not in home
    candidate()
    assert 'data-testid="weights-waiting"' in client.get("/admin/").get_data(as_text=True)


def test_the_page_renders_in_chinese(client, auth):
    ws = candidate(difference=(0.0, -0.01, 0.01))
    admin = auth.login("admin")
    client.post(SWITCH, data={"id": str(ws.id)})
    candidate()
    page = client.get(PAGE).get_data(as_text=True)
    assert "SNIPS" in page and admin.name in page


# -- switching on and rolling back -------------------------------------------------------------

def test_switch_on_then_roll_back(client, auth, english, following_matcher):
    hand = tuning.hand_weights()
    assert store.get_matcher().weights == hand
    ws = candidate()
    admin = auth.login("admin")
    resp = client.post(SWITCH, data={"id": str(ws.id)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(PAGE)
    page = client.get(PAGE).get_data(as_text=True)
    assert f"The weights of set #{ws.id} are in use now" in page

    db.session.refresh(ws)
    assert ws.status == "active" and ws.activated_by_id == admin.id and ws.activated_at
    kept = db.session.scalar(sa.select(WeightSet).where(WeightSet.source == "hand"))
    assert kept.status == "retired" and kept.weights == {t: getattr(hand, t) for t in TERMS}
    live = tuning.live_weights()
    assert {t: getattr(live, t) for t in TERMS} == LEARNED
    assert store.get_matcher().weights == live  # the matcher follows
    assert f"Set #{ws.id} (Learned from outcomes), switched on by {admin.name}" in page
    assert f'data-testid="history-{kept.id}"' in page and "Roll back to this" in page

    resp = client.post(SWITCH, data={"id": str(kept.id)})
    assert resp.status_code == 302
    assert statuses() == {ws.id: "retired", kept.id: "active"}
    assert tuning.live_weights() == hand
    assert store.get_matcher().weights == hand
    page = client.get(PAGE).get_data(as_text=True)
    assert f"The weights of set #{kept.id} are in use now" in page
    assert f'data-testid="history-{ws.id}"' in page


@pytest.mark.parametrize("which", ["missing", "active", "superseded"])
def test_a_refused_switch_changes_nothing(client, auth, english, which):
    ws = candidate()
    auth.login("admin")
    client.post(SWITCH, data={"id": str(ws.id)})
    old = candidate(status="superseded")
    target = {"missing": 99999, "active": ws.id, "superseded": old.id}[which]
    before = statuses()
    resp = client.post(SWITCH, data={"id": str(target)})
    assert resp.status_code == 302
    assert statuses() == before
    page = client.get(PAGE).get_data(as_text=True)
    message = "There is no such set of weights." if which == "missing" else \
        "This set of weights cannot be switched on"
    assert message in page


@pytest.mark.parametrize("bad", ["x", "", "-1", "²", "1.5"])
def test_a_malformed_id_is_a_bad_request(client, auth, bad):
    ws = candidate()
    auth.login("admin")
    assert client.post(SWITCH, data={"id": bad}).status_code == 400
    assert client.post(SWITCH, data={}).status_code == 400
    assert statuses() == {ws.id: "candidate"}


def test_switching_needs_the_csrf_token(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    admin = factory.user("admin")
    ws = candidate()

    def token(path):
        page = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    client.post("/auth/login", data={"login": admin.phone, "password": PASSWORD,
                                     "csrf_token": token("/auth/login")})
    assert client.post(SWITCH, data={"id": str(ws.id)}).status_code == 400
    assert statuses() == {ws.id: "candidate"}
    resp = client.post(SWITCH, data={"id": str(ws.id), "csrf_token": token(PAGE)})
    assert resp.status_code == 302
    assert statuses()[ws.id] == "active"
    assert {t: getattr(tuning.live_weights(), t) for t in TERMS} == LEARNED
