"""Plan helpers: the needs of a period (issues needing helpers, sessions needing staff) matched
with volunteers all at once, so that the total fit is as high as possible; a preview to edit,
then sent as invitations."""
from flask import Blueprint

bp = Blueprint("planning", __name__, url_prefix="/plan")
