"""Invitations: a volunteer asked to help with an issue (or, later, to staff a service session),
offers to help from the volunteer's side, waves, my tasks, and their calendar files."""
from flask import Blueprint

bp = Blueprint("invitations", __name__, url_prefix="/tasks")

from volunteer.invitations import routes  # noqa: E402,F401
