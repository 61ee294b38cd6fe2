"""A task as an iCalendar (RFC 5545) file, so that a volunteer's phone reminds them."""
from __future__ import annotations

from datetime import UTC, timedelta

from icalendar import Calendar, Event

from volunteer.common import utcnow


def task_calendar(inv, url: str) -> bytes:
    """One VEVENT for an invitation's task: its time, place and what to do."""
    cal = Calendar()
    cal.add("prodid", "-//Grid Volunteers//网格志愿//ZH")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    ev = Event()
    issue = inv.issue
    ev.add("uid", f"task-{inv.id}@grid-volunteers")
    ev.add("dtstamp", utcnow().replace(tzinfo=UTC))
    start = inv.starts_at.replace(tzinfo=UTC)
    end = (inv.ends_at or inv.starts_at + timedelta(hours=2)).replace(tzinfo=UTC)
    ev.add("dtstart", start)
    ev.add("dtend", end)
    ev.add("summary", f"网格志愿 #{issue.id} {issue.title}" if issue else "网格志愿")
    if issue is not None:
        ev.add("description", f"{issue.description}\n{url}")
        ev.add("location", f"{issue.village.name} {issue.grid.name}")
        if inv.status in ("accepted", "done"):  # the exact place only for those who accepted
            ev.add("geo", (issue.lat, issue.lon))
    ev.add("url", url)
    ev.add("status", "CONFIRMED" if inv.status == "accepted" else "TENTATIVE")
    cal.add_component(ev)
    return cal.to_ical()
