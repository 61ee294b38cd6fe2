"""Ordering a service (点单): a resident's order becomes an issue with source "service order",
routed to the providing department, or matched to volunteers with the item's skill."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _

from volunteer.auth.models import User
from volunteer.extensions import db
from volunteer.issues.models import Issue, IssueCategory
from volunteer.issues.services import IssueInput, file_issue
from volunteer.org.models import ServiceItem


@dataclass
class Order:
    item: ServiceItem
    details: str
    for_neighbour: bool = False
    neighbour: str | None = None  # who it is for, as the resident describes them
    lat: float | None = None
    lon: float | None = None
    grid_code: str | None = None
    needed_from: datetime | None = None
    needed_until: datetime | None = None


def place_order(resident: User, order: Order) -> Issue:
    """File the order as an issue the resident follows like any other."""
    item = order.item
    category = item.issue_category or db.session.scalar(
        db.select(IssueCategory).where(IssueCategory.code == "other"))
    # The title names the service only: it travels further (needs near me, hours records,
    # certificates) than the description, which says who it is for.
    with force_locale("zh_CN"):  # what the grid reads, whatever the resident's language
        who = _("for a neighbour") if order.for_neighbour else _("for myself")
        description = order.details
        if order.for_neighbour and order.neighbour:
            description = _("For: %(who)s", who=order.neighbour) + "\n" + description
    title = f"{item.name}（{who}）"
    routed = item.department_id if item.department_id and item.skill_id is None else None
    data = IssueInput(
        title=title[:100], description=description[:5000],
        category=category.code if category else "other", lat=order.lat, lon=order.lon, grid_code=order.grid_code,
        source="service_order", needed_from=order.needed_from, needed_until=order.needed_until,
        skill_codes=[item.skill.code] if item.skill else None, department_id=routed,
        service_item_id=item.id)
    return file_issue(resident, data)
