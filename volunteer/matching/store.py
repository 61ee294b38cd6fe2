"""The one Flask accessor: a Matcher per process and database, built lazily, kept current.

The model and index are built on first use (never in ``create_app``), live in
``app.extensions["matching"]`` keyed by the database URL (an index is never shared between
databases), and follow the database: every ``REFRESH_SECONDS`` a cheap query looks for volunteer
profiles changed since the last look. Changes go into a small overlay that is scanned in full,
with their old rows masked out of the big index; a deletion, a changed taxonomy or a large
overlay rebuilds everything. So each gunicorn worker sees a new, moved or paused volunteer within
a few seconds without any message between workers.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import sklearn
import sqlalchemy as sa
from flask import current_app
from sklearn.feature_extraction.text import TfidfVectorizer

from volunteer.auth.models import User
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.invitations.models import Invitation, recent_tasks_clause
from volunteer.matching.index import UNVERIFIED, VERIFIED, VolunteerIndex, VolunteerRecord
from volunteer.matching.inference import CORPUS, SkillModel, TaxonomySkill, load_corpus
from volunteer.matching.matcher import Matcher, Weights
from volunteer.org.models import Grid
from volunteer.skills.models import Skill
from volunteer.volunteers.models import VolunteerProfile, VolunteerSkill

log = logging.getLogger(__name__)
REFRESH_SECONDS = 2.0
OVERLAY_MAX = 5000
_lock = threading.Lock()


@dataclass
class _State:
    matcher: Matcher
    taxonomy_key: str
    base_mark: datetime | None  # newest profile change the base index holds
    base_count: int  # profiles that existed then (eligible or not)
    base_users: np.ndarray  # their user ids, sorted
    checked: float
    seen_mark: datetime | None = None
    seen_count: int = 0


def get_matcher() -> Matcher:
    """The current process's Matcher for this app's database (built or refreshed as needed)."""
    store = current_app.extensions.setdefault("matching", {})
    key = db.engine.url.render_as_string(hide_password=True)
    with _lock:
        state = store.get(key)
        now = time.monotonic()
        if state is None:
            state = store[key] = _build()
        elif now - state.checked >= REFRESH_SECONDS:
            store[key] = state = _refresh(state)
        return state.matcher


def forget() -> None:
    """Drop this app's matchers (tests, or after a bulk change that should show at once)."""
    current_app.extensions.pop("matching", None)


# --- the taxonomy and the model ---------------------------------------------------------------

def _taxonomy() -> tuple[list[int], list[TaxonomySkill], list[bool]]:
    rows = db.session.scalars(db.select(Skill).order_by(Skill.id)).all()
    return ([s.id for s in rows],
            [TaxonomySkill(s.code, s.name_zh, s.name_en,
                           tuple((s.synonyms_zh or []) + (s.synonyms_en or [])),
                           tuple(s.related or ())) for s in rows],
            [bool(s.needs_certificate) for s in rows])


def _taxonomy_key(skills: list[TaxonomySkill]) -> str:
    h = hashlib.sha256(repr(skills).encode())
    h.update(CORPUS.read_bytes() if CORPUS.exists() else b"")
    h.update(sklearn.__version__.encode())
    return h.hexdigest()[:16]


def model_path() -> Path:
    return Path(current_app.instance_path) / "matching-model.pkl"


def train_model(skills: list[TaxonomySkill] | None = None) -> SkillModel:
    """Fit the skill model and save it in the instance folder (``flask matching train``)."""
    if skills is None:
        skills = _taxonomy()[1]
    model = SkillModel(skills, load_corpus())
    path = model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # several workers may train at once
    with tmp.open("wb") as fh:
        pickle.dump({"key": _taxonomy_key(skills), "model": model}, fh)
    tmp.replace(path)
    return model


def _load_model(skills: list[TaxonomySkill]) -> SkillModel:
    """The saved model when it was made from this taxonomy, corpus and scikit-learn; else fit."""
    path = model_path()
    key = _taxonomy_key(skills)
    if path.exists():
        try:
            with path.open("rb") as fh:
                saved = pickle.load(fh)  # only a file this code wrote into the instance folder
            if saved.get("key") == key:
                return saved["model"]
        except Exception:  # a damaged or foreign file: train again
            log.warning("matching model at %s unusable; training again", path)
    return train_model(skills)


# --- volunteers -------------------------------------------------------------------------------

def _records(skill_ids: list[int], needs_cert: list[bool], since: datetime | None = None
             ) -> tuple[list[VolunteerRecord], set[int]]:
    """Eligible volunteers, and the user ids of every profile read (eligible or not);
    with ``since``, only profiles changed since then."""
    P = VolunteerProfile
    q = (sa.select(P.id, P.user_id, P.lat, P.lon, P.travel_km, P.availability, P.monthly_limit,
                   P.home_grid_id, Grid.village_id, P.bio, P.paused, User.deleted_at,
                   User.consent_at, User.active)
         .join(User, P.user_id == User.id).outerjoin(Grid, P.home_grid_id == Grid.id))
    if since is not None:
        q = q.where(P.updated_at >= since)
    rows = db.session.execute(q).all()
    changed = {r.user_id for r in rows}
    eligible = [r for r in rows if not r.paused and r.deleted_at is None
                and r.consent_at is not None and r.active]
    col_of = {sid: i for i, sid in enumerate(skill_ids)}
    skills: dict[int, dict[int, float]] = {}
    free: dict[int, list[str]] = {}
    sq = sa.select(VolunteerSkill.profile_id, VolunteerSkill.skill_id, VolunteerSkill.status,
                   VolunteerSkill.free_text).where(VolunteerSkill.status != "rejected")
    if since is not None:
        sq = sq.where(VolunteerSkill.profile_id.in_([r.id for r in eligible] or [-1]))
    for pid, sid, status, text in db.session.execute(sq):
        if sid is None:
            if text:
                free.setdefault(pid, []).append(text)
            continue
        col = col_of.get(sid)
        if col is None:
            continue
        level = VERIFIED if status == "verified" or not needs_cert[col] else UNVERIFIED
        skills.setdefault(pid, {})[col] = level
    load, history = _load_and_history([r.user_id for r in eligible] if since is not None
                                      else None)
    records = [VolunteerRecord(
        user_id=r.user_id, lat=r.lat, lon=r.lon, travel_km=r.travel_km or 5.0,
        availability=r.availability or 0, monthly_limit=r.monthly_limit or 4,
        grid_id=r.home_grid_id or 0, village_id=r.village_id or 0,
        skills=skills.get(r.id, {}), free_text=" ".join(free.get(r.id, [])),
        load=int(load.get(r.user_id, 0)), **history.get(r.user_id, {})) for r in eligible]
    return records, changed


def _load_and_history(user_ids: list[int] | None):
    """Per volunteer: their recent tasks (``recent_tasks_clause``: the load, and what the monthly
    limit counts), and how they answered invitations so far (for reliability)."""
    now = utcnow()
    inv = Invitation
    where = [inv.volunteer_id.in_(user_ids or [-1])] if user_ids is not None else []
    load = dict(db.session.execute(
        sa.select(inv.volunteer_id, sa.func.count(inv.id))
        .where(*where, recent_tasks_clause(now))
        .group_by(inv.volunteer_id)).tuples().all())
    answered = sa.or_(inv.status.in_(("accepted", "declined", "done", "no_show")),
                      sa.and_(inv.status == "invited", inv.expires_at <= now))
    history = {}
    for uid, invited, accepted, completed in db.session.execute(
            sa.select(inv.volunteer_id,
                      sa.func.count(inv.id).filter(inv.origin == "invite", answered),
                      sa.func.count(inv.id).filter(inv.status.in_(("accepted", "done",
                                                                    "no_show"))),
                      sa.func.count(inv.id).filter(inv.status == "done"))
            .where(*where).group_by(inv.volunteer_id)):
        history[uid] = {"invited": invited, "accepted": accepted, "completed": completed}
    return load, history


def _soft_skills(records: list[VolunteerRecord], skills: list[TaxonomySkill]) -> None:
    """Free-text skills close to a taxonomy skill (same characters) count as that skill, a bit
    less than a real one ("管道疏通" near 水管工)."""
    texts = [(r, r.free_text) for r in records if r.free_text]
    if not texts:
        return
    docs = [" ".join((s.name_zh, s.name_en, *s.synonyms)) for s in skills]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
    skill_m = vec.fit_transform(docs)
    sims = (vec.transform([t for _r, t in texts]) @ skill_m.T).toarray()
    for (r, _t), row in zip(texts, sims, strict=True):
        j = int(np.argmax(row))
        if row[j] >= 0.3 and j not in r.skills:
            r.skills[j] = float(min(0.8, row[j]))


def _weights() -> Weights:
    cfg = current_app.config.get("MATCH_WEIGHTS") or {}
    return Weights(**{k: float(v) for k, v in cfg.items() if hasattr(Weights, k)})


def _watermark():
    return db.session.execute(sa.select(sa.func.max(VolunteerProfile.updated_at),
                                         sa.func.count(VolunteerProfile.id))).one()


def _build() -> _State:
    started = time.perf_counter()
    mark, count = _watermark()
    skill_ids, skills, needs_cert = _taxonomy()
    model = _load_model(skills)
    records, users = _records(skill_ids, needs_cert)
    _soft_skills(records, skills)
    base = VolunteerIndex(records, len(skills))
    log.info("matcher built: %d volunteers in %.1f s", base.n, time.perf_counter() - started)
    return _State(Matcher(model, skills, needs_cert, base, None, _weights()),
                  _taxonomy_key(skills), mark, len(users),
                  np.sort(np.fromiter(users, dtype=np.int64, count=len(users))),
                  time.monotonic(), mark, count)


def _refresh(state: _State) -> _State:
    """Bring the index up to date with profiles changed since it was built."""
    state.checked = time.monotonic()
    mark, count = _watermark()
    skill_ids, skills, needs_cert = _taxonomy()
    if _taxonomy_key(skills) != state.taxonomy_key or state.base_mark is None:
        return _build()
    if mark == state.seen_mark and count == state.seen_count:
        return state
    records, changed = _records(skill_ids, needs_cert, since=state.base_mark)
    if len(changed) > OVERLAY_MAX:
        return _build()
    # Profiles that existed at build time and are gone now (deleted accounts): rebuild.
    unchanged = db.session.scalar(sa.select(sa.func.count(VolunteerProfile.id))
                                  .where(VolunteerProfile.updated_at < state.base_mark))
    changed_old = int(np.isin(np.fromiter(changed, dtype=np.int64, count=len(changed)),
                              state.base_users).sum())
    if unchanged + changed_old < state.base_count:
        return _build()
    base = state.matcher.base
    base.active[:] = True
    for uid in changed:
        row = base.row_of.get(uid)
        if row is not None:
            base.active[row] = False
    _soft_skills(records, skills)
    state.matcher.overlay = VolunteerIndex(records, len(skills), trees=False)
    state.seen_mark, state.seen_count = mark, count
    return state
