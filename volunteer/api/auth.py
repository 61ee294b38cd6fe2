"""Bearer-token authentication and rate limits for the API (no cookies, hence no CSRF)."""
from __future__ import annotations

import hashlib

from flask import current_app, g, jsonify, request

from volunteer.api import bp
from volunteer.auth.services import user_for_token
from volunteer.extensions import db, limiter

PUBLIC_ENDPOINTS = {"api.openapi"}


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def rate_key() -> str:
    """Limit per token (generous), or per address for calls without one."""
    token = _bearer()
    if token:
        return "tok:" + hashlib.sha256(token.encode()).hexdigest()[:16]
    return "ip:" + (request.remote_addr or "?")


limiter.limit(lambda: current_app.config["RATELIMIT_API"], key_func=rate_key)(bp)


@bp.before_request
def authenticate():
    """Every endpoint but the OpenAPI document needs a valid bearer token."""
    g.api_user = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user = user_for_token(_bearer() or "")
    if user is None:
        resp = jsonify({"error": "unauthorized",
                        "message": "A valid bearer token is required (Authorization: Bearer …)."})
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return resp
    g.api_user = user
    if db.session.dirty:  # last_used_at, written at most every few minutes
        db.session.commit()
    return None
