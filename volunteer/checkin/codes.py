"""What every check-in shares (call-ups, sessions, tasks): signed links with a purpose, the
rotating on-screen window with its grace, the quarter-hour rounding of hours, and the phone's
position as sent by the page. Pure but for ``current_app``'s secret key; no models."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from volunteer.geo import parse_point

QUARTER = Decimal("0.25")
MAX_HOURS = Decimal(24)
MIN_ROTATE_SECONDS = 5  # a shorter window could not be scanned before it changes
GRACE_WINDOWS = 1  # a rotating code still works for one window after it left the screen


class CheckVia(StrEnum):
    """How a check-in or check-out was recorded: the button on the person's own page (with the
    phone's position when allowed), a QR code, or by the organiser."""

    button = "button"
    qr = "qr"
    organiser = "organiser"


class BadLink(Exception):
    """A link that was not signed by us (or for another purpose), or carries nonsense."""


class ExpiredLink(Exception):
    """A link signed by us whose time is over."""


# --- signed links ------------------------------------------------------------------------------

def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # The purpose is the salt: a call-up's link never opens a session's check-in, and back.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def sign(purpose: str, data: dict) -> str:
    """A URL-safe token of ``data`` signed for ``purpose``."""
    return _serializer(purpose).dumps(data)


def unsign(purpose: str, token: str, max_age: int | None = None) -> dict:
    """The data of a token signed for ``purpose``; ``ExpiredLink`` when older than ``max_age``
    seconds, ``BadLink`` when forged, for another purpose, or not a mapping."""
    try:
        data = _serializer(purpose).loads((token or "")[:500], max_age=max_age)
    except SignatureExpired:
        raise ExpiredLink from None
    except BadSignature:
        raise BadLink from None
    if not isinstance(data, dict):
        raise BadLink
    return data


# --- the rotating window -----------------------------------------------------------------------

def rotate_seconds(minutes) -> int:
    """The length of one on-screen window in seconds (from a setting in minutes)."""
    try:
        seconds = round(float(minutes) * 60)
    except (TypeError, ValueError):
        seconds = 180
    return max(MIN_ROTATE_SECONDS, seconds)


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def window_of(moment: datetime, seconds: int) -> int:
    """The number of the on-screen window ``moment`` (UTC) falls in."""
    return int(_epoch(moment) // seconds)


def window_end(window: int, seconds: int) -> datetime:
    """When window number ``window`` ends (naive UTC, as stored)."""
    return datetime.fromtimestamp((window + 1) * seconds, UTC).replace(tzinfo=None)


def window_fresh(window, moment: datetime, seconds: int, grace: int = GRACE_WINDOWS) -> bool:
    """Whether a code of window ``window`` still works at ``moment``: its own window, or up to
    ``grace`` windows after it (a code scanned as it changed on the screen)."""
    if not isinstance(window, int) or isinstance(window, bool):
        return False
    now = window_of(moment, seconds)
    return now - grace <= window <= now


def epoch_seconds(moment: datetime) -> int:
    """A stored (UTC) time as whole seconds since 1970, for a token."""
    return int(_epoch(moment))


def from_epoch(seconds: int) -> datetime:
    """The inverse of ``epoch_seconds`` (naive UTC)."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


# --- hours -------------------------------------------------------------------------------------

def quarter_hours(start: datetime, end: datetime) -> Decimal:
    """The time from ``start`` to ``end`` in hours, rounded to the nearest quarter hour (at
    least a quarter, at most 24)."""
    hours = Decimal(max((end - start).total_seconds(), 0)) / Decimal(3600)
    quarters = (hours / QUARTER).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return min(max(quarters * QUARTER, QUARTER), MAX_HOURS).quantize(Decimal("0.01"))


def capped(end: datetime, start: datetime, latest: datetime | None) -> datetime:
    """A check-out time: not before the check-in, not after ``latest`` (a check-out forgotten
    until the next day counts until the check-in closed)."""
    end = max(end, start)
    return min(end, latest) if latest is not None and latest >= start else end


# --- the phone's position ------------------------------------------------------------------------

class PositionError(ValueError):
    """The position sent is not one; ``field`` names the value at fault."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


Position = tuple[float | None, float | None, float | None]
NO_POSITION: Position = (None, None, None)


def parse_position(lat, lon, accuracy) -> Position:
    """(lat, lon, accuracy in metres) from the page's hidden fields; all None when the phone
    sent nothing (refused, unavailable or slow); ``PositionError`` when it is not a position."""
    if lat in (None, "") and lon in (None, ""):
        return NO_POSITION
    point = parse_point(lat, lon)
    if point is None:
        raise PositionError("lat")
    acc = None
    if accuracy not in (None, ""):
        try:
            acc = float(accuracy)
        except (TypeError, ValueError):
            raise PositionError("accuracy") from None
        if not 0 <= acc <= 100_000:  # also refuses nan
            raise PositionError("accuracy")
    return point[0], point[1], acc


def minutes(value) -> timedelta:
    """A setting in minutes as a timedelta (a bad value: none)."""
    try:
        return timedelta(minutes=max(0.0, float(value)))
    except (TypeError, ValueError):
        return timedelta(0)
