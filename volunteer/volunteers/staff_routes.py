"""Grid staff pages: the volunteer list of their scope, verification, 报到, import and export."""
from __future__ import annotations

import io

from flask import (
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteer import policy
from volunteer.actions import attempt
from volunteer.auth.forms import ConfirmForm
from volunteer.auth.permissions import require, role_required
from volunteer.auth.routes import safe_next
from volunteer.common import is_phone, normalize_phone, paginate, utcnow
from volunteer.extensions import db, limiter, per_account
from volunteer.org.models import Grid, Village
from volunteer.skills.models import Skill
from volunteer.volunteers import availability, bp, previews
from volunteer.volunteers.forms import (
    REVEAL_REASONS,
    ImportConfirmForm,
    ImportForm,
    RejectForm,
    RevealForm,
)
from volunteer.volunteers.importer import ImportFileError, import_file
from volunteer.volunteers.models import SkillStatus, VolunteerProfile, VolunteerSkill
from volunteer.volunteers.services import (
    Filters,
    can_confirm_party,
    can_verify,
    confirm_party,
    list_phone,
    log_contact_view,
    may_reveal,
    reject_skill,
    reveal_phone,
    scope_village_ids,
    verify_skill,
    volunteer_query,
)
from volunteer.xlsx import safe_row

# Grid leaders, instructors and village admins keep the registry (the town admin always may).
STAFF = sorted(policy.REGISTRY_KEEPERS)
PER_PAGE = 30
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _filters() -> Filters:
    a = request.args
    return Filters(q=(a.get("q") or "").strip()[:50], skill=a.get("skill", "")[:40],
                   grid=a.get("grid", "")[:20], village=a.get("village", "")[:20],
                   party=a.get("party", "") if a.get("party") in ("yes", "no", "pending") else "",
                   verified=a.get("verified", "") if a.get("verified") in ("yes", "no") else "",
                   paused=a.get("paused", "") if a.get("paused") in ("yes", "no") else "")


def _scope_choices():
    villages = scope_village_ids(current_user)
    vq = db.select(Village).order_by(Village.code)
    gq = db.select(Grid).order_by(Grid.code)
    if villages is not None:
        vq = vq.where(Village.id.in_(villages or {-1}))
        gq = gq.where(Grid.village_id.in_(villages or {-1}))
    return db.session.scalars(vq).all(), db.session.scalars(gq).all()


def _not_a_phone_search() -> bool:
    return not is_phone(normalize_phone((request.args.get("q") or "").strip()))


@bp.route("/")
@role_required(*STAFF)
@limiter.limit("30 per hour", key_func=per_account("phone-search"),
               exempt_when=_not_a_phone_search)  # 10⁴ searches would unmask a masked number
def staff_list():
    """Volunteers of my scope, filtered and paginated; phones masked (the detail page reveals)."""
    f = _filters()
    page = paginate(volunteer_query(current_user, f), per_page=PER_PAGE, max_per_page=PER_PAGE,
                    error_out=False)
    villages, grids = _scope_choices()
    skills = db.session.scalars(db.select(Skill).where(Skill.active).order_by(Skill.id)).all()
    loc = str(get_locale())
    return render_template("volunteers/staff_list.html", page=page, f=f, villages=villages,
                           grids=grids, skills=skills, loc=loc, list_phone=list_phone)


@bp.route("/export.xlsx")
@role_required(*STAFF)
def export_xlsx():
    """The filtered list as XLSX (within scope; the export is written to the contact-view log)."""
    from openpyxl import Workbook

    f = _filters()
    loc = str(get_locale())
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Volunteers"))
    ws.append(safe_row(ws, [
        _("Name"), _("Mobile"), _("Village"), _("Grid"), _("Skills"), _("Verified"),
        _("Party member"), _("Work unit"), _("Availability"), _("Range (km)"), _("Paused"),
        _("Registered")]))
    n = 0
    for profile in db.session.scalars(volunteer_query(current_user, f).execution_options(
            yield_per=500)):
        g = profile.home_grid
        ws.append(safe_row(ws, [
            profile.user.name, list_phone(current_user, profile, "export"),
            g.village.name if g else "",
            g.name if g else "", "、".join(vs.label(loc) for vs in profile.skills),
            "、".join(vs.label(loc) for vs in profile.skills if vs.status == SkillStatus.verified),
            _("yes") if profile.is_party_member else _("no"),
            profile.work_unit.name if profile.work_unit else "",
            "、".join(availability.labels(profile.availability)), profile.travel_km,
            _("yes") if profile.paused else _("no"),
            profile.created_at.strftime("%Y-%m-%d")]))
        n += 1
    log_contact_view(current_user, None, "export", n, note=str(f.__dict__))
    db.session.commit()
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return send_file(buf, as_attachment=True, download_name=f"volunteers-{stamp}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _profile_or_404(user_id: int) -> VolunteerProfile:
    profile = db.session.scalar(db.select(VolunteerProfile).where(
        VolunteerProfile.user_id == user_id))
    if profile is None or profile.user.deleted_at is not None:
        abort(404)
    if not policy.may_see_person(current_user, profile):
        abort(403)
    return profile


@bp.route("/<int:user_id>")
@role_required(*STAFF)
def detail(user_id: int):
    """One volunteer; the phone is masked and shown in full by an explicit, logged reveal."""
    profile = _profile_or_404(user_id)
    return render_template(
        "volunteers/detail.html", profile=profile, loc=str(get_locale()),
        phone=list_phone(current_user, profile, "detail"),
        may_reveal=may_reveal(current_user, profile),
        slots=availability.labels(profile.availability), form=ConfirmForm(),
        reject_form=RejectForm(), can_verify=can_verify(current_user, profile),
        can_confirm=can_confirm_party(current_user, profile),
        can_code=policy.may_manage_person(current_user, profile.user))


@bp.route("/<int:user_id>/contact", methods=["POST"])
@login_required
def reveal(user_id: int):
    """Show one volunteer's full phone once, for a reason; written to the contact view log and
    limited per day. Comes from the staff page and from the matcher's suggestions."""
    profile = db.session.scalar(db.select(VolunteerProfile).where(
        VolunteerProfile.user_id == user_id))
    if profile is None or profile.user.deleted_at is not None:
        abort(404)
    if not may_reveal(current_user, profile):
        abort(403)
    form = RevealForm()
    back = safe_next(form.next.data) or url_for("volunteers.detail", user_id=user_id)
    if not form.validate_on_submit():
        flash(" ".join(map(str, form.reason.errors)) or _("Please choose a reason."), "danger")
        return redirect(back)
    with attempt() as outcome:  # allowed (checked above), so at most the day's limit refuses
        phone = reveal_phone(current_user, profile, form.reason.data)
    if not outcome.ok:
        return redirect(back)
    resp = make_response(render_template("volunteers/contact.html", profile=profile, phone=phone,
                                         back=back))
    resp.headers["Cache-Control"] = "no-store"  # shown once: not kept in the browser's history
    return resp


@bp.app_template_global()
def reveal_reasons() -> list[tuple[str, str]]:
    """The reasons a reveal form offers."""
    return REVEAL_REASONS


@bp.app_template_global()
def shown_distance(metres, volunteer) -> int | None:
    """A volunteer's distance as the current user may see it (``policy.shown_distance``)."""
    if metres is None or volunteer.id == current_user.id:
        return metres
    profile = volunteer.profile
    village = profile.home_grid.village_id if profile and profile.home_grid else None
    return policy.shown_distance(current_user, metres, village)


def _skill_in_scope(vs_id: int) -> VolunteerSkill:
    vs = db.session.get(VolunteerSkill, vs_id)
    if vs is None:
        abort(404)
    require(can_verify(current_user, vs.profile))
    return vs


@bp.route("/skills/<int:vs_id>/verify", methods=["POST"])
@role_required(*STAFF)
def verify(vs_id: int):
    """Mark a skill (and its certificate) as checked; who and when are recorded."""
    vs = _skill_in_scope(vs_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    verify_skill(current_user, vs)
    db.session.commit()
    flash(_("Skill verified."), "success")
    return redirect(url_for("volunteers.detail", user_id=vs.profile.user_id))


@bp.route("/skills/<int:vs_id>/reject", methods=["POST"])
@role_required(*STAFF)
def reject(vs_id: int):
    """Reject a skill or certificate with a reason the volunteer sees."""
    vs = _skill_in_scope(vs_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash(" ".join(map(str, form.reason.errors)) or _("Please give a reason."), "danger")
    else:
        reject_skill(current_user, vs, form.reason.data)
        db.session.commit()
        flash(_("Skill rejected; the volunteer sees your reason."), "info")
    return redirect(url_for("volunteers.detail", user_id=vs.profile.user_id))


@bp.route("/<int:user_id>/party/<action>", methods=["POST"])
@role_required(*STAFF)
def party(user_id: int, action: str):
    """The 村居 confirms (or rejects) a party member's 报到."""
    profile = _profile_or_404(user_id)
    require(can_confirm_party(current_user, profile))
    if action not in ("confirm", "reject") or not profile.is_party_member:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    confirm_party(current_user, profile, action == "confirm")
    db.session.commit()
    flash(_("报到 confirmed.") if action == "confirm" else _("报到 rejected."), "info")
    return redirect(url_for("volunteers.detail", user_id=user_id))


# --- import -------------------------------------------------------------------------------------

def _allowed_villages() -> set[int] | None:
    return policy.office_villages(current_user)


@bp.route("/import", methods=["GET", "POST"])
@role_required(*policy.OFFICES)
def import_upload():
    """Upload a file; it is checked and previewed, nothing is written yet."""
    form = ImportForm()
    report = token = None
    if form.validate_on_submit():
        upload = form.file.data
        if not upload or not upload.filename:
            form.file.errors.append(_("Please choose a file."))
        else:
            data = upload.read(MAX_IMPORT_BYTES + 1)
            if len(data) > MAX_IMPORT_BYTES:
                form.file.errors.append(_("The file is larger than 20 MB."))
            else:
                with attempt(form=form, dry_run=True):  # a preview: nothing is kept
                    report = import_file(data, upload.filename, attested_by=current_user,
                                         method="attested", dry_run=True,
                                         allowed_villages=_allowed_villages(),
                                         actor=current_user)
                if report is not None and report.ok:
                    token = previews.save(current_user.id, data)
    grid_codes = {}
    if report is not None and report.rows:
        ids = {r.grid_id for r in report.rows[:50] if r.grid_id}
        grid_codes = dict(db.session.execute(db.select(Grid.id, Grid.code)
                                             .where(Grid.id.in_(ids))).tuples().all())
    return render_template("volunteers/import.html", form=form, report=report, token=token,
                           confirm_form=ImportConfirmForm(token=token), grid_codes=grid_codes)


@bp.route("/import/confirm", methods=["POST"])
@role_required(*policy.OFFICES)
def import_confirm():
    """Import the file checked a moment ago (all rows or none)."""
    form = ImportConfirmForm()
    token = form.token.data or ""
    if not form.validate_on_submit() or not token.isalnum():
        abort(400)
    path = previews.find(current_user.id, token)
    if path is None:
        flash(_("This upload has expired. Please upload the file again."), "warning")
        return redirect(url_for("volunteers.import_upload"))
    with attempt(category="danger") as outcome:
        report = import_file(path.read_bytes(), path.name, attested_by=current_user,
                             method="attested", allowed_villages=_allowed_villages(),
                             actor=current_user)
        if not report.ok:
            raise ImportFileError("no_longer_valid")
    if not outcome.ok:
        return redirect(url_for("volunteers.import_upload"))
    previews.discard(path)
    flash(_("Imported %(n)s volunteers: %(new)s new, %(upd)s updated.", n=len(report.rows),
            new=report.created, upd=report.updated), "success")
    return redirect(url_for("volunteers.staff_list"))


