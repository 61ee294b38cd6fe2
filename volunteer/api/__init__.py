"""JSON API under /api/v1/: bearer tokens, JSON errors, an OpenAPI document built from schemas."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
