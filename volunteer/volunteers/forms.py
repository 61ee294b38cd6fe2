"""Forms of the volunteer registry."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from volunteer import rules
from volunteer.validators import (
    NoMarkup,
    Password,
    PersonName,
    Phone,
    finite,
    map_pin,
    password_rule,
    phone_filter,
    strip,
)
from volunteer.volunteers.availability import SLOTS

ID_TYPE_LABELS = {"id_card": _l("Mainland ID card (居民身份证)"), "passport": _l("Passport"),
                  "hk_mo_permit": _l("Mainland travel permit for Hong Kong and Macao residents"),
                  "tw_permit": _l("Mainland travel permit for Taiwan residents"),
                  "other": _l("Other document")}


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _free_skills(text: str | None) -> list[str]:
    import re

    return [p.strip() for p in re.split(r"[;；,，、/|]+", text or "") if p.strip()]


class ProfileForm(FlaskForm):
    """Everything a volunteer keeps in their profile (both registration paths, and edit)."""

    village = SelectField(_l("Village"), coerce=str, validate_choice=False)
    grid = SelectField(_l("Home grid"), coerce=str, validate_choice=False)
    lat = HiddenField(validators=[map_pin])
    lon = HiddenField()
    skills = MultiCheckboxField(_l("Skills"), coerce=str, validate_choice=False)
    free_skills = StringField(_l("Other skills (free text)"), filters=[strip], validators=[
        Optional(), Length(max=300), NoMarkup()],
        description=_l("Separate several with 、 or a comma, e.g. 会修自行车、书法"))
    availability = MultiCheckboxField(_l("When you are usually free"),
                                      choices=[(c, lbl) for c, _b, _zh, lbl in SLOTS])
    travel_km = FloatField(_l("How far you would go (km)"), default=5, validators=[
        InputRequired(_l("Please enter a distance.")), finite,
        NumberRange(0.5, 50, _l("Between 0.5 and 50 km."))])
    monthly_limit = IntegerField(_l("At most this many tasks a month"), default=4, validators=[
        InputRequired(_l("Please enter a number.")),
        NumberRange(1, 30, _l("Between 1 and 30."))])
    bio = TextAreaField(_l("About you (optional)"), filters=[strip], validators=[
        Optional(), Length(max=1000), NoMarkup()])
    no_night_calls = BooleanField(_l("Don't call me at night (22:00–07:00) for emergency "
                                     "call-ups"))
    national_no = StringField(_l("National volunteer number (志愿者统一编号), if you have one"),
                              filters=[strip], validators=[Optional(), Length(max=30)])
    id_type = SelectField(_l("Identity document on your service record (optional)"),
                          choices=[("", _l("None"))] + [(k, v) for k, v in ID_TYPE_LABELS.items()],
                          validate_choice=False)
    id_number = StringField(_l("Document number"), filters=[strip], validators=[
        Optional(), Length(max=30)], description=_l(
            "Only if you want it on your service record; it is shown masked everywhere. "
            "Leave empty to keep the one on file."))
    submit = SubmitField(_l("Save"))

    def validate_national_no(self, field):
        if field.data and (message := rules.volunteer_number(field.data)):
            raise ValidationError(message)

    def validate_id_type(self, field):
        if field.data and field.data not in ID_TYPE_LABELS:
            raise ValidationError(_l("Please choose the kind of document."))

    def validate_id_number(self, field):
        if field.data and (message := rules.id_number(self.id_type.data, field.data)):
            raise ValidationError(message)

    def free_skill_list(self) -> list[str]:
        return _free_skills(self.free_skills.data)

    def validate_free_skills(self, field):
        items = self.free_skill_list()
        if len(items) > 10 or any(len(i) > 50 for i in items):
            raise ValidationError(_l("At most 10 free-text skills of at most 50 characters."))

    def validate_skills(self, field):
        if not field.data and not self.free_skill_list():
            raise ValidationError(_l("Choose at least one skill or write one."))


class PartyFields:
    """Extra fields for in-service party members reporting to their home grid (在职党员报到)."""

    work_unit = StringField(_l("Work unit (工作单位)"), filters=[strip], validators=[
        DataRequired(_l("Please enter your work unit.")), Length(max=100), NoMarkup()],
        render_kw={"list": "work-units", "autocomplete": "off"})
    party_branch = StringField(_l("Party branch (所在党组织)"), filters=[strip], validators=[
        DataRequired(_l("Please enter your party branch.")), Length(max=100), NoMarkup()])
    party_registered_on = DateField(_l("Date of registration (报到日期)"), validators=[
        InputRequired(_l("Please enter a date (YYYY-MM-DD)."))])


class AccountFields:
    """Account fields for visitors who register and volunteer in one step."""

    name = StringField(_l("Name"), filters=[strip], validators=[PersonName()])
    phone = StringField(_l("Mobile number"), filters=[strip, phone_filter],
                        validators=[DataRequired(_l("Please enter your mobile number.")), Phone()],
                        render_kw={"inputmode": "tel", "autocomplete": "tel"})
    password = PasswordField(_l("Password"), validators=[Password()], description=password_rule(),
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat password"), validators=[
        EqualTo("password", _l("The two passwords do not match."))])


class ConsentField:
    consent = BooleanField(_l("I have read and agree to the personal information terms"),
                           validators=[DataRequired(_l("Registration needs your consent to the terms."))])


def profile_form_class(*, party: bool, account: bool, consent: bool) -> type[ProfileForm]:
    """The form for one path: party member or skilled resident, new account or not."""
    bases = [ProfileForm]
    if party:
        bases.insert(0, PartyFields)
    if account:
        bases.insert(0, AccountFields)
    if consent:
        bases.insert(0, ConsentField)
    return type("VolunteerForm", tuple(bases), {})


class PartyToggleForm(ProfileForm, PartyFields):
    """The edit form: party fields are required only when the box is ticked."""

    is_party_member = BooleanField(_l("I am an in-service party member reporting to my home grid"))

    def validate(self, extra_validators=None):
        if not self.is_party_member.data:
            for f in (self.work_unit, self.party_branch, self.party_registered_on):
                f.validators = [Optional()]
        return super().validate(extra_validators)



class RejectForm(FlaskForm):
    reason = StringField(_l("Reason the volunteer will see"), filters=[strip], validators=[
        DataRequired(_l("Please give a reason.")), Length(max=200), NoMarkup()])
    submit = SubmitField(_l("Reject"))


REVEAL_REASONS = [("invite", _l("To ask them to help")),
                  ("task", _l("About a task they help with")),
                  ("records", _l("To check their details or skills")),
                  ("other", _l("Another reason of the grid's work"))]


class RevealForm(FlaskForm):
    """Show one volunteer's full phone, on purpose and with a reason (written to the log)."""

    reason = SelectField(_l("Why do you need the number?"), choices=REVEAL_REASONS,
                         validators=[DataRequired(_l("Please choose a reason."))])
    next = HiddenField(validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Show the phone number"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"))
    attest = BooleanField(_l("I confirm that every person in this file agreed to be registered "
                             "and to the personal information terms (paper consent on file)."),
                          validators=[DataRequired(_l("The import needs your attestation."))])
    submit = SubmitField(_l("Check the file"))


class ImportConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Import now"))


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password, to confirm"), validators=[
        InputRequired(_l("Please enter your password.")), Length(max=128)])
    submit = SubmitField(_l("Delete my account"))


class ConsentConfirmForm(FlaskForm):
    consent = BooleanField(_l("I have read and agree to the personal information terms"),
                           validators=[DataRequired(_l("Please tick the box to continue."))])
    submit = SubmitField(_l("Continue"))
