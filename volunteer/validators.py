"""WTForms validators and filters shared by every feature's forms."""
from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from volunteer.common import has_markup, is_phone, normalize_phone

PASSWORD_MIN = 8
PASSWORD_MAX = 128


def strip(value):
    """Filter: trim surrounding white space (also the full-width space 　)."""
    return value.strip().strip("\u3000").strip() if isinstance(value, str) else value


def phone_filter(value):
    """Filter: normalise a mobile number (spaces, dashes, +86)."""
    return normalize_phone(value) if isinstance(value, str) else value


class NoMarkup:
    """Refuse text that contains HTML tags or control characters."""

    def __call__(self, form, field):
        value = field.data or ""
        if has_markup(value):
            raise ValidationError(_l("Please remove the HTML tags (text in < >)."))
        if any(unicodedata.category(c) == "Cc" and c not in "\r\n\t" for c in value):
            raise ValidationError(_l("This text contains invalid control characters."))


class PersonName:
    """A person's name: any length up to 50, any script; letters with · - ' and spaces between."""

    _ok = re.compile(r"^[^\W\d_](?:[^\W\d_]|[·•．.\-' ])*$", re.UNICODE)

    def __call__(self, form, field):
        value = field.data or ""
        if not value:
            raise ValidationError(_l("Please enter a name."))
        if len(value) > 50:
            raise ValidationError(_l("A name can have at most 50 characters."))
        if has_markup(value) or not self._ok.match(value):
            raise ValidationError(_l("A name may contain only letters, spaces and · - '."))


class Phone:
    """An 11-digit mainland mobile number."""

    def __call__(self, form, field):
        if not is_phone(field.data or ""):
            raise ValidationError(
                _l("Please enter an 11-digit mobile number starting with 13–19."))


class Password:
    """At least 8 characters with letters and digits; at most 128."""

    def __call__(self, form, field):
        value = field.data or ""
        if len(value) < PASSWORD_MIN or len(value) > PASSWORD_MAX:
            raise ValidationError(password_rule())
        if not (re.search(r"[A-Za-z]", value) and re.search(r"\d", value)):
            raise ValidationError(password_rule())


def password_rule():
    return _l("Use 8 to 128 characters with at least one letter and one digit.")


def map_pin(form, field):
    """Validator for a pin's hidden ``lat`` field: empty with ``lon``, or a point on the map."""
    lon = form.lon.data
    if not field.data and not lon:
        return
    try:
        lat_v, lon_v = float(field.data), float(lon)
    except (TypeError, ValueError):
        raise ValidationError(_l("The map pin is not a valid location.")) from None
    if not (-90 <= lat_v <= 90 and -180 <= lon_v <= 180):
        raise ValidationError(_l("The map pin is not a valid location."))
