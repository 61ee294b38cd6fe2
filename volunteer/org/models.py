"""Models of the organisation tree (DESIGN §3)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer.common import utcnow
from volunteer.extensions import db


class District(db.Model):
    """The district (区) over the installation's towns: the top of the organisation tree.

    An installation has one; with one town in it, the town's office runs everything as before.
    A city served as one installation is one such top level with all its towns beneath."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))

    towns: Mapped[list[Town]] = relationship(back_populates="district", order_by="Town.code")

    def __str__(self) -> str:
        return self.name


class Town(db.Model):
    """A town or sub-district (镇/街道) of the district."""

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("district.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # Where the town is, for a resident choosing theirs on a map and the district's comparison.
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)

    district: Mapped[District] = relationship(back_populates="towns")
    villages: Mapped[list[Village]] = relationship(back_populates="town", order_by="Village.code")

    def __str__(self) -> str:
        return self.name


class Village(db.Model):
    """A village or residents' committee (村居)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(sa.ForeignKey("town.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20), default="village")  # village 村 / community 居
    address: Mapped[str | None] = mapped_column(sa.String(200))
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)

    town: Mapped[Town] = relationship(back_populates="villages")
    grids: Mapped[list[Grid]] = relationship(back_populates="village", order_by="Grid.code")

    def __str__(self) -> str:
        return self.name


class Grid(db.Model):
    """A grid unit (网格单元) of about 300 households, with its centroid in WGS-84."""

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("village.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    boundary: Mapped[str | None] = mapped_column(sa.Text)  # GeoJSON polygon, optional
    households: Mapped[int] = mapped_column(default=0)

    village: Mapped[Village] = relationship(back_populates="grids")
    points: Mapped[list[GridPoint]] = relationship(back_populates="grid")

    def __str__(self) -> str:
        return f"{self.village.name} · {self.name}" if self.village else self.name


class GridPoint(db.Model):
    """A grid point (网格点) with its own premises; often also a party service point."""

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("grid.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    address: Mapped[str] = mapped_column(sa.String(200))
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    opening_hours: Mapped[str | None] = mapped_column(sa.String(200))
    party_service_point: Mapped[bool] = mapped_column(default=False)  # 两点合一
    deputy_reception_point: Mapped[bool] = mapped_column(default=False)  # 多点合一

    grid: Mapped[Grid] = relationship(back_populates="points")

    def __str__(self) -> str:
        return self.name


class Department(db.Model):
    """A functional department (职能部门): a town's (``town_id``), serving its grids, or the
    district's (``district_id``), to which a town department escalates (tier ``district``)."""

    __table_args__ = (
        sa.CheckConstraint("(town_id IS NULL) <> (district_id IS NULL)",
                           name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int | None] = mapped_column(sa.ForeignKey("town.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("district.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str | None] = mapped_column(sa.String(100))
    description: Mapped[str | None] = mapped_column(sa.Text)
    phone: Mapped[str | None] = mapped_column(sa.String(30))

    town: Mapped[Town | None] = relationship()
    district: Mapped[District | None] = relationship()

    def __str__(self) -> str:
        return self.name


class ServiceItem(db.Model):
    """A service item (服务项目) on the residents' menu, provided by a department or a skill."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # The town whose menu offers it; None: every town of the district.
    town_id: Mapped[int | None] = mapped_column(sa.ForeignKey("town.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str | None] = mapped_column(sa.String(100))
    category: Mapped[str | None] = mapped_column(sa.String(50))
    category_en: Mapped[str | None] = mapped_column(sa.String(50))
    description: Mapped[str | None] = mapped_column(sa.Text)
    description_en: Mapped[str | None] = mapped_column(sa.Text)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"), index=True)
    skill_id: Mapped[int | None] = mapped_column(sa.ForeignKey("skill.id"), index=True)
    where_when: Mapped[str | None] = mapped_column(sa.String(200))
    # The issue category an order of this item is filed under (else "other").
    issue_category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue_category.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    town: Mapped[Town | None] = relationship()
    department: Mapped[Department | None] = relationship()
    skill: Mapped[Skill | None] = relationship()  # noqa: F821
    issue_category: Mapped[IssueCategory | None] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return self.name

    def display_name(self, locale: str) -> str:
        """The name in the UI language (the Chinese one when no English is given)."""
        return (self.name_en or self.name) if str(locale).startswith("en") else self.name

    def display_category(self, locale: str) -> str:
        return (self.category_en or self.category or "") if str(locale).startswith("en") \
            else (self.category or "")

    def display_description(self, locale: str) -> str:
        return (self.description_en or self.description or "") \
            if str(locale).startswith("en") else (self.description or "")
