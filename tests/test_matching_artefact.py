"""The skill model as a file: no request trains it; a stale model keeps serving until trained
again (by `matching train`, `setup` or `tick`); the corpus export for review."""
from __future__ import annotations

import json
import logging
import pickle

import pytest

from volunteer.auth.services import create_token
from volunteer.extensions import db
from volunteer.issues.services import IssueInput, file_issue
from volunteer.matching import artefact, records, store
from volunteer.matching.inference import SkillModel, load_corpus
from volunteer.matching.matcher import Query


@pytest.fixture
def model_file(app, monkeypatch, tmp_path):
    """This test's own model file (empty at first)."""
    path = tmp_path / "matching-model.pkl"
    monkeypatch.setattr(artefact, "model_path", lambda: path)
    small = load_corpus()[:150]  # training is what is tested here, not the model's quality
    monkeypatch.setattr(artefact, "load_corpus", lambda: small)
    monkeypatch.setattr(store, "REFRESH_SECONDS", 0.0)
    store.forget()
    yield path
    store.forget()


def test_no_request_trains_the_model(app, client, factory, model_file, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("trained inside a request")

    monkeypatch.setattr(artefact, "train", never)
    monkeypatch.setattr(SkillModel, "__init__", never)
    admin = factory.user("admin")
    token = create_token(admin, "t")
    db.session.commit()
    resp = client.post("/api/v1/match", json={"text": "路灯不亮", "lat": 30.757, "lon": 121.353},
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 503 and resp.json["error"] == "no_model"
    assert not model_file.exists()


def test_setup_and_train_make_the_model(app, runner, model_file):
    assert runner.invoke(args=["setup"]).exit_code == 0
    assert artefact.is_current(records.taxonomy()[1])
    model_file.unlink()
    result = runner.invoke(args=["matching", "train"])
    assert result.exit_code == 0 and model_file.exists()


def test_a_stale_model_serves_until_tick_trains_it_again(app, runner, model_file, caplog):
    app.config["MATCH_TRAIN_ON_TICK"] = True
    skills = records.taxonomy()[1]
    artefact.train(skills)
    saved = pickle.loads(model_file.read_bytes())
    # A model made before the taxonomy changed: one skill fewer, in another order.
    old = SkillModel(list(reversed(skills[1:])), [])
    model_file.write_bytes(pickle.dumps({"key": "older", "model": old}))
    with caplog.at_level(logging.WARNING):
        matcher = store.get_matcher()
    assert "another taxonomy" in caplog.text
    probs = matcher.probabilities("水管漏水")
    assert probs[0] == 0.0  # the skill the old model did not know
    by_model = dict(zip([s.code for s in old.skills], old.probabilities("水管漏水"), strict=True))
    assert probs[1] == pytest.approx(by_model[skills[1].code])
    assert matcher.match(Query(lat=30.757, lon=121.353, text="水管漏水")).skills is not None
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0 and "trained again" in result.output
    assert artefact.is_current(skills)
    assert saved["key"] == artefact.key(skills)


def test_corpus_export_writes_staff_chosen_skills_for_review(app, runner, factory, tmp_path):
    grid = factory.grid()
    leader = factory.user("grid_leader", grid)
    issue = file_issue(leader, IssueInput(title="楼道灯坏了", description="住户13912345678反映",
                                          category="facilities", lat=30.757, lon=121.353,
                                          grid_code=grid.code))
    issue.skill_codes = ["electrician", "no_such_skill"]
    file_issue(leader, IssueInput(title="不选技能", description="x", category="facilities",
                                  lat=30.757, lon=121.353, grid_code=grid.code))
    db.session.commit()
    out = tmp_path / "corpus.jsonl"
    result = runner.invoke(args=["matching", "corpus-export", "-o", str(out)])
    assert result.exit_code == 0
    (line,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert line["skills"] == ["electrician"] and line["issue"] == issue.id
    assert "13912345678" not in line["text"] and "楼道灯坏了" in line["text"]


def test_without_a_model_the_pages_work_without_suggestions(app, client, auth, factory,
                                                            model_file):
    grid = factory.grid()
    leader = factory.user("grid_leader", grid)
    issue = file_issue(leader, IssueInput(title="路灯不亮", description="绿地路灯不亮",
                                          category="facilities", lat=30.757, lon=121.353,
                                          grid_code=grid.code))
    db.session.commit()
    auth.login(user=leader)
    resp = client.get(f"/issues/{issue.id}")
    assert resp.status_code == 200 and 'data-testid="invite-one"' not in resp.get_data(
        as_text=True)
    vol = factory.volunteer("电工", ["electrician"], grid=grid)
    auth.login(user=vol)
    assert client.get("/tasks/near").status_code == 200
    assert not model_file.exists()
