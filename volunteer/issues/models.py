"""Issues (事项), their categories and urgency levels, and the event timeline."""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.auth.models import User
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.org.models import Department, Grid, ServiceItem, Village


class IssueStatus(StrEnum):
    """Where an issue is in its lifecycle (``workflow.RULES`` moves it)."""

    reported = "reported"
    accepted = "accepted"
    in_progress = "in_progress"
    resolved = "resolved"  # waiting for verification (核查)
    closed = "closed"
    rejected = "rejected"


class Tier(StrEnum):
    """Who handles an issue: the grid, the 村居 (village), a town department, or a department
    of the district."""

    grid = "grid"
    village = "village"
    department = "department"
    district = "district"


class IssueAction(StrEnum):
    """The workflow's actions (the keys of ``workflow.RULES``), as ``IssueEvent.action`` records
    them; that column also records other events ("report", "me_too", "overdue", "photo" …)."""

    accept = "accept"
    start = "start"
    resolve = "resolve"
    verify = "verify"
    fail_verification = "fail_verification"
    reject = "reject"
    escalate = "escalate"
    return_ = "return"  # to the village, by a department (``return`` is a Python keyword)
    reopen = "reopen"
    rate = "rate"
    comment = "comment"


STATUSES = tuple(IssueStatus)
OPEN_STATUSES = (IssueStatus.reported, IssueStatus.accepted, IssueStatus.in_progress)
TIERS = tuple(Tier)
#: Where an issue came from, as staff choose it when filing (the web form, the JSON API).
SOURCES = ("patrol", "resident_report", "service_order", "hotline", "deputy_reception")
#: Filed by another system over Open311 GeoReport v2 (``volunteer/open311``); set there only.
OPEN311_SOURCE = "open311"


class IssueCategory(db.Model):
    """What kind of issue; each maps to the department that escalations propose."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(50))
    name_en: Mapped[str] = mapped_column(sa.String(80))
    default_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"))
    active: Mapped[bool] = mapped_column(default=True)

    default_department: Mapped[Department | None] = relationship()

    def __str__(self) -> str:
        return self.name_zh

    def display_name(self, locale: str) -> str:
        return self.name_en if str(locale).startswith("en") else self.name_zh


class UrgencyLevel(db.Model):
    """An urgency and the hours allowed to resolve an issue of it (admin-editable)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(20))
    name_en: Mapped[str] = mapped_column(sa.String(40))
    hours: Mapped[int] = mapped_column(default=72)

    def __str__(self) -> str:
        return self.name_zh

    def display_name(self, locale: str) -> str:
        return self.name_en if str(locale).startswith("en") else self.name_zh


class Issue(db.Model):
    """One issue found in a grid, tracked from report to verified closure."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("issue_category.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(20))
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("grid.id"), index=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("village.id"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"),
                                                    index=True)
    urgency: Mapped[str] = mapped_column(sa.String(20))
    needed_from: Mapped[datetime | None]
    needed_until: Mapped[datetime | None]
    # The address or a landmark, as people type it (the pin alone is not an address).
    address: Mapped[str | None] = mapped_column(sa.String(200))
    helpers_needed: Mapped[int] = mapped_column(default=1)
    tier: Mapped[str] = mapped_column(sa.String(12), default=Tier.grid, index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"), index=True)
    # At the district's tier: the town department that sent it up (and takes it back).
    town_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"))
    status: Mapped[str] = mapped_column(sa.String(12), default=IssueStatus.reported,
                                        index=True)
    handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    duplicate_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id"))
    deadline_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    hours_spent: Mapped[float | None] = mapped_column(sa.Float)
    cost_saved_yuan: Mapped[int | None]
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(sa.String(500))
    rework_count: Mapped[int] = mapped_column(default=0)
    reopen_count: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    # The service ordered, when the issue is a resident's order from the menu (点单).
    service_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_item.id"))
    # Skills the issue needs, as the grid leader set them; None: inferred from the text.
    skill_codes: Mapped[list[str] | None] = mapped_column(sa.JSON)
    # Filed from a phone's offline outbox: the report's own id (the idempotency key, so a
    # report sent twice is filed once) and when it was made on the phone (UTC); created_at
    # is when it arrived.
    client_uuid: Mapped[str | None] = mapped_column(sa.String(36), unique=True)
    made_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (sa.Index("ix_issue_lat_lon", "lat", "lon"),)

    category: Mapped[IssueCategory] = relationship()
    grid: Mapped[Grid] = relationship()
    village: Mapped[Village] = relationship()
    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])
    service_item: Mapped[ServiceItem | None] = relationship()
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    duplicate_of: Mapped[Issue | None] = relationship(remote_side=[id])
    events: Mapped[list[IssueEvent]] = relationship(
        back_populates="issue", order_by="IssueEvent.id", cascade="all, delete-orphan")
    photos: Mapped[list[IssuePhoto]] = relationship(
        back_populates="issue", order_by="IssuePhoto.id", cascade="all, delete-orphan")
    followers: Mapped[list[IssueFollower]] = relationship(
        back_populates="issue", order_by="IssueFollower.id", cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now: datetime | None = None) -> bool:
        """Overdue is computed when read: still open after the deadline, or resolved and
        waiting for verification longer than ``VERIFY_DAYS``."""
        now = now or utcnow()
        if self.status == IssueStatus.resolved and self.resolved_at is not None:
            return now - self.resolved_at > timedelta(days=verify_days())
        return self.is_open and now > self.deadline_at


def verify_days() -> float:
    """How long a resolved issue may wait for verification (the ``VERIFY_DAYS`` setting)."""
    from flask import current_app

    return float(current_app.config.get("VERIFY_DAYS", 2))


def overdue_clause(now: datetime | None = None, waiting: bool = True):
    """The SQL form of ``Issue.is_overdue``; ``waiting=False``: open issues past their deadline
    only (what ``tick`` flags, and the dashboard's figure)."""
    now = now or utcnow()
    late = sa.and_(Issue.status.in_(OPEN_STATUSES), Issue.deadline_at < now)
    if not waiting:
        return late
    return sa.or_(late, sa.and_(Issue.status == IssueStatus.resolved,
                                Issue.resolved_at.is_not(None),
                                Issue.resolved_at < now - timedelta(days=verify_days())))


class IssueEvent(db.Model):
    """One entry of an issue's timeline: a transition, an escalation, a comment."""

    # An issue's timeline, and "has it had an event of this kind since …" (tick's checks) as a
    # probe of the index whatever the planner's statistics say.
    __table_args__ = (sa.Index("ix_issue_event_issue_action", "issue_id", "action",
                               "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(24))  # an IssueAction, "report", "overdue" …
    from_status: Mapped[str | None] = mapped_column(sa.String(12))  # IssueStatus values
    to_status: Mapped[str | None] = mapped_column(sa.String(12))
    from_tier: Mapped[str | None] = mapped_column(sa.String(12))  # Tier values
    to_tier: Mapped[str | None] = mapped_column(sa.String(12))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    issue: Mapped[Issue] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class IssuePhoto(db.Model):
    """A photo of an issue. The file as uploaded is for staff only (it may carry the phone's GPS
    position in its EXIF data); everyone else gets a re-encoded copy without any metadata.
    Staff may mark a photo public, and only then does it appear on the public board."""

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"),
                                          index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    token: Mapped[str] = mapped_column(sa.String(32), unique=True)  # file names in instance/
    mime: Mapped[str] = mapped_column(sa.String(20))  # of the original
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    public: Mapped[bool] = mapped_column(default=False)
    public_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="photos")
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])


class IssueFollower(db.Model):
    """Someone else who reported the same issue ("me too"); they hear about it as the reporter
    does and may see it."""

    __table_args__ = (sa.UniqueConstraint("issue_id", "user_id", name="uq_issue_follower"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="followers")
    user: Mapped[User] = relationship()
