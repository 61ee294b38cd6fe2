"""The dashboard's figures for a scope (the town, a 村居 or grids) and a period. Every figure is
one aggregate query (or a few), so the time does not grow with the rows shown; nothing here
knows about requests or templates."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import median

import sqlalchemy as sa

from volunteer.callups.models import CallUp, CallUpResponse, NoticeOutcome
from volunteer.common import SHANGHAI, cached, to_utc, utcnow
from volunteer.extensions import db
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.issues.models import (
    OPEN_STATUSES,
    Issue,
    IssueAction,
    IssueCategory,
    IssueEvent,
    IssueStatus,
    overdue_clause,
)
from volunteer.org.models import Grid, GridPoint, Town, Village
from volunteer.services.models import ServiceSession
from volunteer.skills.models import Skill
from volunteer.volunteers.models import PartyStatus, SkillStatus, VolunteerProfile, VolunteerSkill


@dataclass
class Scope:
    """Whose figures: everything (both None), some 村居 (a town's, or one), or some grids."""

    label: str
    village_ids: frozenset[int] | None = None
    grid_ids: frozenset[int] | None = None

    def issues(self):
        if self.grid_ids is not None:
            return Issue.grid_id.in_(self.grid_ids or {-1})
        if self.village_ids is not None:
            return Issue.village_id.in_(self.village_ids or {-1})
        return sa.true()

    def grids(self, column):
        """A condition on a grid id column (a volunteer's home grid, a point's grid)."""
        if self.grid_ids is not None:
            return column.in_(self.grid_ids or {-1})
        if self.village_ids is not None:
            return column.in_(db.select(Grid.id).where(Grid.village_id.in_(
                self.village_ids or {-1})))
        return sa.true()

    def villages(self, column):
        if self.village_ids is not None:
            return column.in_(self.village_ids or {-1})
        if self.grid_ids is not None:
            return column.in_(db.select(Grid.village_id).where(Grid.id.in_(
                self.grid_ids or {-1})))
        return sa.true()


@dataclass
class Period:
    """Local dates, both included; stored times are compared in UTC."""

    start: date
    end: date

    @property
    def utc_start(self) -> datetime:
        return to_utc(datetime.combine(self.start, datetime.min.time()))

    @property
    def utc_end(self) -> datetime:  # exclusive
        return to_utc(datetime.combine(self.end + timedelta(days=1), datetime.min.time()))

    def contains(self, column):
        return sa.and_(column >= self.utc_start, column < self.utc_end)


@dataclass
class Figures:
    found: int = 0
    by_tier: dict[str, int] = field(default_factory=dict)
    by_category: list[tuple[str, str, str, int]] = field(default_factory=list)
    by_source: dict[str, int] = field(default_factory=dict)
    per_month: list[tuple[str, int, int]] = field(default_factory=list)  # month, found, closed
    due: int = 0
    closed_of_due: int = 0
    closed_on_time: int = 0
    median_days: float | None = None
    overdue_now: int = 0
    rework: int = 0
    rating: float | None = None
    ratings: int = 0
    cost_saved: int = 0

    @property
    def closure_rate(self) -> float | None:
        return self.closed_of_due / self.due if self.due else None

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.due if self.due else None


def _month(column):
    """'YYYY-MM' of a stored UTC time, in Shanghai (UTC+8, no daylight saving)."""
    if db.engine.dialect.name == "sqlite":
        return sa.func.strftime("%Y-%m", sa.func.datetime(column, "+8 hours"))
    return sa.func.to_char(column + timedelta(hours=8), "YYYY-MM")


def _median_days(where) -> float | None:
    """The median days from report to closure of the issues ``where`` selects."""
    return median_days_by(where).get(None)


def median_days_by(where, by=None, join=None) -> dict:
    """The median days from report to closure of the issues ``where`` selects, per value of
    ``by`` (one value, None, without it; ``join``: the (table, on clause) that brings ``by``'s
    table to Issue): computed by PostgreSQL (``percentile_cont``, no rows sent over), by Python
    on SQLite."""
    keys = [by] if by is not None else []

    def select(*columns):
        q = db.select(*keys, *columns).select_from(Issue)
        return (q.join(*join) if join is not None else q).where(where)

    if db.session.get_bind().dialect.name == "postgresql":
        days = sa.extract("epoch", Issue.closed_at - Issue.created_at) / 86400.0
        q = select(sa.func.percentile_cont(0.5).within_group(days))
        rows = db.session.execute(q.group_by(by) if by is not None else q).all()
        return {(r[0] if by is not None else None): float(r[-1])
                for r in rows if r[-1] is not None}
    durations: dict = {}
    for r in db.session.execute(select(Issue.created_at, Issue.closed_at)):
        key = r[0] if by is not None else None
        durations.setdefault(key, []).append((r[-1] - r[-2]).total_seconds() / 86400)
    return {k: median(v) for k, v in durations.items()}


def issue_figures(scope: Scope, period: Period, now: datetime | None = None) -> Figures:
    """Issues found in the period and what became of them; ``now`` (default: now) is the moment
    the overdue count describes — the end of a past month for its report."""
    as_of = now
    now = now or utcnow()
    f = Figures()
    found = sa.and_(scope.issues(), period.contains(Issue.created_at))
    f.by_tier = dict(db.session.execute(db.select(Issue.tier, sa.func.count(Issue.id))
                                        .where(found).group_by(Issue.tier)).tuples().all())
    f.found = sum(f.by_tier.values())
    f.by_source = dict(db.session.execute(db.select(Issue.source, sa.func.count(Issue.id))
                                          .where(found).group_by(Issue.source)).tuples().all())
    f.by_category = [tuple(r) for r in db.session.execute(
        db.select(IssueCategory.code, IssueCategory.name_zh, IssueCategory.name_en,
                  sa.func.count(Issue.id)).join(Issue, Issue.category_id == IssueCategory.id)
        .where(found).group_by(IssueCategory.id, IssueCategory.code, IssueCategory.name_zh,
                               IssueCategory.name_en)
        .order_by(sa.func.count(Issue.id).desc()))]
    month = _month(Issue.created_at)
    closed_month = _month(Issue.closed_at)
    found_by = dict(db.session.execute(db.select(month, sa.func.count(Issue.id)).where(found)
                                       .group_by(month)).tuples().all())
    closed_by = dict(db.session.execute(
        db.select(closed_month, sa.func.count(Issue.id))
        .where(scope.issues(), Issue.status == IssueStatus.closed, period.contains(Issue.closed_at))
        .group_by(closed_month)).tuples().all())
    f.per_month = [(m, found_by.get(m, 0), closed_by.get(m, 0))
                   for m in months(period)]
    # 结案率 = closed / due: issues (not rejected) whose deadline fell in the period, up to now.
    due_end = min(period.utc_end, now)
    due = sa.and_(scope.issues(), Issue.status != IssueStatus.rejected,
                  Issue.deadline_at >= period.utc_start, Issue.deadline_at < due_end)
    f.due, f.closed_of_due, f.closed_on_time = db.session.execute(
        db.select(sa.func.count(Issue.id),
                  sa.func.count(Issue.id).filter(Issue.status == IssueStatus.closed),
                  sa.func.count(Issue.id).filter(Issue.status == IssueStatus.closed,
                                                 Issue.closed_at <= Issue.deadline_at))
        .where(due)).one()
    f.median_days = _median_days(sa.and_(scope.issues(), Issue.status == IssueStatus.closed,
                                         period.contains(Issue.closed_at)))
    f.overdue_now = db.session.scalar(db.select(sa.func.count(Issue.id)).where(
        scope.issues(), overdue_clause(now, waiting=False) if as_of is None or as_of >= utcnow()
        else overdue_at(as_of)))
    f.rework = db.session.scalar(
        db.select(sa.func.count(IssueEvent.id)).join(Issue, IssueEvent.issue_id == Issue.id)
        .where(scope.issues(), IssueEvent.action == IssueAction.fail_verification,
               period.contains(IssueEvent.created_at)))
    rating, n, saved = db.session.execute(
        db.select(sa.func.avg(Issue.rating), sa.func.count(Issue.rating),
                  sa.func.coalesce(sa.func.sum(Issue.cost_saved_yuan), 0))
        .where(scope.issues(), Issue.status == IssueStatus.closed,
               period.contains(Issue.closed_at))).one()
    f.rating = float(rating) if rating is not None else None
    f.ratings, f.cost_saved = n, int(saved or 0)
    return f


def overdue_at(moment: datetime):
    """Issues that were overdue at a past ``moment``: filed before it, due before it, and still
    open then — their status at that moment is the last status change before it (an issue
    without one was just reported)."""
    E = IssueEvent
    status_then = (db.select(E.to_status)
                   .where(E.issue_id == Issue.id, E.to_status.is_not(None), E.created_at < moment)
                   .order_by(E.created_at.desc(), E.id.desc()).limit(1)
                   .correlate(Issue).scalar_subquery())
    return sa.and_(Issue.created_at < moment, Issue.deadline_at < moment,
                   sa.func.coalesce(status_then, IssueStatus.reported).in_(OPEN_STATUSES))


def months(period: Period) -> list[str]:
    """'YYYY-MM' of every month the period touches."""
    out, y, m = [], period.start.year, period.start.month
    while (y, m) <= (period.end.year, period.end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _scope_key(scope: Scope) -> tuple:
    return (tuple(sorted(scope.village_ids)) if scope.village_ids is not None else None,
            tuple(sorted(scope.grid_ids)) if scope.grid_ids is not None else None)


def volunteers_by_skill(scope: Scope, period: Period, as_of: datetime | None = None
                        ) -> list[tuple]:
    """Per skill: (code, zh, en, registered, verified, available, helped in the period); with
    ``as_of``, only volunteers registered before it and skills verified before it."""
    P, VS = VolunteerProfile, VolunteerSkill
    then = P.created_at < as_of if as_of is not None else sa.true()
    verified = sa.and_(VS.status == SkillStatus.verified, VS.verified_at < as_of) \
        if as_of is not None else VS.status == SkillStatus.verified
    helped = db.select(Invitation.volunteer_id).where(
        Invitation.status == InvitationStatus.done, period.contains(Invitation.updated_at)
    ).group_by(Invitation.volunteer_id).subquery()
    rows = db.session.execute(
        db.select(Skill.code, Skill.name_zh, Skill.name_en, sa.func.count(VS.id),
                  sa.func.count(VS.id).filter(verified),
                  sa.func.count(VS.id).filter(P.paused.is_(False)),
                  sa.func.count(VS.id).filter(helped.c.volunteer_id.is_not(None)))
        .join(VS, VS.skill_id == Skill.id).join(P, VS.profile_id == P.id)
        .outerjoin(helped, helped.c.volunteer_id == P.user_id)
        .where(scope.grids(P.home_grid_id), VS.status != SkillStatus.rejected, then)
        .group_by(Skill.id, Skill.code, Skill.name_zh, Skill.name_en)
        .order_by(sa.func.count(VS.id).desc())).all()
    return [tuple(r) for r in rows]


def volunteer_totals(scope: Scope, as_of: datetime | None = None) -> tuple[int, int, int]:
    """(registered, with a verified skill, available) volunteers living in the scope — now, or
    registered (and verified) before ``as_of`` (a past month's end; pauses have no history, so
    "available" there is those registered then and not paused now)."""
    P, VS = VolunteerProfile, VolunteerSkill
    if scope.village_ids is None and scope.grid_ids is None and as_of is None:
        # Everyone (a district of a million): two plain counts, no probe per profile.
        total, available = db.session.execute(db.select(  # from the index on "paused" alone
            sa.func.count(), sa.func.count().filter(P.paused.is_(False))).select_from(P)).one()
        verified = db.session.scalar(db.select(sa.func.count(sa.distinct(VS.profile_id)))
                                     .where(VS.status == SkillStatus.verified))
        return total, verified, available
    # Correlated (one index probe per profile of the scope), never "IN (every verified skill)":
    # that is rescanned per row once it outgrows the database's memory for a hash.
    verified = sa.exists().where(VS.profile_id == P.id, VS.status == SkillStatus.verified)
    then = sa.true()
    if as_of is not None:
        verified = sa.exists().where(VS.profile_id == P.id, VS.status == SkillStatus.verified,
                                     VS.verified_at < as_of)
        then = P.created_at < as_of
    return tuple(db.session.execute(
        db.select(sa.func.count(P.id), sa.func.count(P.id).filter(verified),
                  sa.func.count(P.id).filter(P.paused.is_(False)))
        .where(scope.grids(P.home_grid_id), then)).one())


def party_by_village(scope: Scope, as_of: datetime | None = None, by_town: bool = False
                     ) -> list[tuple[str, str, int, int]]:
    """In-service party members who registered (报到) per 村居 — or per town (``by_town``: the
    whole of a city has thousands of 村居) — of the scope: (code, name, confirmed, pending);
    with ``as_of``, those registered before it."""
    P = VolunteerProfile
    unit = Town if by_town else Village
    then = P.created_at < as_of if as_of is not None else sa.true()
    q = db.select(unit.code, unit.name,
                  sa.func.count(P.id).filter(P.party_status == PartyStatus.confirmed),
                  sa.func.count(P.id).filter(P.party_status == PartyStatus.pending))
    if by_town:
        q = q.select_from(Town).join(Village, Village.town_id == Town.id)
    return [tuple(r) for r in db.session.execute(
        q.join(Grid, Grid.village_id == Village.id)
        .join(P, sa.and_(P.home_grid_id == Grid.id, P.is_party_member))
        .where(scope.villages(Village.id), then)
        .group_by(unit.id, unit.code, unit.name).order_by(unit.code))]


def _hours_in_scope(scope: Scope):
    """Hours given in the scope: on its issues, at sessions at its grid points, or in call-ups
    by its grids' volunteers."""
    return sa.or_(
        ServiceHours.issue_id.in_(db.select(Issue.id).where(scope.issues())),
        ServiceHours.session_id.in_(db.select(ServiceSession.id).join(GridPoint).where(
            scope.grids(GridPoint.grid_id))),
        sa.exists().where(CallUpResponse.callup_id == ServiceHours.callup_id,
                          CallUpResponse.volunteer_id == ServiceHours.volunteer_id,
                          scope.grids(CallUpResponse.grid_id)))


def callup_figures(scope: Scope, period: Period) -> dict[str, int | Decimal]:
    """Emergency call-ups that started in the period and called the scope's volunteers: how
    many, how many people came (checked in), and their confirmed hours. One query."""
    r, h = CallUpResponse, ServiceHours
    n, came, hours = db.session.execute(
        db.select(sa.func.count(sa.distinct(r.callup_id)),
                  sa.func.count(sa.distinct(r.volunteer_id)).filter(r.checked_in_at.is_not(None)),
                  sa.func.sum(h.hours))
        .select_from(r).join(CallUp, CallUp.id == r.callup_id)
        .outerjoin(h, sa.and_(h.callup_id == r.callup_id, h.volunteer_id == r.volunteer_id,
                              h.status == HoursStatus.confirmed))
        .where(period.contains(CallUp.starts_at), scope.grids(r.grid_id),
               r.notice == NoticeOutcome.sent)).one()
    return {"callups": int(n or 0), "came": int(came or 0), "hours": Decimal(hours or 0)}


def hours_per_month(scope: Scope, period: Period) -> list[tuple[str, Decimal, int]]:
    """Confirmed service hours by month served: (month, hours, volunteers)."""
    month = sa.func.strftime("%Y-%m", ServiceHours.served_on) \
        if db.engine.dialect.name == "sqlite" else sa.func.to_char(ServiceHours.served_on,
                                                                   "YYYY-MM")
    rows = dict((m, (h, n)) for m, h, n in db.session.execute(
        db.select(month, sa.func.sum(ServiceHours.hours),
                  sa.func.count(sa.distinct(ServiceHours.volunteer_id)))
        .where(ServiceHours.status == HoursStatus.confirmed, _hours_in_scope(scope),
               ServiceHours.served_on >= period.start, ServiceHours.served_on <= period.end)
        .group_by(month)))
    return [(m, Decimal(rows.get(m, (0, 0))[0] or 0), rows.get(m, (0, 0))[1])
            for m in months(period)]


def invitation_answers(scope: Scope, period: Period, now: datetime | None = None
                       ) -> dict[str, int]:
    """Invitations sent in the period by how they were answered (expired computed now)."""
    now = now or utcnow()
    inv = Invitation
    in_scope = sa.or_(inv.issue_id.in_(db.select(Issue.id).where(scope.issues())),
                      inv.session_id.in_(db.select(ServiceSession.id).join(GridPoint)
                                         .where(scope.grids(GridPoint.grid_id))))
    accepted, declined, expired, waiting, offers = db.session.execute(
        db.select(sa.func.count(inv.id).filter(inv.status.in_((InvitationStatus.accepted,
                                                               InvitationStatus.done,
                                                               InvitationStatus.no_show))),
                  sa.func.count(inv.id).filter(inv.status == InvitationStatus.declined),
                  sa.func.count(inv.id).filter(inv.status == InvitationStatus.invited,
                                               inv.expires_at <= now),
                  sa.func.count(inv.id).filter(inv.status == InvitationStatus.invited,
                                               inv.expires_at > now),
                  sa.func.count(inv.id).filter(inv.origin == "offer"))
        .where(in_scope, period.contains(inv.created_at))).one()
    return {"accepted": accepted, "declined": declined, "expired": expired,
            "waiting": waiting, "offers": offers}


@dataclass
class Gathered:
    """Everything the dashboard reads from the database for a scope and period, and when."""

    figures: Figures
    totals: tuple[int, int, int]
    hours: list[tuple[str, Decimal, int]]
    answers: dict[str, int]
    skills: list[tuple]
    party: list[tuple[str, str, int, int]]
    computed_at: datetime
    party_by_town: bool = False  # the rows of ``party`` are towns (the whole of several)
    callups: dict = field(default_factory=dict)  # ``callup_figures``


def gather(scope: Scope, period: Period, as_of: datetime | None = None,
           fresh: bool = False) -> Gathered:
    """The dashboard's figures for ``scope`` and ``period`` (as of ``as_of``), kept for
    ``DASHBOARD_CACHE_SECONDS`` in the app's cache: a district's read a million profiles and
    200,000 issues, so the page shows them as of when they were computed. ``fresh``: compute
    them now (``tick`` does for every town's and the district's default view read lately)."""
    key = view_key(scope, period, as_of)

    def compute() -> Gathered:
        by_town = scope.village_ids is None and scope.grid_ids is None and \
            (db.session.scalar(db.select(sa.func.count(Town.id))) or 0) > 1
        return Gathered(
            issue_figures(scope, period, now=as_of), volunteer_totals(scope, as_of),
            hours_per_month(scope, period), invitation_answers(scope, period),
            volunteers_by_skill(scope, period, as_of),
            party_by_village(scope, as_of, by_town=by_town), utcnow(),
            party_by_town=by_town, callups=callup_figures(scope, period))

    return cached("dashboard", key, compute, fresh=fresh, track=True)


def view_key(scope: Scope, period: Period, as_of: datetime | None = None) -> tuple:
    """What tells one dashboard view's figures from another's (``gather``'s cache key)."""
    return (_scope_key(scope), period.start, period.end, as_of)


def today_local() -> date:
    """Today in Asia/Shanghai."""
    return datetime.now(SHANGHAI).date()
