"""Site-wide pages: home, terms, language and large-text switches."""
from __future__ import annotations

from flask import current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from volunteer.auth.routes import safe_next
from volunteer.extensions import db
from volunteer.i18n import LANG_COOKIE, LARGE_TEXT_COOKIE, large_text_on
from volunteer.main import bp
from volunteer.org.models import Grid, GridPoint, Village
from volunteer.org.towns import chosen_town
from volunteer.skills.models import Skill

ONE_YEAR = 365 * 24 * 3600


@bp.route("/")
def index():
    """The home page: what the site is for residents, volunteers and grid staff (with the
    figures of the chosen town)."""
    town = chosen_town()
    villages = db.select(db.func.count(Village.id))
    grids = db.select(db.func.count(Grid.id))
    points = db.select(db.func.count(GridPoint.id))
    if town is not None:
        villages = villages.where(Village.town_id == town.id)
        grids = grids.join(Village).where(Village.town_id == town.id)
        points = points.join(Grid).join(Village).where(Village.town_id == town.id)
    counts = {
        "villages": db.session.scalar(villages),
        "grids": db.session.scalar(grids),
        "points": db.session.scalar(points),
        "skills": db.session.scalar(db.select(db.func.count(Skill.id))),
    }
    return render_template("main/index.html", counts=counts, town=town)


@bp.route("/terms")
def terms():
    """The personal-information terms that registration asks consent to."""
    return render_template("main/terms.html", version=current_app.config["TERMS_VERSION"])


def _back():
    return redirect(safe_next(request.form.get("next") or request.args.get("next"))
                    or url_for("main.index"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    """Switch the UI language; kept in a cookie and, when logged in, on the account."""
    resp = make_response(_back())
    if code in current_app.config["LANGUAGES"]:
        resp.set_cookie(LANG_COOKIE, code, max_age=ONE_YEAR, samesite="Lax", httponly=True)
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return resp


@bp.route("/large-text", methods=["POST"])
def toggle_large_text():
    """Switch the large-text, high-contrast mode (适老化) on or off; it persists."""
    on = not large_text_on()
    resp = make_response(_back())
    resp.set_cookie(LARGE_TEXT_COOKIE, "1" if on else "0", max_age=ONE_YEAR, samesite="Lax",
                    httponly=True)
    if current_user.is_authenticated:
        current_user.large_text = on
        db.session.commit()
    return resp
