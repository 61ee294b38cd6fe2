"""Service sessions: scheduling, residents' sign-ups with a waiting list, cancellation,
attendance with the staff's hours, reminders. Services never commit.

Sign-ups lock the session row first (the same pattern as invitations), so two residents
taking the last place at once cannot both get it: the second goes on the waiting list.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from volunteer import policy
from volunteer.auth.models import Role, User
from volunteer.common import SHANGHAI, iso_utc, to_utc, utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.geo import haversine_km
from volunteer.hours.models import ServiceHours
from volunteer.hours.services import confirm, propose
from volunteer.inbox import services as inbox
from volunteer.inbox.models import Notification
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.invitations.services import close_waiting
from volunteer.invitations.targets import target
from volunteer.org.models import Grid, GridPoint, ServiceItem, Village
from volunteer.policy import may_run_point
from volunteer.privacy import eraser, exporter
from volunteer.services.models import (
    ServiceSession,
    SessionSignup,
    SessionStatus,
    SignupStatus,
)
from volunteer.services.schedule import Recurrence, occurrences

MAX_CAPACITY = 500
MAX_STAFF = 20


class SessionError(DomainError):
    """Refused; ``code`` says why, ``field`` names the form field."""

    messages = {
        "cancelled": _l("This session was cancelled."),
        "past": _l("This session has already started or is over."),
        "already": _l("You are already signed up for this session."),
        "not_yours": _l("This sign-up is not yours."),
        "not_signed_up": _l("You are not signed up for this session."),
        "not_allowed": _l("Only the grid leader, the village admin or the town admin can do "
                          "this."),
        "not_scheduled": _l("This session is no longer scheduled."),
        "capacity_range": _l("Places must be from 1 to 500."),
        "staff_range": _l("Volunteers needed must be from 0 to 20."),
        "capacity_below": _l("More residents are signed up than that; the places cannot go "
                             "below them."),
        "staff_below": _l("More volunteers have accepted than that."),
        "already_held": _l("Attendance was already taken."),
        "not_started": _l("Attendance can be taken once the session has started."),
        "item_inactive": _l("This service is not offered at the moment."),
    }
    statuses = {"not_allowed": 403, "not_yours": 404, "capacity_range": 422,
                "staff_range": 422, "capacity_below": 422, "staff_below": 422,
                "item_inactive": 422}


def can_manage_point(user: User | None, point: GridPoint) -> bool:
    """The town admin, the point's 村居 admins and its grid's leaders schedule sessions there."""
    return may_run_point(user, point)


def managed_points_clause(user: User):
    """SQL: the grid points ``user`` may schedule sessions at."""
    offices = policy.office_villages(user)
    if offices is None:
        return sa.true()
    return GridPoint.grid_id.in_(db.select(Grid.id).where(sa.or_(
        Grid.village_id.in_(offices or {-1}),
        Grid.id.in_(user.grid_ids(Role.grid_leader) or {-1}))))


def _lock(session: ServiceSession) -> None:
    db.session.execute(sa.update(ServiceSession).where(ServiceSession.id == session.id)
                       .values(updated_at=ServiceSession.updated_at)
                       .execution_options(synchronize_session=False))


def _check_numbers(capacity: int, staff_needed: int) -> None:
    if not 1 <= capacity <= MAX_CAPACITY:
        raise SessionError("capacity_range", "capacity")
    if not 0 <= staff_needed <= MAX_STAFF:
        raise SessionError("staff_range", "staff_needed")


# --- scheduling -------------------------------------------------------------------------------

def schedule(user: User, item: ServiceItem, point: GridPoint, recurrence: Recurrence,
             capacity: int, staff_needed: int, note: str | None = None,
             today: date | None = None) -> list[ServiceSession]:
    """Make one session, or a series from a recurrence rule. All or nothing."""
    if not can_manage_point(user, point):
        raise SessionError("not_allowed")
    if not item.active:
        raise SessionError("item_inactive", "item")
    _check_numbers(capacity, staff_needed)
    today = today or datetime.now(SHANGHAI).date()
    times = occurrences(recurrence, today)  # raises ScheduleError
    now = utcnow()
    series = secrets.token_hex(8) if len(times) > 1 else None
    made = []
    for start, end in times:
        starts_at = to_utc(start)
        if starts_at <= now:
            continue  # today's session whose time has passed
        made.append(ServiceSession(item=item, point=point, starts_at=starts_at,
                                   ends_at=to_utc(end), capacity=capacity,
                                   staff_needed=staff_needed, note=note or None,
                                   series=series, rule=recurrence.text(),
                                   created_by_id=user.id, created_at=now))
    if not made:
        raise SessionError("past", "start")
    db.session.add_all(made)
    db.session.flush()
    return made


def update(user: User, session: ServiceSession, capacity: int, staff_needed: int,
           note: str | None) -> list[SessionSignup]:
    """Change capacity, staff and note; never below the residents already signed up. A larger
    capacity moves people up from the waiting list (they are returned)."""
    if not can_manage_point(user, session.point):
        raise SessionError("not_allowed")
    if session.status != SessionStatus.scheduled:
        raise SessionError("not_scheduled")
    _check_numbers(capacity, staff_needed)
    _lock(session)
    confirmed = _count(session, SignupStatus.confirmed)
    if capacity < confirmed:
        raise SessionError("capacity_below", "capacity")
    staffed = db.session.scalar(db.select(sa.func.count(Invitation.id)).where(
        Invitation.session_id == session.id,
        Invitation.status.in_((InvitationStatus.accepted, InvitationStatus.done))))
    if staff_needed < staffed:
        raise SessionError("staff_below", "staff_needed")
    session.capacity, session.staff_needed, session.note = capacity, staff_needed, note or None
    return _move_up(session, capacity - confirmed)


def cancel(user: User, session: ServiceSession, now: datetime | None = None) -> int:
    """Cancel a coming session; everyone signed up and every staff member is told."""
    if not can_manage_point(user, session.point):
        raise SessionError("not_allowed")
    if session.status != SessionStatus.scheduled:
        raise SessionError("not_scheduled")
    now = now or utcnow()
    _lock(session)
    session.status = SessionStatus.cancelled
    told = 0
    for s in session.signups:
        if s.status in (SignupStatus.confirmed, SignupStatus.waiting):
            inbox.notify([s.user_id], "sessions", "session_cancelled", session=session)
            told += 1
    for inv in db.session.scalars(db.select(Invitation).where(
            Invitation.session_id == session.id, Invitation.status == InvitationStatus.accepted)):
        inv.status = InvitationStatus.withdrawn
        inv.closed_reason = "issue_closed"
        inbox.notify([inv.volunteer_id], "invitation", "issue_closed", invitation=inv,
                     session=session)
    close_waiting(target(session), "issue_closed", now)
    return told


# --- residents' sign-ups ----------------------------------------------------------------------

def _count(session: ServiceSession, status: SignupStatus) -> int:
    return db.session.scalar(db.select(sa.func.count(SessionSignup.id)).where(
        SessionSignup.session_id == session.id, SessionSignup.status == status)) or 0


def sign_up(user: User, session: ServiceSession, now: datetime | None = None) -> SessionSignup:
    """A place if one is free, else a place on the waiting list."""
    now = now or utcnow()
    if session.status == SessionStatus.cancelled:
        raise SessionError("cancelled")
    if session.status != SessionStatus.scheduled or session.starts_at <= now:
        raise SessionError("past")
    _lock(session)
    signup = db.session.scalar(db.select(SessionSignup).where(
        SessionSignup.session_id == session.id, SessionSignup.user_id == user.id)
        .execution_options(populate_existing=True))
    if signup is not None and signup.status in (SignupStatus.confirmed, SignupStatus.waiting):
        raise SessionError("already")
    full = _count(session, SignupStatus.confirmed) >= session.capacity
    if signup is None:
        signup = SessionSignup(session=session, user_id=user.id, created_at=now)
        db.session.add(signup)
    signup.status = SignupStatus.waiting if full else SignupStatus.confirmed
    signup.queued_at = now
    signup.reminded_at = None
    db.session.flush()
    return signup


def cancel_signup(user: User, signup: SessionSignup, now: datetime | None = None
                  ) -> list[SessionSignup]:
    """Give up a place (or a place in the queue); the first waiting moves up."""
    now = now or utcnow()
    session = signup.session
    if signup.user_id != user.id:
        raise SessionError("not_yours")
    if signup.status not in (SignupStatus.confirmed, SignupStatus.waiting):
        raise SessionError("not_signed_up")
    if session.status != SessionStatus.scheduled or session.starts_at <= now:
        raise SessionError("past")
    _lock(session)
    was = signup.status
    signup.status = SignupStatus.cancelled
    db.session.flush()
    if was != SignupStatus.confirmed:
        return []
    return _move_up(session, session.capacity - _count(session, SignupStatus.confirmed))


def _move_up(session: ServiceSession, free: int) -> list[SessionSignup]:
    """Give ``free`` places to the first on the waiting list, and tell them."""
    if free <= 0:
        return []
    moved = list(db.session.scalars(db.select(SessionSignup).where(
        SessionSignup.session_id == session.id, SessionSignup.status == SignupStatus.waiting)
        .order_by(SessionSignup.queued_at, SessionSignup.id).limit(free)))
    for s in moved:
        s.status = SignupStatus.confirmed
        inbox.notify([s.user_id], "sessions", "signup_moved_up", session=session)
    db.session.flush()
    return moved


# --- after the session ------------------------------------------------------------------------

def session_hours(session: ServiceSession) -> Decimal:
    """The session's length in hours (one decimal), at most 24."""
    seconds = (session.ends_at - session.starts_at).total_seconds()
    return min(Decimal(24), Decimal(str(seconds / 3600)).quantize(Decimal("0.1"),
                                                                  rounding=ROUND_HALF_UP))


def take_attendance(user: User, session: ServiceSession, attended: set[int],
                    staff_present: set[int], now: datetime | None = None) -> None:
    """Record who came (residents by sign-up id, staff by invitation id). Staff who came are
    done, with the session's hours confirmed on their service record (an organiser's own hours
    wait for another organiser); staff who did not come are no-shows."""
    now = now or utcnow()
    if not can_manage_point(user, session.point):
        raise SessionError("not_allowed")
    if session.status == SessionStatus.cancelled:
        raise SessionError("cancelled")
    if session.status == SessionStatus.held:
        raise SessionError("already_held")
    if session.starts_at > now:
        raise SessionError("not_started")
    _lock(session)
    for s in session.signups:
        if s.status == SignupStatus.confirmed:
            s.status = SignupStatus.attended if s.id in attended else SignupStatus.absent
    hours = session_hours(session)
    for inv in db.session.scalars(db.select(Invitation).where(
            Invitation.session_id == session.id, Invitation.status == InvitationStatus.accepted)):
        if inv.id not in staff_present:
            inv.status = InvitationStatus.no_show
            continue
        inv.status = InvitationStatus.done
        db.session.flush()
        if inv.volunteer_id == user.id:
            propose(user, inv, hours, None, now)
        elif db.session.scalar(db.select(ServiceHours.id).where(
                ServiceHours.invitation_id == inv.id)) is None:
            confirm(user, inv, hours, now)
    session.status = SessionStatus.held
    session.held_at = now


# --- finding sessions -------------------------------------------------------------------------

@dataclass
class NextSession:
    session: ServiceSession
    distance_m: int | None


def upcoming(now: datetime | None = None, days: int = 60):
    """SQL: scheduled sessions that have not started, within ``days``."""
    now = now or utcnow()
    return db.select(ServiceSession).where(
        ServiceSession.status == SessionStatus.scheduled, ServiceSession.starts_at > now,
        ServiceSession.starts_at <= now + timedelta(days=days))


def next_by_item(lat: float | None = None, lon: float | None = None,
                 village_id: int | None = None, max_km: float = 5.0,
                 now: datetime | None = None, town_id: int | None = None
                 ) -> dict[int, NextSession]:
    """The next session of each service item near a place (within ``max_km``, across town
    lines), or in a 村居, or in a town."""
    from sqlalchemy.orm import selectinload

    q = upcoming(now).options(selectinload(ServiceSession.point).selectinload(GridPoint.grid))
    if village_id is not None:
        q = q.join(GridPoint).join(Grid).where(Grid.village_id == village_id)
    elif town_id is not None:
        q = q.join(GridPoint).join(Grid).join(Village).where(Village.town_id == town_id)
    out: dict[int, NextSession] = {}
    for s in db.session.scalars(q.order_by(ServiceSession.starts_at).limit(3000)):
        if s.item_id in out:
            continue
        d = None
        if lat is not None and lon is not None:
            km = float(haversine_km(lat, lon, s.point.lat, s.point.lon))
            if km > max_km:
                continue
            d = int(round(km * 1000))
        out[s.item_id] = NextSession(s, d)
    return out


def tick(now: datetime | None = None) -> int:
    """Remind residents of a session starting within a day, once each. Idempotent."""
    now = now or utcnow()
    n = 0
    for s in db.session.scalars(db.select(SessionSignup).join(ServiceSession).where(
            SessionSignup.status == SignupStatus.confirmed, SessionSignup.reminded_at.is_(None),
            ServiceSession.status == SessionStatus.scheduled, ServiceSession.starts_at > now,
            ServiceSession.starts_at <= now + timedelta(days=1))):
        s.reminded_at = now
        inbox.notify([s.user_id], "sessions", "session_reminder", session=s.session)
        n += 1
    return n


#: How long after a session ends its organisers are reminded to take the attendance.
ATTENDANCE_DUE = timedelta(hours=2)


def attendance_due(now: datetime | None = None) -> int:
    """Remind the organisers of each session that ended a while ago without its attendance
    (so its staff's hours wait in limbo), once per session. Idempotent."""
    now = now or utcnow()
    reminded = db.select(Notification.session_id).where(Notification.event == "attendance_due",
                                                        Notification.session_id.is_not(None))
    sessions = db.session.scalars(db.select(ServiceSession).where(
        ServiceSession.status == SessionStatus.scheduled, ServiceSession.held_at.is_(None),
        ServiceSession.ends_at < now - ATTENDANCE_DUE, ServiceSession.id.not_in(reminded))
        .order_by(ServiceSession.id)).all()
    for s in sessions:
        inbox.notify(target(s).organisers(), "team", "attendance_due", session=s)
    return len(sessions)


# --- privacy ----------------------------------------------------------------------------------

@exporter("session_signups")
def _export(user: User):
    rows = db.session.scalars(db.select(SessionSignup).where(SessionSignup.user_id == user.id)
                              .order_by(SessionSignup.id)).all()
    return [{"session": s.session_id, "service": s.session.item.name,
             "at": iso_utc(s.session.starts_at), "status": s.status} for s in rows]


@eraser
def _erase(user: User) -> None:
    """Coming places are given back (the waiting list moves up); past sign-ups go."""
    now = utcnow()
    for s in db.session.scalars(db.select(SessionSignup).where(
            SessionSignup.user_id == user.id)):
        if s.status in (SignupStatus.confirmed, SignupStatus.waiting) \
                and s.session.starts_at > now and s.session.status == SessionStatus.scheduled:
            cancel_signup(user, s, now)
    db.session.execute(sa.delete(SessionSignup).where(SessionSignup.user_id == user.id))
