"""Forms of call-ups: start one, close it, and the small POST forms of answers and check-ins."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    FloatField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from volunteer.callups.models import CallUpReason
from volunteer.checkin.forms import CheckForm  # noqa: F401  (shared with sessions and tasks)
from volunteer.validators import NoMarkup, OneLine, finite, map_pin, strip

REASON_LABELS = {CallUpReason.flood_typhoon: _l("Flood and typhoon (防汛防台)"),
                 CallUpReason.epidemic: _l("Epidemic control (疫情防控)"),
                 CallUpReason.search: _l("Search for a missing person (搜寻)"),
                 CallUpReason.other: _l("Other emergency")}
AREA_LABELS = {"grids": _l("These grids"), "radius": _l("Everyone within a radius of the "
                                                        "muster point")}


class CallUpForm(FlaskForm):
    """Start a call-up: why, where, when, how many; the area is grids or a radius."""

    reason = SelectField(_l("Reason"), choices=list(REASON_LABELS.items()),
                         default=CallUpReason.flood_typhoon)
    title = StringField(_l("What is needed"), filters=[strip], validators=[
        DataRequired(_l("Please say in a few words what is needed.")), Length(max=100),
        OneLine()], description=_l("e.g. 台风“烟花”来袭，转移低洼地区老人、加固棚架"))
    details = TextAreaField(_l("Details (optional)"), filters=[strip], validators=[
        Optional(), Length(max=2000), NoMarkup()],
        description=_l("What to bring, whom to ask for at the muster point …"))
    area = RadioField(_l("Whom to call"), choices=list(AREA_LABELS.items()), default="grids")
    grids = SelectMultipleField(_l("Grids"), validate_choice=False)
    radius_km = FloatField(_l("Radius (km)"), validators=[
        Optional(), finite, NumberRange(0.1, 20, _l("Between 0.1 and 20 km."))])
    point = SelectField(_l("Muster point: a grid point (optional)"), validate_choice=False,
                        default="")
    muster = StringField(_l("Where to gather"), filters=[strip], validators=[
        DataRequired(_l("Please say where to gather.")), Length(max=200), OneLine()],
        description=_l("An address or landmark people know, e.g. 新江村村委会门口"))
    lat = HiddenField(validators=[map_pin])
    lon = HiddenField()
    starts_at = DateTimeLocalField(_l("Gather at"), format="%Y-%m-%dT%H:%M", validators=[
        InputRequired(_l("Please give the time to gather."))])
    ends_at = DateTimeLocalField(_l("Expected end (optional; 4 hours later if empty)"),
                                 format="%Y-%m-%dT%H:%M", validators=[Optional()])
    needed = IntegerField(_l("People needed"), default=10, validators=[
        InputRequired(_l("Please enter a number.")),
        NumberRange(1, 5000, _l("Between 1 and 5,000 people."))])
    skills = SelectMultipleField(_l("Skills wanted (optional: anyone when none)"),
                                 validate_choice=False)
    submit = SubmitField(_l("Call them now"))


class CloseForm(FlaskForm):
    """Close a call-up with what was done."""

    summary = TextAreaField(_l("What was done"), filters=[strip], validators=[
        DataRequired(_l("Please say what was done.")), Length(max=5000), NoMarkup()])
    submit = SubmitField(_l("Close the call-up"))
