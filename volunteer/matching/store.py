"""The one Flask accessor: a Matcher per process and database, built lazily, kept current.

The index is built on first use (never in ``create_app``) from the saved skill model
(``artefact``; never trained here, so no request trains) and the volunteers (``records``). It
lives in ``app.extensions["matching"]`` keyed by the database URL (an index is never shared
between databases), and follows the database: every ``REFRESH_SECONDS`` a cheap query looks for
volunteer profiles changed since the last look. Changes go into a small overlay that is scanned
in full, with their old rows masked out of the big index; a deletion, a changed taxonomy or a
large overlay rebuilds everything. So each gunicorn worker sees a new, moved or paused volunteer
within a few seconds without any message between workers. A new or answered invitation counts as
a change of the volunteer (their load, history and recent asks); what changes with time alone
(tasks older than a month, recent asks fading) is read again every ``FADE_SECONDS``, from the
recent invitations only. The score's weights are the set the town admin switched on
(``tuning``), watched the same way.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from volunteer.common import utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.matching import artefact, records, tuning
from volunteer.matching.index import VolunteerIndex
from volunteer.matching.matcher import Matcher
from volunteer.matching.models import WeightSet
from volunteer.volunteers.models import VolunteerProfile

log = logging.getLogger(__name__)
REFRESH_SECONDS = 2.0
FADE_SECONDS = 600.0
OVERLAY_MAX = 5000
_lock = threading.Lock()


class MatcherUnavailable(DomainError):
    """No skill model has been trained on this installation yet."""

    messages = {"no_model": _l("Suggestions are not available yet: the matcher's model has not "
                               "been trained. The town office runs `flask matching train`.")}
    statuses = {"no_model": 503}


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
    built_at: datetime | None = None  # the wall-clock time of the build (UTC)
    seen_invited: datetime | None = None  # newest invitation change looked at
    weights_id: int | None = None  # the live weight set (None: the configured weights)
    faded: float = 0.0  # monotonic time the fading columns were last read


def get_matcher() -> Matcher:
    """The current process's Matcher for this app's database (built or refreshed as needed);
    ``MatcherUnavailable`` when no model was ever trained."""
    store = current_app.extensions.setdefault("matching", {})
    key = db.engine.url.render_as_string(hide_password=True)
    with _lock:
        state = store.get(key)
        now = time.monotonic()
        if state is None:
            state = store[key] = _build()
        elif now - state.checked >= REFRESH_SECONDS:
            store[key] = state = _refresh(state)
            if now - state.faded >= FADE_SECONDS:
                _fade(state)
        return state.matcher


def forget() -> None:
    """Drop this app's matchers (tests, or after a bulk change that should show at once)."""
    current_app.extensions.pop("matching", None)


def _options() -> dict:
    cfg = current_app.config
    return {"fair_days": int(cfg.get("MATCH_FAIR_DAYS", 28)),
            "half_life_days": float(cfg.get("MATCH_FAIR_HALF_LIFE_DAYS", 7.0))}


def _build() -> _State:
    started = time.perf_counter()
    built_at = utcnow()
    mark, count, invited = records.watermark()
    skill_ids, skills, needs_cert = records.taxonomy()
    model = artefact.load(skills)
    if model is None:
        raise MatcherUnavailable("no_model")
    found, users = records.read(skill_ids, needs_cert, **_options())
    records.soft_skills(found, skills)
    base = VolunteerIndex(found, len(skills))
    log.info("matcher built: %d volunteers in %.1f s", base.n, time.perf_counter() - started)
    in_use = tuning.active()  # read once: the weights and the id watched agree
    matcher = Matcher(model, skills, needs_cert, base, None, tuning.weights_of(in_use),
                      weekly_cap=int(current_app.config.get("MATCH_WEEKLY_CAP", 0)))
    return _State(matcher, artefact.key(skills), mark, len(users),
                  np.sort(np.fromiter(users, dtype=np.int64, count=len(users))),
                  time.monotonic(), mark, count, built_at, invited,
                  in_use.id if in_use else None, time.monotonic())


def _refresh(state: _State) -> _State:
    """Bring the index up to date with profiles changed since it was built."""
    state.checked = time.monotonic()
    mark, count, invited = records.watermark()
    weights_id = tuning.active_id()
    if weights_id != state.weights_id:  # the admin switched a set on: load that very set
        in_use = db.session.get(WeightSet, weights_id) if weights_id else None
        state.matcher.weights = tuning.weights_of(in_use)
        state.weights_id = weights_id
    skill_ids, skills, needs_cert = records.taxonomy()
    if artefact.key(skills) != state.taxonomy_key or state.base_mark is None:
        return _build()
    if mark == state.seen_mark and count == state.seen_count and invited == state.seen_invited:
        return state
    found, changed = records.read(skill_ids, needs_cert, since=state.base_mark,
                                  invited_since=state.built_at, **_options())
    if len(changed) > OVERLAY_MAX:
        return _build()
    # Profiles that existed at build time and are gone now (deleted accounts): rebuild.
    unchanged = db.session.scalar(sa.select(sa.func.count(VolunteerProfile.id))
                                  .where(VolunteerProfile.updated_at < state.base_mark))
    moved = db.session.scalars(sa.select(VolunteerProfile.user_id)
                               .where(VolunteerProfile.updated_at >= state.base_mark)).all()
    changed_old = int(np.isin(np.asarray(moved, dtype=np.int64), state.base_users).sum())
    if unchanged + changed_old < state.base_count:
        return _build()
    base = state.matcher.base
    base.active[:] = True
    for uid in changed:
        row = base.row_of.get(uid)
        if row is not None:
            base.active[row] = False
    records.soft_skills(found, skills)
    state.matcher.overlay = VolunteerIndex(found, len(skills), trees=False)
    state.seen_mark, state.seen_count, state.seen_invited = mark, count, invited
    return state


def _fade(state: _State) -> None:
    """Read again what changes with time alone (``records.fading``) into the big index: the
    overlay holds its volunteers' own, fresh from their last change."""
    state.faded = time.monotonic()
    load, asks = records.fading(**_options())
    base = state.matcher.base
    base.load[:] = 0
    base.asked_lately[:] = 0
    base.week[:] = 0
    for uid, n in load.items():
        row = base.row_of.get(uid)
        if row is not None:
            base.load[row] = n
    for uid, (lately, week) in asks.items():
        row = base.row_of.get(uid)
        if row is not None:
            base.asked_lately[row], base.week[row] = lately, week
    state.seen_invited = None  # the overlay's volunteers are read again at the next refresh
