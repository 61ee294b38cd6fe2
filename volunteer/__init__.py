"""网格志愿 (Grid Volunteers): skills-matching volunteers for grid-based community governance."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

# The package's two leaves: they import nothing of it. Every other module imports this file (by
# importing a sibling), so create_app imports them inside, where that closes no cycle.
from volunteer import extensions as ext
from volunteer.config import load_config

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


class DatabaseId(IntegerConverter):
    """<int:…> in every route stops at the largest id the database holds (else 404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides settings (tests pass ``TESTING`` and a database URL)."""
    app = Flask(__name__, template_folder=str(PROJECT_DIR / "templates"),
                instance_relative_config=True)
    app.url_map.converters["int"] = DatabaseId
    load_config(app, config)
    _trust_proxies(app)

    from volunteer import models  # noqa: F401  (every model registered before mappers configure)
    from volunteer.i18n import get_locale, get_timezone

    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(PACKAGE_DIR / "migrations"),
                         render_as_batch=True, compare_type=True)
    ext.csrf.init_app(app)
    ext.babel.init_app(app, locale_selector=get_locale, timezone_selector=get_timezone,
                       default_translation_directories=str(PACKAGE_DIR / "translations"))
    ext.limiter.init_app(app)
    ext.cache.init_app(app)
    _init_login(app)

    # A feature package defines only its ``bp``; these modules put their views (and the API's
    # hooks and error handlers) on it. So a service can be imported without its feature's routes.
    import volunteer.api.auth
    import volunteer.api.errors
    import volunteer.api.invitations
    import volunteer.api.issues
    import volunteer.api.matching
    import volunteer.api.routes
    import volunteer.api.volunteers
    import volunteer.auth.routes
    import volunteer.board.routes
    import volunteer.callups.routes
    import volunteer.checkin.routes
    import volunteer.dashboard.routes
    import volunteer.hours.records_routes
    import volunteer.hours.routes
    import volunteer.inbox.routes
    import volunteer.invitations.routes
    import volunteer.issues.photo_routes
    import volunteer.issues.routes
    import volunteer.main.routes
    import volunteer.offline.routes
    import volunteer.open311.errors
    import volunteer.open311.routes
    import volunteer.org.routes
    import volunteer.org.towns
    import volunteer.planning.routes
    import volunteer.services.routes
    import volunteer.services.staff_routes
    import volunteer.volunteers.routes
    import volunteer.volunteers.staff_routes

    for feature in (volunteer.main, volunteer.auth, volunteer.org, volunteer.volunteers,
                    volunteer.issues, volunteer.board, volunteer.inbox, volunteer.invitations,
                    volunteer.hours, volunteer.services, volunteer.dashboard, volunteer.api,
                    volunteer.open311, volunteer.planning, volunteer.callups,
                    volunteer.offline, volunteer.checkin):
        app.register_blueprint(feature.bp)
    app.register_blueprint(volunteer.org.towns.bp)
    ext.csrf.exempt(volunteer.api.bp)
    ext.csrf.exempt(volunteer.open311.bp)  # a token API too: api_key, no cookies

    from volunteer.admin import init_admin
    from volunteer.cli import register_cli
    from volunteer.errors import register_error_handlers
    from volunteer.outbox.services import init_app as init_outbox
    from volunteer.web import register_web

    init_admin(app)
    init_outbox(app)
    register_error_handlers(app)
    register_web(app)
    register_cli(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind a reverse proxy, take the client's address (and scheme) from the headers of the
    configured number of trusted hops; with none configured, those headers are ignored, so a
    client cannot choose the address the rate limits count."""
    x_for, x_proto = app.config["PROXY_FIX_X_FOR"], app.config["PROXY_FIX_X_PROTO"]
    if x_for or x_proto:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for, x_proto=x_proto)


def _init_login(app: Flask) -> None:
    login_manager = ext.login_manager
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str):
        """The user of a session or remember cookie, while it is still current (see
        ``User.get_id``) and the account active."""
        from volunteer.auth.models import User  # (a submodule: it runs this file first)

        user_id = (session_id or "").partition(":")[0]
        if not (user_id.isascii() and user_id.isdigit()) or int(user_id) > 2**31 - 1:
            return None
        user = ext.db.session.get(User, int(user_id))
        if user is None or not user.active or user.get_id() != session_id:
            return None
        return user
