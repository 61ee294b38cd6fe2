"""Benchmark: does learning from outcomes help, is the offline check honest, and does the
fairness term spread the work?

1. The simulator (``volunteer.matching.simulate``) on five synthetic towns of 2,000 volunteers:
   30 days to warm up, 60 days of lists with the hand weights and exploration (ε = 0.1; the
   last 18 days kept aside), learning, then the simulated truth. For each town: acceptances
   within 24 h among the top five per list with the hand weights and with the learned weights
   on 30 fresh days (the lift), the SNIPS estimate made offline beforehand with its 95%
   interval, and the truth it estimates (the days kept aside, again from the same state,
   ordered by the learned weights). Targets: lift ≥ 10%, the interval holds the truth.
2. The fairness term and the weekly cap, on a synthetic town and on the demo town's own
   volunteers and issues (the demo town seeded into a temporary SQLite database; volunteers
   answer as the simulator's hidden model says): the share of invitations that went to the
   most-asked 10% of volunteers, and the share of needs that found a helper, without and with.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np

SEEDS = (1, 2, 3, 4, 5)


def learning_rounds(seeds=SEEDS, size: int = 2000) -> None:
    from volunteer.matching import simulate

    print(f"Learning on simulated towns ({size:,} volunteers; acceptances within 24 h among "
          "the top five, per list)")
    print(f"{'town':>4} {'hand':>6} {'learned':>8} {'lift':>6}   {'SNIPS offline [95%]':<24} "
          f"{'truth':>6} {'holds':>5} {'lists':>6} {'s':>5}")
    lifts, held = [], 0
    for seed in seeds:
        t0 = time.perf_counter()
        e = simulate.experiment(simulate.synthetic_town(size, seed=seed), seed=seed)
        est = e.comparison.learned["snips"]
        lifts.append(e.lift)
        held += e.covered
        print(f"{seed:>4} {e.hand.value:>6.3f} {e.learned.value:>8.3f} {e.lift:>6.1%}   "
              f"{est.value:.3f} [{est.low:.3f}, {est.high:.3f}]{'':<4} "
              f"{e.replay['learned'].value:>6.3f} {'yes' if e.covered else 'no':>5} "
              f"{e.log_slates:>6} {time.perf_counter() - t0:>5.1f}")
    print(f"mean lift {np.mean(lifts):.1%} (min {min(lifts):.1%}); the offline interval held the "
          f"truth in {held} of {len(seeds)}")
    print("targets: lift >= 10%; the offline estimate's interval holds the simulated truth")


def _fairness_table(title: str, town, stream, per_day: int, fairness: float, cap: int) -> None:
    from volunteer.matching import simulate

    print(title)
    print(f"{'':<28} {'top 10% share':>13} {'found a helper':>14} {'most asked':>10}")
    for label, f, c in (("hand weights, no spreading", 0.0, 0),
                        (f"fairness {fairness:g}, cap {cap}/week", fairness, cap)):
        r = simulate.spread(town, f, c, stream, per_day=per_day)
        print(f"{label:<28} {r.top_share():>13.1%} {r.helped.mean():>14.1%} "
              f"{int(r.invitations.max()):>10}")


def fairness_synthetic() -> None:
    from volunteer.matching import simulate
    from volunteer.matching.matcher import Weights

    town = simulate.synthetic_town(2000, seed=1)
    simulate.run(town, simulate.needs(town, 30 * 40, 6), 40, 0.0, 7)
    stream = simulate.needs(town, 30 * 40, 8)
    _fairness_table("Spreading the work: synthetic town, 2,000 volunteers, 30 days × 40 needs",
                    town, stream, 40, Weights().fairness, 5)


def fairness_demo() -> None:
    """The demo town's volunteers, and its issues of the last six months as the needs."""
    tmp = tempfile.mkdtemp()
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    from flask_migrate import upgrade

    from volunteer import create_app
    from volunteer.common import to_local
    from volunteer.demo.seed import seed_demo
    from volunteer.extensions import db
    from volunteer.issues.models import Issue
    from volunteer.matching import artefact, records, simulate, store
    from volunteer.matching.queries import is_urgent
    from volunteer.setup import load_reference_data

    app = create_app({"RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        load_reference_data()
        db.session.commit()
        skills = records.taxonomy()[1]
        if not artefact.is_current(skills):
            artefact.train(skills)
        seed_demo()
        db.session.commit()
        store.forget()
        matcher = store.get_matcher()
        cap = int(app.config["MATCH_WEEKLY_CAP"])
        rng = np.random.default_rng(3)
        town = simulate.Town(matcher, rng.normal(0, simulate.Truth().personal_sd,
                                                 matcher.base.n))
        stream = []
        for issue in db.session.scalars(db.select(Issue).order_by(Issue.created_at)):
            needed = issue.skill_codes or [c for c, _p in matcher.infer(
                f"{issue.title}\n{issue.description}")[:1]]
            if not needed:
                continue
            local = to_local(issue.created_at)
            stream.append(simulate.Need(issue.lat, issue.lon, needed[0], is_urgent(issue),
                                        local.hour, local.weekday() >= 5))
    per_day = max(1, len(stream) // 182)
    _fairness_table(f"Spreading the work: the demo town, {matcher.base.n:,} volunteers, its "
                    f"{len(stream):,} issues as needs ({per_day} a day)", town, stream, per_day,
                    matcher.weights.fairness, cap)


def main() -> None:
    if "--quick" in sys.argv:
        learning_rounds(seeds=(1,))
        return
    learning_rounds()
    print()
    fairness_synthetic()
    print()
    fairness_demo()


if __name__ == "__main__":
    main()
