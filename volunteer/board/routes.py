"""Public board: issues with status, category, 村居 and a location rounded to ~100 m; no names,
no phones, no descriptions (they often name people); how fast issues close; counts per 村居."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import get_locale
from sqlalchemy.orm import selectinload

from volunteer.board import bp
from volunteer.extensions import db
from volunteer.issues.forms import STATUS_LABELS, TIER_LABELS
from volunteer.issues.models import OPEN_STATUSES, STATUSES, Issue
from volunteer.org.models import Village

PER_PAGE = 30
ROUND = 3  # decimal places of a degree: ~110 m north–south, ~95 m east–west here


def average_days_to_close(last: int = 100) -> float | None:
    """Mean days from report to closure over the last ``last`` closed issues."""
    rows = db.session.execute(db.select(Issue.created_at, Issue.closed_at)
                              .where(Issue.status == "closed", Issue.closed_at.is_not(None))
                              .order_by(Issue.closed_at.desc()).limit(last)).all()
    if not rows:
        return None
    return sum((c - r).total_seconds() for r, c in rows) / len(rows) / 86400


@bp.route("/")
def index():
    """The board: public facts of recent issues, filterable by 村居 and status."""
    villages = db.session.scalars(db.select(Village).order_by(Village.code)).all()
    code = request.args.get("village") or ""
    chosen = next((v for v in villages if v.code == code), None)
    status = request.args.get("status") if request.args.get("status") in (*STATUSES, "open") \
        else ""
    q = (db.select(Issue).options(selectinload(Issue.category), selectinload(Issue.village))
         .order_by(Issue.created_at.desc(), Issue.id.desc()))
    if chosen:
        q = q.where(Issue.village_id == chosen.id)
    if status == "open":
        q = q.where(Issue.status.in_(OPEN_STATUSES))
    elif status:
        q = q.where(Issue.status == status)
    page = db.paginate(q, per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    en = str(get_locale()).startswith("en")
    # Only public facts leave this function: no title, description, reporter or exact place.
    items = [{"id": r.id, "status": r.status, "tier": r.tier, "created_at": r.created_at,
              "closed_at": r.closed_at, "lat": round(r.lat, ROUND), "lon": round(r.lon, ROUND),
              "category": r.category.display_name("en" if en else "zh"),
              "village": r.village.name} for r in page.items]
    counts = db.session.execute(
        db.select(Village.code, Village.name,
                  sa.func.count(Issue.id).filter(Issue.status.in_(OPEN_STATUSES)),
                  sa.func.count(Issue.id).filter(Issue.status == "closed"),
                  sa.func.count(Issue.id))
        .select_from(Village).outerjoin(Issue, Issue.village_id == Village.id)
        .group_by(Village.id, Village.code, Village.name).order_by(Village.code)).all()
    return render_template("board/index.html", page=page, items=items, villages=villages,
                           chosen=chosen, status=status, counts=counts,
                           avg_days=average_days_to_close(), STATUS_LABELS=STATUS_LABELS,
                           TIER_LABELS=TIER_LABELS)
