"""Benchmark: the batch planner against one-need-at-a-time matching, on a synthetic town.

A town ~10 km across with 5,000 candidate volunteers (1–3 of 40 skills, a travel range, a
limit of 0–4 further tasks, some already busy) and 500 needs over two weeks (issues and
sessions, 1–4 places, a third without a time, windows of 1–4 hours crowding on weekend
mornings and weekday evenings). A volunteer is a candidate for a need within their travel range
holding one of its 1–2 skills; the score has the matcher's shape (skill fit, distance decay,
availability, same neighbourhood, load). Measured in one run: the planner's solve time, the
greedy baseline's, the total score of each against the LP relaxation's bound, the needs fully
covered and places filled by each (and why the others are not), and the constraint check.
Then the same again with every timed need crowded into one Saturday morning, where a
volunteer's needs chain and the planner's overlap search has work to do.
"""
from __future__ import annotations

import sys
import time

import numpy as np
from scipy.spatial import cKDTree

from volunteer.planning.solver import (
    Helper,
    Need,
    Option,
    greedy,
    lp_bound,
    plan,
    violations,
    why_uncovered,
)

DAY = 24 * 60
TIME_TARGET = 2.0  # seconds
BOUND_TARGET = 0.99  # share of the LP bound


def town(seed: int = 20, volunteers: int = 5_000, needs: int = 500
         ) -> tuple[list[Need], list[Helper], list[Option]]:
    """The synthetic instance: deterministic for a seed."""
    rng = np.random.default_rng(seed)
    n_skills = 40
    popularity = rng.dirichlet(np.full(n_skills, 0.6))
    # Volunteers: neighbourhood clusters over a disc of radius 5 km, plus a scattered share.
    centres = rng.uniform(-3.5, 3.5, (12, 2))
    home = centres[rng.integers(0, len(centres), volunteers)] + rng.normal(0, 0.9,
                                                                           (volunteers, 2))
    scattered = rng.random(volunteers) < 0.3
    home[scattered] = rng.uniform(-5, 5, (int(scattered.sum()), 2))
    travel = rng.choice([0.5, 1.0, 1.5, 2.0, 3.0], volunteers)
    capacity = rng.choice(5, volunteers, p=[0.3, 0.4, 0.17, 0.09, 0.04])
    load = rng.integers(0, 3, volunteers)
    skills = [set(rng.choice(n_skills, rng.integers(1, 4), replace=False, p=popularity).tolist())
              for _ in range(volunteers)]
    helpers = []
    for v in range(volunteers):
        busy = []
        for _ in range(rng.choice(4, p=[0.55, 0.25, 0.15, 0.05])):
            day = rng.integers(0, 14)
            begins = day * DAY + rng.choice([8, 9, 14, 18]) * 60
            busy.append((float(begins), float(begins + rng.choice([2, 3, 4, 8]) * 60)))
        helpers.append(Helper(int(capacity[v]), tuple(busy)))
    # Needs: weekend mornings and weekday evenings are popular; a third have no time.
    where = rng.uniform(-5, 5, (needs, 2))
    out_needs, need_skills = [], []
    for _ in range(needs):
        session = rng.random() < 0.5
        places = int(rng.choice([2, 3, 4], p=[0.3, 0.35, 0.35]) if session
                     else rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
        if rng.random() < 1 / 3:
            out_needs.append(Need(places))
        else:
            kind = rng.random()
            if kind < 0.55:  # Saturday or Sunday morning, either week
                day = int(rng.choice([5, 6, 12, 13]))
                begins = day * DAY + 8 * 60 + int(rng.integers(0, 7)) * 30
            elif kind < 0.85:  # a weekday evening
                day = int(rng.choice([0, 1, 2, 3, 4, 7, 8, 9, 10, 11]))
                begins = day * DAY + 18 * 60 + int(rng.integers(0, 5)) * 30
            else:
                day = int(rng.integers(0, 14))
                begins = day * DAY + int(rng.integers(8 * 2, 17 * 2)) * 30
            length = int(rng.choice([60, 90, 120, 180, 240]))
            out_needs.append(Need(places, float(begins), float(begins + length)))
        need_skills.append(set(rng.choice(n_skills, rng.integers(1, 3), replace=False,
                                          p=popularity).tolist()))
    tree = cKDTree(home)
    options = []
    for j in range(needs):
        near = np.asarray(tree.query_ball_point(where[j], r=float(travel.max())), dtype=int)
        d = np.linalg.norm(home[near] - where[j], axis=1)
        for v, dist in zip(near[d <= travel[near]].tolist(), d[d <= travel[near]].tolist(),
                           strict=True):
            shared = skills[v] & need_skills[j]
            if not shared:
                continue
            fit = 0.5 + 0.5 * len(shared) / len(need_skills[j]) * rng.uniform(0.6, 1.0)
            score = (fit + 0.45 * np.exp(-dist / 1.5) + 0.1 * rng.random()
                     + (0.1 if dist < 0.8 else 0.0) - 0.05 * load[v])
            options.append(Option(j, v, round(float(score), 4)))
    return out_needs, helpers, options


def crowded(needs: list[Need], seed: int) -> list[Need]:
    """The same needs, every timed one moved to one Saturday, starting 8:00 to 13:30."""
    rng = np.random.default_rng(seed)
    out = []
    for n in needs:
        if n.starts is None or n.ends is None:
            out.append(n)
            continue
        begins = 5 * DAY + 8 * 60 + int(rng.integers(0, 12)) * 30
        out.append(Need(n.places, float(begins), float(begins + n.ends - n.starts)))
    return out


def covered(needs: list[Need], filled: list[int]) -> tuple[float, float]:
    """Share of needs fully covered, share of places filled."""
    places = [n.places for n in needs]
    full = sum(f >= p for f, p in zip(filled, places, strict=True)) / len(needs)
    return full, sum(filled) / sum(places)


def report(title: str, needs: list[Need], helpers: list[Helper], options: list[Option]) -> bool:
    """Print one instance's table; whether the planner met the targets on it."""
    planned = plan(needs, helpers, options)
    base = greedy(needs, helpers, options)
    t = time.perf_counter()
    bound = lp_bound(needs, helpers, options)
    lp_s = time.perf_counter() - t
    broken = violations(needs, helpers, options, planned.chosen)
    p_full, p_places = covered(needs, planned.filled)
    g_full, g_places = covered(needs, base.filled)
    print(f"\n{title}: {len(helpers):,} volunteers, {len(needs)} needs, "
          f"{sum(n.places for n in needs):,} places, {len(options):,} options")
    print(f"{'':<22} {'planner':>10} {'greedy':>10} {'LP bound':>10}")
    print(f"{'solve time, s':<22} {planned.seconds:>10.2f} {base.seconds:>10.2f} {lp_s:>10.2f}")
    print(f"{'total score':<22} {planned.total:>10.2f} {base.total:>10.2f} {bound:>10.2f}")
    print(f"{'share of the bound':<22} {planned.total / bound:>10.2%} {base.total / bound:>10.2%} "
          f"{1:>10.0%}")
    print(f"{'needs fully covered':<22} {p_full:>10.1%} {g_full:>10.1%}")
    print(f"{'places filled':<22} {p_places:>10.1%} {g_places:>10.1%}")
    p_why = why_uncovered(needs, helpers, options, planned.chosen)
    g_why = why_uncovered(needs, helpers, options, base.chosen)
    print(f"{'needs left open':<22} {len(p_why):>10} {len(g_why):>10}")
    for reason in ("no_candidates", "at_limit", "busy", "taken", "free"):
        p_n = sum(r == reason for r in p_why.values())
        g_n = sum(r == reason for r in g_why.values())
        if p_n or g_n:
            print(f"{'  ' + reason:<22} {p_n:>10} {g_n:>10}")
    print(f"{'covered only by it':<22} {len(set(g_why) - set(p_why)):>10} "
          f"{len(set(p_why) - set(g_why)):>10}")
    print(f"{'constraints broken':<22} {len(broken):>10} "
          f"{len(violations(needs, helpers, options, base.chosen)):>10}")
    for line in broken[:5]:
        print("  ", line)
    fast = planned.seconds <= TIME_TARGET
    good = planned.total >= BOUND_TARGET * bound and planned.total >= base.total and not broken
    print(f"solve <= {TIME_TARGET:.0f} s: target {'met' if fast else 'MISSED'}")
    print(f">= {BOUND_TARGET:.0%} of the LP bound, >= greedy, feasible: "
          f"target {'met' if good else 'MISSED'}")
    return fast and good


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    t = time.perf_counter()
    needs, helpers, options = town(seed)
    print(f"Batch planner vs one need at a time (greedy, by start time), seed {seed}; "
          f"instance built in {time.perf_counter() - t:.1f} s")
    report("Two weeks in a town", needs, helpers, options)
    report("The same needs crowded into one Saturday (starts 8:00-13:30)", crowded(needs, seed),
           helpers, options)


if __name__ == "__main__":
    main()
