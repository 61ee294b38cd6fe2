"""Check-in pages: the organiser's code (rotating on screen, with the small JSON that refreshes
it, and the printable sheet) for a session or a task; the scanned link that checks the
logged-in helper or resident in and out; the "I'm here" buttons of one's own task and
sign-up."""
from __future__ import annotations

import base64

from flask import abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteer import policy
from volunteer.actions import perform
from volunteer.checkin import bp
from volunteer.checkin.codes import CheckVia
from volunteer.checkin.forms import CheckForm
from volunteer.checkin.services import (
    CheckInError,
    CheckStage,
    board,
    check_in,
    check_out,
    expected,
    mine,
    place_of,
    printed_code,
    read_code,
    screen_code,
    toggle,
    window,
)
from volunteer.common import utcnow
from volunteer.extensions import db, limiter, per_account
from volunteer.hours.services import qr_svg
from volunteer.invitations.models import Invitation
from volunteer.invitations.routes import mine_or_404
from volunteer.invitations.targets import target
from volunteer.issues.models import Issue
from volunteer.services.models import ServiceSession, SessionSignup


def qr_data_uri(text: str) -> str:
    """A QR code of ``text`` as an SVG data URI (an ``<img>`` the page's script can swap
    without parsing markup)."""
    return "data:image/svg+xml;base64," + base64.b64encode(str(qr_svg(text)).encode()).decode()


def _organised_or_404(model, ident: int):
    """The session or issue, when the current user organises it (else 404)."""
    obj = db.session.get(model, ident)
    if obj is None or not policy.may_run_checkin(current_user, obj):
        abort(404)
    return obj


def _back(obj) -> str:
    """Where the organiser manages it: the session's page, or the issue's helpers."""
    if isinstance(obj, ServiceSession):
        return url_for("services.manage", session_id=obj.id) + "#staff"
    return url_for("issues.detail", issue_id=obj.id) + "#helpers"


def _urls(obj) -> dict[str, str]:
    kind = "session" if isinstance(obj, ServiceSession) else "issue"
    arg = {f"{kind}_id": obj.id}
    return {"page": url_for(f"checkin.{kind}_code", **arg),
            "json": url_for(f"checkin.{kind}_code_json", **arg),
            "print": url_for(f"checkin.{kind}_sheet", **arg), "back": _back(obj)}


def _state(obj) -> dict:
    """The code of this moment (None when there is no check-in now or any more) and the
    counts, for the page and its JSON."""
    now = utcnow()
    win = window(obj)
    code = None
    if win is not None and now <= win.closes:
        c = screen_code(obj, now)
        link = url_for("checkin.scan", token=c.token, _external=True)
        code = {"link": link, "qr": qr_data_uri(link), "refresh_in": c.refresh_in,
                "window": c.window}
    b = board(current_user, obj)
    return {"code": code, "window": win, "now": now, "here": b["here"], "left": b["left"],
            "expected": expected(obj)}


def _code_page(obj):
    st = _state(obj)
    return render_template("checkin/code.html", obj=obj, t=target(obj), st=st, urls=_urls(obj),
                           rotate=current_app.config["CHECKIN_ROTATE_MINUTES"])


def _code_json(obj):
    st = _state(obj)
    resp = jsonify({"code": st["code"], "here": st["here"], "left": st["left"],
                    "expected": st["expected"],
                    "line": _("%(here)s here now · %(left)s left · %(expected)s expected",
                              here=st["here"], left=st["left"], expected=st["expected"])})
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _sheet(obj):
    win = window(obj)
    code = None
    if win is not None and utcnow() <= win.closes:
        c = printed_code(obj, win)
        link = url_for("checkin.scan", token=c.token, _external=True)
        code = {"link": link, "qr": qr_svg(link)}
    return render_template("checkin/sheet.html", obj=obj, t=target(obj), win=win, code=code,
                           urls=_urls(obj))


@bp.route("/session/<int:session_id>")
@login_required
def session_code(session_id: int):
    """The session's check-in code on the organiser's phone: it changes every few minutes."""
    return _code_page(_organised_or_404(ServiceSession, session_id))


@bp.route("/session/<int:session_id>/code.json")
@login_required
def session_code_json(session_id: int):
    """The session's code of this moment and who is here, for the code page's script."""
    return _code_json(_organised_or_404(ServiceSession, session_id))


@bp.route("/session/<int:session_id>/print")
@login_required
def session_sheet(session_id: int):
    """The session's code to print for the grid point, valid for the session's day only."""
    return _sheet(_organised_or_404(ServiceSession, session_id))


@bp.route("/issue/<int:issue_id>")
@login_required
def issue_code(issue_id: int):
    """A task's check-in code on the organiser's phone (a task with a time window)."""
    return _code_page(_organised_or_404(Issue, issue_id))


@bp.route("/issue/<int:issue_id>/code.json")
@login_required
def issue_code_json(issue_id: int):
    """The task's code of this moment and who is here, for the code page's script."""
    return _code_json(_organised_or_404(Issue, issue_id))


@bp.route("/issue/<int:issue_id>/print")
@login_required
def issue_sheet(issue_id: int):
    """The task's code to print, valid for the task's time only."""
    return _sheet(_organised_or_404(Issue, issue_id))


# --- the scan ----------------------------------------------------------------------------------

def _refusal(exc: CheckInError):
    return render_template("errors/generic.html", status=exc.status,
                           message=exc.message), exc.status


def _own_page(place) -> str:
    if isinstance(place, Invitation):
        return url_for("invitations.detail", invitation_id=place.id)
    return url_for("services.mine")


@bp.route("/<token>", methods=["GET", "POST"])
@login_required
@limiter.limit("60 per hour", key_func=per_account("checkin-scan"))
def scan(token: str):
    """A scanned code: shows what it is and one big button — check in, or check out when in
    already (a GET changes nothing). Only an accepted helper or a signed-up resident."""
    try:
        obj = read_code(token)
    except CheckInError as exc:
        return _refusal(exc)
    place = place_of(current_user, obj)
    if place is None:
        if policy.may_run_checkin(current_user, obj):
            flash(_("This code works: helpers and residents who scan it are checked in."),
                  "info")
            return redirect(_urls(obj)["page"])
        return _refusal(CheckInError("not_involved"))
    form = CheckForm()
    if form.is_submitted():
        if not form.validate():
            abort(400)

        def said(result) -> str:
            if result[0] == CheckStage.left:
                if isinstance(place, Invitation):
                    return _("Checked out. Your hours are proposed to the organiser. Thank "
                             "you!")
                return _("Checked out. Thank you for coming!")
            return _("Checked in. Welcome!")

        return perform(lambda: toggle(current_user, obj, CheckVia.qr, form.lat.data,
                                      form.lon.data, form.accuracy.data), said,
                       _own_page(place), conflict=CheckInError("already_in"))
    state = mine(place)
    return render_template("checkin/scan.html", obj=obj, t=target(obj), place=place, me=state,
                           check_form=CheckForm(formdata=None), token=token,
                           own_page=_own_page(place))


# --- one's own buttons -------------------------------------------------------------------------

def _button(place, arrive: bool):
    form = CheckForm()
    if not form.validate_on_submit():
        abort(400)
    back = _own_page(place)
    if arrive:
        return perform(lambda: check_in(current_user, place, CheckVia.button, form.lat.data,
                                        form.lon.data, form.accuracy.data),
                       _("Checked in. Welcome!"), back, conflict=CheckInError("already_in"))
    text = _("Checked out. Your hours are proposed to the organiser. Thank you!") \
        if isinstance(place, Invitation) else _("Checked out. Thank you for coming!")
    return perform(lambda: check_out(current_user, place, CheckVia.button), text, back)


def _my_signup(signup_id: int) -> SessionSignup:
    signup = db.session.get(SessionSignup, signup_id)
    if signup is None or signup.user_id != current_user.id:
        abort(404)
    return signup


@bp.route("/task/<int:invitation_id>/in", methods=["POST"])
@login_required
def task_in(invitation_id: int):
    """"I'm here" on my task's page: the time, and the phone's position when allowed."""
    return _button(mine_or_404(invitation_id), True)


@bp.route("/task/<int:invitation_id>/out", methods=["POST"])
@login_required
def task_out(invitation_id: int):
    """"I'm leaving" on my task's page; my hours from check-in are proposed."""
    return _button(mine_or_404(invitation_id), False)


@bp.route("/signup/<int:signup_id>/in", methods=["POST"])
@login_required
def signup_in(signup_id: int):
    """A resident's "I'm here" for a session they signed up for."""
    return _button(_my_signup(signup_id), True)


@bp.route("/signup/<int:signup_id>/out", methods=["POST"])
@login_required
def signup_out(signup_id: int):
    """A resident's "I'm leaving"."""
    return _button(_my_signup(signup_id), False)
