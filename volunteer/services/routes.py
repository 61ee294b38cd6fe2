"""Residents' pages: the service menu, grid points (directory, map, calendar, iCalendar feed),
sessions with sign-up, my sign-ups and orders, ordering a service."""
from __future__ import annotations

import calendar as pycal
from datetime import date, datetime, timedelta

from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from volunteer.actions import attempt, perform
from volunteer.auth.forms import ConfirmForm
from volunteer.auth.models import Role, RoleAssignment
from volunteer.checkin.forms import CheckForm
from volunteer.checkin.services import mine_for_signups
from volunteer.common import (
    SHANGHAI,
    cached,
    mask_name,
    paginate,
    parse_int,
    to_local,
    to_utc,
    utcnow,
)
from volunteer.extensions import db, limiter, per_account
from volunteer.geo import parse_point
from volunteer.issues.forms import STATUS_LABELS
from volunteer.issues.models import Issue
from volunteer.org.models import Grid, GridPoint, ServiceItem, Village
from volunteer.org.towns import chosen_town, village_choices
from volunteer.services import bp
from volunteer.services.forms import OrderForm
from volunteer.services.ics import point_feed
from volunteer.services.models import ServiceSession, SessionSignup, SignupStatus
from volunteer.services.orders import Order, place_order
from volunteer.services.sessions import (
    SessionError,
    can_manage_point,
    cancel_signup,
    next_by_item,
    sign_up,
    upcoming,
)

SIGNUP_LABELS = {"confirmed": _l("signed up"), "waiting": _l("on the waiting list"),
                 "cancelled": _l("cancelled"), "attended": _l("came"),
                 "absent": _l("did not come")}
SESSION_LABELS = {"scheduled": _l("scheduled"), "held": _l("held"),
                  "cancelled": _l("cancelled")}
PER_PAGE = 30
MONTHS_SHOWN = 24  # the calendar goes this many months back and ahead
POINTS_CACHE_SECONDS = 60  # the points' map, the same for everyone, is kept this long


def _loc() -> str:
    return str(get_locale())


def _point_or_404(point_id: int) -> GridPoint:
    point = db.session.get(GridPoint, point_id)
    if point is None:
        abort(404)
    return point


def _session_or_404(session_id: int) -> ServiceSession:
    s = db.session.get(ServiceSession, session_id)
    if s is None:
        abort(404)
    return s


# --- the menu ---------------------------------------------------------------------------------

@bp.route("/")
def menu():
    """The service menu by category (the chosen town's and every town's items), with where and
    when each is next offered near me."""
    town = chosen_town()
    q = db.select(ServiceItem).where(ServiceItem.active)
    if town is not None:
        q = q.where(or_(ServiceItem.town_id == town.id, ServiceItem.town_id.is_(None)))
    items = db.session.scalars(q.options(selectinload(ServiceItem.department),
                                         selectinload(ServiceItem.skill))
                               .order_by(ServiceItem.category, ServiceItem.code)).all()
    villages = village_choices(town)
    chosen = next((v for v in villages if v.code == request.args.get("village")), None)
    point = parse_point(request.args.get("lat"), request.args.get("lon"))
    if point is not None:
        nexts = next_by_item(lat=point[0], lon=point[1])
    elif chosen is not None:
        nexts = next_by_item(village_id=chosen.id)
    else:
        nexts = next_by_item(town_id=town.id if town is not None else None)
    groups: dict[str, list[ServiceItem]] = {}
    loc = _loc()
    for item in items:
        groups.setdefault(item.display_category(loc) or _("Other"), []).append(item)
    return render_template("services/menu.html", groups=groups, nexts=nexts, villages=villages,
                           chosen=chosen, near=point, town=town, loc=_loc())


@bp.route("/items/<code>")
def item(code: str):
    """One service: what it is, who provides it, its coming sessions; order it."""
    it = db.session.scalar(db.select(ServiceItem).where(ServiceItem.code == code[:20],
                                                        ServiceItem.active))
    if it is None:
        abort(404)
    q = upcoming().where(ServiceSession.item_id == it.id)
    town = chosen_town()
    if town is not None:  # the chosen town's sessions of an item offered in every town
        q = q.join(GridPoint).join(Grid).join(Village).where(Village.town_id == town.id)
    page = paginate(q.options(selectinload(ServiceSession.point))
                    .order_by(ServiceSession.starts_at), per_page=PER_PAGE,
                    max_per_page=PER_PAGE, error_out=False)
    return render_template("services/item.html", item=it, page=page, loc=_loc(), town=town)


# --- grid points ------------------------------------------------------------------------------

@bp.route("/points/")
def points():
    """The directory of grid points, with a map; filter by town, 村居 and kind."""
    town = chosen_town()
    villages = village_choices(town)
    chosen = next((v for v in villages if v.code == request.args.get("village")), None)
    kind = request.args.get("kind") if request.args.get("kind") in ("party", "deputy") else ""
    q = (db.select(GridPoint).join(Grid)
         .options(selectinload(GridPoint.grid).selectinload(Grid.village))
         .order_by(Grid.code, GridPoint.id))
    q = _point_filters(q, town, chosen, kind)
    page = paginate(q, per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    return render_template("services/points.html", page=page, villages=villages, chosen=chosen,
                           kind=kind, town=town,
                           points_url=url_for("services.points_map",
                                              town=town.code if town else None,
                                              village=chosen.code if chosen else None,
                                              kind=kind or None))


def _point_filters(q, town, village, kind):
    """``q`` (grid points joined to their grid) narrowed to the town, 村居 and kind."""
    if village is not None:
        q = q.where(Grid.village_id == village.id)
    elif town is not None:
        q = q.where(Grid.village_id.in_(db.select(Village.id).where(Village.town_id == town.id)))
    if kind == "party":
        q = q.where(GridPoint.party_service_point)
    elif kind == "deputy":
        q = q.where(GridPoint.deputy_reception_point)
    return q


@bp.route("/points/map.json")
def points_map():
    """Grid points for the map: [id, lat, lon, name, kind, false]."""
    town = chosen_town()
    villages = {v.code: v for v in village_choices(town)}
    kind = request.args.get("kind") if request.args.get("kind") in ("party", "deputy") else ""
    village = villages.get(request.args.get("village"))
    P = GridPoint

    def compute() -> list[list]:
        q = _point_filters(db.select(P.id, P.lat, P.lon, P.name, P.deputy_reception_point,
                                     P.party_service_point).join(Grid), town, village, kind)
        return [[i, lat, lon, name, "deputy" if deputy else "party" if party else "point",
                 False] for i, lat, lon, name, deputy, party in
                db.session.execute(q.order_by(P.id).limit(5000))]

    points = cached("points_map", (town.id if town else None, village.id if village else None,
                                   kind), compute, seconds=POINTS_CACHE_SECONDS)
    return jsonify({"points": points, "shown": len(points), "total": len(points),
                    "link": url_for("services.points"),
                    "statuses": {"point": _("Grid point"),
                                 "party": _("Grid point and party service point (两点合一)"),
                                 "deputy": _("Also a deputies' reception point (多点合一)")}})


def _on_duty(point: GridPoint) -> list[str]:
    """The grid members of the point's grid, by masked name (童**)."""
    names = db.session.scalars(db.select(RoleAssignment).where(
        RoleAssignment.grid_id == point.grid_id,
        RoleAssignment.role.in_((Role.grid_member.value, Role.grid_leader.value)))
        .options(selectinload(RoleAssignment.user)).order_by(RoleAssignment.id)).all()
    seen, out = set(), []
    for a in names:
        if a.user_id not in seen and a.user.deleted_at is None:
            seen.add(a.user_id)
            out.append(mask_name(a.user.name))
    return out


@bp.route("/points/<int:point_id>")
def point(point_id: int):
    """A grid point: address, hours, kinds, the services and sessions held there, who is on duty."""
    p = _point_or_404(point_id)
    sessions = db.session.scalars(upcoming(days=45).where(ServiceSession.point_id == p.id)
                                  .options(selectinload(ServiceSession.item))
                                  .order_by(ServiceSession.starts_at).limit(60)).all()
    items = sorted({s.item for s in sessions}, key=lambda i: i.code)
    return render_template("services/point.html", point=p, sessions=sessions, items=items,
                           on_duty=_on_duty(p), can_manage=can_manage_point(current_user, p),
                           loc=_loc())


def _month(arg: str | None) -> date:
    """The month asked for (YYYY-M) within two years of now; this month, with a message, for
    anything else."""
    today = datetime.now(SHANGHAI).date().replace(day=1)
    if not arg:
        return today
    year, _sep, month = arg.partition("-")
    year, month = parse_int(year, 1, 9999), parse_int(month, 1, 12)
    if year is None or month is None \
            or abs((year - today.year) * 12 + month - today.month) > MONTHS_SHOWN:
        flash(_("That is not a month we show; here is this month."), "warning")
        return today
    return date(year, month, 1)


@bp.route("/points/<int:point_id>/calendar")
def calendar(point_id: int):
    """A month of the point's sessions, day by day."""
    p = _point_or_404(point_id)
    month = _month(request.args.get("month"))
    days = pycal.monthrange(month.year, month.month)[1]
    start = to_utc(datetime.combine(month, datetime.min.time()))
    end = start + timedelta(days=days)
    sessions = db.session.scalars(
        db.select(ServiceSession).where(ServiceSession.point_id == p.id,
                                        ServiceSession.starts_at >= start,
                                        ServiceSession.starts_at < end)
        .options(selectinload(ServiceSession.item)).order_by(ServiceSession.starts_at)).all()
    by_day: dict[int, list[ServiceSession]] = {}
    for s in sessions:
        by_day.setdefault(to_local(s.starts_at).day, []).append(s)
    prev = (month - timedelta(days=1)).replace(day=1)
    nxt = (month + timedelta(days=days)).replace(day=1)
    weeks = pycal.Calendar(firstweekday=0).monthdayscalendar(month.year, month.month)
    return render_template("services/calendar.html", point=p, month=month, weeks=weeks,
                           by_day=by_day, prev=prev, nxt=nxt, loc=_loc(),
                           SESSION_LABELS=SESSION_LABELS)


@bp.route("/points/<int:point_id>/calendar.ics")
def feed(point_id: int):
    """The point's sessions (the last 30 days and the coming year) as an iCalendar feed."""
    p = _point_or_404(point_id)
    now = utcnow()
    sessions = db.session.scalars(
        db.select(ServiceSession).where(ServiceSession.point_id == p.id,
                                        ServiceSession.starts_at >= now - timedelta(days=30),
                                        ServiceSession.starts_at <= now + timedelta(days=366))
        .options(selectinload(ServiceSession.item)).order_by(ServiceSession.starts_at)
        .limit(2000)).all()
    body = point_feed(p, sessions, lambda s: url_for("services.session", session_id=s.id,
                                                     _external=True))
    resp = make_response(body)
    resp.headers["Content-Type"] = "text/calendar; charset=utf-8"
    resp.headers["Content-Disposition"] = f'inline; filename="grid-point-{p.id}.ics"'
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


# --- sessions and sign-ups --------------------------------------------------------------------

@bp.route("/sessions/<int:session_id>")
def session(session_id: int):
    """One session: service, place, time, places left; sign up or cancel."""
    s = _session_or_404(session_id)
    confirmed = sum(1 for x in s.signups if x.status == SignupStatus.confirmed)
    waiting = sum(1 for x in s.signups if x.status == SignupStatus.waiting)
    mine = None
    if current_user.is_authenticated:
        mine = next((x for x in s.signups if x.user_id == current_user.id), None)
    return render_template("services/session.html", s=s, confirmed=confirmed, waiting=waiting,
                           mine=mine, form=ConfirmForm(), loc=_loc(), now=utcnow(),
                           can_manage=can_manage_point(current_user, s.point),
                           SIGNUP_LABELS=SIGNUP_LABELS, SESSION_LABELS=SESSION_LABELS)


@bp.route("/sessions/<int:session_id>/signup", methods=["POST"])
@login_required
@limiter.limit("60 per hour", key_func=per_account("signup"))
def signup(session_id: int):
    """Take a place, or a place on the waiting list."""
    s = _session_or_404(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(lambda: sign_up(current_user, s),
                   lambda mine: _("You are signed up. We will remind you the day before.")
                   if mine.status == SignupStatus.confirmed else
                   _("The session is full; you are on the waiting list and will be told when a "
                     "place comes free."),
                   url_for("services.session", session_id=session_id),
                   conflict=SessionError("already"))  # the same person twice at once


@bp.route("/signups/<int:signup_id>/cancel", methods=["POST"])
@login_required
def cancel(signup_id: int):
    """Give up my place; the first on the waiting list moves up."""
    mine = db.session.get(SessionSignup, signup_id)
    if mine is None or mine.user_id != current_user.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(lambda: cancel_signup(current_user, mine),
                   _("Cancelled. Thank you for letting others have the place."),
                   url_for("services.session", session_id=mine.session_id))


@bp.route("/mine")
@login_required
def mine():
    """My sign-ups and my orders."""
    signups = paginate(
        db.select(SessionSignup).join(ServiceSession)
        .where(SessionSignup.user_id == current_user.id)
        .options(selectinload(SessionSignup.session).selectinload(ServiceSession.item),
                 selectinload(SessionSignup.session).selectinload(ServiceSession.point))
        .order_by(ServiceSession.starts_at.desc()), per_page=PER_PAGE, max_per_page=PER_PAGE,
        error_out=False)
    orders = db.session.scalars(
        db.select(Issue).where(Issue.reporter_id == current_user.id,
                               Issue.service_item_id.is_not(None))
        .options(selectinload(Issue.service_item))
        .order_by(Issue.created_at.desc()).limit(50)).all()
    now = utcnow()
    # Check-in at the sessions I hold a place at (one query for the page).
    places = [m for m in signups.items if m.status in (SignupStatus.confirmed,
                                                       SignupStatus.attended)]
    return render_template("services/mine.html", signups=signups, orders=orders,
                           SIGNUP_LABELS=SIGNUP_LABELS, STATUS_LABELS=STATUS_LABELS, loc=_loc(),
                           now=now, checkins=mine_for_signups(places, now),
                           check_form=CheckForm(formdata=None))


# --- ordering ---------------------------------------------------------------------------------

@bp.route("/order/<code>", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per day", methods=["POST"],
               key_func=per_account("order"))
def order(code: str):
    """Order a service for myself or a neighbour; it becomes an issue I can follow."""
    it = db.session.scalar(db.select(ServiceItem).where(ServiceItem.code == code[:20],
                                                        ServiceItem.active))
    if it is None:
        abort(404)
    form = OrderForm()
    grids = db.session.execute(db.select(Grid.code, Grid.name, Village.name).join(Village)
                               .order_by(Grid.code)).all()
    form.grid.choices = [("", _("Find it from the map pin"))] + [
        (c, f"{vname} · {name}") for c, name, vname in grids]
    if request.method == "GET" and current_user.profile and current_user.profile.home_grid:
        form.grid.data = current_user.profile.home_grid.code
    if form.validate_on_submit():
        data = Order(item=it, details=form.details.data,
                     for_neighbour=form.for_whom.data == "neighbour",
                     neighbour=form.neighbour.data or None,
                     lat=float(form.lat.data) if form.lat.data else None,
                     lon=float(form.lon.data) if form.lon.data else None,
                     grid_code=form.grid.data or None,
                     needed_from=to_utc(form.needed_from.data),
                     needed_until=to_utc(form.needed_until.data))
        with attempt(form=form, field="details") as outcome:
            issue = place_order(current_user, data)
        if outcome.ok:
            flash(_("Order no. %(id)s placed. You can follow it here like any report.",
                    id=issue.id), "success")
            return redirect(url_for("issues.detail", issue_id=issue.id))
    return render_template("services/order.html", form=form, item=it, loc=_loc())
