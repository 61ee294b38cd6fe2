"""The check-in form (call-ups, sessions, tasks): the phone's position when the person allows
it, filled in by static/js/callup-checkin.js, else nothing but the CSRF token and the time."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SubmitField


class CheckForm(FlaskForm):
    """Check in or out: the phone's position when the volunteer allows it (filled in by the
    page's script), else nothing but the time."""

    lat = HiddenField()
    lon = HiddenField()
    accuracy = HiddenField()
    submit = SubmitField(_l("Check in"))
