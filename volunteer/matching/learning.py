"""Learning the score's weights from what happened to the lists shown, and checking them offline.

The log: every slate shown (its candidates' features, grades, places, the exploration's swap)
and what became of each candidate — invited or not, and for the invited, accepted in time or
done (positive), declined, left to expire or absent (negative). Shown but not invited tells
nothing about the volunteer and is never a negative.

- ``positions``: how likely a place in the list is to draw an invitation, ``π_k = a·k^−η``.
  The shape ``η`` comes from the exploration's swaps (Joachims, Swaminathan & Schnabel,
  WSDM 2017): when two neighbours swap, how often each is invited at the other's place says
  what the place itself is worth, whoever holds it. Without enough swaps it comes from the
  invitation rate per place, which also counts the better candidates being higher up.
- ``fit``: pairwise logistic regression (the "pairwise transform") over the score's terms
  (``matcher.TERMS``: skill, nearness, nearness when urgent, availability, locality, free,
  free × reliable, reliability): one pair per positive and negative of the same slate, weighted
  by the inverse probability that both were invited. The coefficients, rescaled to the hand
  weights' total, are a set of ``Weights``: reasons stay as explainable as before.
- ``evaluate``: the expected acceptances within 24 h among the top five of each held-out slate
  if it had been ordered by some weights: self-normalised inverse propensity scoring (SNIPS)
  and a doubly robust estimate (a reward model for the residual), each with a bootstrap 95%
  interval. The candidates are the ones logged; a weight set is only judged on re-ordering
  them.

Pure numpy and scikit-learn, no Flask, so the simulator and the benchmark use it as it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression

from volunteer.matching.explore import TOP
from volunteer.matching.matcher import FEATURES, TERMS, Weights, terms

PLACES = 10  # the places of a list that count (a longer list's tail shares the last one's)
MIN_SWAPS = 40  # swapped slates needed to take the position effect from the swaps
WEIGHT_CLIP = 20.0  # no pair weighs more than this many times the average
BOOTSTRAP = 1000


@dataclass
class LoggedSlate:
    """One list shown and what became of its candidates (arrays in the order shown)."""

    features: np.ndarray  # n × len(FEATURES)
    grades: np.ndarray  # n
    invited: np.ndarray  # n, bool
    accepted: np.ndarray  # n, bool: accepted within 24 h of the invitation
    outcome: np.ndarray  # n: +1 positive, −1 negative, 0 none (not invited, open, withdrawn)
    urgent: bool = False
    swap: int | None = None  # the swapped pair's first place (from 1)
    eligible: tuple[int, ...] = ()  # places (from 1) that could have swapped
    # n, bool: invited and whether they accepted within 24 h is known (not still open, not
    # withdrawn unanswered because others filled the places); None: every invited one
    answered: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.grades)

    @property
    def known(self) -> np.ndarray:
        return self.invited if self.answered is None else self.answered


@dataclass
class Positions:
    """Invitation probability by place (index 0 is place 1)."""

    pi: np.ndarray
    eta: float
    swaps: int  # swapped slates the shape rests on (0: invitation rates per place)
    source: str  # "swaps" or "rates"

    def at(self, places: np.ndarray) -> np.ndarray:
        """π at places counted from 1."""
        return self.pi[np.minimum(np.asarray(places) - 1, len(self.pi) - 1)]


@dataclass
class Estimate:
    value: float
    low: float
    high: float

    def as_dict(self) -> dict:
        return {"value": round(self.value, 4), "low": round(self.low, 4),
                "high": round(self.high, 4)}


@dataclass
class Comparison:
    """Two weight sets judged on the same held-out slates."""

    slates: int
    outcomes: int
    current: dict[str, Estimate]  # "snips", "dr"
    learned: dict[str, Estimate]
    difference: dict[str, Estimate]  # learned − current, paired
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"slates": self.slates, "outcomes": self.outcomes,
                **{name: {k: v.as_dict() for k, v in part.items()}
                   for name, part in (("current", self.current), ("learned", self.learned),
                                      ("difference", self.difference))},
                **self.extra}


def outcomes(slates: list[LoggedSlate]) -> int:
    """Invited candidates whose answer is known (positive or negative)."""
    return int(sum(int((s.outcome != 0).sum()) for s in slates))


# -- where in the list -------------------------------------------------------------------------

def _position_table(slates: list[LoggedSlate], places: int = PLACES) -> np.ndarray:
    """Per slate, what the place effect is estimated from (so a resample of slates is a
    weighted sum of rows): for each swappable pair (k, k+1) of the top five the four counts
    A (upper one invited in place, unswapped), C (lower one in place), B (upper one invited a
    place lower, swapped), D (lower one a place higher, swapped); then candidates shown and
    invited per place; then whether the slate was swapped."""
    pairs = TOP - 1
    out = np.zeros((len(slates), pairs * 4 + 2 * places + 1))
    for n, s in enumerate(slates):
        for k in s.eligible:
            if not 1 <= k < TOP or s.n <= k:
                continue
            col = (k - 1) * 4
            if s.swap is None:
                out[n, col] += s.invited[k - 1]
                out[n, col + 1] += s.invited[k]
            elif s.swap == k:
                out[n, col + 2] += s.invited[k]
                out[n, col + 3] += s.invited[k - 1]
        m = min(s.n, places)
        out[n, pairs * 4:pairs * 4 + m] += 1
        out[n, pairs * 4 + places:pairs * 4 + places + m] += s.invited[:m]
        if s.n > places:  # a longer list's tail counts at the last place
            out[n, pairs * 4 + places - 1] += s.n - places
            out[n, pairs * 4 + 2 * places - 1] += s.invited[places:].sum()
        out[n, -1] = s.swap is not None
    return out


def _positions_from(sums: np.ndarray, places: int = PLACES) -> Positions:
    """The place effect from summed ``_position_table`` rows."""
    pairs = TOP - 1
    swapped = int(sums[-1])
    shown = sums[pairs * 4:pairs * 4 + places]
    invited = sums[pairs * 4 + places:pairs * 4 + 2 * places]
    eta, source = None, "rates"
    if swapped >= MIN_SWAPS:
        eta = _eta_from_swaps(sums[:pairs * 4].reshape(pairs, 4))
        if eta is not None:
            source = "swaps"
    if eta is None:
        eta, swapped = _eta_from_rates(shown, invited), 0
    shape = np.arange(1, places + 1, dtype=float) ** -eta
    expected = float((shape * shown).sum())
    level = float(invited.sum()) / expected if expected else 0.0
    return Positions(np.clip(shape * level, 1e-3, 1.0), float(eta), swapped, source)


def positions(slates: list[LoggedSlate], places: int = PLACES) -> Positions:
    """The invitation probability of each place, ``π_k = a·k^−η``: the shape from the swaps
    when there are enough, the level so that as many invitations are expected as were made."""
    return _positions_from(_position_table(slates, places).sum(axis=0), places)


def _eta_from_swaps(counts: np.ndarray) -> float | None:
    """η from each swappable pair (k, k+1), rows of (A, C, B, D): the same two candidates
    invited at each other's places, ρ² = (B·C) / (A·D) = (π_{k+1} / π_k)², fitted as
    ρ = ((k+1)/k)^−η by weighted least squares on the logarithms."""
    xs, ys, ws = [], [], []
    for k, (a, c, b, d) in enumerate(counts + 0.5, start=1):  # no count is ever zero
        if min(b, d) < 1.5:  # no swap of this pair was invited: it says nothing
            continue
        xs.append(np.log((k + 1) / k))
        ys.append(-0.5 * (np.log(b) + np.log(c) - np.log(a) - np.log(d)))
        ws.append(1.0 / (0.25 * (1 / a + 1 / b + 1 / c + 1 / d)))
    if not xs:
        return None
    x, y, w = np.asarray(xs), np.asarray(ys), np.asarray(ws)
    return float(np.clip((w * x * y).sum() / (w * x * x).sum(), 0.0, 3.0))


def _eta_from_rates(shown: np.ndarray, invited: np.ndarray) -> float:
    """η from the invitation rate per place (which also counts the better candidates being
    higher up: a fallback)."""
    ok = (shown > 0) & (invited > 0)
    if ok.sum() < 2 or not ok[0]:
        return 1.0
    rate = invited[ok] / shown[ok]
    x = np.log(np.arange(1, len(shown) + 1)[ok])
    y = np.log(rate[0]) - np.log(rate)
    return float(np.clip((x * y).sum() / max((x * x).sum(), 1e-9), 0.0, 3.0))


# -- learning ----------------------------------------------------------------------------------

def slate_terms(s: LoggedSlate, scale_km: float) -> np.ndarray:
    """The score's terms (n × TERMS) of a logged slate's candidates."""
    f = {name: s.features[:, i] if s.features.shape[1] > i else np.zeros(s.n)
         for i, name in enumerate(FEATURES)}
    return terms(f["skill_fit"], f["distance_km"], f["availability"], f["locality"], f["load"],
                 f["reliability"], s.urgent, scale_km)


def fit(slates: list[LoggedSlate], pos: Positions, base: Weights) -> tuple[Weights, dict]:
    """Pairwise logistic regression over the score's terms; the weights (scaled to the hand
    weights' total, the rest of ``base`` kept) and a summary (pairs, raw coefficients)."""
    diffs, weights = [], []
    for s in slates:
        good = np.flatnonzero(s.outcome > 0)
        bad = np.flatnonzero(s.outcome < 0)
        if not len(good) or not len(bad):
            continue
        t = slate_terms(s, base.distance_scale_km)
        p = pos.at(np.arange(1, s.n + 1))
        for i in good:
            for j in bad:
                diffs.append(t[i] - t[j])
                weights.append(1.0 / (p[i] * p[j]))
    if len(diffs) < 2:
        raise ValueError("no pairs")
    x = np.asarray(diffs)
    w = np.asarray(weights)
    w = np.minimum(w / w.mean(), WEIGHT_CLIP)
    model = LogisticRegression(C=1.0, fit_intercept=False, max_iter=1000)
    model.fit(np.vstack([x, -x]), np.r_[np.ones(len(x)), np.zeros(len(x))],
              sample_weight=np.r_[w, w])
    beta = model.coef_[0]
    total = float(np.abs(base.vector()).sum()) or 1.0
    scale = total / max(float(np.abs(beta).sum()), 1e-9)
    learned = Weights.from_dict({**base.as_dict(),
                                 **{t: round(float(b * scale), 4) for t, b in zip(TERMS, beta,
                                                                                 strict=True)}})
    return learned, {"pairs": len(x), "coefficients": {t: round(float(b), 4)
                                                      for t, b in zip(TERMS, beta, strict=True)}}


def reward_model(slates: list[LoggedSlate], pos: Positions, scale_km: float):
    """P(accepted within 24 h | invited, terms), weighted to the whole list (for the doubly
    robust estimate), as a function of a slate; a constant when the log cannot fit one."""
    xs, ys, ws = [], [], []
    for s in slates:
        inv = np.flatnonzero(s.known)
        if not len(inv):
            continue
        t = slate_terms(s, scale_km)
        xs.append(t[inv])
        ys.append(s.accepted[inv].astype(int))
        ws.append(1.0 / pos.at(inv + 1))
    if not xs:
        return lambda s: np.zeros(s.n)
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    if len(set(y.tolist())) < 2:
        rate = float(y.mean())
        return lambda s: np.full(s.n, rate)
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(x, y, sample_weight=np.minimum(w / w.mean(), WEIGHT_CLIP))
    return lambda s: model.predict_proba(slate_terms(s, scale_km))[:, 1]


# -- judging -----------------------------------------------------------------------------------

def order(s: LoggedSlate, weights: Weights) -> np.ndarray:
    """The logged candidates re-ordered by ``weights`` (grade first, as the matcher does)."""
    score = slate_terms(s, weights.distance_scale_km) @ weights.vector()
    lately = s.features[:, FEATURES.index("asked_lately")] \
        if s.features.shape[1] > FEATURES.index("asked_lately") else np.zeros(s.n)
    score = score - weights.fairness * lately
    return np.lexsort((np.arange(s.n), -np.round(score, 4), -s.grades))


def _tables(slates: list[LoggedSlate], weights: Weights, reward, top: int) -> dict:
    """Per slate, by (new place ≤ top, logged place): acceptances and answered invitations of
    the candidates the weights would put in the top; the reward model's sum per new place and
    its residuals; and the invitations actually made in the top (the normaliser: how many
    invitations the top draws depends on the places only)."""
    n = len(slates)
    acc = np.zeros((n, top, PLACES))
    inv = np.zeros((n, top, PLACES))
    res = np.zeros((n, top, PLACES))
    rhat = np.zeros((n, top))
    made = np.zeros(n)
    for m, s in enumerate(slates):
        new = np.empty(s.n, dtype=int)
        new[order(s, weights)] = np.arange(s.n)
        keep = np.flatnonzero(new < top)
        old = np.minimum(keep, PLACES - 1)
        r = reward(s)[keep]
        np.add.at(acc[m], (new[keep], old), s.accepted[keep])
        np.add.at(inv[m], (new[keep], old), s.known[keep])
        np.add.at(res[m], (new[keep], old), s.known[keep] * (s.accepted[keep] - r))
        np.add.at(rhat[m], new[keep], r)
        made[m] = s.invited[:top].sum()
    return {"acc": acc.reshape(n, -1), "inv": inv.reshape(n, -1), "res": res.reshape(n, -1),
            "rhat": rhat, "made": made}


def _estimates(t: dict, counts: np.ndarray, pis: np.ndarray, top: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """SNIPS and DR for each row of ``counts`` (a resample of the slates) with the place
    effect of the same row of ``pis``."""
    ratio = (pis[:, :top, None] / pis[:, None, :]).reshape(len(pis), -1)  # new / logged
    total = counts.sum(axis=1)
    num = ((counts @ t["acc"]) * ratio).sum(axis=1)
    den = ((counts @ t["inv"]) * ratio).sum(axis=1)
    snips = np.where(den > 0, num / np.maximum(den, 1e-12), 0.0) * (counts @ t["made"]) / total
    dr = (((counts @ t["rhat"]) * pis[:, :top]).sum(axis=1)
          + ((counts @ t["res"]) * ratio).sum(axis=1)) / total
    return snips, dr


def compare(train: list[LoggedSlate], test: list[LoggedSlate], current: Weights,
            learned: Weights, reward, top: int = TOP, resamples: int = BOOTSTRAP,
            seed: int = 0) -> Comparison:
    """Both weight sets on the same held-out slates. The 95% intervals are paired bootstrap
    percentiles that resample the held-out slates and, with them, the learning slates the
    place effect was estimated from (its uncertainty is part of the interval)."""
    rng = np.random.default_rng(seed)

    def draws(n: int) -> np.ndarray:
        return np.vstack([np.ones(n), rng.multinomial(n, np.full(n, 1.0 / n), size=resamples)])

    table = _position_table(train)
    pis = np.vstack([_positions_from(row).pi for row in draws(len(train)) @ table])
    counts = draws(len(test))
    a = _estimates(_tables(test, current, reward, top), counts, pis, top)
    b = _estimates(_tables(test, learned, reward, top), counts, pis, top)

    def est(values: np.ndarray) -> Estimate:
        lo, hi = np.percentile(values[1:], [2.5, 97.5])
        return Estimate(float(values[0]), float(lo), float(hi))

    names = ("snips", "dr")
    return Comparison(
        slates=len(test), outcomes=outcomes(test),
        current={k: est(a[i]) for i, k in enumerate(names)},
        learned={k: est(b[i]) for i, k in enumerate(names)},
        difference={k: est(b[i] - a[i]) for i, k in enumerate(names)})


def learn(slates: list[LoggedSlate], current: Weights, held_out: float = 0.3,
          seed: int = 0) -> tuple[Weights, Comparison, Positions, dict]:
    """The whole procedure on slates in time order: the older part to learn from, the newer
    ``held_out`` share to judge both weight sets on. Raises ValueError with nothing to learn."""
    cut = int(round(len(slates) * (1 - held_out)))
    return learn_split(slates[:cut], slates[cut:], current, seed)


def learn_split(train: list[LoggedSlate], test: list[LoggedSlate], current: Weights,
                seed: int = 0) -> tuple[Weights, Comparison, Positions, dict]:
    """Learn from ``train``, judge both weight sets on ``test``."""
    if not train or not test:
        raise ValueError("too few slates")
    pos = positions(train)
    learned, summary = fit(train, pos, current)
    reward = reward_model(train, pos, current.distance_scale_km)
    comparison = compare(train, test, current, learned, reward, seed=seed)
    summary.update({"train_slates": len(train), "train_outcomes": outcomes(train),
                    "eta": round(pos.eta, 3), "position_source": pos.source,
                    "swaps": pos.swaps, "pi": [round(float(p), 3) for p in pos.pi]})
    return learned, comparison, pos, summary
