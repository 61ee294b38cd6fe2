"""Issues in the JSON API: list (filters, pagination), create, get, transition."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import g, jsonify
from pydantic import BaseModel, Field, field_validator

from volunteer import policy
from volunteer.api import bp, fields
from volunteer.api.spec import operation, validation_error
from volunteer.common import iso_utc, mask_name, to_utc, utcnow
from volunteer.extensions import db
from volunteer.issues.forms import HELPER_ACTIONS
from volunteer.issues.models import SOURCES, STATUSES, TIERS, Issue
from volunteer.issues.services import (
    Details,
    IssueError,
    IssueFilters,
    IssueInput,
    available_queues,
    can_view,
    default_queue,
    file_issue,
    issue_query,
    transition,
)
from volunteer.issues.workflow import (
    RULES,
    WorkflowError,
    allowed_actions,
    is_staff_for,
    only_follower,
)

Status = Literal[(*STATUSES, "open")]  # type: ignore[valid-type]
Action = Literal[tuple(RULES)]  # type: ignore[valid-type]


class IssueQuery(BaseModel):
    model_config = {"extra": "forbid"}

    queue: Literal["grid", "village", "department", "mine"] | None = None
    status: Status | None = None
    tier: Literal[TIERS] | None = None  # type: ignore[valid-type]
    category: str | None = Field(default=None, max_length=40)
    overdue: bool = False
    page: int = Field(default=1, ge=1, le=100000)
    per_page: int = Field(default=25, ge=1, le=100)


class IssueIn(BaseModel):
    model_config = {"extra": "forbid"}

    title: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=5000)
    category: str = Field(min_length=1, max_length=40)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    grid: str | None = Field(default=None, max_length=20)
    urgency: Literal["low", "normal", "high", "critical"] = "normal"
    # Grid staff and admins choose (patrol when left out); everyone else files a resident's report.
    source: Literal[SOURCES] | None = None  # type: ignore[valid-type]
    helpers_needed: int = Field(default=1, ge=1, le=50)
    needed_from: datetime | None = None
    needed_until: datetime | None = None
    address: str | None = Field(default=None, max_length=200,
                                description="The address or a landmark (optional).")

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        return fields.text(v, required=True)

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        return fields.text(v, max_len=200) if v is not None else None

    @field_validator("description")
    @classmethod
    def _description(cls, v: str) -> str:
        return fields.text(v, multiline=True, required=True)


class TransitionIn(BaseModel):
    model_config = {"extra": "forbid"}

    action: Action
    version: int = Field(ge=1, le=2**31 - 1)
    comment: str | None = Field(default=None, max_length=2000)
    resolution: str | None = Field(default=None, max_length=2000)
    hours_spent: float | None = Field(default=None, ge=0, le=1000)
    cost_saved_yuan: int | None = Field(default=None, ge=0, le=10_000_000)
    rating: int | None = Field(default=None, ge=1, le=5)
    department_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    duplicate_of: int | None = Field(default=None, ge=1, le=2**31 - 1)

    @field_validator("comment", "resolution")
    @classmethod
    def _clean(cls, v: str | None) -> str | None:
        return fields.text(v, multiline=True)


class EventOut(BaseModel):
    action: str
    actor: str | None
    from_status: str | None
    to_status: str | None
    from_tier: str | None
    to_tier: str | None
    comment: str | None
    at: str


class IssueOut(BaseModel):
    id: int
    title: str
    description: str
    category: str
    source: str
    lat: float
    lon: float
    grid: str
    village: str
    urgency: str
    tier: Literal[TIERS]  # type: ignore[valid-type]
    status: Literal[STATUSES]  # type: ignore[valid-type]
    department: str | None
    helpers_needed: int
    needed_from: str | None
    needed_until: str | None
    address: str | None = None
    deadline_at: str
    overdue: bool
    created_at: str
    resolution: str | None
    hours_spent: float | None
    cost_saved_yuan: int | None
    rating: int | None
    rework_count: int
    reopen_count: int
    version: int


class IssueDetailOut(IssueOut):
    events: list[EventOut]
    allowed_actions: list[str]


class IssuePage(BaseModel):
    items: list[IssueOut]
    page: int
    pages: int
    total: int


def issue_out(issue: Issue, now=None, detail: bool = False):
    data = dict(
        id=issue.id, title=issue.title, description=issue.description,
        category=issue.category.code, source=issue.source, lat=issue.lat, lon=issue.lon,
        grid=issue.grid.code, village=issue.grid.village.code, urgency=issue.urgency,
        tier=issue.tier, status=issue.status,
        department=issue.department.code if issue.department else None,
        helpers_needed=issue.helpers_needed, needed_from=iso_utc(issue.needed_from),
        needed_until=iso_utc(issue.needed_until), address=issue.address,
        deadline_at=iso_utc(issue.deadline_at),
        overdue=issue.is_overdue(now), created_at=iso_utc(issue.created_at),
        resolution=issue.resolution, hours_spent=issue.hours_spent,
        cost_saved_yuan=issue.cost_saved_yuan, rating=issue.rating,
        rework_count=issue.rework_count, reopen_count=issue.reopen_count, version=issue.version)
    limited = only_follower(g.api_user, issue)
    if limited:  # "me too": the public facts only, as on the page and the board
        lat, lon = policy.public_place(issue.lat, issue.lon)
        data.update(title=issue.category.display_name("zh"), description="", lat=lat, lon=lon,
                    resolution=None, rating=None, department=None, hours_spent=None,
                    cost_saved_yuan=None, needed_from=None, needed_until=None, address=None)
    if not detail:
        return IssueOut(**data)
    staff = is_staff_for(g.api_user, issue)

    def actor(e):  # reporters and followers see staff by masked name, as on the page
        if e.actor is None or limited:
            return None
        return e.actor.name if staff or e.actor_id == g.api_user.id else mask_name(e.actor.name)

    def shown(e) -> bool:  # followers: the changes of status, as on their page
        if limited:
            return bool(e.to_status) and e.from_status != e.to_status
        return staff or e.action not in HELPER_ACTIONS

    return IssueDetailOut(**data, allowed_actions=allowed_actions(g.api_user, issue), events=[
        EventOut(action=e.action, actor=actor(e), from_status=e.from_status,
                 to_status=e.to_status, from_tier=e.from_tier, to_tier=e.to_tier,
                 comment=None if limited else e.comment, at=iso_utc(e.created_at))
        for e in issue.events if shown(e)])


def _not_found():
    return jsonify({"error": "not_found", "message": "No such issue in your scope."}), 404


@operation(bp, "/issues", "GET", summary="Issues of one queue, filtered and paginated",
           query=IssueQuery, response=IssuePage, tags=["issues"])
def list_issues(query: IssueQuery):
    """Issues visible to the token's user."""
    user = g.api_user
    queues = available_queues(user)
    queue = query.queue or default_queue(user)
    if queue not in queues:
        return validation_error({"queue": f"must be one of {', '.join(queues)}"})
    f = IssueFilters(status=query.status or "", tier=query.tier or "",
                     category=query.category or "", overdue=query.overdue)
    now = utcnow()
    page = db.paginate(issue_query(user, queue, f, now), page=query.page,
                       per_page=query.per_page, max_per_page=100, error_out=False, count=True)
    return IssuePage(items=[issue_out(i, now) for i in page.items], page=page.page,
                     pages=page.pages, total=page.total or 0)


@operation(bp, "/issues", "POST", summary="File an issue", body=IssueIn,
           response=IssueDetailOut, status=201, tags=["issues"], raises=(IssueError,))
def create_issue(body: IssueIn):
    """File an issue; its grid comes from the location unless one is named. Only grid staff and
    admins say where it came from; anyone else files a resident's report."""
    source = policy.issue_source(g.api_user, body.source)
    if source is None:
        return validation_error({"source": "only grid staff choose the source; leave it out"})
    data = IssueInput(title=body.title, description=body.description, category=body.category,
                      lat=body.lat, lon=body.lon, grid_code=body.grid, urgency=body.urgency,
                      source=source, helpers_needed=body.helpers_needed,
                      needed_from=to_utc(body.needed_from), needed_until=to_utc(body.needed_until),
                      address=body.address)
    if (body.lat is None) != (body.lon is None):
        return validation_error({"lon" if body.lon is None else "lat": "give both lat and lon"})
    issue = file_issue(g.api_user, data)
    db.session.commit()
    return issue_out(issue, detail=True)


@operation(bp, "/issues/{issue_id}", "GET", summary="One issue with its timeline",
           response=IssueDetailOut, tags=["issues"], errors=[404])
def get_issue(issue_id: int):
    """An issue in the token's scope (404 otherwise)."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or not can_view(g.api_user, issue):
        return _not_found()
    return issue_out(issue, detail=True)


@operation(bp, "/issues/{issue_id}/transitions", "POST", summary="Accept, resolve, verify, "
           "escalate … an issue", body=TransitionIn, response=IssueDetailOut, tags=["issues"],
           errors=[404], raises=(IssueError, WorkflowError))
def transition_issue(issue_id: int, body: TransitionIn):
    """Do one action; ``version`` must be the issue's current version (409 when stale)."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or not can_view(g.api_user, issue):
        return _not_found()
    details = Details(comment=body.comment, resolution=body.resolution,
                      hours_spent=body.hours_spent, cost_saved_yuan=body.cost_saved_yuan,
                      rating=body.rating, department_id=body.department_id,
                      duplicate_of=body.duplicate_of)
    transition(g.api_user, issue, body.action, details, version=body.version)
    db.session.commit()
    return issue_out(issue, detail=True)
