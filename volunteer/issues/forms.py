"""Forms for filing and handling issues."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from volunteer.issues.models import SOURCES
from volunteer.validators import NoMarkup, OneLine, finite, map_pin, strip

SOURCE_LABELS = {
    "patrol": _l("Found on patrol"), "resident_report": _l("Reported by a resident"),
    "service_order": _l("Service order"), "hotline": _l("Hotline"),
    "deputy_reception": _l("Deputies' reception"), "open311": _l("Another system (Open311)"),
}
STATUS_LABELS = {
    "reported": _l("Reported"), "accepted": _l("Accepted"), "in_progress": _l("In progress"),
    "resolved": _l("Resolved, to verify"), "closed": _l("Closed"), "rejected": _l("Rejected"),
}
TIER_LABELS = {"grid": _l("On the spot (grid)"), "village": _l("Village"),
               "department": _l("Town department"), "district": _l("District department")}
ACTION_LABELS = {
    "report": _l("Reported"), "accept": _l("Accept"), "start": _l("Start work"),
    "resolve": _l("Mark resolved"), "verify": _l("Verify and close"),
    "fail_verification": _l("Send back for rework"), "reject": _l("Reject"),
    "escalate": _l("Escalate"), "return": _l("Send back a level"), "reopen": _l("Reopen"),
    "rate": _l("Rate the result"), "comment": _l("Comment"), "overdue": _l("Overdue"),
    "me_too": _l("Me too"), "photo": _l("Photo added"), "photo_public": _l("Photo made public"),
    "photo_private": _l("Photo made private"),
    "invite": _l("Volunteer invited"), "invitation_accepted": _l("Invitation accepted"),
    "invitation_declined": _l("Invitation declined"),
    "invitation_withdrawn": _l("Invitation withdrawn"), "offer": _l("Offer to help"),
    "offer_accepted": _l("Offer taken up"), "offer_declined": _l("Offer declined"),
    "no_show": _l("Helper did not come"), "reschedule": _l("Time and place changed"),
}
# Timeline entries about helpers: staff see them, reporters and followers do not (names).
HELPER_ACTIONS = {"invite", "invitation_accepted", "invitation_declined", "invitation_withdrawn",
                  "offer", "offer_accepted", "offer_declined", "no_show"}


class IssueForm(FlaskForm):
    title = StringField(_l("Title"), filters=[strip], validators=[
        DataRequired(_l("Please give the issue a short title.")), Length(max=100), NoMarkup()])
    description = TextAreaField(_l("What is the problem?"), filters=[strip], validators=[
        DataRequired(_l("Please describe the problem.")), Length(max=5000), NoMarkup()])
    category = SelectField(_l("Category"), validate_choice=False)
    urgency = SelectField(_l("Urgency"), validate_choice=False, default="normal")
    # Staff choose among the sources people file by; "open311" is set by that interface only.
    source = SelectField(_l("Source"), choices=[(s, SOURCE_LABELS[s]) for s in SOURCES],
                         default="patrol")
    grid = SelectField(_l("Grid"), validate_choice=False)
    lat = HiddenField(validators=[map_pin])
    lon = HiddenField()
    address = StringField(_l("Address or landmark (optional)"), filters=[strip], validators=[
        Optional(), Length(max=200), OneLine()],
        description=_l("e.g. 新江村 12 号楼东侧, or 菜场后门: where helpers should go"))
    helpers_needed = IntegerField(_l("Helpers needed"), default=1, validators=[
        Optional(), NumberRange(1, 50, _l("Between 1 and 50."))])
    needed_from = DateTimeLocalField(_l("Help needed from (optional)"), validators=[Optional()],
                                     format="%Y-%m-%dT%H:%M")
    needed_until = DateTimeLocalField(_l("Help needed until (optional)"), validators=[Optional()],
                                      format="%Y-%m-%dT%H:%M")
    photos = MultipleFileField(_l("Photos (up to 3; JPEG or PNG, at most 5 MB each)"))
    submit = SubmitField(_l("File the issue"))


class WhenWhereForm(FlaskForm):
    """The organiser sets or changes when help is needed and where to go."""

    needed_from = DateTimeLocalField(_l("Help needed from"), validators=[Optional()],
                                     format="%Y-%m-%dT%H:%M")
    needed_until = DateTimeLocalField(_l("Help needed until"), validators=[Optional()],
                                      format="%Y-%m-%dT%H:%M")
    address = StringField(_l("Address or landmark"), filters=[strip], validators=[
        Optional(), Length(max=200), OneLine()])
    submit = SubmitField(_l("Save time and place"))


class PhotoForm(FlaskForm):
    """Add photos to an issue that is already filed."""

    photos = MultipleFileField(_l("Add photos (JPEG or PNG, at most 5 MB each)"))
    submit = SubmitField(_l("Upload"))


class ActionForm(FlaskForm):
    """One form for every action; the view checks what the action needs."""

    action = HiddenField(validators=[DataRequired()])
    version = HiddenField(validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), filters=[strip], validators=[
        Optional(), Length(max=2000), NoMarkup()])
    resolution = TextAreaField(_l("How it was resolved"), filters=[strip], validators=[
        Optional(), Length(max=2000), NoMarkup()])
    hours_spent = DecimalField(_l("Hours spent"), places=1, validators=[
        Optional(), finite, NumberRange(0, 1000, _l("Between 0 and 1,000 hours."))])
    cost_saved_yuan = IntegerField(_l("Estimated cost saved (yuan)"), validators=[
        Optional(), NumberRange(0, 10_000_000, _l("Between 0 and 10,000,000 yuan."))])
    rating = IntegerField(_l("Rating (1–5)"), validators=[
        Optional(), NumberRange(1, 5, _l("From 1 to 5."))])
    department_id = SelectField(_l("Department"), validate_choice=False, coerce=str)
    duplicate_of = IntegerField(_l("Duplicate of issue no."), validators=[
        Optional(), NumberRange(1, 2**31 - 1, _l("Not an issue number."))])
    submit = SubmitField(_l("Confirm"))
