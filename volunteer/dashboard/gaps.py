"""Coverage gaps: for each skill and 村居, the demand in a period (open issues needing the skill,
and volunteer places at sessions needing it) against the volunteers who could meet it
(available, holding the skill — verified where it needs a certificate — and living within their
own travel range of the 村居). Where demand outruns supply the town should recruit next."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa

from volunteer.dashboard.figures import Period, Scope
from volunteer.extensions import db
from volunteer.geo import EARTH_KM
from volunteer.issues.models import OPEN_STATUSES, Issue
from volunteer.matching.index import VERIFIED
from volunteer.matching.store import get_matcher
from volunteer.org.models import Grid, GridPoint, ServiceItem, Village
from volunteer.services.models import ServiceSession, SessionStatus
from volunteer.skills.models import Skill

# Inferred skills of issues, per process: (model id, issue id, updated_at) -> codes.
_CACHE: dict[tuple, list[str]] = {}
_CACHE_MAX = 500_000
_lock = threading.Lock()


@dataclass
class Gaps:
    villages: list[tuple[int, str, str]]  # id, code, name
    skills: list[tuple[int, str, str, str]]  # id, code, zh, en
    demand: np.ndarray  # villages × skills
    supply: np.ndarray
    worst: list[tuple] = field(default_factory=list)  # (village, skill, demand, supply, gap)
    # Per 村居 (same order as ``villages``): its position or None, and its worst gap over every
    # skill (demand, supply, gap, skill) or None where every demand is met.
    places: list[tuple[float, float] | None] = field(default_factory=list)
    village_worst: list[tuple | None] = field(default_factory=list)


def issue_skills(rows) -> dict[int, list[str]]:
    """Skills each issue needs: those a leader chose, else the matcher's model's inference
    (computed in one batch, remembered per process)."""
    out: dict[int, list[str]] = {}
    todo = []
    model = None
    for issue_id, updated_at, chosen, title, description in rows:
        if chosen:
            out[issue_id] = list(chosen)
            continue
        if model is None:
            model = get_matcher().model
        key = (id(model), issue_id, updated_at)
        hit = _CACHE.get(key)
        if hit is not None:
            out[issue_id] = hit
        else:
            todo.append((key, issue_id, f"{title}\n{description}"))
    if todo:
        found = model.predict_many([t for _k, _i, t in todo])
        with _lock:
            if len(_CACHE) > _CACHE_MAX:
                _CACHE.clear()
            for (key, issue_id, _t), skills in zip(todo, found, strict=True):
                codes = [c for c, _p in skills]
                _CACHE[key] = codes
                out[issue_id] = codes
    return out


def _supply(villages, codes: list[str]) -> np.ndarray:
    """Villages × skills: how many eligible volunteers hold each skill (verified, or needing no
    certificate) and have the 村居 within their travel range. Read from the matcher's index,
    which holds exactly the eligible volunteers and follows the database."""
    from scipy import sparse
    from sklearn.neighbors import BallTree

    m = get_matcher()
    col = {s.code: j for j, s in enumerate(m.skills)}
    pick = np.array([col.get(c, -1) for c in codes])
    tree = BallTree(np.radians([[v.lat, v.lon] for v in villages]), metric="haversine")
    out = np.zeros((len(villages), len(codes)))
    for ix in (m.base, m.overlay):
        if ix is None or not ix.n:
            continue
        rows = np.flatnonzero(ix.active)
        if not len(rows):
            continue
        held = (ix.skills[rows] >= VERIFIED).astype(np.float32)  # vols × taxonomy
        reach = tree.query_radius(np.radians(np.column_stack([ix.lat[rows], ix.lon[rows]])),
                                  r=ix.travel_km[rows].astype(np.float64) / EARTH_KM)
        lens = np.fromiter((len(r) for r in reach), dtype=np.int64, count=len(reach))
        near = sparse.csr_matrix(
            (np.ones(int(lens.sum()), dtype=np.float32),
             (np.repeat(np.arange(len(rows)), lens),
              np.concatenate(reach) if len(reach) else np.empty(0, dtype=np.int64))),
            shape=(len(rows), len(villages)))
        counts = (near.T @ held).toarray()  # villages × taxonomy
        valid = pick >= 0
        out[:, valid] += counts[:, pick[valid]]
    return out


def coverage(scope: Scope, period: Period, top_skills: int = 14, worst: int = 15) -> Gaps:
    """Demand and supply per 村居 and skill; the worst gaps first."""
    # A 村居 without a position of its own is placed at the middle of its grids.
    mid = (db.select(Grid.village_id, sa.func.avg(Grid.lat).label("lat"),
                     sa.func.avg(Grid.lon).label("lon")).group_by(Grid.village_id).subquery())
    villages = db.session.execute(
        db.select(Village.id, Village.code, Village.name,
                  sa.func.coalesce(Village.lat, mid.c.lat).label("lat"),
                  sa.func.coalesce(Village.lon, mid.c.lon).label("lon"))
        .outerjoin(mid, mid.c.village_id == Village.id)
        .where(scope.villages(Village.id)).order_by(Village.code)).all()
    skills = db.session.execute(db.select(Skill.id, Skill.code, Skill.name_zh, Skill.name_en)
                                .where(Skill.active).order_by(Skill.id)).all()
    vi = {v.id: i for i, v in enumerate(villages)}
    si = {s.code: i for i, s in enumerate(skills)}
    sid = {s.id: i for i, s in enumerate(skills)}
    demand = np.zeros((len(villages), len(skills)))
    supply = np.zeros((len(villages), len(skills)))

    # Demand: open issues found in the period …
    rows = db.session.execute(
        db.select(Issue.id, Issue.updated_at, Issue.skill_codes, Issue.title,
                  Issue.description, Issue.village_id)
        .where(scope.issues(), Issue.status.in_(OPEN_STATUSES),
               period.contains(Issue.created_at))).all()
    needs = issue_skills([r[:5] for r in rows])
    for r in rows:
        v = vi.get(r.village_id)
        for code in needs.get(r.id, []):
            if v is not None and code in si:
                demand[v, si[code]] += 1
    # … and volunteer places at sessions in the period whose service needs a skill.
    for village_id, skill_id, places in db.session.execute(
            db.select(Grid.village_id, ServiceItem.skill_id,
                      sa.func.sum(ServiceSession.staff_needed))
            .join(GridPoint, ServiceSession.point_id == GridPoint.id)
            .join(Grid, GridPoint.grid_id == Grid.id)
            .join(ServiceItem, ServiceSession.item_id == ServiceItem.id)
            .where(scope.villages(Grid.village_id),
                   ServiceSession.status != SessionStatus.cancelled,
                   ServiceItem.skill_id.is_not(None), period.contains(ServiceSession.starts_at))
            .group_by(Grid.village_id, ServiceItem.skill_id)):
        if village_id in vi and skill_id in sid:
            demand[vi[village_id], sid[skill_id]] += int(places or 0)

    # Supply: every available volunteer, wherever they live, who would travel to the 村居.
    placed = [k for k, v in enumerate(villages) if v.lat is not None and v.lon is not None]
    if placed:
        supply[placed] = _supply([villages[k] for k in placed], [s.code for s in skills])

    # The worst gaps, and as columns the skills with the most demand plus every skill of a
    # worst gap (a rare skill badly missing in one 村居 must show on the heat map too).
    gap = demand - supply
    cells = [(demand[i, j], gap[i, j], i, j) for i in range(len(villages))
             for j in range(len(skills)) if demand[i, j] > 0 and gap[i, j] > 0]
    cells.sort(key=lambda c: (-c[1], -c[0]))
    worst_rows = [(villages[i], skills[j], int(demand[i, j]), int(supply[i, j]), int(g))
                  for _d, g, i, j in cells[:worst]]
    total = demand.sum(axis=0)
    ranked = [j for j in np.argsort(-total, kind="stable").tolist() if total[j] > 0]
    keep = set(ranked[:top_skills]) | {j for _d, _g, _i, j in cells[:worst]}
    order = [j for j in ranked if j in keep]
    per_village: list[tuple | None] = [None] * len(villages)
    for d, g, i, j in cells:  # worst first: the first seen per 村居 is its worst
        if per_village[i] is None:
            per_village[i] = (int(d), int(supply[i, j]), int(g), skills[j])
    return Gaps(villages=[(v.id, v.code, v.name) for v in villages],
                skills=[tuple(skills[j]) for j in order],
                demand=demand[:, order] if order else np.zeros((len(villages), 0)),
                supply=supply[:, order] if order else np.zeros((len(villages), 0)),
                worst=worst_rows,
                places=[(float(v.lat), float(v.lon)) if v.lat is not None and v.lon is not None
                        else None for v in villages],
                village_worst=per_village)
