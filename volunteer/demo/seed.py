"""Build the demo town deterministically (fixed random seed), in a few seconds.

Counts follow DESIGN §1: 33 村居, 200 grids, 174 grid leaders, 130 instructors, 1,280 grid
members, 2,506 in-service party members, 84 grid points (77 两点合一), 24 departments, 18
service items, plus other residents and one memorable login per role (``DEMO_PHONES``).
"""
from __future__ import annotations

import json
import math
import random
from datetime import timedelta

from werkzeug.security import generate_password_hash

from volunteer.auth.models import Role, RoleAssignment, User
from volunteer.common import utcnow
from volunteer.demo.callups import seed_callups
from volunteer.demo.history import seed_history
from volunteer.demo.invitations import seed_invitations
from volunteer.demo.issues import seed_issues
from volunteer.demo.plans import seed_plans
from volunteer.demo.sessions import seed_sessions
from volunteer.extensions import db
from volunteer.issues.models import IssueCategory
from volunteer.matching import store, tuning
from volunteer.org.models import Department, Grid, GridPoint, ServiceItem, Town, Village
from volunteer.setup import DATA_DIR
from volunteer.skills.models import Skill
from volunteer.volunteers.models import (
    PartyStatus,
    SkillStatus,
    VolunteerProfile,
    VolunteerSkill,
    WorkUnit,
)

DEMO_PASSWORD = "demo1234"
N_GRIDS, N_LEADERS, N_INSTRUCTORS, N_MEMBERS = 200, 174, 130, 1280
N_PARTY, N_RESIDENTS, N_POINTS, N_PARTY_POINTS, N_DEPUTY_POINTS = 2506, 600, 84, 77, 12


class DemoError(RuntimeError):
    """The database is not in a state the demo can be added to."""


def _data() -> dict:
    return json.loads((DATA_DIR / "demo_town.json").read_text(encoding="utf-8"))


def seed_demo() -> dict[str, int]:
    """Add the demo town to a database that has reference data but no organisation yet."""
    if db.session.scalar(db.select(db.func.count(Village.id))):
        raise DemoError("the database already has 村居; the demo needs an empty town")
    town = db.session.scalar(db.select(Town))
    if town is None:
        raise DemoError("run `flask --app wsgi setup` first")
    # A bulk change: the history, the plan and the call-up read a matcher built from the town
    # as seeded, never one this process kept from before.
    store.forget()
    rnd = random.Random(2018)
    data = _data()
    lat0, lon0 = data["center"]

    # 村居 on a rough ring around the town centre; grids scattered around their 村居.
    villages = []
    for i, (name, kind) in enumerate(data["villages"]):
        angle = 2 * math.pi * i / len(data["villages"]) + rnd.uniform(-0.08, 0.08)
        dist = 0.008 + 0.03 * ((i * 7) % 11) / 10  # degrees, ~0.9–4.2 km
        v = Village(town=town, code=f"SY{i + 1:02d}", name=name, kind=kind,
                    lat=round(lat0 + dist * math.sin(angle), 6),
                    lon=round(lon0 + dist * math.cos(angle) * 1.15, 6),
                    address=f"山阳镇{name}村委会" if kind == "village" else f"山阳镇{name}居委会")
        villages.append(v)
    db.session.add_all(villages)
    # 200 grids: every 村居 gets 6, the first 2 get one more (33 × 6 + 2).
    per_village = [6 + (1 if i < N_GRIDS - 6 * len(villages) else 0) for i in range(len(villages))]
    grids = []
    for v, n in zip(villages, per_village, strict=True):
        for j in range(n):
            grids.append(Grid(village=v, code=f"{v.code}-{j + 1:02d}", name=f"第{j + 1}网格",
                              lat=round(v.lat + rnd.uniform(-0.006, 0.006), 6),
                              lon=round(v.lon + rnd.uniform(-0.007, 0.007), 6),
                              households=rnd.randint(240, 360)))
    db.session.add_all(grids)

    # 84 grid points in the first grids of each 村居 (新江村's first grid has one), 77 两点合一.
    point_grids = sorted(grids, key=lambda g: (g.code[-2:], g.code))[:N_POINTS]
    points = []
    for k, g in enumerate(point_grids):
        points.append(GridPoint(
            grid=g, name=f"{g.village.name}{g.name}网格点",
            address=f"山阳镇{g.village.name}{rnd.randint(1, 300)}号",
            lat=round(g.lat + rnd.uniform(-0.001, 0.001), 6),
            lon=round(g.lon + rnd.uniform(-0.001, 0.001), 6),
            opening_hours="周一至周五 9:00–17:00" if k % 3 else "周一至周六 8:30–16:30",
            party_service_point=k < N_PARTY_POINTS,
            deputy_reception_point=k % 7 == 0 and k // 7 < N_DEPUTY_POINTS))
    db.session.add_all(points)

    departments = [Department(code=f"D{i + 1:02d}", name=zh, name_en=en, town=town)
                   for i, (zh, en) in enumerate(data["departments"])]
    db.session.add_all(departments)
    dept_by_name = {d.name: d for d in departments}
    skills = {s.code: s for s in db.session.scalars(db.select(Skill))}

    issue_cats = {c.code: c for c in db.session.scalars(db.select(IssueCategory))}
    cats_en, descs_en = data["service_categories_en"], data["service_descriptions_en"]
    for i, (zh, en, cat, dept, skill, desc, files_as) in enumerate(data["service_items"]):
        db.session.add(ServiceItem(code=f"S{i + 1:02d}", town=town, name=zh, name_en=en,
                                   category=cat,
                                   category_en=cats_en.get(cat), description=desc,
                                   description_en=descs_en.get(zh),
                                   department=dept_by_name.get(dept),
                                   skill=skills.get(skill) if skill else None,
                                   issue_category=issue_cats.get(files_as)))
    db.session.flush()

    people = _People(rnd, data)
    pw = generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:100000")

    def person(*, phone=None) -> User:
        return User(name=people.name(), phone=phone or people.phone(), password_hash=pw,
                    consent_version="2026-11", consent_at=utcnow(), consent_method="online")

    users: list[User] = []
    roles: list[tuple[User, RoleAssignment]] = []

    def add(user: User, role: Role, **scope) -> None:
        if user not in users_set:
            users.append(user)
            users_set.add(user)
        roles.append((user, RoleAssignment(role=role.value, **scope)))

    users_set: set[User] = set()
    admin = person(phone="13800000001")
    add(admin, Role.admin, town_id=town.id)
    for d in departments:
        staff = person(phone="13800000006" if d.code == "D10" else None)
        add(staff, Role.department_staff, department_id=d.id)
    for v in villages:
        va = person(phone="13800000002" if v.code == "SY01" else None)
        add(va, Role.village_admin, village_id=v.id)
    # Leaders: 174 people for 200 grids; the last 26 lead a neighbouring grid too.
    leaders = [person(phone="13800000003" if i == 0 else None) for i in range(N_LEADERS)]
    for i, g in enumerate(grids):
        leader = leaders[i] if i < N_LEADERS else leaders[N_LEADERS - (i - N_LEADERS) - 1]
        add(leader, Role.grid_leader, grid_id=g.id)
    instructors = [person(phone="13800000004" if i == 0 else None) for i in range(N_INSTRUCTORS)]
    for i, g in enumerate(grids):
        add(instructors[i % N_INSTRUCTORS], Role.grid_instructor, grid_id=g.id)
    members: list[tuple[User, Grid]] = []
    for i in range(N_MEMBERS):
        g = grids[i % N_GRIDS]
        member = person(phone="13800000005" if i == 0 else None)
        add(member, Role.grid_member, grid_id=g.id)
        members.append((member, g))
    party: list[User] = []
    for i in range(N_PARTY):
        vol = person(phone="13800000007" if i == 0 else None)
        add(vol, Role.volunteer)
        party.append(vol)
    skilled: list[User] = []
    for i in range(N_RESIDENTS):
        res = person(phone="13800000008" if i == 0 else None)
        add(res, Role.resident)
        if i % 2:  # every other resident also volunteers a skill
            add(res, Role.volunteer)
            skilled.append(res)

    db.session.add_all(users)
    db.session.flush()
    for user, assignment in roles:
        assignment.user_id = user.id
    db.session.add_all([a for _u, a in roles])
    db.session.flush()
    n_profiles = _add_profiles(rnd, data, grids, members, party, skilled, skills, admin)

    n_issues = seed_issues(rnd)

    helping = seed_invitations(rnd)
    helping.update(seed_sessions(rnd))
    helping.update(seed_history(rnd))
    helping.update(seed_plans())
    helping.update(seed_callups())
    db.session.flush()
    try:  # learned weights waiting for the town admin, compared on the history
        helping["learned_weight_set"] = tuning.learn().id
    except tuning.TuningError:
        pass
    return {"villages": len(villages), "grids": len(grids), "grid_points": len(points),
            "departments": len(departments), "service_items": len(data["service_items"]),
            "users": len(users), "role_assignments": len(roles),
            "volunteer_profiles": n_profiles, "issues": n_issues, **helping}


# How often each skill turns up among the town's volunteers (relative weights).
SKILL_WEIGHTS = {
    "policy_publicity": 14, "security_patrol": 12, "civility_persuasion": 6, "performance": 5,
    "teacher": 8, "doctor": 4, "nurse": 5, "electrician": 5, "plumber": 4, "carpenter": 2,
    "appliance_repair": 3, "computer_repair": 3, "social_worker": 3, "elderly_caregiver": 4, "elderly_companion": 3,
    "accountant": 3, "fire_safety": 3, "cleaning": 4, "gardening": 3, "driver": 5, "barber": 2,
    "translator": 1, "cook": 3, "lawyer": 2, "mediator": 3, "psychological_counselor": 1,
    "civil_servant": 6, "business_management": 4, "first_aid": 2, "smartphone_tutoring": 2,
    "waste_sorting": 3,
}


def _add_profiles(rnd, data, grids, members, party, skilled, skills, admin) -> int:
    """Volunteer profiles for grid members, party members and skilled residents."""
    units = [WorkUnit(name=n, approved=True) for n in data["work_units"]]
    units.append(WorkUnit(name="山阳镇社区卫生服务中心", approved=False))  # awaiting review
    db.session.add_all(units)
    db.session.flush()
    pool = [(skills[c], w) for c, w in SKILL_WEIGHTS.items() if c in skills]
    choices, weights = [s for s, _w in pool], [w for _s, w in pool]
    now = utcnow()
    profiles = []

    def profile(user, grid, is_party: bool) -> VolunteerProfile:
        p = VolunteerProfile(
            user_id=user.id, home_grid_id=grid.id,
            lat=round(grid.lat + rnd.uniform(-0.003, 0.003), 6),
            lon=round(grid.lon + rnd.uniform(-0.003, 0.003), 6),
            location_source="pin" if rnd.random() < 0.8 else "grid",
            travel_km=rnd.choice([2, 3, 5, 5, 5, 8, 10]), availability=rnd.randint(1, 63),
            monthly_limit=rnd.choice([2, 4, 4, 4, 6]), paused=rnd.random() < 0.05,
            is_party_member=is_party)
        if is_party:
            p.work_unit_id = rnd.choice(units[:-1]).id
            p.party_branch = rnd.choice(["第一党支部", "第二党支部", "机关党支部", "离退休党支部"])
            p.party_registered_on = (now - timedelta(days=rnd.randint(10, 700))).date()
            p.party_status = PartyStatus.pending if rnd.random() < 0.12 else PartyStatus.confirmed
            if p.party_status == PartyStatus.confirmed:
                p.party_confirmed_by_id, p.party_confirmed_at = admin.id, now
        if p.location_source == "grid":
            p.lat, p.lon = grid.lat, grid.lon
        picked = []
        for _ in range(rnd.choice([1, 1, 2, 2, 3])):
            s = rnd.choices(choices, weights)[0]
            if s not in picked:
                picked.append(s)
        for s in picked:
            vs = VolunteerSkill(skill_id=s.id)
            if s.needs_certificate:
                vs.certificate_no = f"{rnd.randint(10**9, 10**10 - 1)}"
                if rnd.random() < 0.6:
                    vs.status, vs.verified_by_id, vs.verified_at = \
                        SkillStatus.verified, admin.id, now
            elif rnd.random() < 0.3:
                vs.status, vs.verified_by_id, vs.verified_at = SkillStatus.verified, admin.id, now
            p.skills.append(vs)
        profiles.append(p)
        return p

    for user, grid in members:
        profile(user, grid, False)
    for user in party:
        profile(user, rnd.choice(grids), True)
    for user in skilled:
        profile(user, rnd.choice(grids), False)
    db.session.add_all(profiles)
    db.session.flush()
    return len(profiles)


def demo_logins() -> list[tuple[str, str, str, str]]:
    """(role, phone, name, scope) of the demo logins present in the database."""
    rows = []
    users = {u.phone: u for u in db.session.scalars(
        db.select(User).where(User.phone.in_(DEMO_PHONES.values())))}
    for role, phone in DEMO_PHONES.items():
        user = users.get(phone)
        if user is None:
            continue
        scopes = [a.grid or a.village or a.department for a in user.roles if a.role == role]
        rows.append((role, phone, user.name, "、".join(str(s) for s in scopes if s)))
    return rows


DEMO_PHONES = {"admin": "13800000001", "village_admin": "13800000002",
               "grid_leader": "13800000003", "grid_instructor": "13800000004",
               "grid_member": "13800000005", "department_staff": "13800000006",
               "volunteer": "13800000007", "resident": "13800000008"}


class _People:
    """Deterministic, unique names and mobile numbers."""

    def __init__(self, rnd: random.Random, data: dict):
        self.rnd = rnd
        self.surnames = data["surnames"]
        self.given = data["given"]
        self.n = 0

    def name(self) -> str:
        g = self.rnd.choice(self.given)
        if self.rnd.random() < 0.7:
            g += self.rnd.choice(self.given)
        return self.rnd.choice(self.surnames) + g

    def phone(self) -> str:
        self.n += 1
        prefix = ("139", "137", "158", "186", "135")[self.n % 5]
        return f"{prefix}{(self.n * 7919) % 100000000:08d}"
