"""Open311 GeoReport v2 at /open311/v2/: other systems discover our services, file issues and
follow them to closure, in JSON and XML (routes in ``routes.py``, mapping in ``mapping.py``)."""
from flask import Blueprint

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
