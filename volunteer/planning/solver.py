"""Batch assignment: many needs and many volunteers matched at once, for the highest total score.

A need (an open issue needing helpers, a coming session needing staff) has places to fill and
maybe a time; a volunteer can take a few more tasks (what is left of the monthly limit) and is
already busy at some times; the matcher scored every fitting (need, volunteer) pair. ``plan``
chooses the pairs to invite: the total score as high as possible, no need over its places, no
volunteer over their limit, nobody at two places at once or at a time they are already busy.

The planner is a min-cost flow (OR-Tools): source → volunteer (their limit) → one node per
group of that volunteer's mutually overlapping needs (at most one of them) → need (its places)
→ sink, with a bypass so that nothing is forced. Overlaps are intervals, so a volunteer whose
needs form a chain (a overlaps b, b overlaps c, a and c apart) gets one node per maximal
clique instead, and each need passes through one of them: a relaxation, exact whenever the
flow's answer respects every overlap. When it does not, a dive (ban the weaker option of each
clashing pair, solve again) and then a small branch and bound (ban one or the other) search for
the best plan within a budget of solves; a repair (per volunteer the best subset without
overlaps), a greedy fill of open places and one-for-one swaps make every candidate feasible.
``lp_bound`` is the LP relaxation's optimum, an upper bound on any plan's total; ``greedy`` is
what a leader matching one need at a time does.

Times are minutes on any common clock; intervals are half-open, [start, end).
"""
from __future__ import annotations

import math
import operator
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy import sparse
from scipy.optimize import linprog

SCALE = 10_000  # the flow's integer costs: score units of 1/10,000
FLOOR = 1e-3  # what an option scoring <= 0 is worth: covering a place still counts
DEFAULT_MINUTES = 120.0  # the length of a need with a start and no end
# The default budget of flow solves: about WORK / options, within SOLVES (at least, at most);
# small plans are searched to the end, large ones still get the dive and some branching.
WORK = 1_000_000
SOLVES = (10, 1_000)

__all__ = ["Helper", "Need", "Option", "Result", "greedy", "lp_bound", "plan", "violations",
           "why_uncovered"]


@dataclass(frozen=True)
class Need:
    """Places to fill, and maybe a time (``ends`` None with a start: two hours)."""

    places: int
    starts: float | None = None
    ends: float | None = None


@dataclass(frozen=True)
class Helper:
    """A volunteer: how many further tasks they may take, and the times already taken."""

    capacity: int
    busy: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Option:
    """The matcher's score for one volunteer on one need (indices into the two lists)."""

    need: int
    helper: int
    score: float


@dataclass
class Result:
    """The chosen options (indices, sorted), their real total, places filled per need."""

    chosen: list[int]
    total: float
    filled: list[int]
    seconds: float
    method: str


@dataclass
class _Problem:
    """Validated input; ``pos`` arrays cover the options worth considering (one per pair)."""

    places: np.ndarray  # per need
    start: np.ndarray  # per need, NaN when untimed
    end: np.ndarray
    capacity: np.ndarray  # per helper
    busy: list[list[tuple[float, float]]]
    o_need: np.ndarray  # per input option
    o_helper: np.ndarray
    o_score: np.ndarray
    keep: np.ndarray  # input indices of the options considered
    need: np.ndarray  # per kept option
    helper: np.ndarray
    score: np.ndarray
    gain: np.ndarray  # scaled, floored integer score
    s: np.ndarray  # the option's interval (its need's), NaN when untimed
    e: np.ndarray


def _count(value: object, what: str) -> int:
    try:
        n = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{what} must be a whole number, got {value!r}") from None
    if n < 0:
        raise ValueError(f"{what} must be >= 0, got {n}")
    return n


def _time(value: object, what: str) -> float:
    t = float(value)  # type: ignore[arg-type]
    if not math.isfinite(t):
        raise ValueError(f"{what} must be a finite time, got {value!r}")
    return t


def _prepare(needs: Sequence[Need], helpers: Sequence[Helper],
             options: Sequence[Option]) -> _Problem:
    """Check the input; keep the best option per pair, drop those that can never be taken."""
    n_need, n_helper = len(needs), len(helpers)
    places = np.array([_count(n.places, f"need {j} places") for j, n in enumerate(needs)],
                      dtype=np.int64)
    start = np.full(n_need, np.nan)
    end = np.full(n_need, np.nan)
    for j, n in enumerate(needs):
        if n.starts is None:
            continue
        start[j] = _time(n.starts, f"need {j} starts")
        end[j] = start[j] + DEFAULT_MINUTES if n.ends is None else _time(n.ends, f"need {j} ends")
        if end[j] <= start[j]:
            raise ValueError(f"need {j} must end after it starts")
    capacity = np.array([_count(h.capacity, f"helper {i} capacity")
                         for i, h in enumerate(helpers)], dtype=np.int64)
    busy: list[list[tuple[float, float]]] = []
    for i, h in enumerate(helpers):
        spans = []
        for b in h.busy:
            bs, be = _time(b[0], f"helper {i} busy start"), _time(b[1], f"helper {i} busy end")
            if be < bs:
                raise ValueError(f"helper {i} busy interval ends before it starts")
            if be > bs:  # an empty interval takes no time
                spans.append((bs, be))
        busy.append(spans)
    o_need = np.fromiter((_count(o.need, "option need") for o in options), np.int64, len(options))
    o_helper = np.fromiter((_count(o.helper, "option helper") for o in options), np.int64,
                           len(options))
    o_score = np.fromiter((float(o.score) for o in options), np.float64, len(options))
    if len(options):
        if o_need.max() >= n_need:
            raise ValueError(f"option {int(np.argmax(o_need >= n_need))} refers to a need that "
                             f"does not exist")
        if o_helper.max() >= n_helper:
            raise ValueError(f"option {int(np.argmax(o_helper >= n_helper))} refers to a helper "
                             f"that does not exist")
        if not np.isfinite(o_score).all():
            raise ValueError(f"option {int(np.argmax(~np.isfinite(o_score)))} has no valid score")
    # One option per pair: the best score, then the first given.
    order = np.lexsort((np.arange(len(options)), -o_score, o_helper, o_need))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (o_need[order][1:] != o_need[order][:-1]) | (
        o_helper[order][1:] != o_helper[order][:-1])
    keep = np.sort(order[first])
    keep = keep[(places[o_need[keep]] > 0) & (capacity[o_helper[keep]] > 0)]
    s, e = start[o_need[keep]], end[o_need[keep]]
    clash = np.zeros(len(keep), dtype=bool)
    for k in np.flatnonzero(~np.isnan(s)):
        clash[k] = any(bs < e[k] and s[k] < be for bs, be in busy[o_helper[keep[k]]])
    keep = keep[~clash]
    score = o_score[keep]
    return _Problem(places, start, end, capacity, busy, o_need, o_helper, o_score, keep,
                    o_need[keep], o_helper[keep], score,
                    np.rint(np.maximum(score, FLOOR) * SCALE).astype(np.int64),
                    start[o_need[keep]], end[o_need[keep]])


def _cliques(items: list[int], s: np.ndarray, e: np.ndarray) -> list[list[int]]:
    """The maximal cliques of intervals sorted by start: at each start, those containing it."""
    out, active = [], []
    for k, i in enumerate(items):
        active = [a for a in active if e[a] > s[i]] + [i]
        if k + 1 == len(items) or s[items[k + 1]] >= min(e[a] for a in active):
            out.append(active)
    return out


def _groups(p: _Problem) -> tuple[np.ndarray, list[int]]:
    """Per kept option the group node it passes through (-1: none), and each group's helper.

    A volunteer's timed options split into connected components of overlap; a component
    that is a clique is one group; otherwise each option joins the largest maximal clique
    that contains it (a relaxation: options in one group always overlap).
    """
    via = np.full(len(p.keep), -1, dtype=np.int64)
    owner: list[int] = []
    timed = np.flatnonzero(~np.isnan(p.s))
    order = timed[np.lexsort((p.e[timed], p.s[timed], p.helper[timed]))].tolist()
    helper = p.helper.tolist()

    def close(comp: list[int]) -> None:
        if len(comp) < 2:
            return
        if max(p.s[i] for i in comp) < min(p.e[i] for i in comp):
            parts = [comp]
        else:
            cliques = sorted(_cliques(comp, p.s, p.e), key=len, reverse=True)
            home: dict[int, int] = {}
            for c, members in enumerate(cliques):
                for i in members:
                    home.setdefault(i, c)
            parts = [[i for i in comp if home[i] == c] for c in range(len(cliques))]
        for part in parts:
            if len(part) > 1:
                via[part] = len(owner)
                owner.append(helper[part[0]])

    comp: list[int] = []
    reach = -math.inf
    for i in order:
        if comp and (helper[i] != helper[comp[0]] or p.s[i] >= reach):
            close(comp)
            comp = []
        if not comp:
            reach = p.e[i]
        comp.append(i)
        reach = max(reach, p.e[i])
    close(comp)
    return via, owner


class _Flow:
    """The network, built once; each solve bans some options (their arcs get capacity 0)."""

    def __init__(self, p: _Problem) -> None:
        via, owner = _groups(p)
        n_helper, n_need, k = len(p.capacity), len(p.places), len(p.keep)
        h0, n0, g0 = 2, 2 + n_helper, 2 + n_helper + n_need
        per_helper = np.bincount(p.helper, minlength=n_helper)
        per_need = np.bincount(p.need, minlength=n_need)
        hs = np.flatnonzero(per_helper)
        ns = np.flatnonzero(per_need)
        h_cap = np.minimum(p.capacity[hs], per_helper[hs])
        supply = int(h_cap.sum())
        tails = np.concatenate([
            np.where(via < 0, h0 + p.helper, g0 + via),  # option arcs first
            np.zeros(len(hs)), h0 + np.asarray(owner, dtype=np.int64), n0 + ns, [0]])
        heads = np.concatenate([
            n0 + p.need, h0 + hs, g0 + np.arange(len(owner)), np.ones(len(ns)), [1]])
        caps = np.concatenate([np.ones(k), h_cap, np.ones(len(owner)),
                               np.minimum(p.places[ns], per_need[ns]), [supply]])
        costs = np.concatenate([-p.gain, np.zeros(len(hs) + len(owner) + len(ns) + 1)])
        self.net = min_cost_flow.SimpleMinCostFlow()
        self.arcs = self.net.add_arcs_with_capacity_and_unit_cost(
            tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64),
            costs.astype(np.int64))[:k]
        self.net.set_nodes_supplies(np.array([0, 1], dtype=np.int32),
                                    np.array([supply, -supply], dtype=np.int64))

    def solve(self, banned: frozenset[int]) -> tuple[int, np.ndarray]:
        """The relaxation's best value (scaled) and chosen options, without the banned ones."""
        caps = np.ones(len(self.arcs), dtype=np.int64)
        caps[list(banned)] = 0
        self.net.set_arc_capacities(self.arcs, caps)
        if self.net.solve() != self.net.OPTIMAL:
            raise RuntimeError("the min-cost flow found no optimum")
        return -int(self.net.optimal_cost()), np.flatnonzero(self.net.flows(self.arcs) > 0)


def _clashes(p: _Problem, chosen: np.ndarray) -> list[tuple[int, int]]:
    """Pairs of chosen options of one volunteer that overlap (adjacent by start; none if none)."""
    t = chosen[~np.isnan(p.s[chosen])]
    t = t[np.lexsort((p.s[t], p.helper[t]))]
    bad = (p.helper[t[1:]] == p.helper[t[:-1]]) & (p.s[t[1:]] < p.e[t[:-1]])
    return [(int(t[k]), int(t[k + 1])) for k in np.flatnonzero(bad)]


def _best_apart(items: list[int], p: _Problem) -> list[int]:
    """The highest-gain subset of one volunteer's timed options with no two overlapping."""
    items = sorted(items, key=lambda i: p.e[i])
    ends = [p.e[i] for i in items]
    best = [0] * (len(items) + 1)
    for k, i in enumerate(items):
        before = bisect_right(ends, p.s[i], 0, k)
        best[k + 1] = max(best[k], best[before] + int(p.gain[i]))
    out, k = [], len(items)
    while k:
        i = items[k - 1]
        before = bisect_right(ends, p.s[i], 0, k - 1)
        if best[k] == best[k - 1]:
            k -= 1
        else:
            out.append(i)
            k = before
    return out


class _State:
    """A feasible plan under construction, with the counts that feasibility needs."""

    def __init__(self, p: _Problem, chosen: Sequence[int] = ()) -> None:
        self.p = p
        self.on = np.zeros(len(p.keep), dtype=bool)
        self.need_left = p.places.copy()
        self.helper_left = p.capacity.copy()
        self.of_helper: defaultdict[int, list[int]] = defaultdict(list)
        for i in chosen:
            self.add(int(i))

    def fits(self, i: int) -> bool:
        p = self.p
        if self.on[i] or self.need_left[p.need[i]] <= 0 or self.helper_left[p.helper[i]] <= 0:
            return False
        return not self.overlapping(i)

    def overlapping(self, i: int) -> list[int]:
        p = self.p
        if math.isnan(p.s[i]):
            return []
        return [c for c in self.of_helper[p.helper[i]] if p.s[c] < p.e[i] and p.s[i] < p.e[c]]

    def add(self, i: int) -> None:
        self.on[i] = True
        self.need_left[self.p.need[i]] -= 1
        self.helper_left[self.p.helper[i]] -= 1
        self.of_helper[self.p.helper[i]].append(i)

    def drop(self, i: int) -> None:
        self.on[i] = False
        self.need_left[self.p.need[i]] += 1
        self.helper_left[self.p.helper[i]] += 1
        self.of_helper[self.p.helper[i]].remove(i)

    def value(self) -> int:
        return int(self.p.gain[self.on].sum())

    def fill(self, order: np.ndarray) -> None:
        """Add every option that still fits, in the given order (best gain first)."""
        p = self.p
        # Places and limits only shrink while filling: what does not fit now never will.
        order = order[~self.on[order] & (self.need_left[p.need[order]] > 0)
                      & (self.helper_left[p.helper[order]] > 0)]
        for i in order.tolist():
            if self.fits(i):
                self.add(i)

    def best_fit(self, options: list[int], other_than: int) -> int | None:
        """The best option for a need that fits now, from a volunteer other than one."""
        for q in options:
            if self.p.helper[q] != other_than and self.fits(q):
                return q
        return None

    def swap(self, by_need: list[list[int]], rounds: int = 3) -> None:
        """Give an open place a volunteer who leaves another need, when that gains overall."""
        p = self.p
        for _ in range(rounds):
            better = False
            for n in np.flatnonzero(self.need_left > 0).tolist():
                for o in by_need[n]:
                    if self.need_left[n] <= 0:
                        break
                    if self.on[o]:
                        continue
                    h = int(p.helper[o])
                    over = self.overlapping(o)
                    if len(over) > 1 or (not over and self.helper_left[h] <= 0 and
                                         not self.of_helper[h]):
                        continue
                    if not over and self.helper_left[h] > 0:
                        self.add(o)
                        better = True
                        continue
                    gone = over or list(self.of_helper[h])
                    best = None
                    for c in gone:
                        self.drop(c)
                        self.add(o)
                        q = self.best_fit(by_need[p.need[c]], h)
                        delta = int(p.gain[o] - p.gain[c]) + (int(p.gain[q]) if q is not None
                                                               else 0)
                        self.drop(o)
                        self.add(c)
                        if delta > 0 and (best is None or delta > best[0]):
                            best = (delta, c, q)
                    if best is not None:
                        _, c, q = best
                        self.drop(c)
                        self.add(o)
                        if q is not None:
                            self.add(q)
                        better = True
            if not better:
                return


def _result(p: _Problem, picked: Sequence[int], started: float, method: str) -> Result:
    picked = np.asarray(sorted(int(i) for i in picked), dtype=np.int64)
    chosen = sorted(p.keep[picked].tolist())
    filled = np.bincount(p.need[picked], minlength=len(p.places)).tolist()
    return Result(chosen, float(p.score[picked].sum()), filled, time.perf_counter() - started,
                  method)


def plan(needs: Sequence[Need], helpers: Sequence[Helper], options: Sequence[Option], *,
         solves: int | None = None, time_limit: float | None = None) -> Result:
    """The plan with the highest total score (min-cost flow; see the module docstring).

    Options scoring <= 0 count as 0.001: a place filled beats a place left open. ``solves``
    bounds the flow solves that settle overlaps of chained needs (by default 10 to 1,000, fewer
    the more options), and ``time_limit`` (seconds) stops them early; either way the plan is
    feasible, the best found.
    """
    started = time.perf_counter()
    deadline = math.inf if time_limit is None else started + time_limit
    p = _prepare(needs, helpers, options)
    if not len(p.keep):
        return _result(p, [], started, "flow")
    by_gain = np.argsort(-p.gain, kind="stable")
    by_need: list[list[int]] = [[] for _ in p.places]
    for i in by_gain.tolist():
        by_need[p.need[i]].append(i)
    if solves is None:
        solves = min(max(WORK // len(p.keep), SOLVES[0]), SOLVES[1])
    flow = _Flow(p)
    best = _State(p)
    best.fill(by_gain)
    best_value = best.value()

    def consider(chosen: np.ndarray, clashes: list[tuple[int, int]]) -> None:
        """Repair a relaxed answer (per volunteer the best subset without overlaps), fill
        the places left open, and keep it if it is the best plan so far."""
        nonlocal best, best_value
        keep = set(chosen.tolist())
        for h in {int(p.helper[a]) for a, _ in clashes}:
            mine = [i for i in keep if p.helper[i] == h and not math.isnan(p.s[i])]
            keep -= set(mine) - set(_best_apart(mine, p))
        trial = _State(p, sorted(keep))
        trial.fill(by_gain)
        if trial.value() > best_value:
            best, best_value = trial, trial.value()

    # A dive first: ban the weaker option of every clash and solve again, until none is left.
    banned: frozenset[int] = frozenset()
    root: list[tuple[int, int]] = []
    ceiling = math.inf  # the root's bound
    while solves > 0 and time.perf_counter() < deadline:
        solves -= 1
        bound, chosen = flow.solve(banned)
        clashes = _clashes(p, chosen)
        consider(chosen, clashes)
        if not banned:
            ceiling = bound
            root = clashes if bound > best_value else []
        if not clashes or bound <= best_value:
            break
        banned |= {a if p.gain[a] <= p.gain[b] else b for a, b in clashes}
    # Then branch and bound: one of two clashing options goes, in turn, from the root.
    stack: list[frozenset[int]] = []
    _branch(stack, frozenset(), root, p)
    while stack and solves > 0 and time.perf_counter() < deadline:
        banned = stack.pop()
        solves -= 1
        bound, chosen = flow.solve(banned)
        if bound <= best_value:
            continue
        clashes = _clashes(p, chosen)
        if not clashes:  # a relaxation's optimum that is feasible: the best of this branch
            best, best_value = _State(p, chosen), bound
            continue
        consider(chosen, clashes)
        _branch(stack, banned, clashes, p)
    if best_value < ceiling:  # not proven the best: try to better it
        best.fill(by_gain)
        best.swap(by_need)
    return _result(p, np.flatnonzero(best.on), started, "flow")


def _branch(stack: list[frozenset[int]], banned: frozenset[int],
           clashes: list[tuple[int, int]], p: _Problem) -> None:
    """Push the two branches of the most valuable clash, the weaker option banned first."""
    if not clashes:
        return
    a, b = max(clashes, key=lambda ab: min(p.gain[ab[0]], p.gain[ab[1]]))
    weak, strong = (a, b) if p.gain[a] <= p.gain[b] else (b, a)
    stack.append(banned | {strong})
    stack.append(banned | {weak})  # explored first


def _default_order(p: _Problem) -> list[int]:
    return sorted(range(len(p.places)),
                  key=lambda j: (math.isnan(p.start[j]), 0.0 if math.isnan(p.start[j])
                                 else p.start[j], j))


def greedy(needs: Sequence[Need], helpers: Sequence[Helper], options: Sequence[Option],
           order: Sequence[int] | None = None) -> Result:
    """One need at a time, each taking its best-scoring volunteers still free: the baseline.

    The default order is by start time, untimed needs last, then by index; needs that
    ``order`` leaves out follow in the default order.
    """
    started = time.perf_counter()
    p = _prepare(needs, helpers, options)
    seq: list[int] = []
    for j in () if order is None else order:
        j = _count(j, "order entry")
        if j >= len(p.places):
            raise ValueError(f"order names need {j}, which does not exist")
        seq.append(j)
    seen = set(seq)
    seq = list(dict.fromkeys(seq)) + [j for j in _default_order(p) if j not in seen]
    by_need: list[list[int]] = [[] for _ in p.places]
    for i in np.lexsort((np.arange(len(p.keep)), -p.score)).tolist():
        by_need[p.need[i]].append(i)
    state = _State(p)
    for j in seq:
        for i in by_need[j]:
            if state.need_left[j] <= 0:
                break
            if state.fits(i):
                state.add(i)
    return _result(p, np.flatnonzero(state.on), started, "greedy")


def lp_bound(needs: Sequence[Need], helpers: Sequence[Helper],
             options: Sequence[Option]) -> float:
    """The LP relaxation's optimum: no plan's total can be higher.

    x in [0, 1] per option; per need at most its places, per volunteer at most their limit,
    and per volunteer and start point of one of their needs at most one need containing it.
    """
    p = _prepare(needs, helpers, options)
    k = len(p.keep)
    if not k:
        return 0.0
    rows, cols = [p.need, len(p.places) + p.helper], [np.arange(k), np.arange(k)]
    rhs = [p.places.astype(float), p.capacity.astype(float)]
    row = len(p.places) + len(p.capacity)
    timed = np.flatnonzero(~np.isnan(p.s))
    timed = timed[np.lexsort((p.s[timed], p.helper[timed]))]
    cut = np.flatnonzero(np.diff(p.helper[timed])) + 1
    extra_r: list[int] = []
    extra_c: list[int] = []
    for mine in np.split(timed, cut):
        if len(mine) < 2:
            continue
        s, e = p.s[mine], p.e[mine]
        for point in np.unique(s):
            inside = mine[(s <= point) & (point < e)]
            if len(inside) > 1:
                extra_r += [row] * len(inside)
                extra_c += inside.tolist()
                row += 1
    rows.append(np.asarray(extra_r, dtype=np.int64))
    cols.append(np.asarray(extra_c, dtype=np.int64))
    rhs.append(np.ones(row - len(p.places) - len(p.capacity)))
    a = sparse.csr_matrix((np.ones(sum(len(r) for r in rows)),
                           (np.concatenate(rows), np.concatenate(cols))), shape=(row, k))
    res = linprog(-np.maximum(p.score, 0.0), A_ub=a, b_ub=np.concatenate(rhs), bounds=(0, 1),
                  method="highs")
    if res.status != 0:
        raise RuntimeError(f"the LP relaxation failed: {res.message}")
    return float(-res.fun)


def _overlap(s1: float, e1: float, s2: float, e2: float) -> bool:
    return s1 < e2 and s2 < e1


def violations(needs: Sequence[Need], helpers: Sequence[Helper], options: Sequence[Option],
               chosen: Sequence[int]) -> list[str]:
    """Every broken constraint of a choice of options, in words; [] when it is feasible."""
    p = _prepare(needs, helpers, options)
    out: list[str] = []
    picked: list[int] = []
    picked_set: set[int] = set()
    for i in chosen:
        if not 0 <= i < len(options):
            out.append(f"option {i} does not exist")
        elif i in picked_set:
            out.append(f"option {i} chosen twice")
        else:
            picked.append(i)
            picked_set.add(i)
    pairs: dict[tuple[int, int], int] = {}
    of_need: dict[int, list[int]] = {}
    of_helper: dict[int, list[int]] = {}
    for i in picked:
        n, h = int(p.o_need[i]), int(p.o_helper[i])
        if (n, h) in pairs:
            out.append(f"helper {h} twice for need {n} (options {pairs[n, h]} and {i})")
        pairs.setdefault((n, h), i)
        of_need.setdefault(n, []).append(i)
        of_helper.setdefault(h, []).append(i)
    for n, mine in sorted(of_need.items()):
        if len(mine) > p.places[n]:
            out.append(f"need {n}: {len(mine)} helpers for {p.places[n]} places")
    for h, mine in sorted(of_helper.items()):
        if len(mine) > p.capacity[h]:
            out.append(f"helper {h}: {len(mine)} needs, limit {p.capacity[h]}")
        timed = sorted({int(p.o_need[i]) for i in mine if not math.isnan(p.start[p.o_need[i]])})
        for x, n in enumerate(timed):
            for m in timed[x + 1:]:
                if _overlap(p.start[n], p.end[n], p.start[m], p.end[m]):
                    out.append(f"helper {h}: needs {n} and {m} overlap")
            for bs, be in p.busy[h]:
                if _overlap(p.start[n], p.end[n], bs, be):
                    out.append(f"helper {h} is busy during need {n}")
    return out


def why_uncovered(needs: Sequence[Need], helpers: Sequence[Helper], options: Sequence[Option],
                  chosen: Sequence[int]) -> dict[int, str]:
    """Why each need with places still open after ``chosen`` has them.

    no_candidates: nobody (else) to ask; at_limit: every other candidate has used their limit;
    busy: every other candidate is busy then (a busy time, or a chosen need that overlaps);
    taken: some at their limit, the others busy; free: someone could still be asked (only
    when ``chosen`` leaves a fitting candidate out, which ``plan`` and ``greedy`` never do).
    """
    p = _prepare(needs, helpers, options)
    picked = sorted({int(i) for i in chosen if 0 <= i < len(options)})
    used = np.bincount(p.o_helper[picked], minlength=len(p.capacity))
    filled = np.bincount(p.o_need[picked], minlength=len(p.places))
    on = {(int(p.o_need[i]), int(p.o_helper[i])) for i in picked}
    of_helper: dict[int, list[int]] = {}
    for i in picked:
        of_helper.setdefault(int(p.o_helper[i]), []).append(int(p.o_need[i]))
    candidates: dict[int, set[int]] = {}
    for n, h in zip(p.o_need.tolist(), p.o_helper.tolist(), strict=True):
        if (n, h) not in on:
            candidates.setdefault(n, set()).add(h)
    out: dict[int, str] = {}
    for n in np.flatnonzero(filled < p.places).tolist():
        reasons = set()
        for h in candidates.get(n, ()):
            if used[h] >= p.capacity[h]:
                reasons.add("at_limit")
            elif not math.isnan(p.start[n]) and (
                    any(_overlap(p.start[n], p.end[n], bs, be) for bs, be in p.busy[h])
                    or any(_overlap(p.start[n], p.end[n], p.start[m], p.end[m])
                           for m in of_helper.get(h, ()) if not math.isnan(p.start[m]))):
                reasons.add("busy")
            else:
                reasons.add("free")
        out[n] = ("no_candidates" if not reasons else "free" if "free" in reasons
                  else reasons.pop() if len(reasons) == 1 else "taken")
    return out
