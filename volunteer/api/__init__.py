"""JSON API under /api/v1/: bearer tokens, JSON errors, an OpenAPI document built from schemas."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from volunteer.api import (  # noqa: E402,F401
    auth,
    errors,
    invitations,
    issues,
    matching,
    routes,
    volunteers,
)
