"""Emergency call-ups (应急动员): a 村居 or the town calls every available volunteer of some grids
at once — a typhoon warning, an epidemic, a search — with answers, a quorum, check-in and
check-out at the muster point, hours, and a report."""
from flask import Blueprint

bp = Blueprint("callups", __name__, url_prefix="/callups")
