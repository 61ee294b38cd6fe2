"""Weekly availability as a 6-bit mask: weekday/weekend × morning/afternoon/evening."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from volunteer.errors import DomainError

# (code, bit, zh, label) in display order.
SLOTS = [
    ("weekday_morning", 1, "工作日上午", _l("Weekday mornings")),
    ("weekday_afternoon", 2, "工作日下午", _l("Weekday afternoons")),
    ("weekday_evening", 4, "工作日晚上", _l("Weekday evenings")),
    ("weekend_morning", 8, "周末上午", _l("Weekend mornings")),
    ("weekend_afternoon", 16, "周末下午", _l("Weekend afternoons")),
    ("weekend_evening", 32, "周末晚上", _l("Weekend evenings")),
]
ALL = 63
BIT = {code: bit for code, bit, _zh, _l10n in SLOTS}

_DAY = {"工作日": 1 | 2 | 4, "平时": 1 | 2 | 4, "周一至周五": 1 | 2 | 4, "weekday": 1 | 2 | 4,
        "weekdays": 1 | 2 | 4, "周末": 8 | 16 | 32, "双休日": 8 | 16 | 32, "weekend": 8 | 16 | 32,
        "weekends": 8 | 16 | 32, "每天": ALL, "全天": ALL, "随时": ALL, "anytime": ALL,
        "any time": ALL, "daily": ALL, "都可以": ALL}
_PART = {"上午": 1 | 8, "早上": 1 | 8, "morning": 1 | 8, "mornings": 1 | 8,
         "下午": 2 | 16, "afternoon": 2 | 16, "afternoons": 2 | 16,
         "晚上": 4 | 32, "傍晚": 4 | 32, "夜间": 4 | 32, "evening": 4 | 32, "evenings": 4 | 32,
         "night": 4 | 32}


def codes(mask: int) -> list[str]:
    """The slot codes set in ``mask``."""
    return [code for code, bit, _zh, _lbl in SLOTS if mask & bit]


def from_codes(values) -> int:
    """A mask from slot codes (unknown codes are ignored; forms check them)."""
    return sum(BIT.get(v, 0) for v in set(values or []))


def labels(mask: int) -> list[str]:
    return [str(lbl) for _code, bit, _zh, lbl in SLOTS if mask & bit]


class AvailabilityError(DomainError):
    """A piece of availability text that means nothing we know; ``part`` is that piece."""

    messages = {"unknown_time": _l("“%(part)s” is not a time such as 工作日晚上 or 周末上午")}
    statuses = {"unknown_time": 422}

    def __init__(self, part: str):
        super().__init__("unknown_time", "availability", {"part": part})

    @property
    def part(self) -> str:
        return self.params["part"]


def parse(text: str | None) -> int:
    """Parse "工作日晚上;周末上午", "weekends", "weekday evening" … into a mask.

    Empty text means no stated availability (0). Raises AvailabilityError for a part that names
    no known day or time of day.
    """
    mask = 0
    for raw in re.split(r"[;；,，、/|]+", text or ""):
        part = raw.strip().lower()
        if not part:
            continue
        if part in BIT:
            mask |= BIT[part]
            continue
        day = next((bits for word, bits in _DAY.items() if word in part), None)
        time = next((bits for word, bits in _PART.items() if word in part), None)
        if day is None and time is None:
            raise AvailabilityError(raw.strip())
        mask |= (day if day is not None else ALL) & (time if time is not None else ALL)
    return mask
