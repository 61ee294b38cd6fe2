"""Residents' services (点单式服务): the service menu, grid points, scheduled sessions with
sign-ups and staff, and ordering a service, which becomes an issue."""
from flask import Blueprint

bp = Blueprint("services", __name__, url_prefix="/services")
