"""Forms: ordering a service, scheduling sessions, editing a session."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from volunteer.validators import NoMarkup, map_pin, strip

WEEKDAYS = [("0", _l("Mon")), ("1", _l("Tue")), ("2", _l("Wed")), ("3", _l("Thu")),
            ("4", _l("Fri")), ("5", _l("Sat")), ("6", _l("Sun"))]
ORDINALS = [("1", _l("1st")), ("2", _l("2nd")), ("3", _l("3rd")), ("4", _l("4th")),
            ("-1", _l("last"))]


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class OrderForm(FlaskForm):
    """A resident orders a service for themselves or a neighbour."""

    for_whom = RadioField(_l("For whom"), choices=[("self", _l("For me")),
                                                   ("neighbour", _l("For a neighbour"))],
                          default="self")
    neighbour = StringField(_l("Who (for example: my neighbour Mr Li, 82, bedridden)"),
                            filters=[strip], validators=[Optional(), Length(max=60), NoMarkup()])
    details = TextAreaField(_l("What is needed"), filters=[strip], validators=[
        DataRequired(_l("Please say what is needed.")), Length(max=2000), NoMarkup()])
    grid = SelectField(_l("Grid"), validate_choice=False)
    lat = HiddenField(validators=[map_pin])
    lon = HiddenField()
    needed_from = DateTimeLocalField(_l("When would suit (optional)"), validators=[Optional()],
                                     format="%Y-%m-%dT%H:%M")
    needed_until = DateTimeLocalField(_l("Until (optional)"), validators=[Optional()],
                                      format="%Y-%m-%dT%H:%M")
    submit = SubmitField(_l("Order"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.for_whom.data == "neighbour" and not self.neighbour.data:
            self.neighbour.errors = [*self.neighbour.errors,
                                     _l("Please say who the service is for.")]
            ok = False
        return ok


class ScheduleForm(FlaskForm):
    """One session, or a series from a rule."""

    item = SelectField(_l("Service"), validate_choice=False,
                       validators=[DataRequired(_l("Please choose a service."))])
    point = SelectField(_l("Grid point"), validate_choice=False,
                        validators=[DataRequired(_l("Please choose a grid point."))])
    first = DateField(_l("Date (the first one)"), validators=[
        InputRequired(_l("Please give a date."))])
    start = TimeField(_l("From"), validators=[InputRequired(_l("Please give a time."))])
    end = TimeField(_l("To"), validators=[InputRequired(_l("Please give a time."))])
    freq = RadioField(_l("Repeat"), default="once", choices=[
        ("once", _l("Once")), ("weekly", _l("Every week (or every few weeks)")),
        ("monthly", _l("On given weekdays of the month"))])
    weekdays = Checkboxes(_l("On"), choices=WEEKDAYS)
    interval = IntegerField(_l("Every how many weeks"), default=1, validators=[
        Optional(), NumberRange(1, 4, _l("From 1 to 4."))])
    ordinals = Checkboxes(_l("Which in the month"), choices=ORDINALS)
    until = DateField(_l("Until"), validators=[Optional()])
    capacity = IntegerField(_l("Places for residents"), default=20, validators=[
        InputRequired(_l("Please give the number of places.")),
        NumberRange(1, 500, _l("From 1 to 500."))])
    staff_needed = IntegerField(_l("Volunteers needed"), default=1, validators=[
        InputRequired(_l("Please give the number of volunteers.")),
        NumberRange(0, 20, _l("From 0 to 20."))])
    note = TextAreaField(_l("Note for residents (optional)"), filters=[strip], validators=[
        Optional(), Length(max=500), NoMarkup()])
    submit = SubmitField(_l("Schedule"))


class SessionEditForm(FlaskForm):
    capacity = IntegerField(_l("Places for residents"), validators=[
        InputRequired(_l("Please give the number of places.")),
        NumberRange(1, 500, _l("From 1 to 500."))])
    staff_needed = IntegerField(_l("Volunteers needed"), validators=[
        InputRequired(_l("Please give the number of volunteers.")),
        NumberRange(0, 20, _l("From 0 to 20."))])
    note = TextAreaField(_l("Note for residents (optional)"), filters=[strip], validators=[
        Optional(), Length(max=500), NoMarkup()])
    submit = SubmitField(_l("Save"))
