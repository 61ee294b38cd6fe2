"""Volunteer registry operations shared by views, the importer and CLI. Services never commit."""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from volunteer import policy
from volunteer.auth.models import Role, User
from volunteer.auth.services import grant_role
from volunteer.common import SHANGHAI, is_phone, iso_utc, mask_phone, normalize_phone, utcnow
from volunteer.config import upload_folder
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.geo import haversine_km
from volunteer.inbox.services import skill_decided
from volunteer.issues.photos import PhotoError, check_photo
from volunteer.org.models import Grid, Village
from volunteer.privacy import eraser, exporter, files
from volunteer.skills.lookup import SkillIndex
from volunteer.skills.models import Skill
from volunteer.volunteers import availability
from volunteer.volunteers.models import (
    ContactView,
    PartyStatus,
    SkillStatus,
    VolunteerProfile,
    VolunteerSkill,
    WorkUnit,
)

GRID_SNAP_KM = 3.0
MAX_CERT_BYTES = 5 * 1024 * 1024
# Certificates are recognised by their content (never by name or header): a PDF, a JPEG or a PNG.


class RegistryError(DomainError):
    """A business rule refused the operation; ``field`` names the form field when there is one."""

    messages = {
        "unknown_grid": _l("Please choose a grid from the list."),
        "grid_not_in_village": _l("This grid is not in the chosen village."),
        "location": _l("Choose your grid or put a pin on the map."),
        "skills": _l("Choose at least one skill or write one."),
        "unknown_skill": _l("Unknown skill: %(codes)s"),
        "id_number_needed": _l("Please enter the document's number."),
        "certificate_too_large": _l("The certificate for %(skill)s is larger than 5 MB."),
        "certificate_unreadable": _l("The certificate for %(skill)s cannot be read. Please "
                                     "upload a clear photo (JPEG or PNG) or a PDF file."),
        "certificate_bad_type": _l("The certificate for %(skill)s must be a JPEG, PNG or PDF "
                                   "file."),
        "not_allowed": _l("This page belongs to another grid, village or role than yours."),
        "too_many_reveals": _l("You have shown %(n)s phone numbers today, the most allowed in "
                               "a day. Ask the town office if you need more."),
    }
    statuses = {code: 422 for code in messages} | {"not_allowed": 403,
                                                   "too_many_reveals": 429}


def skill_index() -> SkillIndex:
    """The taxonomy as a lookup (active skills only)."""
    return SkillIndex.from_models(db.session.scalars(db.select(Skill).where(Skill.active)))


class GridLocator:
    """Nearest grid centroid to a point, within a radius (grids without boundaries)."""

    def __init__(self, grids: list[tuple[int, float, float]]):
        self.ids = np.array([g[0] for g in grids], dtype=np.int64)
        self.lat = np.array([g[1] for g in grids], dtype=float)
        self.lon = np.array([g[2] for g in grids], dtype=float)

    @classmethod
    def load(cls) -> GridLocator:
        return cls(db.session.execute(db.select(Grid.id, Grid.lat, Grid.lon)).tuples().all())

    def nearest(self, lat: float, lon: float, max_km: float = GRID_SNAP_KM) -> int | None:
        if not len(self.ids):
            return None
        d = haversine_km(lat, lon, self.lat, self.lon)
        i = int(np.argmin(d))
        return int(self.ids[i]) if d[i] <= max_km else None


def grid_at(lat: float, lon: float, max_km: float = GRID_SNAP_KM) -> Grid | None:
    """The grid whose centroid is nearest to (lat, lon), if within ``max_km``."""
    gid = GridLocator.load().nearest(lat, lon, max_km)
    return db.session.get(Grid, gid) if gid else None


def work_unit_named(name: str | None, approved: bool = False) -> WorkUnit | None:
    """The work unit of that name, created (awaiting review unless ``approved``) when new."""
    name = (name or "").strip()
    if not name:
        return None
    unit = db.session.scalar(db.select(WorkUnit).where(WorkUnit.name == name))
    if unit is None:
        unit = WorkUnit(name=name, approved=approved)
        db.session.add(unit)
    return unit


def store_certificate(storage, skill: str = "") -> tuple[str, str]:
    """Check an uploaded certificate by its content and size and save a clean copy of it;
    return (name, mime). The file goes again if the session rolls back. A refused file is a
    RegistryError on the ``skills`` field that names ``skill``."""
    data = storage.stream.read(MAX_CERT_BYTES + 1)
    try:
        if len(data) > MAX_CERT_BYTES:
            raise RegistryError("certificate_too_large")
        if data.startswith(b"%PDF-"):
            clean, mime, ext = clean_pdf(data), "application/pdf", "pdf"
        else:
            clean, mime, ext = clean_image(data), "image/jpeg", "jpg"
    except RegistryError as exc:
        raise RegistryError(exc.code, "skills", {"skill": skill}) from None
    name = f"{secrets.token_hex(16)}.{ext}"
    path = certificate_path(name)
    path.write_bytes(clean)
    db.session.info.setdefault(_CERTS_WRITTEN, []).append(path)
    return name, mime


def clean_image(data: bytes) -> bytes:
    """A photo of a certificate, decoded and re-encoded as JPEG without EXIF (no GPS
    position), as issue photos are; RegistryError when it is not a JPEG or PNG that decodes."""
    try:
        return check_photo(data).web
    except PhotoError as exc:
        raise RegistryError({"bad_type": "certificate_bad_type",
                             "too_large": "certificate_too_large"}.get(
                                 exc.code, "certificate_unreadable")) from None


def clean_pdf(data: bytes) -> bytes:
    """A PDF that parses and has pages, written again with its pages only: no scripts,
    annotations, attachments, document metadata or bytes after its end."""
    from pypdf import PdfReader, PdfWriter

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted or len(reader.pages) == 0:
            raise RegistryError("certificate_unreadable")
        writer = PdfWriter()
        for page in reader.pages:
            page.pop("/AA", None)  # actions run when a page opens or closes
            writer.add_page(page)
        writer.remove_annotations(subtypes=None)
        out = io.BytesIO()
        writer.write(out)
    except RegistryError:
        raise
    except Exception:  # a broken file can make the parser fail in many ways: it is refused
        raise RegistryError("certificate_unreadable") from None
    return out.getvalue()


def certificate_path(name: str) -> Path:
    return upload_folder("certificates") / name


def forget_certificate(vs: VolunteerSkill) -> None:
    """Drop a skill's certificate file once the session commits (it stays on rollback)."""
    if vs.certificate_file:
        db.session.info.setdefault(_CERTS_REPLACED, []).append(
            certificate_path(vs.certificate_file))


def open_certificate(viewer: User, vs: VolunteerSkill) -> Path | None:
    """The file of a skill's certificate for ``viewer`` (``policy.may_see_certificate``), or
    None. Anyone but the volunteer is written to the contact view log."""
    profile = vs.profile
    if not vs.certificate_file or profile.user.deleted_at is not None \
            or not policy.may_see_certificate(viewer, profile):
        return None
    path = certificate_path(vs.certificate_file)
    if not path.exists():
        return None
    if profile.user_id != viewer.id:
        log_contact_view(viewer, profile.user, "certificate", note=vs.label())
    return path


_CERTS_WRITTEN = "certificate_files_written"
_CERTS_REPLACED = "certificate_files_replaced"


@sa.event.listens_for(Session, "after_commit")
def _certificate_files_after_commit(session) -> None:
    session.info.pop(_CERTS_WRITTEN, None)
    for path in session.info.pop(_CERTS_REPLACED, []):
        path.unlink(missing_ok=True)


@sa.event.listens_for(Session, "after_soft_rollback")
def _certificate_files_after_rollback(session, previous_transaction) -> None:
    if previous_transaction.nested or previous_transaction.parent is not None:
        return
    session.info.pop(_CERTS_REPLACED, None)
    for path in session.info.pop(_CERTS_WRITTEN, []):
        path.unlink(missing_ok=True)


@dataclass
class ProfileData:
    """What the registration and edit forms collect, after validation."""

    home_grid: Grid | None
    lat: float | None
    lon: float | None
    travel_km: float = 5.0
    availability: int = 0
    monthly_limit: int = 4
    bio: str | None = None
    skill_ids: list[int] = field(default_factory=list)
    free_skills: list[str] = field(default_factory=list)
    certificates: dict[int, tuple[str, str, str | None]] = field(default_factory=dict)
    is_party_member: bool = False
    work_unit: str | None = None
    party_branch: str | None = None
    party_registered_on: date | None = None
    national_no: str | None = None
    id_type: str | None = None  # "": remove the document on file
    id_number: str | None = None  # None: keep the one on file
    no_night_calls: bool | None = None  # emergency call-ups; None: keep as it is


def save_profile(user: User, data: ProfileData) -> VolunteerProfile:
    """Create or update ``user``'s volunteer profile from ``data``."""
    if data.lat is None or data.lon is None:
        if data.home_grid is None:
            raise RegistryError("location", "lat")
        lat, lon, source = data.home_grid.lat, data.home_grid.lon, "grid"
    else:
        lat, lon, source = data.lat, data.lon, "pin"
    if not data.skill_ids and not data.free_skills:
        raise RegistryError("skills", "skills")
    profile = user.profile
    if profile is None:
        profile = VolunteerProfile(user=user)
        db.session.add(profile)
    was_party = profile.is_party_member
    profile.home_grid = data.home_grid
    profile.lat, profile.lon, profile.location_source = lat, lon, source
    profile.travel_km = data.travel_km
    profile.availability = data.availability
    profile.monthly_limit = data.monthly_limit
    profile.bio = data.bio or None
    if data.no_night_calls is not None:
        profile.no_night_calls = data.no_night_calls
    profile.national_no = data.national_no or None
    if data.id_type == "":
        profile.id_type = profile.id_number = None
    elif data.id_type and data.id_number:
        profile.id_type, profile.id_number = data.id_type, data.id_number.upper()
    profile.is_party_member = data.is_party_member
    if data.is_party_member:
        profile.work_unit = work_unit_named(data.work_unit)
        profile.party_branch = data.party_branch
        if profile.party_registered_on != data.party_registered_on or not was_party:
            profile.party_status = PartyStatus.pending  # the 村居 confirms (again) what changed
            profile.party_confirmed_by_id = profile.party_confirmed_at = None
        profile.party_registered_on = data.party_registered_on
    else:
        profile.work_unit = None
        profile.party_branch = profile.party_registered_on = profile.party_status = None
    _replace_skills(profile, data.skill_ids, data.free_skills, data.certificates)
    profile.updated_at = utcnow()  # the matcher follows profiles by this stamp
    grant_role(user, Role.volunteer)
    return profile


def _replace_skills(profile, skill_ids, free_skills, certificates) -> None:
    """Keep the skills that stay (with their verification), drop the others, add new ones."""
    keep_ids, keep_free = set(skill_ids), set(free_skills)
    for vs in list(profile.skills):
        if (vs.skill_id and vs.skill_id not in keep_ids) or \
                (vs.skill_id is None and vs.free_text not in keep_free):
            forget_certificate(vs)
            profile.skills.remove(vs)
    have_ids = {vs.skill_id for vs in profile.skills if vs.skill_id}
    have_free = {vs.free_text for vs in profile.skills if vs.skill_id is None}
    for sid in skill_ids:
        if sid not in have_ids:
            profile.skills.append(VolunteerSkill(skill_id=sid))
    for text in free_skills:
        if text not in have_free:
            profile.skills.append(VolunteerSkill(free_text=text))
    for vs in profile.skills:
        if vs.skill_id in certificates:
            name, mime, number = certificates[vs.skill_id]
            if vs.certificate_file != name:
                forget_certificate(vs)  # the replaced file goes
            vs.certificate_file, vs.certificate_mime = name, mime
            vs.certificate_no = number or vs.certificate_no
            vs.status, vs.verified_by_id, vs.verified_at, vs.reject_reason = \
                SkillStatus.unverified, None, None, None


def set_paused(profile: VolunteerProfile, paused: bool) -> None:
    profile.paused = paused


# --- staff ------------------------------------------------------------------------------------

def scope_village_ids(user: User) -> set[int] | None:
    """村居 whose volunteers ``user`` may list (the query-side twin of ``policy.may_see_person``);
    None means the whole town (town admin)."""
    return policy.village_ids(user)


def in_scope(user: User, profile: VolunteerProfile) -> bool:
    """Whether staff ``user`` may open ``profile``'s staff page (``policy.may_see_person``)."""
    return policy.may_see_person(user, profile)


can_verify = policy.may_verify  # the rules are policy's; views import them from here too
can_confirm_party = policy.may_confirm_party


@dataclass
class Filters:
    q: str = ""
    skill: str = ""
    grid: str = ""
    village: str = ""
    party: str = ""  # yes / no / pending
    verified: str = ""  # yes / no
    paused: str = ""  # yes / no


def volunteer_query(user: User, f: Filters):
    """Profiles visible to ``user`` matching ``f``, newest first, with what lists show."""
    q = (db.select(VolunteerProfile).join(VolunteerProfile.user)
         .where(User.deleted_at.is_(None))
         .options(selectinload(VolunteerProfile.user),
                  selectinload(VolunteerProfile.home_grid).selectinload(Grid.village),
                  selectinload(VolunteerProfile.skills).selectinload(VolunteerSkill.skill),
                  selectinload(VolunteerProfile.work_unit))
         .order_by(VolunteerProfile.id.desc()))
    villages = scope_village_ids(user)
    if villages is not None:
        q = q.join(Grid, VolunteerProfile.home_grid_id == Grid.id).where(
            Grid.village_id.in_(villages or {-1}))
    if f.q:
        # A phone is found only by all its 11 digits: parts of one would recover a masked number.
        phone = normalize_phone(f.q)
        q = q.where(User.phone == phone if is_phone(phone) else User.name.like(f"%{f.q}%"))
    if f.skill:
        q = q.where(VolunteerProfile.id.in_(
            db.select(VolunteerSkill.profile_id).join(Skill).where(Skill.code == f.skill)))
    if f.grid:
        q = q.where(VolunteerProfile.home_grid_id.in_(db.select(Grid.id).where(Grid.code == f.grid)))
    if f.village:
        q = q.where(VolunteerProfile.home_grid_id.in_(
            db.select(Grid.id).join(Village).where(Village.code == f.village)))
    if f.party == "yes":
        q = q.where(VolunteerProfile.is_party_member.is_(True))
    elif f.party == "no":
        q = q.where(VolunteerProfile.is_party_member.is_(False))
    elif f.party == "pending":
        q = q.where(VolunteerProfile.party_status == PartyStatus.pending)
    verified = db.select(VolunteerSkill.profile_id).where(
        VolunteerSkill.status == SkillStatus.verified)
    if f.verified == "yes":
        q = q.where(VolunteerProfile.id.in_(verified))
    elif f.verified == "no":
        q = q.where(VolunteerProfile.id.not_in(verified))
    if f.paused == "yes":
        q = q.where(VolunteerProfile.paused.is_(True))
    elif f.paused == "no":
        q = q.where(VolunteerProfile.paused.is_(False))
    return q


def list_phone(viewer: User, profile: VolunteerProfile | None, context: str = "list") -> str | None:
    """A phone as a list shows it to ``viewer``: masked (or not at all); in full only to the
    volunteer themselves. A full phone comes from ``reveal_phone``."""
    shown = policy.phone_shown(viewer, profile, context)
    if shown is policy.Phone.NONE or profile is None:
        return None
    phone = profile.user.phone
    return phone if shown is policy.Phone.FULL else mask_phone(phone) or None


def may_reveal(viewer: User, profile: VolunteerProfile | None) -> bool:
    """Whether ``viewer`` may reveal this volunteer's phone by an explicit, logged action."""
    return policy.phone_shown(viewer, profile, "detail") in (policy.Phone.REVEAL,
                                                             policy.Phone.FULL)


def reveals_today(viewer: User) -> int:
    """Phones ``viewer`` revealed since midnight (Asia/Shanghai)."""
    midnight = datetime.combine(datetime.now(SHANGHAI).date(), time(), SHANGHAI)
    since = midnight.astimezone(UTC).replace(tzinfo=None)
    return db.session.scalar(db.select(sa.func.count(ContactView.id)).where(
        ContactView.viewer_id == viewer.id, ContactView.context == "reveal",
        ContactView.created_at >= since)) or 0


def reveal_phone(viewer: User, profile: VolunteerProfile, reason: str) -> str:
    """The full phone of a volunteer, revealed on purpose: allowed by the policy, written to the
    contact view log with its reason, at most ``policy.REVEALS_PER_DAY`` a day."""
    if not may_reveal(viewer, profile):
        raise RegistryError("not_allowed")
    if policy.phone_shown(viewer, profile, "detail") is policy.Phone.REVEAL:
        if reveals_today(viewer) >= policy.REVEALS_PER_DAY:
            raise RegistryError("too_many_reveals",
                                params={"n": policy.REVEALS_PER_DAY})
        log_contact_view(viewer, profile.user, "reveal", note=reason)
    return profile.user.phone


def helper_phone(viewer: User, volunteer: User) -> str | None:
    """The phone of a helper who took a place in a task ``viewer`` organises: shown at once,
    written to the contact view log the first time. The caller has checked both facts."""
    if policy.phone_shown(viewer, volunteer.profile, "helper",
                          organiser=True) is not policy.Phone.FULL:
        return None
    logged = _helpers_logged(viewer)
    if volunteer.id != viewer.id and volunteer.id not in logged:
        log_contact_view(viewer, volunteer, "helper")
        logged.add(volunteer.id)
    return volunteer.phone


def _helpers_logged(viewer: User) -> set[int]:
    """Helpers whose phone ``viewer`` has seen before (one query per request)."""
    cache = g.setdefault("helper_phones_logged", {})
    if viewer.id not in cache:
        cache[viewer.id] = set(db.session.scalars(db.select(ContactView.subject_id).where(
            ContactView.viewer_id == viewer.id, ContactView.context == "helper")))
    return cache[viewer.id]


def log_contact_view(viewer: User, subject: User | None, context: str, count: int = 1,
                     note: str | None = None) -> None:
    """Write an entry of the contact view log (a reveal, a helper's phone, an export)."""
    db.session.add(ContactView(viewer_id=viewer.id, subject_id=subject.id if subject else None,
                               context=context, count=count, note=(note or "")[:200] or None))


def verify_skill(staff: User, vs: VolunteerSkill) -> None:
    """Mark a skill checked; the volunteer hears of it."""
    vs.status, vs.verified_by_id, vs.verified_at, vs.reject_reason = \
        SkillStatus.verified, staff.id, utcnow(), None
    vs.profile.updated_at = utcnow()
    skill_decided(staff.id, vs)


def reject_skill(staff: User, vs: VolunteerSkill, reason: str) -> None:
    """Reject a skill with a reason; the volunteer hears of it, and why."""
    vs.status, vs.verified_by_id, vs.verified_at, vs.reject_reason = \
        SkillStatus.rejected, staff.id, utcnow(), reason
    vs.profile.updated_at = utcnow()
    skill_decided(staff.id, vs)


def confirm_party(staff: User, profile: VolunteerProfile, confirmed: bool = True) -> None:
    profile.party_status = PartyStatus.confirmed if confirmed else PartyStatus.rejected
    profile.party_confirmed_by_id, profile.party_confirmed_at = staff.id, utcnow()


# --- privacy ------------------------------------------------------------------------------------

@exporter("volunteer_profile")
def _export_profile(user: User):
    p = user.profile
    if p is None:
        return None
    return {
        "home_grid": p.home_grid.code if p.home_grid else None,
        "lat": p.lat, "lon": p.lon, "location_source": p.location_source,
        "travel_km": p.travel_km, "availability": availability.codes(p.availability),
        "monthly_limit": p.monthly_limit, "bio": p.bio, "paused": p.paused,
        "party_member": p.is_party_member,
        "work_unit": p.work_unit.name if p.work_unit else None,
        "party_branch": p.party_branch,
        "party_registered_on": p.party_registered_on.isoformat() if p.party_registered_on else None,
        "party_status": p.party_status,
        "national_no": p.national_no, "id_type": p.id_type, "id_number": p.id_number,
        "created_at": iso_utc(p.created_at),
        "skills": [{"skill": vs.skill.code if vs.skill else None, "free_text": vs.free_text,
                    "certificate_no": vs.certificate_no,
                    "certificate_file": bool(vs.certificate_file), "status": vs.status,
                    "verified_at": iso_utc(vs.verified_at),
                    "reject_reason": vs.reject_reason} for vs in p.skills],
    }


@files
def _certificate_files(user: User):
    """My certificate files (as cleaned at upload), named by skill."""
    out = []
    for vs in user.profile.skills if user.profile else []:
        if vs.certificate_file:
            path = certificate_path(vs.certificate_file)
            label = vs.skill.code if vs.skill else "skill"
            out.append((f"certificates/{vs.id}-{label}{path.suffix}", path))
    return out


@exporter("contact_views")
def _export_views(user: User):
    rows = db.session.scalars(db.select(ContactView).where(ContactView.subject_id == user.id)
                              .order_by(ContactView.id)).all()
    return [{"viewer": v.viewer.name if v.viewer else None, "context": v.context,
             "at": iso_utc(v.created_at)} for v in rows]


@eraser
def _erase_profile(user: User) -> None:
    """My profile and certificate files go; what I typed into the contact view log (an
    export's filters, a search) goes from the entries that stay as the record of my views."""
    db.session.execute(sa.update(ContactView).where(ContactView.viewer_id == user.id)
                       .values(note=None).execution_options(synchronize_session=False))
    p = user.profile
    if p is None:
        return
    for vs in p.skills:
        forget_certificate(vs)
    db.session.delete(p)
