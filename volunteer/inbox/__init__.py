"""The inbox: in-app notifications (and e-mail when SMTP is configured), by the user's choice."""
from flask import Blueprint

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
