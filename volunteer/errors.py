"""The domain error every feature's refusals subclass, and the error pages: HTML for the site,
JSON under /api/. Every handler rolls the session back."""
from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from flask import flash, jsonify, redirect, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, InternalServerError

from volunteer.extensions import db

#: The language of the API's messages (and of the OpenAPI document).
API_LOCALE = "en"


class DomainError(Exception):
    """A business rule refused an operation; nothing it began may be committed.

    ``code`` names the rule (stable: the API answers it as ``error``), ``field`` the input at
    fault, ``params`` fill the message's ``%(name)s`` placeholders, ``status`` is the HTTP
    status: by default the class's ``statuses`` entry for the code, else 422 when a field is
    at fault, else 409.

    A feature subclasses it next to its service and fills ``messages`` (code → lazy text),
    ``statuses`` (codes that are not 409) and ``defaults`` (params used when a raise site
    leaves one empty). Every subclass is listed in ``DomainError.registry``.
    """

    messages: ClassVar[dict[str, Any]] = {}
    statuses: ClassVar[dict[str, int]] = {}
    defaults: ClassVar[dict[str, Any]] = {}
    registry: ClassVar[list[type[DomainError]]] = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        DomainError.registry.append(cls)

    def __init__(self, code: str, field: str | None = None, params: dict | None = None,
                 status: int | None = None):
        super().__init__(code)
        self.code = code
        self.field = field
        self.params = dict(params or {})
        self.status = status or self.status_of(code, field)

    @classmethod
    def status_of(cls, code: str, field: str | None = None) -> int:
        """The HTTP status of ``code``: listed, else 422 for a field at fault, else 409."""
        return cls.statuses.get(code) or (422 if field else 409)

    @property
    def message(self) -> str:
        """The message in the current locale (the code in words when it has none)."""
        text = self.messages.get(self.code)
        if text is None:
            return self.code.replace("_", " ")
        text = str(text)
        if "%(" not in text:
            return text
        params = {k: str(v) for k, v in self.defaults.items()}
        params.update({k: v for k, v in self.params.items() if v is not None and v != ""})
        try:
            return text % params
        except (KeyError, TypeError, ValueError):
            return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, field={self.field!r})"


class Conflict(DomainError):
    """Someone else wrote the same rows at the same moment (a unique key or a version)."""

    messages = {"conflict": _l("Someone else changed this at the same moment; nothing was "
                               "written. Please look again.")}


def error_table() -> list[dict[str, Any]]:
    """Every code of every DomainError subclass of the application, with its status and its
    English message: the OpenAPI document lists them from here."""
    rows = []
    with force_locale(API_LOCALE):
        for cls in DomainError.registry:
            if not cls.__module__.startswith("volunteer."):
                continue  # a test's own subclass
            for code, text in cls.messages.items():
                rows.append({"code": code, "status": cls.status_of(code),
                             "message": str(text), "type": cls.__name__})
    return sorted(rows, key=lambda r: (r["type"], r["code"]))


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _json_error(status: int, code: str, message: str, **extra):
    body = {"error": code, "message": message, **extra}
    return jsonify(body), status


def domain_error_json(exc: DomainError):
    """A DomainError as the API answers it: ``{"error", "message", "fields"}`` and its status,
    in the API's language."""
    with force_locale(API_LOCALE):
        text = exc.message
    return _json_error(exc.status, exc.code, text,
                       fields={exc.field: text} if exc.field else {})


def _referrer_on_site() -> str | None:
    """The page the request came from, when it is a page of this site."""
    ref = request.referrer
    if not ref:
        return None
    parts = urlsplit(ref)
    if parts.netloc != request.host or not parts.path.startswith("/") \
            or parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


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

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        """A refusal no view caught: roll back and say why, never a 500. A form's POST goes
        back to the page it came from; anything else gets an error page with the status."""
        db.session.rollback()
        if wants_json():
            return domain_error_json(exc)
        back = _referrer_on_site()
        if request.method != "GET" and back:
            flash(exc.message, "danger")
            return redirect(back)
        return render_template("errors/generic.html", status=exc.status,
                               message=exc.message), exc.status

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError):
        """An unexpected error. Flask calls this only when exceptions do not propagate (in
        debug mode they reach the debugger); it has logged the traceback already."""
        db.session.rollback()
        if exc.original_exception is not None:
            app.logger.error("500 on %s %s: %r", request.method, request.path,
                             exc.original_exception)
        if wants_json():
            return _json_error(500, "internal_server_error",
                               "The server failed; nothing was changed.")
        return render_template("errors/500.html"), 500
