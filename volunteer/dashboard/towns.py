"""The district's towns side by side for a period: each figure one query grouped by town (an
issue's town is its 村居's), so the number of queries does not grow with the towns."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from volunteer.auth.models import User
from volunteer.callups.models import CallUp
from volunteer.common import cached, utcnow
from volunteer.dashboard.figures import Period, median_days_by
from volunteer.dashboard.tables import Table
from volunteer.extensions import db
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.issues.models import Issue, IssueStatus, overdue_clause
from volunteer.org.models import Grid, GridPoint, Town, Village
from volunteer.rules import FORMULA_START
from volunteer.services.models import ServiceSession
from volunteer.volunteers.models import VolunteerProfile

#: A helper was found: a volunteer accepted (or has done the task).
TAKEN = (InvitationStatus.accepted, InvitationStatus.done)


@dataclass
class TownRow:
    """One town's figures (or the district's total: ``code`` empty) for the period: issues found
    in it and what became of them, helpers, volunteers now, confirmed hours."""

    code: str
    name: str
    found: int = 0
    counted: int = 0  # found and not rejected: those to be closed
    closed: int = 0
    overdue: int = 0  # open past their deadline now
    asked: int = 0  # helpers were sought (an invitation or an offer)
    helped: int = 0  # … and one accepted
    median_days: float | None = None
    volunteers: int = 0
    hours: Decimal = Decimal(0)

    @property
    def closed_share(self) -> float | None:
        return self.closed / self.counted if self.counted else None

    @property
    def overdue_share(self) -> float | None:
        return self.overdue / self.counted if self.counted else None

    @property
    def helped_share(self) -> float | None:
        return self.helped / self.asked if self.asked else None


def compare(towns: list[Town], period: Period, fresh: bool = False
            ) -> tuple[list[TownRow], TownRow]:
    """``town_rows`` kept in the app's cache like the dashboards' figures (``fresh``: anew)."""
    return cached("towns", compare_key(towns, period), lambda: town_rows(towns, period),
                  fresh=fresh, track=True)


def compare_key(towns: list[Town], period: Period) -> tuple:
    return (tuple(t.id for t in towns), period.start, period.end)


def town_rows(towns: list[Town], period: Period, now: datetime | None = None
              ) -> tuple[list[TownRow], TownRow]:
    """A row per town of ``towns`` and the total of them, for the issues found in ``period``."""
    now = now or utcnow()
    rows = {t.id: TownRow(t.code, t.name) for t in towns}
    found = period.contains(Issue.created_at)
    by_village = (Village, Issue.village_id == Village.id)
    inv = (db.select(Invitation.issue_id,
                     sa.func.count(Invitation.id).filter(Invitation.status.in_(TAKEN))
                     .label("taken"))
           .where(Invitation.issue_id.is_not(None), Invitation.created_at >= period.utc_start)
           .group_by(Invitation.issue_id).subquery())
    counted = Issue.status != IssueStatus.rejected
    for town_id, n, c, closed, overdue, asked, helped in db.session.execute(
            db.select(Village.town_id, sa.func.count(Issue.id),
                      sa.func.count(Issue.id).filter(counted),
                      sa.func.count(Issue.id).filter(Issue.status == IssueStatus.closed),
                      sa.func.count(Issue.id).filter(overdue_clause(now, waiting=False)),
                      sa.func.count(Issue.id).filter(inv.c.issue_id.is_not(None)),
                      sa.func.count(Issue.id).filter(inv.c.taken > 0))
            .select_from(Issue).join(*by_village).outerjoin(inv, inv.c.issue_id == Issue.id)
            .where(found).group_by(Village.town_id)):
        if town_id in rows:
            r = rows[town_id]
            r.found, r.counted, r.closed, r.overdue, r.asked, r.helped = \
                n, c, closed, overdue, asked, helped
    closed = sa.and_(found, Issue.status == IssueStatus.closed)
    for town_id, days in median_days_by(closed, Village.town_id, by_village).items():
        if town_id in rows:
            rows[town_id].median_days = days
    for town_id, n in cached("town_volunteers", (), _volunteers_by_town):
        if town_id in rows:
            rows[town_id].volunteers = n
    for town_id, hours in db.session.execute(_hours_by_town(period)):
        if town_id in rows:
            rows[town_id].hours = Decimal(hours or 0)
    out = [rows[t.id] for t in towns]
    total = TownRow("", "", median_days=median_days_by(closed).get(None))
    for r in out:
        for name in ("found", "counted", "closed", "overdue", "asked", "helped", "volunteers",
                     "hours"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
    return out, total


def _volunteers_by_town() -> list[tuple[int, int]]:
    """Active volunteers per town (every profile of the district: kept a while, ``cached``)."""
    P = VolunteerProfile
    return [tuple(r) for r in db.session.execute(
        db.select(Village.town_id, sa.func.count(P.id))
        .join(Grid, P.home_grid_id == Grid.id).join(Village, Grid.village_id == Village.id)
        .join(User, P.user_id == User.id)
        .where(P.paused.is_(False), User.active.is_(True), User.deleted_at.is_(None))
        .group_by(Village.town_id))]


def _hours_by_town(period: Period):
    """Confirmed hours served in the period, by the town of their issue's 村居, of their
    session's grid point, or of their call-up."""
    H = ServiceHours
    issue_village = aliased(Village)
    point_village = aliased(Village)
    town = sa.func.coalesce(issue_village.town_id, point_village.town_id, CallUp.town_id)
    return (db.select(town, sa.func.sum(H.hours)).select_from(H)
            .outerjoin(Issue, H.issue_id == Issue.id)
            .outerjoin(issue_village, Issue.village_id == issue_village.id)
            .outerjoin(ServiceSession, H.session_id == ServiceSession.id)
            .outerjoin(GridPoint, ServiceSession.point_id == GridPoint.id)
            .outerjoin(Grid, GridPoint.grid_id == Grid.id)
            .outerjoin(point_village, Grid.village_id == point_village.id)
            .outerjoin(CallUp, H.callup_id == CallUp.id)
            .where(H.status == HoursStatus.confirmed, H.served_on >= period.start,
                   H.served_on <= period.end)
            .group_by(town))


def pct(share: float | None) -> str:
    return f"{100 * share:.1f}%" if share is not None else "—"


def town_table(rows: list[TownRow], total: TownRow, headers: list[str], title: str,
               total_label: str) -> Table:
    """The comparison as a table (the page, the CSV and the XLSX show the same cells), with a
    bar chart of the share closed."""
    def cells(r: TownRow, name: str) -> list:
        return [name, r.found, r.closed, pct(r.closed_share),
                f"{r.median_days:.1f}" if r.median_days is not None else "—",
                pct(r.overdue_share), pct(r.helped_share), r.volunteers, float(r.hours)]

    return Table("towns", title, headers,
                 [cells(r, r.name) for r in rows] + [cells(total, total_label)],
                 chart={"type": "bar", "indexAxis": "y", "labels": [r.name for r in rows],
                        "datasets": [{"label": headers[3],
                                      "data": [round(100 * r.closed_share, 1)
                                               if r.closed_share is not None else None
                                               for r in rows]}]})


def to_csv(table: Table) -> bytes:
    """The table as CSV in UTF-8 with a byte-order mark (Chinese Excel opens it as it is); a
    cell a spreadsheet would read as a formula starts with an apostrophe."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v
                         for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
