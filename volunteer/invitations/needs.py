"""Needs near me: open issues within my travel range that need my skills, ranked by the same
matcher that ranks volunteers for an issue, seen from the volunteer's side."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from volunteer.auth.models import User
from volunteer.extensions import db
from volunteer.geo import bounding_box, haversine_km
from volunteer.invitations.models import Invitation
from volunteer.issues.models import OPEN_STATUSES, Issue
from volunteer.matching.matcher import Suggestion

CANDIDATES = 300  # newest open issues in range that are scored


@dataclass
class Need:
    issue: Issue
    suggestion: Suggestion
    places_left: int


def needs_near(user: User, limit: int = 30) -> list[Need]:
    """Open issues in range needing a skill I hold (verified or not), best fit first."""
    from volunteer.issues.suggestions import issue_query
    from volunteer.matching.store import get_matcher

    profile = user.profile
    if profile is None or profile.paused:
        return []
    south, north, west, east = bounding_box(profile.lat, profile.lon, profile.travel_km)
    mine = db.select(Invitation.issue_id).where(Invitation.volunteer_id == user.id,
                                                Invitation.issue_id.is_not(None))
    issues = db.session.scalars(
        db.select(Issue).where(Issue.status.in_(OPEN_STATUSES), Issue.lat.between(south, north),
                               Issue.lon.between(west, east), Issue.id.not_in(mine),
                               Issue.reporter_id.is_distinct_from(user.id))
        .options(selectinload(Issue.category), selectinload(Issue.grid),
                 selectinload(Issue.village))
        .order_by(Issue.created_at.desc()).limit(CANDIDATES)).all()
    taken = dict(db.session.execute(
        db.select(Invitation.issue_id, sa.func.count(Invitation.id))
        .where(Invitation.issue_id.in_([i.id for i in issues] or [-1]),
               Invitation.status.in_(("accepted", "done")))
        .group_by(Invitation.issue_id)).tuples().all())
    matcher = get_matcher()
    out = []
    for issue in issues:
        left = issue.helpers_needed - taken.get(issue.id, 0)
        if left <= 0:
            continue
        if float(haversine_km(profile.lat, profile.lon, issue.lat, issue.lon)) > \
                profile.travel_km:
            continue
        s = matcher.evaluate_one(issue_query(issue), user.id)
        if s is not None and s.tier >= 2:
            out.append(Need(issue, s, left))
    out.sort(key=lambda n: (-n.suggestion.tier, -n.suggestion.score, n.suggestion.distance_m))
    return out[:limit]
