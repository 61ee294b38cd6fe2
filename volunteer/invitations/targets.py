"""What an invitation is for — an issue, or a service session to staff — behind one interface,
so that inviting, answering, places, locks and hours work the same for both."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from volunteer.auth.models import Role, RoleAssignment, User
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.invitations.models import Invitation
from volunteer.issues.models import OPEN_STATUSES, Issue, IssueEvent
from volunteer.issues.workflow import roles_for
from volunteer.policy import ORGANISERS, may_organise, may_run_point, may_see_callup
from volunteer.services.models import ServiceSession, SessionStatus

__all__ = ["ORGANISERS", "Target", "can_organise", "target"]


class Target:
    """Common behaviour; subclasses say where the facts live."""

    kind: str
    model: type

    def __init__(self, obj):
        self.obj = obj

    @property
    def id(self) -> int:
        return self.obj.id

    def column(self):
        """The Invitation column that points at this kind of target."""
        return getattr(Invitation, f"{self.kind}_id")

    def lock(self) -> None:
        """Serialise operations on this target (a row lock; SQLite: the write lock)."""
        model = self.model
        db.session.execute(sa.update(model).where(model.id == self.obj.id)
                           .values(updated_at=model.updated_at)
                           .execution_options(synchronize_session=False))

    def _organisers(self, grid_id: int, village_id: int) -> list[int]:
        ra = RoleAssignment
        return list(db.session.scalars(db.select(ra.user_id).where(sa.or_(
            sa.and_(ra.role == Role.grid_leader.value, ra.grid_id == grid_id),
            sa.and_(ra.role == Role.village_admin.value, ra.village_id == village_id)))
            .distinct()))

    def event(self, actor_id: int | None, action: str, comment: str | None = None,
              now: datetime | None = None) -> None:
        """Record on the target's timeline (issues have one; sessions do not)."""


class IssueTarget(Target):
    kind, model = "issue", Issue

    title = property(lambda self: f"#{self.obj.id} {self.obj.title}")
    starts = property(lambda self: self.obj.needed_from)
    ends = property(lambda self: self.obj.needed_until)
    places = property(lambda self: self.obj.helpers_needed)
    lat = property(lambda self: self.obj.lat)
    lon = property(lambda self: self.obj.lon)

    def is_open(self) -> bool:
        return self.obj.status in OPEN_STATUSES

    def can_organise(self, user: User | None) -> bool:
        return may_organise(roles_for(user, self.obj))

    def organisers(self) -> list[int]:
        return self._organisers(self.obj.grid_id, self.obj.village_id)

    def event(self, actor_id, action, comment=None, now=None) -> None:
        issue = self.obj
        issue.events.append(IssueEvent(actor_id=actor_id, action=action,
                                       from_status=issue.status, to_status=issue.status,
                                       comment=comment, created_at=now or utcnow()))


class SessionTarget(Target):
    kind = "session"

    @property
    def model(self):
        return ServiceSession

    title = property(lambda self: f"{self.obj.item.name} · {self.obj.point.name}")
    starts = property(lambda self: self.obj.starts_at)
    ends = property(lambda self: self.obj.ends_at)
    places = property(lambda self: self.obj.staff_needed)
    lat = property(lambda self: self.obj.point.lat)
    lon = property(lambda self: self.obj.point.lon)

    def is_open(self) -> bool:
        return self.obj.status == SessionStatus.scheduled and self.obj.starts_at > utcnow()

    def can_organise(self, user: User | None) -> bool:
        return may_run_point(user, self.obj.point)

    def organisers(self) -> list[int]:
        grid = self.obj.point.grid
        return self._organisers(grid.id, grid.village_id)


def target(obj) -> Target:
    """The Target of an issue, a session, or of an invitation or hours entry."""
    if isinstance(obj, Issue):
        return IssueTarget(obj)
    if isinstance(obj, ServiceSession):
        return SessionTarget(obj)
    if getattr(obj, "issue", None) is not None:
        return IssueTarget(obj.issue)
    if getattr(obj, "session", None) is not None:
        return SessionTarget(obj.session)
    raise ValueError("an invitation without a target")


def can_organise(user: User | None, obj) -> bool:
    """Grid leaders of the grid, admins of the 村居, and the town admin organise help for an
    issue or a session (``obj`` may also be an invitation or hours entry; a call-up's hours:
    its organisers, ``policy.may_see_callup``)."""
    if getattr(obj, "callup", None) is not None:
        return may_see_callup(user, obj.callup)
    try:
        return target(obj).can_organise(user)
    except ValueError:
        return False
