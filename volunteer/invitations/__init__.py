"""Invitations: a volunteer asked to help with an issue (or to staff a service session), whom
the matcher suggests and why, offers to help from the volunteer's side, waves, my tasks, and
their calendar files."""
from flask import Blueprint

bp = Blueprint("invitations", __name__, url_prefix="/tasks")
