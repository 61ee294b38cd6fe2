"""Exploration with known probabilities: now and then a slate's top five are lightly shuffled.

With probability ε one adjacent pair among the first ``TOP`` places swaps, chosen at random
among the pairs that may swap: two neighbours of the same grade (``Matcher._grades``) and tier,
so a verified holder never drops below an unverified one, nor a holder below someone without
the skill. The probability of the order shown is logged with the slate (1 − ε unswapped, ε / m for
one of m possible swaps; 1 when no pair may swap), and so is the swap, so that learning can
tell how much a place in the list itself draws invitations (``learning.positions``). No Flask.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TOP = 5


@dataclass
class Exploration:
    """The order to show, and what the log needs to know about how it was chosen."""

    shown: list  # the suggestions in the order shown
    propensity: float = 1.0  # the probability of this order
    swap: int | None = None  # the swapped pair's first place (from 1), if any
    eligible: list[int] = field(default_factory=list)  # places (from 1) that could swap
    epsilon: float = 0.0

    def as_log(self) -> dict:
        return {"epsilon": self.epsilon, "swap": self.swap, "eligible": self.eligible}


def swappable(ranks: list, top: int = TOP) -> list[int]:
    """Places (from 1) whose occupant may swap with the next one: both in the top ``top`` and
    of the same rank (grade and tier)."""
    n = min(top, len(ranks))
    return [i + 1 for i in range(n - 1) if ranks[i] == ranks[i + 1]]


def explore(suggestions: list, epsilon: float, rng: np.random.Generator,
            top: int = TOP) -> Exploration:
    """With probability ``epsilon`` swap one random adjacent pair of the top ``top`` that may
    swap (same grade and tier); the suggestions need a ``grade`` and a ``tier``. The list given
    is not changed."""
    shown = list(suggestions)
    eligible = swappable([(s.grade, s.tier) for s in shown], top)
    if epsilon <= 0 or not eligible:
        return Exploration(shown, 1.0, None, eligible, max(epsilon, 0.0))
    if rng.random() >= epsilon:
        return Exploration(shown, 1.0 - epsilon, None, eligible, epsilon)
    k = int(eligible[int(rng.integers(len(eligible)))])
    shown[k - 1], shown[k] = shown[k], shown[k - 1]
    return Exploration(shown, epsilon / len(eligible), k, eligible, epsilon)
