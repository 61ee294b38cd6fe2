"""Call-up pages: the organiser's list, the form that starts one, the live page (with its JSON
that refreshes it), the printable QR codes, closing and the report; the called volunteer's
phone page (coming / can't, check in, check out) and the QR link that checks them in."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.actions import attempt, perform
from volunteer.auth.forms import ConfirmForm
from volunteer.auth.models import User
from volunteer.callups import bp, services
from volunteer.callups.forms import AREA_LABELS, REASON_LABELS, CallUpForm, CheckForm, CloseForm
from volunteer.callups.models import (
    CallUp,
    CallUpAnswer,
    CallUpResponse,
    CallUpStatus,
    CheckVia,
    NoticeOutcome,
)
from volunteer.callups.services import (
    CallUpError,
    CallUpInput,
    call_off,
    check_in,
    check_out,
    close,
    confirm_all,
    confirm_hours,
    counts,
    mark,
    qr_token,
    read_qr,
    response_of,
    start,
    visible_clause,
)
from volunteer.common import (
    mask_name,
    mask_phone,
    paginate,
    parse_int,
    to_local,
    to_utc,
    utcnow,
)
from volunteer.extensions import db, limiter, per_account
from volunteer.geo import haversine_km
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.hours.services import HoursError, qr_svg
from volunteer.i18n import localtime
from volunteer.invitations.navigation import links
from volunteer.org.models import Grid, GridPoint, Village
from volunteer.skills.models import Skill
from volunteer.volunteers.models import VolunteerProfile

PER_PAGE = 20
REFRESH_SECONDS = 10
STATUS_LABELS = {CallUpStatus.open: _l("open"), CallUpStatus.closed: _l("closed"),
                 CallUpStatus.cancelled: _l("called off")}
#: Where a person of the area stands, as the live page and the report say it.
STATE_LABELS = {"arrived": _l("arrived"), "left": _l("left"), "missing": _l("coming, not here yet"),
                "coming": _l("coming"), "standby": _l("standby"), "cant": _l("can't come"),
                "none": _l("no answer yet"), "budget": _l("not called: notice budget spent"),
                "night": _l("not called: night")}
STATE_ORDER = ["arrived", "missing", "coming", "left", "standby", "none", "cant", "budget",
               "night"]
STATE_STYLE = {"arrived": "success", "left": "secondary", "missing": "danger", "coming": "primary",
               "standby": "info", "cant": "secondary", "none": "warning", "budget": "light",
               "night": "light"}


#: The states in which the organiser may record someone's arrival by hand.
NOT_HERE = ("missing", CallUpAnswer.coming, CallUpAnswer.standby, CallUpAnswer.none,
            CallUpAnswer.cant)


def _callup_or_404(callup_id: int) -> CallUp:
    callup = db.session.get(CallUp, callup_id)
    if callup is None:
        abort(404)
    return callup


def _organised_or_404(callup_id: int) -> CallUp:
    """The call-up, when the current user organises it (else 404: its existence is no one
    else's business)."""
    callup = _callup_or_404(callup_id)
    if not policy.may_see_callup(current_user, callup):
        abort(404)
    return callup


def _called_or_404(callup_id: int) -> tuple[CallUp, CallUpResponse]:
    callup = _callup_or_404(callup_id)
    resp = response_of(callup, current_user)
    if resp is None or resp.notice != NoticeOutcome.sent \
            or not policy.callup_answerer(current_user, resp):
        abort(404)
    return callup, resp


# --- the organiser's side ----------------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    """The call-ups I organise (my 村居's, my town's), newest first."""
    if not policy.may_start_callups(current_user):
        abort(403)
    page = paginate(db.select(CallUp).where(visible_clause(current_user))
                    .options(selectinload(CallUp.village), selectinload(CallUp.town))
                    .order_by(CallUp.created_at.desc(), CallUp.id.desc()),
                    per_page=PER_PAGE, max_per_page=PER_PAGE)
    tallies = _tallies([c.id for c in page.items])
    return render_template("callups/index.html", page=page, tallies=tallies,
                           REASON_LABELS=REASON_LABELS, STATUS_LABELS=STATUS_LABELS)


def _tallies(ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """(called, coming, arrived) per call-up, in one query."""
    r = CallUpResponse
    rows = db.session.execute(db.select(
        r.callup_id, db.func.count(r.id).filter(r.notice == NoticeOutcome.sent),
        db.func.count(r.id).filter(r.answer == CallUpAnswer.coming),
        db.func.count(r.id).filter(r.checked_in_at.is_not(None)))
        .where(r.callup_id.in_(ids or [-1])).group_by(r.callup_id)).all()
    return {cid: (a, b, c) for cid, a, b, c in rows}


def _choices(form: CallUpForm) -> list[tuple[Village, list[Grid]]]:
    """Fill the form's choices with what the current user may call up; returns the grids by
    村居 for the template."""
    offices = policy.office_villages(current_user)
    q = db.select(Village).options(selectinload(Village.grids)).order_by(Village.code)
    if offices is not None:
        q = q.where(Village.id.in_(offices or {-1}))
    villages = [v for v in db.session.scalars(q) if policy.may_call_up(current_user, v)]
    form.grids.choices = [(g.code, g.name) for v in villages for g in v.grids]
    points = db.session.scalars(db.select(GridPoint).join(Grid).where(
        Grid.village_id.in_([v.id for v in villages] or [-1]))
        .options(selectinload(GridPoint.grid).selectinload(Grid.village))
        .order_by(Grid.code, GridPoint.id)).all()
    form.point.choices = [("", _("None: use the pin or the first grid's centre"))] + [
        (str(p.id), f"{p.grid.village.name} · {p.name}") for p in points]
    form.skills.choices = [(s.code, s.display_name(str(get_locale())))
                           for s in db.session.scalars(db.select(Skill).where(Skill.active)
                                                       .order_by(Skill.id))]
    return [(v, list(v.grids)) for v in villages]


@bp.route("/new", methods=["GET", "POST"])
@login_required
@limiter.limit("30 per hour", key_func=per_account("callup"), methods=["POST"])
def new():
    """Start a call-up: reason, area (grids or a radius), skills, muster point, time, how many.
    Everyone eligible is notified at once on their channels."""
    if not policy.may_start_callups(current_user):
        abort(403)
    form = CallUpForm()
    by_village = _choices(form)
    if request.method == "GET":
        soon = to_local(utcnow()).replace(second=0, microsecond=0, tzinfo=None)
        form.starts_at.data = soon + timedelta(minutes=30 - soon.minute % 15)
        if len(by_village) == 1:
            form.grids.data = [g.code for g in by_village[0][1]]
    if form.validate_on_submit():
        with attempt(form=form, field="grids") as outcome:
            outcome.value = start(current_user, _input(form))
        if outcome.ok:
            done = outcome.value
            flash(ngettext("Call-up started: %(num)d volunteer is being notified.",
                           "Call-up started: %(num)d volunteers are being notified.",
                           done.notified), "success")
            if done.over_budget or done.night:
                flash(_("Not called: %(budget)s whose call-up notices this month are spent, "
                        "%(night)s who asked not to be called at night. They are listed on "
                        "the page.", budget=done.over_budget, night=done.night), "info")
            return redirect(url_for("callups.live", callup_id=done.callup.id))
    elif request.method == "POST":
        flash(_("Please check the form; nothing was sent."), "danger")
    return render_template("callups/new.html", form=form, by_village=by_village,
                           AREA_LABELS=AREA_LABELS), 422 if form.errors else 200


def _input(form: CallUpForm) -> CallUpInput:
    radius = form.area.data == "radius"
    return CallUpInput(
        reason=form.reason.data, title=form.title.data, details=form.details.data,
        muster=form.muster.data, starts_at=to_utc(form.starts_at.data),
        ends_at=to_utc(form.ends_at.data) if form.ends_at.data else None,
        needed=form.needed.data,
        grid_codes=[] if radius else list(form.grids.data or []),
        radius_km=(form.radius_km.data if form.radius_km.data is not None else -1.0)
        if radius else None,
        # A point that is no id of ours is refused by the service (-1: no such point).
        point_id=(parse_int(form.point.data) or -1) if form.point.data else None,
        lat=float(form.lat.data) if form.lat.data else None,
        lon=float(form.lon.data) if form.lon.data else None,
        skill_codes=list(form.skills.data or []))


def board(callup: CallUp) -> dict:
    """What the live page and its JSON show: the counts, and the people by grid, each with how
    the current user may see them (names and phones as the policy says, the distance of a
    check-in from the muster point rounded, never the position)."""
    now = utcnow()
    rows = db.session.scalars(
        db.select(CallUpResponse).where(CallUpResponse.callup_id == callup.id)
        .options(selectinload(CallUpResponse.volunteer).selectinload(User.profile)
                 .selectinload(VolunteerProfile.home_grid),
                 selectinload(CallUpResponse.grid))
        .order_by(CallUpResponse.id)).all()
    grids: dict[int | None, dict] = {}
    for r in rows:
        g = grids.setdefault(r.grid_id, {"grid": r.grid, "people": [],
                                         "tally": defaultdict(int)})
        state = _state(r)
        g["tally"][state] += 1
        g["people"].append(_person(callup, r, state))
    order = {s: i for i, s in enumerate(STATE_ORDER)}
    for g in grids.values():
        g["people"].sort(key=lambda p: (order[p["state"]], p["name"]))
        g["key"] = g["grid"].code if g["grid"] else ""
        t = g["tally"]
        g["summary"] = _("coming %(coming)s · arrived %(arrived)s · missing %(missing)s",
                         coming=t["missing"] + t["arrived"] + t["left"],
                         arrived=t["arrived"] + t["left"], missing=t["missing"])
    ordered = sorted(grids.values(), key=lambda g: g["key"] or "~")
    c = counts(callup)
    line = _("Called: %(called)s · not called: %(not_called)s · with a task at that time: "
             "%(busy)s", called=c["called"], not_called=c["not_called"], busy=c["busy"])
    quorum = _("quorum reached at %(when)s: notices stopped",
               when=localtime(callup.quorum_at, "HH:mm")) if callup.quorum_at else ""
    return {"counts": c, "grids": ordered, "started": now >= callup.starts_at, "now": now,
            "line": line, "quorum": quorum}


def board_json(callup: CallUp, b: dict) -> dict:
    """The live page's JSON: plain values and texts (in the reader's language) that its script
    puts in place with ``textContent``; the rows are the page's own, in a new order."""
    keys = ("state", "label", "style", "time", "where", "arrive", "leave")
    return {"status": callup.status, "counts": b["counts"], "line": b["line"],
            "quorum": b["quorum"],
            "grids": [{"key": g["key"], "summary": g["summary"],
                       "order": [p["id"] for p in g["people"]]} for g in b["grids"]],
            "people": {str(p["id"]): {k: p[k] for k in keys}
                       for g in b["grids"] for p in g["people"]}}


def _state(r: CallUpResponse) -> str:
    if r.notice != NoticeOutcome.sent:
        return r.notice
    if r.checked_out_at is not None:
        return "left"
    if r.checked_in_at is not None:
        return "arrived"
    if r.answer == CallUpAnswer.coming:
        return "missing"
    return r.answer


def _person(callup: CallUp, r: CallUpResponse, state: str) -> dict:
    user = r.volunteer
    profile = user.profile
    phone = policy.phone_shown(current_user, profile, "list")
    metres = None
    if r.checkin_lat is not None:
        metres = float(haversine_km(callup.muster_lat, callup.muster_lon, r.checkin_lat,
                                    r.checkin_lon)) * 1000
    distance = policy.checkin_distance(current_user, callup, metres)
    time_text = ""
    if r.checked_in_at is not None:
        time_text = localtime(r.checked_in_at, "HH:mm") + (
            "–" + localtime(r.checked_out_at, "HH:mm") if r.checked_out_at else "")
    where = _("%(m)s m from the point", m=distance) if distance is not None else \
        (_("by QR code") if r.checkin_via == CheckVia.qr else "")
    is_open = callup.status == CallUpStatus.open
    return {"id": r.id, "user_id": user.id, "state": state,
            "label": str(STATE_LABELS[state]), "style": STATE_STYLE[state],
            "name": user.name if policy.full_name_shown(current_user, profile)
            else mask_name(user.name),
            "phone": mask_phone(user.phone) if phone != policy.Phone.NONE else "",
            "page": profile is not None and policy.may_see_person(current_user, profile),
            "busy": r.busy, "answered_at": r.answered_at, "in_at": r.checked_in_at,
            "out_at": r.checked_out_at, "via": r.checkin_via, "distance_m": distance,
            "time": time_text, "where": where, "hours": r.hours,
            "arrive": is_open and state in NOT_HERE,
            "leave": is_open and state == "arrived"}


def _qr_links(callup: CallUp) -> dict[str, str]:
    return {a: url_for("callups.qr", token=qr_token(callup, a), _external=True)
            for a in ("in", "out")}


@bp.route("/<int:callup_id>")
@login_required
def live(callup_id: int):
    """The organiser's live page: who is coming, who has arrived, who is missing, by grid;
    it refreshes itself. A called volunteer is sent to their own page."""
    callup = _callup_or_404(callup_id)
    if not policy.may_see_callup(current_user, callup):
        if response_of(callup, current_user) is not None:
            return redirect(url_for("callups.answer", callup_id=callup_id))
        abort(404)
    qr = _qr_links(callup) if callup.status == CallUpStatus.open else {}
    return render_template("callups/live.html", callup=callup, b=board(callup),
                           qr={a: qr_svg(u) for a, u in qr.items()},
                           close_form=CloseForm(formdata=None), form=ConfirmForm(formdata=None),
                           REASON_LABELS=REASON_LABELS, STATUS_LABELS=STATUS_LABELS,
                           STATE_LABELS=STATE_LABELS, STATE_STYLE=STATE_STYLE,
                           refresh=REFRESH_SECONDS)


@bp.route("/<int:callup_id>/live.json")
@login_required
def live_json(callup_id: int):
    """The live page's figures and each person's state (texts in the reader's language), for
    the page's script to refresh itself."""
    callup = _organised_or_404(callup_id)
    resp = jsonify(board_json(callup, board(callup)))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/<int:callup_id>/qr")
@login_required
def qr_sheet(callup_id: int):
    """The muster point's QR codes, to print and put up: one to check in, one to check out."""
    callup = _organised_or_404(callup_id)
    if callup.status != CallUpStatus.open:
        flash(_("This call-up is over."), "info")
        return redirect(url_for("callups.live", callup_id=callup_id))
    qr = _qr_links(callup)
    return render_template("callups/qr_sheet.html", callup=callup,
                           qr={a: qr_svg(u) for a, u in qr.items()})


@bp.route("/<int:callup_id>/people/<int:response_id>/<any(arrive, leave):what>",
          methods=["POST"])
@login_required
def mark_view(callup_id: int, response_id: int, what: str):
    """The organiser records someone's arrival or leaving by hand."""
    callup = _organised_or_404(callup_id)
    resp = db.session.get(CallUpResponse, response_id)
    if resp is None or resp.callup_id != callup.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = url_for("callups.live", callup_id=callup_id) + "#board"
    return perform(lambda: mark(current_user, callup, resp, what == "arrive"),
                   _("Arrival recorded.") if what == "arrive"
                   else _("Leaving recorded; the hours wait for confirmation."), back)


@bp.route("/<int:callup_id>/close", methods=["POST"])
@login_required
def close_view(callup_id: int):
    """Close the call-up with what was done (those still here are checked out)."""
    callup = _organised_or_404(callup_id)
    form = CloseForm()
    back = url_for("callups.live", callup_id=callup_id)
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errs in form.errors.values() for e in errs)
              or _("Please check the form."), "danger")
        return redirect(back + "#close")
    return perform(lambda: close(current_user, callup, form.summary.data),
                   _("Closed. The report is below; confirm the hours there."),
                   url_for("callups.report", callup_id=callup_id), failure_redirect=back)


@bp.route("/<int:callup_id>/call-off", methods=["POST"])
@login_required
def call_off_view(callup_id: int):
    """Call it off (a false alarm); those coming are told."""
    callup = _organised_or_404(callup_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = url_for("callups.live", callup_id=callup_id)
    return perform(lambda: call_off(current_user, callup),
                   _("Called off; those who were coming are told."), back)


@bp.route("/<int:callup_id>/report")
@login_required
def report(callup_id: int):
    """The call-up's report: who came, when they arrived and left, their hours, the total and
    what was done."""
    callup = _organised_or_404(callup_id)
    rows = db.session.scalars(
        db.select(CallUpResponse).where(CallUpResponse.callup_id == callup.id,
                                        CallUpResponse.checked_in_at.is_not(None))
        .options(selectinload(CallUpResponse.volunteer).selectinload(User.profile)
                 .selectinload(VolunteerProfile.home_grid),
                 selectinload(CallUpResponse.grid))
        .order_by(CallUpResponse.checked_in_at, CallUpResponse.id)).all()
    entries = {e.volunteer_id: e for e in db.session.scalars(db.select(ServiceHours).where(
        ServiceHours.callup_id == callup.id))}
    people = [(_person(callup, r, _state(r)), entries.get(r.volunteer_id), r.grid) for r in rows]
    total = sum((e.hours for e in entries.values()), Decimal(0))
    confirmed = sum((e.hours for e in entries.values() if e.status == HoursStatus.confirmed),
                    Decimal(0))
    waiting = sum(1 for e in entries.values() if e.status == HoursStatus.proposed
                  and e.volunteer_id != current_user.id)
    return render_template("callups/report.html", callup=callup, people=people,
                           c=counts(callup), total=total, confirmed=confirmed, waiting=waiting,
                           form=ConfirmForm(formdata=None), REASON_LABELS=REASON_LABELS,
                           STATUS_LABELS=STATUS_LABELS)


@bp.route("/<int:callup_id>/hours/confirm", methods=["POST"])
@login_required
def confirm_all_view(callup_id: int):
    """Confirm every proposed hours entry of the call-up."""
    callup = _organised_or_404(callup_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = url_for("callups.report", callup_id=callup_id)
    return perform(lambda: confirm_all(current_user, callup),
                   lambda n: ngettext("%(num)d entry of hours confirmed.",
                                      "%(num)d entries of hours confirmed.", n), back)


@bp.route("/hours/<int:hours_id>/confirm", methods=["POST"])
@login_required
def confirm_hours_view(hours_id: int):
    """Confirm one volunteer's call-up hours (from "Hours to confirm"), changed if entered."""
    entry = db.session.get(ServiceHours, hours_id)
    if entry is None or entry.callup is None \
            or not policy.may_see_callup(current_user, entry.callup):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = url_for("hours.review") if request.form.get("back") == "review" \
        else url_for("callups.report", callup_id=entry.callup_id)
    return perform(lambda: confirm_hours(current_user, entry, request.form.get("hours")),
                   _("Hours confirmed; they are on the volunteer's service record."), back,
                   conflict=HoursError("recorded_meanwhile"))


# --- the volunteer's side ----------------------------------------------------------------------

@bp.route("/mine")
@login_required
def mine():
    """The call-ups I was called to, newest first."""
    page = paginate(db.select(CallUpResponse).where(
        CallUpResponse.volunteer_id == current_user.id,
        CallUpResponse.notice == NoticeOutcome.sent)
        .options(selectinload(CallUpResponse.callup))
        .order_by(CallUpResponse.id.desc()), per_page=PER_PAGE, max_per_page=PER_PAGE)
    return render_template("callups/mine.html", page=page, REASON_LABELS=REASON_LABELS,
                           STATUS_LABELS=STATUS_LABELS, answer_label=_answer_label)


def _answer_label(r: CallUpResponse) -> str:
    return str(STATE_LABELS[_state(r)] if _state(r) != "missing" else STATE_LABELS["coming"])


@bp.route("/<int:callup_id>/answer")
@login_required
def answer(callup_id: int):
    """The called volunteer's page, made for a phone: "I'm coming" / "can't" in one tap; then
    check in at the muster point and check out when leaving."""
    callup = db.session.get(CallUp, callup_id)
    if callup is not None and policy.may_see_callup(current_user, callup) \
            and response_of(callup, current_user) is None:
        return redirect(url_for("callups.live", callup_id=callup_id))
    callup, resp = _called_or_404(callup_id)
    entry = db.session.scalar(db.select(ServiceHours).where(
        ServiceHours.callup_id == callup.id, ServiceHours.volunteer_id == current_user.id))
    return render_template("callups/answer.html", callup=callup, r=resp, entry=entry,
                           c=counts(callup), form=ConfirmForm(formdata=None),
                           check_form=CheckForm(formdata=None),
                           navigate=links(callup.muster_lat, callup.muster_lon, callup.muster),
                           REASON_LABELS=REASON_LABELS, STATUS_LABELS=STATUS_LABELS,
                           state=_state(resp), STATE_LABELS=STATE_LABELS)


@bp.route("/<int:callup_id>/answer/<any(coming, cant):choice>", methods=["POST"])
@login_required
def answer_post(callup_id: int, choice: str):
    """I'm coming / I can't."""
    callup, _resp = _called_or_404(callup_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = url_for("callups.answer", callup_id=callup_id)

    def said(r: CallUpResponse) -> str:
        if r.answer == CallUpAnswer.standby:
            return _("Thank you! Enough people are coming already: you are on standby, and "
                     "will be told if you are needed.")
        if r.answer == CallUpAnswer.coming:
            return _("Thank you! Please go to the muster point and check in there.")
        return _("Noted. Thank you for answering.")

    return perform(lambda: services.answer(current_user, callup, choice == "coming"), said, back)


def _check(callup_id: int, arrive: bool, via: str, back: str):
    callup, _resp = _called_or_404(callup_id)
    form = CheckForm()
    if not form.validate_on_submit():
        abort(400)
    if arrive:
        action = lambda: check_in(current_user, callup, via, form.lat.data,  # noqa: E731
                                  form.lon.data, form.accuracy.data)
        text = _("Checked in. Thank you for coming!")
    else:
        action = lambda: check_out(current_user, callup, via)  # noqa: E731
        text = _("Checked out. Your hours are proposed to the organiser. Thank you!")
    return perform(action, text, back)


@bp.route("/<int:callup_id>/checkin", methods=["POST"])
@login_required
def check_in_view(callup_id: int):
    """Check in with the button: the time, and the phone's position when allowed."""
    return _check(callup_id, True, CheckVia.button,
                  url_for("callups.answer", callup_id=callup_id))


@bp.route("/<int:callup_id>/checkout", methods=["POST"])
@login_required
def check_out_view(callup_id: int):
    """Check out with the button; the hours from check-in are proposed."""
    return _check(callup_id, False, CheckVia.button,
                  url_for("callups.answer", callup_id=callup_id))


@bp.route("/qr/<token>", methods=["GET", "POST"])
@login_required
@limiter.limit("60 per hour", key_func=per_account("callup-qr"))
def qr(token: str):
    """The muster point's QR code: a signed, expiring link that checks the logged-in, called
    volunteer in (or out) with one more tap (a GET changes nothing)."""
    try:
        callup, action = read_qr(token[:500])
    except CallUpError as exc:
        return render_template("errors/generic.html", status=exc.status,
                               message=exc.message), exc.status
    _callup, resp = _called_or_404(callup.id)
    if request.method == "POST":
        return _check(callup.id, action == "in", CheckVia.qr,
                      url_for("callups.answer", callup_id=callup.id))
    return render_template("callups/qr_scan.html", callup=callup, r=resp, action=action,
                           check_form=CheckForm(formdata=None), token=token)
