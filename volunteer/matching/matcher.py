"""One match: ranked, explained suggestions for an issue, and a team when it needs several.

Ranking is lexicographic. First the *grade*: a candidate counts by the most needed skill they
hold (needed skills, then related ones — the taxonomy's nearest first — and the model's weaker
guesses, grouped by how much each is needed), and within that group a verified holder (or one
of a skill needing no certificate) before an unverified one. Then a weighted score of skill fit,
distance decay, availability in the time window, same grid/村居, current load and reliability.
So DESIGN §5's rule holds whatever the weights: an unverified regulated skill ranks below the
verified holders of that skill and above people without it; and the holders of what the text is
mostly about come before the verified holders of a secondary skill.

The *tier* each suggestion carries (3: holds a clearly needed skill, verified or needing no
certificate; 2: holds a needed skill unverified, or a less likely one; 1: a related skill or
something close; 0: nothing relevant) says how well they fit, for the pages and the API.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from volunteer.geo import haversine_km
from volunteer.matching.index import VERIFIED, VolunteerIndex
from volunteer.matching.inference import SkillModel, TaxonomySkill


@dataclass
class Weights:
    """Score weights (configuration ``MATCH_WEIGHTS``, or a set switched on by the town admin
    on the admin's matching page); the grade comes first regardless. Each of ``TERMS`` is a
    weight on one term of the score (``terms``); the others shape a term or a constraint."""

    skill: float = 1.0
    distance: float = 0.45
    distance_urgent: float = 0.0  # nearness counts this much more when the need is urgent
    availability: float = 0.1
    local: float = 0.05
    load: float = 0.08
    load_reliability: float = 0.0  # a free *and* reliable volunteer
    reliability: float = 0.05
    fairness: float = 0.1  # each recent invitation lowers the score (fading), to spread work
    distance_scale_km: float = 1.5
    reliability_prior: float = 0.8
    reliability_prior_n: float = 3.0

    def vector(self) -> np.ndarray:
        """The weights of ``TERMS``, in order."""
        return np.asarray([getattr(self, t) for t in TERMS], dtype=np.float64)

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, values: dict | None) -> Weights:
        """Weights from a mapping; unknown keys are ignored, missing ones keep the default."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in (values or {}).items() if k in names})


#: The score's terms that carry a weight of their own (what learning fits).
TERMS = ("skill", "distance", "distance_urgent", "availability", "local", "load",
         "load_reliability", "reliability")


def terms(fit, distance_km, availability, locality, load, reliability, urgent,
          scale_km: float) -> np.ndarray:
    """The score's terms (n × ``TERMS``) from the features a slate records: skill fit,
    nearness (decaying with distance), nearness again when urgent, availability, same grid or
    村居, being free (1 / (1 + open tasks)), free × reliable, reliability."""
    near = np.exp(-np.asarray(distance_km, dtype=np.float64) / scale_km)
    free = 1.0 / (1.0 + np.asarray(load, dtype=np.float64))
    reliability = np.asarray(reliability, dtype=np.float64)
    return np.column_stack(np.broadcast_arrays(
        np.asarray(fit, dtype=np.float64), near, near * float(urgent),
        np.asarray(availability, dtype=np.float64), np.asarray(locality, dtype=np.float64),
        free, free * reliability, reliability))


@dataclass
class Query:
    lat: float
    lon: float
    text: str = ""
    skills: list[str] | None = None  # chosen skill codes; None: infer from the text
    limit: int = 10
    helpers_needed: int = 1
    window_mask: int = 0  # availability slots the issue needs (0: no time window)
    grid_id: int = 0
    village_id: int = 0
    town_id: int = 0  # the town of the need: a volunteer of another town is "from next door"
    exclude: frozenset[int] = frozenset()  # user ids already invited
    urgent: bool = False  # needed within a day (urgency high or critical)


@dataclass
class Suggestion:
    user_id: int
    score: float
    tier: int
    distance_m: int
    reasons: list[tuple]  # (code, params) pairs, rendered in the user's language by the caller
    skill_codes: list[str] = field(default_factory=list)
    # What the score was made of, in FEATURES order (recorded with each slate shown).
    features: tuple[float, ...] = ()
    grade: int = 0  # the order's first key (see ``Matcher._grades``): never swapped across


#: The parts of a score, as recorded for each candidate of a slate.
FEATURES = ("skill_fit", "distance_km", "availability", "locality", "load", "reliability",
            "asked_lately")


@dataclass
class MatchResult:
    skills: list[tuple[str, float]]
    suggestions: list[Suggestion]
    team: list[tuple[int, str | None]] = field(default_factory=list)  # (user_id, covers)
    candidates_scored: int = 0
    urgent: bool = False  # the query's (recorded with the slate)


class Matcher:
    """A fitted skill model plus the volunteer index (and a small overlay of recent changes)."""

    K_SKILL = 300
    K_NEAR = 200
    MAX_K = 4000
    TEAM_POOL = 50  # how far down the ranking a team is drawn from

    def __init__(self, model: SkillModel, skills: list[TaxonomySkill],
                 needs_certificate: list[bool], base: VolunteerIndex,
                 overlay: VolunteerIndex | None = None, weights: Weights | None = None,
                 weekly_cap: int = 0):
        self.model = model
        self.skills = skills
        self.col_of = {s.code: i for i, s in enumerate(skills)}
        self.needs_certificate = np.asarray(needs_certificate, dtype=bool)
        self.base = base
        self.overlay = overlay
        self.weights = weights or Weights()
        self.weekly_cap = weekly_cap  # invitations a volunteer gets in 7 days at most (0: any)
        # The model's skills by code in the taxonomy's columns (a model trained before the
        # taxonomy last changed still serves until it is trained again).
        self._from_model = np.asarray([self.col_of.get(s.code, -1) for s in model.skills],
                                      dtype=np.int64)
        self._same_order = np.array_equal(self._from_model, np.arange(len(skills)))

    def probabilities(self, text: str) -> np.ndarray:
        """The model's probability of each taxonomy skill (in the taxonomy's column order)."""
        p = self.model.probabilities(text)
        if self._same_order:
            return p
        out = np.zeros(len(self.skills))
        known = self._from_model >= 0
        out[self._from_model[known]] = p[known]
        return out

    # -- skills ---------------------------------------------------------------------------

    def infer(self, text: str) -> list[tuple[str, float]]:
        """The skills a text needs (codes of the taxonomy, with probabilities)."""
        return [(c, p) for c, p in self.model.predict(text) if c in self.col_of]

    def needed(self, q: Query) -> list[tuple[str, float]]:
        """The skills the issue needs (chosen, else inferred), with their weight."""
        if q.skills:
            return [(code, 1.0) for code in q.skills if code in self.col_of]
        return self.infer(q.text)

    # A related skill counts this much of the one it stands in for: the taxonomy lists related
    # skills nearest first (smartphone tutoring: computer repair, then teacher).
    RELATED = (0.7, 0.55, 0.45, 0.4)
    GUESS = 0.6  # the model's weaker guesses count this much of their probability
    FALLBACK_MIN = 0.08  # weaker guesses of the model still order people without the skill
    # Needs within this ratio of each other are one group: the skill a text is mostly about
    # comes first, equally needed skills mix by score (see ``_grades``).
    GROUP_RATIO = 0.8
    GROUPS = 8

    def _search_skills(self, q: Query, needed: list[tuple[str, float]]):
        """Columns and weights to score by: the needed skills, then related skills and the
        model's weaker guesses, so that with nobody nearby holding the skill, the closest
        stand-ins come before people with no relevant skill at all."""
        weights: dict[int, float] = {self.col_of[c]: p for c, p in needed}
        primary = dict(weights)
        for c, p in needed:
            for k, r in enumerate(self.skills[self.col_of[c]].related):
                j = self.col_of.get(r)
                w = p * self.RELATED[min(k, len(self.RELATED) - 1)]
                if j is not None and j not in primary and w > weights.get(j, 0.0):
                    weights[j] = w
        if not q.skills and q.text:
            probs = self.probabilities(q.text)
            for j in np.argsort(-probs)[:8]:
                j = int(j)
                if probs[j] >= self.FALLBACK_MIN and j not in weights:
                    weights[j] = float(probs[j]) * self.GUESS
        cols = list(weights)
        return cols, np.asarray([weights[j] for j in cols], dtype=np.float32), primary

    # -- matching -------------------------------------------------------------------------

    def match(self, q: Query) -> MatchResult:
        needed = self.needed(q)
        cols, probs, primary = self._search_skills(q, needed)
        want = max(q.limit, q.helpers_needed) * 3
        k_skill = self.K_SKILL
        # The primary skills' holder counts: once k reaches them, every holder is a candidate.
        largest = max((len(self.base.skill_rows[j]) for j in primary
                       if j < len(self.base.skill_rows)), default=0)
        rows = self.base.candidates(q.lat, q.lon, cols, k_skill, self.K_NEAR)
        extra = []
        if self.overlay is not None and self.overlay.n:
            extra.append(self._evaluate(self.overlay, self.overlay.candidates(
                q.lat, q.lon, cols, 0, 0), q, cols, probs, primary))
        while True:
            parts = [self._evaluate(self.base, rows, q, cols, probs, primary), *extra]
            skilled = sum(int((p["tier"] >= 2).sum()) for p in parts)
            if skilled >= want or k_skill >= min(self.MAX_K, largest):
                break
            # Too few skilled candidates within their own range: look further for holders of
            # the needed skills only (the others' candidates are already in).
            k_skill *= 4
            wider = self.base.candidates(q.lat, q.lon, list(primary), k_skill, 0)
            rows = np.union1d(rows, wider)
        return self._rank(parts, q, needed, cols, primary)

    def _rank(self, parts, q: Query, needed, cols, primary) -> MatchResult:
        """Order every scored candidate; explain only the ones shown (and a team's pool)."""
        total = sum(len(p["rows"]) for p in parts)
        if not total:
            return MatchResult(skills=needed, suggestions=[], candidates_scored=0,
                               urgent=q.urgent)
        grade = np.concatenate([p["grade"] for p in parts])
        score = np.concatenate([p["score"] for p in parts])
        dist = np.concatenate([p["d"] for p in parts])
        uid = np.concatenate([p["ix"].user_id[p["rows"]] for p in parts])
        order = np.lexsort((uid, dist, -score, -grade))
        offsets = np.cumsum([0] + [len(p["rows"]) for p in parts])
        explained: list[Suggestion] = []

        def explain_upto(n: int) -> None:
            for pos in order[len(explained):n]:
                k = int(np.searchsorted(offsets, pos, side="right") - 1)
                explained.append(self._explain(parts[k], int(pos - offsets[k]), q, cols,
                                               primary))

        # Explain the rows shown; a team that needs more of the ranking than that (several
        # skills, several helpers) draws from up to TEAM_POOL explained rows.
        explain_upto(q.limit)
        helpers = max(q.helpers_needed, 1)
        team = self._team(explained, needed, helpers)
        if len(team) < max(helpers, len(self._required(needed))) and len(order) > q.limit:
            explain_upto(self.TEAM_POOL)
            team = self._team(explained, needed, helpers)
        return MatchResult(skills=needed, suggestions=explained[:q.limit], team=team,
                           candidates_scored=total, urgent=q.urgent)

    def _evaluate(self, ix: VolunteerIndex, rows: np.ndarray, q: Query, cols: list[int],
                  probs: np.ndarray, primary: dict[int, float], capped: bool = True) -> dict:
        """Vectorised scores of candidate rows (after the hard constraints; the weekly cap on
        being asked only when ``capped``: a list to invite from)."""
        w = self.weights
        d = haversine_km(q.lat, q.lon, ix.lat[rows], ix.lon[rows]) if len(rows) else \
            np.empty(0)
        ok = (d <= ix.travel_km[rows] + 1e-6) & (ix.load[rows] < ix.monthly_limit[rows])
        if capped and self.weekly_cap:
            ok &= ix.week[rows] < self.weekly_cap
        if q.exclude and len(rows):
            ok &= ~np.isin(ix.user_id[rows], np.fromiter(q.exclude, dtype=np.int64))
        rows, d = rows[ok], d[ok]
        n = len(rows)
        if cols and n:
            levels = ix.levels(rows, cols)  # n × needed
            weighted = levels * probs
            fit = weighted.max(axis=1)
            best_col = weighted.argmax(axis=1)
            is_primary = np.asarray([j in primary for j in cols])
            top = max(primary.values(), default=0.0)
            strong = is_primary & (probs >= 0.5 * top)
            tier = np.where((levels[:, strong] >= VERIFIED).any(axis=1), 3,
                            np.where((levels[:, is_primary] > 0).any(axis=1), 2,
                                     np.where(fit > 0, 1, 0)))
            grade, best_col = self._grades(levels, weighted, probs)
        else:
            levels = np.zeros((n, 0))
            fit = np.zeros(n)
            best_col = np.zeros(n, dtype=int)
            tier = np.zeros(n, dtype=int)
            grade = np.zeros(n, dtype=int)
        avail_mask = ix.availability[rows]
        if q.window_mask:
            avail = np.where((avail_mask & q.window_mask) > 0, 1.0,
                             np.where(avail_mask == 0, 0.3, 0.0))
        else:
            avail = np.full(n, 0.5)
        local = np.where((q.grid_id > 0) & (ix.grid_id[rows] == q.grid_id), 1.0,
                         np.where((q.village_id > 0) & (ix.village_id[rows] == q.village_id),
                                  0.6, 0.0))
        load = ix.load[rows].astype(np.float64)
        reliability = ((ix.accepted[rows] + ix.completed[rows]) / 2.0
                       + w.reliability_prior * w.reliability_prior_n) / \
            (ix.invited[rows] + w.reliability_prior_n)
        lately = ix.asked_lately[rows].astype(np.float64)
        score = terms(fit, d, avail, local, load, reliability, q.urgent,
                      w.distance_scale_km) @ w.vector() - w.fairness * lately
        return {"ix": ix, "rows": rows, "d": d, "tier": tier, "grade": grade, "score": score,
                "fit": fit,
                "levels": levels, "best": best_col, "avail": avail, "avail_mask": avail_mask,
                "local": local, "load": load, "reliability": reliability, "lately": lately}

    def _grades(self, levels: np.ndarray, weighted: np.ndarray, probs: np.ndarray):
        """The order's first key, and the skill to name: a candidate counts by the most needed
        skill they hold. Skills are grouped by need (each group within ``GROUP_RATIO`` of the
        next), so the holders of what the text is mostly about come first, verified or not;
        within a group a verified holder (or one of a skill needing no certificate) comes
        before an unverified one — DESIGN §5: below the verified holders of that skill, above
        the people without it."""
        top = float(probs.max()) if len(probs) else 0.0
        if top <= 0:
            n = len(levels)
            return np.zeros(n, dtype=int), np.zeros(n, dtype=int)
        group = np.clip(np.floor(np.log(np.maximum(probs, 1e-9) / top)
                                 / np.log(self.GROUP_RATIO) + 1e-9), 0, self.GROUPS - 1)
        held = levels > 0
        best = np.where(held, group[None, :], self.GROUPS).min(axis=1)
        in_best = held & (group[None, :] == best[:, None])
        verified = (in_best & (levels >= VERIFIED)).any(axis=1)
        grade = np.where(best < self.GROUPS, (self.GROUPS - best) * 2 + verified, 0)
        named = np.where(in_best, weighted, -1.0).argmax(axis=1)
        return grade.astype(int), named

    def _explain(self, part: dict, i: int, q: Query, cols: list[int],
                 primary: dict[int, float]) -> Suggestion:
        """The reasons of one suggestion, as (code, params) for the caller to translate."""
        reasons: list[tuple] = []
        codes: list[str] = []
        d = float(part["d"][i])
        if cols and part["fit"][i] > 0:
            b = int(part["best"][i])
            j, level = cols[b], float(part["levels"][i, b])
            code = self.skills[j].code
            if j not in primary:
                reasons.append(("skill_related", {"code": code}))
            elif level >= VERIFIED:
                reasons.append(("skill", {"code": code,
                                          "verified": bool(self.needs_certificate[j])}))
            elif self.needs_certificate[j] and level > 0.55:
                reasons.append(("skill_unverified", {"code": code}))
            else:
                reasons.append(("skill_similar", {"code": code}))
            codes = [self.skills[cols[k]].code for k in range(len(cols))
                     if part["levels"][i, k] > 0 and cols[k] in primary]
        reasons.append(("distance", {"m": int(round(d * 1000))}))
        if part["local"][i] == 1.0:
            reasons.append(("same_grid", {}))
        elif part["local"][i] > 0:
            reasons.append(("same_village", {}))
        town = int(part["ix"].town_id[part["rows"][i]])
        if q.town_id and town and town != q.town_id:
            reasons.append(("other_town", {}))
        if q.window_mask:
            if part["avail"][i] == 1.0:
                reasons.append(("available",
                                {"mask": int(part["avail_mask"][i] & q.window_mask)}))
            elif part["avail"][i] == 0.0:
                reasons.append(("busy", {}))
        reasons.append(("load", {"n": int(part["load"][i])}))
        features = (float(part["fit"][i]), d, float(part["avail"][i]), float(part["local"][i]),
                    float(part["load"][i]), float(part["reliability"][i]),
                    float(part["lately"][i]))
        return Suggestion(user_id=int(part["ix"].user_id[part["rows"][i]]),
                          score=round(float(part["score"][i]), 4), tier=int(part["tier"][i]),
                          distance_m=int(round(d * 1000)), reasons=reasons, skill_codes=codes,
                          features=tuple(round(f, 4) for f in features),
                          grade=int(part["grade"][i]))

    @staticmethod
    def _required(needed: list[tuple[str, float]]) -> list[str]:
        """The clearly needed skills: a team covers each."""
        best = max((p for _c, p in needed), default=0.0)
        return [c for c, p in needed if p >= 0.5 * best]

    @classmethod
    def _team(cls, ranked: list[Suggestion], needed: list[tuple[str, float]], helpers: int):
        """A set that covers every clearly needed skill, then the best others up to ``helpers``."""
        if not needed:
            return [(s.user_id, None) for s in ranked[:helpers]]
        required = cls._required(needed)
        team: list[tuple[int, str | None]] = []
        used: set[int] = set()
        for code in required:
            for s in ranked:
                if s.user_id not in used and code in s.skill_codes and s.tier > 0:
                    team.append((s.user_id, code))
                    used.add(s.user_id)
                    break
        for s in ranked:
            if len(team) >= max(helpers, len(required)):
                break
            if s.user_id not in used:
                team.append((s.user_id, s.skill_codes[0] if s.skill_codes else None))
                used.add(s.user_id)
        return team

    # -- one volunteer's view ------------------------------------------------------------------

    def _row(self, user_id: int):
        """(index, row) holding a volunteer now: the overlay's copy when they changed lately."""
        for ix in (self.overlay, self.base):
            if ix is None:
                continue
            row = ix.row_of.get(user_id)
            if row is not None and ix.active[row]:
                return ix, row
        return None

    def evaluate_one(self, q: Query, user_id: int, min_tier: int = 0) -> Suggestion | None:
        """How one volunteer ranks for a query, by the same rules as ``match``; None when the
        constraints leave them out (paused, out of their range, at their limit, excluded) or
        they rank below ``min_tier``. The weekly cap limits being *asked* and does not apply
        here (a volunteer's own offer, their needs near me; an invitation by hand checks it in
        the service, with its own message)."""
        found = self._row(user_id)
        if found is None:
            return None
        ix, row = found
        needed = self.needed(q)
        one = np.array([row], dtype=np.int64)
        if min_tier >= 2:  # tier 2 and up hold a needed skill: without one, no scoring at all
            held = [self.col_of[c] for c, _p in needed]
            if not held or not (ix.levels(one, held) > 0).any():
                return None
        cols, probs, primary = self._search_skills(q, needed)
        part = self._evaluate(ix, one, q, cols, probs, primary, capped=False)
        if not len(part["rows"]):
            return None
        s = self._explain(part, 0, q, cols, primary)
        return s if s.tier >= min_tier else None

    # -- a baseline for the benchmark --------------------------------------------------------

    def brute_force(self, q: Query) -> MatchResult:
        """Score every volunteer (no index): the baseline ``make bench`` compares against."""
        needed = self.needed(q)
        cols, probs, primary = self._search_skills(q, needed)
        part = self._evaluate(self.base, np.flatnonzero(self.base.active), q, cols, probs,
                              primary)
        return self._rank([part], q, needed, cols, primary)
