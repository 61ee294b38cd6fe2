"""The batch planner's solver: constraints, optimality against enumeration, the LP bound, the
greedy baseline and the reasons a need stays uncovered. Pure functions, no app."""
from __future__ import annotations

import math
import random

import pytest

from volunteer.planning.solver import (
    Helper,
    Need,
    Option,
    Result,
    greedy,
    lp_bound,
    plan,
    violations,
    why_uncovered,
)


def brute_force(needs: list[Need], helpers: list[Helper], options: list[Option]) -> float:
    """The best total over every feasible choice of options (positive scores only)."""
    order = sorted(range(len(options)), key=lambda i: -options[i].score)
    rest = [0.0] * (len(order) + 1)
    for k in range(len(order) - 1, -1, -1):
        rest[k] = rest[k + 1] + options[order[k]].score
    best = 0.0
    chosen: list[int] = []

    def walk(k: int, total: float) -> None:
        nonlocal best
        best = max(best, total)
        if k == len(order) or total + rest[k] <= best + 1e-12:
            return
        i = order[k]
        chosen.append(i)
        if not violations(needs, helpers, options, chosen):
            walk(k + 1, total + options[i].score)
        chosen.pop()
        walk(k + 1, total)

    walk(0, 0.0)
    return best


def random_instance(rng: random.Random, n_needs: int, n_helpers: int, density: float,
                    horizon: float = 300.0) -> tuple[list[Need], list[Helper], list[Option]]:
    """Needs crowded into a few hours (so they overlap and chain), some busy volunteers."""
    needs = []
    for _ in range(n_needs):
        if rng.random() < 0.25:
            needs.append(Need(rng.randint(1, 3)))
        else:
            start = rng.randrange(0, int(horizon), 15)
            needs.append(Need(rng.randint(1, 3), start, start + rng.choice([30, 60, 90, 120])))
    helpers = []
    for _ in range(n_helpers):
        busy = ()
        if rng.random() < 0.3:
            start = rng.randrange(0, int(horizon), 15)
            busy = ((start, start + 60),)
        helpers.append(Helper(rng.randint(0, 3), busy))
    options = [Option(n, h, round(rng.uniform(0.2, 2.0), 4))
               for n in range(n_needs) for h in range(n_helpers) if rng.random() < density]
    return needs, helpers, options


def check(needs, helpers, options, result: Result) -> None:
    """A result is feasible and its figures agree with its choice."""
    assert violations(needs, helpers, options, result.chosen) == []
    assert result.chosen == sorted(result.chosen)
    assert result.total == pytest.approx(sum(options[i].score for i in result.chosen))
    assert sum(result.filled) == len(result.chosen)
    assert all(f <= n.places for f, n in zip(result.filled, needs, strict=True))


def test_places_are_a_limit():
    needs = [Need(2)]
    helpers = [Helper(1) for _ in range(4)]
    options = [Option(0, h, 1.0 + h / 10) for h in range(4)]
    result = plan(needs, helpers, options)
    check(needs, helpers, options, result)
    assert result.chosen == [2, 3]
    assert result.filled == [2]
    assert violations(needs, helpers, options, [0, 1, 2]) == ["need 0: 3 helpers for 2 places"]


def test_capacity_is_a_limit():
    needs = [Need(1) for _ in range(4)]
    helpers = [Helper(2)]
    options = [Option(n, 0, 1.0 + n / 10) for n in range(4)]
    result = plan(needs, helpers, options)
    check(needs, helpers, options, result)
    assert result.chosen == [2, 3]
    assert violations(needs, helpers, options, [1, 2, 3]) == ["helper 0: 3 needs, limit 2"]


def test_capacity_zero_and_places_zero():
    needs = [Need(0), Need(1)]
    helpers = [Helper(0), Helper(1)]
    options = [Option(0, 1, 2.0), Option(1, 0, 2.0), Option(1, 1, 1.0)]
    result = plan(needs, helpers, options)
    assert result.chosen == [2]
    assert result.filled == [0, 1]


def test_overlapping_needs_not_both():
    needs = [Need(1, 0, 60), Need(1, 30, 90)]
    helpers = [Helper(2)]
    options = [Option(0, 0, 1.0), Option(1, 0, 1.5)]
    result = plan(needs, helpers, options)
    check(needs, helpers, options, result)
    assert result.chosen == [1]
    assert violations(needs, helpers, options, [0, 1]) == ["helper 0: needs 0 and 1 overlap"]


def test_touching_times_do_not_overlap():
    needs = [Need(1, 0, 60), Need(1, 60, 120)]
    helpers = [Helper(2, ((120, 180),))]
    options = [Option(0, 0, 1.0), Option(1, 0, 1.0)]
    result = plan(needs, helpers, options)
    assert result.chosen == [0, 1]
    check(needs, helpers, options, result)


def test_busy_times_are_respected():
    needs = [Need(1, 0, 60), Need(1, 100, 160)]
    helpers = [Helper(2, ((50, 70),))]
    options = [Option(0, 0, 2.0), Option(1, 0, 1.0)]
    result = plan(needs, helpers, options)
    assert result.chosen == [1]
    assert violations(needs, helpers, options, [0]) == ["helper 0 is busy during need 0"]
    assert greedy(needs, helpers, options).chosen == [1]


def test_a_start_without_an_end_lasts_two_hours():
    needs = [Need(1, 0), Need(1, 119, 200), Need(1, 120, 200)]
    helpers = [Helper(3)]
    options = [Option(0, 0, 1.0), Option(1, 0, 0.5), Option(2, 0, 0.6)]
    assert plan(needs, helpers, options).chosen == [0, 2]


def test_untimed_needs_never_conflict():
    needs = [Need(1), Need(1, 0, 60), Need(1)]
    helpers = [Helper(3, ((-1000, 1000),))]
    options = [Option(0, 0, 1.0), Option(1, 0, 1.0), Option(2, 0, 1.0)]
    result = plan(needs, helpers, options)
    assert result.chosen == [0, 2]
    check(needs, helpers, options, result)


def test_a_pair_given_twice_counts_once_with_its_best_score():
    needs = [Need(2)]
    helpers = [Helper(2)]
    options = [Option(0, 0, 0.5), Option(0, 0, 1.5), Option(0, 0, 1.0)]
    result = plan(needs, helpers, options)
    assert result.chosen == [1]
    assert result.total == 1.5
    assert greedy(needs, helpers, options).chosen == [1]
    assert violations(needs, helpers, options, [0, 1]) == [
        "helper 0 twice for need 0 (options 0 and 1)"]
    assert violations(needs, helpers, options, [1, 1]) == ["option 1 chosen twice"]


def test_low_scores_still_cover_places():
    needs = [Need(1), Need(1)]
    helpers = [Helper(1), Helper(1)]
    options = [Option(0, 0, -0.3), Option(1, 1, 0.0)]
    result = plan(needs, helpers, options)
    assert result.chosen == [0, 1]
    assert result.total == pytest.approx(-0.3)


def test_empty_inputs():
    empty = plan([], [], [])
    assert (empty.chosen, empty.total, empty.filled, empty.method) == ([], 0.0, [], "flow")
    result = plan([Need(2)], [Helper(1)], [])
    assert (result.chosen, result.filled, result.total) == ([], [0], 0.0)
    assert greedy([], [], []).chosen == []
    assert lp_bound([], [], []) == 0.0
    assert why_uncovered([Need(1)], [], [], []) == {0: "no_candidates"}


def test_greedy_loses_where_the_plan_does_not():
    # The best volunteer goes to the first need, although the second has nobody else.
    needs = [Need(1, 0, 60), Need(1, 600, 660)]
    helpers = [Helper(1), Helper(1)]
    options = [Option(0, 0, 1.0), Option(0, 1, 0.9), Option(1, 0, 0.8)]
    one_by_one = greedy(needs, helpers, options)
    assert one_by_one.chosen == [0]
    assert one_by_one.filled == [1, 0]
    assert why_uncovered(needs, helpers, options, one_by_one.chosen) == {1: "at_limit"}
    planned = plan(needs, helpers, options)
    assert planned.chosen == [1, 2]
    assert planned.filled == [1, 1]
    assert planned.total == pytest.approx(1.7)
    assert lp_bound(needs, helpers, options) == pytest.approx(1.7)
    # Without a single flow solve, the fill and one-for-one swaps find it too.
    assert plan(needs, helpers, options, solves=0).chosen == [1, 2]
    # Served the other way round, one need at a time does as well.
    assert greedy(needs, helpers, options, order=[1]).total == pytest.approx(1.7)


def test_a_chain_of_overlaps_is_settled_exactly():
    # a overlaps b, b overlaps c, a and c are apart: b alone scores less than a and c together.
    needs = [Need(1, 0, 60), Need(1, 30, 90), Need(1, 60, 120)]
    helpers = [Helper(3)]
    options = [Option(0, 0, 1.0), Option(1, 0, 1.5), Option(2, 0, 1.0)]
    assert plan(needs, helpers, options).chosen == [0, 2]
    options[1] = Option(1, 0, 2.5)
    assert plan(needs, helpers, options).chosen == [1]


@pytest.mark.parametrize("seed", range(150))
def test_plan_is_optimal_on_small_instances(seed):
    rng = random.Random(seed)
    needs, helpers, options = random_instance(rng, 6, 6, 0.45)
    result = plan(needs, helpers, options)
    check(needs, helpers, options, result)
    best = brute_force(needs, helpers, options)
    assert result.total == pytest.approx(best, abs=1e-9)
    assert lp_bound(needs, helpers, options) >= best - 1e-6
    assert greedy(needs, helpers, options).total <= best + 1e-9


@pytest.mark.parametrize("seed", range(20))
def test_plan_beats_greedy_and_nears_the_bound(seed):
    rng = random.Random(1000 + seed)
    needs, helpers, options = random_instance(rng, 60, 120, 0.08, horizon=1200)
    planned = plan(needs, helpers, options)
    one_by_one = greedy(needs, helpers, options)
    check(needs, helpers, options, planned)
    check(needs, helpers, options, one_by_one)
    assert planned.total >= one_by_one.total - 1e-9
    assert planned.total >= 0.99 * lp_bound(needs, helpers, options)


@pytest.mark.parametrize("seed", range(10))
def test_any_budget_gives_a_feasible_plan(seed):
    rng = random.Random(2000 + seed)
    needs, helpers, options = random_instance(rng, 30, 20, 0.3)
    for solves in (0, 1, 3):
        check(needs, helpers, options, plan(needs, helpers, options, solves=solves))
    check(needs, helpers, options, plan(needs, helpers, options, time_limit=0.0))


def test_why_uncovered_reasons():
    needs = [
        Need(1),  # 0: nobody fits
        Need(1, 0, 60),  # 1: its one candidate took need 4
        Need(1, 0, 60),  # 2: its candidate is busy then
        Need(1, 0, 60),  # 3: one candidate at the limit, one busy
        Need(1, 300, 360),
        Need(2, 500, 560),  # 5: half filled, the other candidate free
    ]
    helpers = [Helper(1), Helper(2, ((0, 30),)), Helper(1), Helper(1)]
    options = [Option(1, 0, 1.0), Option(4, 0, 1.0), Option(2, 1, 1.0), Option(3, 0, 1.0),
               Option(3, 1, 1.0), Option(5, 2, 1.0), Option(5, 3, 1.0)]
    chosen = [1, 5]
    assert violations(needs, helpers, options, chosen) == []
    assert why_uncovered(needs, helpers, options, chosen) == {
        0: "no_candidates", 1: "at_limit", 2: "busy", 3: "taken", 5: "free"}
    # A volunteer on an overlapping need is busy too; every place filled: not listed.
    needs[3] = Need(1, 300, 330)
    options[4] = Option(3, 2, 1.0)
    assert why_uncovered(needs, helpers, options, [1, 4, 5, 6]) == {
        0: "no_candidates", 1: "at_limit", 2: "busy"}


def test_a_need_whose_candidates_are_all_chosen_has_nobody_else():
    needs = [Need(3)]
    helpers = [Helper(1), Helper(1)]
    options = [Option(0, 0, 1.0), Option(0, 1, 1.0)]
    result = plan(needs, helpers, options)
    assert why_uncovered(needs, helpers, options, result.chosen) == {0: "no_candidates"}


@pytest.mark.parametrize(("needs", "helpers", "options"), [
    ([Need(1)], [Helper(1)], [Option(1, 0, 1.0)]),
    ([Need(1)], [Helper(1)], [Option(0, 1, 1.0)]),
    ([Need(1)], [Helper(1)], [Option(-1, 0, 1.0)]),
    ([Need(1)], [Helper(1)], [Option(0, 0, math.nan)]),
    ([Need(1)], [Helper(1)], [Option(0, 0, math.inf)]),
    ([Need(-1)], [Helper(1)], []),
    ([Need(1)], [Helper(-1)], []),
    ([Need(1.5)], [Helper(1)], []),
    ([Need(1, 60, 60)], [Helper(1)], []),
    ([Need(1, 60, 0)], [Helper(1)], []),
    ([Need(1, math.nan)], [Helper(1)], []),
    ([Need(1)], [Helper(1, ((60, 0),))], []),
])
def test_bad_input_is_refused(needs, helpers, options):
    for call in (plan, greedy, lp_bound):
        with pytest.raises(ValueError):
            call(needs, helpers, options)
    with pytest.raises(ValueError):
        violations(needs, helpers, options, [])
    with pytest.raises(ValueError):
        why_uncovered(needs, helpers, options, [])


def test_greedy_order_must_name_needs():
    with pytest.raises(ValueError):
        greedy([Need(1)], [Helper(1)], [], order=[3])
