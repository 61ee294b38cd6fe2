"""The demo town's matching history: for the issues of two to six months ago, the suggestion
list each grid leader was shown (now and then lightly shuffled, as ``MATCH_EXPLORE`` does), the
volunteers they invited from it and how each answered, so that ``flask matching learn`` has a
real log and the admin's matching page a real comparison. Leaders invite the first places more
often; volunteers answer as the simulator's hidden model says (``matching.simulate``)."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import numpy as np

from volunteer.auth.models import Role, RoleAssignment, User
from volunteer.common import to_local, utcnow
from volunteer.extensions import db
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.issues.models import Issue, IssueEvent, IssueStatus
from volunteer.matching import slates, store
from volunteer.matching.explore import explore
from volunteer.matching.queries import issue_query
from volunteer.matching.simulate import Need, Truth, invite_probability

FROM_DAYS, TO_DAYS = 60, 182  # the issues of this age get a history
EXPLORE = 0.1


def seed_history(rnd: random.Random) -> dict[str, int]:
    """Lists shown, invitations and answers for older issues; returns counts."""
    try:
        matcher = store.get_matcher()
    except store.MatcherUnavailable:  # no model trained: the demo works without a history
        return {"slates": 0}
    now = utcnow()
    rng = np.random.default_rng(2018)
    truth = Truth()
    ix = matcher.base
    personal = rng.normal(0, truth.personal_sd, ix.n)
    leaders: dict[int, int] = {}
    for grid_id, user_id in db.session.execute(
            db.select(RoleAssignment.grid_id, RoleAssignment.user_id)
            .where(RoleAssignment.role == Role.grid_leader).order_by(RoleAssignment.id)):
        leaders.setdefault(grid_id, user_id)
    issues = db.session.scalars(db.select(Issue).where(
        Issue.created_at < now - timedelta(days=FROM_DAYS),
        Issue.created_at >= now - timedelta(days=TO_DAYS),
        Issue.status != IssueStatus.rejected).order_by(Issue.created_at)).all()
    counts = {"slates": 0, "history_invitations": 0}
    for issue in issues:
        leader = leaders.get(issue.grid_id)
        if leader is None:
            continue
        result = matcher.match(issue_query(issue, limit=10))
        if not result.suggestions:
            continue
        ex = explore(result.suggestions, EXPLORE, rng)
        shown = ex.shown
        at = issue.created_at + timedelta(minutes=rnd.randint(20, 180))
        slate = slates.record(db.session.get_one(User, leader), "issue_page", shown,
                              skills=result.skills, issue=issue, exploration=ex,
                              urgent=result.urgent)
        slate.created_at = at
        counts["slates"] += 1
        rows = np.asarray([ix.row_of.get(s.user_id, -1) for s in shown], dtype=np.int64)
        code = result.skills[0][0] if result.skills else None
        col = matcher.col_of.get(code, 0)
        local = to_local(at)
        need = Need(issue.lat, issue.lon, code or "", result.urgent, local.hour,
                    local.weekday() >= 5)
        known = rows >= 0
        p = np.zeros(len(rows))
        if known.any():
            p[known] = truth.probability(ix, rows[known], personal, need, col)
        invited = rng.random(len(rows)) < invite_probability(np.arange(1, len(rows) + 1))
        answers = rng.random(len(rows))
        for place, (s, yes_p) in enumerate(zip(shown, p, strict=True), start=1):
            if not invited[place - 1] or s.user_id == leader:
                continue
            yes = bool(answers[place - 1] < yes_p)
            done = _invite(rnd, issue, s, slate.id, place, leader, at, yes, now)
            counts["history_invitations"] += 1
            r = rows[place - 1]
            if r >= 0:  # the next lists see this answer in the volunteer's reliability
                ix.invited[r] += 1
                ix.accepted[r] += yes
                ix.completed[r] += done
    db.session.flush()
    store.forget()  # the index was changed in place; the next use reads the database
    return counts


def _invite(rnd, issue: Issue, s, slate_id: int, place: int, leader: int, at, yes: bool,
            now) -> bool:
    """One invitation from a list and its answer; whether the volunteer came and helped."""
    sent = at + timedelta(minutes=rnd.randint(1, 90))
    inv = Invitation(kind="issue", issue_id=issue.id, volunteer_id=s.user_id,
                     invited_by_id=leader, origin="invite", wave=1, score=s.score,
                     distance_m=s.distance_m, reasons=[list(r) for r in s.reasons],
                     slate_id=slate_id, slate_rank=place, starts_at=issue.needed_from,
                     ends_at=issue.needed_until, expires_at=sent + timedelta(hours=24),
                     created_at=sent, updated_at=sent)
    if yes:
        inv.status = InvitationStatus.no_show if rnd.random() < 0.04 else InvitationStatus.done
        inv.responded_at = sent + timedelta(hours=rnd.uniform(0.2, 20))
    elif rnd.random() < 0.6:
        inv.status = InvitationStatus.declined
        inv.responded_at = sent + timedelta(hours=rnd.uniform(0.2, 20))
        inv.note = rnd.choice([None, "这周出差", "家里有事", "离得太远了"])
    else:  # never answered: expired
        inv.status = InvitationStatus.invited
    db.session.add(inv)
    issue.events.append(IssueEvent(actor_id=leader, action="invite", from_status=issue.status,
                                   to_status=issue.status, created_at=sent))
    if inv.status == InvitationStatus.done:
        served = to_local(issue.resolved_at or issue.closed_at or inv.responded_at).date()
        done_at = min(now, (issue.closed_at or inv.responded_at) + timedelta(hours=5))
        db.session.add(ServiceHours(
            volunteer_id=s.user_id, invitation=inv, issue_id=issue.id, kind="issue",
            activity=f"#{issue.id} {issue.title}"[:200], served_on=served,
            hours=Decimal(str(rnd.choice([1, 1.5, 2, 2, 3]))), status=HoursStatus.confirmed,
            proposed_by_id=s.user_id, proposed_at=done_at, confirmed_by_id=leader,
            confirmed_at=done_at))
        return True
    return False

