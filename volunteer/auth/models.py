"""User accounts, role assignments with their scope, API tokens and one-time codes."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.common import utcnow
from volunteer.extensions import db


class Role(enum.StrEnum):
    """Role codes exactly as DESIGN §6 names them; ``admin`` is the town admin, holding one
    town; ``district_admin`` holds the district and every town in it."""

    resident = "resident"
    volunteer = "volunteer"
    grid_member = "grid_member"
    grid_leader = "grid_leader"
    grid_instructor = "grid_instructor"
    village_admin = "village_admin"
    department_staff = "department_staff"
    admin = "admin"
    district_admin = "district_admin"


ROLE_LABELS = {
    "resident": _l("Resident"), "volunteer": _l("Volunteer"), "grid_member": _l("Grid member"),
    "grid_leader": _l("Grid leader"), "grid_instructor": _l("Grid instructor"),
    "village_admin": _l("Village admin"), "department_staff": _l("Department staff"),
    "admin": _l("Town admin"), "district_admin": _l("District admin"),
}


def role_label(code: str) -> str:
    """The translated name of a role code."""
    return str(ROLE_LABELS.get(code, code))


GRID_ROLES = (Role.grid_member, Role.grid_leader, Role.grid_instructor)
# Which kind of scope each role needs: a grid, a 村居, a department, or none.
SCOPE_KIND = {
    Role.resident: None,
    Role.volunteer: None,
    Role.grid_member: "grid",
    Role.grid_leader: "grid",
    Role.grid_instructor: "grid",
    Role.village_admin: "village",
    Role.department_staff: "department",
    Role.admin: "town",
    Role.district_admin: "district",
}
# Staff roles, highest first; used to pick what a user sees first.
STAFF_ORDER = [Role.district_admin, Role.admin, Role.village_admin, Role.department_staff, Role.grid_leader,
               Role.grid_instructor, Role.grid_member]


class User(UserMixin, db.Model):
    """A person with an account. Login by mobile number or e-mail."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    phone: Mapped[str | None] = mapped_column(sa.String(11), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    large_text: Mapped[bool] = mapped_column(default=False)
    # Messages by SMS only after the person agreed to them (when); a WeChat account to send
    # template messages to, linked by the mini-program.
    sms_consent_at: Mapped[datetime | None]
    wechat_openid: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Consent to the personal-information terms (PIPL): when, which version, and how.
    consent_version: Mapped[str | None] = mapped_column(sa.String(20))
    consent_at: Mapped[datetime | None]
    consent_method: Mapped[str | None] = mapped_column(sa.String(20))  # online / attested
    consent_attested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))
    # People imported on an admin's attestation confirm the terms themselves at first login.
    consent_confirmed_at: Mapped[datetime | None]
    # Account deleted; the row stays as an anonymous stand-in (indexed: the matcher watches it).
    deleted_at: Mapped[datetime | None] = mapped_column(index=True)
    # Part of every session and remember cookie; logout and a new password raise it, which ends
    # every session of the account, also copies of its cookies.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan",
        foreign_keys="RoleAssignment.user_id", lazy="selectin")

    def __str__(self) -> str:
        return f"{self.name} ({self.phone or self.email or self.id})"

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated accounts cannot log in
        return self.active

    def get_id(self) -> str:
        # The session version (and, for a password set by any other path, the hash's tail) in
        # the session id: when either changes, every session and remember cookie stops working.
        return f"{self.id}:{self.session_version or 0}:{(self.password_hash or '')[-8:]}"

    @property
    def needs_consent_confirmation(self) -> bool:
        return bool(self.consent_method and self.consent_method.startswith("attested")
                    and self.consent_confirmed_at is None)

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of ``roles`` (in any scope)."""
        wanted = {str(r) for r in roles}
        return any(a.role in wanted for a in self.roles)

    def role_codes(self) -> set[str]:
        return {a.role for a in self.roles}

    @property
    def is_admin(self) -> bool:
        """Holds a town's office or the district's (what each covers: ``policy.town_ids``)."""
        return self.has_role(Role.admin, Role.district_admin)

    @property
    def is_staff(self) -> bool:
        return self.has_role(*STAFF_ORDER)

    def grid_ids(self, *roles: str) -> set[int]:
        """Grids the user holds one of ``roles`` in (any grid role when none given)."""
        wanted = {str(r) for r in (roles or GRID_ROLES)}
        return {a.grid_id for a in self.roles if a.role in wanted and a.grid_id}

    def village_ids(self) -> set[int]:
        """村居 the user administers."""
        return {a.village_id for a in self.roles if a.role == Role.village_admin and a.village_id}

    def department_ids(self) -> set[int]:
        return {a.department_id for a in self.roles
                if a.role == Role.department_staff and a.department_id}

    def town_ids(self) -> set[int]:
        """Towns whose office (town admin) the user holds."""
        return {a.town_id for a in self.roles if a.role == Role.admin and a.town_id}


class RoleAssignment(db.Model):
    """A role held by a user, with its scope: a grid, a 村居, a department, a town or the
    district."""

    __table_args__ = (
        sa.UniqueConstraint("user_id", "role", "grid_id", "village_id", "department_id",
                            "town_id", "district_id", name="uq_role_assignment_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20), index=True)
    grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grid.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("village.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"), index=True)
    town_id: Mapped[int | None] = mapped_column(sa.ForeignKey("town.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("district.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id])
    grid: Mapped[Grid | None] = relationship()  # noqa: F821
    village: Mapped[Village | None] = relationship()  # noqa: F821
    department: Mapped[Department | None] = relationship()  # noqa: F821
    town: Mapped[Town | None] = relationship()  # noqa: F821
    district: Mapped[District | None] = relationship()  # noqa: F821

    def __str__(self) -> str:
        scope = self.grid or self.village or self.department or self.town or self.district
        return f"{self.role} {scope}" if scope else self.role


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class OneTimeCode(db.Model):
    """A short code issued by staff (or sent by e-mail) to reset a password or activate an account."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))  # reset / activate
    code_hash: Mapped[str] = mapped_column(sa.String(255))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
