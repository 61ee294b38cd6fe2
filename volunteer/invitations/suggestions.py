"""Whom to invite: the matcher's suggestions for an issue or a service session, never anyone
already invited to it (or offering to help)."""
from __future__ import annotations

from volunteer.invitations.services import invited_ids
from volunteer.matching.matcher import MatchResult
from volunteer.matching.queries import issue_query, session_query
from volunteer.matching.store import get_matcher


def for_issue(issue, limit: int = 10, exclude=frozenset()) -> MatchResult:
    """Suggestions for an issue; never anyone already invited to it (or offering to help)."""
    return get_matcher().match(issue_query(issue, limit, set(exclude) | invited_ids(issue)))


def for_session(session, limit: int = 10) -> MatchResult:
    """Staff suggestions for a service session; never anyone already invited to staff it."""
    return get_matcher().match(session_query(session, limit, invited_ids(session)))
