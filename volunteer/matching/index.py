"""Volunteers as numpy arrays, with k-d trees to find candidates near a place.

Places are points on the unit sphere (x, y, z): the straight-line (chord) distance between two
of them orders pairs exactly as the great-circle distance does, so scipy's ``cKDTree`` — little
overhead per query — finds the nearest by great-circle distance. One tree over everyone and one
per skill over that skill's holders, so that a rare skill's holders are found even where
thousands of others live closer. Only eligible volunteers (active, consented) are indexed; the
caller decides eligibility.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

VERIFIED = 1.0  # a verified skill, or one that needs no certificate
UNVERIFIED = 0.6  # a regulated skill without a verified certificate
LEAF = 48  # points per leaf of a tree: half the nodes' memory of the default, as fast to query


def unit_vectors(lat, lon) -> np.ndarray:
    """Degrees of latitude and longitude as points on the unit sphere (n × 3)."""
    la, lo = np.radians(np.asarray(lat, dtype=np.float64)), np.radians(
        np.asarray(lon, dtype=np.float64))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


@dataclass
class VolunteerRecord:
    user_id: int
    lat: float
    lon: float
    travel_km: float = 5.0
    availability: int = 0
    monthly_limit: int = 4
    grid_id: int = 0
    village_id: int = 0
    town_id: int = 0
    skills: dict[int, float] = field(default_factory=dict)  # skill column -> level
    free_text: str = ""
    load: int = 0  # open tasks and invitations of the last 30 days
    invited: int = 0
    accepted: int = 0
    completed: int = 0
    asked_lately: float = 0.0  # invitations of recent weeks, each fading (the fairness term)
    week: int = 0  # invitations of the last 7 days (the weekly cap)


class RowOf:
    """The row of a user id (a read-only mapping over a sorted copy of the ids: a fraction of a
    dict's memory at a million rows, and built in milliseconds)."""

    def __init__(self, user_ids: np.ndarray):
        self._order = np.argsort(user_ids, kind="stable")
        self._sorted = np.asarray(user_ids)[self._order]

    def get(self, user_id: int, default=None):
        i = int(np.searchsorted(self._sorted, user_id))
        if i < len(self._sorted) and self._sorted[i] == user_id:
            return int(self._order[i])
        return default

    def __getitem__(self, user_id: int) -> int:
        row = self.get(user_id)
        if row is None:
            raise KeyError(user_id)
        return row

    def __contains__(self, user_id: int) -> bool:
        return self.get(user_id) is not None

    def __len__(self) -> int:
        return len(self._sorted)


class VolunteerIndex:
    """Columns of per-volunteer features, row-aligned, plus the trees."""

    def __init__(self, records: list[VolunteerRecord], n_skills: int, trees: bool = True):
        n = len(records)
        rows, cols, vals = [], [], []
        for i, r in enumerate(records):
            for col, level in r.skills.items():
                rows.append(i)
                cols.append(col)
                vals.append(level)
        skills = sparse.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                                   shape=(n, n_skills))

        def col(name, dtype):
            return np.fromiter((getattr(r, name) or 0 for r in records), dtype=dtype, count=n)

        self._setup(n_skills, trees, skills, user_id=col("user_id", np.int64),
                    lat=col("lat", np.float64), lon=col("lon", np.float64),
                    travel_km=col("travel_km", np.float32),
                    availability=col("availability", np.uint8),
                    monthly_limit=col("monthly_limit", np.int16),
                    grid_id=col("grid_id", np.int64), village_id=col("village_id", np.int64),
                    town_id=col("town_id", np.int32), load=col("load", np.int16), invited=col("invited", np.int32),
                    accepted=col("accepted", np.int32), completed=col("completed", np.int32),
                    asked_lately=col("asked_lately", np.float32), week=col("week", np.int16))

    @classmethod
    def from_arrays(cls, n_skills: int, skills: sparse.csr_matrix, trees: bool = True,
                    **columns: np.ndarray) -> VolunteerIndex:
        """Build from columns directly (synthetic towns in the benchmark, a million rows)."""
        ix = cls.__new__(cls)
        n = len(columns["user_id"])
        defaults = {"travel_km": (5.0, np.float32), "availability": (0, np.uint8),
                    "monthly_limit": (4, np.int16), "grid_id": (0, np.int64),
                    "village_id": (0, np.int64), "town_id": (0, np.int32),
                    "load": (0, np.int16),
                    "invited": (0, np.int32), "accepted": (0, np.int32),
                    "completed": (0, np.int32), "asked_lately": (0.0, np.float32),
                    "week": (0, np.int16)}
        for name, (value, dtype) in defaults.items():
            columns.setdefault(name, np.full(n, value, dtype=dtype))
        ix._setup(n_skills, trees, skills.tocsr(), **columns)
        return ix

    def _setup(self, n_skills: int, trees: bool, skills, **columns) -> None:
        self.n = len(columns["user_id"])
        self.n_skills = n_skills
        for name, values in columns.items():
            setattr(self, name, values)
        skills.sum_duplicates()
        np.minimum(skills.data, VERIFIED, out=skills.data)  # a skill counts once, at most 1.0
        self.skills = skills
        self.active = np.ones(self.n, dtype=bool)
        self.row_of = RowOf(self.user_id)
        self.tree = None
        self.skill_rows: list[np.ndarray] = []
        self.skill_trees: list[cKDTree | None] = []
        if trees and self.n:
            points = unit_vectors(self.lat, self.lon)
            self.tree = cKDTree(points, leafsize=LEAF, balanced_tree=False, compact_nodes=False)
            csc = self.skills.tocsc()
            for j in range(n_skills):
                holders = csc.indices[csc.indptr[j]:csc.indptr[j + 1]].astype(np.int64)
                self.skill_rows.append(holders)
                self.skill_trees.append(
                    cKDTree(points[holders], leafsize=LEAF, balanced_tree=False,
                            compact_nodes=False) if len(holders) else None)

    def candidates(self, lat: float, lon: float, skill_cols: list[int], k_skill: int,
                   k_near: int) -> np.ndarray:
        """Rows near (lat, lon): the nearest holders of each skill, and the nearest overall."""
        if self.n == 0:
            return np.empty(0, dtype=np.int64)
        if self.tree is None:  # a small overlay: every row is a candidate
            return np.flatnonzero(self.active)
        point = unit_vectors([lat], [lon])[0]
        found = []
        k = min(k_near, self.n)
        if k:
            found.append(_nearest(self.tree, point, k))
        for j in skill_cols:
            tree = self.skill_trees[j] if j < len(self.skill_trees) else None
            if tree is None:
                continue
            kk = min(k_skill, len(self.skill_rows[j]))
            found.append(self.skill_rows[j][_nearest(tree, point, kk)])
        rows = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
        return rows[self.active[rows]]

    def levels(self, rows: np.ndarray, cols: list[int]) -> np.ndarray:
        """Skill levels of ``rows`` in ``cols`` (len(rows) × len(cols)), read straight from
        the sparse arrays (no sparse matrix is built per call)."""
        out = np.zeros((len(rows), len(cols)), dtype=np.float32)
        if not len(rows) or not cols:
            return out
        indptr = self.skills.indptr
        starts, lens = indptr[rows], indptr[rows + 1] - indptr[rows]
        total = int(lens.sum())
        if not total:
            return out
        first = np.cumsum(lens) - lens
        flat = np.arange(total) - np.repeat(first, lens) + np.repeat(starts, lens)
        owner = np.repeat(np.arange(len(rows)), lens)
        where = np.full(self.n_skills, -1, dtype=np.int64)
        where[cols] = np.arange(len(cols))
        pos = where[self.skills.indices[flat]]
        hit = pos >= 0
        out[owner[hit], pos[hit]] = self.skills.data[flat[hit]]
        return out

    def memory_bytes(self) -> int:
        """The columns' bytes (not the trees')."""
        arrays = [self.user_id, self.lat, self.lon, self.travel_km, self.availability,
                  self.monthly_limit, self.grid_id, self.village_id, self.town_id, self.load,
                  self.invited,
                  self.accepted, self.completed, self.asked_lately, self.week, self.active,
                  self.skills.data, self.skills.indices, self.skills.indptr]
        return int(sum(a.nbytes for a in arrays))


def _nearest(tree: cKDTree, point: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` points of ``tree`` nearest ``point`` (k ≤ the tree's size)."""
    if k >= tree.n:  # all of them: no search needed
        return np.arange(tree.n, dtype=np.int64)
    if k == 1:
        return np.array([tree.query(point, k=1)[1]], dtype=np.int64)
    return np.asarray(tree.query(point, k=k)[1], dtype=np.int64)
