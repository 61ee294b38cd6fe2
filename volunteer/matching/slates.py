"""Every suggestion list a person is shown is recorded (DESIGN §5): the issue page, session
staffing, ``POST /api/v1/match``, ``/api/v1/issues/{id}/suggestions`` and "needs near me".

A slate is written by the view that shows it (asking for suggestions inside a service, as an
invitation does to check a pick, records nothing). An invitation made from a shown list links to
that slate and the rank it had there. Slates are kept ``MATCH_SLATE_DAYS`` (``tick`` prunes
them), never shown to volunteers, not in any public export; a person's data download says only
how many times they were suggested, and deleting an account takes them out of every slate.
"""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import sqlalchemy as sa
from flask import current_app

from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.invitations.models import Invitation
from volunteer.matching.explore import Exploration
from volunteer.matching.explore import explore as explore_order
from volunteer.matching.matcher import FEATURES, MatchResult, Suggestion
from volunteer.matching.models import Slate
from volunteer.privacy import eraser, exporter

CONTEXTS = ("issue_page", "session_staffing", "api_match", "api_issue", "needs_near_me")


def explore(result: MatchResult) -> Exploration:
    """Now and then (``MATCH_EXPLORE``) swap two neighbours of the same grade and tier in the
    top five of a list about to be shown: ``result.suggestions`` is put in the order to show, and the
    returned exploration goes to ``record``."""
    ex = explore_order(result.suggestions, float(current_app.config.get("MATCH_EXPLORE", 0.0)),
                       np.random.default_rng())
    result.suggestions = ex.shown
    return ex


def record(viewer, context: str, shown: list[Suggestion], *, skills=None, issue=None,
           session=None, item_ids: list[int] | None = None,
           exploration: Exploration | None = None, urgent: bool = False) -> Slate:
    """Add the slate ``viewer`` is shown (in the order shown) to the session, with how its
    order was chosen (``explore``). ``item_ids`` names the items when they are not the
    suggestions' volunteers (needs near me lists issues, each with the viewer's own
    suggestion)."""
    assert context in CONTEXTS, context
    volunteers = [s.user_id for s in shown]
    ids = item_ids if item_ids is not None else volunteers
    slate = Slate(
        viewer_id=getattr(viewer, "id", None), context=context,
        issue_id=issue.id if issue is not None else None,
        session_id=session.id if session is not None else None,
        item_kind="issue" if item_ids is not None else "volunteer",
        skills=[c for c, _p in skills] if skills else None,
        propensity=exploration.propensity if exploration is not None else 1.0,
        volunteers="," + "".join(f"{u}," for u in dict.fromkeys(volunteers)),
        data={"ids": list(ids), "scores": [s.score for s in shown],
              "tiers": [s.tier for s in shown], "grades": [s.grade for s in shown],
              "features": [list(s.features) for s in shown], "feature_names": list(FEATURES),
              "urgent": bool(urgent),
              "explore": exploration.as_log() if exploration is not None else None})
    db.session.add(slate)
    db.session.flush()
    return slate


def rank_in(slate_id: int | None, viewer, volunteer_id: int, *, issue=None,
            session=None) -> tuple[int | None, int | None]:
    """(slate id, rank from 1) of ``volunteer_id`` in a slate ``viewer`` was shown for this
    issue or session; (None, None) when the slate is not theirs, not for this, or lacks them."""
    if not slate_id:
        return None, None
    slate = db.session.get(Slate, slate_id)
    if (slate is None or slate.viewer_id != getattr(viewer, "id", None)
            or slate.item_kind != "volunteer"
            or slate.issue_id != (issue.id if issue is not None else None)
            or slate.session_id != (session.id if session is not None else None)):
        return None, None
    ids = slate.data.get("ids", [])
    if volunteer_id not in ids:
        return None, None
    return slate.id, ids.index(volunteer_id) + 1


def prune(days: int, now=None) -> int:
    """Delete slates older than ``days`` (invitations keep their rank, lose the link)."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    old = sa.select(Slate.id).where(Slate.created_at < cutoff)
    # Said here too, as SQLite does not enforce the foreign key's ON DELETE SET NULL.
    db.session.execute(sa.update(Invitation).where(Invitation.slate_id.in_(old))
                       .values(slate_id=None).execution_options(synchronize_session=False))
    return db.session.execute(sa.delete(Slate).where(Slate.created_at < cutoff)
                              .execution_options(synchronize_session=False)).rowcount


def _mine(user_id: int):
    return Slate.volunteers.like(f"%,{int(user_id)},%")


@exporter("suggestions")
def _export(user):
    """Only how often the person was suggested: the lists themselves are about others too."""
    return {"times_suggested": db.session.scalar(
        sa.select(sa.func.count(Slate.id)).where(_mine(user.id))) or 0}


@eraser
def _erase(user) -> None:
    """Take the person out of every slate (their place stays, as 0, so ranks keep meaning)."""
    for slate in db.session.scalars(sa.select(Slate).where(_mine(user.id))):
        slate.volunteers = slate.volunteers.replace(f",{user.id},", ",")
        if slate.item_kind == "volunteer":
            data = dict(slate.data)
            data["ids"] = [0 if i == user.id else i for i in data.get("ids", [])]
            slate.data = data
    db.session.execute(sa.update(Slate).where(Slate.viewer_id == user.id)
                       .values(viewer_id=None).execution_options(synchronize_session=False))
