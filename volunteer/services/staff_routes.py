"""Staff pages for sessions: schedule (one-off or recurring), the sessions of my points, and a
session's management page (places, cancellation, staff suggestions and invitations,
attendance)."""
from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from volunteer.actions import attempt, perform
from volunteer.auth.forms import ConfirmForm
from volunteer.checkin.services import board as checkin_board
from volunteer.common import SHANGHAI, paginate, parse_int, to_utc, utcnow
from volunteer.extensions import db
from volunteer.invitations.reasons import for_page
from volunteer.invitations.routes import helpers_panel
from volunteer.invitations.suggestions import for_session
from volunteer.matching import slates
from volunteer.matching.store import MatcherUnavailable
from volunteer.org.models import Grid, GridPoint, ServiceItem
from volunteer.policy import ORGANISERS, holds
from volunteer.services import bp
from volunteer.services.forms import ORDINALS, WEEKDAYS, ScheduleForm, SessionEditForm
from volunteer.services.models import ServiceSession, SessionSignup
from volunteer.services.routes import SESSION_LABELS, SIGNUP_LABELS
from volunteer.services.schedule import DAYS as DAY_CODES
from volunteer.services.schedule import Recurrence
from volunteer.services.sessions import (
    can_manage_point,
    cancel,
    managed_points_clause,
    schedule,
    take_attendance,
    update,
)

PER_PAGE = 30


def describe_rule(text: str | None) -> str:
    """An RRULE made by the schedule form, in words: "every week on Tue until 2026-12-27"."""
    import re

    if not text:
        return ""
    parts = dict(p.split("=", 1) for p in text.split(";") if "=" in p)
    names = dict(zip(DAY_CODES, (str(label) for _v, label in WEEKDAYS), strict=True))
    ords = {str(int(v)): str(label) for v, label in ORDINALS}
    days = [re.fullmatch(r"([+-]?\d)?([A-Z]{2})", d) for d in parts.get("BYDAY", "").split(",")]
    days = [m for m in days if m]
    until = parts.get("UNTIL", "")[:8]
    until = f"{until[:4]}-{until[4:6]}-{until[6:8]}" if len(until) == 8 else ""
    if parts.get("FREQ") == "MONTHLY":
        which = "、".join(ords.get(str(int(m.group(1) or 1)), "") for m in days)
        day = names.get(days[0].group(2), "") if days else ""
        out = _("%(which)s %(day)s of the month", which=which, day=day)
    else:
        n = int(parts.get("INTERVAL", "1") or 1)
        on = "、".join(names.get(m.group(2), "") for m in days)
        out = _("every week on %(days)s", days=on) if n == 1 else \
            _("every %(n)s weeks on %(days)s", n=n, days=on)
    return out + (" " + _("until %(date)s", date=until) if until else "")


def _managed_or_404(session_id: int) -> ServiceSession:
    s = db.session.get(ServiceSession, session_id)
    if s is None or not can_manage_point(current_user, s.point):
        abort(404)
    return s


def _staff_only():
    if not holds(current_user, ORGANISERS):
        abort(403)


@bp.route("/staff")
@login_required
def staff_list():
    """The coming sessions at the grid points I manage."""
    _staff_only()
    page = paginate(
        db.select(ServiceSession).join(GridPoint)
        .where(managed_points_clause(current_user),
               ServiceSession.starts_at >= to_utc(datetime.combine(
                   datetime.now(SHANGHAI).date(), datetime.min.time())))
        .options(selectinload(ServiceSession.item), selectinload(ServiceSession.point),
                 selectinload(ServiceSession.signups))
        .order_by(ServiceSession.starts_at), per_page=PER_PAGE, max_per_page=PER_PAGE,
        error_out=False)
    return render_template("services/staff_list.html", page=page, SESSION_LABELS=SESSION_LABELS,
                           loc=str(get_locale()))


@bp.route("/sessions/new", methods=["GET", "POST"])
@login_required
def new_session():
    """Schedule a session, once or by a rule (weekly; the 1st and 3rd Tuesday; …)."""
    _staff_only()
    form = ScheduleForm()
    loc = str(get_locale())
    en = loc.startswith("en")
    items = db.session.scalars(db.select(ServiceItem).where(ServiceItem.active)
                               .order_by(ServiceItem.code)).all()
    form.item.choices = [("", _("Choose a service"))] + [
        (i.code, (i.name_en or i.name) if en else i.name) for i in items]
    points = db.session.scalars(db.select(GridPoint).join(Grid)
                                .where(managed_points_clause(current_user))
                                .order_by(Grid.code, GridPoint.id)).all()
    form.point.choices = [("", _("Choose a grid point"))] + [(str(p.id), p.name) for p in points]
    if request.method == "GET":
        form.point.data = request.args.get("point", "")
        form.first.data = form.first.data or datetime.now(SHANGHAI).date()
    if form.validate_on_submit():
        item = next((i for i in items if i.code == form.item.data), None)
        point = next((p for p in points if str(p.id) == form.point.data), None)
        if item is None:
            form.item.errors.append(_("Please choose a service from the list."))
        if point is None:
            form.point.errors.append(_("Please choose one of your grid points."))
        if item is not None and point is not None:
            rec = Recurrence(first=form.first.data, start=form.start.data, end=form.end.data,
                             freq=form.freq.data, weekdays=[int(d) for d in form.weekdays.data],
                             interval=form.interval.data or 1,
                             ordinals=[int(n) for n in form.ordinals.data],
                             until=form.until.data)
            with attempt(form=form, field="item") as outcome:
                made = schedule(current_user, item, point, rec, form.capacity.data,
                                form.staff_needed.data, form.note.data)
            if outcome.ok:
                flash(_("%(n)s session(s) scheduled.", n=len(made)), "success")
                return redirect(url_for("services.manage", session_id=made[0].id))
    return render_template("services/schedule.html", form=form)


@bp.route("/sessions/<int:session_id>/manage", methods=["GET", "POST"])
@login_required
def manage(session_id: int):
    """Places and note, cancellation, staff (suggested and invited), attendance."""
    s = _managed_or_404(session_id)
    form = SessionEditForm(obj=s if request.method == "GET" else None)
    if form.validate_on_submit():
        with attempt(form=form, field="capacity") as outcome:
            moved = update(current_user, s, form.capacity.data, form.staff_needed.data,
                           form.note.data)
        if outcome.ok:
            flash(_("Saved.") + (" " + _("%(n)s moved up from the waiting list.", n=len(moved))
                                 if moved else ""), "success")
            return redirect(url_for("services.manage", session_id=s.id))
    return _render_manage(s, form)


def _render_manage(s: ServiceSession, form):
    # The residents with their accounts in one query (the page lists them all), held by the
    # session's collection: rows loaded into nothing but the identity map may be dropped
    # (it holds them weakly) and then come back one by one.
    db.session.scalars(db.select(ServiceSession).where(ServiceSession.id == s.id)
                       .options(selectinload(ServiceSession.signups)
                                .selectinload(SessionSignup.user))
                       .execution_options(populate_existing=True)).one()
    suggestions = None
    try:
        result = for_session(s) if s.is_upcoming and s.staff_needed else None
    except MatcherUnavailable:  # no model trained yet: the page works without suggestions
        result = None
    if result is not None:
        exploration = slates.explore(result)
        suggestions = for_page(current_user, result, chosen=bool(s.item.skill),
                               origin=(s.point.lat, s.point.lon))
        suggestions["slate"] = slates.record(current_user, "session_staffing",
                                             result.suggestions, skills=result.skills,
                                             session=s, exploration=exploration).id
        db.session.commit()  # the list shown is on record
    helpers = helpers_panel(s, url_for("invitations.invite_session", session_id=s.id),
                            anchor="staff", heading=_("Volunteer staff"))
    return render_template("services/manage.html", s=s, form=form, helpers=helpers,
                           checkins=checkin_board(current_user, s),
                           suggestions=suggestions, confirm_form=ConfirmForm(), now=utcnow(),
                           SIGNUP_LABELS=SIGNUP_LABELS, SESSION_LABELS=SESSION_LABELS,
                           loc=str(get_locale()), rule_text=describe_rule(s.rule))


@bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
@login_required
def cancel_session(session_id: int):
    """Cancel the session; residents and staff are told."""
    s = _managed_or_404(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(lambda: cancel(current_user, s),
                   lambda told: _("Cancelled; %(n)s resident(s) were told.", n=told),
                   url_for("services.manage", session_id=s.id))


@bp.route("/sessions/<int:session_id>/attendance", methods=["POST"])
@login_required
def attendance(session_id: int):
    """Who came: residents and staff; the staff's hours go to their service record."""
    s = _managed_or_404(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ids = {n for n in map(parse_int, request.form.getlist("attended")) if n is not None}
    staff = {n for n in map(parse_int, request.form.getlist("staff")) if n is not None}
    return perform(lambda: take_attendance(current_user, s, ids, staff),
                   _("Attendance saved; the volunteers' hours are on their service records."),
                   url_for("services.manage", session_id=s.id))

