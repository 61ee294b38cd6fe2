"""Forms for proposing and confirming hours, and for corrections."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from volunteer.validators import NoMarkup, strip


class HoursForm(FlaskForm):
    hours = StringField(_l("Hours"), filters=[strip], validators=[Length(max=10)])
    note = TextAreaField(_l("What was done (optional)"), filters=[strip], validators=[
        Optional(), Length(max=500), NoMarkup()])
    submit = SubmitField(_l("Save"))


class CorrectionForm(FlaskForm):
    hours = StringField(_l("Correct hours"), filters=[strip], validators=[
        DataRequired(_l("Please give the hours.")), Length(max=10)])
    reason = TextAreaField(_l("Why"), filters=[strip], validators=[
        DataRequired(_l("Please give a reason.")), Length(max=500), NoMarkup()])
    submit = SubmitField(_l("Ask for the correction"))


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[
        Optional(), Length(max=500), NoMarkup()])
    submit = SubmitField(_l("Send"))
