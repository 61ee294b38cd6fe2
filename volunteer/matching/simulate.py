"""A simulated town to prove that learning helps: volunteers who accept with hidden
probabilities, grid leaders who invite from the lists they are shown, and the days going by.

Each volunteer accepts an invitation with a probability that depends on distance (more when the
need is urgent), their open tasks, whether the time suits them, the hour of day, holding the
skill verified, how often they were asked lately (asking wears people out: Manshadi &
Rodilitz, Management Science 2022), and a personal propensity nobody sees — only their
history of answers hints at it, through the matcher's reliability. Leaders invite from each
place of a list with a probability that falls with the place.

``experiment`` runs days with the hand weights and exploration (the log), learns from the log,
judges both weight sets offline, then runs fresh days from the same state with each set (the
simulated truth). ``spread`` measures the fairness term and the weekly cap. No Flask: the
benchmark runs it on a synthetic town and on the demo town's volunteers.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from volunteer.geo import haversine_km
from volunteer.matching import learning
from volunteer.matching.explore import TOP, explore
from volunteer.matching.index import UNVERIFIED, VERIFIED, VolunteerIndex
from volunteer.matching.inference import SkillModel, TaxonomySkill
from volunteer.matching.matcher import Matcher, Query, Weights

HALF_LIFE_DAYS = 7.0  # how fast being asked fades (as ``records`` computes it)
HOURS = (9, 15, 20)  # a need's time: morning, afternoon, evening


@dataclass
class Truth:
    """The hidden acceptance model (log-odds)."""

    base: float = 0.2
    per_km: float = -0.25
    per_km_urgent: float = -0.45  # on top of per_km, when the need is urgent
    per_task: float = -0.6  # each open task
    suits: float = 0.6  # the time is one they said suits them
    unsuited: float = -0.7  # they said which times suit them, and this is not one
    evening: float = -0.3
    verified: float = 0.3
    per_recent_ask: float = -0.3  # each recent invitation (fading)
    personal_sd: float = 1.3

    def probability(self, ix: VolunteerIndex, rows: np.ndarray, personal: np.ndarray,
                    need: Need, skill_col: int) -> np.ndarray:
        d = haversine_km(need.lat, need.lon, ix.lat[rows], ix.lon[rows])
        mask = ix.availability[rows].astype(int)
        suits = np.where(mask == 0, 0.0, np.where(mask & need.mask, self.suits, self.unsuited))
        level = ix.levels(rows, [skill_col])[:, 0]
        z = (self.base + personal[rows] + d * (self.per_km + self.per_km_urgent * need.urgent)
             + self.per_task * ix.load[rows] + suits + self.evening * (need.hour >= 18)
             + self.verified * (level >= VERIFIED) + self.per_recent_ask * ix.asked_lately[rows])
        return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Need:
    lat: float
    lon: float
    skill: str
    urgent: bool
    hour: int
    weekend: bool

    @property
    def mask(self) -> int:
        part = 0 if self.hour < 12 else 1 if self.hour < 18 else 2
        return 1 << (part + (3 if self.weekend else 0))


@dataclass
class Town:
    """A matcher over an index, the volunteers' hidden propensities, and the days' state."""

    matcher: Matcher
    personal: np.ndarray  # per row of the base index
    day: int = 0
    tasks: list[tuple[int, int]] = field(default_factory=list)  # (ends on day, row)
    asks: list[list[int]] = field(default_factory=list)  # rows invited, per day

    @property
    def ix(self) -> VolunteerIndex:
        return self.matcher.base

    def copy(self) -> Town:
        """An independent copy of the state (the index's columns and the lists)."""
        m = copy.copy(self.matcher)
        m.base = copy.copy(self.matcher.base)
        for name in ("load", "invited", "accepted", "completed", "asked_lately", "week"):
            setattr(m.base, name, getattr(self.matcher.base, name).copy())
        m.weights = copy.copy(self.matcher.weights)
        return Town(m, self.personal, self.day, list(self.tasks), [list(a) for a in self.asks])


def synthetic_town(n: int = 2000, n_skills: int = 12, seed: int = 0,
                   weights: Weights | None = None, weekly_cap: int = 0) -> Town:
    """Volunteers over a town of about 6 × 6 km, each with 1–3 skills and a history of answers
    that hints at their personal propensity."""
    rng = np.random.default_rng(seed)
    skills = [TaxonomySkill(f"s{j}", f"技能{j}", f"skill {j}", (), ()) for j in range(n_skills)]
    needs_cert = [j % 3 == 0 for j in range(n_skills)]
    model = SkillModel(skills, [])
    k = rng.integers(1, 4, n)
    rows = np.repeat(np.arange(n), k)
    cols = rng.integers(0, n_skills, len(rows))
    levels = np.where(np.asarray(needs_cert)[cols] & (rng.random(len(rows)) < 0.35),
                      UNVERIFIED, VERIFIED).astype(np.float32)
    matrix = sparse.csr_matrix((levels, (rows, cols)), shape=(n, n_skills))
    truth = Truth()
    personal = rng.normal(0, truth.personal_sd, n)
    prior_asked = rng.poisson(4, n)
    p_prior = 1 / (1 + np.exp(-(truth.base + personal - 0.3)))
    prior_yes = rng.binomial(prior_asked, p_prior)
    index = VolunteerIndex.from_arrays(
        n_skills, matrix, user_id=np.arange(1, n + 1, dtype=np.int64),
        lat=30.757 + rng.normal(0, 0.018, n), lon=121.353 + rng.normal(0, 0.02, n),
        travel_km=rng.choice([2.0, 3.0, 5.0, 8.0], n).astype(np.float32),
        availability=np.where(rng.random(n) < 0.3, 0, rng.integers(1, 64, n)).astype(np.uint8),
        monthly_limit=np.full(n, 8, dtype=np.int16),
        grid_id=rng.integers(1, 40, n), village_id=rng.integers(1, 8, n),
        invited=prior_asked.astype(np.int32), accepted=prior_yes.astype(np.int32),
        completed=prior_yes.astype(np.int32))
    matcher = Matcher(model, skills, needs_cert, index, None, weights or Weights(),
                      weekly_cap=weekly_cap)
    return Town(matcher, personal)


def needs(town: Town, count: int, seed: int) -> list[Need]:
    """Needs placed where volunteers live, for skills people hold."""
    rng = np.random.default_rng(seed)
    ix = town.ix
    held = np.flatnonzero(np.bincount(ix.skills.indices, minlength=ix.n_skills))
    out = []
    for _ in range(count):
        r = int(rng.integers(ix.n))
        out.append(Need(float(ix.lat[r] + rng.normal(0, 0.006)),
                        float(ix.lon[r] + rng.normal(0, 0.007)),
                        town.matcher.skills[int(rng.choice(held))].code,
                        bool(rng.random() < 0.25), int(rng.choice(HOURS)),
                        bool(rng.random() < 2 / 7)))
    return out


@dataclass
class Round:
    """What one run of days produced."""

    slates: list[learning.LoggedSlate]
    accepted_top: np.ndarray  # per slate: acceptances within 24 h among the top five
    helped: np.ndarray  # per slate: anyone accepted at all
    invitations: np.ndarray  # per volunteer row: invitations received
    days: list[list[int]] = field(default_factory=list)  # the rows invited, day by day

    def mean(self) -> learning.Estimate:
        """Acceptances within 24 h among the top five per list, with a 95% interval."""
        x = self.accepted_top
        se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0
        return learning.Estimate(float(x.mean()), float(x.mean() - 1.96 * se),
                                 float(x.mean() + 1.96 * se))

    def top_share(self, share: float = 0.1) -> float:
        """The share of invitations that went to the most-asked ``share`` of volunteers."""
        counts = np.sort(self.invitations)[::-1]
        n = max(1, int(round(len(counts) * share)))
        return float(counts[:n].sum() / max(counts.sum(), 1))


def invite_probability(place: np.ndarray, level: float = 0.8, eta: float = 1.0) -> np.ndarray:
    """How likely a leader invites the person at a place of the list (from 1)."""
    return np.minimum(1.0, level * np.asarray(place, dtype=float) ** -eta)


def run(town: Town, stream: list[Need], per_day: int, epsilon: float, seed: int,
        truth: Truth | None = None) -> Round:
    """Show a list for each need, day by day; leaders invite, volunteers answer; the town's
    state (open tasks, history, recent asks) moves on. Changes ``town``."""
    truth = truth or Truth()
    rng = np.random.default_rng(seed)
    explore_rng = np.random.default_rng(seed + 1)
    ix, m = town.ix, town.matcher
    decay = 0.5 ** (1.0 / HALF_LIFE_DAYS)
    slates, top, helped, days = [], [], [], []
    invitations = np.zeros(ix.n, dtype=np.int64)
    row_of = ix.row_of
    for start in range(0, len(stream), per_day):
        today: list[int] = []
        for need in stream[start:start + per_day]:
            q = Query(lat=need.lat, lon=need.lon, skills=[need.skill], limit=10,
                      window_mask=need.mask, urgent=need.urgent)
            shown = m.match(q).suggestions
            if not shown:
                continue
            ex = explore(shown, epsilon, explore_rng)
            shown = ex.shown
            rows = np.asarray([row_of[s.user_id] for s in shown], dtype=np.int64)
            places = np.arange(1, len(rows) + 1)
            invited = rng.random(len(rows)) < invite_probability(places)
            p = truth.probability(ix, rows, town.personal, need, m.col_of[need.skill])
            accepted = invited & (rng.random(len(rows)) < p)
            no_show = accepted & (rng.random(len(rows)) < 0.05)
            outcome = np.where(accepted & ~no_show, 1, np.where(invited, -1, 0))
            slates.append(learning.LoggedSlate(
                features=np.asarray([s.features for s in shown], dtype=float),
                grades=np.asarray([s.grade for s in shown]), invited=invited,
                accepted=accepted, outcome=outcome, urgent=need.urgent, swap=ex.swap,
                eligible=tuple(ex.eligible)))
            top.append(int(accepted[:TOP].sum()))
            helped.append(bool(accepted.any()))
            for r, yes, absent in zip(rows[invited], accepted[invited], no_show[invited],
                                      strict=True):
                r = int(r)
                invitations[r] += 1
                today.append(r)
                ix.invited[r] += 1
                ix.asked_lately[r] += 1
                ix.week[r] += 1
                if yes:
                    ix.accepted[r] += 1
                    ix.load[r] += 1
                    town.tasks.append((town.day + int(rng.integers(2, 8)), r))
                    if not absent:
                        ix.completed[r] += 1
        # The day ends: tasks end, recent asks fade, the week moves on.
        town.day += 1
        ending = [r for d, r in town.tasks if d <= town.day]
        town.tasks = [(d, r) for d, r in town.tasks if d > town.day]
        for r in ending:
            ix.load[r] = max(0, ix.load[r] - 1)
        ix.asked_lately *= decay
        town.asks.append(today)
        days.append(today)
        if len(town.asks) > 7:
            for r in town.asks.pop(0):
                ix.week[r] = max(0, ix.week[r] - 1)
    return Round(slates, np.asarray(top, dtype=float), np.asarray(helped, dtype=bool),
                 invitations, days)


@dataclass
class Experiment:
    hand: learning.Estimate  # simulated truth on fresh needs with the hand weights
    learned: learning.Estimate  # … and with the learned weights
    replay: dict[str, learning.Estimate]  # the held-out needs again, from the same state
    comparison: learning.Comparison  # the offline estimates, made before
    weights: Weights
    summary: dict
    log_slates: int

    @property
    def lift(self) -> float:
        return self.learned.value / self.hand.value - 1 if self.hand.value else 0.0

    @property
    def covered(self) -> bool:
        """Whether the offline SNIPS interval for the learned weights holds the simulated truth
        of the same held-out needs ordered by them."""
        e = self.comparison.learned["snips"]
        return e.low <= self.replay["learned"].value <= e.high


def experiment(town: Town, log_days: int = 60, test_days: int = 30, per_day: int = 40,
               epsilon: float = 0.1, seed: int = 0, warm_days: int = 30,
               held_out: float = 0.3) -> Experiment:
    """Warm the town up (open tasks and recent asks reach their usual level); log with the
    hand weights and exploration, the last ``held_out`` of the days kept aside; learn from the
    rest and judge both weight sets offline on the days kept aside; then the simulated truth:
    those days again from the same state with each weight set (what the estimate is of), and
    fresh days after the log with each (the lift)."""
    hand = town.matcher.weights
    run(town, needs(town, warm_days * per_day, seed + 5), per_day, 0.0, seed + 6)
    train_days = int(round(log_days * (1 - held_out)))
    train = run(town, needs(town, train_days * per_day, seed), per_day, epsilon, seed + 10)
    before = town.copy()
    kept = needs(town, (log_days - train_days) * per_day, seed + 1)
    test = run(town, kept, per_day, epsilon, seed + 11)
    learned, comparison, _pos, summary = learning.learn_split(train.slates, test.slates, hand,
                                                              seed=seed)
    replay, fresh = {}, {}
    stream = needs(town, test_days * per_day, seed + 20)
    for name, w in (("hand", hand), ("learned", learned)):
        t = before.copy()
        t.matcher.weights = w
        replay[name] = run(t, kept, per_day, 0.0, seed + 11).mean()
        t = town.copy()
        t.matcher.weights = w
        fresh[name] = run(t, stream, per_day, 0.0, seed + 30).mean()
    return Experiment(fresh["hand"], fresh["learned"], replay, comparison, learned, summary,
                      len(train.slates) + len(test.slates))


def spread(town: Town, fairness: float, weekly_cap: int, stream: list[Need] | None = None,
           per_day: int = 40, days: int = 30, seed: int = 0) -> Round:
    """The same needs (``stream``, else ``days`` of fresh ones) from the same state, with the
    given fairness weight and weekly cap (0: none). ``town`` is not changed."""
    t = town.copy()
    t.matcher.weights = Weights.from_dict({**t.matcher.weights.as_dict(),
                                           "fairness": fairness})
    t.matcher.weekly_cap = weekly_cap
    return run(t, stream if stream is not None else needs(t, days * per_day, seed), per_day,
               0.0, seed + 40)
