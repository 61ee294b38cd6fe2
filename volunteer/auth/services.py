"""Account operations shared by views, the API and CLI commands. Services never commit."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from volunteer.auth.models import SCOPE_KIND, ApiToken, OneTimeCode, Role, RoleAssignment, User
from volunteer.common import is_phone, iso_utc, normalize_phone, utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.org.models import Department, District, Grid, Town, Village
from volunteer.privacy import erase_user, exporter


class AccountError(DomainError):
    """A business rule refused the operation; ``str(exc)`` is the code (the CLI reads it)."""

    messages = {
        "phone": _l("Please enter an 11-digit mobile number starting with 13–19."),
        "phone_taken": _l("An account with this mobile number already exists."),
        "email_taken": _l("An account with this e-mail already exists."),
        "scope_not_needed": _l("This role has no scope; leave grid, village and department "
                               "empty."),
        "scope_needed": _l("This role needs exactly one scope: %(kind)s."),
        "scope_unknown": _l("No grid, village, department, town or district has this code."),
    }
    statuses = {"phone": 422, "scope_not_needed": 422, "scope_needed": 422,
                "scope_unknown": 422}


def hash_password(password: str) -> str:
    """Hash with the configured method (fast in tests, scrypt in production)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def find_user(login: str) -> User | None:
    """The user whose phone or e-mail is ``login``."""
    login = (login or "").strip()
    if "@" in login:
        return db.session.scalar(db.select(User).where(sa.func.lower(User.email) == login.lower()))
    phone = normalize_phone(login)
    if not is_phone(phone):
        return None
    return db.session.scalar(db.select(User).where(User.phone == phone))


def authenticate(login: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = find_user(login)
    if user is None or not user.password_hash or not user.active:
        # Spend the same time as a real check so that response time does not reveal accounts.
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    user.last_login_at = utcnow()
    return user


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY:
        _DUMMY[method] = generate_password_hash("not-a-password", method=method)
    return _DUMMY[method]


def create_user(*, name: str, phone: str | None = None, email: str | None = None,
                password: str | None = None, password_hash: str | None = None,
                consent_method: str | None = "online", attested_by: User | None = None) -> User:
    """Add a user; refuses a phone or e-mail that already has an account."""
    phone = normalize_phone(phone) if phone else None
    email = email.strip().lower() if email else None
    if phone and not is_phone(phone):
        raise AccountError("phone", "phone")
    if phone and db.session.scalar(db.select(User.id).where(User.phone == phone)):
        raise AccountError("phone_taken", "phone")
    if email and db.session.scalar(
            db.select(User.id).where(sa.func.lower(User.email) == email)):
        raise AccountError("email_taken", "email")
    user = User(name=name.strip(), phone=phone, email=email)
    if password:
        user.password_hash = hash_password(password)
    elif password_hash:
        user.password_hash = password_hash
    if consent_method:
        user.consent_version = current_app.config["TERMS_VERSION"]
        user.consent_at = utcnow()
        user.consent_method = consent_method
        user.consent_attested_by_id = attested_by.id if attested_by else None
    db.session.add(user)
    return user


def set_password(user: User, password: str) -> None:
    """A new password; every session of the account ends (the caller may log this one in)."""
    user.password_hash = hash_password(password)
    end_sessions(user)


def end_sessions(user: User) -> None:
    """End every session and remember cookie of ``user``, on every device and every copy."""
    user.session_version = (user.session_version or 0) + 1


def revoke_tokens(user: User) -> int:
    """Revoke every API token of ``user`` still in use; returns how many."""
    rows = db.session.scalars(db.select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    return len(rows)


def active_tokens(user: User) -> int:
    """How many API tokens of ``user`` still work."""
    return db.session.scalar(db.select(sa.func.count(ApiToken.id)).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))) or 0


def resolve_scope(role: str, code: str | None):
    """The grid, 村居, department, town or district that ``code`` names, as the role needs;
    raises AccountError. A town admin (or district admin) without a code holds the only town
    (district) there is; with several, the code is needed."""
    kind = SCOPE_KIND[Role(role)]
    if kind is None:
        if code:
            raise AccountError("scope_not_needed", "scope")
        return None
    model = {"grid": Grid, "village": Village, "department": Department, "town": Town,
             "district": District}[kind]
    if not code:
        if kind in ("town", "district"):
            only = db.session.scalars(db.select(model).limit(2)).all()
            if len(only) == 1:
                return only[0]
        raise AccountError("scope_needed", "scope", {"kind": kind})
    obj = db.session.scalar(db.select(model).where(model.code == code))
    if obj is None:
        raise AccountError("scope_unknown", "scope")
    return obj


_SCOPE_COLUMNS = (("grid_id", Grid), ("village_id", Village), ("department_id", Department),
                  ("town_id", Town), ("district_id", District))


def grant_role(user: User, role: str, scope=None) -> RoleAssignment:
    """Give ``user`` a role in ``scope`` (idempotent). A town or district admin without a
    scope holds the only town (district) of the installation."""
    if scope is None and SCOPE_KIND.get(str(role)) in ("town", "district"):
        scope = resolve_scope(role, None)
    kw = {column: (scope.id if isinstance(scope, model) else None)
          for column, model in _SCOPE_COLUMNS}
    for a in user.roles:
        if a.role == role and all(getattr(a, k) == v for k, v in kw.items()):
            return a
    assignment = RoleAssignment(role=str(role), **kw)
    user.roles.append(assignment)
    return assignment


# --- API tokens ---------------------------------------------------------------------------

TOKEN_PREFIX = "gv_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "cli") -> str:
    """Issue a new bearer token and return it; only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, name=name[:60], token_hash=_digest(token),
                            prefix=token[:10]))
    return token


def user_for_token(token: str) -> User | None:
    """The active user owning an unrevoked token."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now  # written at most every few minutes, not on every call
    return row.user


# --- one-time codes -------------------------------------------------------------------------

def issue_code(user: User, purpose: str, issued_by: User | None) -> str:
    """A new 8-digit code for ``user``; earlier unused codes of that purpose stop working."""
    now = utcnow()
    for old in db.session.scalars(db.select(OneTimeCode).where(
            OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_(None))):
        old.used_at = now
    code = f"{secrets.randbelow(10**8):08d}"
    hours = current_app.config["RESET_CODE_HOURS"]
    db.session.add(OneTimeCode(user=user, purpose=purpose, code_hash=_digest(code),
                               issued_by_id=issued_by.id if issued_by else None,
                               expires_at=now + timedelta(hours=hours)))
    return code


MAX_CODE_ATTEMPTS = 5


def redeem_code(user: User | None, code: str, purpose: str) -> bool:
    """Use a code once. Wrong guesses count; after five the code is spent."""
    if user is None:
        return False
    row = db.session.scalar(db.select(OneTimeCode).where(
        OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose,
        OneTimeCode.used_at.is_(None)).order_by(OneTimeCode.id.desc()))
    now = utcnow()
    if row is None or row.expires_at < now:
        return False
    if not secrets.compare_digest(row.code_hash, _digest((code or "").strip())):
        row.attempts += 1
        if row.attempts >= MAX_CODE_ATTEMPTS:
            row.used_at = now
        return False
    row.used_at = now
    return True


# --- privacy ------------------------------------------------------------------------------------

@exporter("account")
def _export_account(user: User) -> dict:
    return {
        "name": user.name, "phone": user.phone, "email": user.email,
        "created_at": iso_utc(user.created_at), "last_login_at": iso_utc(user.last_login_at),
        "locale": user.locale, "large_text": user.large_text,
        "consent": {"version": user.consent_version, "at": iso_utc(user.consent_at),
                    "method": user.consent_method,
                    "confirmed_at": iso_utc(user.consent_confirmed_at)},
        "roles": [{"role": a.role, "scope": (a.grid or a.village or a.department or a.town
                                             or a.district).code
                   if (a.grid or a.village or a.department or a.town or a.district) else None}
                  for a in user.roles],
        "api_tokens": [{"name": t.name, "starts_with": t.prefix, "created_at": iso_utc(t.created_at),
                        "last_used_at": iso_utc(t.last_used_at), "revoked_at": iso_utc(t.revoked_at)}
                       for t in db.session.scalars(db.select(ApiToken)
                                                   .where(ApiToken.user_id == user.id))],
    }


DELETED_NAME = "已注销用户"


def delete_account(user: User) -> None:
    """Remove personal data; the row stays as an anonymous stand-in for records others keep."""
    erase_user(user)
    for model in (ApiToken, OneTimeCode):
        db.session.execute(sa.delete(model).where(model.user_id == user.id))
    user.roles.clear()
    user.name = DELETED_NAME
    user.phone = user.email = user.password_hash = user.locale = None
    user.large_text = False
    user.active = False
    user.deleted_at = utcnow()
    end_sessions(user)
