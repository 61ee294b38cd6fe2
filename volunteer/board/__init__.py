"""The public board: what the grids are working on, for residents without an account."""
from flask import Blueprint

bp = Blueprint("board", __name__, url_prefix="/board")
