"""Making, editing and sending a plan of helpers. Services never commit.

A plan gathers the needs of a period in the organiser's scope — open issues with helpers still
to invite, coming sessions with staff still to invite — asks the matcher for each one's
candidates (within their travel range, under their limits), and lets the solver
(``planning.solver``) choose who to invite for what so that the total score is as high as
possible: each need's places, each volunteer's monthly limit (and weekly cap), nobody at two
overlapping times, nobody twice for one need. The one-need-at-a-time order is solved on the
same candidates, so the page can say what planning together gained.

Sending goes through ``invitations.services.invite`` need by need (each a wave, with the same
locks and checks as an invitation by hand); a proposal the world has overtaken meanwhile (the
volunteer took another task, the issue closed) fails alone, with its reason, and the rest go.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from volunteer import policy
from volunteer.auth.models import User
from volunteer.callups.models import callup_windows
from volunteer.common import utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.invitations.models import (
    Invitation,
    InvitationStatus,
    holding_clause,
    recent_tasks_clause,
)
from volunteer.invitations.services import (
    InvitationError,
    Pick,
    invite,
    open_places_to_invite,
    organised_clause,
)
from volunteer.issues.models import OPEN_STATUSES, Issue
from volunteer.matching.queries import issue_query, session_query
from volunteer.matching.store import get_matcher
from volunteer.org.models import Grid, GridPoint
from volunteer.planning import solver
from volunteer.planning.models import ItemStatus, Plan, PlanItem, PlanNeed, PlanStatus
from volunteer.services.models import ServiceSession, SessionStatus
from volunteer.services.sessions import managed_points_clause
from volunteer.volunteers.models import VolunteerProfile

DEFAULT_DAYS = 14
MAX_DAYS = 62
MAX_NEEDS = 200  # the earliest needs of the period, at most
CANDIDATES = 20  # the matcher's candidates asked for each need
ALTERNATIVES = 8  # candidates kept, besides those proposed, to choose from when editing
TASK_HOURS = 2  # a task with a start and no end takes this long (as invitations assume)
PLAN_SECONDS = 2.0  # the solver's search stops here (the plan is feasible at any point)


class PlanError(DomainError):
    """A plan operation is refused; ``code`` says why."""

    messages = {
        "not_allowed": _l("Only grid leaders, village admins and the town office plan "
                          "helpers."),
        "not_found": _l("No such plan."),
        "bad_period": _l("The period must end after it starts, and last at most %(days)s "
                         "days."),
        "nothing": _l("Nothing in your area needs helpers or staff in that period."),
        "not_draft": _l("This plan was already sent or discarded."),
        "not_a_candidate": _l("That volunteer is not among the candidates for this need."),
        "already_proposed": _l("That volunteer is already proposed for this need."),
        "need_full": _l("Every place of this need already has someone proposed; remove one "
                        "first."),
        "busy_in_plan": _l("That volunteer is proposed for another need at the same time."),
        "nothing_to_send": _l("No proposal is left to send."),
    }
    statuses = {"not_allowed": 403, "not_found": 404, "bad_period": 422,
                "not_a_candidate": 422}
    defaults = {"days": MAX_DAYS}


# --- the needs of a period ------------------------------------------------------------------

@dataclass
class Found:
    """A need as gathered: the issue or session, its window and the places still to invite."""

    obj: Issue | ServiceSession
    kind: str
    starts: datetime | None
    ends: datetime | None
    places: int


def _open_places(kind: str, objs: dict[int, int], now: datetime) -> dict[int, int]:
    """Places still to invite per target id (given its places): less those who accepted and
    those whose invitations still wait for an answer (one query)."""
    if not objs:
        return {}
    column = getattr(Invitation, f"{kind}_id")
    taken = dict(db.session.execute(
        db.select(column, sa.func.count(Invitation.id))
        .where(column.in_(list(objs)), sa.or_(
            Invitation.status.in_((InvitationStatus.accepted, InvitationStatus.done)),
            sa.and_(Invitation.status.in_((InvitationStatus.invited, InvitationStatus.offered)),
                    holding_clause(now))))
        .group_by(column)).tuples().all())
    return {i: max(0, places - taken.get(i, 0)) for i, places in objs.items()}


def gather_needs(user: User, start: datetime, end: datetime, now: datetime | None = None
                 ) -> list[Found]:
    """The needs in ``user``'s scope for [start, end): open issues still needing helpers (with
    a time in the period, or none), and scheduled sessions starting in the period still needing
    staff; the earliest ``MAX_NEEDS`` with places left to invite."""
    now = now or utcnow()
    start = max(start, now)
    issues = db.session.scalars(
        db.select(Issue).options(joinedload(Issue.village))
        .where(organised_clause(user), Issue.status.in_(OPEN_STATUSES),
               Issue.helpers_needed > 0,
               sa.or_(Issue.needed_from.is_(None),
                      sa.and_(Issue.needed_from < end,
                              sa.func.coalesce(Issue.needed_until, Issue.needed_from)
                              >= start)))
        .order_by(sa.func.coalesce(Issue.needed_from, Issue.deadline_at), Issue.id)
        .limit(MAX_NEEDS)).all()
    sessions = db.session.scalars(
        db.select(ServiceSession).join(GridPoint, ServiceSession.point_id == GridPoint.id)
        .options(joinedload(ServiceSession.item),
                 joinedload(ServiceSession.point).joinedload(GridPoint.grid)
                 .joinedload(Grid.village))
        .where(managed_points_clause(user), ServiceSession.status == SessionStatus.scheduled,
               ServiceSession.starts_at >= start, ServiceSession.starts_at < end,
               ServiceSession.staff_needed > 0)
        .order_by(ServiceSession.starts_at, ServiceSession.id).limit(MAX_NEEDS)).all()
    left_i = _open_places("issue", {i.id: i.helpers_needed for i in issues}, now)
    left_s = _open_places("session", {s.id: s.staff_needed for s in sessions}, now)
    found = [Found(i, "issue", i.needed_from, i.needed_until, left_i[i.id]) for i in issues]
    found += [Found(s, "session", s.starts_at, s.ends_at, left_s[s.id]) for s in sessions]
    found = [f for f in found if f.places > 0]
    far = datetime.max
    found.sort(key=lambda f: (f.starts or far, f.kind, f.obj.id))
    return found[:MAX_NEEDS]


# --- the volunteers' limits and times -------------------------------------------------------

def _minutes(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp() / 60.0


def _window(starts: datetime | None, ends: datetime | None):
    if starts is None:
        return None, None
    return starts, ends if ends is not None and ends > starts else \
        starts + timedelta(hours=TASK_HOURS)


def helpers_of(user_ids: list[int], start: datetime, end: datetime,
               now: datetime) -> list[solver.Helper]:
    """Each volunteer's room (monthly limit, and the weekly cap on being asked, less what they
    hold) and the times they are already taken in the period — their tasks, and call-ups they
    are coming to (five queries at most)."""
    ids = user_ids or [-1]
    limits = dict(db.session.execute(db.select(VolunteerProfile.user_id,
                                               VolunteerProfile.monthly_limit)
                                     .where(VolunteerProfile.user_id.in_(ids))).tuples().all())
    recent = dict(db.session.execute(
        db.select(Invitation.volunteer_id, sa.func.count(Invitation.id))
        .where(Invitation.volunteer_id.in_(ids), recent_tasks_clause(now))
        .group_by(Invitation.volunteer_id)).tuples().all())
    cap = int(current_app.config.get("MATCH_WEEKLY_CAP") or 0)
    asked = {}
    if cap:
        asked = dict(db.session.execute(
            db.select(Invitation.volunteer_id, sa.func.count(Invitation.id))
            .where(Invitation.volunteer_id.in_(ids), Invitation.origin == "invite",
                   Invitation.created_at >= now - timedelta(days=7))
            .group_by(Invitation.volunteer_id)).tuples().all())
    busy: dict[int, list[tuple[float, float]]] = {}
    for uid, s, e in db.session.execute(
            db.select(Invitation.volunteer_id, Invitation.starts_at, Invitation.ends_at)
            .where(Invitation.volunteer_id.in_(ids), holding_clause(now),
                   Invitation.starts_at.is_not(None),
                   Invitation.starts_at < end + timedelta(hours=TASK_HOURS),
                   sa.func.coalesce(Invitation.ends_at, Invitation.starts_at)
                   >= start - timedelta(hours=TASK_HOURS))):
        s, e = _window(s, e)
        busy.setdefault(uid, []).append((_minutes(s), _minutes(e)))
    for uid, s, e in callup_windows(ids, start, end):  # an emergency they are coming to
        busy.setdefault(uid, []).append((_minutes(s), _minutes(e)))
    out = []
    for uid in user_ids:
        room = (limits.get(uid) or 0) - recent.get(uid, 0)
        if cap:
            room = min(room, cap - asked.get(uid, 0))
        out.append(solver.Helper(capacity=max(0, room), busy=tuple(busy.get(uid, ()))))
    return out


# --- making a plan --------------------------------------------------------------------------

def _invited(found: list[Found]) -> dict[tuple[str, int], set[int]]:
    """Who was ever invited to (or offered for) each need: never proposed again."""
    out: dict[tuple[str, int], set[int]] = {}
    for kind in ("issue", "session"):
        ids = [f.obj.id for f in found if f.kind == kind]
        if not ids:
            continue
        column = getattr(Invitation, f"{kind}_id")
        for tid, uid in db.session.execute(db.select(column, Invitation.volunteer_id)
                                           .where(column.in_(ids))):
            out.setdefault((kind, tid), set()).add(uid)
    return out


def _entry(s) -> dict:
    return {"user_id": s.user_id, "score": s.score, "distance_m": s.distance_m,
            "tier": s.tier, "reasons": [list(r) for r in s.reasons]}


def _could(helper: solver.Helper, need: solver.Need) -> bool:
    """Whether a candidate could take the need at all: room left, and free at its time."""
    if helper.capacity <= 0:
        return False
    if need.starts is None:
        return True
    return not any(s < need.ends and need.starts < e for s, e in helper.busy)


def check_period(start: datetime, end: datetime) -> None:
    if end <= start or end - start > timedelta(days=MAX_DAYS):
        raise PlanError("bad_period", field="period_until")


def make_plan(user: User, start: datetime, end: datetime, now: datetime | None = None) -> Plan:
    """Plan helpers for ``user``'s needs of [start, end) and keep it as a draft to look at."""
    now = now or utcnow()
    if not policy.may_plan(user):
        raise PlanError("not_allowed")
    check_period(start, end)
    found = gather_needs(user, start, end, now)
    if not found:
        raise PlanError("nothing")
    matcher = get_matcher()
    invited = _invited(found)
    results = []
    for f in found:
        exclude = invited.get((f.kind, f.obj.id), set()) | {user.id}
        q = (issue_query if f.kind == "issue" else session_query)(f.obj, CANDIDATES, exclude)
        result = matcher.match(q)
        # With skills to hold, the candidates hold one of them (with nobody holding one, the
        # nearest stand-ins: a related skill, as the matcher ranks them); with none, anyone.
        floor = 2 if any(s.tier >= 2 for s in result.suggestions) else 1
        shown = [s for s in result.suggestions if s.tier >= floor or not result.skills]
        results.append((result, shown))

    user_ids = sorted({s.user_id for _r, shown in results for s in shown})
    col = {uid: k for k, uid in enumerate(user_ids)}
    helpers = helpers_of(user_ids, start, end, now)
    needs, options, entries = [], [], []
    for n, (f, (_result, shown)) in enumerate(zip(found, results, strict=True)):
        s, e = _window(f.starts, f.ends)
        needs.append(solver.Need(places=f.places, starts=_minutes(s), ends=_minutes(e)))
        for sug in shown:
            options.append(solver.Option(need=n, helper=col[sug.user_id], score=sug.score))
            entries.append(sug)
    best = solver.plan(needs, helpers, options, time_limit=PLAN_SECONDS)
    one_by_one = solver.greedy(needs, helpers, options)
    why = solver.why_uncovered(needs, helpers, options, best.chosen)

    plan = Plan(created_by_id=user.id, period_from=start, period_until=end,
                total_score=round(best.total, 4), greedy_score=round(one_by_one.total, 4),
                places=sum(f.places for f in found), filled=sum(best.filled),
                greedy_filled=sum(one_by_one.filled),
                covered=sum(k >= nd.places for k, nd in zip(best.filled, needs, strict=True)),
                greedy_covered=sum(k >= nd.places
                                   for k, nd in zip(one_by_one.filled, needs, strict=True)),
                solve_ms=int(round(best.seconds * 1000)), created_at=now)
    chosen = set(best.chosen)
    by_need: dict[int, list[int]] = {}
    for k, o in enumerate(options):
        by_need.setdefault(o.need, []).append(k)
    for n, f in enumerate(found):
        mine = by_need.get(n, [])
        need = PlanNeed(position=n, kind=f.kind, starts_at=f.starts, ends_at=f.ends,
                        places=f.places, skills=[c for c, _p in results[n][0].skills],
                        uncovered=why.get(n),
                        alternatives=[_entry(entries[k]) for k in mine if k not in chosen
                                      and _could(helpers[options[k].helper], needs[n])
                                      ][:ALTERNATIVES])
        setattr(need, f.kind, f.obj)
        for k in mine:
            if k in chosen:
                sug = entries[k]
                need.items.append(PlanItem(volunteer_id=sug.user_id, score=sug.score,
                                           distance_m=sug.distance_m, fit=sug.tier,
                                           reasons=[list(r) for r in sug.reasons]))
        plan.needs.append(need)
    db.session.add(plan)
    db.session.flush()
    return plan


# --- editing and sending ------------------------------------------------------------------

def _draft(user: User, plan: Plan) -> None:
    if not policy.may_open_plan(user, plan):
        raise PlanError("not_found")
    if plan.status != PlanStatus.draft:
        raise PlanError("not_draft")


def _kept(items) -> list[PlanItem]:
    return [i for i in items if i.status == ItemStatus.proposed]


def set_removed(user: User, item: PlanItem, removed: bool) -> PlanItem:
    """Take a proposal out of the plan (or put it back)."""
    need = item.need
    _draft(user, need.plan)
    if removed:
        item.status = ItemStatus.removed
        return item
    if item.status == ItemStatus.removed:
        _check_room(need, item.volunteer_id)
        item.status = ItemStatus.proposed
    return item


def _overlap(a: PlanNeed, b: PlanNeed) -> bool:
    sa_, ea = _window(a.starts_at, a.ends_at)
    sb, eb = _window(b.starts_at, b.ends_at)
    return sa_ is not None and sb is not None and sa_ < eb and sb < ea


def _check_room(need: PlanNeed, volunteer_id: int) -> None:
    if len(_kept(need.items)) >= need.places:
        raise PlanError("need_full")
    for other in need.plan.needs:
        if other is not need and _overlap(other, need) and any(
                i.volunteer_id == volunteer_id for i in _kept(other.items)):
            raise PlanError("busy_in_plan")


def add_candidate(user: User, need: PlanNeed, volunteer_id: int) -> PlanItem:
    """Propose one of a need's other candidates (the organiser's choice)."""
    _draft(user, need.plan)
    entry = next((a for a in need.alternatives or () if a["user_id"] == volunteer_id), None)
    if entry is None:
        raise PlanError("not_a_candidate", field="volunteer")
    existing = next((i for i in need.items if i.volunteer_id == volunteer_id), None)
    if existing is not None and existing.status != ItemStatus.removed:
        raise PlanError("already_proposed")
    _check_room(need, volunteer_id)
    if existing is not None:
        existing.status = ItemStatus.proposed
        return existing
    item = PlanItem(volunteer_id=volunteer_id, by_hand=True, score=entry["score"],
                    distance_m=entry["distance_m"], fit=entry["tier"],
                    reasons=entry["reasons"])
    need.items.append(item)
    db.session.flush()
    return item


def discard(user: User, plan: Plan) -> Plan:
    _draft(user, plan)
    plan.status = PlanStatus.discarded
    return plan


@dataclass
class Sent:
    invited: int = 0
    failed: int = 0


def _pick(item: PlanItem) -> Pick:
    return Pick(item.volunteer_id, item.score, item.distance_m, item.reasons)


def _send_need(user: User, need: PlanNeed, items: list[PlanItem], now: datetime,
               out: Sent) -> None:
    """Invite a need's proposals as one wave; when that is refused, each alone (each in a
    savepoint: a refusal undoes only its own writes)."""
    target = need.target
    room = open_places_to_invite(target, now)
    for item in items[room:]:  # places filled or waiting meanwhile
        item.status, item.error = ItemStatus.failed, "filled"
        out.failed += 1
    items = items[:room]
    if not items:
        return
    try:
        with db.session.begin_nested():
            made = invite(user, target, [_pick(i) for i in items], now)
    except InvitationError:
        made = None
    if made is not None:
        for item, inv in zip(items, made, strict=True):
            item.status, item.invitation = ItemStatus.sent, inv
        out.invited += len(items)
        return
    for item in items:
        try:
            with db.session.begin_nested():
                (inv,) = invite(user, target, [_pick(item)], now)
        except InvitationError as exc:
            item.status, item.error = ItemStatus.failed, exc.code
            out.failed += 1
        else:
            item.status, item.invitation = ItemStatus.sent, inv
            out.invited += 1


def send(user: User, plan: Plan, now: datetime | None = None) -> Sent:
    """Send the plan's proposals as invitations, need by need (earliest first)."""
    now = now or utcnow()
    _draft(user, plan)
    if not any(_kept(n.items) for n in plan.needs):
        raise PlanError("nothing_to_send")
    out = Sent()
    for need in plan.needs:
        items = _kept(need.items)
        if not items:
            continue
        if need.target is None:  # deleted meanwhile
            for item in items:
                item.status, item.error = ItemStatus.failed, "issue_not_open"
            out.failed += len(items)
            continue
        _send_need(user, need, items, now, out)
    plan.status, plan.sent_at = PlanStatus.sent, now
    db.session.flush()
    return out
