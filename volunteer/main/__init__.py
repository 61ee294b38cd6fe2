"""Home page, language switch and the large-text mode."""
from flask import Blueprint

bp = Blueprint("main", __name__)
