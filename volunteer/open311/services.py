"""Open311 operations: the api_key and the jurisdiction, the parameters of the lists, the lists of
requests and updates, and filing a request through the issues' own service (``file_issue``, or
``place_order`` for a service item), so routing, the grid, duplicate hints and notifications
work as on the site. Services never commit; the routes do."""
from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

from volunteer import policy, rules
from volunteer.auth.models import User
from volunteer.auth.services import user_for_token
from volunteer.common import INT_MAX, MAX_PAGE, SHANGHAI, parse_int, utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.i18n import localtime
from volunteer.issues.models import (
    OPEN311_SOURCE,
    Issue,
    IssueCategory,
    IssueEvent,
    IssuePhoto,
)
from volunteer.issues.nearby import RADIUS_M, similar_open_issues
from volunteer.issues.photos import PhotoBatch, check_photo, web_path
from volunteer.issues.services import (
    IssueError,
    IssueInput,
    file_issue,
    in_town,
    locate_grid,
)
from volunteer.issues.workflow import roles_for
from volunteer.open311 import mapping
from volunteer.open311.mapping import (
    CLOSED_STATUSES,
    DEFAULT_URGENCY,
    FOR_WHOM,
    FOR_WHOM_VALUES,
    ITEM_PREFIX,
    NEEDED_FROM,
    NEEDED_UNTIL,
    NEIGHBOUR,
    NEIGHBOUR_MAX,
    URGENCY,
    Open311Status,
    Service,
)
from volunteer.org.models import Grid, Town
from volunteer.services.orders import Order, place_order

#: The longest span of ``start_date`` to ``end_date``, and the default window before now.
MAX_SPAN = timedelta(days=90)
#: Results of one list, and the largest ``page_size``.
MAX_RESULTS = 1000
#: Request numbers one ``service_request_id`` may name.
MAX_IDS = 1000
DESCRIPTION_MAX = 4000  # the specification's limit
ORDER_DETAILS_MAX = 2000  # the order form's
TITLE_MAX = 100
MEDIA_URL_MAX = 2000
#: Open requests nearby named in the answer to a POST (the duplicate hint).
SIMILAR_SHOWN = 3


class Open311Error(DomainError):
    """A request Open311 refuses, with the specification's HTTP status: 403 for the api_key, 404
    for an unknown resource, 400 for anything else."""

    messages = {
        "api_key": _l("A valid api_key is required: an API token of this site (an account "
                      "creates one under API tokens)."),
        "jurisdiction_required": _l("jurisdiction_id is required: this installation serves "
                                    "several towns (%(codes)s)."),
        "unknown_jurisdiction": _l("jurisdiction_id: there is no town with that code."),
        "service_code_required": _l("service_code is required."),
        "unknown_service": _l("service_code: there is no such service here."),
        "bad_service_filter": _l("service_code: comma-separated codes of the service list."),
        "unknown_request": _l("There is no such service request here."),
        "unknown_token": _l("There is no such token."),
        "bad_date": _l("%(field)s: not a W3C datetime with a time zone, e.g. "
                       "2026-12-01T09:00:00+08:00."),
        "date_order": _l("end_date must not be before start_date."),
        "date_span": _l("start_date and end_date may span at most 90 days."),
        "bad_status": _l("status: open, closed, or both separated by a comma."),
        "bad_ids": _l("service_request_id: request numbers separated by commas, at most "
                      "%(n)d."),
        "bad_page": _l("%(field)s: a whole number from 1 to %(max)d."),
        "bad_point": _l("lat and long: give both, in decimal degrees (WGS-84)."),
        "no_location": _l("A location is needed: lat and long, or address_id (a grid code). "
                          "An address_string alone cannot be placed on the map."),
        "unknown_address_id": _l("address_id: there is no grid with that code."),
        "outside_jurisdiction": _l("The location lies outside the town that jurisdiction_id "
                                   "names."),
        "bad_text": _l("%(field)s: %(problem)s"),
        "description_required": _l("description: please say what is needed."),
        "unknown_attribute": _l("attribute: this service has no attribute of that code (see "
                                "its service definition)."),
        "bad_attribute": _l("attribute[%(code)s]: not a value the service definition allows."),
        "neighbour_required": _l("attribute[neighbour]: please say who the service is for."),
        "bad_media_url": _l("media_url: an http or https address of at most 2,000 "
                            "characters."),
        "not_found": _l("There is no such resource at this Open311 endpoint."),
        "method": _l("This resource does not take that method."),
        "too_many": _l("Too many requests; please wait a little and try again."),
        "too_large": _l("The request is too large."),
        "bad_request": _l("The request could not be read."),
        "server": _l("The server failed; nothing was changed."),
    }
    statuses = {**dict.fromkeys(messages, 400), "api_key": 403, "unknown_jurisdiction": 404,
                "unknown_service": 404, "unknown_request": 404, "unknown_token": 404,
                "not_found": 404, "method": 405, "too_many": 429, "too_large": 413,
                "server": 500}


# --- who and where ----------------------------------------------------------------------------

def token_user(api_key: str | None) -> User:
    """The active user whose unrevoked API token is ``api_key``; else a 403."""
    user = user_for_token((api_key or "").strip())
    if user is None:
        raise Open311Error("api_key")
    return user


def jurisdiction(value: str | None) -> Town | None:
    """The town ``jurisdiction_id`` names (its code). Empty counts as absent, which is allowed
    while the installation has one town (or none yet: None, no filter)."""
    towns = db.session.scalars(db.select(Town).order_by(Town.code)).all()
    code = (value or "").strip()
    if not code:
        if len(towns) > 1:
            raise Open311Error("jurisdiction_required",
                               params={"codes": ", ".join(t.code for t in towns)})
        return towns[0] if towns else None
    town = next((t for t in towns if t.code == code), None)
    if town is None:
        raise Open311Error("unknown_jurisdiction")
    return town


def _of_town(issue: Issue, town: Town | None) -> bool:
    return town is None or policy.town_of(issue) == town.id


# --- parameters -------------------------------------------------------------------------------

_W3C = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
                  r"(Z|[+-]\d{2}:\d{2}))?")


def parse_datetime(raw: str, field: str) -> datetime:
    """A W3C datetime as stored (naive UTC): a date (midnight in Asia/Shanghai), or a date and
    time with its zone (Z or ±hh:mm; a "+" that a query string turned into a space is taken
    back)."""
    text = raw.strip()
    if re.fullmatch(r".*T.*\d \d{2}:\d{2}", text):
        text = text[:-6] + "+" + text[-5:]
    m = _W3C.fullmatch(text) if len(text) <= 40 else None
    if m is None:
        raise Open311Error("bad_date", params={"field": field})
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        if hour is None:
            value = datetime(int(year), int(month), int(day), tzinfo=SHANGHAI)
        else:
            if zone == "Z":
                tz = UTC
            else:
                sign = -1 if zone[0] == "-" else 1
                tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
            micro = int((fraction or "0")[:6].ljust(6, "0"))
            value = datetime(int(year), int(month), int(day), int(hour), int(minute),
                             int(second or 0), micro, tzinfo=tz)
        return value.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise Open311Error("bad_date", params={"field": field}) from None


def date_range(args: MultiDict, now: datetime) -> tuple[datetime, datetime]:
    """``start_date`` to ``end_date``: at most 90 days; one alone reaches 90 days from it; the
    last 90 days without either."""
    start = parse_datetime(args["start_date"], "start_date") if args.get("start_date") else None
    end = parse_datetime(args["end_date"], "end_date") if args.get("end_date") else None
    if start is None and end is None:
        end = now
    if start is None:
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    if end < start:
        raise Open311Error("date_order")
    if end - start > MAX_SPAN:
        raise Open311Error("date_span")
    return start, end


def parse_ids(raw: str) -> list[int]:
    """Comma-separated request numbers."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    ids = [parse_int(p, 1, INT_MAX) for p in parts[:MAX_IDS + 1]]
    if not parts or len(parts) > MAX_IDS or any(i is None for i in ids):
        raise Open311Error("bad_ids", params={"n": MAX_IDS})
    return [i for i in ids if i is not None]


def parse_statuses(raw: str) -> set[Open311Status]:
    """Comma-separated GeoReport statuses."""
    parts = {p.strip().lower() for p in raw.split(",") if p.strip()}
    if not parts or not parts <= set(Open311Status):
        raise Open311Error("bad_status")
    return {Open311Status(p) for p in parts}


def status_clause(statuses: set[Open311Status]) -> sa.ColumnElement[bool]:
    """SQL: issues whose GeoReport status is one of ``statuses``."""
    if statuses == {Open311Status.closed}:
        return Issue.status.in_(CLOSED_STATUSES)
    if statuses == {Open311Status.open}:
        return Issue.status.not_in(CLOSED_STATUSES)
    return sa.true()


def paging(args: MultiDict) -> tuple[int, int]:
    """The ``page`` (from 1) and ``page_size`` (at most 1,000, the default) asked for."""
    out = []
    for name, default, top in (("page", 1, MAX_PAGE), ("page_size", MAX_RESULTS, MAX_RESULTS)):
        raw = args.get(name)
        value = default if raw is None or not raw.strip() else parse_int(raw, 1, top)
        if value is None:
            raise Open311Error("bad_page", params={"field": name, "max": top})
        out.append(value)
    return out[0], out[1]


def service_clause(raw: str, town: Town | None) -> sa.ColumnElement[bool]:
    """SQL: requests of the services named. Orders are listed under their category (the board
    does not show what was ordered), so an item's code matches none."""
    codes = {c.strip() for c in raw.split(",") if c.strip()}
    if not codes or len(codes) > 100:
        raise Open311Error("bad_service_filter")
    found = dict(db.session.execute(db.select(IssueCategory.code, IssueCategory.id)
                                    .where(IssueCategory.code.in_(codes))).tuples().all())
    items = {s.code for s in mapping.catalogue(town) if s.item is not None}
    if codes - set(found) - items:
        raise Open311Error("bad_service_filter")
    return Issue.category_id.in_(set(found.values()) or {-1})


# --- lists ------------------------------------------------------------------------------------

def find_requests(args: MultiDict, town: Town | None, now: datetime | None = None) -> list[Issue]:
    """The requests of ``town`` that the query asks for, newest first: ``service_request_id``
    alone, or ``service_code``, the date range and ``status``; paged."""
    page, size = paging(args)
    conds = in_town(town)
    if args.get("service_request_id", "").strip():
        conds.append(Issue.id.in_(parse_ids(args["service_request_id"])))
    else:
        start, end = date_range(args, now or utcnow())
        conds += [Issue.created_at >= start, Issue.created_at <= end]
        if args.get("service_code", "").strip():
            conds.append(service_clause(args["service_code"], town))
        if args.get("status", "").strip():
            conds.append(status_clause(parse_statuses(args["status"])))
    q = (db.select(Issue).where(*conds)
         .options(selectinload(Issue.category), selectinload(Issue.village),
                  selectinload(Issue.department))
         .order_by(Issue.created_at.desc(), Issue.id.desc())
         .offset((page - 1) * size).limit(size))
    return list(db.session.scalars(q))


def public_photos(issue_ids: list[int]) -> dict[int, int]:
    """The first public photo of each issue, by issue id (as the board shows them)."""
    out: dict[int, int] = {}
    if not issue_ids:
        return out
    for pid, iid in db.session.execute(
            db.select(IssuePhoto.id, IssuePhoto.issue_id)
            .where(IssuePhoto.public, IssuePhoto.issue_id.in_(issue_ids))
            .order_by(IssuePhoto.id)):
        out.setdefault(iid, pid)
    return out


def public_change() -> sa.ColumnElement[bool]:
    """SQL: an event that changed a request's status or tier (what the updates list; the
    filing itself, comments, photos and "me too"s are none)."""
    return sa.and_(IssueEvent.to_status.is_not(None),
                   sa.or_(IssueEvent.from_status != IssueEvent.to_status,
                          IssueEvent.from_tier != IssueEvent.to_tier))


def last_changes(issue_ids: list[int]) -> dict[int, datetime]:
    """When each issue last changed in public (status or tier), by issue id: its
    ``updated_datetime`` (edits of what the public does not see do not count)."""
    if not issue_ids:
        return {}
    return dict(db.session.execute(
        db.select(IssueEvent.issue_id, sa.func.max(IssueEvent.created_at))
        .where(IssueEvent.issue_id.in_(issue_ids), public_change())
        .group_by(IssueEvent.issue_id)).tuples().all())


def find_request(raw_id: str, town: Town | None) -> Issue:
    """One request of ``town`` by its number; 404 for anything else."""
    issue_id = parse_int(raw_id, 1, INT_MAX)
    issue = db.session.get(Issue, issue_id) if issue_id else None
    if issue is None or not _of_town(issue, town):
        raise Open311Error("unknown_request")
    return issue


def find_updates(args: MultiDict, town: Town | None,
                 now: datetime | None = None) -> list[IssueEvent]:
    """Changes of status or tier of ``town``'s requests in the date range (or of the requests
    ``service_request_id`` names), oldest first; paged."""
    page, size = paging(args)
    conds = [public_change(), *in_town(town)]
    if args.get("service_request_id", "").strip():
        conds.append(IssueEvent.issue_id.in_(parse_ids(args["service_request_id"])))
    else:
        start, end = date_range(args, now or utcnow())
        conds += [IssueEvent.created_at >= start, IssueEvent.created_at <= end]
    q = (db.select(IssueEvent).join(Issue, Issue.id == IssueEvent.issue_id).where(*conds)
         .order_by(IssueEvent.created_at, IssueEvent.id).offset((page - 1) * size).limit(size))
    return list(db.session.scalars(q))


# --- tokens -----------------------------------------------------------------------------------

def _signature(issue_id: int) -> str:
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, f"open311-token:{issue_id}".encode(), hashlib.sha256).hexdigest()[:20]


def request_token(issue_id: int) -> str:
    """A token that stands for a request (signed: nobody makes one for a number)."""
    return f"{issue_id}-{_signature(issue_id)}"


def token_request(token: str, town: Town | None) -> Issue:
    """The request a token stands for; 404 for a token of ours that is not, or not here."""
    number, _sep, signature = token.partition("-")
    issue_id = parse_int(number, 1, INT_MAX)
    if issue_id is None or not hmac.compare_digest(signature, _signature(issue_id)):
        raise Open311Error("unknown_token")
    issue = db.session.get(Issue, issue_id)
    if issue is None or not _of_town(issue, town):
        raise Open311Error("unknown_token")
    return issue


# --- filing a request -------------------------------------------------------------------------

@dataclass
class Filing:
    """A POST's request, checked: the service, the place and what it says."""

    service: Service
    grid: Grid
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    description: str | None = None
    urgency: str = DEFAULT_URGENCY
    for_neighbour: bool = False
    neighbour: str | None = None
    needed_from: datetime | None = None
    needed_until: datetime | None = None
    media_url: str | None = None


_ATTRIBUTE = re.compile(r"attribute\[([A-Za-z0-9_\-]{1,40})\](\[\])?")


def _text(values: MultiDict, name: str, max_len: int, multiline: bool = False) -> str | None:
    raw = values.get(name)
    text = raw.strip() if raw is not None else ""
    if not text:
        return None
    problem = rules.text(text, max_len=max_len, multiline=multiline)
    if problem is not None:
        raise Open311Error("bad_text", params={"field": name, "problem": str(problem)})
    return text


def _coordinate(raw: str | None, top: float) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw) if len(raw) <= 40 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -top <= value <= top:
        raise Open311Error("bad_point")
    return value


def _attributes(values: MultiDict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key in values:
        if not key.startswith("attribute"):
            continue
        m = _ATTRIBUTE.fullmatch(key)
        if m is None:
            raise Open311Error("unknown_attribute")
        out.setdefault(m.group(1), []).extend(v.strip() for v in values.getlist(key))
    return out


def _one(attrs: dict[str, list[str]], code: str, allowed=None) -> str | None:
    given = [v for v in attrs.get(code, []) if v]
    if len(given) > 1 or (given and allowed is not None and given[0] not in allowed):
        raise Open311Error("bad_attribute", params={"code": code})
    return given[0] if given else None


def _place(values: MultiDict, town: Town | None) -> tuple[Grid, float | None, float | None]:
    lat = _coordinate(values.get("lat"), 90)
    lon = _coordinate(values.get("long"), 180)
    if (lat is None) != (lon is None):
        raise Open311Error("bad_point")
    grid = None
    code = (values.get("address_id") or "").strip()
    if code:
        grid = db.session.scalar(db.select(Grid).where(Grid.code == code[:20])) \
            if len(code) <= 20 else None
        if grid is None:
            raise Open311Error("unknown_address_id")
    elif lat is None:
        raise Open311Error("no_location")
    else:
        grid = locate_grid(lat, lon)
        if grid is None:
            raise IssueError("outside_town", "lat")
    if town is not None and grid.village.town_id != town.id:
        raise Open311Error("outside_jurisdiction")
    return grid, lat, lon


def read_filing(values: MultiDict, town: Town | None) -> Filing:
    """Check a POST's parameters (form-encoded; the query string counts too) and find the
    service and the grid. Parameters of the specification we do not keep (``email``,
    ``device_id``, ``account_id``, ``first_name``, ``last_name``, ``phone``) are ignored: the
    reporter is the api_key's account."""
    code = (values.get("service_code") or "").strip()
    if not code:
        raise Open311Error("service_code_required")
    service = mapping.find_service(town, code[:50])
    if service is None:
        raise Open311Error("unknown_service")
    grid, lat, lon = _place(values, town)
    media_url = (values.get("media_url") or "").strip() or None
    if media_url is not None:
        parts = urlsplit(media_url) if len(media_url) <= MEDIA_URL_MAX else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc \
                or rules.text(media_url) is not None:
            raise Open311Error("bad_media_url")
    filing = Filing(service=service, grid=grid, lat=lat, lon=lon, media_url=media_url,
                    address=_text(values, "address_string", 200))
    attrs = _attributes(values)
    if service.category is not None:
        if set(attrs) - {URGENCY}:
            raise Open311Error("unknown_attribute")
        levels = {u.code for u in mapping.urgency_levels()}
        filing.urgency = _one(attrs, URGENCY, levels) or DEFAULT_URGENCY
        filing.description = _text(values, "description", DESCRIPTION_MAX, multiline=True)
        return filing
    if set(attrs) - {FOR_WHOM, NEIGHBOUR, NEEDED_FROM, NEEDED_UNTIL}:
        raise Open311Error("unknown_attribute")
    filing.description = _text(values, "description", ORDER_DETAILS_MAX, multiline=True)
    if filing.description is None:
        raise Open311Error("description_required")
    filing.for_neighbour = _one(attrs, FOR_WHOM, set(FOR_WHOM_VALUES)) == "neighbour"
    neighbour = _one(attrs, NEIGHBOUR)
    if neighbour is not None and rules.text(neighbour, max_len=NEIGHBOUR_MAX) is not None:
        raise Open311Error("bad_attribute", params={"code": NEIGHBOUR})
    if filing.for_neighbour and not neighbour:
        raise Open311Error("neighbour_required")
    filing.neighbour = neighbour if filing.for_neighbour else None
    for name in (NEEDED_FROM, NEEDED_UNTIL):
        raw = _one(attrs, name)
        if raw is not None:
            setattr(filing, name, parse_datetime(raw, f"attribute[{name}]"))
    return filing


def _title(description: str | None, fallback: str) -> str:
    """An issue's title: the first line of the description (or the category's name)."""
    line = next((ln.strip() for ln in (description or "").splitlines() if ln.strip()), "")
    if not line:
        return fallback
    return line if len(line) <= TITLE_MAX else line[:TITLE_MAX - 1] + "…"


def photo_at(url: str, user: User, hosts: set[str]) -> IssuePhoto | None:
    """The photo of this site that ``url`` shows, when ``user`` may see it (``policy.
    photo_shown``); None for any other address. Nothing is ever fetched from elsewhere."""
    parts = urlsplit(url)
    if parts.netloc.lower() not in hosts:
        return None
    path, root = parts.path, request.script_root
    if root and path.startswith(root + "/"):
        path = path[len(root):]
    try:
        endpoint, args = current_app.url_map.bind(parts.netloc).match(path, method="GET")
    except (HTTPException, RoutingException):
        return None
    if endpoint not in ("board.photo", "issues.photo"):
        return None
    photo = db.session.get(IssuePhoto, args["photo_id"])
    if photo is None or args.get("issue_id", photo.issue_id) != photo.issue_id:
        return None
    if not policy.photo_shown(roles_for(user, photo.issue), photo.public):
        return None
    return photo


def _similar(user: User, filing: Filing, lat: float, lon: float) -> str | None:
    """The duplicate hint: open requests nearby that may be the same, by public facts."""
    def knows_text(issue: Issue) -> bool:
        return policy.issue_view(roles_for(user, issue)) != policy.ISSUE_PUBLIC_VIEW

    category = filing.service.category.code if filing.service.category else None
    found = similar_open_issues(lat, lon, filing.description or "", category,
                                knows_text=knows_text)[:SIMILAR_SHOWN]
    if not found:
        return None
    listed = "; ".join(_("%(id)s (%(category)s, about %(metres)d m)", id=n.issue.id,
                         category=n.issue.category.display_name(_locale_code()),
                         metres=int(round(n.distance_m, -1)) if n.known
                         else policy.public_distance(n.distance_m)) for n in found)
    return _("Open requests within %(radius)d m that may be the same: %(list)s.",
             radius=RADIUS_M, list=listed)


def _locale_code() -> str:
    return str(get_locale() or "zh_CN")


def file_request(user: User, filing: Filing, hosts: set[str]) -> tuple[Issue, str]:
    """File the request as ``user``'s issue (source ``open311``; an order of a service item
    through the order service) and attach the photo at ``media_url`` when it is ours; returns
    the issue and the notice for the answer."""
    lat = filing.lat if filing.lat is not None else filing.grid.lat
    lon = filing.lon if filing.lon is not None else filing.grid.lon
    similar = _similar(user, filing, lat, lon)
    category, item = filing.service.category, filing.service.item
    if category is not None:
        issue = file_issue(user, IssueInput(
            title=_title(filing.description, category.name_zh),
            description=filing.description or category.name_zh, category=category.code,
            lat=filing.lat, lon=filing.lon, grid_code=filing.grid.code, urgency=filing.urgency,
            source=OPEN311_SOURCE, address=filing.address))
    else:
        assert item is not None
        issue = place_order(user, Order(
            item=item, details=filing.description or "", for_neighbour=filing.for_neighbour,
            neighbour=filing.neighbour, lat=filing.lat, lon=filing.lon,
            grid_code=filing.grid.code, needed_from=filing.needed_from,
            needed_until=filing.needed_until))
        if filing.address:
            issue.address = filing.address
    notices = [_("Filed as request %(id)s; %(agency)s holds it, expected by %(when)s.",
                 id=issue.id, agency=mapping.agency_name(issue, _locale_code()),
                 when=localtime(issue.deadline_at, "short"))]
    if filing.media_url:
        photo = photo_at(filing.media_url, user, hosts)
        path = web_path(photo) if photo is not None else None
        if path is not None and path.exists():
            PhotoBatch().add(issue, [check_photo(path.read_bytes(), "media_url")], user)
        else:
            notices.append(_("The photo at media_url was not attached: only a photo of this "
                             "site that you may see can be."))
    if similar:
        notices.append(similar)
    return issue, " ".join(notices)


def is_item_code(code: str | None) -> bool:
    """Whether a service code names a service item (an order)."""
    return bool(code) and code.strip().startswith(ITEM_PREFIX)
