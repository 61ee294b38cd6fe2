"""The record of every suggestion list a person was shown (a *slate*), for learning and
evaluation later; never shown to volunteers."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.common import utcnow
from volunteer.extensions import db


class Slate(db.Model):
    """One list shown: who asked, where, for what, when; each candidate's id, rank (its place
    in ``data["ids"]``), score, tier and the features of its score; and the probability with
    which this order was chosen (1.0 while the order is deterministic). One row per list."""

    __tablename__ = "match_slate"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    viewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # issue_page, session_staffing, api_match, api_issue, needs_near_me
    context: Mapped[str] = mapped_column(sa.String(20))
    issue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="SET NULL"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_session.id", ondelete="SET NULL"))
    item_kind: Mapped[str] = mapped_column(sa.String(10), default="volunteer")  # or "issue"
    skills: Mapped[list[str] | None] = mapped_column(sa.JSON)  # the skills it was matched for
    propensity: Mapped[float] = mapped_column(default=1.0)
    # ",12,45,78,": the volunteers in it, so that counting one person's appearances (their
    # data download) or removing them (account deletion) needs no JSON search
    volunteers: Mapped[str] = mapped_column(sa.Text, default=",")
    # {"ids": [...], "scores": [...], "tiers": [...], "features": [[...], ...],
    #  "feature_names": [...]} — in rank order
    data: Mapped[dict] = mapped_column(sa.JSON)


class WeightSetStatus(StrEnum):
    """candidate (learned, waiting for a person) → active (the live weights) → retired (kept to
    roll back to); a candidate a newer one replaced before anyone switched it on is superseded."""

    candidate = "candidate"
    active = "active"
    retired = "retired"
    superseded = "superseded"


class WeightSet(db.Model):
    """A set of the score's weights (``matcher.Weights``): learned by ``flask matching learn``
    with the offline comparison it was judged by, or the hand weights on record. Only a person
    makes one active (the admin's matching page); at most one is active at a time."""

    __tablename__ = "match_weight_set"
    __table_args__ = (  # two admins switching at once cannot leave two sets in use
        sa.Index("uq_match_weight_set_active", "status", unique=True,
                 postgresql_where=sa.text("status = 'active'"),
                 sqlite_where=sa.text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(sa.String(10))  # "learned" or "hand"
    status: Mapped[str] = mapped_column(sa.String(12), default=WeightSetStatus.candidate,
                                        index=True)
    weights: Mapped[dict] = mapped_column(sa.JSON)
    # The offline comparison (estimates with intervals, slates and outcomes it rests on), the
    # learning summary (pairs, coefficients, the position effect) and the weights compared to.
    report: Mapped[dict | None] = mapped_column(sa.JSON)
    activated_at: Mapped[datetime | None]
    activated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))
    retired_at: Mapped[datetime | None]

    activated_by: Mapped[User | None] = relationship()  # noqa: F821
