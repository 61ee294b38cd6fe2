"""The installable app and the phone outbox's endpoints.

``/sw.js`` and ``/manifest.webmanifest`` live at the root (a service worker controls only the
paths under its own); ``/issues/outbox`` is the outbox page (GET) and the idempotent filing
endpoint (POST, session cookie and CSRF token, JSON answers); ``/issues/outbox/token`` gives
the sender a fresh CSRF token and the account it belongs to just before it sends.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from volunteer import policy
from volunteer.common import utcnow
from volunteer.extensions import db, limiter, per_account
from volunteer.i18n import get_locale
from volunteer.issues.forms import IssueForm
from volunteer.issues.photos import read_uploads
from volunteer.issues.routes import form_input
from volunteer.offline import bp
from volunteer.offline.errors import filed, json_error, login_needed
from volunteer.offline.services import check_uuid, file_offline, filed_before, parse_made_at

#: The navbar's colour (``--brand`` in site.css): the installed app's title bar.
THEME_COLOR = "#b71c1c"
#: Static files the service worker keeps for the app to start and file reports offline.
APP_SHELL = (
    "vendor/bootstrap/css/bootstrap.min.css", "vendor/bootstrap/js/bootstrap.bundle.min.js",
    "vendor/bootstrap-icons/bootstrap-icons.min.css",
    "vendor/bootstrap-icons/fonts/bootstrap-icons.woff2",
    "vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
    "vendor/leaflet/images/marker-icon.png", "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-shadow.png",
    "css/site.css", "favicon.svg", "icons/icon-192.png", "icons/icon-512.png",
    "js/map.js", "js/pin.js", "js/issue-form.js", "js/offline-outbox.js", "js/offline-form.js",
    "js/outbox-page.js", "js/pwa.js",
)
#: Workbox's modules that sw.js uses (vendor/workbox/, see VERSIONS.md).
WORKBOX_MODULES = ("core", "routing", "strategies", "precaching", "expiration",
                   "cacheable-response")
#: How often a phone may file from its outbox (a day's patrol fits many times over).
OUTBOX_LIMIT = "120 per minute"


@bp.route("/issues/outbox", methods=["POST"])
@limiter.limit(OUTBOX_LIMIT, key_func=per_account("outbox"))
def file_report():
    """File one report from a phone's outbox, once per report id: 201 when filed, 200 with the
    same issue for a repeat, 4xx with a message (and nothing written) for bad input. Refusals
    and a repeat that raced the first one are answered in ``offline.errors``."""
    if not current_user.is_authenticated:
        return login_needed()
    client_uuid = check_uuid(request.form.get("client_uuid"))
    issue = filed_before(current_user, client_uuid)
    if issue is not None:
        return filed(issue, 200)  # the answer to the first attempt was lost: same number
    form = IssueForm(meta={"csrf": False})  # CSRFProtect checked the token before the view
    if not form.validate():
        fields = {name: str(errors[0]) for name, errors in form.errors.items() if errors}
        return json_error(422, "invalid", _("Please correct the fields marked below."), fields)
    data = form_input(form, policy.may_set_issue_source(current_user))
    data.client_uuid = client_uuid
    data.made_at = parse_made_at(request.form.get("made_at"), utcnow())
    issue = file_offline(current_user, data, read_uploads(request.files.getlist("photos")))
    db.session.commit()
    return filed(issue, 201)


@bp.route("/issues/outbox/token")
def token():
    """A fresh CSRF token for the outbox's sender, and whose reports it may send."""
    if not current_user.is_authenticated:
        return login_needed()
    resp = jsonify({"csrf_token": generate_csrf(), "user_id": current_user.id})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/issues/outbox")
@login_required
def outbox():
    """The reports on this phone: waiting, sent (with their numbers), refused (to fix)."""
    return render_template("offline/outbox.html")


@lru_cache(maxsize=4)
def _precache(static_folder: str, static_url: str) -> list[dict]:
    """The app shell with a content hash per file: a changed file changes sw.js, so phones
    fetch the new version (and only that file)."""
    root = Path(static_folder)
    names = [*APP_SHELL, "vendor/workbox/workbox-sw.js",
             *(f"vendor/workbox/workbox-{m}.prod.js" for m in WORKBOX_MODULES)]
    return [{"url": f"{static_url}/{name}",
             "revision": hashlib.sha256((root / name).read_bytes()).hexdigest()[:16]}
            for name in names if (root / name).is_file()]


@bp.route("/sw.js")
def service_worker():
    """The service worker, from the root so that it may control every page of the site."""
    config = {
        "precache": _precache(current_app.static_folder, current_app.static_url_path),
        "workbox": url_for("static", filename="vendor/workbox/"),
        "outboxScript": url_for("static", filename="js/offline-outbox.js"),
        "fileUrl": url_for("offline.file_report"), "tokenUrl": url_for("offline.token"),
        "pages": [url_for("issues.new"), url_for("offline.outbox"), url_for("main.index")],
        "fallback": url_for("offline.outbox"), "formPath": url_for("issues.new"),
    }
    body = (f"self.GV_SW = {json.dumps(config)};\n"
            + (Path(current_app.static_folder) / "js" / "sw.js").read_text(encoding="utf-8"))
    resp = current_app.response_class(body, mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"  # phones ask for updates at every visit
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest: installable on a phone's home screen."""
    icons = [{"src": url_for("static", filename=f"icons/icon-{n}.png"), "sizes": f"{n}x{n}",
              "type": "image/png", "purpose": "any"} for n in (192, 512)]
    icons.append({"src": url_for("static", filename="icons/icon-maskable-512.png"),
                  "sizes": "512x512", "type": "image/png", "purpose": "maskable"})
    body = {"name": _("Grid Volunteers"), "short_name": _("Grid Volunteers"),
            "description": _("Report issues on patrol, also without a connection."),
            "lang": "en" if str(get_locale()).startswith("en") else "zh-CN",
            "start_url": url_for("main.index"), "scope": "/",
            "display": "standalone", "orientation": "portrait",
            "background_color": "#ffffff", "theme_color": THEME_COLOR, "icons": icons,
            "shortcuts": [{"name": _("Report an issue"), "url": url_for("issues.new")},
                          {"name": _("Outbox"), "url": url_for("offline.outbox")}]}
    resp = current_app.response_class(json.dumps(body, ensure_ascii=False),
                                      mimetype="application/manifest+json")
    resp.headers["Cache-Control"] = "no-cache"
    return resp
