"""Configuration: defaults here, values from the environment read in ``load_config``.

Nothing is read from ``os.environ`` at import time; ``create_app`` calls ``load_config`` so that
tests and scripts can set the environment before building an app.
"""
from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path


class Config:
    """Defaults for every environment."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set SESSION_COOKIE_SECURE=1 behind HTTPS
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 24 * 14
    WTF_CSRF_TIME_LIMIT = None  # a form left open on a phone all afternoon still submits
    MAX_CONTENT_LENGTH = 24 * 1024 * 1024  # imports up to 20 MB; certificates are checked at 5 MB

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "中文", "en": "English"}

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Failed logins (and password checks) per account, and per client address: many people
    # share one address behind a NAT, so that limit is higher and only failures count.
    RATELIMIT_LOGIN = "10 per minute;60 per hour"
    RATELIMIT_LOGIN_ADDRESS = "60 per minute;600 per hour"
    # Proxies in front of the app whose X-Forwarded-For / -Proto to trust (0: none; nginx: 1).
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    RATELIMIT_API = "1200 per minute"

    # werkzeug's method string; scrypt costs ~50 ms per hash, which is what we want for real logins.
    PASSWORD_HASH_METHOD = "scrypt"

    MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    MAP_TILE_ATTRIBUTION = "&copy; OpenStreetMap contributors"
    MAP_TILE_DATUM = "WGS84"  # or "GCJ02" for AMap / Tencent tiles
    MAP_CENTER = (30.757, 121.353)  # Shanyang town, Jinshan district

    MAIL_SERVER = ""
    MAIL_PORT = 587
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_USE_TLS = True
    MAIL_SENDER = "noreply@localhost"
    MAIL_TIMEOUT = 10
    MAIL_CAPTURE = False  # keep messages in memory instead of sending them (tests)
    SITE_URL = "http://127.0.0.1:5000"  # for links in e-mails sent outside a request (tick)

    # The outbox (README "Messages"): who sends after a commit — "thread" (a thread of the web
    # process; no second command), "inline" (at once, in the request) or "worker" (only
    # `flask deliver`, run as its own service).
    OUTBOX_DELIVERY = "thread"
    OUTBOX_MAX_ATTEMPTS = 10  # then a dead letter the town admin sees
    OUTBOX_RETRY_SECONDS = 30  # the first wait; doubled after each failure, at most 6 hours
    OUTBOX_LEASE_SECONDS = 300  # a worker that died mid-batch leaves it to others after this
    OUTBOX_POLL_SECONDS = 15
    OUTBOX_KEEP_DAYS = 30  # sent messages are deleted after this (tick)
    # SMS and WeChat template messages: provider "log" (a file in the instance folder) or "http"
    # (a POST of *_HTTP_BODY, with {phone}/{openid}, {text}, {title}, {link} filled in).
    SMS_PROVIDER = ""
    SMS_HTTP_URL = ""
    SMS_HTTP_HEADERS: dict = {}
    SMS_HTTP_BODY = '{"phone": "{phone}", "text": "{text}"}'
    WECHAT_PROVIDER = ""
    WECHAT_HTTP_URL = ""
    WECHAT_HTTP_HEADERS: dict = {}
    WECHAT_HTTP_BODY = ('{"touser": "{openid}", "url": "{link}", '
                        '"data": {"title": {"value": "{title}"}, "text": {"value": "{text}"}}}')

    TERMS_VERSION = "2026-11"
    MATCH_WEIGHTS: dict = {}  # overrides of volunteer.matching.matcher.Weights
    MATCH_SLATE_DAYS = 180  # suggestion lists shown are kept this long (tick deletes older)
    MATCH_TRAIN_ON_TICK = True  # tick trains the skill model again when it is stale
    MATCH_EXPLORE = 0.1  # share of lists whose top five get one adjacent swap (same grade)
    MATCH_WEEKLY_CAP = 5  # invitations a volunteer gets in 7 days at most (0: no cap)
    MATCH_SNAPSHOT = True  # workers share the index through a snapshot in the instance folder
    # Aggregates that read a whole town or district (dashboards, the board's counts) are kept
    # this long; ``tick`` computes the dashboards' default views again before they expire.
    DASHBOARD_CACHE_SECONDS = 300
    # Where they are kept (Flask-Caching): each worker for itself by default; shared by every
    # worker and by ``tick`` with CACHE_TYPE=RedisCache and CACHE_REDIS_URL=redis://…/1.
    CACHE_TYPE = "SimpleCache"
    CACHE_REDIS_URL = ""
    CACHE_KEY_PREFIX = "gv:"
    MATCH_FAIR_DAYS = 28  # invitations this recent lower a volunteer's score …
    MATCH_FAIR_HALF_LIFE_DAYS = 7.0  # … each by half as much every this many days
    MATCH_LEARN_MIN_OUTCOMES = 300  # answered invitations from lists before learning offers weights
    RESET_CODE_HOURS = 24
    VERIFY_DAYS = 2  # a resolved issue waiting longer than this for verification is overdue
    # The district and first town that ``setup`` creates in an empty database (renamed and
    # joined by more towns on the admin pages, or by ``seed-city``).
    DISTRICT_CODE = "JS"
    DISTRICT_NAME = "金山区"
    TOWN_CODE = "SY"
    TOWN_NAME = "山阳镇"
    # The organisation that issues volunteer service certificates (志愿服务证明, MCA Order No.
    # 67): its name, the person in charge, the handler and a contact. Without an issuer the
    # site prints service-record summaries, not certificates.
    CERT_ISSUER = ""
    CERT_ISSUER_HEAD = ""
    CERT_HANDLER = ""
    CERT_CONTACT = ""
    # Emergency call-ups (README "Emergency call-ups"): a volunteer gets at most this many
    # call-up notices in CALLUP_BUDGET_DAYS (0: no limit; those over it are listed as "not
    # called: budget"); those who have not answered are reminded once after
    # CALLUP_REMIND_MINUTES (tick); a muster point's QR code works for CALLUP_QR_HOURS.
    CALLUP_NOTICE_BUDGET = 3
    CALLUP_BUDGET_DAYS = 30
    CALLUP_REMIND_MINUTES = 15
    CALLUP_QR_HOURS = 24
    # QR check-in at sessions and tasks (README "QR check-in and check-out"): the code on the
    # organiser's screen changes every CHECKIN_ROTATE_MINUTES (and works one period more);
    # check-in opens CHECKIN_EARLY_MINUTES before the start and closes CHECKIN_LATE_HOURS after
    # the end, which is also when a printed code stops working.
    CHECKIN_ROTATE_MINUTES = 3
    CHECKIN_EARLY_MINUTES = 60
    CHECKIN_LATE_HOURS = 3
    # Offline patrol reports (README "Offline patrol reports"): the time a phone says it made a
    # report is taken when it is at most this far ahead of the server's clock, and this recent.
    OFFLINE_CLOCK_SKEW_MINUTES = 10
    OFFLINE_MAX_AGE_DAYS = 30


class TestConfig(Config):
    """Settings for the test suite: fast hashing, no CSRF unless a test turns it on."""

    TESTING = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    SECRET_KEY = "test-only-secret"
    MAIL_CAPTURE = True
    OUTBOX_DELIVERY = "inline"
    MATCH_TRAIN_ON_TICK = False  # the suite trains once per process (conftest)
    MATCH_EXPLORE = 0.0  # lists in the order ranked (tests of exploration set it)
    MATCH_WEEKLY_CAP = 0  # fixtures invite the same people often (tests of the cap set it)
    MATCH_SNAPSHOT = False  # each test's database is new (tests of the snapshot set it)
    DASHBOARD_CACHE_SECONDS = 0  # tests change volunteers between two looks
    SERVER_NAME = None


# Environment variables read as strings, with the config key they set.
_ENV_KEYS = [
    "MAP_TILE_URL", "MAP_TILE_ATTRIBUTION", "MAP_TILE_DATUM", "MAIL_SERVER", "MAIL_USERNAME",
    "MAIL_PASSWORD", "MAIL_SENDER", "SITE_URL", "RATELIMIT_STORAGE_URI", "TERMS_VERSION", "PASSWORD_HASH_METHOD",
    "RATELIMIT_LOGIN", "RATELIMIT_LOGIN_ADDRESS",
    "CERT_ISSUER", "CERT_ISSUER_HEAD", "CERT_HANDLER", "CERT_CONTACT",
    "OUTBOX_DELIVERY", "SMS_PROVIDER", "SMS_HTTP_URL", "SMS_HTTP_BODY",
    "WECHAT_PROVIDER", "WECHAT_HTTP_URL", "WECHAT_HTTP_BODY",
    "DISTRICT_CODE", "DISTRICT_NAME", "TOWN_CODE", "TOWN_NAME",
    "CACHE_TYPE", "CACHE_REDIS_URL", "CACHE_KEY_PREFIX",
]
_ENV_JSON = ["MATCH_WEIGHTS", "SMS_HTTP_HEADERS", "WECHAT_HTTP_HEADERS"]
_ENV_BOOLS = ["SESSION_COOKIE_SECURE", "MAIL_USE_TLS", "MATCH_SNAPSHOT"]
_ENV_FLOATS = {"MATCH_EXPLORE": (0.0, 0.5), "MATCH_FAIR_HALF_LIFE_DAYS": (0.1, 365.0)}
_ENV_INTS = ["DASHBOARD_CACHE_SECONDS", "MAIL_PORT", "PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO", "VERIFY_DAYS",
             "OUTBOX_MAX_ATTEMPTS", "OUTBOX_RETRY_SECONDS", "OUTBOX_LEASE_SECONDS",
             "OUTBOX_POLL_SECONDS", "OUTBOX_KEEP_DAYS", "MATCH_SLATE_DAYS", "MATCH_WEEKLY_CAP",
             "MATCH_FAIR_DAYS", "MATCH_LEARN_MIN_OUTCOMES", "CALLUP_NOTICE_BUDGET",
             "CALLUP_BUDGET_DAYS", "CALLUP_REMIND_MINUTES", "CALLUP_QR_HOURS",
             "CHECKIN_ROTATE_MINUTES", "CHECKIN_EARLY_MINUTES", "CHECKIN_LATE_HOURS",
             "OFFLINE_CLOCK_SKEW_MINUTES", "OFFLINE_MAX_AGE_DAYS"]


def load_config(app, overrides: dict | None = None) -> None:
    """Fill ``app.config`` from the defaults, the environment, then ``overrides``."""
    testing = bool(overrides and overrides.get("TESTING"))
    app.config.from_object(TestConfig if testing else Config)
    env = os.environ
    for key in _ENV_KEYS:
        if env.get(key):
            app.config[key] = env[key]
    for key in _ENV_BOOLS:
        if key in env:
            app.config[key] = env[key].strip().lower() in {"1", "true", "yes", "on"}
    for key in _ENV_INTS:
        if re.fullmatch(r"[0-9]+", env.get(key, "").strip()):  # not isdigit(): "²" passes it
            app.config[key] = int(env[key])
    for key, (low, high) in _ENV_FLOATS.items():
        if env.get(key, "").strip():
            try:
                value = float(env[key])
            except ValueError:
                raise RuntimeError(f"{key} must be a number") from None
            if not low <= value <= high:
                raise RuntimeError(f"{key} must be between {low:g} and {high:g}")
            app.config[key] = value
    for key in _ENV_JSON:
        if env.get(key):
            try:
                app.config[key] = json.loads(env[key])
            except ValueError:
                raise RuntimeError(f"{key} must be a JSON object") from None
            if not isinstance(app.config[key], dict):
                raise RuntimeError(f"{key} must be a JSON object")
    if app.config["OUTBOX_DELIVERY"] not in ("thread", "inline", "worker"):
        raise RuntimeError("OUTBOX_DELIVERY must be thread, inline or worker")
    app.config["MAP_TILE_DATUM"] = app.config["MAP_TILE_DATUM"].upper().replace("-", "")
    if app.config["SESSION_COOKIE_SECURE"]:
        app.config["REMEMBER_COOKIE_SECURE"] = True

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["UPLOAD_FOLDER"] = env.get("UPLOAD_FOLDER") or app.instance_path
    default_db = "sqlite:///" + str(Path(app.instance_path) / "volunteer.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = env.get("DATABASE_URL") or default_db
    if not testing:
        app.config["SECRET_KEY"] = env.get("SECRET_KEY") or _instance_secret(app.instance_path)
    if overrides:
        app.config.update(overrides)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):  # the scheme Heroku-style URLs use
        uri = "postgresql+psycopg://" + uri.removeprefix("postgres://")
    elif uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    if uri.startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {}


def _instance_secret(instance_path: str) -> str:
    """Return the instance's secret key, generating it once on first use."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def upload_folder(kind: str) -> Path:
    """The folder for one kind of uploaded file (certificates, issue photos …), created."""
    from flask import current_app

    path = Path(current_app.config["UPLOAD_FOLDER"]) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def mail_configured(config) -> bool:
    """True when an SMTP server is set."""
    return bool(config.get("MAIL_SERVER"))
