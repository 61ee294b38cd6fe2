"""Reading volunteers into the matcher's records: the one module of ``matching`` that touches
the database models (profiles, skills, invitations, the taxonomy)."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sklearn.feature_extraction.text import TfidfVectorizer

from volunteer.auth.models import User
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.invitations.models import Invitation, InvitationStatus, recent_tasks_clause
from volunteer.matching.index import UNVERIFIED, VERIFIED, VolunteerRecord
from volunteer.matching.inference import TaxonomySkill
from volunteer.org.models import Grid, Village
from volunteer.skills.models import Skill
from volunteer.volunteers.models import SkillStatus, VolunteerProfile, VolunteerSkill


def taxonomy() -> tuple[list[int], list[TaxonomySkill], list[bool]]:
    """The skills (ids, taxonomy entries, whether each needs a certificate), by id."""
    rows = db.session.scalars(db.select(Skill).order_by(Skill.id)).all()
    return ([s.id for s in rows],
            [TaxonomySkill(s.code, s.name_zh, s.name_en,
                           tuple((s.synonyms_zh or []) + (s.synonyms_en or [])),
                           tuple(s.related or ())) for s in rows],
            [bool(s.needs_certificate) for s in rows])


def watermark():
    """The newest profile change, the newest invitation change and the newest account
    deletion: what a refresh compares (three index look-ups, whatever the size)."""
    return tuple(db.session.execute(sa.select(
        sa.select(sa.func.max(VolunteerProfile.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Invitation.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(User.deleted_at)).scalar_subquery())).one())


def profile_count() -> int:
    """The number of profiles (a scan of an index: a refresh audits with it now and then)."""
    return db.session.scalar(sa.select(sa.func.count(VolunteerProfile.id)))


def deleted_since(since: datetime) -> list[int]:
    """Accounts deleted since ``since`` (their profiles are gone: nothing else says so)."""
    return list(db.session.scalars(sa.select(User.id).where(User.deleted_at >= since)))


def _changed_ids(since: datetime, invited_since: datetime | None):
    """SQL: ids of the profiles changed since ``since``, and of the volunteers whose
    invitations changed since ``invited_since`` (a union, so each part runs on its index)."""
    P = VolunteerProfile
    by_invitation = sa.select(P.id).where(P.user_id.in_(sa.select(Invitation.volunteer_id).where(
        Invitation.updated_at >= (invited_since or since))))
    return sa.union(sa.select(P.id).where(P.updated_at >= since), by_invitation)


CHUNK = 10_000  # ids per IN list


def changed_count(since: datetime, invited_since: datetime | None = None) -> int:
    """How many profiles ``read(since=…)`` would read: a cheap count first, so that a large
    change is rebuilt from scratch instead of read twice."""
    changed = _changed_ids(since, invited_since).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(changed))


def read(skill_ids: list[int], needs_cert: list[bool], since: datetime | None = None,
         invited_since: datetime | None = None, fair_days: int = 28,
         half_life_days: float = 7.0) -> tuple[list[VolunteerRecord], set[int]]:
    """Eligible volunteers, and the user ids of every profile read (eligible or not);
    with ``since``, only profiles changed since then, and the volunteers whose invitations
    changed since ``invited_since`` (their load, history and recent asks)."""
    P = VolunteerProfile
    q = (sa.select(P.id, P.user_id, P.lat, P.lon, P.travel_km, P.availability, P.monthly_limit,
                   P.home_grid_id, Grid.village_id, Village.town_id, P.bio, P.paused,
                   User.deleted_at, User.consent_at, User.active)
         .join(User, P.user_id == User.id).outerjoin(Grid, P.home_grid_id == Grid.id)
         .outerjoin(Village, Grid.village_id == Village.id))
    if since is not None:
        q = q.where(P.id.in_(_changed_ids(since, invited_since)))
    rows = db.session.execute(q).all()
    changed = {r.user_id for r in rows}
    eligible = [r for r in rows if not r.paused and r.deleted_at is None
                and r.consent_at is not None and r.active]
    col_of = {sid: i for i, sid in enumerate(skill_ids)}
    skills: dict[int, dict[int, float]] = {}
    free: dict[int, list[str]] = {}
    sq = sa.select(VolunteerSkill.profile_id, VolunteerSkill.skill_id, VolunteerSkill.status,
                   VolunteerSkill.free_text).where(VolunteerSkill.status != SkillStatus.rejected)
    if since is None:
        skill_rows = db.session.execute(sq)
    else:  # the changed profiles' skills, in pieces a database takes as parameters
        ids = [r.id for r in eligible]
        skill_rows = (row for k in range(0, len(ids), CHUNK) for row in db.session.execute(
            sq.where(VolunteerSkill.profile_id.in_(ids[k:k + CHUNK]))))
    for pid, sid, status, text in skill_rows:
        if sid is None:
            if text:
                free.setdefault(pid, []).append(text)
            continue
        col = col_of.get(sid)
        if col is None:
            continue
        level = VERIFIED if status == SkillStatus.verified or not needs_cert[col] else UNVERIFIED
        skills.setdefault(pid, {})[col] = level
    load, history = _load_and_history([r.user_id for r in eligible] if since is not None
                                      else None, fair_days, half_life_days)
    records = [VolunteerRecord(
        user_id=r.user_id, lat=r.lat, lon=r.lon, travel_km=r.travel_km or 5.0,
        availability=r.availability or 0, monthly_limit=r.monthly_limit or 4,
        grid_id=r.home_grid_id or 0, village_id=r.village_id or 0, town_id=r.town_id or 0,
        skills=skills.get(r.id, {}), free_text=" ".join(free.get(r.id, [])),
        load=int(load.get(r.user_id, 0)), **history.get(r.user_id, {})) for r in eligible]
    return records, changed


def _load_and_history(user_ids: list[int] | None, fair_days: int = 28,
                      half_life_days: float = 7.0):
    """Per volunteer: their recent tasks (``recent_tasks_clause``: the load, and what the monthly
    limit counts), how they answered invitations so far (for reliability), and how often they
    were invited lately (each invitation of the last ``fair_days`` counts half as much every
    ``half_life_days``; and the last 7 days' count, for the weekly cap)."""
    now = utcnow()
    inv = Invitation
    where = [inv.volunteer_id.in_(user_ids or [-1])] if user_ids is not None else []
    load, asks = fading(fair_days, half_life_days, now, user_ids)
    answered = sa.or_(inv.status.in_((InvitationStatus.accepted, InvitationStatus.declined,
                                     InvitationStatus.done, InvitationStatus.no_show)),
                      sa.and_(inv.status == InvitationStatus.invited, inv.expires_at <= now))
    history = {}
    for uid, invited, accepted, completed in db.session.execute(
            sa.select(inv.volunteer_id,
                      sa.func.count(inv.id).filter(inv.origin == "invite", answered),
                      sa.func.count(inv.id).filter(inv.status.in_((InvitationStatus.accepted,
                                                                    InvitationStatus.done,
                                                                    InvitationStatus.no_show))),
                      sa.func.count(inv.id).filter(inv.status == InvitationStatus.done))
            .where(*where).group_by(inv.volunteer_id)):
        history[uid] = {"invited": invited, "accepted": accepted, "completed": completed}
    for uid, (lately, week) in asks.items():
        h = history.setdefault(uid, {"invited": 0, "accepted": 0, "completed": 0})
        h["asked_lately"], h["week"] = lately, week
    return load, history


def fading(fair_days: int = 28, half_life_days: float = 7.0, now=None,
           user_ids: list[int] | None = None):
    """What changes with time alone, per volunteer: their recent tasks (the load), and their
    recent invitations (asked lately, fading by half every ``half_life_days`` over the last
    ``fair_days``; and the last 7 days' count). Reads only recent invitations."""
    now = now or utcnow()
    inv = Invitation
    where = [inv.volunteer_id.in_(user_ids or [-1])] if user_ids is not None else []
    load = dict(db.session.execute(
        sa.select(inv.volunteer_id, sa.func.count(inv.id))
        .where(*where, recent_tasks_clause(now))
        .group_by(inv.volunteer_id)).tuples().all())
    week_ago = now - timedelta(days=7)
    asks: dict[int, tuple[float, int]] = {}
    for uid, at in db.session.execute(
            sa.select(inv.volunteer_id, inv.created_at)
            .where(*where, inv.origin == "invite",
                   inv.created_at >= now - timedelta(days=fair_days))):
        lately, week = asks.get(uid, (0.0, 0))
        age = max((now - at).total_seconds() / 86400.0, 0.0)
        asks[uid] = (lately + 0.5 ** (age / half_life_days), week + (at >= week_ago))
    return load, asks


def soft_skills(records: list[VolunteerRecord], skills: list[TaxonomySkill]) -> None:
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
