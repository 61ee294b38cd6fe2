"""Issue operations shared by views, the API, the demo and CLI. Services never commit.

Each change sends ``signals.issue_changed``; the invitations and the inbox react to it, so this
module imports neither."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.auth.models import GRID_ROLES, User
from volunteer.common import iso_utc, utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.geo import in_polygon
from volunteer.issues.models import (
    OPEN_STATUSES,
    Issue,
    IssueAction,
    IssueCategory,
    IssueEvent,
    IssueFollower,
    IssuePhoto,
    IssueStatus,
    Tier,
    UrgencyLevel,
    overdue_clause,
    verify_days,
)
from volunteer.issues.photos import delete_photo, original_path
from volunteer.issues.workflow import (
    DEPARTMENT_TIERS,
    NEXT_TIER,
    PREVIOUS_TIER,
    RULES,
    check,
    roles_for,
)
from volunteer.org.models import Department, Grid, Town, Village
from volunteer.privacy import eraser, exporter, files
from volunteer.signals import issue_changed
from volunteer.volunteers.services import GridLocator

TOWN_RADIUS_KM = 3.0  # an issue must lie within this distance of some grid's centre


class IssueError(DomainError):
    """Input or a state that the rules refuse; ``field`` names the form field."""

    messages = {
        "unknown_category": _l("Please choose a category from the list."),
        "unknown_urgency": _l("Please choose an urgency from the list."),
        "unknown_grid": _l("Please choose a grid from the list."),
        "no_location": _l("Put a pin on the map or choose the grid."),
        "outside_town": _l("This place is not within 3 km of any grid of the town."),
        "bad_window": _l("The end of the time window must be after its start."),
        "stale": _l("Someone changed this issue in the meantime. Here it is as it is now; "
                    "please check and try again."),
        "resolution_needed": _l("Please say how it was resolved."),
        "reason_needed": _l("Please give a reason."),
        "unknown_duplicate": _l("There is no other issue with that number."),
        "department_needed": _l("Please choose the department."),
        "rating_range": _l("Please give a rating from 1 to 5."),
        "comment_needed": _l("Please write a comment."),
        "me_too_closed": _l("This issue is no longer open. If the problem is back, please file "
                            "a new report."),
        "me_too_already": _l("You already follow this issue."),
    }
    statuses = {code: 422 for code in messages} | {"stale": 409, "me_too_closed": 409,
                                                   "me_too_already": 409}


def in_town(town: Town | None) -> list:
    """SQL conditions: issues of ``town``'s 村居 (none for all towns)."""
    if town is None:
        return []
    return [Issue.village_id.in_(db.select(Village.id).where(Village.town_id == town.id))]


def locate_grid(lat: float, lon: float) -> Grid | None:
    """The grid whose boundary holds the point, else the one with the nearest centre (≤ 3 km)."""
    for grid in db.session.scalars(db.select(Grid).where(Grid.boundary.is_not(None))):
        try:
            geometry = json.loads(grid.boundary)
            geometry = geometry.get("geometry", geometry)
            rings = geometry["coordinates"]
            polygons = rings if geometry.get("type") == "MultiPolygon" else [rings]
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if any(in_polygon(lat, lon, poly[0]) for poly in polygons if poly):
            return grid
    gid = GridLocator.load().nearest(lat, lon, TOWN_RADIUS_KM)
    return db.session.get(Grid, gid) if gid else None


@dataclass
class IssueInput:
    title: str
    description: str
    category: str
    lat: float | None
    lon: float | None
    grid_code: str | None = None
    urgency: str = "normal"
    source: str = "patrol"
    helpers_needed: int = 1
    needed_from: datetime | None = None
    needed_until: datetime | None = None
    skill_codes: list[str] | None = None  # set by a service order for the item's skill
    department_id: int | None = None  # a service order routed straight to its department
    service_item_id: int | None = None
    address: str | None = None  # a street address or a landmark, typed by the reporter
    client_uuid: str | None = None  # a phone outbox's report id (``issues.offline``)
    made_at: datetime | None = None  # when the phone made the report (UTC)


def departments_for(issue: Issue, tier: str) -> list[Department]:
    """The departments that can take ``issue`` at ``tier``: its town's departments, or the
    district's own for tier ``district``."""
    town = issue.village.town
    q = db.select(Department).order_by(Department.code)
    if tier == Tier.district:
        q = q.where(Department.district_id == town.district_id)
    else:
        q = q.where(Department.town_id == town.id)
    return list(db.session.scalars(q))


def department_for(issue: Issue, tier: str, wanted_id: int | None) -> Department:
    """The department ``issue`` goes to at ``tier``: the one chosen, if it serves the issue's
    town at that tier; else the category's default (or the department of the issue's town
    with the default's name); raises IssueError when none fits."""
    choices = {d.id: d for d in departments_for(issue, tier)}
    if wanted_id:
        if wanted_id not in choices:
            raise IssueError("department_needed", "department_id")
        return choices[wanted_id]
    default = issue.category.default_department if tier == Tier.department else None
    if default is not None:
        if default.id in choices:
            return default
        for d in choices.values():  # the same office of another town
            if d.name == default.name:
                return d
    raise IssueError("department_needed", "department_id")


def file_issue(reporter: User, data: IssueInput) -> Issue:
    """Create an issue at grid tier (or, for an order of a department's service, with that
    department); its grid comes from the location (or the chosen grid)."""
    category = db.session.scalar(db.select(IssueCategory).where(
        IssueCategory.code == data.category, IssueCategory.active))
    if category is None:
        raise IssueError("unknown_category", "category")
    urgency = db.session.scalar(db.select(UrgencyLevel).where(UrgencyLevel.code == data.urgency))
    if urgency is None:
        raise IssueError("unknown_urgency", "urgency")
    grid = None
    if data.grid_code:
        grid = db.session.scalar(db.select(Grid).where(Grid.code == data.grid_code))
        if grid is None:
            raise IssueError("unknown_grid", "grid")
    lat, lon = data.lat, data.lon
    if lat is None or lon is None:
        if grid is None:
            raise IssueError("no_location", "lat")
        lat, lon = grid.lat, grid.lon
    elif grid is None:
        grid = locate_grid(lat, lon)
        if grid is None:
            raise IssueError("outside_town", "lat")
    if data.needed_from and data.needed_until and data.needed_until <= data.needed_from:
        raise IssueError("bad_window", "needed_until")
    now = utcnow()
    department_id = data.department_id
    if department_id and db.session.scalar(db.select(Department.town_id).where(
            Department.id == department_id)) != grid.village.town_id:
        department_id = None  # another town's department: the place's grid takes it first
    tier = Tier.department if department_id else Tier.grid
    issue = Issue(title=data.title, description=data.description, category=category,
                  source=data.source, lat=lat, lon=lon, grid=grid, village_id=grid.village_id,
                  reporter=reporter, urgency=urgency.code, helpers_needed=data.helpers_needed,
                  needed_from=data.needed_from, needed_until=data.needed_until, tier=tier,
                  department_id=department_id, skill_codes=data.skill_codes or None,
                  service_item_id=data.service_item_id, status=IssueStatus.reported,
                  address=(data.address or "").strip()[:200] or None,
                  client_uuid=data.client_uuid, made_at=data.made_at,
                  deadline_at=now + timedelta(hours=urgency.hours), created_at=now)
    db.session.add(issue)
    issue.events.append(IssueEvent(actor=reporter, action="report", to_status=IssueStatus.reported,
                                   to_tier=tier, created_at=now))
    db.session.flush()  # the receivers need the issue's id
    issue_changed.send(issue, action="report", actor_id=reporter.id, now=now)
    return issue


@dataclass
class Details:
    """What some actions need: a comment, resolution figures, a rating, a department."""

    comment: str | None = None
    resolution: str | None = None
    hours_spent: float | None = None
    cost_saved_yuan: int | None = None
    rating: int | None = None
    department_id: int | None = None
    duplicate_of: int | None = None


def transition(user: User, issue: Issue, action: str, details: Details | None = None,
               version: int | None = None, now: datetime | None = None) -> IssueEvent:
    """Do ``action`` on ``issue`` as ``user``; the event goes on the timeline.

    ``version`` is the version the user saw: if the issue changed since, StaleIssue. The
    version column also makes two simultaneous transitions fail at flush for one of them.
    """
    d = details or Details()
    now = now or utcnow()
    if version is not None and version != issue.version:
        raise IssueError("stale")
    check(action, user, issue, now)
    rule = RULES[action]
    event = IssueEvent(actor_id=user.id, action=action, from_status=issue.status,
                       from_tier=issue.tier, comment=(d.comment or None), created_at=now)
    if action == IssueAction.resolve:
        if not d.resolution:
            raise IssueError("resolution_needed", "resolution")
        issue.resolution, issue.hours_spent, issue.cost_saved_yuan = \
            d.resolution, d.hours_spent, d.cost_saved_yuan
        issue.handler_id, issue.resolved_at = user.id, now
    elif action == IssueAction.verify:
        issue.closed_at = now
    elif action == IssueAction.fail_verification:
        if not d.comment:
            raise IssueError("reason_needed", "comment")
        issue.rework_count += 1
    elif action == IssueAction.reject:
        if d.duplicate_of:
            original = db.session.get(Issue, d.duplicate_of)
            if original is None or original.id == issue.id:
                raise IssueError("unknown_duplicate", "duplicate_of")
            issue.duplicate_of_id = original.id
        elif not d.comment:
            raise IssueError("reason_needed", "comment")
    elif action == IssueAction.escalate:
        if issue.tier == Tier.department:
            issue.town_department_id = issue.department_id
        issue.tier = NEXT_TIER[issue.tier]
        if issue.tier in DEPARTMENT_TIERS:
            issue.department_id = department_for(issue, issue.tier, d.department_id).id
        issue.handler_id = None
    elif action == IssueAction.return_:
        if not d.comment:
            raise IssueError("reason_needed", "comment")
        issue.tier = PREVIOUS_TIER[issue.tier]
        issue.department_id = issue.town_department_id if issue.tier == Tier.department else None
        issue.town_department_id = None
        issue.handler_id = None
    elif action == IssueAction.reopen:
        issue.reopen_count += 1
        issue.closed_at = issue.resolved_at = None
    elif action == IssueAction.rate:
        if d.rating is None or not 1 <= d.rating <= 5:
            raise IssueError("rating_range", "rating")
        issue.rating, issue.rating_comment = d.rating, d.comment
    elif action == IssueAction.comment and not d.comment:
        raise IssueError("comment_needed", "comment")
    if rule.target is not None:
        issue.status = rule.target
    event.to_status, event.to_tier = issue.status, issue.tier
    issue.updated_at = now
    issue.events.append(event)
    # Invitations follow (helpers done at closure, waiting ones lapse); the inbox tells people.
    issue_changed.send(issue, action=action, actor_id=user.id, now=now)
    return event


def me_too(user: User, issue: Issue, now: datetime | None = None) -> IssueFollower:
    """``user`` reports the same open issue: they follow it instead of filing a duplicate."""
    if not issue.is_open:
        raise IssueError("me_too_closed")
    if issue.reporter_id == user.id or any(f.user_id == user.id for f in issue.followers):
        raise IssueError("me_too_already")
    now = now or utcnow()
    follower = IssueFollower(user_id=user.id, created_at=now)
    issue.followers.append(follower)
    issue.events.append(IssueEvent(actor_id=user.id, action="me_too", from_status=issue.status,
                                   to_status=issue.status, created_at=now))
    return follower


# --- who sees what ----------------------------------------------------------------------------

def _followed_by(user: User):
    return Issue.id.in_(db.select(IssueFollower.issue_id).where(IssueFollower.user_id == user.id))


def visible_clause(user: User):
    """SQL condition for the issues ``user`` may see (staff by scope, anyone their reports)."""
    offices = policy.office_villages(user)
    if offices is None:
        return sa.true()
    conds = [Issue.reporter_id == user.id, _followed_by(user)]
    grid_ids = user.grid_ids(*GRID_ROLES)
    if grid_ids:
        conds.append(Issue.grid_id.in_(grid_ids))
    if offices:
        conds.append(Issue.village_id.in_(offices))
    if user.department_ids():
        conds.append(sa.and_(Issue.tier.in_(DEPARTMENT_TIERS),
                             Issue.department_id.in_(user.department_ids())))
    return sa.or_(*conds)


def can_view(user: User, issue: Issue) -> bool:
    return bool(user.is_authenticated and roles_for(user, issue))


QUEUES = ("grid", "village", "department", "mine")


def default_queue(user: User) -> str:
    offices = policy.office_villages(user)
    if offices is None or offices:
        return "village"
    if user.department_ids():
        return "department"
    if user.grid_ids(*GRID_ROLES):
        return "grid"
    return "mine"


def queue_clause(user: User, queue: str):
    """The issues of one queue: my grids, my 村居, my department, my reports."""
    offices = policy.office_villages(user)
    towns = policy.town_ids(user)
    if queue == "grid":
        if offices is None:
            return sa.true()
        return sa.or_(Issue.grid_id.in_(user.grid_ids(*GRID_ROLES) or {-1}),
                      Issue.village_id.in_(offices or {-1}) if towns else sa.false())
    if queue == "village":
        return sa.true() if offices is None else Issue.village_id.in_(offices or {-1})
    if queue == "department":
        if offices is None:
            return Issue.tier.in_(DEPARTMENT_TIERS)
        return sa.and_(Issue.tier.in_(DEPARTMENT_TIERS), sa.or_(
            Issue.department_id.in_(user.department_ids() or {-1}),
            Issue.village_id.in_(offices or {-1}) if towns else sa.false()))
    return sa.or_(Issue.reporter_id == user.id, _followed_by(user))


def available_queues(user: User) -> list[str]:
    out = []
    offices = policy.office_villages(user)
    town_office = offices is None or bool(policy.town_ids(user))
    if town_office or user.grid_ids(*GRID_ROLES):
        out.append("grid")
    if town_office or offices:
        out.append("village")
    if town_office or user.department_ids():
        out.append("department")
    out.append("mine")
    return out


@dataclass
class IssueFilters:
    status: str = ""
    tier: str = ""
    category: str = ""
    overdue: bool = False


def issue_query(user: User, queue: str, f: IssueFilters, now=None):
    """Issues of ``queue`` visible to ``user`` matching ``f``, newest first, eager-loaded."""
    q = (db.select(Issue).where(*queue_conditions(user, queue, f, now))
         .options(selectinload(Issue.category), selectinload(Issue.grid).selectinload(Grid.village),
                  selectinload(Issue.department), selectinload(Issue.followers))
         .order_by(Issue.created_at.desc(), Issue.id.desc()))
    return q


def queue_conditions(user: User, queue: str, f: IssueFilters, now=None) -> list:
    """The WHERE conditions of a queue's filtered list (for lists, maps and counts)."""
    conds = [visible_clause(user), queue_clause(user, queue)]
    if f.status == "open":
        conds.append(Issue.status.in_(OPEN_STATUSES))
    elif f.status:
        conds.append(Issue.status == f.status)
    if f.tier:
        conds.append(Issue.tier == f.tier)
    if f.category:
        conds.append(Issue.category_id.in_(
            db.select(IssueCategory.id).where(IssueCategory.code == f.category)))
    if f.overdue:
        conds.append(overdue_clause(now))
    return conds


def issue_points(user: User, queue: str, f: IssueFilters, now=None, limit: int = 5000):
    """(total, rows of id, lat, lon, title, status, deadline) of a queue's filtered issues."""
    conds = queue_conditions(user, queue, f, now)
    total = db.session.scalar(db.select(sa.func.count(Issue.id)).where(*conds))
    rows = db.session.execute(
        db.select(Issue.id, Issue.lat, Issue.lon, Issue.title, Issue.status, Issue.deadline_at)
        .where(*conds).order_by(Issue.created_at.desc(), Issue.id.desc()).limit(limit)).all()
    return total, rows


def queue_counts(user: User, queue: str, now=None) -> dict:
    """Counts by tier and by status of a queue, and how many are overdue."""
    base = sa.and_(visible_clause(user), queue_clause(user, queue))
    by_tier = dict(db.session.execute(db.select(Issue.tier, sa.func.count(Issue.id))
                                      .where(base).group_by(Issue.tier)).tuples().all())
    by_status = dict(db.session.execute(db.select(Issue.status, sa.func.count(Issue.id))
                                        .where(base).group_by(Issue.status)).tuples().all())
    overdue = db.session.scalar(db.select(sa.func.count(Issue.id))
                                .where(base, overdue_clause(now)))
    return {"tier": by_tier, "status": by_status, "overdue": overdue,
            "total": sum(by_tier.values())}


def tick(now: datetime | None = None) -> int:
    """Put an "overdue" event on each open issue that passed its deadline, once. Idempotent."""
    now = now or utcnow()
    flagged = db.select(IssueEvent.issue_id).where(IssueEvent.action == "overdue")
    ids = db.session.scalars(db.select(Issue.id).where(overdue_clause(now, waiting=False),
                                                       Issue.id.not_in(flagged))).all()
    for issue_id in ids:
        db.session.add(IssueEvent(issue_id=issue_id, action="overdue", created_at=now))
        issue_changed.send(db.session.get(Issue, issue_id), action="overdue", actor_id=None,
                           now=now)
    return len(ids)


def verification_overdue_clause(now: datetime | None = None):
    """SQL: resolved issues that have waited longer than ``VERIFY_DAYS`` for verification."""
    limit = (now or utcnow()) - timedelta(days=verify_days())
    return sa.and_(Issue.status == IssueStatus.resolved, Issue.resolved_at < limit)


def tick_verification(now: datetime | None = None) -> int:
    """Flag overdue, once per resolution, each issue waiting too long for verification, and tell
    those who may verify it. Idempotent."""
    now = now or utcnow()
    flagged = sa.exists().where(IssueEvent.issue_id == Issue.id, IssueEvent.action == "overdue",
                                IssueEvent.created_at >= Issue.resolved_at)
    issues = db.session.scalars(db.select(Issue).where(verification_overdue_clause(now),
                                                       ~flagged)).all()
    for issue in issues:
        db.session.add(IssueEvent(issue_id=issue.id, action="overdue",
                                  from_status=IssueStatus.resolved,
                                  to_status=IssueStatus.resolved, created_at=now))
        issue_changed.send(issue, action="verify_overdue", actor_id=None, now=now)
    return len(issues)


# --- privacy: download my data, delete my account ---------------------------------------------

@exporter("reports")
def _export_reports(user: User):
    """The issues I reported (with my photos and rating), those I said "me too" to, my comments."""
    mine = db.session.scalars(db.select(Issue).where(Issue.reporter_id == user.id)
                              .options(selectinload(Issue.category), selectinload(Issue.photos))
                              .order_by(Issue.id)).all()
    followed = db.session.execute(db.select(IssueFollower.issue_id, IssueFollower.created_at)
                                  .where(IssueFollower.user_id == user.id)
                                  .order_by(IssueFollower.id)).all()
    comments = db.session.execute(db.select(IssueEvent.issue_id, IssueEvent.action,
                                            IssueEvent.comment, IssueEvent.created_at)
                                  .where(IssueEvent.actor_id == user.id,
                                         IssueEvent.comment.is_not(None))
                                  .order_by(IssueEvent.id)).all()
    photos = db.session.execute(db.select(IssuePhoto.id, IssuePhoto.issue_id,
                                          IssuePhoto.created_at)
                                .where(IssuePhoto.uploaded_by_id == user.id)
                                .order_by(IssuePhoto.id)).all()
    return {
        "reported": [{"id": i.id, "title": i.title, "description": i.description,
                      "category": i.category.code, "source": i.source, "status": i.status,
                      "lat": i.lat, "lon": i.lon, "reported_at": iso_utc(i.created_at),
                      "closed_at": iso_utc(i.closed_at), "rating": i.rating,
                      "rating_comment": i.rating_comment} for i in mine],
        "me_too": [{"issue": iid, "at": iso_utc(at)} for iid, at in followed],
        "comments": [{"issue": iid, "action": action, "comment": text, "at": iso_utc(at)}
                     for iid, action, text, at in comments],
        "photos": [{"id": pid, "issue": iid, "at": iso_utc(at)} for pid, iid, at in photos],
    }


@files
def _photo_files(user: User):
    """The photos I uploaded, as I uploaded them."""
    return [(f"photos/issue-{p.issue_id}-{p.id}{original_path(p).suffix}", original_path(p))
            for p in db.session.scalars(db.select(IssuePhoto)
                                        .where(IssuePhoto.uploaded_by_id == user.id)
                                        .order_by(IssuePhoto.id))]


@eraser
def _erase_reports(user: User) -> None:
    """My reports stay as anonymous records of the grid's work; my photos and "me too"s go."""
    for photo in db.session.scalars(db.select(IssuePhoto)
                                    .where(IssuePhoto.uploaded_by_id == user.id)):
        delete_photo(photo)
    db.session.execute(sa.delete(IssueFollower).where(IssueFollower.user_id == user.id))
    db.session.execute(sa.update(Issue).where(Issue.reporter_id == user.id)
                       .values(reporter_id=None, rating_comment=None)
                       .execution_options(synchronize_session=False))
