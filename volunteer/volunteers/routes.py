"""Volunteers' own pages: the two registration paths, the profile, and public look-ups."""
from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from sqlalchemy.orm import selectinload

from volunteer.actions import attempt
from volunteer.auth.forms import ConfirmForm
from volunteer.auth.models import User
from volunteer.auth.services import AccountError, create_user
from volunteer.common import mask_name
from volunteer.extensions import db, limiter
from volunteer.geo import parse_point
from volunteer.org.models import Grid, Village
from volunteer.skills.models import Skill
from volunteer.volunteers import availability, bp
from volunteer.volunteers.forms import PartyToggleForm, profile_form_class
from volunteer.volunteers.models import SkillStatus, VolunteerProfile, VolunteerSkill, WorkUnit
from volunteer.volunteers.services import (
    ProfileData,
    RegistryError,
    grid_at,
    open_certificate,
    save_profile,
    set_paused,
    skill_index,
    store_certificate,
)


def _choices(form) -> None:
    """Fill the 村居, grid and skill choices (the grid list is filtered in the page by script)."""
    villages = db.session.scalars(db.select(Village).order_by(Village.code)).all()
    form.village.choices = [("", _("Choose your village"))] + [(v.code, v.name) for v in villages]
    grids = db.session.execute(db.select(Grid.code, Grid.name, Village.code, Grid.lat, Grid.lon)
                               .join(Village).order_by(Grid.code)).all()
    form.grid.choices = [("", _("Choose your grid"))] + [(g, n) for g, n, *_r in grids]
    form.grid_villages = {g: v for g, _n, v, *_r in grids}
    # Where each 村居 is, for the map to centre on: its grids' centres, else its own point.
    places: dict[str, list] = {}
    for _g, _n, v, lat, lon in grids:
        places.setdefault(v, []).append([lat, lon])
    form.village_places = places | {v.code: [[v.lat, v.lon]] for v in villages
                                    if v.code not in places and v.lat is not None}
    loc = str(get_locale())
    form.skills.choices = [(s.code, s.display_name(loc)) for s in _skills()]


def _skills():
    return db.session.scalars(db.select(Skill).where(Skill.active)
                              .options(selectinload(Skill.category)).order_by(Skill.id)).all()


def _profile_data(form, party: bool) -> ProfileData:
    """Turn a validated form into ProfileData; raises RegistryError with the field at fault."""
    grid = None
    if form.grid.data:
        grid = db.session.scalar(db.select(Grid).where(Grid.code == form.grid.data))
        if grid is None:
            raise RegistryError("unknown_grid", "grid")
        if form.village.data and grid.village.code != form.village.data:
            raise RegistryError("grid_not_in_village", "grid")
    lat = float(form.lat.data) if form.lat.data else None
    lon = float(form.lon.data) if form.lon.data else None
    if grid is None and lat is not None:
        grid = grid_at(lat, lon)
    if grid is None and lat is None:
        raise RegistryError("location", "grid")
    by_code = {s.code: s for s in _skills()}
    unknown = [c for c in form.skills.data if c not in by_code]
    if unknown:
        raise RegistryError("unknown_skill", "skills", {"codes": ", ".join(unknown)})
    certificates = {}
    for code in form.skills.data:
        skill = by_code[code]
        upload = request.files.get(f"cert_{code}")
        if skill.needs_certificate and upload and upload.filename:
            name, mime = store_certificate(upload, skill.name_zh)
            number = (request.form.get(f"certno_{code}") or "").strip()[:60] or None
            certificates[skill.id] = (name, mime, number)
    data = ProfileData(
        home_grid=grid, lat=lat, lon=lon, travel_km=form.travel_km.data,
        availability=availability.from_codes(form.availability.data),
        monthly_limit=form.monthly_limit.data, bio=form.bio.data,
        skill_ids=[by_code[c].id for c in form.skills.data], free_skills=form.free_skill_list(),
        certificates=certificates, is_party_member=party,
        national_no=form.national_no.data or None, id_type=form.id_type.data or "",
        id_number=form.id_number.data or None, no_night_calls=bool(form.no_night_calls.data))
    on_file = getattr(current_user, "profile", None)
    if form.id_type.data and not form.id_number.data and (
            on_file is None or on_file.id_type != form.id_type.data):
        raise RegistryError("id_number_needed", "id_number")
    if party:
        data.work_unit = form.work_unit.data
        data.party_branch = form.party_branch.data
        data.party_registered_on = form.party_registered_on.data
    return data


def _render_form(template: str, form, **kw):
    return render_template(template, form=form, skills=_skills(),
                           work_units=_approved_units(), **kw)


def _approved_units() -> list[str]:
    return list(db.session.scalars(db.select(WorkUnit.name).where(WorkUnit.approved)
                                   .order_by(WorkUnit.name).limit(500)))


@bp.route("/join")
def join():
    """Choose a registration path: in-service party member or skilled resident."""
    return render_template("volunteers/join.html")


@bp.route("/register/<kind>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def register(kind: str):
    """Register as a volunteer, with a new account or (logged in) on one's own account."""
    if kind not in ("party", "skilled"):
        abort(404)
    if current_user.is_authenticated and current_user.profile is not None:
        flash(_("You are already registered as a volunteer; edit your profile here."), "info")
        return redirect(url_for("volunteers.edit"))
    party = kind == "party"
    account = not current_user.is_authenticated
    form = profile_form_class(party=party, account=account, consent=True)()
    _choices(form)
    if form.validate_on_submit():
        with attempt(form=form, field="skills") as outcome:
            data = _profile_data(form, party)
            if account:
                user = create_user(name=form.name.data, phone=form.phone.data,
                                   password=form.password.data)
            else:
                user = current_user._get_current_object()
                user.consent_version = current_app.config["TERMS_VERSION"]
            save_profile(user, data)
        if isinstance(outcome.error, AccountError):  # here, the way on is to log in
            form.phone.errors[-1:] = [_("An account with this mobile number already exists. "
                                        "Log in first, then register as a volunteer.")]
        elif outcome.ok:
            if account:
                login_user(user)
            flash(_("Thank you for volunteering! Your village confirms your registration.")
                  if party else _("Thank you for volunteering!"), "success")
            return redirect(url_for("volunteers.me"))
    return _render_form("volunteers/register.html", form, party=party, account=account)


@bp.route("/me")
@login_required
def me():
    """My volunteer profile, with the status of each skill and of my 报到."""
    profile = current_user.profile
    if profile is None:
        return redirect(url_for("volunteers.join"))
    return render_template("volunteers/me.html", profile=profile, pause_form=ConfirmForm(),
                           slots=availability.labels(profile.availability))


@bp.route("/me/edit", methods=["GET", "POST"])
@login_required
def edit():
    """Edit everything in my profile."""
    profile = current_user.profile
    if profile is None:
        return redirect(url_for("volunteers.join"))
    form = PartyToggleForm(obj=profile)
    _choices(form)
    if request.method == "GET":
        form.grid.data = profile.home_grid.code if profile.home_grid else ""
        form.village.data = profile.home_grid.village.code if profile.home_grid else ""
        form.lat.data, form.lon.data = (profile.lat, profile.lon) \
            if profile.location_source == "pin" else ("", "")
        form.skills.data = [vs.skill.code for vs in profile.skills if vs.skill]
        form.free_skills.data = "、".join(vs.free_text for vs in profile.skills if not vs.skill)
        form.availability.data = availability.codes(profile.availability)
        form.work_unit.data = profile.work_unit.name if profile.work_unit else ""
        form.id_number.data = ""  # never sent back to the browser: kept unless replaced
    if form.validate_on_submit():
        with attempt(form=form, field="skills") as outcome:
            save_profile(current_user, _profile_data(form, bool(form.is_party_member.data)))
        if outcome.ok:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("volunteers.me"))
    return _render_form("volunteers/edit.html", form, profile=profile)


@bp.route("/me/pause", methods=["POST"])
@login_required
def pause():
    """Pause (no invitations) or resume."""
    profile = current_user.profile
    if profile is None or not ConfirmForm().validate_on_submit():
        abort(400)
    set_paused(profile, not profile.paused)
    db.session.commit()
    flash(_("Paused: you will not be asked to help until you resume.") if profile.paused
          else _("Welcome back: you can be asked to help again."), "info")
    return redirect(url_for("volunteers.me"))


@bp.route("/certificate/<int:vs_id>")
@login_required
def certificate(vs_id: int):
    """A certificate file, for the volunteer and those who may open their staff page; every
    download by someone else is written to the contact view log."""
    vs = db.session.get(VolunteerSkill, vs_id)
    path = open_certificate(current_user, vs) if vs is not None else None
    if path is None:
        abort(404)
    db.session.commit()  # the audit row
    return send_file(path, mimetype=vs.certificate_mime, max_age=0)


# --- look-ups for the forms (JSON) -------------------------------------------------------------

@bp.route("/lookup/grid")
def lookup_grid():
    """The grid nearest to a map pin (within 3 km), for the registration form."""
    point = parse_point(request.args.get("lat"), request.args.get("lon"))
    if point is None:
        return jsonify({"error": "bad_location", "message": _("Not a valid location.")}), 400
    lat, lon = point
    grid = grid_at(lat, lon)
    if grid is None:
        return jsonify({"error": "no_grid", "message": _("No grid of this town is near this pin. "
                                                          "Choose your grid from the list.")}), 404
    return jsonify({"grid": grid.code, "name": grid.name, "village": grid.village.code,
                    "village_name": grid.village.name})


@bp.route("/lookup/skills")
def lookup_skills():
    """Skills whose zh/en name or synonym contains ``q`` (大夫 finds 医生)."""
    q = (request.args.get("q") or "")[:50]
    index = skill_index()
    loc = str(get_locale())
    return jsonify([{"code": r.code, "name": r.name_en if loc.startswith("en") else r.name_zh}
                    for r in index.search(q)])


@bp.route("/lookup/work-units")
def lookup_work_units():
    """Approved work units whose name contains ``q``."""
    q = (request.args.get("q") or "").strip()[:50]
    stmt = db.select(WorkUnit.name).where(WorkUnit.approved)
    if q:
        stmt = stmt.where(WorkUnit.name.contains(q))
    return jsonify(list(db.session.scalars(stmt.order_by(WorkUnit.name).limit(20))))


# --- residents' view -----------------------------------------------------------------------------

@bp.route("/available")
def available():
    """Which skills are on offer in each 村居 and grid: counts and masked names, no contacts."""
    villages = db.session.scalars(db.select(Village).order_by(Village.code)).all()
    code = request.args.get("village") or ""
    chosen = next((v for v in villages if v.code == code), None)
    en = str(get_locale()).startswith("en")
    skill_name = Skill.name_en if en else Skill.name_zh
    offered = (db.select(VolunteerSkill.skill_id, VolunteerProfile.id.label("pid"),
                         Grid.village_id, Grid.code.label("grid"), Grid.name.label("grid_name"),
                         User.name.label("person"))
               .join(VolunteerProfile, VolunteerSkill.profile_id == VolunteerProfile.id)
               .join(User, VolunteerProfile.user_id == User.id)
               .join(Grid, VolunteerProfile.home_grid_id == Grid.id)
               .where(VolunteerSkill.skill_id.is_not(None), VolunteerProfile.paused.is_(False),
                      User.deleted_at.is_(None), User.consent_at.is_not(None),
                      VolunteerSkill.status != SkillStatus.rejected)).subquery()
    totals: dict[int, list[tuple[str, int]]] = {}
    for vid, name, n in db.session.execute(
            db.select(offered.c.village_id, skill_name, db.func.count(db.distinct(offered.c.pid)))
            .join(Skill, Skill.id == offered.c.skill_id)
            .group_by(offered.c.village_id, skill_name)
            .order_by(offered.c.village_id, db.func.count(db.distinct(offered.c.pid)).desc())):
        totals.setdefault(vid, []).append((name, n))
    grids: dict[str, dict] = {}
    if chosen:
        for gcode, gname, name, person in db.session.execute(
                db.select(offered.c.grid, offered.c.grid_name, skill_name, offered.c.person)
                .join(Skill, Skill.id == offered.c.skill_id)
                .where(offered.c.village_id == chosen.id)
                .order_by(offered.c.grid, skill_name)):
            g = grids.setdefault(gcode, {"name": gname, "skills": {}})
            g["skills"].setdefault(name, []).append(mask_name(person))
    return render_template("volunteers/available.html", villages=villages, chosen=chosen,
                           totals=totals, grids=grids)
