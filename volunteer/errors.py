"""Error pages: HTML for the site, JSON under /api/. The 500 handler rolls back."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from volunteer.extensions import db


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _json_error(status: int, code: str, message: str, **extra):
    body = {"error": code, "message": message, **extra}
    return jsonify(body), status


def register_error_handlers(app) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if wants_json():
            return _json_error(status, exc.name.lower().replace(" ", "_"), exc.description or "")
        if status == 429:
            return render_template("errors/429.html"), 429
        if status == 413:
            return render_template("errors/generic.html", status=413,
                                   message=_("The upload is too large.")), 413
        if status in (400, 403, 404, 405):
            return render_template(f"errors/{status if status != 405 else 404}.html"), status
        return render_template("errors/generic.html", status=status, message=exc.name), status

    @app.errorhandler(DataError)
    def data_error(exc: DataError):
        """A value the database cannot hold (a number too large …): bad input, not a crash."""
        db.session.rollback()
        if wants_json():
            return _json_error(400, "bad_request", "A value is out of range.")
        return render_template("errors/400.html"), 400

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s", request.path)
        if wants_json():
            return _json_error(500, "internal_server_error", "The server failed; nothing was changed.")
        return render_template("errors/500.html"), 500
