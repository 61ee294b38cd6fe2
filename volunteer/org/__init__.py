"""The organisation tree: town, 村居, grids, grid points, departments and service items."""
from flask import Blueprint

bp = Blueprint("org", __name__, url_prefix="/org")
