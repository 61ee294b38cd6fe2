"""A grid point's sessions as an iCalendar (RFC 5545) feed that phones and calendars subscribe
to; cancelled sessions stay in it with STATUS:CANCELLED so that subscribers see the change."""
from __future__ import annotations

from datetime import UTC

from icalendar import Calendar, Event

from volunteer.common import utcnow
from volunteer.services.models import SessionStatus


def point_feed(point, sessions, url_of) -> bytes:
    """One VEVENT per session; ``url_of(session)`` gives its page."""
    cal = Calendar()
    cal.add("prodid", "-//Grid Volunteers//网格志愿//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", point.name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    stamp = utcnow().replace(tzinfo=UTC)
    for s in sessions:
        ev = Event()
        ev.add("uid", f"session-{s.id}@grid-volunteers")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", s.starts_at.replace(tzinfo=UTC))
        ev.add("dtend", s.ends_at.replace(tzinfo=UTC))
        ev.add("summary", s.item.name)
        ev.add("description", "\n".join(x for x in (s.item.description, s.note, url_of(s)) if x))
        ev.add("location", f"{point.name}，{point.address}")
        ev.add("geo", (point.lat, point.lon))
        ev.add("url", url_of(s))
        ev.add("status", "CANCELLED" if s.status == SessionStatus.cancelled else "CONFIRMED")
        cal.add_component(ev)
    return cal.to_ical()
