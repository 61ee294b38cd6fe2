"""The volunteer registry: registration, profiles, verification, import and export."""
from flask import Blueprint

bp = Blueprint("volunteers", __name__, url_prefix="/volunteers")
