"""The record of every suggestion list a person was shown (a *slate*), for learning and
evaluation later; never shown to volunteers."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
