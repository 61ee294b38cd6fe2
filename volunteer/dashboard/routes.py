"""Dashboard pages: the figures with charts and tables, XLSX exports, the printable monthly
report, coverage gaps, and the work-unit report (双报到 feedback)."""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, make_response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from volunteer import policy
from volunteer.auth.models import Role
from volunteer.common import mask_phone
from volunteer.dashboard import bp
from volunteer.dashboard.figures import Period, Scope, today_local
from volunteer.dashboard.gaps import coverage
from volunteer.dashboard.tables import Table, build, workbook
from volunteer.dashboard.workunits import unit_report
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.org.models import Grid, Town, Village
from volunteer.policy import DASHBOARD_READERS, OFFICES, holds, may_manage
from volunteer.volunteers.models import WorkUnit
from volunteer.volunteers.services import log_contact_view

MAX_DAYS = 5 * 366  # a period of at most five years
EARLIEST = date(2000, 1, 1)  # no period starts before it (year 1 overflows time arithmetic)
DEFAULT_DAYS = 182


class DashboardError(DomainError):
    """A scope or period the dashboards cannot show; ``code`` says why."""

    messages = {
        "bad_date": _l("Dates are written as YYYY-MM-DD."),
        "reversed": _l("The start of the period must not be after its end."),
        "too_long": _l("A period can be at most five years long."),
        "future": _l("The period cannot start in the future."),
        "too_early": _l("The period cannot start before 2000."),
        "outside": _l("That village or grid is outside your scope; you see only your own."),
        "unknown": _l("There is no village or grid with that code."),
    }
    statuses = {"bad_date": 422, "reversed": 422, "too_long": 422, "future": 422,
                "too_early": 422, "outside": 403, "unknown": 404}


def allowed(user) -> bool:
    """Town admins, village admins and grid leaders have dashboards."""
    return holds(user, DASHBOARD_READERS)


def resolve_scope(user, village_code: str | None, grid_code: str | None) -> Scope:
    """The scope asked for, within the user's own (the town, their 村居, their grids)."""
    offices = policy.office_villages(user)
    own_villages = set(offices or ())
    own_grids = set(user.grid_ids(Role.grid_leader))
    if grid_code:
        grid = db.session.scalar(db.select(Grid).where(Grid.code == grid_code[:20]))
        if grid is None:
            raise DashboardError("unknown")
        if not may_manage(user, grid):
            raise DashboardError("outside")
        return Scope(f"{grid.village.name} · {grid.name}", grid_ids=frozenset({grid.id}))
    if village_code:
        village = db.session.scalar(db.select(Village).where(Village.code == village_code[:20]))
        if village is None:
            raise DashboardError("unknown")
        if not may_manage(user, village):
            raise DashboardError("outside")
        return Scope(village.name, village_ids=frozenset({village.id}))
    if offices is None:
        return Scope(_("The whole district") if Role.district_admin in user.role_codes()
                     else _("The whole town"))
    towns = policy.town_ids(user)
    if towns:
        names = db.session.scalars(db.select(Town.name).where(Town.id.in_(towns))
                                   .order_by(Town.code))
        return Scope("、".join(names), village_ids=frozenset(own_villages))
    if own_villages:
        names = db.session.scalars(db.select(Village.name).where(Village.id.in_(own_villages)))
        return Scope("、".join(names), village_ids=frozenset(own_villages))
    names = db.session.scalars(db.select(Grid.name).where(Grid.id.in_(own_grids)))
    return Scope("、".join(names), grid_ids=frozenset(own_grids))


def resolve_period(start: str | None, end: str | None, today: date | None = None) -> Period:
    """The period asked for (local dates, both included); the last six months by default."""
    today = today or today_local()
    try:
        e = date.fromisoformat(end) if end else today
        s = date.fromisoformat(start) if start else e - timedelta(days=DEFAULT_DAYS)
    except ValueError:
        raise DashboardError("bad_date") from None
    except OverflowError:  # an end in year 1 minus six months
        raise DashboardError("too_early") from None
    if s > e:
        raise DashboardError("reversed")
    if (e - s).days > MAX_DAYS:
        raise DashboardError("too_long")
    if s < EARLIEST:
        raise DashboardError("too_early")
    if s > today:
        raise DashboardError("future")
    return Period(s, e)


def _context():
    """Scope and period from the query string, or the errors to show instead."""
    if not allowed(current_user):
        abort(403)
    a = request.args
    errors = []
    scope = period = None
    try:
        scope = resolve_scope(current_user, a.get("village"), a.get("grid"))
    except DashboardError as exc:
        errors.append(exc.message)
    try:
        period = resolve_period(a.get("from"), a.get("to"))
    except DashboardError as exc:
        errors.append(exc.message)
    offices = policy.office_villages(current_user)
    q = db.select(Village).order_by(Village.code)
    if offices is not None:
        q = q.where(Village.id.in_(offices or {-1}))
    villages = db.session.scalars(q).all()
    return scope, period, errors, villages


def _args(scope_args: dict, period: Period | None) -> dict:
    out = {k: v for k, v in scope_args.items() if v}
    if period is not None:
        out["from"], out["to"] = period.start.isoformat(), period.end.isoformat()
    return out


@bp.route("/")
@login_required
def index():
    """The dashboard of my scope for a period: key figures, charts, tables."""
    scope, period, errors, villages = _context()
    if errors:
        return render_template("dashboard/index.html", errors=errors, d=None,
                               villages=villages, args=request.args), 400
    d = build(scope, period)
    return render_template("dashboard/index.html", errors=[], d=d, villages=villages,
                           args=_args({"village": request.args.get("village"),
                                       "grid": request.args.get("grid")}, period))


@bp.route("/export.xlsx")
@login_required
def export():
    """One table of the dashboard (``table``), or all of them, as an XLSX workbook."""
    scope, period, errors, _villages = _context()
    if errors:
        return render_template("dashboard/index.html", errors=errors, d=None,
                               villages=_villages, args=request.args), 400
    name = request.args.get("table", "all")
    if name == "gaps":
        g = coverage(scope, period)
        tables = [gap_table(g), worst_table(g)]
    else:
        d = build(scope, period)
        tables = d.tables if name == "all" else [t for t in d.tables if t.name == name]
    if not tables:
        abort(404)
    title = f"{scope.label} {period.start.isoformat()} – {period.end.isoformat()}"
    return _xlsx(workbook(tables, title), f"dashboard-{name}-{period.start}-{period.end}.xlsx")


def _xlsx(data: bytes, filename: str):
    resp = make_response(data)
    resp.headers["Content-Type"] = \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/report")
@login_required
def report():
    """The printable monthly report (``month`` = YYYY-MM; the last full month by default)."""
    if not allowed(current_user):
        abort(403)
    try:
        scope = resolve_scope(current_user, request.args.get("village"),
                              request.args.get("grid"))
    except DashboardError as exc:
        return render_template("dashboard/report.html", errors=[exc.message],
                               d=None), 400
    today = today_local()
    default = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    try:
        first = date.fromisoformat((request.args.get("month") or default.isoformat()[:7])
                                   + "-01")
    except ValueError:
        return render_template("dashboard/report.html", d=None,
                               errors=[str(_l("Months are written as YYYY-MM."))]), 400
    if first > today or first.year < 2000:
        return render_template("dashboard/report.html", d=None,
                               errors=[str(_l("There is no report for that month."))]), 400
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    period = Period(first, min(last, today))
    # The month's figures only: what stood at its end (overdue issues, volunteers), not today's.
    d = build(scope, period, as_of=period.utc_end if last < today else None)
    return render_template("dashboard/report.html", d=d, errors=[], month=first)


def gap_table(g) -> Table:
    """The heat map as a table: one row per 村居, demand/supply per skill."""
    en = str(get_locale()).startswith("en")
    headers = [str(_l("Village"))] + [(s[3] if en else s[2]) for s in g.skills]
    rows = []
    for i, (_vid, _code, name) in enumerate(g.villages):
        rows.append([name] + [f"{int(g.demand[i, j])}/{int(g.supply[i, j])}"
                              for j in range(len(g.skills))])
    return Table("gaps", str(_l("Demand / available volunteers by village and skill")),
                 headers, rows)


def worst_table(g) -> Table:
    en = str(get_locale()).startswith("en")
    return Table("worst", str(_l("The worst gaps")),
                 [str(_l("Village")), str(_l("Skill")), str(_l("Demand")),
                  str(_l("Available volunteers")), str(_l("Gap"))],
                 [[v.name, s.name_en if en else s.name_zh, dm, sp, gp]
                  for v, s, dm, sp, gp in g.worst])


def heat_level(demand: int, supply: int) -> int:
    """The colour of a gap, 0 (no demand) to 4: by the share of the demand without a volunteer."""
    if demand <= 0:
        return 0
    return min(4, 1 + int(3 * max(0, demand - supply) / demand))


@bp.route("/gaps")
@login_required
def gaps():
    """Coverage gaps: demand against available volunteers per skill and 村居."""
    scope, period, errors, villages = _context()
    if errors:
        return render_template("dashboard/gaps.html", errors=errors, g=None, villages=villages,
                               args=request.args), 400
    g = coverage(scope, period)
    en = str(get_locale()).startswith("en")
    heat = []
    for i, v in enumerate(g.villages):
        cells = []
        for j in range(len(g.skills)):
            dm, sp = int(g.demand[i, j]), int(g.supply[i, j])
            cells.append((dm, sp, heat_level(dm, sp)))
        heat.append((v, cells))
    points = []  # the map: each 村居 at its centre, coloured by its worst gap
    for (_vid, _code, name), place, w in zip(g.villages, g.places, g.village_worst, strict=True):
        if place is None:
            continue
        if w is None:
            label, level = f"{name} · {_('No gaps: every demand has enough volunteers in range.')}", 0
        else:
            dm, sp, _gp, skill = w
            label = (f"{name} · {skill[3] if en else skill[2]} · "
                     f"{_('demand %(d)s, available %(s)s', d=dm, s=sp)}")
            level = heat_level(dm, sp)
        points.append({"lat": place[0], "lon": place[1], "level": level, "name": name,
                       "label": label})
    return render_template("dashboard/gaps.html", errors=[], g=g, heat=heat, villages=villages,
                           scope=scope, period=period, points=points,
                           args=_args({"village": request.args.get("village"),
                                       "grid": request.args.get("grid")}, period))


PARTY_LABELS = {"confirmed": _l("confirmed"), "pending": _l("awaiting confirmation"),
                "rejected": _l("not confirmed"), "": ""}


@bp.route("/work-units")
@login_required
def work_units():
    """双报到 feedback: a work unit's party members in my scope, their activities and hours;
    printable, and as XLSX (``format=xlsx``)."""
    if not holds(current_user, OFFICES):
        abort(403)
    scope, period, errors, villages = _context()
    units = db.session.scalars(db.select(WorkUnit).where(WorkUnit.approved)
                               .order_by(WorkUnit.name)).all()
    asked = (request.args.get("unit") or "").strip()
    unit = next((u for u in units if str(u.id) == asked or u.name == asked), None)
    if asked and unit is None:
        errors.append(str(_l("There is no approved work unit of that name.")))
    members = unit_report(unit, scope, period) if unit and not errors else []
    xlsx = request.args.get("format") == "xlsx"
    if members and xlsx:  # the export has phone numbers: the contact view log records it
        log_contact_view(current_user, None, "export", len(members),
                         f"{unit.name} {period.start}–{period.end}")
        db.session.commit()
    elif members:  # the page is a list: phones masked (policy.phone_shown, "list")
        from dataclasses import replace

        members = [replace(m, phone=mask_phone(m.phone)) for m in members]
    if unit and not errors and request.args.get("format") == "xlsx":
        rows = []
        for m in members:
            rows.append([m.name, m.phone, m.village, m.grid, m.registered_on,
                         str(PARTY_LABELS.get(m.status, m.status)), len(m.activities),
                         float(m.hours)])
        detail = [[m.name, d, a, float(h)] for m in members for d, a, h in m.activities]
        tables = [Table("members", str(_l("Party members")),
                        [str(_l("Name")), str(_l("Mobile")), str(_l("Village")),
                         str(_l("Grid")), str(_l("Registered on")), str(_l("报到")),
                         str(_l("Activities")), str(_l("Hours"))], rows),
                  Table("activities", str(_l("Activities")),
                        [str(_l("Name")), str(_l("Date")), str(_l("Activity")),
                         str(_l("Hours"))], detail)]
        title = f"{unit.name} {period.start.isoformat()} – {period.end.isoformat()}"
        return _xlsx(workbook(tables, title), f"work-unit-{unit.id}-{period.start}.xlsx")
    return render_template("dashboard/work_units.html", errors=errors, units=units, unit=unit,
                           members=members, scope=scope, period=period, villages=villages,
                           PARTY_LABELS=PARTY_LABELS,
                           args=_args({"village": request.args.get("village"),
                                       "unit": unit.id if unit else None}, period)
                           ), 400 if errors else 200
