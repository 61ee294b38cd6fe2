"""Volunteers as numpy arrays, with BallTrees (haversine) to find candidates near a place.

One tree over everyone and one per skill over that skill's holders, so that a rare skill's
holders are found even where thousands of others live closer. Only eligible volunteers (active,
consented) are indexed; the caller decides eligibility.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.neighbors import BallTree

VERIFIED = 1.0  # a verified skill, or one that needs no certificate
UNVERIFIED = 0.6  # a regulated skill without a verified certificate


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
    skills: dict[int, float] = field(default_factory=dict)  # skill column -> level
    free_text: str = ""
    load: int = 0  # open tasks and invitations of the last 30 days
    invited: int = 0
    accepted: int = 0
    completed: int = 0


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
                    load=col("load", np.int16), invited=col("invited", np.int32),
                    accepted=col("accepted", np.int32), completed=col("completed", np.int32))

    @classmethod
    def from_arrays(cls, n_skills: int, skills: sparse.csr_matrix, trees: bool = True,
                    **columns: np.ndarray) -> VolunteerIndex:
        """Build from columns directly (synthetic towns in the benchmark, a million rows)."""
        ix = cls.__new__(cls)
        n = len(columns["user_id"])
        defaults = {"travel_km": (5.0, np.float32), "availability": (0, np.uint8),
                    "monthly_limit": (4, np.int16), "grid_id": (0, np.int64),
                    "village_id": (0, np.int64), "load": (0, np.int16),
                    "invited": (0, np.int32), "accepted": (0, np.int32),
                    "completed": (0, np.int32)}
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
        self.row_of = {int(u): i for i, u in enumerate(self.user_id)}
        self.tree = None
        self.skill_rows: list[np.ndarray] = []
        self.skill_trees: list[BallTree | None] = []
        if trees and self.n:
            coords = np.radians(np.column_stack([self.lat, self.lon]))
            self.tree = BallTree(coords, metric="haversine")
            csc = self.skills.tocsc()
            for j in range(n_skills):
                holders = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
                self.skill_rows.append(holders)
                self.skill_trees.append(BallTree(coords[holders], metric="haversine")
                                        if len(holders) else None)

    def candidates(self, lat: float, lon: float, skill_cols: list[int], k_skill: int,
                   k_near: int) -> np.ndarray:
        """Rows near (lat, lon): the nearest holders of each skill, and the nearest overall."""
        if self.n == 0:
            return np.empty(0, dtype=np.int64)
        if self.tree is None:  # a small overlay: every row is a candidate
            return np.flatnonzero(self.active)
        point = np.radians([[lat, lon]])
        found = []
        k = min(k_near, self.n)
        if k:
            found.append(self.tree.query(point, k=k, return_distance=False)[0])
        for j in skill_cols:
            tree = self.skill_trees[j] if j < len(self.skill_trees) else None
            if tree is None:
                continue
            kk = min(k_skill, len(self.skill_rows[j]))
            local = tree.query(point, k=kk, return_distance=False)[0]
            found.append(self.skill_rows[j][local])
        rows = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
        return rows[self.active[rows]]

    def memory_bytes(self) -> int:
        arrays = [self.user_id, self.lat, self.lon, self.travel_km, self.availability,
                  self.monthly_limit, self.grid_id, self.village_id, self.load, self.invited,
                  self.accepted, self.completed, self.active, self.skills.data,
                  self.skills.indices, self.skills.indptr]
        return int(sum(a.nbytes for a in arrays))
