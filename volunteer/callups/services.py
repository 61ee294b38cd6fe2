"""Emergency call-ups: start one, notify every available volunteer of the area at once, take
their answers up to the quorum, check them in and out, propose their hours, close with a
report. Services never commit.

Notices are rows of the inbox and the outbox written with the call-up (DESIGN §5a): they leave
after the commit, on every channel each volunteer allows for the kind ``callup`` (all of them
by default; SMS only with consent). When the quorum has said "coming", the notices still
queued are cancelled (the outbox's ``cancelled`` status, which no worker takes) and nobody is
reminded any more; later "coming" answers are put on standby and thanked.

Answers that change the count lock the call-up first (an UPDATE that changes nothing visible:
a row lock on PostgreSQL, the write lock on SQLite), so two answers for the last place at the
same moment cannot both take it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from volunteer import policy
from volunteer.auth.models import Role, RoleAssignment, User
from volunteer.callups.models import (
    CallUp,
    CallUpAnswer,
    CallUpReason,
    CallUpResponse,
    CallUpStatus,
    CheckVia,
    NoticeOutcome,
)
from volunteer.checkin import codes
from volunteer.checkin.codes import quarter_hours
from volunteer.common import iso_utc, to_local, utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.geo import bounding_box, haversine_km, parse_point
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.hours.services import HoursError, changed_hours
from volunteer.inbox import services as inbox
from volunteer.inbox.models import Notification, NotificationSetting
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.org.models import Grid, GridPoint, Town, Village
from volunteer.outbox import services as outbox
from volunteer.outbox.channels import CHANNELS
from volunteer.outbox.models import OutboxMessage
from volunteer.outbox.models import Status as OutboxStatus
from volunteer.privacy import eraser, exporter
from volunteer.skills.models import Skill
from volunteer.volunteers.models import SkillStatus, VolunteerProfile, VolunteerSkill

KIND = "callup"  # the inbox kind of call-up notices
DEFAULT_HOURS = 4  # a call-up's expected length when no end is given
MAX_HOURS = 72
MAX_NEEDED = 5000
MAX_RADIUS_KM = 20.0
EARLY_CHECKIN = timedelta(hours=2)  # one may check in this long before the start
NIGHT_FROM, NIGHT_UNTIL = 22, 7  # "don't call me at night": 22:00–07:00 Asia/Shanghai
_CHUNK = 500  # ids per IN (…) list


class CallUpError(DomainError):
    """A call-up operation is refused; ``code`` says why."""

    messages = {
        "not_allowed": _l("Only the village admin of these grids or the town admin can do "
                          "this."),
        "not_found": _l("There is no such call-up."),
        "not_called": _l("You were not called for this call-up."),
        "bad_reason": _l("Please choose a reason."),
        "title_needed": _l("Please say in a few words what is needed."),
        "no_grids": _l("Please choose at least one grid."),
        "unknown_grid": _l("A grid chosen is unknown or not yours to call up."),
        "mixed_towns": _l("The grids chosen lie in different towns; start one call-up per "
                          "town."),
        "no_place": _l("A call-up by radius needs a muster point: choose a grid point or put "
                       "a pin on the map."),
        "bad_place": _l("The muster point is not a valid location."),
        "unknown_point": _l("That grid point is unknown or not yours."),
        "bad_radius": _l("The radius must be between 0.1 and 20 km."),
        "muster_needed": _l("Please say where to gather."),
        "bad_needed": _l("Between 1 and 5,000 people."),
        "bad_window": _l("The end must come after the start, within three days."),
        "too_late": _l("The start must not lie in the past."),
        "unknown_skill": _l("A skill chosen is unknown."),
        "closed": _l("This call-up is over."),
        "already_arrived": _l("You have checked in already; check out when you leave."),
        "too_early": _l("Check-in opens two hours before the start."),
        "not_in": _l("Please check in first."),
        "already_out": _l("You have checked out already."),
        "bad_position": _l("The position sent is not valid; it was not recorded."),
        "bad_link": _l("This QR code is not valid."),
        "link_expired": _l("This QR code has expired; please ask the organiser for a new one."),
        "summary_needed": _l("Please say what was done."),
        "someone_arrived": _l("Someone has checked in already: close the call-up with what "
                              "was done instead."),
        "not_callup_hours": _l("These hours are not from a call-up."),
    }
    statuses = {"not_allowed": 403, "not_found": 404, "not_called": 404, "bad_link": 404,
                "link_expired": 410, "bad_reason": 422, "title_needed": 422, "no_grids": 422,
                "unknown_grid": 422, "mixed_towns": 422, "no_place": 422, "bad_place": 422,
                "unknown_point": 422, "bad_radius": 422, "muster_needed": 422,
                "bad_needed": 422, "bad_window": 422, "too_late": 422, "unknown_skill": 422,
                "bad_position": 422, "summary_needed": 422, "not_callup_hours": 404}


# --- time ------------------------------------------------------------------------------------

def is_night(moment: datetime) -> bool:
    """Whether a stored (UTC) time falls between 22:00 and 07:00 in Asia/Shanghai."""
    hour = to_local(moment).hour
    return hour >= NIGHT_FROM or hour < NIGHT_UNTIL


# --- starting ----------------------------------------------------------------------------------

@dataclass
class CallUpInput:
    """What the organiser's form collects, after its shape is checked."""

    reason: str
    title: str
    muster: str
    starts_at: datetime
    needed: int
    ends_at: datetime | None = None
    details: str | None = None
    grid_codes: list[str] = field(default_factory=list)  # the area: these grids …
    radius_km: float | None = None  # … or everyone within this of the muster point
    point_id: int | None = None  # a grid point as the muster point
    lat: float | None = None  # or a pin
    lon: float | None = None
    skill_codes: list[str] = field(default_factory=list)  # optional: any of these


@dataclass
class Started:
    """A call-up just started, with how many were notified and how many were not (why)."""

    callup: CallUp
    notified: int = 0
    over_budget: int = 0
    night: int = 0
    busy: int = 0


def start(organiser: User, data: CallUpInput, now: datetime | None = None) -> Started:
    """Start a call-up and notify every eligible volunteer of its area at once."""
    now = now or utcnow()
    if not policy.may_start_callups(organiser):
        raise CallUpError("not_allowed")
    if data.reason not in set(CallUpReason):
        raise CallUpError("bad_reason", "reason")
    title = (data.title or "").strip()
    if not title:
        raise CallUpError("title_needed", "title")
    muster = (data.muster or "").strip()
    if not muster:
        raise CallUpError("muster_needed", "muster")
    if not 1 <= int(data.needed or 0) <= MAX_NEEDED:
        raise CallUpError("bad_needed", "needed")
    starts = data.starts_at
    if starts < now - timedelta(minutes=30):
        raise CallUpError("too_late", "starts_at")
    ends = data.ends_at or starts + timedelta(hours=DEFAULT_HOURS)
    if ends <= starts or ends - starts > timedelta(hours=MAX_HOURS):
        raise CallUpError("bad_window", "ends_at")

    point = None
    if data.point_id is not None:
        point = db.session.get(GridPoint, data.point_id)
        if point is None or not policy.may_call_up(organiser, point.grid):
            raise CallUpError("unknown_point", "point")
    pin = None
    if data.lat is not None or data.lon is not None:
        pin = parse_point(data.lat, data.lon)
        if pin is None:
            raise CallUpError("bad_place", "lat")

    grids: list[Grid] = []
    if data.radius_km is None:
        codes = list(dict.fromkeys(c for c in data.grid_codes if c))
        if not codes:
            raise CallUpError("no_grids", "grids")
        grids = list(db.session.scalars(db.select(Grid).where(Grid.code.in_(codes))
                                        .order_by(Grid.code)))
        if len(grids) != len(codes) or not all(policy.may_call_up(organiser, g) for g in grids):
            raise CallUpError("unknown_grid", "grids")
        villages = {g.village_id for g in grids}
        towns = {g.village.town_id for g in grids}
        if len(towns) != 1:
            raise CallUpError("mixed_towns", "grids")
        anchor = grids[0]
    else:
        if not 0.1 <= float(data.radius_km) <= MAX_RADIUS_KM or math.isnan(data.radius_km):
            raise CallUpError("bad_radius", "radius_km")
        anchor = point.grid if point is not None else None
        if anchor is None and pin is not None:
            anchor = _nearest_grid(organiser, *pin)
        if anchor is None:
            raise CallUpError("no_place", "point")
        villages, towns = {anchor.village_id}, {anchor.village.town_id}
    town_id = towns.pop()
    # One 村居's call-up when the area lies in one 村居 and its office may call it; else the
    # town's (only a town office may): the organisers who see it follow from this.
    village = anchor.village if len(villages) == 1 else None
    if village is not None and data.radius_km is not None \
            and policy.may_call_up(organiser, db.session.get(Town, town_id)):
        village = None  # a town office's radius is not cut at the 村居's border
    if village is None and not policy.may_call_up(organiser, db.session.get(Town, town_id)):
        raise CallUpError("not_allowed")

    if point is not None:
        lat, lon = point.lat, point.lon
    elif pin is not None:
        lat, lon = pin
    else:
        lat, lon = anchor.lat, anchor.lon
    skills = []
    if data.skill_codes:
        codes = list(dict.fromkeys(data.skill_codes))
        skills = list(db.session.scalars(db.select(Skill).where(Skill.code.in_(codes))))
        if len(skills) != len(codes):
            raise CallUpError("unknown_skill", "skills")

    callup = CallUp(town_id=town_id, village=village, reason=data.reason, title=title[:100],
                    details=(data.details or "").strip() or None,
                    radius_km=float(data.radius_km) if data.radius_km is not None else None,
                    point=point, muster=muster[:200], muster_lat=lat, muster_lon=lon,
                    starts_at=starts, ends_at=ends, needed=int(data.needed),
                    status=CallUpStatus.open, created_by_id=organiser.id, created_at=now,
                    updated_at=now)
    callup.grids = grids
    callup.skills = skills
    db.session.add(callup)
    db.session.flush()
    return _call(callup, organiser, now)


def _nearest_grid(organiser: User, lat: float, lon: float) -> Grid | None:
    """The grid (among those ``organiser`` may call up) nearest to a pin, within 5 km."""
    south, north, west, east = bounding_box(lat, lon, 5.0)
    near = db.session.scalars(db.select(Grid).where(
        Grid.lat.between(south, north), Grid.lon.between(west, east))).all()
    near = [g for g in near if policy.may_call_up(organiser, g)]
    if not near:
        return None
    return min(near, key=lambda g: float(haversine_km(lat, lon, g.lat, g.lon)))


def eligible(callup: CallUp) -> list[tuple[int, int | None, bool]]:
    """The volunteers of the call-up's area who may be called: active, consented, not paused,
    not deleted, with one of the skills asked for (when any). Their monthly limit of tasks does
    not count. (user id, home grid id, "don't call me at night") for each."""
    p, u = VolunteerProfile, User
    q = (db.select(p.user_id, p.home_grid_id, p.no_night_calls, p.lat, p.lon)
         .join(u, u.id == p.user_id)
         .where(u.active.is_(True), u.deleted_at.is_(None), u.consent_at.is_not(None),
                p.paused.is_(False)))
    if callup.radius_km is None:
        q = q.where(p.home_grid_id.in_([g.id for g in callup.grids] or [-1]))
    else:
        south, north, west, east = bounding_box(callup.muster_lat, callup.muster_lon,
                                                callup.radius_km)
        q = q.where(p.lat.between(south, north), p.lon.between(west, east))
        in_scope = db.select(Grid.id).join(Village)
        in_scope = in_scope.where(Grid.village_id == callup.village_id) \
            if callup.village_id is not None else in_scope.where(Village.town_id == callup.town_id)
        q = q.where(p.home_grid_id.in_(in_scope))
    if callup.skills:
        q = q.where(p.id.in_(db.select(VolunteerSkill.profile_id).where(
            VolunteerSkill.skill_id.in_([s.id for s in callup.skills]),
            VolunteerSkill.status != SkillStatus.rejected)))
    rows = db.session.execute(q.order_by(p.user_id)).all()
    if callup.radius_km is not None and rows:
        # The box holds the circle; keep those inside it.
        lats = [r.lat for r in rows]
        lons = [r.lon for r in rows]
        km = haversine_km(callup.muster_lat, callup.muster_lon, lats, lons)
        rows = [r for r, d in zip(rows, km, strict=True) if d <= callup.radius_km]
    return [(r.user_id, r.home_grid_id, bool(r.no_night_calls)) for r in rows]


def _chunks(ids: list[int]):
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _notices_spent(user_ids: list[int], now: datetime) -> dict[int, int]:
    """How many call-up notices each person got in the budget's days."""
    since = now - timedelta(days=current_app.config.get("CALLUP_BUDGET_DAYS", 30))
    out: dict[int, int] = {}
    for chunk in _chunks(user_ids):
        out.update(db.session.execute(
            db.select(CallUpResponse.volunteer_id, sa.func.count(CallUpResponse.id))
            .where(CallUpResponse.volunteer_id.in_(chunk),
                   CallUpResponse.notice == NoticeOutcome.sent,
                   CallUpResponse.created_at >= since)
            .group_by(CallUpResponse.volunteer_id)).tuples().all())
    return out


def _busy(user_ids: list[int], starts: datetime, ends: datetime) -> set[int]:
    """Those holding an accepted task whose time overlaps [starts, ends)."""
    out: set[int] = set()
    for chunk in _chunks(user_ids):
        out |= set(db.session.scalars(db.select(Invitation.volunteer_id).where(
            Invitation.volunteer_id.in_(chunk), Invitation.status == InvitationStatus.accepted,
            Invitation.starts_at.is_not(None), Invitation.starts_at < ends,
            sa.func.coalesce(Invitation.ends_at, Invitation.starts_at) > starts)))
    return out


def _call(callup: CallUp, organiser: User, now: datetime) -> Started:
    """Write a response row for each eligible volunteer and notify those within their budget
    (and not asleep, if they asked)."""
    people = [row for row in eligible(callup) if row[0] != organiser.id]
    ids = [uid for uid, _g, _n in people]
    budget = int(current_app.config.get("CALLUP_NOTICE_BUDGET", 3) or 0)
    spent = _notices_spent(ids, now) if budget else {}
    busy = _busy(ids, callup.starts_at, callup.ends_at)
    night = is_night(now)
    started = Started(callup)
    rows, notify_ids = [], []
    for uid, grid_id, no_night in people:
        if budget and spent.get(uid, 0) >= budget:
            outcome = NoticeOutcome.budget
            started.over_budget += 1
        elif night and no_night:
            outcome = NoticeOutcome.night
            started.night += 1
        else:
            outcome = NoticeOutcome.sent
            notify_ids.append(uid)
        started.busy += uid in busy
        rows.append({"callup_id": callup.id, "volunteer_id": uid, "grid_id": grid_id,
                     "notice": outcome, "busy": uid in busy, "answer": CallUpAnswer.none,
                     "created_at": now})
    if rows:
        db.session.execute(sa.insert(CallUpResponse), rows)
    started.notified = len(notify_ids)
    notify_many(notify_ids, "callup", callup, now)
    return started


def notify_many(user_ids: list[int], event: str, callup: CallUp,
                now: datetime | None = None) -> int:
    """``inbox.notify`` for many people at once, for call-up notices: each person's settings
    for the kind ``callup`` and their addresses read in a few queries, not two per person.
    The inbox rows are written at once; the other channels' messages go to the outbox."""
    now = now or utcnow()
    if not user_ids:
        return 0
    cfg = current_app.config
    default = inbox.KIND_DEFAULTS[KIND]
    chosen: dict[int, dict[str, bool]] = {}
    users: list[User] = []
    for chunk in _chunks(list(dict.fromkeys(user_ids))):
        for s in db.session.scalars(db.select(NotificationSetting).where(
                NotificationSetting.user_id.in_(chunk), NotificationSetting.kind == KIND)):
            chosen[s.user_id] = {name: bool(getattr(s, ch.setting))
                                 for name, ch in CHANNELS.items()}
        users += db.session.scalars(db.select(User).where(User.id.in_(chunk))).all()
    notices = []
    for user in users:
        wants = chosen.get(user.id, default)
        for name, channel in CHANNELS.items():
            if not wants.get(name) or not outbox.reachable(channel, user, cfg):
                continue
            if channel.immediate:
                notices.append({"user_id": user.id, "kind": KIND, "event": event,
                                "callup_id": callup.id, "created_at": now})
            else:
                outbox.post(channel, user, "notice", kind=KIND, event=event, callup_id=callup.id)
    if notices:
        db.session.execute(sa.insert(Notification), notices)
    return len(notices)


# --- answers ---------------------------------------------------------------------------------

def lock(callup: CallUp) -> None:
    """Serialise the answers of one call-up (a row lock; SQLite: the write lock)."""
    db.session.execute(sa.update(CallUp).where(CallUp.id == callup.id)
                       .values(updated_at=CallUp.updated_at)
                       .execution_options(synchronize_session=False))


def response_of(callup: CallUp, user: User) -> CallUpResponse | None:
    """The user's row of the call-up (None: not of its area)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(db.select(CallUpResponse).where(
        CallUpResponse.callup_id == callup.id, CallUpResponse.volunteer_id == user.id))


def called(callup: CallUp, user: User) -> CallUpResponse:
    """The response of a volunteer who was notified of the call-up; else ``not_called``."""
    resp = response_of(callup, user)
    if resp is None or resp.notice != NoticeOutcome.sent or not policy.callup_answerer(user,
                                                                                       resp):
        raise CallUpError("not_called")
    return resp


def is_open(callup: CallUp, now: datetime | None = None) -> bool:
    """Open for answers and check-ins: not closed or called off."""
    return callup.status == CallUpStatus.open


def counts(callup: CallUp, now: datetime | None = None) -> dict[str, int]:
    """needed / coming / arrived / left / can't / no answer / standby / not called, in one
    query. "coming" counts everyone who said so (arrived or not); "missing" those who said so
    and have not arrived."""
    r = CallUpResponse
    coming = r.answer == CallUpAnswer.coming
    row = db.session.execute(db.select(
        sa.func.count(r.id).filter(r.notice == NoticeOutcome.sent),
        sa.func.count(r.id).filter(coming),
        sa.func.count(r.id).filter(r.checked_in_at.is_not(None)),
        sa.func.count(r.id).filter(r.checked_out_at.is_not(None)),
        sa.func.count(r.id).filter(r.answer == CallUpAnswer.cant),
        sa.func.count(r.id).filter(r.answer == CallUpAnswer.none,
                                   r.notice == NoticeOutcome.sent),
        sa.func.count(r.id).filter(r.answer == CallUpAnswer.standby),
        sa.func.count(r.id).filter(r.notice != NoticeOutcome.sent),
        sa.func.count(r.id).filter(coming, r.checked_in_at.is_(None)),
        sa.func.count(r.id).filter(r.busy.is_(True), r.notice == NoticeOutcome.sent),
    ).where(r.callup_id == callup.id)).one()
    keys = ("called", "coming", "arrived", "left", "cant", "no_answer", "standby",
            "not_called", "missing", "busy")
    out = dict(zip(keys, (int(v or 0) for v in row), strict=True))
    out["needed"] = callup.needed
    return out


def _coming(callup: CallUp) -> int:
    return db.session.scalar(db.select(sa.func.count(CallUpResponse.id)).where(
        CallUpResponse.callup_id == callup.id,
        CallUpResponse.answer == CallUpAnswer.coming)) or 0


def answer(volunteer: User, callup: CallUp, coming: bool,
           now: datetime | None = None) -> CallUpResponse:
    """"I'm coming" (taking a place while places are left; else standby, with thanks) or
    "can't" (a place one held goes to the first on standby, who is told)."""
    now = now or utcnow()
    resp = called(callup, volunteer)
    lock(callup)
    db.session.refresh(callup)
    db.session.refresh(resp)
    if not is_open(callup, now):
        raise CallUpError("closed")
    if coming:
        if resp.answer in (CallUpAnswer.coming, CallUpAnswer.standby):
            return resp  # the same tap twice
        resp.answered_at = now
        resp.busy = bool(_busy([volunteer.id], callup.starts_at, callup.ends_at))
        taken = _coming(callup)
        if taken < callup.needed:
            resp.answer = CallUpAnswer.coming
            if taken + 1 >= callup.needed:
                reach_quorum(callup, now)
        else:
            resp.answer = CallUpAnswer.standby
            inbox.notify([volunteer.id], KIND, "callup_standby", callup=callup)
        return resp
    if resp.checked_in_at is not None:
        raise CallUpError("already_arrived")
    was_coming = resp.answer == CallUpAnswer.coming
    resp.answer, resp.answered_at = CallUpAnswer.cant, now
    if was_coming:
        _move_up(callup, now)
    return resp


def _move_up(callup: CallUp, now: datetime) -> CallUpResponse | None:
    """A place came free: the first on standby takes it and is told."""
    nxt = db.session.scalar(db.select(CallUpResponse).where(
        CallUpResponse.callup_id == callup.id, CallUpResponse.answer == CallUpAnswer.standby)
        .order_by(CallUpResponse.answered_at, CallUpResponse.id).limit(1))
    if nxt is None:
        return None
    nxt.answer = CallUpAnswer.coming
    inbox.notify([nxt.volunteer_id], KIND, "callup_needed", callup=callup)
    return nxt


def cancel_notices(callup: CallUp) -> int:
    """Cancel the call-up's notices and reminders that have not left yet."""
    m = OutboxMessage
    return db.session.execute(
        sa.update(m).where(m.callup_id == callup.id, m.status == OutboxStatus.queued,
                           m.event.in_(("callup", "callup_reminder")))
        .values(status=OutboxStatus.cancelled, payload=None)
        .execution_options(synchronize_session=False)).rowcount


def reach_quorum(callup: CallUp, now: datetime) -> int:
    """Enough are coming: stop the notices (those still queued are cancelled) and the
    reminders. Returns how many messages were cancelled."""
    if callup.quorum_at is None:
        callup.quorum_at = now
    return cancel_notices(callup)


# --- check-in and check-out ------------------------------------------------------------------

def _position(lat, lon, accuracy) -> codes.Position:
    try:
        return codes.parse_position(lat, lon, accuracy)
    except codes.PositionError as exc:
        raise CallUpError("bad_position", exc.field) from None


def check_in(volunteer: User, callup: CallUp, via: str = CheckVia.button, lat=None, lon=None,
             accuracy=None, now: datetime | None = None) -> CallUpResponse:
    """Record arrival at the muster point (the time, and the phone's position when the
    volunteer allowed it). Arriving is coming: the answer becomes "coming"."""
    now = now or utcnow()
    resp = called(callup, volunteer)
    return _arrive(callup, resp, via, _position(lat, lon, accuracy), now)


def _arrive(callup: CallUp, resp: CallUpResponse, via: str, position, now: datetime
            ) -> CallUpResponse:
    if not is_open(callup, now):
        raise CallUpError("closed")
    if now < callup.starts_at - EARLY_CHECKIN:
        raise CallUpError("too_early")
    if resp.checked_in_at is not None:
        raise CallUpError("already_arrived")
    lock(callup)
    if resp.answer != CallUpAnswer.coming:
        resp.answered_at = resp.answered_at or now
        resp.answer = CallUpAnswer.coming
    resp.checked_in_at, resp.checkin_via = now, via
    resp.checkin_lat, resp.checkin_lon, resp.checkin_accuracy_m = position
    if callup.quorum_at is None and _coming(callup) >= callup.needed:
        reach_quorum(callup, now)
    return resp


def check_out(volunteer: User, callup: CallUp, via: str = CheckVia.button,
              now: datetime | None = None) -> CallUpResponse:
    """Record leaving, and propose the hours from check-in to check-out (to the quarter hour)
    for the organiser's confirmation."""
    now = now or utcnow()
    resp = called(callup, volunteer)
    if not is_open(callup, now):
        raise CallUpError("closed")
    return _leave(callup, resp, via, now, proposer_id=volunteer.id)


def _leave(callup: CallUp, resp: CallUpResponse, via: str, now: datetime,
           proposer_id: int | None) -> CallUpResponse:
    if resp.checked_in_at is None:
        raise CallUpError("not_in")
    if resp.checked_out_at is not None:
        raise CallUpError("already_out")
    resp.checked_out_at, resp.checkout_via = max(now, resp.checked_in_at), via
    resp.hours = quarter_hours(resp.checked_in_at, resp.checked_out_at)
    propose_hours(callup, resp, proposer_id, now)
    return resp


def propose_hours(callup: CallUp, resp: CallUpResponse, proposer_id: int | None,
                  now: datetime) -> ServiceHours:
    """The ledger entry of a check-out, waiting for the organiser (who is told)."""
    entry = db.session.scalar(db.select(ServiceHours).where(
        ServiceHours.callup_id == callup.id, ServiceHours.volunteer_id == resp.volunteer_id))
    if entry is None:
        entry = ServiceHours(volunteer_id=resp.volunteer_id, callup_id=callup.id, kind="callup",
                             activity=callup.title[:200],
                             served_on=to_local(resp.checked_in_at).date(), hours=resp.hours)
        db.session.add(entry)
    if entry.status == HoursStatus.confirmed:
        return entry
    entry.hours = resp.hours
    entry.proposed_by_id, entry.proposed_at = proposer_id, now
    db.session.flush()
    if proposer_id == resp.volunteer_id:
        inbox.notify(organisers_of(callup), "hours", "callup_hours", actor_id=proposer_id,
                     callup=callup)
    return entry


def organisers_of(callup: CallUp) -> list[int]:
    """Who hears of a call-up's hours: whoever started it, and its 村居's admins."""
    people = [callup.created_by_id] if callup.created_by_id else []
    if callup.village_id is not None:
        people += db.session.scalars(db.select(RoleAssignment.user_id).where(
            RoleAssignment.role == Role.village_admin.value,
            RoleAssignment.village_id == callup.village_id))
    return list(dict.fromkeys(people))


def _organiser(user: User, callup: CallUp) -> None:
    if not policy.may_see_callup(user, callup):
        raise CallUpError("not_allowed")


def mark(organiser: User, callup: CallUp, resp: CallUpResponse, arrived: bool,
         now: datetime | None = None) -> CallUpResponse:
    """The organiser records someone's arrival or leaving (an older volunteer without a
    smartphone, a phone that died); the hours are proposed in the organiser's name."""
    now = now or utcnow()
    _organiser(organiser, callup)
    if resp.callup_id != callup.id or resp.notice != NoticeOutcome.sent:
        raise CallUpError("not_called")
    if not is_open(callup, now):
        raise CallUpError("closed")
    if arrived:
        return _arrive(callup, resp, CheckVia.organiser, (None, None, None), now)
    return _leave(callup, resp, CheckVia.organiser, now, proposer_id=organiser.id)


# --- the QR code at the muster point ------------------------------------------------------------

QR_ACTIONS = ("in", "out")


QR_PURPOSE = "callup-qr"  # the links' salt (see ``checkin.codes.sign``)


def qr_token(callup: CallUp, action: str) -> str:
    """A signed link's token for checking in (or out) at the call-up's muster point."""
    if action not in QR_ACTIONS:
        raise ValueError(action)
    return codes.sign(QR_PURPOSE, {"c": callup.id, "a": action})


def read_qr(token: str) -> tuple[CallUp, str]:
    """The call-up and action a QR token stands for; ``bad_link`` when forged,
    ``link_expired`` after ``CALLUP_QR_HOURS``."""
    max_age = int(current_app.config.get("CALLUP_QR_HOURS", 24)) * 3600
    try:
        data = codes.unsign(QR_PURPOSE, token, max_age=max_age)
    except codes.ExpiredLink:
        raise CallUpError("link_expired") from None
    except codes.BadLink:
        raise CallUpError("bad_link") from None
    if data.get("a") not in QR_ACTIONS or not isinstance(data.get("c"), int):
        raise CallUpError("bad_link")
    callup = db.session.get(CallUp, data["c"])
    if callup is None:
        raise CallUpError("bad_link")
    return callup, data["a"]


# --- closing -----------------------------------------------------------------------------------

def close(organiser: User, callup: CallUp, summary: str, now: datetime | None = None
          ) -> CallUp:
    """Close the call-up with what was done; those still checked in are checked out now (in the
    organiser's name), and notices not sent yet are cancelled."""
    now = now or utcnow()
    _organiser(organiser, callup)
    if not is_open(callup, now):
        raise CallUpError("closed")
    summary = (summary or "").strip()
    if not summary:
        raise CallUpError("summary_needed", "summary")
    lock(callup)
    for resp in db.session.scalars(db.select(CallUpResponse).where(
            CallUpResponse.callup_id == callup.id, CallUpResponse.checked_in_at.is_not(None),
            CallUpResponse.checked_out_at.is_(None)).order_by(CallUpResponse.id)).all():
        _leave(callup, resp, CheckVia.organiser, now, proposer_id=organiser.id)
    callup.status, callup.summary = CallUpStatus.closed, summary
    callup.closed_at, callup.closed_by_id = now, organiser.id
    cancel_notices(callup)
    return callup


def call_off(organiser: User, callup: CallUp, now: datetime | None = None) -> CallUp:
    """Call the call-up off (a false alarm): notices not sent yet are cancelled, and those who
    said they were coming are told."""
    now = now or utcnow()
    _organiser(organiser, callup)
    if not is_open(callup, now):
        raise CallUpError("closed")
    lock(callup)
    if db.session.scalar(db.select(CallUpResponse.id).where(
            CallUpResponse.callup_id == callup.id,
            CallUpResponse.checked_in_at.is_not(None)).limit(1)):
        raise CallUpError("someone_arrived")
    callup.status, callup.closed_at, callup.closed_by_id = CallUpStatus.cancelled, now, \
        organiser.id
    cancel_notices(callup)
    coming = db.session.scalars(db.select(CallUpResponse.volunteer_id).where(
        CallUpResponse.callup_id == callup.id,
        CallUpResponse.answer.in_((CallUpAnswer.coming, CallUpAnswer.standby)))).all()
    inbox.notify(coming, KIND, "callup_cancelled", actor_id=organiser.id, callup=callup)
    return callup


# --- hours -------------------------------------------------------------------------------------

def confirm_hours(organiser: User, entry: ServiceHours, hours=None,
                  now: datetime | None = None) -> ServiceHours:
    """The organiser confirms a call-up's proposed hours (changing them if given)."""
    now = now or utcnow()
    if entry.callup is None:
        raise CallUpError("not_callup_hours")
    if not policy.may_see_callup(organiser, entry.callup):
        raise HoursError("not_allowed")
    if entry.volunteer_id == organiser.id:
        raise HoursError("own_hours")
    if entry.status == HoursStatus.confirmed:
        raise HoursError("already_confirmed")
    value = changed_hours(entry, hours)
    if value is not None:
        entry.hours = value
    entry.status = HoursStatus.confirmed
    entry.confirmed_by_id, entry.confirmed_at = organiser.id, now
    inbox.notify([entry.volunteer_id], "hours", "hours_confirmed", actor_id=organiser.id,
                 callup=entry.callup)
    return entry


def confirm_all(organiser: User, callup: CallUp, now: datetime | None = None) -> int:
    """Confirm every proposed hours entry of the call-up (but the organiser's own)."""
    _organiser(organiser, callup)
    n = 0
    for entry in db.session.scalars(db.select(ServiceHours).where(
            ServiceHours.callup_id == callup.id, ServiceHours.status == HoursStatus.proposed,
            ServiceHours.volunteer_id != organiser.id).order_by(ServiceHours.id)).all():
        confirm_hours(organiser, entry, now=now)
        n += 1
    return n


# --- time: reminders ----------------------------------------------------------------------------

def tick(now: datetime | None = None) -> int:
    """Remind, once, the called volunteers who have not answered an open call-up that still
    lacks people (not at night to those who asked). Returns how many were reminded."""
    now = now or utcnow()
    after = timedelta(minutes=int(current_app.config.get("CALLUP_REMIND_MINUTES", 15)))
    night = is_night(now)
    total = 0
    for callup in db.session.scalars(db.select(CallUp).where(
            CallUp.status == CallUpStatus.open, CallUp.quorum_at.is_(None),
            CallUp.reminded_at.is_(None), CallUp.created_at <= now - after,
            CallUp.ends_at > now).order_by(CallUp.id)):
        callup.reminded_at = now
        q = (db.select(CallUpResponse.volunteer_id)
             .join(VolunteerProfile, VolunteerProfile.user_id == CallUpResponse.volunteer_id)
             .where(CallUpResponse.callup_id == callup.id,
                    CallUpResponse.notice == NoticeOutcome.sent,
                    CallUpResponse.answer == CallUpAnswer.none))
        if night:
            q = q.where(VolunteerProfile.no_night_calls.is_(False))
        ids = list(db.session.scalars(q))
        notify_many(ids, "callup_reminder", callup, now)
        total += len(ids)
    return total


# --- lists -------------------------------------------------------------------------------------

def visible_clause(user: User):
    """SQL: the call-ups ``user`` organises (the SQL form of ``policy.may_see_callup``)."""
    if not policy.may_start_callups(user):
        return sa.false()
    offices = policy.office_villages(user)
    if offices is None:
        return sa.true()
    towns = policy.town_ids(user) or set()
    return sa.or_(CallUp.village_id.in_(offices or {-1}),
                  sa.and_(CallUp.village_id.is_(None),
                          CallUp.town_id.in_(towns if policy.holds(user, policy.TOWN_OFFICES)
                                             else {-1})))


# --- privacy -----------------------------------------------------------------------------------

@exporter("callups")
def _export(user: User):
    """My answers to call-ups, and when I checked in and out (the position I sent, too)."""
    rows = db.session.scalars(db.select(CallUpResponse).where(
        CallUpResponse.volunteer_id == user.id).order_by(CallUpResponse.id)).all()
    return [{"callup": r.callup_id, "title": r.callup.title, "notice": r.notice,
             "answer": r.answer, "answered_at": iso_utc(r.answered_at),
             "checked_in_at": iso_utc(r.checked_in_at), "checkin_via": r.checkin_via,
             "checkin_lat": r.checkin_lat, "checkin_lon": r.checkin_lon,
             "checked_out_at": iso_utc(r.checked_out_at),
             "hours": str(r.hours) if r.hours is not None else None} for r in rows]


@eraser
def _erase(user: User) -> None:
    """My positions go; the record that I came (and my hours) stays under the stand-in."""
    db.session.execute(sa.update(CallUpResponse).where(CallUpResponse.volunteer_id == user.id)
                       .values(checkin_lat=None, checkin_lon=None, checkin_accuracy_m=None)
                       .execution_options(synchronize_session=False))
