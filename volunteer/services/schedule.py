"""Recurring sessions: "every Tuesday 9:00–11:00", "the 1st and 3rd Tuesday of the month", as
dateutil rrules over local (Asia/Shanghai) times. Pure: no database; Flask-Babel only for the
lazy messages of its error."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import islice

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday
from flask_babel import lazy_gettext as _l

from volunteer.errors import DomainError

MAX_SESSIONS = 200  # made at once; a year of a session twice a week fits
MAX_DAYS = 366  # how far ahead a series may run
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class ScheduleError(DomainError):
    """A rule that cannot make sessions; ``code`` says why, ``n`` how many it would make."""

    messages = {
        "end_before_start": _l("The end must be after the start."),
        "past": _l("The date is in the past."),
        "bad_freq": _l("Please choose how the session repeats."),
        "until_needed": _l("Please give the date the series runs until."),
        "until_before_first": _l("The last date must not be before the first."),
        "too_far": _l("A series can run at most a year ahead."),
        "bad_interval": _l("Every 1 to 4 weeks."),
        "bad_days": _l("Please choose days from the list."),
        "no_sessions": _l("This rule makes no session between those dates. Check the "
                          "weekdays."),
        "too_many": _l("This rule makes %(n)s sessions; at most %(max)s can be scheduled at "
                       "once. Choose an earlier last date."),
    }
    statuses = dict.fromkeys(messages, 422)

    def __init__(self, code: str, field: str | None = None, n: int = 0):
        super().__init__(code, field, {"n": n, "max": MAX_SESSIONS})

    @property
    def n(self) -> int:
        return self.params["n"]


@dataclass
class Recurrence:
    first: date
    start: time
    end: time
    freq: str = "once"  # once / weekly / monthly
    weekdays: list[int] = field(default_factory=list)  # 0 = Monday
    interval: int = 1  # every n weeks
    ordinals: list[int] = field(default_factory=list)  # monthly: 1st, 2nd … -1 = last
    until: date | None = None

    def rule(self) -> rrule | None:
        """The dateutil rule (None for a one-off session)."""
        start = datetime.combine(self.first, self.start)
        until = datetime.combine(self.until, time(23, 59)) if self.until else None
        if self.freq == "weekly":
            days = self.weekdays or [self.first.weekday()]
            return rrule(WEEKLY, dtstart=start, interval=self.interval, byweekday=days,
                         until=until)
        if self.freq == "monthly":
            day = self.weekdays[0] if self.weekdays else self.first.weekday()
            return rrule(MONTHLY, dtstart=start, until=until,
                         byweekday=[weekday(day)(n) for n in (self.ordinals or [1])])
        return None

    def text(self) -> str | None:
        """The rule as RFC 5545 RRULE text, kept with the sessions it made."""
        rule = self.rule()
        return str(rule).split("\n")[-1] if rule is not None else None


def occurrences(r: Recurrence, today: date) -> list[tuple[datetime, datetime]]:
    """Local (start, end) of every session the rule makes, checked."""
    if r.end <= r.start:
        raise ScheduleError("end_before_start", "end")
    if r.first < today:
        raise ScheduleError("past", "first")
    if r.freq not in ("once", "weekly", "monthly"):
        raise ScheduleError("bad_freq", "freq")
    if r.freq != "once":
        if r.until is None:
            raise ScheduleError("until_needed", "until")
        if r.until < r.first:
            raise ScheduleError("until_before_first", "until")
        if r.until > r.first + timedelta(days=MAX_DAYS):
            raise ScheduleError("too_far", "until")
        if not 1 <= r.interval <= 4:
            raise ScheduleError("bad_interval", "interval")
        if any(not 0 <= d <= 6 for d in r.weekdays) or \
                any(n not in (1, 2, 3, 4, -1) for n in r.ordinals):
            raise ScheduleError("bad_days", "weekdays")
    rule = r.rule()
    starts = [datetime.combine(r.first, r.start)] if rule is None else \
        list(islice(rule, MAX_SESSIONS + 1))
    if not starts:
        raise ScheduleError("no_sessions", "weekdays")
    if len(starts) > MAX_SESSIONS:
        n = rule.count() if rule is not None else len(starts)  # bounded by until ≤ a year
        raise ScheduleError("too_many", "until", n)
    length = datetime.combine(r.first, r.end) - datetime.combine(r.first, r.start)
    return [(s, s + length) for s in starts]
