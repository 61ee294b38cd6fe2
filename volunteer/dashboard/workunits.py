"""The work-unit report (双报到 feedback): for a period and a work unit, its in-service party
members registered in the town, their grids, their activities and confirmed hours."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import selectinload

from volunteer.auth.models import User
from volunteer.dashboard.figures import Period, Scope
from volunteer.extensions import db
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.org.models import Grid
from volunteer.volunteers.models import VolunteerProfile, WorkUnit


@dataclass
class Member:
    name: str
    phone: str
    village: str
    grid: str
    registered_on: str
    status: str
    activities: list[tuple[str, str, Decimal]] = field(default_factory=list)  # date, what, h

    @property
    def hours(self) -> Decimal:
        return sum((h for _d, _a, h in self.activities), Decimal(0))


def unit_report(unit: WorkUnit, scope: Scope, period: Period) -> list[Member]:
    """The unit's party members living in ``scope``, with confirmed hours in ``period``."""
    P = VolunteerProfile
    profiles = db.session.scalars(
        db.select(P).join(User, P.user_id == User.id)
        .where(P.work_unit_id == unit.id, P.is_party_member, User.deleted_at.is_(None),
               scope.grids(P.home_grid_id))
        .options(selectinload(P.user), selectinload(P.home_grid).selectinload(Grid.village))
        .order_by(P.id)).all()
    entries: dict[int, list] = {}
    for e in db.session.scalars(
            db.select(ServiceHours).where(
                ServiceHours.volunteer_id.in_([p.user_id for p in profiles] or [-1]),
                ServiceHours.status == HoursStatus.confirmed,
                ServiceHours.served_on >= period.start, ServiceHours.served_on <= period.end)
            .order_by(ServiceHours.served_on, ServiceHours.id)):
        entries.setdefault(e.volunteer_id, []).append(
            (e.served_on.isoformat(), e.activity, e.hours))
    return [Member(name=p.user.name, phone=p.user.phone or "",
                   village=p.home_grid.village.name if p.home_grid else "",
                   grid=p.home_grid.name if p.home_grid else "",
                   registered_on=p.party_registered_on.isoformat()
                   if p.party_registered_on else "", status=p.party_status or "",
                   activities=entries.get(p.user_id, [])) for p in profiles]
