"""The one Flask accessor: a Matcher per process and database, built lazily, kept current.

The index is built on first use (never in ``create_app``) from the saved skill model
(``artefact``; never trained here, so no request trains) and the volunteers (``records``). It
lives in ``app.extensions["matching"]`` keyed by the database URL (an index is never shared
between databases), and follows the database: every ``REFRESH_SECONDS`` a cheap query looks for
volunteer profiles changed since the last look. Changes go into a small overlay that is scanned
in full, with their old rows masked out of the big index; each look reads only what changed
since the one before and merges it in. A changed taxonomy or an overlay grown past
``OVERLAY_MAX`` rebuilds everything, from the snapshot ``tick`` keeps recent when there is
one. So each gunicorn worker sees a new, moved or paused volunteer within a few seconds
without any message between workers. A new or answered invitation counts as
a change of the volunteer (their load, history and recent asks); what changes with time alone
(tasks older than a month, recent asks fading) is read again every ``FADE_SECONDS``, from the
recent invitations only. The score's weights are the set the town admin switched on
(``tuning``), watched the same way.
"""
from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from volunteer.common import utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.matching import artefact, records, snapshot, tuning
from volunteer.matching.index import VolunteerIndex
from volunteer.matching.matcher import Matcher
from volunteer.matching.models import WeightSet
from volunteer.volunteers.models import VolunteerProfile

log = logging.getLogger(__name__)
REFRESH_SECONDS = 2.0
FADE_SECONDS = 600.0
OVERLAY_MAX = 5000
#: A refresh reads again what changed in this many seconds before its last read: a change
#: whose transaction committed late (its time stamped before that read) is not missed.
READ_OVERLAP = 60.0
AUDIT_SECONDS = 600.0
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
    built_at: datetime | None = None  # the wall-clock time of the build (UTC)
    # The watermark last looked at (newest profile change, invitation change, deletion);
    # None: look at the database at the next refresh.
    seen: tuple | None = None
    weights_id: int | None = None  # the live weight set (None: the configured weights)
    faded: float = 0.0  # monotonic time the fading columns were last read
    audited: float = 0.0  # monotonic time no profile was found gone unseen
    # The overlay's volunteers by user id, and when (UTC) they were last read: the next
    # refresh reads only what changed since then (less ``READ_OVERLAP``) and merges it in.
    # None: read everything changed since the build.
    overlay: dict = field(default_factory=dict)
    read_at: datetime | None = None


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


def warm_before_fork(app) -> bool:
    """Read the matcher in a server's parent process, before it forks its workers (gunicorn
    ``--preload``, ``gunicorn.conf.py``): each worker, and each restarted one, starts with it
    (its arrays shared copy-on-write) and its first match only catches up with what changed
    since. The parent's database connections are closed, never handed to a child. Whether it
    was read (no model yet, or no database: the workers build it on first use, as before)."""
    with app.app_context():
        try:
            get_matcher()
            return True
        except Exception as exc:  # a head start only: the server starts anyway
            log.warning("matcher not read before the workers start: %s", exc)
            return False
        finally:
            db.session.remove()
            db.engine.dispose()


def write_snapshot() -> int:
    """Build from the database now and write the snapshot the web workers map (the command
    line's ``matching snapshot``); the volunteers in it."""
    skill_ids, skills, needs_cert = records.taxonomy()
    model = artefact.load(skills)
    if model is None:
        raise MatcherUnavailable("no_model")
    key = _db_key()
    with snapshot.build_lock(key):
        state = _write_snapshot(key, _from_database(model, skill_ids, skills, needs_cert,
                                                    artefact.key(skills)))
    return state.matcher.base.n


def refresh_snapshot() -> int | None:
    """Write the snapshot anew when it has fallen behind the database by more than half of
    ``OVERLAY_MAX`` volunteers (``tick``): a worker whose overlay outgrows ``OVERLAY_MAX``
    then maps the newer one in a second or two, instead of reading the whole registry from
    the database in the middle of a request. The volunteers written, or None when the
    snapshot is recent enough, or there is none to keep up (``MATCH_SNAPSHOT`` off, or not
    written yet: the service writes it as it starts)."""
    if not current_app.config.get("MATCH_SNAPSHOT", True):
        return None
    meta = snapshot.current_meta(_db_key())
    if meta is None:
        return None
    since = _from_iso(meta.get("base_mark"))
    behind = records.profile_count() if since is None else \
        records.changed_count(since, _from_iso(meta.get("built_at")))
    if behind <= OVERLAY_MAX // 2:
        return None
    try:
        return write_snapshot()
    except MatcherUnavailable:  # no model for this taxonomy yet: the workers wait for it too
        return None


def forget() -> None:
    """Drop this app's matchers (tests, or after a bulk change that should show at once)."""
    current_app.extensions.pop("matching", None)


def _options() -> dict:
    cfg = current_app.config
    return {"fair_days": int(cfg.get("MATCH_FAIR_DAYS", 28)),
            "half_life_days": float(cfg.get("MATCH_FAIR_HALF_LIFE_DAYS", 7.0))}


def _db_key() -> str:
    return db.engine.url.render_as_string(hide_password=True)


def _build(stale: _State | None = None) -> _State:
    """A new index: from the installation's snapshot when there is a usable one (newer than
    ``stale``, the state being replaced), else from the database, which then writes the
    snapshot for the other processes (one at a time: the others wait, then map it)."""
    skill_ids, skills, needs_cert = records.taxonomy()
    model = artefact.load(skills)
    if model is None:
        raise MatcherUnavailable("no_model")
    taxonomy_key = artefact.key(skills)
    if not current_app.config.get("MATCH_SNAPSHOT", True):
        return _from_database(model, skill_ids, skills, needs_cert, taxonomy_key)
    key = _db_key()
    state = _from_snapshot(model, skills, needs_cert, taxonomy_key, stale)
    if state is not None:
        return _caught_up(state)
    with snapshot.build_lock(key):
        state = _from_snapshot(model, skills, needs_cert, taxonomy_key, stale)
        if state is None:
            state = _write_snapshot(key, _from_database(model, skill_ids, skills, needs_cert,
                                                        taxonomy_key))
            return state
    return _caught_up(state)  # another process built it while this one waited


def _write_snapshot(key: str, state: _State) -> _State:
    try:
        snapshot.write(key, state.matcher.base, {
            "taxonomy_key": state.taxonomy_key, "base_count": state.base_count,
            "base_mark": _iso(state.base_mark), "built_at": _iso(state.built_at)},
            state.base_users)
    except OSError as exc:  # a read-only or full disk: serve anyway, unshared
        log.warning("matcher snapshot not written: %s", exc)
    return state


def _caught_up(state: _State) -> _State:
    """A state mapped from a snapshot, brought up to date with the database: the profiles
    and invitations changed since (or a rebuild, when too much changed), and the columns that
    change with time alone."""
    state = _refresh(state)
    if state.faded == 0.0:
        _fade(state)
    return state


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _matcher(model, skills, needs_cert, base: VolunteerIndex):
    in_use = tuning.active()  # read once: the weights and the id watched agree
    matcher = Matcher(model, skills, needs_cert, base, None, tuning.weights_of(in_use),
                      weekly_cap=int(current_app.config.get("MATCH_WEEKLY_CAP", 0)))
    return matcher, (in_use.id if in_use else None)


def _from_database(model, skill_ids, skills, needs_cert, taxonomy_key: str) -> _State:
    started = time.perf_counter()
    built_at = utcnow()
    seen = records.watermark()
    found, users = records.read(skill_ids, needs_cert, **_options())
    records.soft_skills(found, skills)
    base = VolunteerIndex(found, len(skills))
    log.info("matcher built: %d volunteers in %.1f s", base.n, time.perf_counter() - started)
    matcher, weights_id = _matcher(model, skills, needs_cert, base)
    now = time.monotonic()
    return _State(matcher, taxonomy_key, seen[0], len(users),
                  np.sort(np.fromiter(users, dtype=np.int64, count=len(users))), now,
                  built_at, seen, weights_id, faded=now, audited=now)


def _from_snapshot(model, skills, needs_cert, taxonomy_key: str,
                   stale: _State | None) -> _State | None:
    """The snapshot's index as a state to catch up (``_caught_up``); None when there is none
    for this taxonomy, or it is no newer than ``stale``."""
    started = time.perf_counter()
    found = snapshot.read(_db_key(), taxonomy_key)
    if found is None:
        return None
    base, meta, base_users = found
    built_at = _from_iso(meta["built_at"])
    if stale is not None and (built_at is None or stale.built_at is None
                              or built_at <= stale.built_at):
        return None
    matcher, weights_id = _matcher(model, skills, needs_cert, base)
    mark = _from_iso(meta["base_mark"])
    state = _State(matcher, taxonomy_key, mark, int(meta["base_count"]), base_users, 0.0,
                   built_at, None, weights_id)  # audited long ago: audit at once
    log.info("matcher mapped from its snapshot: %d volunteers in %.1f s", base.n,
             time.perf_counter() - started)
    return state


def _refresh(state: _State) -> _State:
    """Bring the index up to date with profiles changed since it was built. Every look costs
    three index look-ups; only a change reads more (through indexes too), and an audit that
    no profile vanished unseen counts them every ``AUDIT_SECONDS``."""
    now = time.monotonic()
    state.checked = now
    mark, invited, deleted = records.watermark()
    weights_id = tuning.active_id()
    if weights_id != state.weights_id:  # the admin switched a set on: load that very set
        in_use = db.session.get(WeightSet, weights_id) if weights_id else None
        state.matcher = _swapped(state.matcher, weights=tuning.weights_of(in_use))
        state.weights_id = weights_id
    skill_ids, skills, needs_cert = records.taxonomy()
    if artefact.key(skills) != state.taxonomy_key or state.base_mark is None:
        return _build(state)
    audit = now - state.audited >= AUDIT_SECONDS
    if (mark, invited, deleted) == state.seen and not audit:
        return state
    if audit:
        state.audited = now
        if _vanished(state):
            return _build(state)
    if (mark, invited, deleted) == state.seen:
        return state
    return _read_changes(state, skill_ids, skills, needs_cert, (mark, invited, deleted))


def _read_changes(state: _State, skill_ids, skills, needs_cert, seen: tuple) -> _State:
    """Merge the volunteers changed since the last read into the overlay, and mask their old
    rows in the big index; the first read after a build (or a fade) reads all changed since
    the build. Too many changes: a rebuild (a newer snapshot, else the database)."""
    read_at = utcnow()
    if state.read_at is None:
        if records.changed_count(state.base_mark, state.built_at) > OVERLAY_MAX:
            return _build(state)
        since, invited_since, overlay = state.base_mark, state.built_at, {}
        active = np.ones(state.matcher.base.n, dtype=bool)
    else:
        back = state.read_at - timedelta(seconds=READ_OVERLAP)
        since, overlay = max(state.base_mark, back), dict(state.overlay)
        invited_since = back if state.built_at is None else max(state.built_at, back)
        active = state.matcher.base.active.copy()
    found, changed = records.read(skill_ids, needs_cert, since=since,
                                  invited_since=invited_since, **_options())
    if state.built_at is not None:  # deleted accounts: their profiles are gone
        changed |= set(records.deleted_since(state.built_at))
    base = state.matcher.base
    for uid in changed:
        overlay.pop(uid, None)
        row = base.row_of.get(uid)
        if row is not None:
            active[row] = False
    records.soft_skills(found, skills)
    overlay.update((r.user_id, r) for r in found)
    if len(overlay) > OVERLAY_MAX:  # scanned in full at every match
        return _build(state)
    state.matcher = _swapped(state.matcher, VolunteerIndex(list(overlay.values()), len(skills),
                                                           trees=False), active=active)
    state.overlay, state.read_at, state.seen = overlay, read_at, seen
    return state


_KEEP = object()


def _swapped(matcher: Matcher, overlay=_KEEP, weights=None, **columns: np.ndarray) -> Matcher:
    """A copy of ``matcher`` with a new overlay, weights or base columns; the big parts (the
    trees, the skill matrix, the other columns) are shared. A request running in another
    thread keeps the matcher it holds, whole: nothing it reads changes under it."""
    new = copy.copy(matcher)
    if columns:
        new.base = copy.copy(matcher.base)
        for name, value in columns.items():
            setattr(new.base, name, value)
    if overlay is not _KEEP:
        new.overlay = overlay
    if weights is not None:
        new.weights = weights
    return new


def _vanished(state: _State) -> bool:
    """Whether a profile of the index is gone without a trace the watermark sees (removed
    from the database directly): fewer profiles unchanged since the build, plus those of the
    build changed since, than the build held."""
    if state.base_mark is None:
        return records.profile_count() > 0
    unchanged = db.session.scalar(sa.select(sa.func.count(VolunteerProfile.id))
                                  .where(VolunteerProfile.updated_at < state.base_mark))
    moved = db.session.scalars(sa.select(VolunteerProfile.user_id)
                               .where(VolunteerProfile.updated_at >= state.base_mark)).all()
    changed_old = int(np.isin(np.asarray(moved, dtype=np.int64), state.base_users).sum())
    return unchanged + changed_old < state.base_count


def _fade(state: _State) -> None:
    """Read again what changes with time alone (``records.fading``) into the big index: the
    overlay holds its volunteers' own, fresh from their last change."""
    state.faded = time.monotonic()
    load, asks = records.fading(**_options())
    base = state.matcher.base
    columns = {name: np.zeros(base.n, dtype=getattr(base, name).dtype)
               for name in ("load", "asked_lately", "week")}
    for uid, n in load.items():
        row = base.row_of.get(uid)
        if row is not None:
            columns["load"][row] = n
    for uid, (lately, week) in asks.items():
        row = base.row_of.get(uid)
        if row is not None:
            columns["asked_lately"][row], columns["week"][row] = lately, week
    state.matcher = _swapped(state.matcher, **columns)
    state.seen = state.read_at = None  # the overlay's volunteers are read again next time
