"""What our issues are in GeoReport v2 terms: the services (issue categories, and the service
items residents order), their attributes, and a request's public facts, as the board shows them.

Privacy follows the board and ``policy.issue_view``'s public view: a request carries its
category, status, 村居 (or department), times and a place rounded by ``policy.public_place``;
never a title, a description, an address typed by the reporter, a name or a phone, and a photo
only when staff made it public (its metadata-free copy)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from volunteer import policy
from volunteer.extensions import db
from volunteer.issues.forms import STATUS_LABELS, TIER_LABELS
from volunteer.issues.models import Issue, IssueCategory, IssueEvent, IssueStatus, UrgencyLevel
from volunteer.open311.serializers import Items, w3c
from volunteer.org.models import Department, ServiceItem, Town, Village

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: When the shape of this endpoint's services last changed (discovery's ``changeset``).
CHANGESET = "2026-12-01T00:00:00+08:00"
#: Service codes of the service items residents order (点单) start with this; the rest are
#: issue categories.
ITEM_PREFIX = "item-"
#: Our services answer at once with the request's id.
SERVICE_TYPE = "realtime"


class Open311Status(StrEnum):
    """A request's status in GeoReport v2: open until its issue is closed or rejected."""

    open = "open"
    closed = "closed"


#: Our statuses that GeoReport v2 calls closed; every other one is open (reported, accepted,
#: in progress, and resolved while it waits for verification).
CLOSED_STATUSES = (IssueStatus.closed, IssueStatus.rejected)


def open311_status(status: str | None) -> Open311Status:
    """The GeoReport v2 status of one of ours."""
    return Open311Status.closed if status in CLOSED_STATUSES else Open311Status.open


#: Groups of the categories that ``setup`` ships; a category an admin adds is in "other".
GROUPS = {"city": _l("City management"), "safety": _l("Safety and order"),
          "community": _l("Community services"), "other": _l("Other")}
CATEGORY_GROUPS = {
    "environment": "city", "facilities": "city", "waste": "city", "illegal_building": "city",
    "traffic": "city", "water": "city", "market": "city",
    "safety": "safety", "public_order": "safety", "dispute": "safety",
    "housing_repair": "community", "elderly": "community", "health": "community",
    "hardship": "community", "property": "community", "policy": "community",
}
ORDER_GROUP = _l("Services to order (点单)")
#: The attribute of every category: how urgent it is (it sets the deadline).
URGENCY = "urgency"
DEFAULT_URGENCY = "normal"
#: The attributes of a service item's order, as on the order form.
FOR_WHOM, NEIGHBOUR, NEEDED_FROM, NEEDED_UNTIL = "for_whom", "neighbour", "needed_from", \
    "needed_until"
FOR_WHOM_VALUES = {"self": _l("For me"), "neighbour": _l("For a neighbour")}
NEIGHBOUR_MAX = 60


@dataclass
class Service:
    """One service: an issue category, or a service item to order."""

    code: str
    category: IssueCategory | None = None
    item: ServiceItem | None = None


def _en(locale: str) -> bool:
    return str(locale).startswith("en")


def item_code(item: ServiceItem) -> str:
    """The service code of a service item."""
    return ITEM_PREFIX + item.code


def catalogue(town: Town | None) -> list[Service]:
    """The services of ``town`` (None: of the only town, or of every town): every active issue
    category, then the active service items offered there or in every town."""
    categories = db.session.scalars(db.select(IssueCategory).where(IssueCategory.active)
                                    .order_by(IssueCategory.id)).all()
    q = db.select(ServiceItem).where(ServiceItem.active).order_by(ServiceItem.code)
    if town is not None:
        q = q.where(sa.or_(ServiceItem.town_id.is_(None), ServiceItem.town_id == town.id))
    return [Service(c.code, category=c) for c in categories] + [
        Service(item_code(i), item=i) for i in db.session.scalars(q)]


def find_service(town: Town | None, code: str) -> Service | None:
    """The service of ``town`` with ``code``, or None."""
    return next((s for s in catalogue(town) if s.code == code), None)


def _department_name(d: Department, locale: str) -> str:
    return d.name_en if _en(locale) and d.name_en else d.name


def _keywords(*words: str | None) -> str:
    seen: list[str] = []
    for w in words:
        if w and w not in seen:
            seen.append(w)
    return ", ".join(seen)


def service_out(s: Service, locale: str) -> dict:
    """One entry of the service list."""
    if s.category is not None:
        c = s.category
        dept = c.default_department
        description = (_("Goes to the grid of the place first; the 村居 and %(department)s "
                         "take it further when needed.",
                         department=_department_name(dept, locale)) if dept is not None
                       else _("Goes to the grid of the place first, then to the 村居 when "
                              "needed."))
        return {"service_code": s.code, "service_name": c.display_name(locale),
                "description": description, "metadata": True, "type": SERVICE_TYPE,
                "keywords": _keywords(c.name_zh, c.name_en, c.code),
                "group": str(GROUPS[CATEGORY_GROUPS.get(c.code, "other")])}
    item = s.item
    assert item is not None
    en = _en(locale)
    return {"service_code": s.code, "service_name": (item.name_en if en and item.name_en
                                                     else item.name),
            "description": (item.description_en if en and item.description_en
                            else item.description) or "",
            "metadata": True, "type": SERVICE_TYPE,
            "keywords": _keywords(item.name, item.name_en, item.category, item.category_en),
            "group": str(ORDER_GROUP)}


def _attribute(order: int, code: str, datatype: str, description: str, required: bool = False,
               datatype_description: str = "", values: dict | None = None) -> dict:
    out = {"variable": True, "code": code, "datatype": datatype, "required": required,
           "datatype_description": datatype_description, "order": order,
           "description": description}
    if values is not None:
        out["values"] = Items("value", [{"key": k, "name": str(v)} for k, v in values.items()])
    return out


def urgency_levels() -> list[UrgencyLevel]:
    """The urgency levels, the most time first (the values of the ``urgency`` attribute)."""
    return list(db.session.scalars(db.select(UrgencyLevel).order_by(UrgencyLevel.hours.desc())))


def attributes(s: Service, locale: str) -> list[dict]:
    """The attributes of a service: a category's urgency; an order's person and time."""
    if s.category is not None:
        levels = {u.code: _("%(name)s (within %(hours)d hours)", name=u.display_name(locale),
                            hours=u.hours) for u in urgency_levels()}
        return [_attribute(1, URGENCY, "singlevaluelist",
                           _("How urgent is it? It sets the deadline."),
                           datatype_description=_("One of the keys; %(default)s when left out.",
                                                  default=DEFAULT_URGENCY), values=levels)]
    when = _("A W3C datetime with its zone, e.g. 2026-12-01T09:00:00+08:00.")
    return [
        _attribute(1, FOR_WHOM, "singlevaluelist", _("For whom"),
                   datatype_description=_("One of the keys; %(default)s when left out.",
                                          default="self"), values=FOR_WHOM_VALUES),
        _attribute(2, NEIGHBOUR, "string",
                   _("Who (for example: my neighbour Mr Li, 82, bedridden)"),
                   datatype_description=_("Needed when the service is for a neighbour; at "
                                          "most %(n)d characters.", n=NEIGHBOUR_MAX)),
        _attribute(3, NEEDED_FROM, "datetime", _("When would suit (optional)"),
                   datatype_description=when),
        _attribute(4, NEEDED_UNTIL, "datetime", _("Until (optional)"),
                   datatype_description=when),
    ]


def definition_out(s: Service, locale: str) -> dict:
    """A service definition: its code and attributes."""
    return {"service_code": s.code, "attributes": Items("attribute", attributes(s, locale))}


# --- requests: the public facts of an issue ---------------------------------------------------

def agency_name(issue: Issue, locale: str) -> str:
    """The name of the 村居 or department holding ``issue`` (``policy.public_agency``)."""
    agency = policy.public_agency(issue)
    if isinstance(agency, Department):
        return _department_name(agency, locale)
    return agency.name


def status_notes(issue: Issue) -> str:
    """Our status in words: which of ours an open request is in, or why it is closed."""
    if issue.status == IssueStatus.closed:
        return _("Closed: resolved and verified.")
    if issue.status == IssueStatus.rejected:
        if issue.duplicate_of_id:
            return _("Rejected as a duplicate of request %(id)s.", id=issue.duplicate_of_id)
        return _("Rejected: not taken up as an issue.")
    return str(STATUS_LABELS.get(issue.status, issue.status))


def public_photo_url(photo_id: int | None) -> str | None:
    """The board's address of a public photo (its copy without metadata)."""
    return url_for("board.photo", photo_id=photo_id, _external=True) if photo_id else None


def request_out(issue: Issue, locale: str, photo_id: int | None = None,
                changed: datetime | None = None) -> dict:
    """A request's public facts (``photo_id``: its first public photo, if any; ``changed``:
    when its status or tier last changed, if ever)."""
    lat, lon = policy.public_place(issue.lat, issue.lon)
    service = issue.category.display_name(locale)
    village: Village = issue.village
    return {
        "service_request_id": str(issue.id),
        "status": open311_status(issue.status),
        "status_notes": status_notes(issue),
        "service_name": service,
        "service_code": issue.category.code,
        # The board's rule: nothing of the reporter's text, the category in its place.
        "description": service,
        "agency_responsible": agency_name(issue, locale),
        "service_notice": None,
        "requested_datetime": w3c(issue.created_at),
        "updated_datetime": w3c(changed or issue.created_at),
        "expected_datetime": w3c(issue.deadline_at),
        "address": village.name,
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": public_photo_url(photo_id),
    }


def update_description(event: IssueEvent) -> str:
    """What changed, in public words: the new status, the new tier."""
    parts = []
    if event.to_status and event.from_status != event.to_status:
        parts.append(str(STATUS_LABELS.get(event.to_status, event.to_status)))
    if event.to_tier and event.from_tier and event.from_tier != event.to_tier:
        parts.append(_("Now with: %(tier)s", tier=TIER_LABELS.get(event.to_tier,
                                                                   event.to_tier)))
    return "; ".join(parts)


def update_out(event: IssueEvent) -> dict:
    """One update (mySociety's extension): a change of a request's status or tier."""
    return {"update_id": str(event.id), "service_request_id": str(event.issue_id),
            "status": open311_status(event.to_status),
            "updated_datetime": w3c(event.created_at),
            "description": update_description(event), "media_url": None,
            "external_status_code": event.to_status}
