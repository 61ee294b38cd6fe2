"""The issue lifecycle: which action moves an issue from which state, and who may do it.

``RULES`` is the one table of the workflow. For every action it gives the statuses it starts
from, the status it leads to, and for each role the tiers at which that role may do it ("*" for
any tier). The pseudo-role ``reporter`` is whoever filed the issue, ``follower`` whoever said
"me too" to it. Scope comes on top: a role only counts for an issue inside its grid, 村居 or
department (``roles_for``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from volunteer.auth.models import GRID_ROLES, Role, RoleAssignment, User
from volunteer.common import utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.issues.models import STATUSES, IssueAction, IssueStatus, Tier
from volunteer.policy import ISSUE_PUBLIC_VIEW, covers_town, issue_view, town_of

ANY = "*"
REOPEN_DAYS = 14


@dataclass(frozen=True)
class Rule:
    sources: tuple[str, ...]
    target: str | None  # None: the status stays (escalations change the tier, comments nothing)
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)


DEPARTMENT_TIERS = (Tier.department, Tier.district)
HANDLERS = {Role.grid_member: (Tier.grid,), Role.grid_leader: (Tier.grid,),
            Role.village_admin: (Tier.grid, Tier.village),
            Role.department_staff: DEPARTMENT_TIERS, Role.admin: (ANY,),
            Role.district_admin: (ANY,)}
VERIFIERS = {Role.grid_leader: (ANY,), Role.grid_instructor: (ANY,),
             Role.village_admin: (ANY,), Role.admin: (ANY,), Role.district_admin: (ANY,)}
EVERYONE = {**{r: (ANY,) for r in (Role.grid_member, Role.grid_leader, Role.grid_instructor,
                                   Role.village_admin, Role.department_staff, Role.admin,
                                   Role.district_admin)},
            "reporter": (ANY,)}

RULES: dict[str, Rule] = {
    IssueAction.accept: Rule((IssueStatus.reported,), IssueStatus.accepted, HANDLERS),
    IssueAction.start: Rule((IssueStatus.accepted,), IssueStatus.in_progress, HANDLERS),
    IssueAction.resolve: Rule((IssueStatus.accepted, IssueStatus.in_progress),
                              IssueStatus.resolved, HANDLERS),
    IssueAction.verify: Rule((IssueStatus.resolved,), IssueStatus.closed,
                             VERIFIERS),  # 核查 passed: never by the handler
    IssueAction.fail_verification: Rule((IssueStatus.resolved,), IssueStatus.in_progress,
                                        VERIFIERS),  # 返工
    IssueAction.reject: Rule((IssueStatus.reported, IssueStatus.accepted), IssueStatus.rejected,
                             {Role.grid_leader: (Tier.grid,),
                              Role.village_admin: (Tier.grid, Tier.village),
                              Role.admin: (ANY,), Role.district_admin: (ANY,)}),
    IssueAction.escalate: Rule((IssueStatus.reported, IssueStatus.accepted,
                                IssueStatus.in_progress), IssueStatus.reported,
                               {Role.grid_member: (Tier.grid,), Role.grid_leader: (Tier.grid,),
                                Role.village_admin: (Tier.grid, Tier.village),
                                Role.department_staff: (Tier.department,),
                                Role.admin: (Tier.grid, Tier.village, Tier.department),
                                Role.district_admin: (Tier.grid, Tier.village,
                                                      Tier.department)}),
    IssueAction.return_: Rule((IssueStatus.reported, IssueStatus.accepted,
                               IssueStatus.in_progress), IssueStatus.reported,
                              {Role.department_staff: DEPARTMENT_TIERS,
                               Role.admin: (Tier.department,),
                               Role.district_admin: DEPARTMENT_TIERS}),
    IssueAction.reopen: Rule((IssueStatus.closed,), IssueStatus.reported, {"reporter": (ANY,)}),
    IssueAction.rate: Rule((IssueStatus.closed,), None, {"reporter": (ANY,)}),
    IssueAction.comment: Rule(STATUSES, None, EVERYONE),
}
NEXT_TIER = {Tier.grid: Tier.village, Tier.village: Tier.department,
             Tier.department: Tier.district}
PREVIOUS_TIER = {Tier.department: Tier.village, Tier.district: Tier.department}


class WorkflowError(DomainError):
    """The action is not possible now; ``code`` says why (for messages and the API)."""

    messages = {
        "unknown_action": _l("This action does not exist."),
        "wrong_status": _l("This action is not possible in the issue's current state."),
        "not_allowed": _l("Your role does not allow this action on this issue."),
        "own_work": _l("Verification must be done by someone other than the person who "
                       "resolved it."),
        "top_tier": _l("This issue is already with a department of the district."),
        "bottom_tier": _l("This issue is not with a department."),
        "reopen_expired": _l("An issue can be reopened only within 14 days of its closure."),
        "already_rated": _l("You have already rated this result."),
    }
    statuses = {"unknown_action": 422, "not_allowed": 403, "own_work": 403}


def roles_for(user: User | None, issue) -> set[str]:
    """The roles ``user`` holds *for this issue*: only roles whose scope covers it."""
    if user is None or not user.is_authenticated:
        return set()
    roles: set[str] = set()
    for a in user.roles:
        if a.role == Role.district_admin:
            roles.add(a.role)
        elif a.role == Role.admin and covers_town(user, town_of(issue)):
            roles.add(a.role)
        elif a.role in (Role.grid_member, Role.grid_leader, Role.grid_instructor) \
                and a.grid_id == issue.grid_id:
            roles.add(a.role)
        elif a.role == Role.village_admin and a.village_id == issue.village_id:
            roles.add(a.role)
        elif a.role == Role.department_staff and issue.tier in DEPARTMENT_TIERS \
                and a.department_id == issue.department_id:
            roles.add(a.role)
    if issue.reporter_id is not None and issue.reporter_id == user.id:
        roles.add("reporter")
    elif any(f.user_id == user.id for f in issue.followers):
        roles.add("follower")  # reported the same thing ("me too")
    return roles


PSEUDO_ROLES = {"reporter", "follower"}


def only_follower(user: User | None, issue) -> bool:
    """Whether ``user`` sees the issue only because they said "me too": then they see its
    public facts (``policy.issue_view``), not its text."""
    roles = roles_for(user, issue)
    return bool(roles) and issue_view(roles) == ISSUE_PUBLIC_VIEW


def is_staff_for(user: User | None, issue) -> bool:
    """Whether ``user`` holds a staff role for this issue (not only reporter or follower)."""
    return bool(roles_for(user, issue) - PSEUDO_ROLES)


def role_allows(action: str, role: str, tier: str) -> bool:
    """The table lookup alone: may ``role`` do ``action`` on an issue at ``tier``?"""
    tiers = RULES[action].roles.get(role, ())
    return ANY in tiers or tier in tiers


def verifiers(issue) -> list[User]:
    """Who may verify ``issue`` now that it is resolved: everyone ``RULES`` lets verify at its
    tier, in its scope, active, never the person who resolved it. The town admin (who may verify
    anywhere) is named only when nobody nearer may, so a town's office does not hear of every
    street lamp."""
    ra = RoleAssignment  # first the people whose scope covers the issue (as ``roles_for``) …
    in_scope = [ra.role == Role.district_admin.value,
                sa.and_(ra.role == Role.admin.value, ra.town_id == town_of(issue)),
                sa.and_(ra.role.in_([r.value for r in GRID_ROLES]), ra.grid_id == issue.grid_id),
                sa.and_(ra.role == Role.village_admin.value, ra.village_id == issue.village_id)]
    if issue.tier in DEPARTMENT_TIERS:
        in_scope.append(sa.and_(ra.role == Role.department_staff.value,
                                ra.department_id == issue.department_id))
    people = db.session.scalars(
        db.select(User).where(User.id.in_(db.select(ra.user_id).where(sa.or_(*in_scope))),
                              User.active, User.deleted_at.is_(None))
        .options(selectinload(User.roles)).order_by(User.id)).all()
    near, town = [], []
    for person in people:  # … then the table decides
        if person.id == issue.handler_id:
            continue
        allowed = {r for r in roles_for(person, issue)
                   if role_allows(IssueAction.verify, r, issue.tier)}
        if allowed - {Role.admin, Role.district_admin}:
            near.append(person)
        elif allowed:
            town.append(person)
    return near or town


def check(action: str, user: User, issue, now=None) -> None:
    """Raise WorkflowError unless ``user`` may do ``action`` on ``issue`` now."""
    rule = RULES.get(action)
    if rule is None:
        raise WorkflowError("unknown_action", "action")
    if issue.status not in rule.sources:
        raise WorkflowError("wrong_status")
    if not any(role_allows(action, r, issue.tier) for r in roles_for(user, issue)):
        raise WorkflowError("not_allowed")
    if action in (IssueAction.verify, IssueAction.fail_verification) \
            and issue.handler_id == user.id:
        raise WorkflowError("own_work")
    if action == IssueAction.escalate and issue.tier not in NEXT_TIER:
        raise WorkflowError("top_tier")
    if action == IssueAction.return_ and issue.tier not in PREVIOUS_TIER:
        raise WorkflowError("bottom_tier")
    if action == IssueAction.reopen and (issue.closed_at is None or (now or utcnow())
                                         - issue.closed_at > timedelta(days=REOPEN_DAYS)):
        raise WorkflowError("reopen_expired")
    if action == IssueAction.rate and issue.rating is not None:
        raise WorkflowError("already_rated")


def allowed_actions(user: User, issue) -> list[str]:
    """Every action ``user`` may take on ``issue`` now (for buttons and the API)."""
    out = []
    for action in RULES:
        try:
            check(action, user, issue)
        except WorkflowError:
            continue
        out.append(action)
    return out
