"""QR check-in and check-out at service sessions and at tasks with a time window: the
organiser's rotating (or printed) code, the scan that checks a helper or a signed-up resident
in and out, the hours it proposes and the attendance it fills in. ``codes`` holds the
primitives call-ups share (signed links, the rotating window, quarter hours, positions)."""
from flask import Blueprint

bp = Blueprint("checkin", __name__, url_prefix="/checkin")
