"""The matcher's pure core, without Flask: the hand-written probabilities equal the classifiers'
``predict_proba``, the k-d trees find the nearest by great-circle distance, skill levels read
from the sparse arrays equal the sparse matrix, and a match equals scoring everyone."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from volunteer.geo import haversine_km
from volunteer.matching.index import UNVERIFIED, VERIFIED, VolunteerIndex
from volunteer.matching.inference import (
    CACHE_TEXTS,
    SkillModel,
    TaxonomySkill,
    load_corpus,
    normalize,
)
from volunteer.matching.matcher import Matcher, Query

DATA = Path(__file__).resolve().parents[1] / "volunteer" / "data" / "skills.json"
TEXTS = ["小区绿地的路灯晚上全部不亮", "独居老人家里水管漏水", "孩子放学后没人辅导作业",
         "邻居装修噪音纠纷", "老人血压偏高，想请医生上门看看", "The elderly man needs a lift"]


@pytest.fixture(scope="module")
def taxonomy():
    data = json.loads(DATA.read_text(encoding="utf-8"))
    skills = [TaxonomySkill(s["code"], s["zh"], s["en"],
                            tuple(s.get("synonyms_zh", []) + s.get("synonyms_en", [])),
                            tuple(s.get("related", []))) for s in data["skills"]]
    return skills, [bool(s["needs_certificate"]) for s in data["skills"]]


@pytest.fixture(scope="module")
def model(taxonomy):
    return SkillModel(taxonomy[0], load_corpus())


def test_probabilities_equal_the_classifiers_predict_proba(model):
    texts = [normalize(t) for t, _ in load_corpus()[:300]] + ["zzzz qqq", "路灯"]
    literal, model._literal = model._literal, []  # the literal lift is ours, not sklearn's
    try:
        ours = np.vstack([model._probabilities(t) for t in texts])
    finally:
        model._literal = literal
    theirs = np.zeros_like(ours)
    theirs[:, model._cols] = model.classifier.predict_proba(model.vectorizer.transform(texts))
    assert np.allclose(ours, theirs, atol=1e-9)


def test_the_last_texts_are_cached_and_the_cache_stays_small(model):
    first = model.probabilities("路灯不亮了")
    assert model.probabilities(" 路灯不亮了 ") is first  # the same normalised text
    assert not first.flags.writeable
    for n in range(CACHE_TEXTS + 10):
        model.probabilities(f"text {n}")
    assert len(model._cache) == CACHE_TEXTS


def test_a_pickled_model_works_again(model):
    import pickle

    again = pickle.loads(pickle.dumps(model))
    assert np.array_equal(again.probabilities("水管漏水"), model.probabilities("水管漏水"))


def town(n_skills, n=3000, seed=3):
    rng = np.random.default_rng(seed)
    lat = 30.757 + rng.normal(0, 0.05, n)
    lon = 121.353 + rng.normal(0, 0.05, n)
    k = rng.integers(1, 4, n)
    rows = np.repeat(np.arange(n), k)
    cols = rng.integers(0, n_skills, len(rows))
    levels = np.where(rng.random(len(rows)) < 0.3, UNVERIFIED, VERIFIED).astype(np.float32)
    matrix = sparse.csr_matrix((levels, (rows, cols)), shape=(n, n_skills))
    return VolunteerIndex.from_arrays(
        n_skills, matrix, user_id=np.arange(1, n + 1, dtype=np.int64), lat=lat, lon=lon,
        travel_km=rng.choice([2.0, 5.0, 8.0], n).astype(np.float32),
        availability=rng.integers(0, 64, n).astype(np.uint8),
        load=rng.integers(0, 3, n).astype(np.int16))


def test_the_trees_find_the_nearest_by_great_circle_distance(taxonomy):
    ix = town(len(taxonomy[0]))
    for lat, lon in [(30.757, 121.353), (30.70, 121.40), (30.9, 121.2)]:
        found = ix.candidates(lat, lon, [], 0, 25)
        nearest = np.argsort(haversine_km(lat, lon, ix.lat, ix.lon))[:25]
        assert set(found) == set(nearest)
        j = 7
        holders = ix.skill_rows[j]
        found = ix.candidates(lat, lon, [j], 10, 0)
        best = holders[np.argsort(haversine_km(lat, lon, ix.lat[holders], ix.lon[holders]))[:10]]
        assert set(found) == set(best)


def test_levels_equal_the_sparse_matrix(taxonomy):
    ix = town(len(taxonomy[0]))
    rows = np.array([0, 5, 5, 17, 2999, 1200])
    cols = [3, 0, 11, 54, 20]
    assert np.array_equal(ix.levels(rows, cols), ix.skills[rows][:, cols].toarray())
    assert ix.levels(np.array([], dtype=np.int64), cols).shape == (0, 5)


@pytest.mark.parametrize("text", TEXTS)
def test_a_match_equals_scoring_everyone(model, taxonomy, text):
    skills, needs = taxonomy
    matcher = Matcher(model, skills, needs, town(len(skills), n=5000, seed=11))
    for lat, lon in [(30.757, 121.353), (30.80, 121.30)]:
        q = Query(lat=lat, lon=lon, text=text, limit=10, helpers_needed=3)
        fast, slow = matcher.match(q), matcher.brute_force(q)
        assert [s.user_id for s in fast.suggestions] == [s.user_id for s in slow.suggestions]
        assert [s.reasons for s in fast.suggestions] == [s.reasons for s in slow.suggestions]
        assert fast.team == slow.team


def _people(model, taxonomy, people):
    """A matcher over a few people: (skill code, level, km north) each."""
    skills, needs = taxonomy
    col = {s.code: i for i, s in enumerate(skills)}
    n = len(people)
    rows = list(range(n))
    cols = [col[code] for code, _lvl, _km in people]
    lvls = [lvl for _c, lvl, _km in people]
    matrix = sparse.csr_matrix((np.asarray(lvls, dtype=np.float32), (rows, cols)),
                               shape=(n, len(skills)))
    ix = VolunteerIndex.from_arrays(
        len(skills), matrix, user_id=np.arange(1, n + 1, dtype=np.int64),
        lat=np.asarray([30.757 + km / 110.574 for _c, _l, km in people]),
        lon=np.full(n, 121.353), travel_km=np.full(n, 10.0, dtype=np.float32))
    return Matcher(model, skills, needs, ix)


def test_the_skill_that_matters_most_comes_first_verification_orders_its_holders(model,
                                                                                 taxonomy):
    # Needs: mostly a nurse, less a social worker (the grades of four people, from their
    # levels in those two skills).
    m = _people(model, taxonomy, [("social_worker", VERIFIED, 0.1),  # 1: secondary, verified
                                  ("nurse", UNVERIFIED, 2.0),  # 2: main skill, unverified
                                  ("nurse", VERIFIED, 4.0),  # 3: main skill, verified, far
                                  ("cook", VERIFIED, 0.0)])  # 4: nothing relevant, nearest
    q = Query(lat=30.757, lon=121.353, text="")
    probs = np.asarray([0.9, 0.6], dtype=np.float32)  # nurse, social worker
    levels = np.asarray([[0, 1.0], [UNVERIFIED, 0], [1.0, 0], [0, 0]], dtype=np.float32)
    grade, _named = m._grades(levels, levels * probs, probs)
    # Verified nurse > unverified nurse (the same skill: verification orders them) >
    # verified social worker (a secondary skill) > the cook (without it).
    assert grade[2] > grade[1] > grade[0] > grade[3] == 0
    # Equally needed skills (within GROUP_RATIO) are one group: verification decides there.
    probs = np.asarray([0.9, 0.85], dtype=np.float32)
    grade, _named = m._grades(levels, levels * probs, probs)
    assert grade[2] == grade[0] > grade[1] > grade[3]
    # And through a whole match with chosen skills (one group): verified holders first.
    ranked = [s.user_id for s in m.match(Query(lat=q.lat, lon=q.lon,
                                               skills=["nurse"])).suggestions]
    assert ranked.index(3) < ranked.index(2) < ranked.index(4)
