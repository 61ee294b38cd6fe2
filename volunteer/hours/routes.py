"""Service hours pages: my service record; propose, confirm, correct; the organiser's review."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from volunteer.actions import perform
from volunteer.auth.forms import ConfirmForm
from volunteer.callups.models import CallUp
from volunteer.callups.services import visible_clause as callup_visible_clause
from volunteer.common import paginate
from volunteer.extensions import db, limiter
from volunteer.hours import bp
from volunteer.hours.forms import CorrectionForm, DecisionForm, HoursForm
from volunteer.hours.models import (
    Certificate,
    CorrectionStatus,
    HoursCorrection,
    HoursStatus,
    ServiceHours,
)
from volunteer.hours.services import (
    HoursError,
    confirm,
    decide_correction,
    issue_certificate,
    normalize_serial,
    propose,
    qr_svg,
    record_of,
    request_correction,
    totals,
)
from volunteer.invitations.models import Invitation
from volunteer.invitations.services import organised_clause
from volunteer.invitations.targets import can_organise
from volunteer.issues.models import Issue
from volunteer.org.models import GridPoint
from volunteer.policy import ORGANISERS, holds
from volunteer.services.models import ServiceSession
from volunteer.services.sessions import managed_points_clause

STATUS_LABELS = {"proposed": _l("to confirm"), "confirmed": _l("confirmed")}
CORRECTION_LABELS = {"pending": _l("waiting"), "accepted": _l("accepted"),
                     "rejected": _l("rejected")}
PER_PAGE = 30


def _back(inv: Invitation) -> str:
    if inv.volunteer_id == current_user.id:
        return url_for("invitations.detail", invitation_id=inv.id)
    if inv.session_id:
        return url_for("services.manage", session_id=inv.session_id) + "#staff"
    return url_for("issues.detail", issue_id=inv.issue_id) + "#helpers"


def _visible_invitation(invitation_id: int) -> Invitation:
    inv = db.session.get(Invitation, invitation_id)
    if inv is None or not (inv.volunteer_id == current_user.id
                           or can_organise(current_user, inv)):
        abort(404)
    return inv


@bp.route("/")
@login_required
def index():
    """My service record: confirmed hours and activities, what waits, my corrections."""
    page = paginate(record_of(current_user.id).options(
        selectinload(ServiceHours.corrections), selectinload(ServiceHours.confirmed_by)),
        per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    return render_template("hours/index.html", page=page, totals=totals(current_user.id),
                           form=CorrectionForm(formdata=None), STATUS_LABELS=STATUS_LABELS,
                           CORRECTION_LABELS=CORRECTION_LABELS)


@bp.route("/task/<int:invitation_id>", methods=["POST"])
@login_required
def propose_view(invitation_id: int):
    """Propose the hours of a finished task (the helper or the organiser)."""
    return _record(invitation_id, lambda inv, f: propose(current_user, inv, f.hours.data,
                                                         f.note.data),
                   _("Hours proposed; the organiser will confirm them."))


@bp.route("/task/<int:invitation_id>/confirm", methods=["POST"])
@login_required
def confirm_view(invitation_id: int):
    """The organiser confirms a helper's hours (entering them if nobody proposed any)."""
    return _record(invitation_id, lambda inv, f: confirm(current_user, inv,
                                                         f.hours.data or None),
                   _("Hours confirmed; they are on the volunteer's service record."))


def _record(invitation_id: int, action, ok_text: str):
    """Run one hours operation from the HoursForm; commit, or say why not and change nothing.
    From the review list, back to it (to confirm the next one); else to the task's page."""
    inv = _visible_invitation(invitation_id)
    back = url_for("hours.review") if request.form.get("back") == "review" \
        and can_organise(current_user, inv) else _back(inv)
    form = HoursForm()
    if not form.validate_on_submit():
        flash(_("Please check the form."), "danger")
        return redirect(back)
    return perform(lambda: action(inv, form), ok_text, back,
                   conflict=HoursError("recorded_meanwhile"))


@bp.route("/<int:hours_id>/correction", methods=["POST"])
@login_required
def correction(hours_id: int):
    """Ask for confirmed hours to be corrected."""
    entry = db.session.get(ServiceHours, hours_id)
    if entry is None or entry.volunteer_id != current_user.id:
        abort(404)
    form = CorrectionForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errs in form.errors.values() for e in errs), "danger")
        return redirect(url_for("hours.index"))
    return perform(lambda: request_correction(current_user, entry, form.hours.data,
                                              form.reason.data),
                   _("Correction requested; the organiser will decide."),
                   url_for("hours.index"))


@bp.route("/corrections/<int:correction_id>/<any(accept, reject):decision>", methods=["POST"])
@login_required
def decide(correction_id: int, decision: str):
    """Accept or reject (with a reason) a volunteer's correction."""
    corr = db.session.get(HoursCorrection, correction_id)
    if corr is None or not can_organise(current_user, corr.entry):
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("back") == "review":
        back = url_for("hours.review")
    elif corr.entry.callup_id:
        back = url_for("callups.report", callup_id=corr.entry.callup_id)
    elif corr.entry.session_id:
        back = url_for("services.manage", session_id=corr.entry.session_id) + "#staff"
    else:
        back = url_for("issues.detail", issue_id=corr.entry.issue_id) + "#helpers"
    return perform(lambda: decide_correction(current_user, corr, decision == "accept",
                                             form.reason.data),
                   _("Decided; the volunteer was told."), back)


@bp.route("/review")
@login_required
def review():
    """For organisers: hours to confirm and corrections to decide in my grids and 村居."""
    if not holds(current_user, ORGANISERS):
        abort(403)
    mine = sa.or_(
        ServiceHours.issue_id.in_(db.select(Issue.id).where(organised_clause(current_user))),
        ServiceHours.session_id.in_(db.select(ServiceSession.id).join(GridPoint)
                                    .where(managed_points_clause(current_user))),
        ServiceHours.callup_id.in_(db.select(CallUp.id).where(
            callup_visible_clause(current_user))))
    entries = paginate(
        db.select(ServiceHours).where(ServiceHours.status == HoursStatus.proposed, mine)
        .options(selectinload(ServiceHours.volunteer), selectinload(ServiceHours.issue),
                 selectinload(ServiceHours.invitation))
        .order_by(ServiceHours.proposed_at, ServiceHours.id), per_page=PER_PAGE,
        max_per_page=PER_PAGE, error_out=False)
    corrections = db.session.scalars(
        db.select(HoursCorrection).join(ServiceHours)
        .where(HoursCorrection.status == CorrectionStatus.pending, mine)
        .options(selectinload(HoursCorrection.entry).selectinload(ServiceHours.volunteer),
                 selectinload(HoursCorrection.entry).selectinload(ServiceHours.issue))
        .order_by(HoursCorrection.id).limit(100)).all()
    return render_template("hours/review.html", entries=entries, corrections=corrections,
                           form=HoursForm(formdata=None),
                           decision_form=DecisionForm(formdata=None))


# --- certificates -----------------------------------------------------------------------------

@bp.route("/certificate", methods=["POST"])
@login_required
def new_certificate():
    """Issue a numbered certificate of my confirmed hours."""
    from flask import current_app

    if not ConfirmForm().validate_on_submit():
        abort(400)
    town = _home_town(current_user)
    code = town.code if town is not None else current_app.config["TOWN_CODE"]
    return perform(lambda: issue_certificate(current_user, code),
                   None, lambda cert: url_for("hours.certificate", serial=cert.serial),
                   failure_redirect=url_for("hours.index"))


def _home_town(user):
    """The town of a volunteer's home grid (None: no home grid)."""
    profile = getattr(user, "profile", None)
    if profile is None or profile.home_grid is None:
        return None
    return profile.home_grid.village.town


@bp.route("/certificate/<serial>")
@login_required
def certificate(serial: str):
    """My certificate, printable, with what MCA Order No. 67 asks of one: the volunteer (name,
    national volunteer number), the hours and the service, the issuing organisation with its
    person in charge, handler and contact, the number and date, a place for the seal, and a QR
    code of the public check. Without a configured issuer it is a service-record summary."""
    from flask import current_app

    cert = db.session.scalar(db.select(Certificate).where(Certificate.serial == serial[:24]))
    if cert is None or cert.volunteer_id != current_user.id:
        abort(404)
    config = current_app.config
    verify_url = url_for("hours.verify", serial=cert.serial, _external=True)
    profile = cert.volunteer.profile
    town = _home_town(cert.volunteer)
    return render_template(
        "hours/certificate.html", cert=cert,
        town=town.name if town is not None else config["TOWN_NAME"], verify_url=verify_url,
        qr=qr_svg(verify_url), national_no=profile.national_no if profile else None,
        issuer={k: config[f"CERT_{k.upper()}"] for k in ("issuer", "issuer_head", "handler",
                                                        "contact")})


@bp.route("/verify")
@limiter.limit("30 per minute")
def verify():
    """Anyone checks a certificate by its serial: masked name, hours, date — nothing more."""
    typed = (request.args.get("serial") or "").strip()[:40]
    cert, error = None, None
    if typed:
        serial = normalize_serial(typed)
        if serial is not None:
            cert = db.session.scalar(db.select(Certificate).where(Certificate.serial == serial))
        if cert is None:
            error = _("No certificate has this number. Check it against the printed one.")
    return render_template("hours/verify.html", cert=cert, typed=typed, error=error), \
        404 if error else 200
