"""Forms for answering invitations, offering help and the organiser's decisions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from volunteer.validators import NoMarkup, strip


class NoteForm(FlaskForm):
    """An optional short text: a reason to decline, a note with an offer."""

    note = TextAreaField(_l("Note (optional)"), filters=[strip], validators=[
        Optional(), Length(max=500), NoMarkup()])
    submit = SubmitField(_l("Send"))


class ReasonForm(FlaskForm):
    """A required reason (declining an offer)."""

    note = TextAreaField(_l("Reason"), filters=[strip], validators=[
        DataRequired(_l("Please give a reason.")), Length(max=500), NoMarkup()])
    submit = SubmitField(_l("Send"))
