"""A task as an iCalendar (RFC 5545) file, so that a volunteer's phone reminds them."""
from __future__ import annotations

from datetime import UTC, timedelta

from icalendar import Calendar, Event

from volunteer.common import utcnow
from volunteer.invitations.models import InvitationStatus


def task_calendar(inv, url: str) -> bytes:
    """One VEVENT for an invitation's task: its time, place and what to do. The exact place
    of an issue is in it only once the volunteer accepted."""
    cal = Calendar()
    cal.add("prodid", "-//Grid Volunteers//网格志愿//ZH")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    ev = Event()
    issue, session = inv.issue, inv.session
    ev.add("uid", f"task-{inv.id}@grid-volunteers")
    ev.add("dtstamp", utcnow().replace(tzinfo=UTC))
    ev.add("dtstart", inv.starts_at.replace(tzinfo=UTC))
    ev.add("dtend", (inv.ends_at or inv.starts_at + timedelta(hours=2)).replace(tzinfo=UTC))
    if session is not None:
        ev.add("summary", f"网格志愿 {session.item.name}")
        ev.add("description", f"{session.item.description or ''}\n{url}")
        ev.add("location", f"{session.point.name}，{session.point.address}")
        ev.add("geo", (session.point.lat, session.point.lon))
    elif issue is not None:
        ev.add("summary", f"网格志愿 #{issue.id} {issue.title}")
        ev.add("description", f"{issue.description}\n{url}")
        if inv.status in (InvitationStatus.accepted, InvitationStatus.done):
            ev.add("location", " ".join(x for x in (issue.village.name, issue.grid.name,
                                                    issue.address) if x))
            ev.add("geo", (issue.lat, issue.lon))
        else:
            ev.add("location", f"{issue.village.name} {issue.grid.name}")
    ev.add("url", url)
    ev.add("status", "CONFIRMED" if inv.status == InvitationStatus.accepted else "TENTATIVE")
    cal.add_component(ev)
    return cal.to_ical()
