"""Rows of the outbox: one message to one person through one channel."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.common import utcnow
from volunteer.extensions import db


class Status(StrEnum):
    """Where a message is: waiting (or waiting again after a failure), taken by a worker, sent,
    given up after too many failures (a dead letter the town admin sees and may retry), or
    dropped because the person cannot be reached that way any more."""

    queued = "queued"
    sending = "sending"
    sent = "sent"
    dead = "dead"
    dropped = "dropped"  # the person can no longer be reached so (consent withdrawn, no address)
    cancelled = "cancelled"  # no longer wanted before it left (a call-up's quorum was reached)


class OutboxMessage(db.Model):
    """A message waiting to leave, or the record that it left. Its text is rendered at delivery
    in the recipient's language, from the template and the objects it refers to."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                         index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))  # email, sms, wechat
    template: Mapped[str] = mapped_column(sa.String(20))  # notice, password_reset …
    kind: Mapped[str] = mapped_column(sa.String(20), default="")  # the inbox kind of a notice
    event: Mapped[str] = mapped_column(sa.String(24), default="")
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invitation.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_session.id", ondelete="CASCADE"))
    skill_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("volunteer_skill.id", ondelete="SET NULL"))
    # Values a template needs that are no row (a reset link); emptied once the message is sent.
    payload: Mapped[dict | None] = mapped_column(sa.JSON)
    callup_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("call_up.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=Status.queued)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]  # a worker holds it until then
    claim: Mapped[str | None] = mapped_column(sa.String(32))  # which worker's batch
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()  # noqa: F821
    issue: Mapped[Issue | None] = relationship()  # noqa: F821
    invitation: Mapped[Invitation | None] = relationship()  # noqa: F821
    session: Mapped[ServiceSession | None] = relationship()  # noqa: F821
    skill: Mapped[VolunteerSkill | None] = relationship()  # noqa: F821
    callup: Mapped[CallUp | None] = relationship()  # noqa: F821
