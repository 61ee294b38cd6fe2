"""Dashboard pages: the figures with charts and tables, XLSX exports, the printable monthly
report, coverage gaps, the work-unit report (双报到 feedback), and the district's towns side by
side."""
from __future__ import annotations

from dataclasses import dataclass
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
from volunteer.dashboard.towns import compare, to_csv, town_table
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
        "outside": _l("That %(place)s is outside your scope; you see only your own."),
        "unknown": _l("There is no %(place)s with that code."),
    }
    defaults = {"place": _l("village or grid")}
    statuses = {"bad_date": 422, "reversed": 422, "too_long": 422, "future": 422,
                "too_early": 422, "outside": 403, "unknown": 404}


def allowed(user) -> bool:
    """Town admins, village admins and grid leaders have dashboards."""
    return holds(user, DASHBOARD_READERS)


def resolve_town(user, code: str | None) -> Town | None:
    """The town asked for by its code (None: none asked), if ``user`` may read its figures."""
    if not code:
        return None
    town = db.session.scalar(db.select(Town).where(Town.code == code[:20]))
    if town is None:
        raise DashboardError("unknown", params={"place": _("town")})
    if not policy.may_see_town_figures(user, town):
        raise DashboardError("outside", params={"place": _("town")})
    return town


def resolve_scope(user, village_code: str | None, grid_code: str | None,
                  town: Town | None = None) -> Scope:
    """The scope asked for, within the user's own (the town, their 村居, their grids); with
    ``town`` (``resolve_town``), that town, or a 村居 or grid of it (one of another town is
    left out: the form changed the town)."""
    offices = policy.office_villages(user)
    own_villages = set(offices or ())
    own_grids = set(user.grid_ids(Role.grid_leader))
    if grid_code:
        grid = db.session.scalar(db.select(Grid).where(Grid.code == grid_code[:20]))
        if grid is None:
            raise DashboardError("unknown")
        if not may_manage(user, grid):
            raise DashboardError("outside")
        if town is None or policy.town_of(grid) == town.id:
            return Scope(f"{grid.village.name} · {grid.name}", grid_ids=frozenset({grid.id}))
    if village_code:
        village = db.session.scalar(db.select(Village).where(Village.code == village_code[:20]))
        if village is None:
            raise DashboardError("unknown")
        if not may_manage(user, village):
            raise DashboardError("outside")
        if town is None or policy.town_of(village) == town.id:
            return Scope(village.name, village_ids=frozenset({village.id}))
    if town is not None:
        return Scope(town.name, village_ids=frozenset(db.session.scalars(
            db.select(Village.id).where(Village.town_id == town.id))))
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


@dataclass
class Choices:
    """What the filter form offers: towns (only to an office of several), their label as a
    whole, 村居 (of the chosen town, when one is), and the label of "all of them" (None: no
    such choice)."""

    towns: list[Town]
    everywhere: str
    villages: list[Village]
    whole: str | None = None


@dataclass
class Context:
    """Scope and period from the query string, or the errors to show instead (``status``: 400,
    or a town's own 403 / 404)."""

    scope: Scope | None
    period: Period | None
    errors: list[str]
    status: int
    choices: Choices


def comparable_towns(user) -> list[Town]:
    """The towns whose figures ``user`` may read as a whole, by code."""
    ids = policy.town_ids(user)
    if ids is not None and not ids:
        return []
    q = db.select(Town).order_by(Town.code)
    if ids is not None:
        q = q.where(Town.id.in_(ids))
    return [t for t in db.session.scalars(q) if policy.may_see_town_figures(user, t)]


def _choices(user, town: Town | None) -> Choices:
    towns = comparable_towns(user)
    offices = policy.office_villages(user)
    q = db.select(Village).order_by(Village.code)
    if offices is not None:
        q = q.where(Village.id.in_(offices or {-1}))
    if town is not None:
        q = q.where(Village.town_id == town.id)
    everywhere = _("The whole district") if policy.runs_everything(user) else _("All my towns")
    towns = towns if len(towns) > 1 else []
    if towns and town is None:  # several towns: their 村居 once one is chosen (a city has 1000s)
        return Choices(towns, everywhere, [], None)
    villages = db.session.scalars(q).all()
    if policy.holds(user, policy.TOWN_OFFICES):
        whole = _("The whole town")
    else:
        whole = _("All my villages") if len(villages) > 1 else None
    return Choices(towns, everywhere, villages, whole)


def _resolve(args) -> tuple[Town | None, Scope | None, list[str], int]:
    """The town and scope ``args`` ask for, or the error and its status: a town's own (403,
    404), else 400."""
    try:
        town = resolve_town(current_user, args.get("town"))
    except DashboardError as exc:
        return None, None, [exc.message], exc.status
    try:
        return town, resolve_scope(current_user, args.get("village"), args.get("grid"), town), \
            [], 400
    except DashboardError as exc:
        return town, None, [exc.message], 400


def _context() -> Context:
    """Scope and period from the query string, or the errors to show instead."""
    if not allowed(current_user):
        abort(403)
    a = request.args
    town, scope, errors, status = _resolve(a)
    period = None
    try:
        period = resolve_period(a.get("from"), a.get("to"))
    except DashboardError as exc:
        errors.append(exc.message)
    return Context(scope, period, errors, status, _choices(current_user, town))


def _args(scope_args: dict, period: Period | None) -> dict:
    out = {k: v for k, v in scope_args.items() if v}
    if period is not None:
        out["from"], out["to"] = period.start.isoformat(), period.end.isoformat()
    return out


def _scope_args() -> dict:
    return {k: request.args.get(k) for k in ("town", "village", "grid")}


@bp.route("/")
@login_required
def index():
    """The dashboard of my scope for a period: key figures, charts, tables."""
    c = _context()
    if c.errors:
        return render_template("dashboard/index.html", errors=c.errors, d=None,
                               choices=c.choices, args=request.args), c.status
    d = build(c.scope, c.period)
    compare = policy.may_compare_towns(current_user) and bool(c.choices.towns)
    return render_template("dashboard/index.html", errors=[], d=d, choices=c.choices,
                           compare=compare, args=_args(_scope_args(), c.period))


@bp.route("/export.xlsx")
@login_required
def export():
    """One table of the dashboard (``table``), or all of them, as an XLSX workbook."""
    c = _context()
    if c.errors:
        return render_template("dashboard/index.html", errors=c.errors, d=None,
                               choices=c.choices, args=request.args), c.status
    scope, period = c.scope, c.period
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
    _town, scope, errors, status = _resolve(request.args)
    if errors:
        return render_template("dashboard/report.html", errors=errors, d=None), status
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
    c = _context()
    if c.errors:
        return render_template("dashboard/gaps.html", errors=c.errors, g=None,
                               choices=c.choices, args=request.args), c.status
    scope, period = c.scope, c.period
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
    return render_template("dashboard/gaps.html", errors=[], g=g, heat=heat,
                           choices=c.choices, scope=scope, period=period, points=points,
                           args=_args(_scope_args(), period))


PARTY_LABELS = {"confirmed": _l("confirmed"), "pending": _l("awaiting confirmation"),
                "rejected": _l("not confirmed"), "": ""}


@bp.route("/work-units")
@login_required
def work_units():
    """双报到 feedback: a work unit's party members in my scope, their activities and hours;
    printable, and as XLSX (``format=xlsx``)."""
    if not holds(current_user, OFFICES):
        abort(403)
    c = _context()
    scope, period, errors = c.scope, c.period, c.errors
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
                           members=members, scope=scope, period=period, choices=c.choices,
                           PARTY_LABELS=PARTY_LABELS,
                           args=_args({"town": request.args.get("town"),
                                       "village": request.args.get("village"),
                                       "unit": unit.id if unit else None}, period)
                           ), c.status if errors else 200


TOWN_HEADERS = (_l("Town"), _l("Issues found"), _l("Closed"), _l("Share closed"),
                _l("Median days to close"), _l("Share overdue now"),
                _l("Helpers found (of issues needing them)"), _l("Active volunteers"),
                _l("Confirmed service hours"))


@bp.route("/towns")
@login_required
def towns():
    """The district's towns side by side for a period, with the district's total; the table
    as CSV (``format=csv``) or XLSX (``format=xlsx``)."""
    if not policy.may_compare_towns(current_user):
        abort(403)
    listed = comparable_towns(current_user)
    try:
        period = resolve_period(request.args.get("from"), request.args.get("to"))
    except DashboardError as exc:
        return render_template("dashboard/towns.html", errors=[exc.message], t=None,
                               towns=listed, args=request.args), exc.status
    args = _args({}, period)
    if len(listed) < 2:
        return render_template("dashboard/towns.html", errors=[], t=None, towns=listed,
                               args=args)
    rows, total = compare(listed, period)
    title = _("Towns side by side, %(start)s – %(end)s", start=period.start.isoformat(),
              end=period.end.isoformat())
    table = town_table(rows, total, [str(h) for h in TOWN_HEADERS], title,
                       _("District total"))
    name = f"towns-{period.start}-{period.end}"
    if request.args.get("format") == "csv":
        resp = make_response(to_csv(table))
        resp.headers["Content-Type"] = "text/csv; charset=utf-8"
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        resp.headers["Cache-Control"] = "private, no-store"
        return resp
    if request.args.get("format") == "xlsx":
        return _xlsx(workbook([table], title), f"{name}.xlsx")
    return render_template("dashboard/towns.html", errors=[], t=table, towns=listed,
                           period=period, args=args)
