"""Dashboards and reports: the figures of the district, a town, a 村居 or a grid; coverage
gaps; exports; the work-unit report (双报到 feedback); the district's towns side by side."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
