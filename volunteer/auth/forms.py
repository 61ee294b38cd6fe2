"""Forms for accounts; they check shape, services check business rules."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional

from volunteer.validators import (
    NoMarkup,
    Password,
    PersonName,
    Phone,
    password_rule,
    phone_filter,
    strip,
)


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip], validators=[PersonName()])
    phone = StringField(_l("Mobile number"), filters=[strip, phone_filter],
                        validators=[DataRequired(_l("Please enter your mobile number.")), Phone()],
                        render_kw={"inputmode": "tel", "autocomplete": "tel"})
    email = EmailField(_l("E-mail (optional)"), filters=[strip],
                       validators=[Optional(), Length(max=254), Email(_l("Please enter a valid e-mail address."))],
                       render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Password"), validators=[Password()], description=password_rule(),
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat password"), validators=[
        EqualTo("password", _l("The two passwords do not match."))],
        render_kw={"autocomplete": "new-password"})
    consent = BooleanField(_l("I have read and agree to the personal information terms"),
                           validators=[DataRequired(_l("Registration needs your consent to the terms."))])
    submit = SubmitField(_l("Register"))


class LoginForm(FlaskForm):
    login = StringField(_l("Mobile number or e-mail"), filters=[strip], validators=[
        DataRequired(_l("Please enter your mobile number or e-mail.")), Length(max=254)],
        render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[
        InputRequired(_l("Please enter your password.")), Length(max=128)],
        render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Stay logged in on this device"))
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[
        InputRequired(_l("Please enter your current password.")), Length(max=128)],
        render_kw={"autocomplete": "current-password"})
    password = PasswordField(_l("New password"), validators=[Password()], description=password_rule(),
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat new password"), validators=[
        EqualTo("password", _l("The two passwords do not match."))],
        render_kw={"autocomplete": "new-password"})
    revoke_tokens = BooleanField(
        _l("Also revoke my API tokens"), default=True,
        description=_l("Untick only if you are sure that nobody else has used your account."))
    submit = SubmitField(_l("Change password"))


class ForgotForm(FlaskForm):
    login = StringField(_l("Mobile number or e-mail"), filters=[strip], validators=[
        DataRequired(_l("Please enter your mobile number or e-mail.")), Length(max=254)])
    submit = SubmitField(_l("Continue"))


class ResetWithCodeForm(FlaskForm):
    phone = StringField(_l("Mobile number"), filters=[strip, phone_filter],
                        validators=[DataRequired(_l("Please enter your mobile number.")), Phone()],
                        render_kw={"inputmode": "tel"})
    code = StringField(_l("One-time code"), filters=[strip], validators=[
        DataRequired(_l("Please enter the code.")), Length(min=6, max=12)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})
    password = PasswordField(_l("New password"), validators=[Password()], description=password_rule(),
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat new password"), validators=[
        EqualTo("password", _l("The two passwords do not match."))])
    submit = SubmitField(_l("Set new password"))


class ResetWithTokenForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[Password()], description=password_rule(),
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat new password"), validators=[
        EqualTo("password", _l("The two passwords do not match."))])
    submit = SubmitField(_l("Set new password"))


class TokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), filters=[strip], validators=[
        DataRequired(_l("Please name the token.")), Length(max=60), NoMarkup()])
    submit = SubmitField(_l("Create token"))


class ConfirmForm(FlaskForm):
    """An empty form for POST-only actions; it carries the CSRF token."""

    submit = SubmitField(_l("Confirm"))
