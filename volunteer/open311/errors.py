"""Open311's one place for refusals: any DomainError, a value the database cannot hold, or an
HTTP error (not found, wrong method, too large, too many requests) rolls back and answers the
specification's error list, in the format and the language the request asked for."""
from __future__ import annotations

from flask import current_app, request
from flask_babel import force_locale, get_locale
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.open311 import bp
from volunteer.open311.serializers import FORMATS, error_response
from volunteer.open311.services import Open311Error

#: Our field names in refusals of the issues' service, as GeoReport v2 names them.
FIELD_NAMES = {"lat": "lat/long", "category": "service_code", "grid": "address_id",
               "photos": "media_url", "needed_until": "attribute[needed_until]",
               "urgency": "attribute[urgency]"}
HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method", 413: "too_large",
              429: "too_many", 500: "server"}


def response_format() -> str:
    """The format the path asks for (XML, the specification's first, when it names none)."""
    fmt = (request.view_args or {}).get("fmt")
    if fmt in FORMATS:
        return fmt
    return "json" if request.path.endswith(".json") else "xml"


def param(name: str) -> str | None:
    """A parameter of the query string or of a form body; a body that cannot be read (too
    large, malformed) counts as none here, and its view refuses it."""
    try:
        return request.values.get(name)
    except HTTPException:
        return request.args.get(name)


def client_locale() -> str:
    """``locale`` (en, zh_CN) when given, else the client's Accept-Language, else the site's."""
    wanted = (param("locale") or "").strip().lower()
    best = wanted if wanted else request.accept_languages.best_match(["zh", "en"])
    if best and best.startswith("en"):
        return "en"
    if best and best.startswith("zh"):
        return "zh_CN"
    return str(get_locale())


@bp.errorhandler(DomainError)
def refused(exc: DomainError):
    """A refusal: nothing is written; 403/404 as the specification says, else 400."""
    db.session.rollback()
    with force_locale(client_locale()):
        if isinstance(exc, Open311Error):
            return error_response(response_format(), exc.status, exc.message)
        field = FIELD_NAMES.get(exc.field or "", exc.field)
        text = f"{field}: {exc.message}" if field else exc.message
        return error_response(response_format(), 403 if exc.status == 403 else 400, text)


@bp.errorhandler(DataError)
def out_of_range(exc: DataError):
    """A value the database cannot hold: bad input."""
    db.session.rollback()
    with force_locale(client_locale()):
        return error_response(response_format(), 400, Open311Error("bad_request").message)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Not found, a wrong method, too large, too many requests … as the error list (Flask-
    Limiter adds its Retry-After header to a 429)."""
    db.session.rollback()
    status = exc.code or 500
    if status == 500:
        current_app.logger.error("500 on %s %s: %r", request.method, request.path,
                                 getattr(exc, "original_exception", None))
    with force_locale(client_locale()):
        code = HTTP_CODES.get(status)
        text = Open311Error(code).message if code else (exc.description or exc.name)
        return error_response(response_format(), status, text)
