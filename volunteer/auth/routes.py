"""Account pages: register, log in/out, passwords, API tokens."""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash

from volunteer.actions import attempt
from volunteer.auth import bp
from volunteer.auth.forms import (
    ChangePasswordForm,
    ConfirmForm,
    ForgotForm,
    LoginForm,
    RegisterForm,
    ResetWithCodeForm,
    ResetWithTokenForm,
    TokenForm,
)
from volunteer.auth.messages import mail_reset_link
from volunteer.auth.models import ApiToken, Role, User
from volunteer.auth.services import (
    active_tokens,
    authenticate,
    create_token,
    create_user,
    delete_account,
    end_sessions,
    find_user,
    grant_role,
    redeem_code,
    revoke_tokens,
    set_password,
)
from volunteer.common import normalize_phone, utcnow
from volunteer.config import mail_configured
from volunteer.extensions import db, limiter
from volunteer.privacy import export_user, write_archive
from volunteer.volunteers.forms import ConsentConfirmForm, DeleteAccountForm


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def _account_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _address_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN_ADDRESS"]


def _tried_account() -> str:
    """The account a login, reset or reset request aims at: the name tried, normalised as
    ``find_user`` reads it (so "+86 139…" and "139…" count as one)."""
    tried = (request.form.get("login") or request.form.get("phone") or "").strip()[:254]
    tried = tried.lower() if "@" in tried else normalize_phone(tried)
    return "account:" + hashlib.sha256(tried.encode()).hexdigest()[:32]


def _own_account() -> str:
    """The logged-in account whose password is being checked."""
    return f"user:{current_user.id}" if current_user.is_authenticated else "user:-"


def _refused(resp) -> bool:
    """Only refused attempts count; a success redirects."""
    return resp.status_code != 302


# Per account and, higher (a NAT hides many people behind one), per client address. The address
# is the proxy's client only when PROXY_FIX_X_FOR says how many proxies to trust.
_per_account = limiter.limit(_account_limit, key_func=_tried_account, methods=["POST"],
                             deduct_when=_refused)
_per_address = limiter.limit(_address_limit, key_func=get_remote_address, methods=["POST"],
                             deduct_when=_refused)
_own_password = limiter.limit(_account_limit, key_func=_own_account, methods=["POST"],
                              deduct_when=_refused)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
def register():
    """Create a resident account (volunteers add their profile afterwards)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        with attempt(form=form, field="phone") as outcome:
            user = create_user(name=form.name.data, phone=form.phone.data,
                               email=form.email.data or None, password=form.password.data)
            grant_role(user, Role.resident)
        if outcome.ok:
            login_user(user)
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.name), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@_per_account
@_per_address
def login():
    """Log in with a mobile number or e-mail and a password."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data) or url_for("main.index"))
    if form.validate_on_submit():
        user = authenticate(form.login.data, form.password.data)
        if user is None:
            form.password.errors.append(_("The mobile number/e-mail or the password is wrong."))
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            flash(_("You are logged in."), "success")
            return redirect(safe_next(form.next.data) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST, so that a link elsewhere cannot log you out): every session of the
    account ends, also copies of its cookies and the "stay logged in" cookie."""
    if current_user.is_authenticated:
        end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    flash(_("You are logged out, on this and every other device."), "info")
    return redirect(url_for("main.index"))


@bp.route("/password", methods=["GET", "POST"])
@_own_password
@login_required
def change_password():
    """Change one's own password: other sessions end; API tokens too unless unticked."""
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if not active_tokens(user):
        del form.revoke_tokens  # nothing to ask about
    if form.validate_on_submit():
        if not check_password_hash(user.password_hash or "", form.current.data):
            form.current.errors.append(_("The current password is wrong."))
        else:
            set_password(user, form.password.data)
            revoked = revoke_tokens(user) if getattr(form, "revoke_tokens", None) \
                and form.revoke_tokens.data else 0
            db.session.commit()
            login_user(user, remember=_had_remember_cookie())  # this session goes on
            flash(_("Your password has been changed. You are logged out everywhere else."),
                  "success")
            _flash_revoked(revoked)
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form)


def _had_remember_cookie() -> bool:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies


def _flash_revoked(count: int) -> None:
    if count:
        flash(_("Your API tokens were revoked (%(n)d). Create new ones for the scripts that "
                "still need them.", n=count), "info")


def _new_password(user: User, password: str) -> None:
    """A reset: the new password ends every session, and every API token is revoked, since
    whoever else had the account may have made one."""
    set_password(user, password)
    revoked = revoke_tokens(user)
    db.session.commit()
    flash(_("Your new password is set. Please log in."), "success")
    _flash_revoked(revoked)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_account_limit, key_func=_tried_account, methods=["POST"])
@limiter.limit(_address_limit, methods=["POST"])
def forgot():
    """Start a password reset: an e-mail link when mail works, else a code from grid staff."""
    form = ForgotForm()
    mail_on = mail_configured(current_app.config)
    if form.validate_on_submit():
        user = find_user(form.login.data)
        if mail_on and user is not None and user.email:
            token = _serializer().dumps([user.id, (user.password_hash or "")[-8:]])
            link = url_for("auth.reset_token", token=token, _external=True)
            mail_reset_link(user, link)
            db.session.commit()  # the link leaves after the commit
        # The same answer whether or not the account exists.
        flash(_("If an e-mail address is registered for this account, a reset link has been "
                "sent to it. Otherwise ask your grid leader or the town office for a one-time "
                "code and enter it below."), "info")
        return redirect(url_for("auth.reset_code"))
    return render_template("auth/forgot.html", form=form, mail_on=mail_on)


@bp.route("/reset", methods=["GET", "POST"])
@_per_account
@_per_address
def reset_code():
    """Set a new password with a one-time code issued by grid staff."""
    form = ResetWithCodeForm()
    if form.validate_on_submit():
        user = find_user(form.phone.data)
        ok = redeem_code(user, form.code.data, "reset") or redeem_code(user, form.code.data,
                                                                       "activate")
        if not ok:
            db.session.commit()  # keeps the count of wrong guesses
            form.code.errors.append(_("This code is wrong, used or expired. Ask for a new one."))
        else:
            _new_password(user, form.password.data)
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_code.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_token(token: str):
    """Set a new password from an e-mailed link (valid 2 hours, once)."""
    try:
        user_id, fingerprint = _serializer().loads(token, max_age=2 * 3600)
    except (SignatureExpired, BadSignature, ValueError, TypeError):
        flash(_("This link is invalid or has expired. Please ask for a new one."), "warning")
        return redirect(url_for("auth.forgot"))
    user = db.session.get(User, user_id)
    if user is None or (user.password_hash or "")[-8:] != fingerprint:
        flash(_("This link is invalid or has expired. Please ask for a new one."), "warning")
        return redirect(url_for("auth.forgot"))
    form = ResetWithTokenForm()
    if form.validate_on_submit():
        _new_password(user, form.password.data)
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_token.html", form=form)


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    """List, create and revoke one's API tokens."""
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        new_token = create_token(current_user, form.name.data)
        db.session.commit()
        flash(_("Token created. Copy it now: it is shown only once."), "success")
        form = TokenForm(formdata=None)
    rows = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == current_user.id)
                              .order_by(ApiToken.created_at.desc()).limit(100)).all()
    return render_template("auth/tokens.html", form=form, rows=rows, new_token=new_token,
                           revoke_form=ConfirmForm())


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    """Revoke one of one's own tokens."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != current_user.id:
        return render_template("errors/404.html"), 404
    if ConfirmForm().validate_on_submit() and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
        flash(_("Token revoked."), "success")
    return redirect(url_for("auth.tokens"))


@bp.route("/my-data.json")
@bp.route("/my-data.zip")  # registered first: the address links go to
@login_required
def my_data():
    """Download everything we hold about me: a ZIP of data.json with my certificates and photos
    (``/auth/my-data.json``: the data alone)."""
    import tempfile

    from flask import send_file

    if request.path.endswith(".json"):
        resp = jsonify(export_user(current_user))
        resp.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
        return resp
    out = tempfile.TemporaryFile()  # photos can add up: on disk, not in memory
    write_archive(current_user, out)
    out.seek(0)
    return send_file(out, mimetype="application/zip", as_attachment=True,
                     download_name="my-data.zip", max_age=0)


@bp.route("/delete", methods=["GET", "POST"])
@_own_password
@login_required
def delete():
    """Delete my account: personal data goes; records others rely on keep an anonymous name."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not check_password_hash(user.password_hash or "", form.password.data):
            form.password.errors.append(_("The password is wrong."))
        else:
            delete_account(user)
            db.session.commit()
            logout_user()
            session.clear()
            flash(_("Your account and personal data have been deleted."), "info")
            return redirect(url_for("main.index"))
    return render_template("auth/delete.html", form=form)


@bp.route("/consent", methods=["GET", "POST"])
@login_required
def consent():
    """People imported on an admin's attestation confirm the terms themselves at first login."""
    form = ConsentConfirmForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        user.consent_confirmed_at = utcnow()
        user.consent_version = current_app.config["TERMS_VERSION"]
        db.session.commit()
        flash(_("Thank you. Welcome!"), "success")
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/consent.html", form=form,
                           version=current_app.config["TERMS_VERSION"])
