"""A check-in (and check-out) of a session's volunteer staff or signed-up resident, or of a
task's helper: one row per invitation or sign-up."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.auth.models import User
from volunteer.checkin.codes import CheckVia
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.invitations.models import Invitation
from volunteer.services.models import SessionSignup

__all__ = ["CheckIn", "CheckVia"]


class CheckIn(db.Model):
    """When (and, if the phone allowed, where) someone arrived at a session or a task, and
    when they left. ``invitation_id`` for a helper (a session's staff, an issue's helper),
    ``signup_id`` for a resident; ``session_id`` / ``issue_id`` say where, so that a page loads
    the check-ins of one session or issue in one query."""

    __tablename__ = "check_in"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                         index=True)
    invitation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invitation.id", ondelete="CASCADE"), unique=True)
    signup_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("session_signup.id", ondelete="CASCADE"), unique=True)
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_session.id", ondelete="CASCADE"), index=True)
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"),
                                                 index=True)
    checked_in_at: Mapped[datetime]
    checkin_via: Mapped[str] = mapped_column(sa.String(10), default=CheckVia.button)
    # The phone's position at check-in, when allowed (never shown as such: organisers see the
    # distance to the place, rounded).
    checkin_lat: Mapped[float | None] = mapped_column(sa.Float)
    checkin_lon: Mapped[float | None] = mapped_column(sa.Float)
    checkin_accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    checked_out_at: Mapped[datetime | None]
    checkout_via: Mapped[str | None] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    invitation: Mapped[Invitation | None] = relationship()
    signup: Mapped[SessionSignup | None] = relationship()
