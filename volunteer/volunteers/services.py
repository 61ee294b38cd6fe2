"""Volunteer registry operations shared by views, the importer and CLI. Services never commit."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from volunteer.auth.models import GRID_ROLES, Role, User
from volunteer.auth.services import grant_role
from volunteer.common import iso_utc, mask_phone, utcnow
from volunteer.config import upload_folder
from volunteer.extensions import db
from volunteer.geo import haversine_km
from volunteer.org.models import Grid, Village
from volunteer.privacy import eraser, exporter
from volunteer.skills.lookup import SkillIndex
from volunteer.skills.models import Skill
from volunteer.volunteers import availability
from volunteer.volunteers.models import ContactView, VolunteerProfile, VolunteerSkill, WorkUnit

GRID_SNAP_KM = 3.0
MAX_CERT_BYTES = 5 * 1024 * 1024
# Accepted certificate types, recognised by their first bytes (never by name or header).
CERT_TYPES = [(b"\xff\xd8\xff", "image/jpeg", "jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
              (b"%PDF-", "application/pdf", "pdf")]


class RegistryError(ValueError):
    """A business rule refused the operation; ``field`` names the form field when there is one."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.field = field


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


def store_certificate(storage) -> tuple[str, str]:
    """Check an uploaded certificate by its content and size; save it; return (name, mime)."""
    head = storage.stream.read(MAX_CERT_BYTES + 1)
    if len(head) > MAX_CERT_BYTES:
        raise RegistryError("too_large")
    kind = next(((mime, ext) for magic, mime, ext in CERT_TYPES if head.startswith(magic)), None)
    if kind is None:
        raise RegistryError("bad_type")
    mime, ext = kind
    folder = upload_folder("certificates")
    name = f"{secrets.token_hex(16)}.{ext}"
    (folder / name).write_bytes(head)
    return name, mime


def certificate_path(name: str) -> Path:
    return upload_folder("certificates") / name


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
    profile.is_party_member = data.is_party_member
    if data.is_party_member:
        profile.work_unit = work_unit_named(data.work_unit)
        profile.party_branch = data.party_branch
        if profile.party_registered_on != data.party_registered_on or not was_party:
            profile.party_status = "pending"  # the 村居 confirms (again) what changed
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
            vs.certificate_file, vs.certificate_mime = name, mime
            vs.certificate_no = number or vs.certificate_no
            vs.status, vs.verified_by_id, vs.verified_at, vs.reject_reason = \
                "unverified", None, None, None


def set_paused(profile: VolunteerProfile, paused: bool) -> None:
    profile.paused = paused


# --- staff ------------------------------------------------------------------------------------

def scope_village_ids(user: User) -> set[int] | None:
    """村居 whose volunteers ``user`` may list; None means the whole town (town admin)."""
    if user.is_admin:
        return None
    ids = set(user.village_ids())
    grid_ids = user.grid_ids(*GRID_ROLES)
    if grid_ids:
        ids |= set(db.session.scalars(db.select(Grid.village_id).where(Grid.id.in_(grid_ids))))
    return ids


def in_scope(user: User, profile: VolunteerProfile) -> bool:
    """Whether staff ``user`` may see ``profile`` (and its contact details)."""
    villages = scope_village_ids(user)
    if villages is None:
        return True
    return profile.home_grid is not None and profile.home_grid.village_id in villages


def can_verify(user: User, profile: VolunteerProfile) -> bool:
    """Leaders, instructors and village admins verify skills of volunteers in their scope."""
    if user.is_admin:
        return True
    if not user.has_role(Role.grid_leader, Role.grid_instructor, Role.village_admin):
        return False
    if profile.home_grid is None:
        return False
    return (profile.home_grid_id in user.grid_ids(Role.grid_leader, Role.grid_instructor)
            or profile.home_grid.village_id in user.village_ids()
            or (user.has_role(Role.grid_leader, Role.grid_instructor) and in_scope(user, profile)))


def can_confirm_party(user: User, profile: VolunteerProfile) -> bool:
    """The 村居's admin (or the town admin) confirms a party member's 报到."""
    if user.is_admin:
        return True
    return profile.home_grid is not None and profile.home_grid.village_id in user.village_ids()


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
        like = f"%{f.q}%"
        q = q.where(sa.or_(User.name.like(like), User.phone.like(like)))
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
        q = q.where(VolunteerProfile.party_status == "pending")
    verified = db.select(VolunteerSkill.profile_id).where(VolunteerSkill.status == "verified")
    if f.verified == "yes":
        q = q.where(VolunteerProfile.id.in_(verified))
    elif f.verified == "no":
        q = q.where(VolunteerProfile.id.not_in(verified))
    if f.paused == "yes":
        q = q.where(VolunteerProfile.paused.is_(True))
    elif f.paused == "no":
        q = q.where(VolunteerProfile.paused.is_(False))
    return q


def phone_visible_unlogged(viewer: User, profile: VolunteerProfile) -> bool:
    """Seeing this phone needs no audit entry: the viewer works in the volunteer's own grid."""
    return profile.home_grid_id is not None and profile.home_grid_id in viewer.grid_ids()


def shown_phone(viewer: User, profile: VolunteerProfile) -> str:
    """Full phone in the viewer's own grids, masked elsewhere (the detail page reveals it)."""
    phone = profile.user.phone or ""
    return phone if phone_visible_unlogged(viewer, profile) else mask_phone(phone)


def log_contact_view(viewer: User, subject: User | None, context: str, count: int = 1,
                     note: str | None = None) -> None:
    """Write the audit entry for seeing phone numbers outside the volunteers' own grid."""
    db.session.add(ContactView(viewer_id=viewer.id, subject_id=subject.id if subject else None,
                               context=context, count=count, note=(note or "")[:200] or None))


def verify_skill(staff: User, vs: VolunteerSkill) -> None:
    vs.status, vs.verified_by_id, vs.verified_at, vs.reject_reason = \
        "verified", staff.id, utcnow(), None
    vs.profile.updated_at = utcnow()


def reject_skill(staff: User, vs: VolunteerSkill, reason: str) -> None:
    vs.status, vs.verified_by_id, vs.verified_at, vs.reject_reason = \
        "rejected", staff.id, utcnow(), reason
    vs.profile.updated_at = utcnow()


def confirm_party(staff: User, profile: VolunteerProfile, confirmed: bool = True) -> None:
    profile.party_status = "confirmed" if confirmed else "rejected"
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
        "created_at": iso_utc(p.created_at),
        "skills": [{"skill": vs.skill.code if vs.skill else None, "free_text": vs.free_text,
                    "certificate_no": vs.certificate_no,
                    "certificate_file": bool(vs.certificate_file), "status": vs.status,
                    "verified_at": iso_utc(vs.verified_at),
                    "reject_reason": vs.reject_reason} for vs in p.skills],
    }


@exporter("contact_views")
def _export_views(user: User):
    rows = db.session.scalars(db.select(ContactView).where(ContactView.subject_id == user.id)
                              .order_by(ContactView.id)).all()
    return [{"viewer": v.viewer.name if v.viewer else None, "context": v.context,
             "at": iso_utc(v.created_at)} for v in rows]


@eraser
def _erase_profile(user: User) -> None:
    p = user.profile
    if p is None:
        return
    for vs in p.skills:
        if vs.certificate_file:
            certificate_path(vs.certificate_file).unlink(missing_ok=True)
    db.session.delete(p)
