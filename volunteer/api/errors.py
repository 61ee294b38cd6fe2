"""The API's one place for refusals: a DomainError, or a concurrent write that the commit
meets, rolls back and answers ``{"error", "message", "fields"}`` with its status."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from volunteer.api import bp
from volunteer.errors import Conflict, DomainError, domain_error_json
from volunteer.extensions import db


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    """A business rule refused the call: nothing it began is written."""
    db.session.rollback()
    return domain_error_json(exc)


@bp.errorhandler(IntegrityError)
@bp.errorhandler(StaleDataError)
def concurrent_write(exc: Exception):
    """Someone wrote the same rows at the same moment (the same person invited twice at once,
    a stale version): 409 ``conflict``, nothing written."""
    db.session.rollback()
    return domain_error_json(Conflict("conflict"))
