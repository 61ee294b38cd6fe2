"""A call-up, the grids and skills it asks for, and each called volunteer's answer and
attendance."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.auth.models import User
from volunteer.checkin.codes import CheckVia  # noqa: F401  (how check-ins are recorded: shared)
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.org.models import Grid, GridPoint, Town, Village
from volunteer.skills.models import Skill


class CallUpReason(StrEnum):
    """Why people are called: 防汛防台, 疫情防控, 搜寻, or something else."""

    flood_typhoon = "flood_typhoon"
    epidemic = "epidemic"
    search = "search"
    other = "other"


class CallUpStatus(StrEnum):
    """A call-up is open (answers, check-in, check-out) until it is closed with a summary of
    what was done, or cancelled."""

    open = "open"
    closed = "closed"
    cancelled = "cancelled"


class CallUpAnswer(StrEnum):
    """A called volunteer's answer: none yet, coming, can't; ``standby`` is a "coming" that
    arrived after the quorum (thanked, and taken up if a place comes free)."""

    none = "none"
    coming = "coming"
    cant = "cant"
    standby = "standby"


class NoticeOutcome(StrEnum):
    """Whether a volunteer of the area was notified: sent; not called because their budget of
    call-up notices is spent; not called because it is night and they asked not to be called
    at night."""

    sent = "sent"
    budget = "budget"
    night = "night"


callup_grid = sa.Table(
    "call_up_grid", db.metadata,
    sa.Column("callup_id", sa.ForeignKey("call_up.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("grid_id", sa.ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True),
)
callup_skill = sa.Table(
    "call_up_skill", db.metadata,
    sa.Column("callup_id", sa.ForeignKey("call_up.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("skill_id", sa.ForeignKey("skill.id", ondelete="CASCADE"), primary_key=True),
)


class CallUp(db.Model):
    """An emergency call-up of one 村居 (``village_id``) or of the town (``village_id`` None):
    the area is a set of grids or a radius around the muster point."""

    __tablename__ = "call_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(sa.ForeignKey("town.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("village.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(20), default=CallUpReason.flood_typhoon)
    title: Mapped[str] = mapped_column(sa.String(100))
    details: Mapped[str | None] = mapped_column(sa.Text)
    radius_km: Mapped[float | None] = mapped_column(sa.Float)  # None: the grids chosen
    point_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("grid_point.id", ondelete="SET NULL"))
    muster: Mapped[str] = mapped_column(sa.String(200))  # where to go, in words
    muster_lat: Mapped[float] = mapped_column(sa.Float)
    muster_lon: Mapped[float] = mapped_column(sa.Float)
    starts_at: Mapped[datetime] = mapped_column(index=True)  # UTC
    ends_at: Mapped[datetime]
    needed: Mapped[int] = mapped_column(default=10)
    status: Mapped[str] = mapped_column(sa.String(10), default=CallUpStatus.open, index=True)
    quorum_at: Mapped[datetime | None]  # enough said "coming": notices stopped
    reminded_at: Mapped[datetime | None]  # those who had not answered were reminded
    summary: Mapped[str | None] = mapped_column(sa.Text)  # what was done (at closing)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Each answer locks the call-up by touching this (see ``services.lock``).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    town: Mapped[Town] = relationship()
    village: Mapped[Village | None] = relationship()
    point: Mapped[GridPoint | None] = relationship()
    grids: Mapped[list[Grid]] = relationship(secondary=callup_grid, order_by="Grid.code")
    skills: Mapped[list[Skill]] = relationship(secondary=callup_skill, order_by="Skill.id")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    responses: Mapped[list[CallUpResponse]] = relationship(
        back_populates="callup", cascade="all, delete-orphan", order_by="CallUpResponse.id")


class CallUpResponse(db.Model):
    """One volunteer of a call-up's area: whether they were notified, their answer, and when
    (and where) they checked in and out."""

    __tablename__ = "call_up_response"
    __table_args__ = (
        sa.UniqueConstraint("callup_id", "volunteer_id", name="uq_call_up_response_volunteer"),
        sa.Index("ix_call_up_response_volunteer_answer", "volunteer_id", "answer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callup_id: Mapped[int] = mapped_column(sa.ForeignKey("call_up.id", ondelete="CASCADE"),
                                           index=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grid.id", ondelete="SET NULL"))
    notice: Mapped[str] = mapped_column(sa.String(10), default=NoticeOutcome.sent)
    busy: Mapped[bool] = mapped_column(default=False)  # holds a task at the call-up's time
    answer: Mapped[str] = mapped_column(sa.String(10), default=CallUpAnswer.none)
    answered_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    checkin_via: Mapped[str | None] = mapped_column(sa.String(10))
    # The phone's position at check-in, when the volunteer allowed it (never shown as such:
    # organisers see the distance to the muster point).
    checkin_lat: Mapped[float | None] = mapped_column(sa.Float)
    checkin_lon: Mapped[float | None] = mapped_column(sa.Float)
    checkin_accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    checked_out_at: Mapped[datetime | None]
    checkout_via: Mapped[str | None] = mapped_column(sa.String(10))
    hours: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 2))  # proposed at check-out
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    callup: Mapped[CallUp] = relationship(back_populates="responses")
    volunteer: Mapped[User] = relationship()
    grid: Mapped[Grid | None] = relationship()


def busy_with_callup(user_id: int, starts: datetime | None, ends: datetime | None
                     ) -> CallUp | None:
    """An open call-up the volunteer said they are coming to whose window overlaps
    [starts, ends): a task at that time would double-book them."""
    if starts is None:
        return None
    end = ends or starts + timedelta(hours=2)
    return db.session.scalar(db.select(CallUp).join(CallUpResponse).where(
        CallUpResponse.volunteer_id == user_id, coming_clause(),
        CallUp.starts_at < end, CallUp.ends_at > starts).limit(1))


def coming_clause():
    """SQL (call-ups joined with answers): an answer that holds the volunteer's time — coming,
    not yet left, the call-up still open."""
    return sa.and_(CallUpResponse.answer == CallUpAnswer.coming,
                   CallUpResponse.checked_out_at.is_(None), CallUp.status == CallUpStatus.open)


def callup_windows(user_ids, starts: datetime, ends: datetime
                   ) -> list[tuple[int, datetime, datetime]]:
    """(volunteer, start, end) of the open call-ups each of ``user_ids`` is coming to that
    overlap [starts, ends) (one query): times a plan must leave them free."""
    return db.session.execute(
        db.select(CallUpResponse.volunteer_id, CallUp.starts_at, CallUp.ends_at)
        .join(CallUp, CallUpResponse.callup_id == CallUp.id)
        .where(CallUpResponse.volunteer_id.in_(list(user_ids) or [-1]), coming_clause(),
               CallUp.starts_at < ends, CallUp.ends_at > starts)).tuples().all()
