"""A synthetic district or city for load tests (``flask --app wsgi seed-city``).

Towns, 村居, grids with square boundaries on a lattice, grid points, departments, volunteers
with skills and availability, residents, grid leaders and offices, issues of the last half
year with their events, invitations and confirmed hours — deterministic from a seed, written in
bulk: PostgreSQL's COPY, batched inserts elsewhere. A million volunteers and 50,000 grids take
minutes on PostgreSQL; the small sizes used in tests take a second on SQLite.

Logins (password ``demo1234``, one precomputed hash for all): the district admin 14000000000;
town admins 140 + the town's number (00000001 …); village admins 141…, grid leaders 142…,
department staff 143…, residents 144…, volunteers 15 + nine digits, each numbered from 0.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from flask import current_app
from werkzeug.security import generate_password_hash

from volunteer.common import utcnow
from volunteer.demo.seed import DATA_DIR, DEMO_PASSWORD, DemoError
from volunteer.extensions import db
from volunteer.invitations.models import InvitationStatus
from volunteer.issues.models import (
    OPEN_STATUSES,
    IssueCategory,
    IssueStatus,
    Tier,
    UrgencyLevel,
    verify_days,
)
from volunteer.org.models import District, Town, Village
from volunteer.skills.models import Skill

CENTRE = (31.10, 121.40)  # the lattice's middle: a city the size of Shanghai at full scale
CELL_DEG = 0.005  # a grid's square, about 550 m × 480 m
VILLAGE_BLOCK = (3, 4)  # grids of a 村居: 3 rows × 4 columns of the lattice
GRIDS_PER_VOLUNTEER = 1 / 20
ISSUES_PER_GRID = 4
DAYS = 182
BATCH = 5000
PHONES = {"district_admin": "140", "admin": "140", "village_admin": "141", "grid_leader": "142",
          "department_staff": "143", "resident": "144"}
TOWN_DEPARTMENTS = ["城管中队", "市场监管所", "社区卫生服务中心"]
DISTRICT_DEPARTMENTS = ["区城管执法局", "区卫生健康委"]


def city_phone(role: str, n: int) -> str:
    """The mobile number of the ``n``-th person (from 0) of a role in a seeded city."""
    if role == "volunteer":
        return f"15{n:09d}"
    if role == "district_admin":
        return "14000000000"
    if role == "admin":
        return f"140{n + 1:08d}"
    return f"{PHONES[role]}{n:08d}"


@dataclass
class CityPlan:
    """How big the city is; what is not given follows from the volunteers."""

    towns: int
    volunteers: int
    grids: int = 0
    residents: int = 0
    issues: int = 0
    seed: int = 1
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        if self.towns < 1 or self.volunteers < 0:
            raise DemoError("a city needs at least one town and no negative volunteers")
        self.grids = self.grids or max(self.towns * 2, int(self.volunteers * GRIDS_PER_VOLUNTEER))
        self.residents = self.residents or max(10, self.volunteers // 10)
        self.issues = self.issues or self.grids * ISSUES_PER_GRID


class _Writer:
    """Rows into tables inside the session's transaction: COPY on PostgreSQL, batched
    ``executemany`` elsewhere; counts what it wrote."""

    def __init__(self, counts: dict[str, int]):
        self.conn = db.session.connection()
        self.pg = self.conn.dialect.name == "postgresql"
        self.counts = counts

    def next_id(self, table: str) -> int:
        return (self.conn.execute(sa.text(f'SELECT MAX(id) FROM "{table}"')).scalar() or 0) + 1

    def write(self, table: str, columns: list[str], rows: Iterable[tuple]) -> int:
        n = 0
        if self.pg:
            cols = ", ".join(f'"{c}"' for c in columns)
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        else:
            t = db.metadata.tables[table]
            batch: list[dict] = []
            for row in rows:
                batch.append(dict(zip(columns, row, strict=True)))
                if len(batch) >= BATCH:
                    self.conn.execute(t.insert(), batch)
                    n += len(batch)
                    batch = []
            if batch:
                self.conn.execute(t.insert(), batch)
                n += len(batch)
        self.counts[table] = self.counts.get(table, 0) + n
        return n

    def finish(self) -> None:
        """Sequences past the ids written, and fresh planner statistics (PostgreSQL)."""
        if not self.pg:
            return
        for table in self.counts:
            self.conn.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 1))"))


def _square(lat: float, lon: float) -> str:
    h = CELL_DEG / 2
    ring = [[round(lon - h, 6), round(lat - h, 6)], [round(lon + h, 6), round(lat - h, 6)],
            [round(lon + h, 6), round(lat + h, 6)], [round(lon - h, 6), round(lat + h, 6)],
            [round(lon - h, 6), round(lat - h, 6)]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":"))


def _names(rng: np.random.Generator, n: int) -> Iterator[str]:
    data = json.loads((DATA_DIR / "demo_town.json").read_text(encoding="utf-8"))
    surnames, given = data["surnames"], data["given"]
    s = rng.integers(0, len(surnames), n)
    g1 = rng.integers(0, len(given), n)
    g2 = rng.integers(0, len(given), n)
    two = rng.random(n) < 0.7
    for i in range(n):
        yield surnames[s[i]] + given[g1[i]] + (given[g2[i]] if two[i] else "")


def seed_city(plan: CityPlan, progress: Callable[[str], None] = lambda s: None) -> dict[str, int]:
    """Build the city of ``plan`` in the current database (after ``setup``, with no 村居 yet);
    returns the rows written per table. The caller commits."""
    if db.session.scalar(db.select(db.func.count(Village.id))):
        raise DemoError("the database already has 村居; a city needs an empty installation")
    rng = np.random.default_rng(plan.seed)
    now = utcnow().replace(microsecond=0)
    w = _Writer(plan.counts)
    pw = generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:100000")
    terms = current_app.config["TERMS_VERSION"]
    district = db.session.scalar(db.select(District).order_by(District.id))
    first = db.session.scalar(db.select(Town).order_by(Town.id))
    if district is None or first is None:
        raise DemoError("run setup first")
    tick = time.perf_counter()

    def step(what: str) -> None:
        nonlocal tick
        progress(f"{what} ({time.perf_counter() - tick:.1f} s)")
        tick = time.perf_counter()

    # --- the lattice: grids in rows and columns, 村居 as blocks, towns as bands of blocks ---
    side = max(1, math.ceil(math.sqrt(plan.grids)))
    vr, vc = VILLAGE_BLOCK
    vcols = math.ceil(side / vc)
    cells = np.arange(plan.grids)
    rows_, cols_ = cells // side, cells % side
    lat0 = CENTRE[0] - side * CELL_DEG / 2
    lon0 = CENTRE[1] - side * CELL_DEG / 2
    glat = lat0 + (rows_ + 0.5) * CELL_DEG
    glon = lon0 + (cols_ + 0.5) * CELL_DEG
    vkey = (rows_ // vr) * vcols + cols_ // vc
    vkeys, gvillage = np.unique(vkey, return_inverse=True)  # village index of each grid
    n_villages = len(vkeys)
    tb = max(1, math.ceil(math.sqrt(plan.towns)))  # towns on a tb × tb layout of the blocks
    vrow, vcol = vkeys // vcols, vkeys % vcols
    vblock_rows = math.ceil(side / vr)
    vtown = np.minimum((vrow * tb // max(vblock_rows, 1)) * tb + vcol * tb // max(vcols, 1),
                       plan.towns - 1)
    for t in range(plan.towns):  # every town holds at least one 村居
        if not (vtown == t).any():
            vtown[t % n_villages] = t

    vlat = np.bincount(gvillage, glat, n_villages) / np.bincount(gvillage, None, n_villages)
    vlon = np.bincount(gvillage, glon, n_villages) / np.bincount(gvillage, None, n_villages)
    per_town = np.maximum(np.bincount(vtown, None, plan.towns), 1)
    tlat = np.bincount(vtown, vlat, plan.towns) / per_town
    tlon = np.bincount(vtown, vlon, plan.towns) / per_town

    # --- towns, villages, grids, points, departments ---
    first.lat, first.lon = round(float(tlat[0]), 6), round(float(tlon[0]), 6)
    db.session.flush()
    town_ids = [first.id]
    tid0 = w.next_id("town")
    town_codes = [first.code] + [f"T{t + 1:03d}" for t in range(1, plan.towns)]
    town_names = [first.name] + [f"第{t + 1}镇" for t in range(1, plan.towns)]
    w.write("town", ["id", "district_id", "code", "name", "lat", "lon"],
            ((tid0 + t - 1, district.id, town_codes[t], town_names[t],
              round(float(tlat[t]), 6), round(float(tlon[t]), 6)) for t in range(1, plan.towns)))
    town_ids += [tid0 + t - 1 for t in range(1, plan.towns)]
    vid0 = w.next_id("village")
    vcodes = [f"{town_codes[vtown[v]]}V{v:05d}" for v in range(n_villages)]
    w.write("village", ["id", "town_id", "code", "name", "kind", "address", "lat", "lon"],
            ((vid0 + v, town_ids[vtown[v]], vcodes[v], f"{town_names[vtown[v]]}第{v + 1}村",
              "community" if v % 3 == 0 else "village", None, round(float(vlat[v]), 6),
              round(float(vlon[v]), 6)) for v in range(n_villages)))
    gid0 = w.next_id("grid")
    w.write("grid", ["id", "village_id", "code", "name", "lat", "lon", "boundary", "households"],
            ((gid0 + g, vid0 + int(gvillage[g]), f"{vcodes[gvillage[g]]}-{g}",
              f"第{g + 1}网格", round(float(glat[g]), 6), round(float(glon[g]), 6),
              _square(float(glat[g]), float(glon[g])), 300) for g in range(plan.grids)))
    pid0 = w.next_id("grid_point")
    w.write("grid_point", ["id", "grid_id", "name", "address", "lat", "lon", "opening_hours",
                           "party_service_point", "deputy_reception_point"],
            ((pid0 + k, gid0 + g, f"第{g + 1}网格网格点", f"第{g + 1}网格服务站",
              round(float(glat[g]), 6), round(float(glon[g]), 6), "周一至周五 9:00–17:00",
              k % 2 == 0, k % 7 == 0) for k, g in enumerate(range(0, plan.grids, 10))))
    did0 = w.next_id("department")
    depts = [(did0 + i, town_ids[t], None, f"T{t + 1:03d}D{j}", name)
             for i, (t, j, name) in enumerate((t, j, name) for t in range(plan.towns)
                                              for j, name in enumerate(TOWN_DEPARTMENTS))]
    depts += [(did0 + len(depts) + j, None, district.id, f"DD{j}", name)
              for j, name in enumerate(DISTRICT_DEPARTMENTS)]
    w.write("department", ["id", "town_id", "district_id", "code", "name"], iter(depts))
    step(f"{plan.towns} towns, {n_villages} 村居, {plan.grids} grids")

    # --- people: offices, leaders, staff, residents, volunteers ---
    uid = w.next_id("user")
    user_cols = ["id", "name", "phone", "password_hash", "active", "large_text", "created_at",
                 "consent_version", "consent_at", "consent_method", "session_version"]
    people = [("district_admin", 1), ("admin", plan.towns), ("village_admin", n_villages),
              ("grid_leader", plan.grids), ("department_staff", len(depts)),
              ("resident", plan.residents)]
    first_ids: dict[str, int] = {}
    for role, count in people:
        first_ids[role] = uid
        names = _names(rng, count)
        w.write("user", user_cols, ((uid + i, next(names), city_phone(role, i), pw, True, False,
                                     now, terms, now, "online", 0) for i in range(count)))
        uid += count
    ra = [("district_admin", first_ids["district_admin"], None, None, None, None, district.id)]
    ra += [("admin", first_ids["admin"] + t, None, None, None, town_ids[t], None)
           for t in range(plan.towns)]
    ra += [("village_admin", first_ids["village_admin"] + v, None, vid0 + v, None, None, None)
           for v in range(n_villages)]
    ra += [("grid_leader", first_ids["grid_leader"] + g, gid0 + g, None, None, None, None)
           for g in range(plan.grids)]
    ra += [("department_staff", first_ids["department_staff"] + k, None, None, d[0], None, None)
           for k, d in enumerate(depts)]
    rid0 = w.next_id("role_assignment")
    w.write("role_assignment", ["id", "user_id", "role", "grid_id", "village_id", "department_id",
                                "town_id", "district_id", "created_at"],
            ((rid0 + k, r[1], r[0], r[2], r[3], r[4], r[5], r[6], now) for k, r in enumerate(ra)))
    step(f"{uid - first_ids['district_admin']} staff and residents")

    n = plan.volunteers
    vol_uid0 = uid
    names = _names(rng, n)
    w.write("user", user_cols, ((vol_uid0 + i, next(names), city_phone("volunteer", i), pw, True,
                                 False, now, terms, now, "online", 0) for i in range(n)))
    vgrid = rng.integers(0, plan.grids, n)
    vlat_ = glat[vgrid] + rng.uniform(-CELL_DEG / 2, CELL_DEG / 2, n)
    vlon_ = glon[vgrid] + rng.uniform(-CELL_DEG / 2, CELL_DEG / 2, n)
    travel = rng.choice([2.0, 3.0, 5.0, 5.0, 5.0, 8.0, 10.0], n)
    avail = rng.integers(1, 64, n)
    party = rng.random(n) < 0.3
    joined = rng.uniform(1, 730, n)  # days since they registered (and last changed)
    prof0 = w.next_id("volunteer_profile")
    w.write("volunteer_profile", ["id", "user_id", "home_grid_id", "lat", "lon",
                                  "location_source", "travel_km", "availability", "monthly_limit",
                                  "paused", "is_party_member", "created_at", "updated_at"],
            ((prof0 + i, vol_uid0 + i, gid0 + int(vgrid[i]), round(float(vlat_[i]), 6),
              round(float(vlon_[i]), 6), "pin", float(travel[i]), int(avail[i]), 4, False,
              bool(party[i]), now - timedelta(days=float(joined[i])),
              now - timedelta(days=float(joined[i]))) for i in range(n)))
    skills = db.session.execute(db.select(Skill.id, Skill.needs_certificate)
                                .where(Skill.active).order_by(Skill.id)).all()
    weights = 1.0 / np.arange(1, len(skills) + 1) ** 0.8
    weights /= weights.sum()
    per = rng.choice([1, 1, 2, 2, 3], n)
    picks = rng.choice(len(skills), (n, 3), p=weights)
    verified = rng.random((n, 3)) < 0.6
    vs0 = w.next_id("volunteer_skill")

    def skill_rows() -> Iterator[tuple]:
        k = vs0
        for i in range(n):
            seen = set()
            for j in range(per[i]):
                s = int(picks[i, j])
                if s in seen:
                    continue
                seen.add(s)
                sid, cert = skills[s]
                ok = bool(verified[i, j]) or not cert
                yield (k, prof0 + i, sid, "verified" if ok else "unverified",
                       now if ok else None)
                k += 1

    w.write("volunteer_skill", ["id", "profile_id", "skill_id", "status", "verified_at"],
            skill_rows())
    step(f"{n} volunteers with their skills")

    # --- issues of the last half year, their events, invitations and hours ---
    cats = db.session.execute(db.select(IssueCategory.id, IssueCategory.name_zh)
                              .where(IssueCategory.active).order_by(IssueCategory.id)).all()
    urgencies = db.session.execute(db.select(UrgencyLevel.code, UrgencyLevel.hours)
                                   .order_by(UrgencyLevel.hours.desc())).all()
    m = plan.issues
    igrid = rng.integers(0, plan.grids, m)
    icat = rng.integers(0, len(cats), m)
    iurg = rng.choice(len(urgencies), m, p=_urgency_shares(len(urgencies)))
    age = rng.uniform(0, DAYS * 86400, m)
    fate = rng.random(m)  # < 0.7 closed, < 0.78 resolved, < 0.82 rejected, else open
    tier_draw = rng.random(m)
    days_to_close = rng.gamma(2.0, 2.0, m) + 0.1
    helpers = rng.random(m) < 0.3
    reporters = rng.integers(0, plan.residents, m)
    iid0 = w.next_id("issue")
    dept_of_town = {t: depts[t * len(TOWN_DEPARTMENTS)][0] for t in range(plan.towns)}

    def fate_of(k: int) -> tuple[IssueStatus, datetime | None, datetime | None]:
        """Issue ``k``'s status now, and when it was resolved and closed."""
        created = now - timedelta(seconds=float(age[k]))
        done = created + timedelta(days=float(days_to_close[k]))
        # Nothing happens after now: a closing or a rejection still ahead has not come yet.
        if fate[k] < 0.78 and done < now:
            if fate[k] < 0.7 and done + timedelta(hours=6) < now:
                return IssueStatus.closed, done, done + timedelta(hours=6)
            return IssueStatus.resolved, done, None
        if fate[k] < 0.82 and created + timedelta(hours=12) < now:
            return IssueStatus.rejected, None, created + timedelta(hours=12)
        return (IssueStatus.accepted if fate[k] < 0.9 else IssueStatus.reported), None, None

    def issue_rows() -> Iterator[tuple]:
        for k in range(m):
            g = int(igrid[k])
            created = now - timedelta(seconds=float(age[k]))
            code, hours = urgencies[int(iurg[k])]
            v = int(gvillage[g])
            tier = Tier.grid if tier_draw[k] < 0.35 else Tier.village if tier_draw[k] < 0.98 \
                else Tier.department
            dept = dept_of_town[int(vtown[v])] if tier == Tier.department else None
            status, resolved_at, closed_at = fate_of(k)
            name = cats[int(icat[k])][1]
            yield (iid0 + k, f"{name}：第{g + 1}网格", f"巡查发现{name}问题，请处理。",
                   cats[int(icat[k])][0], "patrol" if k % 3 else "resident_report",
                   round(float(glat[g]) + 0.0005, 6), round(float(glon[g]) + 0.0005, 6),
                   gid0 + g, vid0 + v, first_ids["resident"] + int(reporters[k]), code,
                   2 if helpers[k] else 1, tier.value, dept, status.value,
                   first_ids["grid_leader"] + g if resolved_at else None,
                   created + timedelta(hours=hours), created, closed_at or resolved_at or created,
                   resolved_at, closed_at, "已处置" if resolved_at else None, 0, 0, 1)

    issue_cols = ["id", "title", "description", "category_id", "source", "lat", "lon", "grid_id",
                  "village_id", "reporter_id", "urgency", "helpers_needed", "tier",
                  "department_id", "status", "handler_id", "deadline_at", "created_at",
                  "updated_at", "resolved_at", "closed_at", "resolution", "rework_count",
                  "reopen_count", "version"]
    w.write("issue", issue_cols, issue_rows())
    ev0 = w.next_id("issue_event")

    verify_wait = timedelta(days=verify_days())

    def event_rows() -> Iterator[tuple]:
        """Each issue's report, its verification, and the "overdue" marks ``tick`` would have
        put on it by now (so that the first tick finds no half year of backlog)."""
        e = ev0
        for k in range(m):
            created = now - timedelta(seconds=float(age[k]))
            yield (e, iid0 + k, first_ids["resident"] + int(reporters[k]), "report", None,
                   "reported", None, "grid", created)
            e += 1
            status, resolved_at, closed_at = fate_of(k)
            deadline = created + timedelta(hours=urgencies[int(iurg[k])][1])
            if status in OPEN_STATUSES and deadline < now:
                yield (e, iid0 + k, None, "overdue", None, None, None, None, deadline)
                e += 1
            if status == IssueStatus.resolved and resolved_at + verify_wait < now:
                yield (e, iid0 + k, None, "overdue", "resolved", "resolved", None, None,
                       resolved_at + verify_wait)
                e += 1
            if status == IssueStatus.closed:
                leader = first_ids["grid_leader"] + int(igrid[k])
                yield (e, iid0 + k, leader, "verify", "resolved", "closed", None, None,
                       closed_at)
                e += 1

    w.write("issue_event", ["id", "issue_id", "actor_id", "action", "from_status", "to_status",
                            "from_tier", "to_tier", "created_at"], event_rows())
    step(f"{m} issues with their events")

    # Volunteers of each grid, to invite near home.
    order = np.argsort(vgrid, kind="stable")
    starts = np.searchsorted(vgrid[order], np.arange(plan.grids))
    ends = np.searchsorted(vgrid[order], np.arange(plan.grids), side="right")
    inv0 = w.next_id("invitation")
    hours_rows: list[tuple] = []
    answers = rng.random((m, 2))

    def invitation_rows() -> Iterator[tuple]:
        i = inv0
        for k in np.flatnonzero(helpers):
            g = int(igrid[k])
            pool = order[starts[g]:ends[g]]
            if not len(pool):
                continue
            # Asked two hours after the issue came in, answered three hours later: never
            # after now (the matcher follows the newest change, which must not lie ahead).
            created = min(now - timedelta(seconds=float(age[k])) + timedelta(hours=2), now)
            leader = first_ids["grid_leader"] + g
            for j, row in enumerate(pool[:2]):
                a = answers[k, j]
                closed = fate[k] < 0.7
                status = (InvitationStatus.done if closed else InvitationStatus.accepted) \
                    if a < 0.6 else InvitationStatus.declined if a < 0.85 \
                    else InvitationStatus.invited  # never answered: expired (computed)
                responded = min(created + timedelta(hours=3), now) \
                    if status != InvitationStatus.invited else None
                expires = created + timedelta(hours=48)
                # Unanswered and expired: reminded and reported as ``tick`` would have done.
                late = status == InvitationStatus.invited and expires < now
                yield (i, "issue", int(iid0 + k), vol_uid0 + int(row), leader, "invite",
                       status.value, 1, expires, responded, created, responded or created,
                       expires - timedelta(hours=12) if late else None, expires if late else None)
                if status == InvitationStatus.done:
                    served = min(created + timedelta(days=1), now)
                    hours_rows.append((i, vol_uid0 + int(row), int(iid0 + k), served.date(),
                                       leader, created, served))
                i += 1

    w.write("invitation", ["id", "kind", "issue_id", "volunteer_id", "invited_by_id", "origin",
                           "status", "wave", "expires_at", "responded_at", "created_at",
                           "updated_at", "reminded_at", "expired_noticed_at"], invitation_rows())
    sh0 = w.next_id("service_hours")
    w.write("service_hours", ["id", "volunteer_id", "invitation_id", "issue_id", "kind",
                              "activity", "served_on", "hours", "status", "proposed_by_id",
                              "proposed_at", "confirmed_by_id", "confirmed_at"],
            ((sh0 + k, r[1], r[0], r[2], "issue", "协助处置网格事项", r[3], 2.0, "confirmed",
              r[1], r[5], r[4], r[6]) for k, r in enumerate(hours_rows)))
    step("invitations and hours")
    _open_tasks(w, plan, now, first_ids, vol_uid0, vgrid, glat, glon, gid0, vid0,
                gvillage, cats)
    step("open invitations")
    w.finish()
    return dict(plan.counts)


OPEN_TASKS = 2000  # volunteers 0 … 1,999 each have an invitation waiting for an answer


def _open_tasks(w: _Writer, plan: CityPlan, now, first_ids, vol_uid0, vgrid, glat, glon,
                gid0, vid0, gvillage, cats) -> None:
    """The first volunteers each get a task near home waiting for their answer (an accepted
    issue of their grid, asked yesterday), so that load tests have invitations to answer."""
    k = min(plan.volunteers, OPEN_TASKS)
    if not k:
        return
    iid0 = w.next_id("issue")
    inv0 = w.next_id("invitation")
    asked = now - timedelta(days=1)
    rows, invs = [], []
    for i in range(k):
        g = int(vgrid[i])
        cat_id, name = cats[i % len(cats)]
        rows.append((iid0 + i, f"{name}：需要志愿者", "需要一名志愿者到场协助。", cat_id, "patrol",
                     round(float(glat[g]) - 0.0005, 6), round(float(glon[g]) - 0.0005, 6),
                     gid0 + g, vid0 + int(gvillage[g]), first_ids["grid_leader"] + g, "normal",
                     1, "grid", None, "accepted", None, now + timedelta(days=3), asked, asked,
                     None, None, None, 0, 0, 1))
        invs.append((inv0 + i, "issue", iid0 + i, vol_uid0 + i, first_ids["grid_leader"] + g,
                     "invite", "invited", 1, now + timedelta(days=2), None, asked, asked))
    w.write("issue", ["id", "title", "description", "category_id", "source", "lat", "lon",
                      "grid_id", "village_id", "reporter_id", "urgency", "helpers_needed",
                      "tier", "department_id", "status", "handler_id", "deadline_at",
                      "created_at", "updated_at", "resolved_at", "closed_at", "resolution",
                      "rework_count", "reopen_count", "version"], iter(rows))
    w.write("invitation", ["id", "kind", "issue_id", "volunteer_id", "invited_by_id", "origin",
                           "status", "wave", "expires_at", "responded_at", "created_at",
                           "updated_at"], iter(invs))


def _urgency_shares(k: int) -> list[float]:
    """Most issues are of the mildest urgency (the levels come longest first)."""
    shares = [0.7, 0.2, 0.08, 0.02][:k] + [0.0] * max(0, k - 4)
    total = sum(shares)
    return [s / total for s in shares]


def analyse() -> None:
    """Fresh planner statistics after a bulk load, and on PostgreSQL the visibility map too
    (VACUUM: index-only scans stay index-only), outside a transaction (the caller commits)."""
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE" if conn.dialect.name == "postgresql"
                             else "ANALYZE"))


def city_logins() -> list[tuple[str, str]]:
    """Example logins of a seeded city: (role, phone)."""
    return [("district_admin", city_phone("district_admin", 0)),
            ("admin", city_phone("admin", 0)), ("village_admin", city_phone("village_admin", 0)),
            ("grid_leader", city_phone("grid_leader", 0)),
            ("department_staff", city_phone("department_staff", 0)),
            ("resident", city_phone("resident", 0)), ("volunteer", city_phone("volunteer", 0))]

