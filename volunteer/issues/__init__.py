"""Grid issues: filing, the lifecycle from report to verified closure, tiers, routing, queues."""
from flask import Blueprint

bp = Blueprint("issues", __name__, url_prefix="/issues")
