"""Needs near me: open issues within my travel range that need my skills, ranked by the same
matcher that ranks volunteers for an issue, seen from the volunteer's side.

Until an organiser takes up their offer, a volunteer sees of an issue what the public sees
(``policy.issue_view``): its range, distance and order come from its public place, never from
the exact one, and nothing of its text."""
from __future__ import annotations

from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.auth.models import User
from volunteer.extensions import db
from volunteer.geo import bounding_box, haversine_km
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.issues.models import OPEN_STATUSES, Issue
from volunteer.issues.workflow import roles_for
from volunteer.matching.matcher import Suggestion
from volunteer.matching.queries import issue_query
from volunteer.matching.store import get_matcher

CANDIDATES = 300  # newest open issues in range that are scored
MARGIN_KM = 0.1  # an issue's public place lies within this of its exact one
#: The matcher's reasons the public view keeps (the grid is not a public fact).
PUBLIC_REASONS = frozenset({"skill", "skill_unverified", "skill_related", "skill_similar",
                            "distance", "same_village", "other_town", "available", "busy",
                            "load"})


@dataclass
class Need:
    issue: Issue
    suggestion: Suggestion
    places_left: int
    public: bool = True  # the volunteer sees the public facts only (``policy.issue_view``)
    distance_m: int = 0  # as the volunteer may see it: from the public place when ``public``

    def reasons(self) -> list[tuple]:
        """The matcher's reasons as the volunteer may see them."""
        if not self.public:
            return list(self.suggestion.reasons)
        return [(code, p) for code, p in self.suggestion.reasons
                if code in PUBLIC_REASONS]


def needs_near(user: User, limit: int = 30) -> list[Need]:
    """Open issues in range needing a skill I hold (verified or not), best fit first."""
    profile = user.profile
    if profile is None or profile.paused:
        return []
    south, north, west, east = bounding_box(profile.lat, profile.lon,
                                            profile.travel_km + MARGIN_KM)
    mine = db.select(Invitation.issue_id).where(Invitation.volunteer_id == user.id,
                                                Invitation.issue_id.is_not(None))
    # Each issue with its places taken, in one statement (no list of hundreds of ids sent back).
    taken = (db.select(sa.func.count(Invitation.id))
             .where(Invitation.issue_id == Issue.id,
                    Invitation.status.in_((InvitationStatus.accepted, InvitationStatus.done)))
             .correlate(Issue).scalar_subquery())
    rows = db.session.execute(
        db.select(Issue, taken).where(Issue.status.in_(OPEN_STATUSES),
                                      Issue.lat.between(south, north),
                                      Issue.lon.between(west, east), Issue.id.not_in(mine),
                                      Issue.reporter_id.is_distinct_from(user.id))
        .options(selectinload(Issue.category), selectinload(Issue.village),
                 selectinload(Issue.followers))
        .order_by(Issue.created_at.desc()).limit(CANDIDATES)).tuples().all()
    matcher = get_matcher()
    out = []
    for issue, places_taken in rows:
        left = issue.helpers_needed - places_taken
        if left <= 0:
            continue
        public = policy.issue_view(roles_for(user, issue)) == policy.ISSUE_PUBLIC_VIEW
        q = issue_query(issue)
        if public:  # the range, the score, the distance and so the order: from the public place
            lat, lon = policy.public_place(issue.lat, issue.lon)
            q = replace(q, lat=lat, lon=lon)
        if float(haversine_km(profile.lat, profile.lon, q.lat, q.lon)) > profile.travel_km:
            continue
        s = matcher.evaluate_one(q, user.id, min_tier=2)
        if s is not None:
            out.append(Need(issue, s, left, public, policy.public_distance(s.distance_m)
                            if public else s.distance_m))
    out.sort(key=lambda n: (-n.suggestion.tier, -n.suggestion.score, n.distance_m, n.issue.id))
    return out[:limit]
