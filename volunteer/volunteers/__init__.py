"""The volunteer registry: registration, profiles, verification, import and export."""
from flask import Blueprint

bp = Blueprint("volunteers", __name__, url_prefix="/volunteers")

from volunteer.volunteers import routes, staff_routes  # noqa: E402,F401
