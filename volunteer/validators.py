"""WTForms validators and filters shared by every feature's forms."""
from __future__ import annotations

import math
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms.validators import StopValidation, ValidationError

from volunteer import rules
from volunteer.common import normalize_phone
from volunteer.rules import PASSWORD_MAX, PASSWORD_MIN  # noqa: F401  (forms use them)


def strip(value):
    """Filter: trim surrounding white space (also the full-width space 　)."""
    return value.strip().strip("\u3000").strip() if isinstance(value, str) else value


def phone_filter(value):
    """Filter: normalise a mobile number (spaces, dashes, +86)."""
    return normalize_phone(value) if isinstance(value, str) else value


class _Rule:
    """A WTForms validator made from a rule of ``volunteer.rules``."""

    rule = staticmethod(lambda value: None)

    def __call__(self, form, field):
        message = type(self).rule(field.data)
        if message is not None:
            raise ValidationError(message)


class NoMarkup:
    """Free text: no HTML tags, no control or direction characters (line breaks allowed)."""

    def __call__(self, form, field):
        message = rules.text(field.data, multiline=True)
        if message is not None:
            raise ValidationError(message)


class OneLine:
    """Free text on one line (a title, a name of a thing): as NoMarkup, without line breaks."""

    def __call__(self, form, field):
        message = rules.text(field.data)
        if message is not None:
            raise ValidationError(message)


class PersonName(_Rule):
    """A person's name (``rules.name``)."""

    rule = staticmethod(rules.name)


class Phone(_Rule):
    """An 11-digit mainland mobile number (``rules.phone``)."""

    rule = staticmethod(rules.phone)


class Password(_Rule):
    """At least 8 characters with letters and digits; at most 128 (``rules.password``)."""

    rule = staticmethod(rules.password)


def password_rule():
    return rules.password_message()


def finite(form, field):
    """A number that is a number: NaN and infinities (``nan``, ``sNaN``, ``inf``) pass
    ``NumberRange`` unnoticed, so this stops them first."""
    value = field.data
    if value is None:
        return
    ok = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not ok:
        field.errors[:] = []
        raise StopValidation(_l("Please enter a number."))


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
