"""The matcher's query for an issue or a service session: the skills it needs (set or to be
inferred from its text), its place and time window, the helpers needed, whom to leave out.
No Flask and no database: it reads only the objects given."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from volunteer.common import SHANGHAI
from volunteer.matching.matcher import Query

URGENT_HOURS = 24  # a need whose urgency allows a day or less is urgent


def is_urgent(issue) -> bool:
    """Whether the issue's urgency gave it a day or less (its deadline, set from the urgency
    level's hours when it was filed, which the town admin may change)."""
    if issue.deadline_at is None or issue.created_at is None:
        return False
    return issue.deadline_at - issue.created_at <= timedelta(hours=URGENT_HOURS)


def window_mask(start: datetime | None, end: datetime | None) -> int:
    """Availability slots (weekday/weekend × morning/afternoon/evening) a UTC window touches."""
    if start is None:
        return 0
    end = end or start
    mask = 0
    t = start.replace(tzinfo=UTC).astimezone(SHANGHAI)
    stop = end.replace(tzinfo=UTC).astimezone(SHANGHAI)
    steps = 0
    while t <= stop and steps < 24 * 14:
        weekend = t.weekday() >= 5
        part = 0 if t.hour < 12 else 1 if t.hour < 18 else 2
        mask |= 1 << (part + (3 if weekend else 0))
        t = t.replace(minute=0) + timedelta(hours=1)
        steps += 1
    return mask


def issue_query(issue, limit: int = 10, exclude=frozenset()) -> Query:
    """The matcher's query for an issue: its skills (set or inferred), place, window, helpers."""
    return Query(lat=issue.lat, lon=issue.lon, text=f"{issue.title}\n{issue.description}",
                 skills=issue.skill_codes or None, limit=limit,
                 helpers_needed=issue.helpers_needed,
                 window_mask=window_mask(issue.needed_from, issue.needed_until),
                 grid_id=issue.grid_id, village_id=issue.village_id,
                 town_id=issue.village.town_id if issue.village is not None else 0,
                 exclude=frozenset(exclude), urgent=is_urgent(issue))


def session_query(session, limit: int = 10, exclude=frozenset()) -> Query:
    """The matcher's query for staffing a service session: the item's skill (else inferred from
    its name and description), the grid point's place, the session's time, the staff needed."""
    item, point = session.item, session.point
    return Query(lat=point.lat, lon=point.lon, text=f"{item.name}\n{item.description or ''}",
                 skills=[item.skill.code] if item.skill else None, limit=limit,
                 helpers_needed=max(session.staff_needed, 1),
                 window_mask=window_mask(session.starts_at, session.ends_at),
                 grid_id=point.grid_id, village_id=point.grid.village_id,
                 town_id=point.grid.village.town_id, exclude=frozenset(exclude))
