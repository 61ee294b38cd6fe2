"""The town a visitor of the public pages chose (镇/街道), when the installation has several.

A choice comes from ``?town=CODE`` or the chooser's form and is kept in the signed session;
without one, a logged-in person gets the town of their home grid or of their first staff role.
With one town there is nothing to choose: ``chosen_town`` is None and no chooser is shown."""
from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlencode

from flask import Blueprint, g, has_request_context, redirect, request, session, url_for
from flask_login import current_user

from volunteer import policy
from volunteer.auth.models import STAFF_ORDER
from volunteer.auth.routes import safe_next
from volunteer.extensions import db
from volunteer.org.models import Town, Village

bp = Blueprint("towns", __name__, url_prefix="/towns")

SESSION_KEY = "town"
# Arguments of a page that belong to the town it showed, dropped when the town changes.
_TOWN_ARGS = ("town", "village", "page")
_UNSET = object()


class TownChoice(NamedTuple):
    """What the chooser shows: the towns, the one chosen (None: all), whether there are
    several, and the page to come back to (without the arguments of the old town)."""

    towns: list[Town]
    chosen: Town | None
    several: bool
    back: str


def towns() -> list[Town]:
    """Every town of the installation by code (one query per request)."""
    if "towns" not in g:
        g.towns = list(db.session.scalars(db.select(Town).order_by(Town.code)))
    return g.towns


def several_towns() -> bool:
    """Whether the installation has more than one town (and so a choice to make)."""
    return len(towns()) > 1


def find_town(code: str | None) -> Town | None:
    """The town with ``code``, or None."""
    return next((t for t in towns() if t.code == code), None) if code else None


def remember_town(code: str | None) -> bool:
    """Keep ``code`` as the visitor's town (empty: all towns); an unknown code changes
    nothing. Whether the choice was kept."""
    code = (code or "").strip()[:20]
    if code and find_town(code) is None:
        return False
    session[SESSION_KEY] = code
    g.pop("chosen_town", None)
    return True


def chosen_town() -> Town | None:
    """The town the public pages show: the one asked for in ``?town=`` (then remembered), the
    one remembered, else a logged-in person's own; None for all towns (and always with one)."""
    if not has_request_context():
        return None
    chosen = g.get("chosen_town", _UNSET)
    if chosen is _UNSET:
        chosen = g.chosen_town = _choose()
    return chosen


def _choose() -> Town | None:
    if not several_towns():
        return None
    asked = request.args.get("town")
    if asked is not None and remember_town(asked):
        return find_town(asked.strip())
    remembered = session.get(SESSION_KEY)
    if remembered == "":
        return None
    return find_town(remembered) or _own_town()


def _own_town() -> Town | None:
    """A logged-in person's town: of their home grid, else of their highest staff role."""
    if not current_user.is_authenticated:
        return None
    profile = current_user.profile
    town_id = policy.town_of(profile.home_grid) if profile is not None else None
    if town_id is None:
        rank = {str(r): i for i, r in enumerate(STAFF_ORDER)}
        for a in sorted((a for a in current_user.roles if a.role in rank),
                        key=lambda a: (rank[a.role], a.id)):
            town_id = policy.town_of(a.grid or a.village or a.department or a.town)
            if town_id is not None:
                break
    return next((t for t in towns() if t.id == town_id), None)


def _back() -> str:
    """This page without the arguments of the town it shows."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in _TOWN_ARGS]
    return request.path + ("?" + urlencode(args) if args else "")


def town_choice() -> TownChoice:
    """The chooser's content for the page being rendered."""
    several = several_towns()
    return TownChoice(towns() if several else [], chosen_town(), several, _back())


@bp.app_context_processor
def inject_town_choice() -> dict:
    return {"town_choice": town_choice}


@bp.route("/choose", methods=["POST"])
def choose():
    """Choose a town for the public pages (empty: all towns) and go back to the page."""
    remember_town(request.form.get("town"))
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


def village_choices(town: Town | None) -> list:
    """The 村居 of ``town`` (of every town for None) by code, as rows of (id, code, name): what
    a public page's filter offers, without loading hundreds of whole 村居."""
    q = db.select(Village.id, Village.code, Village.name).order_by(Village.code)
    if town is not None:
        q = q.where(Village.town_id == town.id)
    return list(db.session.execute(q))
