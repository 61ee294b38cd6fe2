"""Locale and time-zone selection, and the Jinja filters that show local times and numbers."""
from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_babel import format_datetime
from flask_login import current_user

from volunteer.common import to_local

LANG_COOKIE = "lang"
LARGE_TEXT_COOKIE = "large_text"


def get_locale() -> str:
    """The user's saved choice, else the language cookie, else Chinese."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if request and request.cookies.get(LANG_COOKIE) in languages:
        return request.cookies[LANG_COOKIE]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def get_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def large_text_on() -> bool:
    """Whether the large-text, high-contrast mode (适老化) is on for this visitor."""
    if not has_request_context():
        return False
    if current_user and current_user.is_authenticated and current_user.large_text:
        return True  # the account's choice follows the person to every device
    return request.cookies.get(LARGE_TEXT_COOKIE) == "1"


def localtime(value, fmt: str = "medium") -> str:
    """Jinja filter: a stored UTC time shown in Asia/Shanghai, in the UI language."""
    if value is None:
        return ""
    return format_datetime(to_local(value), fmt)
