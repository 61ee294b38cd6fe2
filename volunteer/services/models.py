"""Scheduled service sessions at grid points, and residents' sign-ups."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.auth.models import User
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.org.models import GridPoint, ServiceItem


class SessionStatus(StrEnum):
    """A session is scheduled, then held (attendance taken) or cancelled."""

    scheduled = "scheduled"
    held = "held"
    cancelled = "cancelled"


class SignupStatus(StrEnum):
    """A resident's sign-up: confirmed → attended / absent; waiting → confirmed (moved up);
    either → cancelled."""

    confirmed = "confirmed"
    waiting = "waiting"
    cancelled = "cancelled"
    attended = "attended"
    absent = "absent"


SESSION_STATUSES = tuple(SessionStatus)
SIGNUP_STATUSES = tuple(SignupStatus)


class ServiceSession(db.Model):
    """One delivery of a service item at a grid point (a free clinic on a Tuesday morning),
    with room for ``capacity`` residents and ``staff_needed`` volunteers. Sessions made from
    one recurrence rule share a ``series`` key and keep the rule's text."""

    __table_args__ = (sa.Index("ix_service_session_point_starts", "point_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_item.id"), index=True)
    point_id: Mapped[int] = mapped_column(sa.ForeignKey("grid_point.id"))
    starts_at: Mapped[datetime] = mapped_column(index=True)  # UTC
    ends_at: Mapped[datetime]
    capacity: Mapped[int] = mapped_column(default=20)
    staff_needed: Mapped[int] = mapped_column(default=1)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    series: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    rule: Mapped[str | None] = mapped_column(sa.String(300))  # RRULE text of the series
    status: Mapped[str] = mapped_column(sa.String(12), default=SessionStatus.scheduled,
                                        index=True)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    held_at: Mapped[datetime | None]  # attendance taken

    item: Mapped[ServiceItem] = relationship()
    point: Mapped[GridPoint] = relationship()
    signups: Mapped[list[SessionSignup]] = relationship(
        back_populates="session", order_by="SessionSignup.id", cascade="all, delete-orphan")

    @property
    def is_upcoming(self) -> bool:
        return self.status == SessionStatus.scheduled and self.starts_at > utcnow()


class SessionSignup(db.Model):
    """A resident's place at a session, or on its waiting list."""

    __table_args__ = (sa.UniqueConstraint("session_id", "user_id", name="uq_session_signup"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_session.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                         index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default=SignupStatus.confirmed)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)  # order on the waiting list
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    reminded_at: Mapped[datetime | None]

    session: Mapped[ServiceSession] = relationship(back_populates="signups")
    user: Mapped[User] = relationship()
