"""Volunteer profiles, their skills, work units and the audit log of contact views."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.auth.models import User
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.org.models import Grid
from volunteer.skills.models import Skill


class SkillStatus(StrEnum):
    """Whether staff checked a volunteer's skill (its certificate, where the skill needs one)."""

    unverified = "unverified"
    verified = "verified"
    rejected = "rejected"


class PartyStatus(StrEnum):
    """The 村居's confirmation of a party member's registration (报到)."""

    pending = "pending"
    confirmed = "confirmed"
    rejected = "rejected"


class WorkUnit(db.Model):
    """A party member's employer (工作单位); new names wait for review before others see them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    approved: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __str__(self) -> str:
        return self.name


class VolunteerProfile(db.Model):
    """What a volunteer offers: skills, place, range, time, limits; party details for 在职党员."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                         unique=True)
    home_grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grid.id"), index=True)
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    location_source: Mapped[str] = mapped_column(sa.String(10), default="pin")  # pin / grid
    travel_km: Mapped[float] = mapped_column(sa.Float, default=5.0)
    availability: Mapped[int] = mapped_column(default=0)  # bit mask, see availability.py
    monthly_limit: Mapped[int] = mapped_column(default=4)
    bio: Mapped[str | None] = mapped_column(sa.Text)
    paused: Mapped[bool] = mapped_column(default=False, index=True)
    # Emergency call-ups: not notified between 22:00 and 07:00 (Asia/Shanghai).
    no_night_calls: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    is_party_member: Mapped[bool] = mapped_column(default=False, index=True)
    work_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_unit.id"), index=True)
    party_branch: Mapped[str | None] = mapped_column(sa.String(100))
    party_registered_on: Mapped[date | None]  # 报到日期
    # 报到 confirmation by the 村居 (a PartyStatus); None when not a party member
    party_status: Mapped[str | None] = mapped_column(sa.String(12), index=True)
    party_confirmed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))
    party_confirmed_at: Mapped[datetime | None]
    # The volunteer record of MCA Order No. 67: the national volunteer number when known, and
    # an identity document only if the volunteer gives one (shown masked everywhere).
    national_no: Mapped[str | None] = mapped_column(sa.String(30))
    id_type: Mapped[str | None] = mapped_column(sa.String(20))
    id_number: Mapped[str | None] = mapped_column(sa.String(30))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    user: Mapped[User] = relationship(foreign_keys=[user_id],
                                      backref=sa.orm.backref("profile", uselist=False))
    home_grid: Mapped[Grid | None] = relationship()
    work_unit: Mapped[WorkUnit | None] = relationship()
    skills: Mapped[list[VolunteerSkill]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", order_by="VolunteerSkill.id")


class VolunteerSkill(db.Model):
    """One skill of a volunteer: a taxonomy skill or free text, with its certificate check."""

    __table_args__ = (sa.UniqueConstraint("profile_id", "skill_id",
                                          name="uq_volunteer_skill_profile_skill"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        sa.ForeignKey("volunteer_profile.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int | None] = mapped_column(sa.ForeignKey("skill.id"), index=True)
    free_text: Mapped[str | None] = mapped_column(sa.String(100))
    certificate_no: Mapped[str | None] = mapped_column(sa.String(60))
    certificate_file: Mapped[str | None] = mapped_column(sa.String(80))  # name in instance/
    certificate_mime: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(12), default=SkillStatus.unverified,
                                        index=True)
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime | None]
    reject_reason: Mapped[str | None] = mapped_column(sa.String(200))

    profile: Mapped[VolunteerProfile] = relationship(back_populates="skills")
    skill: Mapped[Skill | None] = relationship()
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])

    def label(self, locale: str = "zh") -> str:
        return self.skill.display_name(locale) if self.skill else (self.free_text or "")


class ContactView(db.Model):
    """Audit log: someone saw a volunteer's full phone number (a reveal with its reason, an
    accepted helper's phone shown to the organiser, an export)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    viewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"),
                                                  index=True)
    subject_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"),
                                                   index=True)
    context: Mapped[str] = mapped_column(sa.String(20))  # reveal / helper / export / report
    count: Mapped[int] = mapped_column(default=1)
    note: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    viewer: Mapped[User | None] = relationship(foreign_keys=[viewer_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])
