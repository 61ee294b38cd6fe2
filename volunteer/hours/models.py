"""The service-hours ledger and its corrections (MCA Order No. 67: whoever organises records,
whoever records certifies, volunteers may ask for corrections)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.auth.models import User
from volunteer.common import utcnow
from volunteer.extensions import db


class Hours(sa.types.TypeDecorator):
    """Hours as stored: two decimal places (a call-up's check-in to check-out is rounded to the
    quarter hour), read back with one place when that says it all (2.0, 1.5, 1.25)."""

    impl = sa.Numeric(5, 2)
    cache_ok = True

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        tenths = value.quantize(Decimal("0.1"))
        return tenths if tenths == value else value.quantize(Decimal("0.01"))


HOURS = Hours()


class HoursStatus(StrEnum):
    """Hours are proposed (by the helper or the organiser), then confirmed by the organiser."""

    proposed = "proposed"
    confirmed = "confirmed"


class CorrectionStatus(StrEnum):
    """A correction of confirmed hours waits (pending) until the organiser accepts or rejects
    it."""

    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


class ServiceHours(db.Model):
    """Hours one volunteer gave in one activity: proposed, then confirmed by the leader."""

    __table_args__ = (sa.UniqueConstraint("invitation_id", name="uq_service_hours_invitation"),
                      sa.UniqueConstraint("callup_id", "volunteer_id",
                                          name="uq_service_hours_callup_volunteer"),
                      sa.Index("ix_service_hours_volunteer_status", "volunteer_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invitation.id", ondelete="SET NULL"))
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id", ondelete="SET NULL"),
                                                 index=True)
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_session.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default="issue")  # issue / session / callup
    callup_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("call_up.id", ondelete="SET NULL"), index=True)
    activity: Mapped[str] = mapped_column(sa.String(200))  # what was done, as recorded then
    served_on: Mapped[date] = mapped_column(index=True)
    hours: Mapped[Decimal] = mapped_column(HOURS)
    status: Mapped[str] = mapped_column(sa.String(12), default=HoursStatus.proposed)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    proposed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(index=True)

    volunteer: Mapped[User] = relationship(foreign_keys=[volunteer_id])
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    invitation: Mapped[Invitation | None] = relationship()  # noqa: F821
    issue: Mapped[Issue | None] = relationship()  # noqa: F821
    session: Mapped[ServiceSession | None] = relationship()  # noqa: F821
    callup: Mapped[CallUp | None] = relationship()  # noqa: F821
    corrections: Mapped[list[HoursCorrection]] = relationship(
        back_populates="entry", order_by="HoursCorrection.id", cascade="all, delete-orphan")

    @property
    def pending_correction(self) -> HoursCorrection | None:
        return next((c for c in self.corrections if c.status == CorrectionStatus.pending), None)


class HoursCorrection(db.Model):
    """A volunteer asks for confirmed hours to be changed; the leader accepts or rejects."""

    id: Mapped[int] = mapped_column(primary_key=True)
    hours_id: Mapped[int] = mapped_column(sa.ForeignKey("service_hours.id", ondelete="CASCADE"),
                                          index=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))
    old_hours: Mapped[Decimal] = mapped_column(HOURS)
    new_hours: Mapped[Decimal] = mapped_column(HOURS)
    reason: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(12), default=CorrectionStatus.pending,
                                        index=True)
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[ServiceHours] = relationship(back_populates="corrections")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Certificate(db.Model):
    """A volunteer service certificate (志愿服务证明): a numbered snapshot of confirmed hours that
    anyone can check by its serial number."""

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(sa.String(24), unique=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                              index=True)
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(8, 1))
    activities: Mapped[int]
    first_on: Mapped[date | None]
    last_on: Mapped[date | None]
    entries: Mapped[list] = mapped_column(sa.JSON)  # [date, activity, hours] as issued
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)

    volunteer: Mapped[User] = relationship()
