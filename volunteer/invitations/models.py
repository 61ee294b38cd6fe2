"""Invitations and offers, with the matcher's score and reasons at the time."""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.auth.models import User
from volunteer.common import utcnow
from volunteer.extensions import db


class InvitationStatus(StrEnum):
    """An invitation's status: invited → accepted / declined / expired (computed, see
    ``Invitation.state``) / withdrawn → done / no_show; an offer from the volunteer: offered →
    accepted / declined (by the leader) / withdrawn."""

    offered = "offered"
    invited = "invited"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"  # never stored: an "invited" one past ``expires_at``
    withdrawn = "withdrawn"
    done = "done"
    no_show = "no_show"


STATUSES = tuple(InvitationStatus)
# Holding a place on the task and the volunteer's time (an "invited" one until it expires).
HOLDING = (InvitationStatus.offered, InvitationStatus.invited, InvitationStatus.accepted)
# Counted against a volunteer's monthly limit and as current load.
COUNTED = (*HOLDING, InvitationStatus.done)
LIMIT_DAYS = 30  # the monthly limit counts tasks of the last 30 days


class Invitation(db.Model):
    """A volunteer asked to help (or offering to) with an issue, or to staff a service session."""

    __table_args__ = (
        sa.UniqueConstraint("issue_id", "volunteer_id", name="uq_invitation_issue_volunteer"),
        sa.UniqueConstraint("session_id", "volunteer_id",
                            name="uq_invitation_session_volunteer"),
        sa.Index("ix_invitation_volunteer_status", "volunteer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default="issue")  # issue / session
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"),
                                                 index=True)
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_session.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))
    origin: Mapped[str] = mapped_column(sa.String(10), default="invite")  # invite / offer
    status: Mapped[str] = mapped_column(sa.String(12), default=InvitationStatus.invited,
                                        index=True)
    wave: Mapped[int] = mapped_column(default=1)
    score: Mapped[float | None] = mapped_column(sa.Float)
    distance_m: Mapped[int | None]
    reasons: Mapped[list | None] = mapped_column(sa.JSON)  # the matcher's (code, params) pairs
    # The suggestion list (slate) the organiser invited from, and the rank the volunteer had
    # there; None for offers and for invitations not made from a shown list.
    slate_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("match_slate.id", ondelete="SET NULL"))
    slate_rank: Mapped[int | None]
    starts_at: Mapped[datetime | None] = mapped_column(index=True)  # the task's time (UTC)
    ends_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    responded_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(sa.String(500))  # offer note, decline reason …
    closed_reason: Mapped[str | None] = mapped_column(sa.String(20))  # filled, issue_closed …
    feedback: Mapped[str | None] = mapped_column(sa.Text)
    reminded_at: Mapped[datetime | None]  # "about to expire" sent
    start_reminded_at: Mapped[datetime | None]  # "starts tomorrow" sent
    expired_noticed_at: Mapped[datetime | None]  # the inviter told it expired
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # indexed: each process's matcher looks for the newest change every few seconds
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    issue: Mapped[Issue | None] = relationship()  # noqa: F821
    session: Mapped[ServiceSession | None] = relationship()  # noqa: F821
    volunteer: Mapped[User] = relationship(foreign_keys=[volunteer_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def state(self, now: datetime | None = None) -> str:
        """The status as it is now: an unanswered invitation past its time has expired."""
        if self.status == InvitationStatus.invited and self.expires_at is not None \
                and (now or utcnow()) >= self.expires_at:
            return InvitationStatus.expired
        return self.status

    def is_holding(self, now: datetime | None = None) -> bool:
        return self.state(now) in HOLDING


def holding_clause(now: datetime | None = None):
    """SQL: invitations that hold a place and the volunteer's time right now."""
    now = now or utcnow()
    return sa.or_(Invitation.status.in_((InvitationStatus.offered, InvitationStatus.accepted)),
                  sa.and_(Invitation.status == InvitationStatus.invited,
                          sa.or_(Invitation.expires_at.is_(None), Invitation.expires_at > now)))


def counted_clause(now: datetime | None = None):
    """SQL: invitations that count as the volunteer's tasks (limit and load)."""
    return sa.or_(holding_clause(now), Invitation.status == InvitationStatus.done)


def recent_tasks_clause(now: datetime | None = None):
    """SQL: a volunteer's tasks of the last ``LIMIT_DAYS`` (open, waiting or done): what their
    monthly limit counts, and their load in the matcher."""
    now = now or utcnow()
    return sa.and_(counted_clause(now), Invitation.created_at >= now - timedelta(days=LIMIT_DAYS))
