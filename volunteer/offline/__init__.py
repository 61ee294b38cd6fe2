"""Offline patrol reports: the installable app (manifest, service worker) and the endpoint a
phone's outbox files its reports through, once each."""
from flask import Blueprint

bp = Blueprint("offline", __name__)
