"""Check-in and check-out at service sessions and at tasks with a time window. Services never
commit.

Who may check in: a volunteer holding an accepted invitation for the session or task (its
staff, its helper), or a resident with a confirmed sign-up for the session. They check in once
and out once, within the check-in window (``CHECKIN_EARLY_MINUTES`` before the start until
``CHECKIN_LATE_HOURS`` after the end); a helper's check-out proposes the hours from check-in to
check-out, to the quarter hour, for the organiser's confirmation.

The organiser's code is a signed link (``codes.sign`` with the purpose ``checkin``) to
``/checkin/<token>``: on screen it names its window of ``CHECKIN_ROTATE_MINUTES`` and works for
that window and one more; printed, it names the end of the check-in window.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from volunteer import policy
from volunteer.auth.models import User
from volunteer.checkin import codes
from volunteer.checkin.codes import CheckVia
from volunteer.checkin.models import CheckIn
from volunteer.common import iso_utc, utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.geo import haversine_km
from volunteer.hours.services import propose_measured
from volunteer.i18n import localtime
from volunteer.invitations.models import Invitation
from volunteer.invitations.targets import target
from volunteer.issues.models import Issue
from volunteer.privacy import eraser, exporter
from volunteer.services.models import (
    ServiceSession,
    SessionSignup,
    SessionStatus,
)

PURPOSE = "checkin"  # the salt of the codes' links
KINDS = {"s": ServiceSession, "i": Issue}
DEFAULT_LENGTH = timedelta(hours=2)  # a task with a start and no end
#: Invitations and sign-ups whose holder may check in (``policy.may_check_in``).
HELPING = tuple(policy.CHECKIN_INVITATIONS)
SIGNED_UP = tuple(policy.CHECKIN_SIGNUPS)


class CheckStage(StrEnum):
    """Where someone stands at a session or task: not checked in yet, here, or left."""

    away = "away"
    here = "here"
    left = "left"


class CheckInError(DomainError):
    """A check-in or check-out is refused; ``code`` says why."""

    messages = {
        "bad_link": _l("This check-in code is not valid."),
        "link_expired": _l("This check-in code has expired. Please scan the code on the "
                           "organiser's screen again, or ask for a new one."),
        "not_involved": _l("You are not invited or signed up for this, so you cannot check "
                           "in here. Please ask the organiser."),
        "not_allowed": _l("Only the organisers of this session or task can do this."),
        "no_time": _l("This task has no time set, so there is no check-in. The organiser "
                      "can set when help is needed."),
        "cancelled": _l("This session was cancelled."),
        "too_early": _l("Check-in opens at %(when)s."),
        "closed": _l("Check-in closed at %(when)s."),
        "already_in": _l("You checked in already, at %(when)s. Check out when you leave."),
        "not_in": _l("Please check in first."),
        "already_out": _l("You have checked out already."),
        "bad_position": _l("The position sent is not valid; nothing was recorded."),
    }
    statuses = {"bad_link": 404, "link_expired": 410, "not_involved": 403, "not_allowed": 403,
                "bad_position": 422}
    defaults = {"when": ""}


# --- what a code stands for ------------------------------------------------------------------

def kind_of(obj) -> str:
    return "s" if isinstance(obj, ServiceSession) else "i"


@dataclass(frozen=True)
class Window:
    """When one may check in: from ``opens`` (before the start) until ``closes`` (after the
    end)."""

    starts: datetime
    ends: datetime
    opens: datetime
    closes: datetime


def window(obj) -> Window | None:
    """The check-in window of a session or issue (None: a task without a time, or a
    cancelled session)."""
    if isinstance(obj, ServiceSession) and obj.status == SessionStatus.cancelled:
        return None
    t = target(obj)
    if t.starts is None:
        return None
    ends = t.ends if t.ends is not None and t.ends > t.starts else t.starts + DEFAULT_LENGTH
    config = current_app.config
    return Window(t.starts, ends, t.starts - codes.minutes(config["CHECKIN_EARLY_MINUTES"]),
                  ends + codes.minutes(60 * float(config["CHECKIN_LATE_HOURS"])))


def _rotation() -> int:
    return codes.rotate_seconds(current_app.config["CHECKIN_ROTATE_MINUTES"])


@dataclass(frozen=True)
class Code:
    token: str
    valid_until: datetime  # the last moment the token works
    refresh_in: int  # seconds until the screen should show the next one
    window: int | None = None  # the on-screen window's number (None: printed)


def screen_code(obj, now: datetime | None = None) -> Code:
    """The on-screen code of this moment: it names its window, so it works for that window
    and one more (a photo of it is useless minutes later)."""
    now = now or utcnow()
    seconds = _rotation()
    w = codes.window_of(now, seconds)
    token = codes.sign(PURPOSE, {"k": kind_of(obj), "id": obj.id, "w": w})
    ends = codes.window_end(w, seconds)
    return Code(token, codes.window_end(w + codes.GRACE_WINDOWS, seconds),
                max(1, int((ends - now).total_seconds()) + 1), w)


def printed_code(obj, win: Window) -> Code:
    """The code to print and put up at the grid point: it works until the check-in closes."""
    token = codes.sign(PURPOSE, {"k": kind_of(obj), "id": obj.id,
                                 "u": codes.epoch_seconds(win.closes)})
    return Code(token, win.closes, 0)


def read_code(token: str, now: datetime | None = None):
    """The session or issue a code stands for; ``bad_link`` when forged (or a call-up's),
    ``link_expired`` when its window (and the grace) or its printed day is over."""
    now = now or utcnow()
    try:
        data = codes.unsign(PURPOSE, token)
    except (codes.BadLink, codes.ExpiredLink):
        raise CheckInError("bad_link") from None
    model, ident = KINDS.get(data.get("k")), data.get("id")
    if model is None or not isinstance(ident, int) or isinstance(ident, bool):
        raise CheckInError("bad_link")
    if "w" in data:
        if not isinstance(data["w"], int) or data["w"] > codes.window_of(now, _rotation()):
            raise CheckInError("bad_link")
        if not codes.window_fresh(data["w"], now, _rotation()):
            raise CheckInError("link_expired")
    elif isinstance(data.get("u"), int) and not isinstance(data.get("u"), bool):
        if codes.epoch_seconds(now) > data["u"]:
            raise CheckInError("link_expired")
    else:
        raise CheckInError("bad_link")
    obj = db.session.get(model, ident)
    if obj is None:
        raise CheckInError("bad_link")
    return obj


# --- who checks in -----------------------------------------------------------------------------

def place_of(user: User | None, obj) -> Invitation | SessionSignup | None:
    """What entitles ``user`` to check in to the session or issue (``policy.may_check_in``,
    as SQL): their accepted invitation (staff, helper), else their confirmed sign-up (a
    resident at a session); None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    t = target(obj)
    inv = db.session.scalar(db.select(Invitation).where(
        t.column() == obj.id, Invitation.volunteer_id == user.id,
        Invitation.status.in_(HELPING)).limit(1))
    if inv is not None or not isinstance(obj, ServiceSession):
        return inv
    return db.session.scalar(db.select(SessionSignup).where(
        SessionSignup.session_id == obj.id, SessionSignup.user_id == user.id,
        SessionSignup.status.in_(SIGNED_UP)).limit(1))


def record_of(place: Invitation | SessionSignup) -> CheckIn | None:
    """The check-in of an invitation or sign-up, if any."""
    column = CheckIn.invitation_id if isinstance(place, Invitation) else CheckIn.signup_id
    return db.session.scalar(db.select(CheckIn).where(column == place.id))


def stage(record: CheckIn | None) -> CheckStage:
    if record is None:
        return CheckStage.away
    return CheckStage.here if record.checked_out_at is None else CheckStage.left


def activity_of(place: Invitation | SessionSignup):
    """The session or issue an invitation or sign-up is for."""
    if isinstance(place, SessionSignup):
        return place.session
    return place.session if place.session_id else place.issue


def _when(moment: datetime) -> str:
    return localtime(moment, "short")


def _open_window(obj, now: datetime) -> Window:
    if isinstance(obj, ServiceSession) and obj.status == SessionStatus.cancelled:
        raise CheckInError("cancelled")
    win = window(obj)
    if win is None:
        raise CheckInError("no_time")
    if now < win.opens:
        raise CheckInError("too_early", params={"when": _when(win.opens)})
    if now > win.closes:
        raise CheckInError("closed", params={"when": _when(win.closes)})
    return win


def check_in(user: User, place: Invitation | SessionSignup, via: str = CheckVia.button,
             lat=None, lon=None, accuracy=None, now: datetime | None = None) -> CheckIn:
    """Record arrival (the time, and the phone's position when allowed) within the check-in
    window. A second check-in changes nothing and says so."""
    now = now or utcnow()
    _entitled(user, place)
    try:
        position = codes.parse_position(lat, lon, accuracy)
    except codes.PositionError as exc:
        raise CheckInError("bad_position", exc.field) from None
    obj = activity_of(place)
    record = record_of(place)
    if record is not None:
        if record.checked_out_at is not None:
            raise CheckInError("already_out")
        raise CheckInError("already_in", params={"when": _when(record.checked_in_at)})
    _open_window(obj, now)
    record = CheckIn(user_id=place_user(place), checked_in_at=now, checkin_via=via,
                     created_at=now)
    if isinstance(place, Invitation):
        record.invitation_id, record.session_id, record.issue_id = \
            place.id, place.session_id, place.issue_id
    else:
        record.signup_id, record.session_id = place.id, place.session_id
    record.checkin_lat, record.checkin_lon, record.checkin_accuracy_m = position
    db.session.add(record)
    db.session.flush()
    return record


def check_out(user: User, place: Invitation | SessionSignup, via: str = CheckVia.button,
              now: datetime | None = None) -> CheckIn:
    """Record leaving; a helper's hours from check-in to check-out (to the quarter hour, at
    most until the check-in closed) are proposed to the organiser."""
    now = now or utcnow()
    _entitled(user, place)
    record = record_of(place)
    if record is None:
        raise CheckInError("not_in")
    if record.checked_out_at is not None:
        raise CheckInError("already_out")
    win = window(activity_of(place))
    record.checked_out_at = codes.capped(now, record.checked_in_at,
                                         win.closes if win is not None else None)
    record.checkout_via = via
    if isinstance(place, Invitation):
        propose_measured(place, codes.quarter_hours(record.checked_in_at,
                                                    record.checked_out_at), now)
    return record


def place_user(place: Invitation | SessionSignup) -> int:
    return place.volunteer_id if isinstance(place, Invitation) else place.user_id


def _entitled(user: User, place: Invitation | SessionSignup) -> None:
    """Only the holder of a live invitation or sign-up checks in with it."""
    if not policy.may_check_in(user, place):
        raise CheckInError("not_involved")


def toggle(user: User, obj, via: str, lat=None, lon=None, accuracy=None,
           now: datetime | None = None) -> tuple[CheckStage, CheckIn]:
    """A scan of the code: check in, or (when in already) check out. Returns the new stage."""
    place = place_of(user, obj)
    if place is None:
        raise CheckInError("not_involved")
    if stage(record_of(place)) == CheckStage.here:
        return CheckStage.left, check_out(user, place, via, now)
    return CheckStage.here, check_in(user, place, via, lat, lon, accuracy, now)


# --- what organisers see -----------------------------------------------------------------------

def records_of(obj) -> list[CheckIn]:
    """Every check-in of a session (staff and residents) or an issue's helpers, in one query."""
    column = CheckIn.session_id if isinstance(obj, ServiceSession) else CheckIn.issue_id
    return list(db.session.scalars(db.select(CheckIn).where(column == obj.id)
                                   .order_by(CheckIn.checked_in_at, CheckIn.id)))


@dataclass
class Shown:
    """A check-in as a viewer sees it: the times, how, and the distance to the place (rounded,
    for organisers only; never the position)."""

    checked_in_at: datetime
    checked_out_at: datetime | None
    via: str
    distance_m: int | None

    @property
    def stage(self) -> CheckStage:
        return CheckStage.here if self.checked_out_at is None else CheckStage.left


def shown(viewer: User | None, obj, record: CheckIn) -> Shown:
    t = target(obj)
    metres = None
    if record.checkin_lat is not None and t.lat is not None:
        metres = float(haversine_km(t.lat, t.lon, record.checkin_lat, record.checkin_lon)) * 1000
    return Shown(record.checked_in_at, record.checked_out_at, record.checkin_via,
                 policy.checkin_distance(viewer, obj, metres))


def board(viewer: User | None, obj) -> dict:
    """The check-ins of a session or issue by invitation and by sign-up, as ``viewer`` sees
    them, with the counts the code page shows."""
    by_inv, by_signup = {}, {}
    for r in records_of(obj):
        s = shown(viewer, obj, r)
        if r.invitation_id is not None:
            by_inv[r.invitation_id] = s
        elif r.signup_id is not None:
            by_signup[r.signup_id] = s
    everyone = [*by_inv.values(), *by_signup.values()]
    return {"invitations": by_inv, "signups": by_signup, "any": bool(everyone),
            "here": sum(1 for s in everyone if s.checked_out_at is None),
            "left": sum(1 for s in everyone if s.checked_out_at is not None)}


def expected(obj) -> int:
    """How many may check in: accepted helpers (and confirmed residents of a session)."""
    t = target(obj)
    n = db.session.scalar(db.select(sa.func.count(Invitation.id)).where(
        t.column() == obj.id, Invitation.status.in_(HELPING))) or 0
    if isinstance(obj, ServiceSession):
        n += db.session.scalar(db.select(sa.func.count(SessionSignup.id)).where(
            SessionSignup.session_id == obj.id, SessionSignup.status.in_(SIGNED_UP))) or 0
    return n


def organised(user: User, obj) -> None:
    """Refuse anyone but the organisers (``policy.may_run_checkin``)."""
    if not policy.may_run_checkin(user, obj):
        raise CheckInError("not_allowed")


# --- one's own page ------------------------------------------------------------------------------

@dataclass
class Mine:
    """A person's check-in at their task or session, for their own page."""

    record: CheckIn | None
    window: Window | None
    now: datetime

    @property
    def stage(self) -> CheckStage:
        return stage(self.record)

    @property
    def is_open(self) -> bool:
        w = self.window
        return w is not None and w.opens <= self.now <= w.closes

    @property
    def can_check_in(self) -> bool:
        return self.record is None and self.is_open

    @property
    def can_check_out(self) -> bool:
        return self.stage == CheckStage.here


def mine(place: Invitation | SessionSignup, now: datetime | None = None) -> Mine:
    """The check-in state of one's own invitation or sign-up."""
    return Mine(record_of(place), window(activity_of(place)), now or utcnow())


def mine_for_signups(signups: list[SessionSignup], now: datetime | None = None
                     ) -> dict[int, Mine]:
    """``mine`` for a page of sign-ups, in one query."""
    now = now or utcnow()
    records = {r.signup_id: r for r in db.session.scalars(db.select(CheckIn).where(
        CheckIn.signup_id.in_([s.id for s in signups] or [-1])))}
    return {s.id: Mine(records.get(s.id), window(s.session), now) for s in signups}


# --- privacy -----------------------------------------------------------------------------------

@exporter("checkins")
def _export(user: User):
    """When I checked in and out of sessions and tasks (and the position I sent)."""
    rows = db.session.scalars(db.select(CheckIn).where(CheckIn.user_id == user.id)
                              .order_by(CheckIn.id)).all()
    return [{"session": r.session_id, "issue": r.issue_id,
             "checked_in_at": iso_utc(r.checked_in_at), "checkin_via": r.checkin_via,
             "checkin_lat": r.checkin_lat, "checkin_lon": r.checkin_lon,
             "checked_out_at": iso_utc(r.checked_out_at)} for r in rows]


@eraser
def _erase(user: User) -> None:
    """My positions go; a helper's record that they came stays (it backs the hours on record),
    a resident's goes with their sign-ups."""
    db.session.execute(sa.delete(CheckIn).where(CheckIn.user_id == user.id,
                                                CheckIn.signup_id.is_not(None))
                       .execution_options(synchronize_session=False))
    db.session.execute(sa.update(CheckIn).where(CheckIn.user_id == user.id)
                       .values(checkin_lat=None, checkin_lon=None, checkin_accuracy_m=None)
                       .execution_options(synchronize_session=False))
