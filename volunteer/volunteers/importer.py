"""Import volunteers from CSV (UTF-8 with or without BOM, GB18030/GBK, UTF-16) or XLSX.

The contract is DESIGN §6: header row in Chinese or English; all-or-nothing (any bad row → nothing
written, every bad row reported with its line number and reason); re-importing a phone updates
that person and replaces their skill list (skills that stay keep their verification).

Only people the importer may manage are updated (``policy.may_manage_person``): a 村居's admin
updates people of their 村居 who hold no role outside it or above theirs; any other phone already
registered is a bad row. From the command line, ``--scope`` imports as that 村居's admin; without
it the command acts for the town office, which updates anyone but the town admin (whose account
changes through ``create-user`` and the admin screens, never through a file).

Parsing and validation (``read_rows``, ``validate``) need no database writes; ``apply`` writes in
bulk so that 100,000 rows import in well under a minute on SQLite.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from volunteer import policy, rules
from volunteer.auth.models import Role, RoleAssignment, User
from volunteer.common import has_markup, is_phone, normalize_phone, utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.org.models import Grid, Town, Village
from volunteer.skills.lookup import SkillIndex
from volunteer.volunteers import availability
from volunteer.volunteers.models import (
    PartyStatus,
    SkillStatus,
    VolunteerProfile,
    VolunteerSkill,
    WorkUnit,
)
from volunteer.volunteers.services import GridLocator, skill_index

COLUMNS = {
    "name": ("name", "姓名"),
    "phone": ("phone", "手机", "手机号", "手机号码", "mobile"),
    "skills": ("skills", "技能", "专长"),
    "lat": ("lat", "纬度", "latitude"),
    "lon": ("lon", "经度", "longitude", "lng"),
    "grid": ("grid", "网格"),
    "party_member": ("party_member", "党员", "是否党员"),
    "work_unit": ("work_unit", "工作单位"),
    "availability": ("availability", "服务时间"),
    "travel_km": ("travel_km", "服务半径", "服务半径(km)", "服务半径（公里）"),
}
REQUIRED = ("name", "phone", "skills")
YES = {"是", "yes", "y", "true", "1", "党员", "中共党员"}
NO = {"否", "no", "n", "false", "0", "", "非党员", "群众"}
MAX_CELL = 500
MAX_ROWS = 200_000
BATCH = 2000


class ImportFileError(DomainError):
    """The file as a whole cannot be read (encoding, format, header); ``str(exc)`` is the
    message, as the command line prints it."""

    messages = {
        "encoding": _l("The file is not a text CSV in a known encoding (UTF-8 or GB18030). "
                       "Save it as CSV or XLSX."),
        "empty": _l("The file is empty."),
        "file_type": _l("Upload a .csv or .xlsx file."),
        "too_many_rows": _l("At most %(n)s rows per file."),
        "bad_csv": _l("The CSV cannot be read: %(reason)s"),
        "bad_xlsx": _l("The file is not a readable XLSX workbook."),
        "missing_columns": _l("Missing column(s): %(names)s. The header row needs name/姓名, "
                              "phone/手机, skills/技能, lat/纬度, lon/经度."),
        "no_longer_valid": _l("The file no longer passes the checks; nothing was imported."),
    }
    statuses = dict.fromkeys(messages, 422)

    def __init__(self, code: str, **params):
        super().__init__(code, "file", params)

    def __str__(self) -> str:
        return self.message


@dataclass
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class Row:
    line: int
    name: str
    phone: str
    skill_ids: list[int]
    free_skills: list[str]
    lat: float
    lon: float
    location_source: str
    grid_id: int | None
    party_member: bool
    work_unit: str | None
    availability: int
    travel_km: float


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


# --- reading ----------------------------------------------------------------------------------

def decode(data: bytes) -> str:
    """Bytes of a CSV as text: UTF-8 (BOM or not), UTF-16 with BOM, or GB18030 (GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise ImportFileError("encoding")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportFileError("encoding") from None


def read_table(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the (line number, cells) of every non-empty row."""
    if not data:
        raise ImportFileError("empty")
    if filename.lower().endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if not filename.lower().endswith((".csv", ".txt")):
        raise ImportFileError("file_type")
    text = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max([",", "\t", ";"], key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if header is None:
                header = cells
                continue
            if any(c.strip() for c in cells):
                rows.append((reader.line_num, cells))
            if len(rows) > MAX_ROWS:
                raise ImportFileError("too_many_rows", n=MAX_ROWS)
    except csv.Error as exc:
        raise ImportFileError("bad_csv", reason=str(exc)) from None
    if header is None:
        raise ImportFileError("empty")
    return header, rows


def _read_xlsx(data: bytes):
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise ImportFileError("bad_xlsx") from None
    ws = wb.worksheets[0]
    header = None
    rows = []
    for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = ["" if v is None else _cell_text(v) for v in values]
        if header is None:
            if any(cells):
                header = cells
            continue
        if any(c.strip() for c in cells):
            rows.append((n, cells))
        if len(rows) > MAX_ROWS:
            raise ImportFileError("too_many_rows", n=MAX_ROWS)
    wb.close()
    if header is None:
        raise ImportFileError("empty")
    return header, rows


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) > 1e9:
        return str(int(value))  # a phone number Excel stored as a number
    return str(value)


def map_header(header: list[str]) -> dict[str, int]:
    """Column index of each known field; raises ImportFileError for missing required columns."""
    index: dict[str, int] = {}
    for i, raw in enumerate(header):
        key = unicodedata.normalize("NFKC", (raw or "")).strip().lower()
        for field_name, names in COLUMNS.items():
            if key in names and field_name not in index:
                index[field_name] = i
    missing = [f for f in REQUIRED if f not in index]
    if "grid" not in index and not ("lat" in index and "lon" in index):
        missing += [f for f in ("lat", "lon") if f not in index]
    if missing:
        names = "、".join(f"{COLUMNS[f][1]}/{COLUMNS[f][0]}" for f in missing)
        raise ImportFileError("missing_columns", names=names)
    return index


# --- who imports --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CommandLine:
    """The command line as the acting person (for ``policy.may_manage_person``): the office of
    everything (the district's), or the office of one town, or the admin of one 村居, when the
    import is scoped to it."""

    village_id: int | None = None
    town: Town | None = None
    id = None
    is_authenticated = True

    @property
    def is_admin(self) -> bool:
        return self.village_id is None

    @property
    def roles(self) -> list:
        if self.town is not None:
            return [SimpleNamespace(role=Role.admin.value, grid_id=None, grid=None,
                                    village_id=None, village=None, town_id=self.town.id,
                                    town=self.town)]
        if self.village_id is None:
            return [SimpleNamespace(role=Role.district_admin.value, grid_id=None, village_id=None,
                                    town_id=None, town=None)]
        return [SimpleNamespace(role=Role.village_admin.value, grid_id=None, grid=None,
                                village_id=self.village_id, town_id=None, town=None)]

    def role_codes(self) -> set[str]:
        return {a.role for a in self.roles}

    def village_ids(self) -> set[int]:
        return {self.village_id} if self.village_id is not None else set()

    def grid_ids(self, *roles) -> set[int]:
        return set()


# --- validation -------------------------------------------------------------------------------

@dataclass
class Context:
    """Reference data the validation needs, loaded once per import."""

    skills: SkillIndex
    grids_by_key: dict[str, tuple[int, float, float]]
    locator: GridLocator
    allowed_villages: set[int] | None  # None: anywhere (town admin / CLI)
    grid_village: dict[int, int]
    actor: object = field(default_factory=CommandLine)  # a User, or the command line

    @classmethod
    def load(cls, allowed_villages: set[int] | None = None, actor=None) -> Context:
        rows = db.session.execute(db.select(Grid.id, Grid.code, Grid.name, Grid.lat, Grid.lon,
                                            Grid.village_id, Village.name).join(Village)).all()
        keys: dict[str, tuple[int, float, float]] = {}
        for gid, code, name, lat, lon, _vid, vname in rows:
            for key in (code, f"{vname}{name}", f"{vname} {name}", f"{vname}·{name}",
                        f"{vname} · {name}", f"{vname}/{name}"):
                keys[key.lower()] = (gid, lat, lon)
        return cls(skill_index(), keys, GridLocator([(r[0], r[3], r[4]) for r in rows]),
                   allowed_villages, {r[0]: r[5] for r in rows}, actor or CommandLine())


def validate(header: list[str], table: list[tuple[int, list[str]]], ctx: Context) -> Report:
    """Check every row; the report holds either clean rows or every error found."""
    index = map_header(header)
    report = Report()
    if not table:
        report.errors.append(RowError(1, "file", str(_l("The file has a header but no rows."))))
        return report
    seen: dict[str, int] = {}
    for line, cells in table:
        errors: list[RowError] = []
        bad = partial(_add_error, errors, line)
        values = {k: _cell(cells, index.get(k)) for k in COLUMNS}
        for k, v in values.items():
            if len(v) > MAX_CELL:
                bad(k, _l("is too long (at most %(n)s characters)", n=MAX_CELL))
                values[k] = ""
            elif has_markup(v):
                bad(k, _l("contains HTML tags"))
                values[k] = ""
        name = values["name"]
        if not name:
            bad("name", _l("is empty"))
        elif (message := rules.name(name)) is not None:
            bad("name", message)
        phone = normalize_phone(values["phone"])
        if not is_phone(phone):
            bad("phone", _l("must be an 11-digit mobile number starting with 13–19"))
        elif phone in seen:
            bad("phone", _l("the same phone is already on line %(line)s", line=seen[phone]))
        else:
            seen[phone] = line
        skill_ids, free = ctx.skills.parse(values["skills"])
        if not skill_ids and not free:
            bad("skills", _l("is empty"))
        elif len(skill_ids) + len(free) > 20 or any(len(f) > 50 for f in free):
            bad("skills", _l("at most 20 skills of at most 50 characters each"))
        elif (message := next(filter(None, map(rules.text, free)), None)) is not None:
            bad("skills", message)
        if values["work_unit"] and (message := rules.text(values["work_unit"], max_len=100)):
            bad("work_unit", message)
        grid_id = None
        glat = glon = None
        if values["grid"]:
            hit = ctx.grids_by_key.get(values["grid"].lower())
            if hit is None:
                bad("grid", _l("no grid with code or name “%(grid)s”", grid=values["grid"]))
            else:
                grid_id, glat, glon = hit
        lat = lon = None
        if values["lat"] or values["lon"]:
            try:
                lat, lon = float(values["lat"]), float(values["lon"])
            except ValueError:
                bad("lat", _l("latitude and longitude must both be numbers"))
            else:
                if not (-90 <= lat <= 90) or not (-180 <= lon <= 180) or lat != lat or lon != lon:
                    bad("lat", _l("latitude must be within ±90 and longitude within ±180"))
                    lat = lon = None
        source = "pin"
        if lat is None or lon is None:
            if grid_id is not None:
                lat, lon, source = glat, glon, "grid"
            elif not values["grid"]:
                bad("lat", _l("give lat/lon, or a grid whose centroid is used"))
        elif grid_id is None and not values["grid"]:
            grid_id = ctx.locator.nearest(lat, lon)
        if ctx.allowed_villages is not None and not errors:
            if grid_id is None or ctx.grid_village.get(grid_id) not in ctx.allowed_villages:
                bad("grid", _l("is outside your village"))
        party = values["party_member"].lower()
        if party not in YES | NO:
            bad("party_member", _l("must be 是/否 (yes/no)"))
        try:
            avail = availability.parse(values["availability"])
        except availability.AvailabilityError as exc:
            bad("availability", exc.message)
            avail = 0
        travel = 5.0
        if values["travel_km"]:
            try:
                travel = float(values["travel_km"].lower().removesuffix("km").strip())
                if not 0.1 <= travel <= 100:
                    raise ValueError
            except ValueError:
                bad("travel_km", _l("must be a number of km between 0.1 and 100"))
        if errors:
            report.errors.extend(errors)
            continue
        report.rows.append(Row(line, name, phone, skill_ids, free, lat, lon, source, grid_id,
                               party in YES, values["work_unit"] or None, avail, travel))
    report.errors.extend(_registered_elsewhere(report.rows, ctx.actor))
    if report.errors:
        report.errors.sort(key=lambda e: e.line)
        report.rows = []
    return report


def _registered_elsewhere(rows: list[Row], actor) -> list[RowError]:
    """Rows whose phone belongs to an account the importer may not update."""
    errors = []
    for chunk in _chunks(rows, 900):
        by_phone = {r.phone: r for r in chunk}
        for user in db.session.scalars(
                db.select(User).where(User.phone.in_(list(by_phone)))
                .options(selectinload(User.roles).selectinload(RoleAssignment.grid),
                         selectinload(User.profile).selectinload(VolunteerProfile.home_grid))):
            if not policy.may_manage_person(actor, user):
                errors.append(RowError(by_phone[user.phone].line, "phone",
                                       str(_l("registered elsewhere; ask the town office"))))
    return errors


def _cell(cells: list[str], i: int | None) -> str:
    return (cells[i] if i is not None and i < len(cells) else "").strip()


def _add_error(errors: list[RowError], line: int, field_name: str, message) -> None:
    errors.append(RowError(line, field_name, str(message)))


# --- writing ----------------------------------------------------------------------------------

def _chunks(seq, n=BATCH):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def apply(report: Report, attested_by: User | None, method: str) -> Report:
    """Write the rows of a clean report in bulk. The caller commits (or rolls back)."""
    assert report.ok
    now = utcnow()
    terms = current_app.config["TERMS_VERSION"]
    rows = report.rows
    phones = [r.phone for r in rows]
    existing: dict[str, int] = {}
    for chunk in _chunks(phones):
        existing.update(db.session.execute(
            db.select(User.phone, User.id).where(User.phone.in_(chunk))).tuples().all())

    units = _work_units({r.work_unit for r in rows if r.party_member and r.work_unit})

    new = [r for r in rows if r.phone not in existing]
    attester = attested_by.id if attested_by else None
    existing.update(_insert_then_ids(User, [
        {"name": r.name, "phone": r.phone, "active": True, "large_text": False,
         "created_at": now, "consent_version": terms, "consent_at": now, "consent_method": method,
         "consent_attested_by_id": attester} for r in new], "phone"))
    new_phones = {r.phone for r in new}
    old = [r for r in rows if r.phone not in new_phones]
    if old:
        db.session.execute(sa.update(User), [{"id": existing[r.phone], "name": r.name}
                                             for r in old])
        # Imported people who had never consented count as consenting on this attestation.
        db.session.execute(sa.update(User).where(
            User.id.in_([existing[r.phone] for r in old]), User.consent_at.is_(None))
            .values(consent_version=terms, consent_at=now, consent_method=method,
                    consent_attested_by_id=attested_by.id if attested_by else None))

    user_ids = [existing[r.phone] for r in rows]
    has_role: set[int] = set()
    for chunk in _chunks(user_ids):
        has_role.update(db.session.scalars(db.select(RoleAssignment.user_id).where(
            RoleAssignment.user_id.in_(chunk), RoleAssignment.role == Role.volunteer.value)))
    roles = [{"user_id": uid, "role": Role.volunteer.value, "created_at": now}
             for uid in dict.fromkeys(user_ids) if uid not in has_role]
    for chunk in _chunks(roles):
        db.session.execute(RoleAssignment.__table__.insert(), chunk)

    profiles: dict[int, int] = {}
    for chunk in _chunks(user_ids):
        profiles.update(db.session.execute(db.select(VolunteerProfile.user_id, VolunteerProfile.id)
                                           .where(VolunteerProfile.user_id.in_(chunk))).tuples().all())

    def profile_values(r: Row) -> dict:
        return {"home_grid_id": r.grid_id, "lat": r.lat, "lon": r.lon,
                "location_source": r.location_source, "travel_km": r.travel_km,
                "availability": r.availability, "is_party_member": r.party_member,
                "work_unit_id": units.get(r.work_unit) if r.party_member else None,
                "updated_at": now}

    updates = [{"id": profiles[existing[r.phone]], **profile_values(r)}
               for r in rows if existing[r.phone] in profiles]
    for chunk in _chunks(updates):
        db.session.execute(sa.update(VolunteerProfile), chunk)
    fresh = [r for r in rows if existing[r.phone] not in profiles]
    profiles.update(_insert_then_ids(VolunteerProfile, [
        {"user_id": existing[r.phone], "monthly_limit": 4, "paused": False, "created_at": now,
         "party_status": PartyStatus.confirmed if r.party_member else None, **profile_values(r)}
        for r in fresh], "user_id"))

    fresh_phones = {r.phone for r in fresh}
    _replace_skills_bulk(rows, {r.phone: profiles[existing[r.phone]] for r in rows},
                         {profiles[existing[r.phone]] for r in rows if r.phone not in fresh_phones})
    report.created, report.updated = len(new), len(rows) - len(new)
    return report


def _insert_then_ids(model, values: list[dict], key: str) -> dict:
    """Bulk INSERT (plain executemany, the fastest path on SQLite and PostgreSQL), then read the
    new ids back by a unique column (phone for users, user_id for profiles)."""
    column = getattr(model, key)
    for chunk in _chunks(values):
        db.session.execute(model.__table__.insert(), chunk)
    ids: dict = {}
    for chunk in _chunks([v[key] for v in values], 900):
        ids.update(db.session.execute(db.select(column, model.id).where(column.in_(chunk)))
                   .tuples().all())
    return ids


def _work_units(names: set[str]) -> dict[str, int]:
    """Ids of the named work units; new ones are added as approved (the admin attests them)."""
    if not names:
        return {}
    have = dict(db.session.execute(db.select(WorkUnit.name, WorkUnit.id)
                                   .where(WorkUnit.name.in_(names))).tuples().all())
    for name in sorted(names - set(have)):
        unit = WorkUnit(name=name[:100], approved=True)
        db.session.add(unit)
        db.session.flush()
        have[name] = unit.id
    return have


def _replace_skills_bulk(rows: list[Row], profile_of: dict[str, int], updated: set[int]) -> None:
    """Each profile's skills become the row's list; skills that stay keep their verification."""
    current: dict[int, dict[tuple, int]] = {}
    for chunk in _chunks(sorted(updated)):
        for vid, pid, sid, text in db.session.execute(
                db.select(VolunteerSkill.id, VolunteerSkill.profile_id, VolunteerSkill.skill_id,
                          VolunteerSkill.free_text).where(VolunteerSkill.profile_id.in_(chunk))):
            current.setdefault(pid, {})[(sid, None if sid else text)] = vid
    inserts, deletes = [], []
    for r in rows:
        pid = profile_of[r.phone]
        wanted = {(sid, None) for sid in r.skill_ids} | {(None, t) for t in r.free_skills}
        have = current.get(pid, {})
        deletes.extend(vid for key, vid in have.items() if key not in wanted)
        inserts.extend({"profile_id": pid, "skill_id": sid, "free_text": text,
                        "status": SkillStatus.unverified}
                       for sid, text in wanted if (sid, text) not in have)
    for chunk in _chunks(deletes):
        db.session.execute(sa.delete(VolunteerSkill).where(VolunteerSkill.id.in_(chunk)))
    for chunk in _chunks(inserts):
        db.session.execute(VolunteerSkill.__table__.insert(), chunk)


def import_file(data: bytes, filename: str, *, attested_by: User | None, method: str,
                dry_run: bool = False, allowed_villages: set[int] | None = None,
                actor=None) -> Report:
    """Read, validate and (unless ``dry_run`` or any error) write. The caller commits.
    ``actor`` is who imports (a User, or ``CommandLine``; by default the town office)."""
    header, table = read_table(data, filename)
    report = validate(header, table, Context.load(allowed_villages, actor))
    if report.ok and not dry_run:
        apply(report, attested_by, method)
    return report


