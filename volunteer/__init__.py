"""网格志愿 (Grid Volunteers): skills-matching volunteers for grid-based community governance."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides settings (tests pass ``TESTING`` and a database URL)."""
    app = Flask(__name__, template_folder=str(PROJECT_DIR / "templates"),
                instance_relative_config=True)
    from werkzeug.routing import IntegerConverter

    class DatabaseId(IntegerConverter):
        """<int:…> in every route stops at the largest id the database holds (else 404)."""

        def __init__(self, map, *args, **kwargs):
            kwargs.setdefault("max", 2**31 - 1)
            super().__init__(map, *args, **kwargs)

    app.url_map.converters["int"] = DatabaseId
    from volunteer.config import load_config

    load_config(app, config)
    _trust_proxies(app)

    from volunteer import extensions as ext
    from volunteer.i18n import get_locale, get_timezone

    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(PACKAGE_DIR / "migrations"),
                         render_as_batch=True, compare_type=True)
    ext.csrf.init_app(app)
    ext.babel.init_app(app, locale_selector=get_locale, timezone_selector=get_timezone,
                       default_translation_directories=str(PACKAGE_DIR / "translations"))
    ext.limiter.init_app(app)
    _init_login(app)

    from volunteer import models  # noqa: F401  (every model registered before mappers configure)
    from volunteer.admin import init_admin
    from volunteer.api import bp as api_bp
    from volunteer.auth import bp as auth_bp
    from volunteer.board import bp as board_bp
    from volunteer.dashboard import bp as dashboard_bp
    from volunteer.hours import bp as hours_bp
    from volunteer.inbox import bp as inbox_bp
    from volunteer.invitations import bp as invitations_bp
    from volunteer.issues import bp as issues_bp
    from volunteer.main import bp as main_bp
    from volunteer.org import bp as org_bp
    from volunteer.outbox.services import init_app as init_outbox
    from volunteer.services import bp as services_bp
    from volunteer.volunteers import bp as volunteers_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(org_bp)
    app.register_blueprint(volunteers_bp)
    app.register_blueprint(issues_bp)
    app.register_blueprint(board_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(invitations_bp)
    app.register_blueprint(hours_bp)
    app.register_blueprint(services_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(api_bp)
    ext.csrf.exempt(api_bp)
    init_admin(app)
    init_outbox(app)

    from volunteer.cli import register_cli
    from volunteer.errors import register_error_handlers
    from volunteer.web import register_web

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
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for, x_proto=x_proto)


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from volunteer.extensions import db, login_manager

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str):
        """The user of a session or remember cookie, while it is still current (see
        ``User.get_id``) and the account active."""
        from volunteer.auth.models import User

        user_id = (session_id or "").partition(":")[0]
        if not (user_id.isascii() and user_id.isdigit()) or int(user_id) > 2**31 - 1:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or user.get_id() != session_id:
            return None
        return user
