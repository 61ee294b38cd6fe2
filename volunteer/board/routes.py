"""Public board: issues with status, category, 村居 and a location rounded to ~100 m; no names,
no phones, no descriptions (they often name people), no photos but those staff made public (and
only their metadata-free copies); how fast issues close; counts per 村居."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, render_template, request, send_file, url_for
from flask_babel import get_locale
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.board import bp
from volunteer.common import cached, paginate
from volunteer.extensions import db
from volunteer.issues.forms import STATUS_LABELS, TIER_LABELS
from volunteer.issues.models import (
    OPEN_STATUSES,
    STATUSES,
    Issue,
    IssueCategory,
    IssuePhoto,
    IssueStatus,
)
from volunteer.issues.photos import web_path
from volunteer.issues.services import in_town
from volunteer.org.models import Town, Village
from volunteer.org.towns import chosen_town, village_choices

PER_PAGE = 30
MAP_LIMIT = 5000


def average_days_to_close(last: int = 100, town: Town | None = None) -> float | None:
    """Mean days from report to closure over the last ``last`` closed issues (of ``town``)."""
    rows = db.session.execute(db.select(Issue.created_at, Issue.closed_at)
                              .where(Issue.status == IssueStatus.closed,
                                     Issue.closed_at.is_not(None), *in_town(town))
                              .order_by(Issue.closed_at.desc()).limit(last)).all()
    if not rows:
        return None
    return sum((c - r).total_seconds() for r, c in rows) / len(rows) / 86400


def _selection(with_villages: bool = True):
    """The town, 村居 and status asked for, and the matching query's conditions (the town's
    村居 to choose from only ``with_villages``: a page's filter, not the map's points)."""
    town = chosen_town()
    code = request.args.get("village") or ""
    if with_villages:
        villages = village_choices(town)
        chosen = next((v for v in villages if v.code == code), None)
    else:
        villages = []
        chosen = db.session.execute(db.select(Village.id, Village.code).where(
            Village.code == code[:20], *([Village.town_id == town.id] if town else []))).first() \
            if code else None
    status = request.args.get("status") if request.args.get("status") in (*STATUSES, "open") \
        else ""
    conds = []
    if chosen:
        conds.append(Issue.village_id == chosen.id)
    else:
        conds.extend(in_town(town))
    if status == "open":
        conds.append(Issue.status.in_(OPEN_STATUSES))
    elif status:
        conds.append(Issue.status == status)
    return town, villages, chosen, status, conds


#: Seconds the board's per-村居 counts and average days are kept (at most).
BOARD_CACHE_SECONDS = 60
#: Seconds the board's map points are kept (at most): a new issue shows within them.
MAP_CACHE_SECONDS = 30


def _village_counts(town: Town | None) -> list[tuple]:
    """Per 村居 of ``town``: (code, name, open, closed, all) issues."""
    return [tuple(r) for r in db.session.execute(
        db.select(Village.code, Village.name,
                  sa.func.count(Issue.id).filter(Issue.status.in_(OPEN_STATUSES)),
                  sa.func.count(Issue.id).filter(Issue.status == IssueStatus.closed),
                  sa.func.count(Issue.id))
        .select_from(Village).outerjoin(Issue, Issue.village_id == Village.id)
        .where(*([Village.town_id == town.id] if town is not None else []))
        .group_by(Village.id, Village.code, Village.name).order_by(Village.code))]


def _place(lat: float, lon: float) -> dict:
    shown = policy.public_place(lat, lon)
    return {"lat": shown[0], "lon": shown[1]}


@bp.route("/")
def index():
    """The board: public facts of recent issues, filterable by 村居 and status."""
    town, villages, chosen, status, conds = _selection()
    q = (db.select(Issue).where(*conds)
         .options(selectinload(Issue.category), selectinload(Issue.village))
         .order_by(Issue.created_at.desc(), Issue.id.desc()))
    page = paginate(q, per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    en = str(get_locale()).startswith("en")
    photos: dict[int, list[int]] = {}
    for pid, iid in db.session.execute(
            db.select(IssuePhoto.id, IssuePhoto.issue_id).where(
                IssuePhoto.public, IssuePhoto.issue_id.in_([r.id for r in page.items]))
            .order_by(IssuePhoto.id)):
        photos.setdefault(iid, []).append(pid)
    # Only public facts leave this function: no title, description, reporter or exact place.
    items = [{"id": r.id, "status": r.status, "tier": r.tier, "created_at": r.created_at,
              "closed_at": r.closed_at, **_place(r.lat, r.lon),
              "category": r.category.display_name("en" if en else "zh"),
              "village": r.village.name, "photos": photos.get(r.id, [])} for r in page.items]
    counts = cached("board_counts", (town.id if town else None,),
                    lambda: _village_counts(town), seconds=BOARD_CACHE_SECONDS)
    points_url = url_for("board.map_points", town=town.code if town else None,
                         village=chosen.code if chosen else None, status=status or None)
    avg_days = cached("board_days", (town.id if town else None,),
                      lambda: average_days_to_close(town=town), seconds=BOARD_CACHE_SECONDS)
    return render_template("board/index.html", page=page, items=items, villages=villages,
                           chosen=chosen, status=status, counts=counts,
                           avg_days=avg_days, town=town,
                           STATUS_LABELS=STATUS_LABELS, TIER_LABELS=TIER_LABELS,
                           points_url=points_url)


@bp.route("/map.json")
def map_points():
    """The board's selection as rounded points with category and status, for its map."""
    town, _villages, chosen, status, conds = _selection(with_villages=False)
    en = str(get_locale()).startswith("en")
    name = IssueCategory.name_en if en else IssueCategory.name_zh

    def compute() -> str:
        rows = db.session.execute(
            db.select(Issue.id, Issue.lat, Issue.lon, name, Issue.status)
            .join(IssueCategory, Issue.category_id == IssueCategory.id).where(*conds)
            .order_by(Issue.created_at.desc(), Issue.id.desc()).limit(MAP_LIMIT)).all()
        points = [[r[0], *policy.public_place(r[1], r[2]), f"#{r[0]} {r[3]}", r[4], False]
                  for r in rows]
        return current_app.json.dumps({"points": points, "shown": len(points), "statuses": {
            k: str(v) for k, v in STATUS_LABELS.items()}}, ensure_ascii=False, separators=(",", ":"))

    # The same public points for everyone who looks at this selection: kept a few seconds, as
    # the answer's text (thousands of points: neither read back as objects nor encoded again).
    body = cached("board_map_json", (town.id if town else None, chosen.id if chosen else None,
                                     status, en), compute, seconds=MAP_CACHE_SECONDS)
    return current_app.response_class(body, mimetype="application/json")


@bp.route("/photos/<int:photo_id>")
def photo(photo_id: int):
    """A photo that staff made public, without any metadata."""
    p = db.session.get(IssuePhoto, photo_id)
    if p is None or not p.public:
        abort(404)
    path = web_path(p)
    if not path.exists():
        abort(404)
    resp = send_file(path, mimetype="image/jpeg", max_age=0)
    resp.headers["Cache-Control"] = "no-cache"  # taken off the board, it goes at once
    return resp
