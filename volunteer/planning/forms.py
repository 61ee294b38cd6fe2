"""The plan's forms: the period to plan, and a candidate to add to a need."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SubmitField
from wtforms.validators import DataRequired, NumberRange


class PeriodForm(FlaskForm):
    """The days to plan, from the first to the last (local dates)."""

    period_from = DateField(_l("From"), validators=[DataRequired(_l("Please give a date."))])
    period_until = DateField(_l("Until"), validators=[DataRequired(_l("Please give a date."))])
    submit = SubmitField(_l("Make a plan"))


class AddForm(FlaskForm):
    """One of a need's other candidates, to propose."""

    volunteer = IntegerField(_l("Volunteer"), validators=[
        DataRequired(_l("Please choose a volunteer.")), NumberRange(min=1)])
    submit = SubmitField(_l("Add"))
