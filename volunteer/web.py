"""Request-wide wiring for the HTML site: security headers, template globals and filters."""
from __future__ import annotations

from flask import Flask, current_app, redirect, request, url_for
from flask_babel import force_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from volunteer import policy
from volunteer.auth.models import Role, role_label
from volunteer.common import mask_id, mask_name, mask_phone
from volunteer.i18n import get_locale, large_text_on, localtime
from volunteer.inbox.services import unread_count
from volunteer.volunteers.forms import ID_TYPE_LABELS


def id_type_label(code: str | None) -> str:
    """The translated name of a kind of identity document."""
    return str(ID_TYPE_LABELS.get(code or "", code or ""))

# Content Security Policy: our own scripts and styles only, map tiles from the configured host.
_CSP = ("default-src 'self'; img-src 'self' data: https: http:; script-src 'self'; "
        "style-src 'self' 'unsafe-inline'; font-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


# An imported person may also leave, or take their data, before confirming the terms.
_CONSENT_FREE = {"auth.consent", "auth.logout", "static", "main.terms", "main.set_language",
                 "main.toggle_large_text", "auth.delete", "auth.my_data",
                 "offline.service_worker", "offline.manifest"}  # files of the app, not pages


def nav_items() -> list[tuple]:
    """(label, endpoint, icon, children) for the navigation, by the visitor's roles; an entry
    with children is a menu of (label, endpoint, icon) links."""
    services = [(_l("Service menu"), "services.menu", "heart-pulse"),
                (_l("Grid points"), "services.points", "geo-alt"),
                (_l("Skills near you"), "volunteers.available", "stars")]
    if current_user.is_authenticated:
        services.append((_l("My services"), "services.mine", "bookmark-heart"))
    items: list[tuple] = [(_l("Home"), "main.index", "house", None),
                          (_l("Services"), None, "heart-pulse", services),
                          (_l("Public board"), "board.index", "megaphone", None)]
    if not current_user.is_authenticated:
        return items
    items.append((_l("Issues"), "issues.index", "clipboard-check", None))
    # Whoever may file an issue (any account) has an outbox for reports made offline.
    items.append((_l("Outbox"), "offline.outbox", "cloud-arrow-up", None))
    if current_user.has_role("volunteer") or current_user.profile is not None:
        items.append((_l("My volunteering"), None, "person-raised-hand", [
            (_l("My tasks"), "invitations.index", "calendar-check"),
            (_l("Needs near me"), "invitations.near", "geo"),
            (_l("My service record"), "hours.index", "journal-check"),
            (_l("My profile"), "volunteers.me", "person-raised-hand")]))
    work = []
    if policy.holds(current_user, policy.DASHBOARD_READERS):
        work.append((_l("Dashboard"), "dashboard.index", "bar-chart"))
    if current_user.is_staff:
        work.append((_l("My grids"), "org.overview", "diagram-3"))
    if policy.holds(current_user, policy.REGISTRY_KEEPERS):
        work.append((_l("Volunteers"), "volunteers.staff_list", "people"))
    if policy.holds(current_user, policy.ORGANISERS):
        work.append((_l("Sessions"), "services.staff_list", "calendar-week"))
        work.append((_l("Hours to confirm"), "hours.review", "hourglass-split"))
    if policy.may_plan(current_user):
        work.append((_l("Plan helpers"), "planning.index", "diagram-2"))
    if policy.holds(current_user, policy.OFFICES):
        work.append((_l("Service records"), "hours.records_view", "journal-text"))
    if policy.may_start_callups(current_user):
        work.append((_l("Call-ups"), "callups.index", "broadcast"))
    if work:
        items.append((_l("Grid work"), None, "diagram-3", work))
    if current_user.is_admin:
        items.append((_l("Town admin"), "admin.index", "gear", None))
    return items


def register_web(app: Flask) -> None:
    """Install headers, context processors and filters on ``app``."""

    @app.before_request
    def ask_for_consent():
        """Imported people confirm the terms before anything else."""
        if (current_user.is_authenticated and current_user.needs_consent_confirmation
                and request.endpoint not in _CONSENT_FREE and not request.path.startswith("/api/")):
            return redirect(url_for("auth.consent", next=request.full_path))
        return None

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self)")
        if not request.path.startswith("/admin"):
            resp.headers.setdefault("Content-Security-Policy", _CSP)
        if current_app.config.get("SESSION_COOKIE_SECURE"):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return resp

    @app.context_processor
    def inject():
        return {
            "unread": unread_count(current_user) if current_user.is_authenticated else 0,
            "current_locale": str(get_locale()),
            "languages": current_app.config["LANGUAGES"],
            "large_text": large_text_on(),
            "nav_items": nav_items(),
            "Role": Role, "policy": policy,
            "role_label": role_label, "id_type_label": id_type_label,
            "map_config": {"tiles": current_app.config["MAP_TILE_URL"],
                           "attribution": current_app.config["MAP_TILE_ATTRIBUTION"],
                           "datum": current_app.config["MAP_TILE_DATUM"],
                           "center": list(current_app.config["MAP_CENTER"])},
        }

    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["mask_name"] = mask_name
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_id"] = mask_id
    app.jinja_env.globals["static_v"] = lambda f: url_for("static", filename=f)


def warm_before_fork(app: Flask) -> int:
    """Compile every page template and read every language's catalogue in a server's parent
    process, before it forks its workers (gunicorn ``--preload``, ``gunicorn.conf.py``): a
    worker that starts or restarts then serves its first pages as fast as its hundredth,
    instead of compiling as it goes. The templates compiled."""
    env = app.jinja_env
    names = [n for n in env.list_templates() if n.endswith(".html")]
    for name in names:
        env.get_template(name)
    with app.test_request_context():
        for locale in app.config["LANGUAGES"]:
            with force_locale(locale):
                get_translations()
    return len(names)
