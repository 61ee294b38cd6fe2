"""The town admin on a phone: the inbox says learned weights are waiting, the weights page shows
them beside the weights in use, and one confirmed tap switches them on; the matcher follows."""
import pytest
from playwright.sync_api import expect

from volunteer.extensions import db
from volunteer.matching import store, tuning
from volunteer.matching.models import WeightSet, WeightSetStatus

from ..test_matching_tuning import _synthetic_log
from .test_issue_browser import login

pytestmark = pytest.mark.e2e


def test_the_town_admin_switches_learned_weights_on_from_the_inbox(
        app, following_matcher, live_server, page, factory, monkeypatch):
    admin = factory.user("admin", name="镇管理员")
    app.config["MATCH_LEARN_MIN_OUTCOMES"] = 100
    monkeypatch.setattr(tuning, "gather", lambda now=None: _synthetic_log())
    candidate = tuning.learn()
    db.session.commit()

    login(page, live_server, admin)
    page.goto(live_server + "/inbox/")
    page.get_by_text("匹配器学习得到的新权重正等待您决定是否启用").click()
    page.wait_for_url(live_server + "/admin/matching/")
    expect(page.get_by_test_id("estimates")).to_contain_text("SNIPS")
    expect(page.get_by_test_id("candidate-weights")).to_contain_text("可靠程度")
    page.once("dialog", lambda dialog: dialog.accept())  # "switch on …?"
    page.get_by_test_id(f"switch-{candidate.id}").click()
    expect(page.get_by_test_id("weights-in-use")).to_contain_text(f"第 {candidate.id} 组")

    db.session.expire_all()
    assert db.session.get(WeightSet, candidate.id).status == WeightSetStatus.active
    assert store.get_matcher().weights.reliability == pytest.approx(
        candidate.weights["reliability"])
