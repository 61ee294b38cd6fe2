"""Notifications and what each person chose to receive."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.common import utcnow
from volunteer.extensions import db

# Kinds of notification a person can switch on or off.
KINDS = ("my_report", "queue", "overdue", "verify", "invitation", "team", "hours", "sessions",
         "skills", "town_office", "callup")


class Notification(db.Model):
    """One message in a person's inbox; the text is rendered when read, in their language."""

    __table_args__ = (sa.Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    event: Mapped[str] = mapped_column(sa.String(24))  # the issue action, "overdue", "invited" …
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invitation.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]

    issue: Mapped[Issue | None] = relationship()  # noqa: F821
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_session.id", ondelete="CASCADE"), index=True)
    invitation: Mapped[Invitation | None] = relationship()  # noqa: F821
    session: Mapped[ServiceSession | None] = relationship()  # noqa: F821
    # The skill a notice is about (verified or not accepted); gone with the skill.
    skill_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("volunteer_skill.id", ondelete="SET NULL"))
    skill: Mapped[VolunteerSkill | None] = relationship()  # noqa: F821
    # The emergency call-up a notice is about.
    callup_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("call_up.id", ondelete="CASCADE"), index=True)
    callup: Mapped[CallUp | None] = relationship()  # noqa: F821


class NotificationSetting(db.Model):
    """A kind of notification a person switched off (everything is on by default)."""

    __table_args__ = (sa.UniqueConstraint("user_id", "kind", name="uq_notification_setting"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    in_app: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=True)
    sms: Mapped[bool] = mapped_column(default=False)  # costs money: off until chosen
    wechat: Mapped[bool] = mapped_column(default=True)
