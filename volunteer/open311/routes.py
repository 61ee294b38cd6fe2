"""The GeoReport v2 endpoints. Every path ends in ``.json`` or ``.xml``; every refusal is the
specification's error list in that format (404 unknown resource, 403 api_key, 400 the rest).

GET answers are public, as the board is; a POST needs ``api_key``, one of our API tokens (a
form key, not a header, as the specification says). No cookies authenticate, so no CSRF token
is asked (the blueprint is exempt, like the JSON API's); rate limits are the API's."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from volunteer.auth.models import User
from volunteer.auth.services import user_for_token
from volunteer.extensions import db, limiter
from volunteer.open311 import bp
from volunteer.open311.errors import client_locale, param
from volunteer.open311.mapping import (
    CHANGESET,
    SPECIFICATION,
    catalogue,
    definition_out,
    find_service,
    request_out,
    service_out,
    update_out,
)
from volunteer.open311.serializers import CONTENT_TYPES, Items, render
from volunteer.open311.services import (
    Open311Error,
    file_request,
    find_request,
    find_requests,
    find_updates,
    is_item_code,
    jurisdiction,
    last_changes,
    public_photos,
    read_filing,
    request_token,
    token_request,
    token_user,
)

FMT = "<any(json, xml):fmt>"
#: Orders of service items per account and day, as on the order form.
ORDER_LIMIT = "20 per day"


def rate_key() -> str:
    """Limit per api_key (generous, as the API's per token), or per address without one."""
    key = (param("api_key") or "").strip()
    if key:
        return "o311:" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return "ip:" + (request.remote_addr or "?")


limiter.limit(lambda: current_app.config["RATELIMIT_API"], key_func=rate_key)(bp)


def open311_view(view: Callable) -> Callable:
    """Run a view in the client's language."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with force_locale(client_locale()):
            return view(*args, **kwargs)

    return wrapped


def _hosts() -> set[str]:
    """The addresses this site answers at (for ``media_url``)."""
    return {request.host.lower(), urlsplit(current_app.config.get("SITE_URL") or "").netloc
            .lower()} - {""}


# --- the endpoints ----------------------------------------------------------------------------

@bp.route("/")
def index():
    """The endpoint's root: its discovery document."""
    return redirect(url_for(".discovery", fmt="xml"))


@bp.route(f"/discovery.{FMT}")
@open311_view
def discovery(fmt: str):
    """Where this endpoint is, what it speaks and how to get a key."""
    if request.args.get("jurisdiction_id"):
        jurisdiction(request.args["jurisdiction_id"])
    base = url_for(".index", _external=True).rstrip("/")
    body = {
        "changeset": CHANGESET,
        "contact": _("The grid office (网格办) of the town, through this site: %(url)s",
                     url=url_for("main.index", _external=True)),
        "key_service": _("Any account of this site creates an API token at %(url)s; send it "
                         "as api_key.", url=url_for("auth.tokens", _external=True)),
        "endpoints": Items("endpoint", [{
            "specification": SPECIFICATION, "url": base, "changeset": CHANGESET,
            "type": "production",
            "formats": Items("format", [CONTENT_TYPES["xml"].split(";")[0],
                                        CONTENT_TYPES["json"].split(";")[0]])}]),
    }
    return render(fmt, "discovery", body)


@bp.route(f"/services.{FMT}")
@open311_view
def service_list(fmt: str):
    """The services: our issue categories, then the service items residents order."""
    town = jurisdiction(request.args.get("jurisdiction_id"))
    locale = str(get_locale())
    return render(fmt, "services", Items("service", [service_out(s, locale)
                                                     for s in catalogue(town)]))


@bp.route(f"/services/<service_code>.{FMT}")
@open311_view
def service_definition(fmt: str, service_code: str):
    """One service's attributes."""
    town = jurisdiction(request.args.get("jurisdiction_id"))
    service = find_service(town, service_code[:50])
    if service is None:
        raise Open311Error("unknown_service")
    return render(fmt, "service_definition", definition_out(service, str(get_locale())))


@bp.route(f"/requests.{FMT}", methods=["GET"])
@open311_view
def request_list(fmt: str):
    """Requests of the last 90 days (or the range, codes, statuses or numbers asked for),
    newest first, at most 1,000 a page: their public facts, as on the board."""
    town = jurisdiction(request.args.get("jurisdiction_id"))
    issues = find_requests(request.args, town)
    ids = [i.id for i in issues]
    photos, changes = public_photos(ids), last_changes(ids)
    locale = str(get_locale())
    return render(fmt, "service_requests", Items("request", [
        request_out(i, locale, photos.get(i.id), changes.get(i.id)) for i in issues]))


def _order_user() -> User | None:
    if "open311_user" not in g:
        g.open311_user = user_for_token((param("api_key") or "").strip())
    return g.open311_user


def _not_an_order() -> bool:
    """Only orders of service items count against the day's orders (and only with a key)."""
    return not is_item_code(param("service_code")) or _order_user() is None


@bp.route(f"/requests.{FMT}", methods=["POST"])
@limiter.limit(ORDER_LIMIT, key_func=lambda: f"open311-order:{_order_user().id}",
               exempt_when=_not_an_order, methods=["POST"], override_defaults=False,
               deduct_when=lambda resp: resp.status_code == 200)
@open311_view
def create_request(fmt: str):
    """File a request (form-encoded, with ``api_key``) as the key's account: an issue with
    source open311, or an order of a service item. Answers its number and a token."""
    user = token_user(request.values.get("api_key"))
    town = jurisdiction(request.values.get("jurisdiction_id"))
    filing = read_filing(request.values, town)
    issue, notice = file_request(user, filing, _hosts())
    db.session.commit()
    return render(fmt, "service_requests", Items("request", [{
        "service_request_id": str(issue.id), "token": request_token(issue.id),
        "service_notice": notice, "account_id": str(user.id)}]))


@bp.route(f"/requests/<request_id>.{FMT}")
@open311_view
def request_detail(fmt: str, request_id: str):
    """One request's public facts (a list of one, as the specification has it)."""
    town = jurisdiction(request.args.get("jurisdiction_id"))
    issue = find_request(request_id, town)
    photo = public_photos([issue.id]).get(issue.id)
    changed = last_changes([issue.id]).get(issue.id)
    return render(fmt, "service_requests", Items("request", [
        request_out(issue, str(get_locale()), photo, changed)]))


@bp.route(f"/tokens/<token>.{FMT}")
@open311_view
def token_detail(fmt: str, token: str):
    """The request a token stands for."""
    town = jurisdiction(request.args.get("jurisdiction_id"))
    issue = token_request(token[:80], town)
    return render(fmt, "service_requests", Items("request", [
        {"service_request_id": str(issue.id), "token": token}]))


@bp.route(f"/servicerequestupdates.{FMT}")
@open311_view
def updates(fmt: str):
    """mySociety's extension: every change of a request's status or tier in the range, oldest
    first (``update_id`` is stable), with its public description."""
    town = jurisdiction(request.args.get("jurisdiction_id"))
    events = find_updates(request.args, town)
    return render(fmt, "service_request_updates", Items("request_update", [
        update_out(e) for e in events]))


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@open311_view
def unknown(rest: str):
    """Any other path or method: the error list (405 when the path takes other methods)."""
    adapter = current_app.url_map.bind(request.host)
    for method in ("GET", "POST"):
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "open311.unknown":
            raise Open311Error("method")
    raise Open311Error("not_found")
