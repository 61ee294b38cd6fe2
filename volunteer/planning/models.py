"""A plan of helpers: the needs of a period in an organiser's scope, the volunteers proposed for
each (with the matcher's score and reasons), what stays uncovered and why; kept as a preview
to edit, then sent as invitations."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.auth.models import User
from volunteer.common import utcnow
from volunteer.extensions import db


class PlanStatus(StrEnum):
    """draft (a preview, editable) → sent (invitations made) / discarded."""

    draft = "draft"
    sent = "sent"
    discarded = "discarded"


class ItemStatus(StrEnum):
    """A proposed invitation: proposed → removed (by the organiser) / sent / failed."""

    proposed = "proposed"
    removed = "removed"
    sent = "sent"
    failed = "failed"


class Plan(db.Model):
    """One run of the planner for an organiser, over a period."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                               index=True)
    period_from: Mapped[datetime]  # UTC
    period_until: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(10), default=PlanStatus.draft)
    # The planner's figures, and the one-need-at-a-time order's on the same needs.
    total_score: Mapped[float] = mapped_column(sa.Float, default=0.0)
    greedy_score: Mapped[float] = mapped_column(sa.Float, default=0.0)
    places: Mapped[int] = mapped_column(default=0)
    filled: Mapped[int] = mapped_column(default=0)
    greedy_filled: Mapped[int] = mapped_column(default=0)
    covered: Mapped[int] = mapped_column(default=0)  # needs fully covered
    greedy_covered: Mapped[int] = mapped_column(default=0)
    solve_ms: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    created_by: Mapped[User] = relationship()
    needs: Mapped[list[PlanNeed]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanNeed.position")


class PlanNeed(db.Model):
    """An issue needing helpers or a session needing staff, as the plan saw it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"),
                                         index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(sa.String(10))  # issue / session
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"),
                                                 index=True)
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_session.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    places: Mapped[int] = mapped_column(default=1)  # to invite, when the plan was made
    skills: Mapped[list | None] = mapped_column(sa.JSON)  # the skill codes it needs
    # Why places stay open: no_candidates / at_limit / busy / taken (None: covered).
    uncovered: Mapped[str | None] = mapped_column(sa.String(16))
    # The matcher's candidates not proposed, best first, to choose from when editing:
    # [{"user_id", "score", "distance_m", "tier", "reasons"}].
    alternatives: Mapped[list | None] = mapped_column(sa.JSON)

    plan: Mapped[Plan] = relationship(back_populates="needs")
    issue: Mapped[Issue | None] = relationship()  # noqa: F821
    session: Mapped[ServiceSession | None] = relationship()  # noqa: F821
    items: Mapped[list[PlanItem]] = relationship(
        back_populates="need", cascade="all, delete-orphan", order_by="PlanItem.id")

    @property
    def target(self):
        return self.issue if self.kind == "issue" else self.session


class PlanItem(db.Model):
    """A volunteer proposed for a need (by the planner, or added by the organiser)."""

    __table_args__ = (sa.UniqueConstraint("need_id", "volunteer_id",
                                          name="uq_plan_item_need_volunteer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("plan_need.id", ondelete="CASCADE"),
                                         index=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                              index=True)
    by_hand: Mapped[bool] = mapped_column(default=False)
    score: Mapped[float | None] = mapped_column(sa.Float)
    distance_m: Mapped[int | None]
    fit: Mapped[int] = mapped_column(default=0)  # the matcher's tier (3: a clear fit … 0)
    reasons: Mapped[list | None] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(10), default=ItemStatus.proposed)
    error: Mapped[str | None] = mapped_column(sa.String(300))  # why sending it failed
    invitation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invitation.id", ondelete="SET NULL"), index=True)

    need: Mapped[PlanNeed] = relationship(back_populates="items")
    volunteer: Mapped[User] = relationship()
    invitation: Mapped[Invitation | None] = relationship()  # noqa: F821
