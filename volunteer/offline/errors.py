"""JSON answers of the outbox's endpoint: refusals in the person's language, and a report that
arrived twice at the same moment answered with the issue the other request filed. Every
handler rolls the session back."""
from __future__ import annotations

from flask import jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from volunteer.errors import Conflict, DomainError
from volunteer.extensions import db
from volunteer.issues.models import Issue
from volunteer.offline import bp
from volunteer.offline.services import OfflineError, check_uuid, filed_before


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    return jsonify({"error": code, "message": message, "fields": fields or {}}), status


def filed(issue: Issue, status: int):
    """The answer for a filed report: its issue's number and page."""
    return jsonify({"id": issue.id, "url": url_for("issues.detail", issue_id=issue.id)}), status


@bp.errorhandler(DomainError)
def refused(exc: DomainError):
    """A refusal (bad field, photo, time, id): nothing written; the phone shows the message."""
    db.session.rollback()
    return json_error(exc.status, exc.code, exc.message,
                      {exc.field: exc.message} if exc.field else {})


@bp.errorhandler(IntegrityError)
def arrived_twice(exc: IntegrityError):
    """The same report at the same moment: the other request filed it (the unique id)."""
    db.session.rollback()
    try:
        issue = filed_before(current_user, check_uuid(request.form.get("client_uuid")))
    except OfflineError as refusal:
        return refused(refusal)
    if issue is None:
        return refused(Conflict("conflict"))
    return filed(issue, 200)


@bp.errorhandler(CSRFError)
def csrf_refused(exc: CSRFError):
    """A missing or stale CSRF token: the sender fetches a fresh one and tries again."""
    return json_error(400, "csrf", _("The page's security token has expired; sending again "
                                     "with a fresh one."))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    """More bytes than any report may have (the outbox compresses photos well below)."""
    return json_error(413, "too_large", _("The report with its photos is too large. Please "
                                          "edit it and choose fewer or smaller photos."))


def login_needed():
    return json_error(401, "login_needed", _("Please log in again to send the reports "
                                             "waiting on this phone."))
