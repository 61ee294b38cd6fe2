"""Small helpers shared by every feature: time, phone numbers, masking, text checks, numbers
and page numbers from a request."""
from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, request
from flask_babel import gettext as _
from redis.exceptions import RedisError

from volunteer.extensions import cache, db

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
_TAG_RE = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")
_INT_RE = re.compile(r"[+-]?[0-9]{1,12}")  # ASCII digits only: "²" and "١" pass isdigit()
#: The largest id a form or a query string may name (a 32-bit integer column).
INT_MAX = 2**31 - 1
#: The highest page number a list accepts; a larger one is no page of ours.
MAX_PAGE = 100_000
log = logging.getLogger(__name__)


def utcnow() -> datetime:
    """The current time in UTC, naive (how every timestamp is stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_local(value: datetime | None) -> datetime | None:
    """A stored (naive UTC) time as an aware Asia/Shanghai time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def to_utc(value: datetime | None) -> datetime | None:
    """A time as stored (naive UTC); naive input is taken as Asia/Shanghai local time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(UTC).replace(tzinfo=None)


def iso_utc(value: datetime | None) -> str | None:
    """A stored time as ISO 8601 with a Z, for JSON."""
    return value.isoformat() + "Z" if value else None


def normalize_phone(raw: str | None) -> str:
    """Strip spaces, dashes and a +86 / 86 prefix from a mobile number."""
    digits = re.sub(r"[\s\-()（）]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def is_phone(value: str) -> bool:
    """True for an 11-digit mainland mobile number (1[3-9]xxxxxxxxx)."""
    return bool(PHONE_RE.match(value or ""))


def mask_phone(phone: str | None) -> str:
    """138****0000."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def mask_id(number: str | None) -> str:
    """An identity document number as every page shows it: 310***********123X."""
    if not number:
        return ""
    keep = 3 if len(number) > 10 else 1
    return number[:keep] + "*" * max(len(number) - keep - 4, 2) + number[-4:]


def mask_name(name: str | None) -> str:
    """童** for Chinese names, J*** for Latin ones."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, min(len(name) - 1, 3))


def has_markup(value: str | None) -> bool:
    """True when text contains something that looks like an HTML tag."""
    return bool(value and _TAG_RE.search(value))


def parse_int(value, lo: int = 1, hi: int = INT_MAX) -> int | None:
    """``value`` as an int when it is written in ASCII digits and lies in [lo, hi]; else None.
    Use it instead of ``str.isdigit()``, which accepts "²" that ``int()`` refuses."""
    if not isinstance(value, str) or not _INT_RE.fullmatch(value.strip()):
        return None
    number = int(value.strip())
    return number if lo <= number <= hi else None


def page_arg(name: str = "page") -> int:
    """The page number in the query string: 1 when absent, and 1 with a message when it is
    not a page number (not a number, below 1, or past ``MAX_PAGE``)."""
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        return 1
    page = parse_int(raw, 1, MAX_PAGE)
    if page is None:
        flash(_("There is no such page; here is the first one."), "warning")
        return 1
    return page


def paginate(select, **kwargs):
    """``db.paginate`` on the page asked for (see ``page_arg``), never failing on a bad one.
    Every paged list of the site goes through here."""
    if "page" not in kwargs:
        kwargs["page"] = page_arg()
    kwargs.setdefault("error_out", False)
    return db.paginate(select, **kwargs)


#: How long a value read through ``cached(..., track=True)`` counts as wanted (``was_read``).
READ_MEMORY_SECONDS = 86400


def _cache_key(name: str, key: tuple) -> str:
    return name + ":" + hashlib.sha1(repr((key, db.engine.url.render_as_string(
        hide_password=True))).encode()).hexdigest()


def was_read(name: str, key: tuple) -> bool:
    """Whether someone read (name, key) through ``cached(..., track=True)`` within a day:
    what is worth computing ahead of its readers."""
    try:
        return cache.get("read:" + _cache_key(name, key)) is not None
    except (OSError, RedisError) as exc:
        log.warning("cache unreachable: %s", exc)
        return False


def cached(name: str, key: tuple, compute, seconds: float | None = None, fresh: bool = False,
           track: bool = False):
    """``compute()``, kept for ``DASHBOARD_CACHE_SECONDS`` (at most ``seconds``) under (name,
    key, the database) in the app's cache (each worker's own, or Redis shared by all):
    aggregates that read a whole town or district and change slowly. ``fresh`` computes anew and
    keeps that for twice as long (``tick`` does, every few minutes, so that readers find it even
    when a tick is late). 0 keeps nothing (tests). When the cache is out of reach the value is
    computed, never an error. ``track``: remember the reading for ``was_read``."""
    ttl = float(current_app.config.get("DASHBOARD_CACHE_SECONDS", 0))
    if seconds is not None:
        ttl = min(ttl, seconds)
    if ttl <= 0:
        return compute()
    full = _cache_key(name, key)
    if not fresh:
        try:
            if track:
                cache.set("read:" + full, 1, timeout=READ_MEMORY_SECONDS)
            hit = cache.get(full)
        except (OSError, RedisError) as exc:
            log.warning("cache unreachable: %s", exc)
            return compute()
        if hit is not None:
            return hit[0]
    value = compute()
    try:
        # A tuple: None is a value too.
        cache.set(full, (value,), timeout=max(1, round(ttl * (2 if fresh else 1))))
    except (OSError, RedisError) as exc:
        log.warning("cache unreachable: %s", exc)
    return value
