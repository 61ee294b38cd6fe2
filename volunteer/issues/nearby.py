"""Open issues near a place that look like the one being typed, so duplicates are not filed.

Similarity is the overlap of character bigrams, which needs no word segmentation and
works for Chinese and English alike; distance and the category add to it.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.extensions import db
from volunteer.geo import bounding_box, haversine_km
from volunteer.issues.models import OPEN_STATUSES, Issue

RADIUS_M = 300
SHOWN = 5
LIKELY = 0.5  # score from which an issue is flagged as probably the same
#: How far an issue's public place (``policy.public_place``) may lie from its exact one, and more.
PUBLIC_MARGIN_M = 100
_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def _bigrams(text: str) -> set[str]:
    text = _NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())
    if len(text) < 2:
        return {text} if text else set()
    return {text[i:i + 2] for i in range(len(text) - 1)}


def text_similarity(a: str, b: str) -> float:
    """Character-bigram overlap of two texts, 0–1: the mean of the Dice coefficient and the
    share of the shorter text found in the longer (a short title inside a long description)."""
    ga, gb = _bigrams(a), _bigrams(b)
    if not ga or not gb:
        return 0.0
    common = len(ga & gb)
    return (2 * common / (len(ga) + len(gb)) + common / min(len(ga), len(gb))) / 2


@dataclass
class Nearby:
    issue: Issue
    distance_m: float  # metres; from the public place when the text is not known
    similarity: float
    score: float
    known: bool = True  # whether the text was compared (the viewer may read it)

    @property
    def likely(self) -> bool:
        return self.known and self.score >= LIKELY


def _everyone(issue: Issue) -> bool:
    return True


def similar_open_issues(lat: float, lon: float, text: str = "", category: str | None = None,
                        radius_m: float = RADIUS_M, limit: int = SHOWN,
                        knows_text: Callable[[Issue], bool] = _everyone) -> list[Nearby]:
    """Open issues within ``radius_m`` of the point: those whose text the viewer may read
    (``knows_text``) most alike first, then the others nearest first. The text of the others
    is never compared, so neither their order nor any flag tells what it says. For the others
    the radius, the distance and the order come from their public place (as the board shows
    it), so that moving the query point tells no more than the board does."""
    south, north, west, east = bounding_box(lat, lon, (radius_m + PUBLIC_MARGIN_M) / 1000)
    rows = db.session.scalars(
        db.select(Issue).where(Issue.status.in_(OPEN_STATUSES), Issue.lat.between(south, north),
                               Issue.lon.between(west, east))
        .options(selectinload(Issue.category), selectinload(Issue.village))
        .order_by(Issue.created_at.desc()).limit(500)).all()
    out = []
    for issue in rows:
        known = knows_text(issue)
        at = (issue.lat, issue.lon) if known else policy.public_place(issue.lat, issue.lon)
        d = float(haversine_km(lat, lon, at[0], at[1])) * 1000
        if d > radius_m:
            continue
        if not known:
            out.append(Nearby(issue, d, 0.0, 0.0, known=False))
            continue
        sim = text_similarity(text, f"{issue.title} {issue.description}") if text.strip() else 0.0
        same_category = category is not None and issue.category.code == category
        score = sim + 0.25 * (1 - d / radius_m) + (0.2 if same_category else 0.0)
        out.append(Nearby(issue, d, sim, score))
    out.sort(key=lambda n: (0, -n.score, n.distance_m) if n.known else (1, 0.0, n.distance_m))
    return out[:limit]
