"""Skill taxonomy models."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.extensions import db


class SkillCategory(db.Model):
    """A group of skills (医疗健康, 维修安装 …)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(50))
    name_en: Mapped[str] = mapped_column(sa.String(80))

    skills: Mapped[list[Skill]] = relationship(back_populates="category")

    def __str__(self) -> str:
        return self.name_zh


class Skill(db.Model):
    """One skill of the taxonomy; synonyms are what residents actually write (大夫, 水电工)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(50), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(80))
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("skill_category.id"), index=True)
    synonyms_zh: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    synonyms_en: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    needs_certificate: Mapped[bool] = mapped_column(default=False)
    certificate_name: Mapped[str | None] = mapped_column(sa.String(100))
    # Codes of skills that can stand in when nobody nearby has this one (手机教学 → 电脑维修).
    related: Mapped[list[str] | None] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)

    category: Mapped[SkillCategory] = relationship(back_populates="skills")

    def __str__(self) -> str:
        return self.name_zh

    def display_name(self, locale: str) -> str:
        """The name in the given UI language."""
        return self.name_en if str(locale).startswith("en") else self.name_zh

    def terms(self) -> list[str]:
        """Every name and synonym, for search."""
        return [self.name_zh, self.name_en, *(self.synonyms_zh or []), *(self.synonyms_en or [])]
