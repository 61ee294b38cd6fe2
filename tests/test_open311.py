"""Open311 GeoReport v2 at /open311/v2/ (issue 19): every endpoint in JSON and XML, the JSON
answers checked against the specification's fields and types, the XML carrying the same data; a
request filed, followed to closure on the web and read back with its updates; the public facts
only (as on the board); jurisdictions of several towns; every kind of bad input refused with the
specification's error list and nothing written."""
from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from PIL import Image

from volunteer import policy
from volunteer.auth.models import ApiToken
from volunteer.auth.services import create_token
from volunteer.common import SHANGHAI, utcnow
from volunteer.extensions import db
from volunteer.inbox.models import Notification
from volunteer.issues.models import (
    OPEN311_SOURCE,
    Issue,
    IssueAction,
    IssueCategory,
    IssueEvent,
    IssuePhoto,
    IssueStatus,
    Tier,
)
from volunteer.issues.photos import PhotoBatch, check_photo
from volunteer.issues.services import Details, IssueInput, file_issue, transition
from volunteer.open311.mapping import ITEM_PREFIX, Open311Status
from volunteer.org.models import Department, District, Grid, ServiceItem, Town, Village
from volunteer.outbox.models import OutboxMessage

from .conftest import PASSWORD, count_queries

BASE = "/open311/v2"
FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
SPEC = "http://wiki.open311.org/GeoReport_v2"

# --- the specification's answers, as checks ---------------------------------------------------

W3C_WITH_ZONE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
SERVICE_TYPES = {"realtime", "batch", "blackbox"}
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
STRING_OR_NULL = (str, type(None))
NUMBER = (int, float)


def _fields(obj: dict, required: dict, optional: dict | None = None) -> None:
    """``obj`` has every required field with its type, and optional ones only of theirs."""
    assert isinstance(obj, dict), obj
    for name, kind in required.items():
        assert name in obj, f"{name} missing in {obj}"
        assert isinstance(obj[name], kind) and not (kind is NUMBER and isinstance(obj[name],
                                                                                  bool)), name
    for name, kind in (optional or {}).items():
        if name in obj:
            assert isinstance(obj[name], kind), (name, obj[name])


def _datetime(value) -> None:
    assert isinstance(value, str) and W3C_WITH_ZONE.fullmatch(value), value


def check_discovery(doc) -> None:
    _fields(doc, {"changeset": str, "contact": str, "key_service": str, "endpoints": list})
    _datetime(doc["changeset"])
    assert doc["endpoints"]
    for e in doc["endpoints"]:
        _fields(e, {"specification": str, "url": str, "changeset": str, "type": str,
                    "formats": list})
        assert e["specification"] == SPEC and e["type"] in {"production", "test"}
        assert set(e["formats"]) <= {"text/xml", "application/json"} and "text/xml" in \
            e["formats"]
        _datetime(e["changeset"])


def check_services(doc) -> None:
    assert isinstance(doc, list) and doc
    for s in doc:
        _fields(s, {"service_code": str, "service_name": str, "type": str, "metadata": bool},
                {"description": STRING_OR_NULL, "keywords": STRING_OR_NULL,
                 "group": STRING_OR_NULL})
        assert s["type"] in SERVICE_TYPES and s["service_code"]
    codes = [s["service_code"] for s in doc]
    assert len(codes) == len(set(codes))


def check_definition(doc) -> None:
    _fields(doc, {"service_code": str, "attributes": list})
    orders = []
    for a in doc["attributes"]:
        _fields(a, {"variable": bool, "code": str, "datatype": str, "required": bool,
                    "order": int, "description": str},
                {"datatype_description": STRING_OR_NULL, "values": list})
        assert a["datatype"] in DATATYPES and a["order"] >= 1
        orders.append(a["order"])
        if a["datatype"].endswith("valuelist"):
            assert a["values"]
            for v in a["values"]:
                _fields(v, {"key": str, "name": str})
    assert len(orders) == len(set(orders))


def check_request(r) -> None:
    _fields(r, {"service_request_id": str, "status": str, "service_code": str,
                "requested_datetime": str, "lat": NUMBER, "long": NUMBER},
            {name: STRING_OR_NULL for name in (
                "status_notes", "service_name", "description", "agency_responsible",
                "service_notice", "updated_datetime", "expected_datetime", "address",
                "address_id", "zipcode", "media_url")})
    assert r["status"] in set(Open311Status)
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        if r.get(name) is not None:
            _datetime(r[name])
    assert -90 <= r["lat"] <= 90 and -180 <= r["long"] <= 180
    if r.get("media_url"):
        assert urlsplit(r["media_url"]).scheme in ("http", "https")


def check_requests(doc) -> None:
    assert isinstance(doc, list)
    for r in doc:
        check_request(r)


def check_post_answer(doc) -> None:
    assert isinstance(doc, list) and len(doc) == 1
    _fields(doc[0], {}, {"service_request_id": str, "token": str,
                         "service_notice": STRING_OR_NULL, "account_id": STRING_OR_NULL})
    assert doc[0].get("service_request_id") or doc[0].get("token")


def check_token_answer(doc) -> None:
    assert isinstance(doc, list) and len(doc) == 1
    _fields(doc[0], {"service_request_id": str, "token": str})


def check_updates(doc) -> None:
    assert isinstance(doc, list)
    for u in doc:
        _fields(u, {"update_id": str, "service_request_id": str, "status": str,
                    "updated_datetime": str, "description": str},
                {"media_url": STRING_OR_NULL, "external_status_code": STRING_OR_NULL})
        _datetime(u["updated_datetime"])


def check_errors(doc, status: int) -> None:
    assert isinstance(doc, list) and doc
    for e in doc:
        _fields(e, {"code": int, "description": str})
        assert e["code"] == status and e["description"]


# --- both formats -----------------------------------------------------------------------------

#: XML elements whose children are a list of the named element.
XML_LISTS = {"services": "service", "service_requests": "request", "errors": "error",
             "endpoints": "endpoint", "formats": "format", "attributes": "attribute",
             "values": "value", "service_request_updates": "request_update"}


def xml_plain(el: ET.Element):
    """An XML answer as the structure its JSON twin has, every value as text."""
    if el.tag in XML_LISTS:
        assert all(c.tag == XML_LISTS[el.tag] for c in el), el.tag
        return [xml_plain(c) for c in el]
    if len(el):
        return {c.tag: xml_plain(c) for c in el}
    return el.text


def as_text(value):
    """A JSON answer with every value as XML writes it."""
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == "":
        return None
    return str(value)


def get(client, path: str, fmt: str, status: int = 200, method: str = "GET", **kw):
    """Call ``path``.``fmt`` and return the answer: parsed JSON, or the XML's root element."""
    resp = client.open(f"{BASE}/{path}.{fmt}", method=method, **kw)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"] == CONTENT_TYPES[fmt]
    if fmt == "json":
        return json.loads(resp.get_data(as_text=True))
    return ET.fromstring(resp.get_data())


def both(client, path: str, status: int = 200, method: str = "GET", **kw):
    """The JSON answer, after checking that the XML one carries the same."""
    doc = get(client, path, "json", status, method, **kw)
    root = get(client, path, "xml", status, method, **kw)
    assert xml_plain(root) == as_text(doc)
    return doc, root


# --- fixtures ---------------------------------------------------------------------------------

def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, "JPEG")
    return buf.getvalue()


def add_photo(issue: Issue, user, public: bool) -> IssuePhoto:
    [row] = PhotoBatch().add(issue, [check_photo(jpeg(), "x.jpg")], user)
    row.public = public
    db.session.commit()
    return row


@pytest.fixture
def town(factory):
    """One town: a 村居 with a grid, its leader and instructor, a department, a resident with
    an API token."""
    village = factory.village(code="JW", name="金湾居民区")
    grid = factory.grid(village, code="JW-01", lat=30.757, lon=121.353)
    dept = factory.department(code="D10")
    resident = factory.user("resident", name="居民丙")
    token = create_token(resident, "open311")
    db.session.commit()
    return {"village": village, "grid": grid, "dept": dept, "resident": resident,
            "token": token, "leader": factory.user("grid_leader", grid, name="网格长甲"),
            "instructor": factory.user("grid_instructor", grid, name="指导员乙")}


def post(client, fmt: str, data: dict, status: int = 200):
    return get(client, "requests", fmt, status, method="POST", data=data)


def filing(town, **extra) -> dict:
    data = {"api_key": town["token"], "service_code": "facilities", "lat": "30.7571",
            "long": "121.3531", "description": "路灯不亮\n绿地里一片黑"}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def login(app, user):
    web = app.test_client()
    assert web.post("/auth/login", data={"login": user.phone,
                                         "password": PASSWORD}).status_code == 302
    return web


def act(web, issue_id: int, action: str, **extra) -> None:
    version = db.session.get(Issue, issue_id).version
    resp = web.post(f"/issues/{issue_id}/act", data={"action": action, "version": version,
                                                     **extra})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    assert db.session.get(Issue, issue_id).version > version


def written() -> tuple[int, int, int]:
    return (db.session.scalar(db.select(db.func.count(Issue.id))),
            db.session.scalar(db.select(db.func.count(IssueEvent.id))),
            db.session.scalar(db.select(db.func.count(OutboxMessage.id))))


# --- discovery and services -------------------------------------------------------------------

def test_discovery_in_both_formats(client, town):
    doc, root = both(client, "discovery")
    check_discovery(doc)
    assert root.tag == "discovery"
    endpoint = doc["endpoints"][0]
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert "/auth/tokens" in doc["key_service"]
    assert client.get(f"{BASE}/").headers["Location"].endswith("/open311/v2/discovery.xml")


def test_services_are_the_categories_and_the_items_to_order(client, town):
    item = ServiceItem(code="S01", name="上门理发", name_en="Haircut at home", category="生活服务",
                       town=db.session.scalar(db.select(Town)))
    off = ServiceItem(code="S02", name="停办的服务", active=False)
    db.session.add_all([item, off])
    db.session.scalar(db.select(IssueCategory).where(IssueCategory.code == "other")).active \
        = False
    db.session.commit()
    doc, root = both(client, "services")
    check_services(doc)
    assert root.tag == "services"
    by_code = {s["service_code"]: s for s in doc}
    facilities = by_code["facilities"]
    assert facilities["service_name"] == "公共设施维修" and facilities["metadata"] is True
    assert facilities["type"] == "realtime" and facilities["group"]
    assert "Public facility repairs" in facilities["keywords"]
    assert ITEM_PREFIX + "S01" in by_code and ITEM_PREFIX + "S02" not in by_code
    assert "other" not in by_code  # an inactive category is no service
    assert by_code[ITEM_PREFIX + "S01"]["group"] != facilities["group"]
    english = get(client, "services", "json", query_string={"locale": "en"})
    assert {s["service_code"]: s for s in english}["facilities"]["service_name"] == \
        "Public facility repairs"
    assert {s["service_code"]: s for s in english}[ITEM_PREFIX + "S01"]["service_name"] == \
        "Haircut at home"


def test_service_definitions(client, town):
    db.session.add(ServiceItem(code="S01", name="上门理发"))
    db.session.commit()
    doc, root = both(client, "services/facilities")
    check_definition(doc)
    assert root.tag == "service_definition"
    [urgency] = doc["attributes"]
    assert urgency["code"] == "urgency" and urgency["datatype"] == "singlevaluelist"
    assert {v["key"] for v in urgency["values"]} == {"low", "normal", "high", "critical"}
    order, _root = both(client, f"services/{ITEM_PREFIX}S01")
    check_definition(order)
    assert [a["code"] for a in order["attributes"]] == ["for_whom", "neighbour", "needed_from",
                                                        "needed_until"]
    for fmt in FORMATS:
        errors = get(client, "services/no_such_thing", fmt, 404)
        if fmt == "json":
            check_errors(errors, 404)


# --- filing a request -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_post_files_an_issue_through_the_same_service(client, town, fmt):
    answer = post(client, fmt, filing(town, address_string="绿地东门",
                                      **{"attribute[urgency]": "high"}))
    doc = answer if fmt == "json" else xml_plain(answer)
    if fmt == "json":
        check_post_answer(doc)
    else:
        assert answer.tag == "service_requests" and answer[0].tag == "request"
    issue = db.session.get(Issue, int(doc[0]["service_request_id"]))
    assert issue.source == OPEN311_SOURCE and issue.reporter_id == town["resident"].id
    assert issue.grid_id == town["grid"].id and issue.tier == Tier.grid
    assert issue.title == "路灯不亮" and issue.description == "路灯不亮\n绿地里一片黑"
    assert issue.urgency == "high" and issue.address == "绿地东门"
    assert issue.deadline_at - issue.created_at == timedelta(hours=24)
    assert (issue.lat, issue.lon) == (30.7571, 121.3531)
    assert doc[0]["account_id"] == str(town["resident"].id)
    assert str(issue.id) in doc[0]["service_notice"]
    # The grid hears of it, as of any report (the inbox, through the outbox).
    assert db.session.scalar(db.select(Notification).where(
        Notification.user_id == town["leader"].id, Notification.issue_id == issue.id))
    # The token in the answer leads back to it.
    token = doc[0]["token"]
    for f in FORMATS:
        found = get(client, f"tokens/{token}", f)
        found = found if f == "json" else xml_plain(found)
        if f == "json":
            check_token_answer(found)
        assert found == [{"service_request_id": str(issue.id), "token": token}]


def test_post_by_grid_and_without_description(client, town):
    doc = post(client, "json", filing(town, lat=None, long=None, description=None,
                                      address_id="JW-01"))
    issue = db.session.get(Issue, int(doc[0]["service_request_id"]))
    assert issue.grid_id == town["grid"].id and (issue.lat, issue.lon) == (30.757, 121.353)
    assert issue.title == issue.description == "公共设施维修" and issue.urgency == "normal"


def test_duplicate_hint_names_open_requests_nearby(client, town):
    first = post(client, "json", filing(town))[0]["service_request_id"]
    notice = post(client, "json", filing(town))[0]["service_notice"]
    assert f"300 米内可能相同的未结诉求：{first}（" in notice
    notice = post(client, "json", filing(town, locale="en"))[0]["service_notice"]
    assert "Open requests within 300 m that may be the same: " in notice and f"; {first} (" in notice


def test_order_of_a_service_item(client, town):
    dept = town["dept"]
    db.session.add(ServiceItem(code="S01", name="上门理发", department=dept,
                               issue_category=db.session.scalar(db.select(IssueCategory).where(
                                   IssueCategory.code == "elderly"))))
    db.session.commit()
    doc = post(client, "json", filing(town, service_code=ITEM_PREFIX + "S01",
                                      description="隔壁李大爷卧床，需要上门理发",
                                      **{"attribute[for_whom]": "neighbour",
                                         "attribute[neighbour]": "李大爷",
                                         "attribute[needed_from]": "2030-01-02T09:00:00+08:00"}))
    issue = db.session.get(Issue, int(doc[0]["service_request_id"]))
    assert issue.service_item.code == "S01" and issue.reporter_id == town["resident"].id
    assert issue.tier == Tier.department and issue.department_id == dept.id  # routed
    assert "李大爷" in issue.description and issue.category.code == "elderly"
    assert issue.needed_from.isoformat() == "2030-01-02T01:00:00"
    # In lists an order shows its category, as on the board: what was ordered is not public.
    [shown] = get(client, f"requests/{issue.id}", "json")
    assert shown["service_code"] == "elderly" and "理发" not in json.dumps(shown,
                                                                          ensure_ascii=False)
    assert shown["agency_responsible"] == dept.name


# --- the round trip ---------------------------------------------------------------------------

def test_round_trip_post_follow_close_on_the_web_and_read_the_updates(app, client, town):
    doc = post(client, "json", filing(town))
    rid = doc[0]["service_request_id"]
    [request] = get(client, f"requests/{rid}", "json")
    check_request(request)
    assert request["status"] == Open311Status.open
    assert request["service_code"] == "facilities" and request["agency_responsible"] == "金湾居民区"
    # The grid works it on the web: accept, resolve; the instructor verifies and closes it.
    leader = login(app, town["leader"])
    act(leader, int(rid), IssueAction.accept)
    act(leader, int(rid), IssueAction.resolve, resolution="换了灯泡", hours_spent="1")
    act(login(app, town["instructor"]), int(rid), IssueAction.verify)
    assert db.session.get(Issue, int(rid)).status == IssueStatus.closed
    (request,), root = both(client, f"requests/{rid}")
    check_request(request)
    assert request["status"] == Open311Status.closed
    assert request["status_notes"] and "换了灯泡" not in json.dumps(request, ensure_ascii=False)
    assert root.find("request/status").text == Open311Status.closed
    updates, root = both(client, "servicerequestupdates")
    check_updates(updates)
    assert root.tag == "service_request_updates"
    mine = [u for u in updates if u["service_request_id"] == rid]
    assert [u["external_status_code"] for u in mine] == [
        IssueStatus.accepted, IssueStatus.resolved, IssueStatus.closed]
    assert [u["status"] for u in mine] == [Open311Status.open, Open311Status.open,
                                           Open311Status.closed]
    assert len({u["update_id"] for u in mine}) == 3
    assert request["updated_datetime"] == mine[-1]["updated_datetime"]  # closed then
    assert "换了灯泡" not in json.dumps(updates, ensure_ascii=False)
    # The same, asked by request number and by a date range.
    assert get(client, "servicerequestupdates", "json",
               query_string={"service_request_id": rid}) == mine
    today = utcnow().date().isoformat()
    assert get(client, "servicerequestupdates", "json",
               query_string={"start_date": today}) == mine
    closed = get(client, "requests", "json", query_string={"status": Open311Status.closed})
    assert [r["service_request_id"] for r in closed] == [rid]
    assert get(client, "requests", "json", query_string={"status": Open311Status.open}) == []


def test_rejected_is_closed_and_says_why(client, town):
    first = file_issue(town["resident"], IssueInput(title="路灯", description="不亮",
                                                    category="facilities", lat=30.7571,
                                                    lon=121.3531))
    second = file_issue(town["resident"], IssueInput(title="路灯", description="又不亮",
                                                     category="facilities", lat=30.7571,
                                                     lon=121.3531))
    db.session.flush()
    transition(town["leader"], second, IssueAction.reject, Details(duplicate_of=first.id))
    db.session.commit()
    [shown] = get(client, f"requests/{second.id}", "json", query_string={"locale": "en"})
    assert shown["status"] == Open311Status.closed
    assert str(first.id) in shown["status_notes"] and "duplicate" in shown["status_notes"]
    [update] = get(client, "servicerequestupdates", "json")
    assert update["status"] == Open311Status.closed
    assert update["external_status_code"] == IssueStatus.rejected


def test_escalation_is_an_update_and_moves_the_agency(client, town):
    issue = file_issue(town["resident"], IssueInput(title="井盖", description="缺失",
                                                    category="facilities", lat=30.7571,
                                                    lon=121.3531))
    admin = town["leader"]
    db.session.flush()
    transition(admin, issue, IssueAction.escalate)
    db.session.commit()
    [update] = get(client, "servicerequestupdates", "json", query_string={"locale": "en"})
    assert update["status"] == Open311Status.open and "Village" in update["description"]
    assert update["external_status_code"] == IssueStatus.reported


# --- privacy ----------------------------------------------------------------------------------

def test_lists_carry_the_public_facts_only(client, town, factory):
    reporter = factory.user("resident", name="诸葛孔明", phone="13955556666")
    issue = file_issue(reporter, IssueInput(
        title="诸葛家水管漏水", description="请打13955556666，住3号楼502", category="housing_repair",
        lat=30.757123, lon=121.353456, address="3号楼502"))
    db.session.commit()
    private = add_photo(issue, reporter, public=False)
    public = add_photo(issue, reporter, public=True)
    listed, _root = both(client, "requests")
    single, _root = both(client, f"requests/{issue.id}")
    check_requests(listed)
    assert listed == single
    for fmt in FORMATS:
        for path in ("requests", f"requests/{issue.id}", "servicerequestupdates"):
            text = client.get(f"{BASE}/{path}.{fmt}").get_data(as_text=True)
            for secret in ("诸葛", "13955556666", "水管漏水", "3号楼", "502", "30.757123",
                           "121.353456", f"/photos/{private.id}"):
                assert secret not in text, (path, fmt, secret)
    [r] = single
    assert (r["lat"], r["long"]) == policy.public_place(issue.lat, issue.lon) == (30.757,
                                                                                   121.353)
    assert r["description"] == r["service_name"] == "居家维修"
    # Changes the public does not see (a photo, skills set by staff) leave it as it was.
    issue.skill_codes = ["plumber"]
    db.session.commit()
    assert r["updated_datetime"] == r["requested_datetime"] == \
        get(client, f"requests/{issue.id}", "json")[0]["updated_datetime"]
    assert r["address"] == "金湾居民区"
    assert r["media_url"] == f"http://localhost/board/photos/{public.id}"
    assert client.get(urlsplit(r["media_url"]).path).status_code == 200


def test_policy_rules_for_open311(town, factory):
    issue = file_issue(town["resident"], IssueInput(title="t", description="d",
                                                    category="facilities", lat=30.7571,
                                                    lon=121.3531))
    db.session.commit()
    assert policy.public_agency(issue) == town["village"]
    issue.tier, issue.department_id = Tier.department, town["dept"].id
    db.session.commit()
    assert policy.public_agency(issue) == town["dept"]
    assert policy.photo_shown(set(), True) and not policy.photo_shown(set(), False)
    assert not policy.photo_shown({"follower"}, False)
    assert policy.photo_shown({"reporter"}, False) and policy.photo_shown({"grid_leader"}, False)


# --- media_url --------------------------------------------------------------------------------

def test_media_url_of_ours_is_attached_and_nothing_else(client, town, factory):
    other = factory.user("resident", name="别人")
    theirs = file_issue(other, IssueInput(title="t", description="d", category="facilities",
                                          lat=30.7571, lon=121.3531))
    db.session.commit()
    public, private = add_photo(theirs, other, True), add_photo(theirs, other, False)
    doc = post(client, "json", filing(town, media_url=f"http://localhost/board/photos/"
                                                      f"{public.id}"))
    issue = db.session.get(Issue, int(doc[0]["service_request_id"]))
    assert len(issue.photos) == 1 and issue.photos[0].uploaded_by_id == town["resident"].id
    assert "media_url" not in doc[0]["service_notice"]
    for url in (f"http://localhost/issues/{theirs.id}/photos/{private.id}",  # not theirs to see
                f"http://localhost/board/photos/{private.id}",
                "https://evil.example/x.jpg",  # never fetched
                "http://localhost/board/", f"http://127.0.0.2/board/photos/{public.id}"):
        doc = post(client, "json", filing(town, media_url=url))
        issue = db.session.get(Issue, int(doc[0]["service_request_id"]))
        assert issue.photos == [], url
        assert "media_url" in doc[0]["service_notice"], url


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("path", "status"), [
    ("no_such_endpoint", 404), ("requests/abc", 404), ("requests/0", 404),
    ("requests/99999999999", 404), ("requests/1.json", 404), ("tokens/1-deadbeef", 404),
    ("tokens/xyz", 404), ("services/nothing", 404), ("services/item-NONE", 404)])
def test_unknown_resources_are_404_lists(client, town, fmt, path, status):
    doc = get(client, path, fmt, status)
    if fmt == "json":
        check_errors(doc, status)
    else:
        assert doc.tag == "errors" and doc.find("error/code").text == str(status)
        assert doc.find("error/description").text


@pytest.mark.parametrize("fmt", FORMATS)
def test_api_key_missing_wrong_or_revoked_is_403(client, town, fmt):
    row = db.session.scalar(db.select(ApiToken))
    row.revoked_at = utcnow()
    db.session.commit()
    for key in (None, "", "gv_wrong", "x" * 5000, town["token"]):
        doc = post(client, fmt, filing(town, api_key=key), 403)
        if fmt == "json":
            check_errors(doc, 403)
    resp = client.post(f"{BASE}/requests.json", data=filing(town, api_key=None),
                       headers={"Authorization": f"Bearer {town['token']}"})
    assert resp.status_code == 403  # a form key, as the specification says
    assert written()[0] == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_method_is_405(client, town, fmt):
    for method, path in (("PUT", "requests"), ("DELETE", "requests/1"), ("POST", "services"),
                         ("POST", "servicerequestupdates")):
        doc = get(client, path, fmt, 405, method=method)
        assert (doc[0]["code"] if fmt == "json" else int(doc.find("error/code").text)) == 405


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("extra", "status"), [
    ({"service_code": None}, 400),
    ({"service_code": "nothing"}, 404),
    ({"long": None}, 400),
    ({"lat": "abc"}, 400),
    ({"lat": "nan"}, 400),
    ({"lat": "inf"}, 400),
    ({"lat": "91"}, 400),
    ({"long": "1e400"}, 400),
    ({"lat": "3" * 100}, 400),
    ({"lat": None, "long": None}, 400),  # no location
    ({"lat": None, "long": None, "address_string": "菜场后门"}, 400),  # not placeable
    ({"address_id": "NOPE-01"}, 400),
    ({"lat": "31.9", "long": "119.0"}, 400),  # 3 km from every grid
    ({"description": "x" * 4001}, 400),
    ({"description": "<script>alert(1)</script>"}, 400),
    ({"description": "坏\x00字符"}, 400),
    ({"description": "方向\u202e反转"}, 400),
    ({"address_string": "a\nb"}, 400),
    ({"address_string": "x" * 201}, 400),
    ({"attribute[urgency]": "whenever"}, 400),
    ({"attribute[colour]": "red"}, 400),
    ({"attribute[urgency][]": ["high", "low"]}, 400),
    ({"attribute]x[": "1"}, 400),
    ({"media_url": "javascript:alert(1)"}, 400),
    ({"media_url": "not a url"}, 400),
    ({"media_url": "http://localhost/" + "x" * 2001}, 400),
    ({"jurisdiction_id": "NOPE"}, 404),
])
def test_bad_posts_are_refused_with_a_list_and_write_nothing(client, town, fmt, extra,
                                                             status):
    before = written()
    doc = post(client, fmt, filing(town, **extra), status)
    if fmt == "json":
        check_errors(doc, status)
    else:
        assert doc.tag == "errors" and doc.find("error/code").text == str(status)
    assert written() == before


@pytest.mark.parametrize("extra", [
    {"description": None},  # an order says what is needed
    {"attribute[for_whom]": "neighbour"},  # … and for whom
    {"attribute[for_whom]": "cat"},
    {"attribute[neighbour]": "<b>x</b>", "attribute[for_whom]": "neighbour"},
    {"attribute[needed_from]": "tomorrow"},
    {"attribute[needed_from]": "2030-01-02T10:00:00+08:00",
     "attribute[needed_until]": "2030-01-02T09:00:00+08:00"},  # the window ends before it starts
    {"attribute[urgency]": "high"},  # an attribute of the categories, not of orders
    {"description": "x" * 2001},
])
def test_bad_orders_are_refused(client, town, extra):
    db.session.add(ServiceItem(code="S01", name="上门理发"))
    db.session.commit()
    before = written()
    doc = post(client, "json", filing(town, service_code=ITEM_PREFIX + "S01", **extra), 400)
    check_errors(doc, 400)
    assert written() == before


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("query", [
    {"start_date": "yesterday"}, {"start_date": "2026-13-01"}, {"start_date": "2026-02-30"},
    {"start_date": "99999-01-01T00:00:00Z"}, {"start_date": "0000-01-01"},
    {"start_date": "0001-01-01T00:00:00+08:00"}, {"end_date": "9999-12-31T23:59:59-12:00"},
    {"start_date": "2026-01-01T10:00:00"},  # no zone
    {"start_date": "2026-01-01T10:00:00+25:00"},
    {"start_date": "2026-01-01T10:00:00Z" + "0" * 50},
    {"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"},
    {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},  # > 90 days
    {"status": "pending"}, {"status": ","},
    {"service_request_id": "abc"}, {"service_request_id": "-1"},
    {"service_request_id": "99999999999"}, {"service_request_id": ",".join(["1"] * 1001)},
    {"page": "0"}, {"page": "abc"}, {"page": "100001"}, {"page_size": "0"},
    {"page_size": "1001"}, {"page_size": "-5"}, {"page_size": "１０"},
    {"service_code": "nothing"}, {"jurisdiction_id": "NOPE"},
])
def test_bad_queries_are_400_lists(client, town, fmt, query):
    status = 404 if "jurisdiction_id" in query else 400
    # Updates are asked for by dates, request numbers and pages only.
    paths = ["requests"] if {"status", "service_code"} & set(query) else \
        ["requests", "servicerequestupdates"]
    for path in paths:
        doc = get(client, path, fmt, status, query_string=query)
        if fmt == "json":
            check_errors(doc, status)
        else:
            assert doc.tag == "errors" and doc.find("error/code").text == str(status)


def test_dates_with_a_zone_and_the_90_day_window(client, town):
    issues = []
    for days in (5, 40, 100):
        issue = file_issue(town["resident"], IssueInput(title="t", description="d",
                                                        category="facilities", lat=30.7571,
                                                        lon=121.3531))
        db.session.flush()
        issue.created_at = utcnow() - timedelta(days=days)
        issues.append(str(issue.id))
    db.session.commit()

    def ids(**query):
        return [r["service_request_id"] for r in get(client, "requests", "json",
                                                      query_string=query)]

    assert ids() == issues[:2]  # the last 90 days by default, newest first
    start = (utcnow() - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert ids(start_date=start) == issues[1:]  # 90 days from the start
    end = (datetime.now(SHANGHAI) - timedelta(days=30)).isoformat(timespec="seconds")
    assert end.endswith("+08:00") and ids(end_date=end) == issues[1:]
    # A "+" left unencoded in the query string arrives as a space: it is read as a "+".
    assert client.get(f"{BASE}/requests.json?end_date={end}").json == \
        get(client, "requests", "json", query_string={"end_date": end})
    assert ids(service_request_id=",".join(issues)) == issues  # overrides the dates
    assert ids(service_request_id=issues[2], status=Open311Status.closed) == [issues[2]]
    assert ids(service_code="facilities,waste") == issues[:2]
    assert ids(service_code="waste") == []


def test_pages(client, town):
    for n in range(5):
        file_issue(town["resident"], IssueInput(title=f"t{n}", description="d",
                                                category="facilities", lat=30.7571,
                                                lon=121.3531))
    db.session.commit()
    everything = [r["service_request_id"] for r in get(client, "requests", "json")]
    assert len(everything) == 5
    pages = [[r["service_request_id"] for r in get(
        client, "requests", "json", query_string={"page": p, "page_size": 2})] for p in (1, 2, 3)]
    assert pages == [everything[:2], everything[2:4], everything[4:]]
    assert get(client, "requests", "json", query_string={"page": 4, "page_size": 2}) == []
    for issue in db.session.scalars(db.select(Issue)):
        transition(town["leader"], issue, IssueAction.accept)
    db.session.commit()
    updates = [u["update_id"] for u in get(client, "servicerequestupdates", "json")]
    assert len(updates) == 5
    assert [u["update_id"] for u in get(client, "servicerequestupdates", "json",
                                        query_string={"page": 2, "page_size": 3})] == \
        updates[3:]


def test_the_list_does_not_grow_its_queries_with_its_rows(client, town):
    def add(n: int) -> None:
        for _i in range(n):
            issue = file_issue(town["resident"], IssueInput(
                title="t", description="d", category="facilities", lat=30.7571, lon=121.3531))
            db.session.flush()
            issue.tier, issue.department_id = Tier.department, town["dept"].id
        db.session.commit()

    add(2)
    few = count_queries(client, f"{BASE}/requests.json")
    add(20)
    assert count_queries(client, f"{BASE}/requests.json") == few


# --- jurisdictions ----------------------------------------------------------------------------

@pytest.fixture
def two_towns(town, factory):
    """Town B beside the fixture's town A, with a 村居, a grid and a request of its own."""
    a = db.session.scalar(db.select(Town))
    b = Town(code="T2", name="第二镇", district=db.session.scalar(db.select(District)),
             lat=30.70, lon=121.20)
    db.session.add(b)
    vb = Village(town=b, code="VB", name="乙村", lat=30.70, lon=121.20)
    db.session.add(vb)
    gb = Grid(village=vb, code="VB-01", name="第1网格", lat=30.700, lon=121.200, households=3)
    db.session.add_all([gb, ServiceItem(code="SB", name="乙镇的服务", town=b),
                        Department(code="DB", name="乙镇部门", town=b)])
    db.session.commit()
    ia = file_issue(town["resident"], IssueInput(title="甲", description="d",
                                                 category="facilities", lat=30.7571,
                                                 lon=121.3531))
    ib = file_issue(town["resident"], IssueInput(title="乙", description="d",
                                                 category="facilities", lat=30.7001,
                                                 lon=121.2001))
    db.session.commit()
    return {"a": a, "b": b, "ia": ia, "ib": ib, "gb": gb}


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_towns_need_a_jurisdiction(client, town, two_towns, fmt):
    for path in ("services", "services/facilities", "requests", f"requests/"
                 f"{two_towns['ia'].id}", "servicerequestupdates"):
        for query in ({}, {"jurisdiction_id": ""}, {"jurisdiction_id": "  "}):
            doc = get(client, path, fmt, 400, query_string=query)
            if fmt == "json":
                check_errors(doc, 400)
                assert "T2" in doc[0]["description"]
    before = written()
    get(client, "requests", fmt, 400, method="POST", data=filing(town))
    assert written() == before


def test_jurisdiction_scopes_every_endpoint(client, town, two_towns):
    a, b = two_towns["a"].code, two_towns["b"].code
    ia, ib = str(two_towns["ia"].id), str(two_towns["ib"].id)

    def ask(path, code, status=200, **query):
        return get(client, path, "json", status, query_string={"jurisdiction_id": code, **query})

    assert [r["service_request_id"] for r in ask("requests", a)] == [ia]
    assert [r["service_request_id"] for r in ask("requests", b)] == [ib]
    assert [r["service_request_id"] for r in ask(
        "requests", a, service_request_id=f"{ia},{ib}")] == [ia]
    ask(f"requests/{ib}", a, 404)
    ask(f"tokens/{ib}-x", b, 404)
    codes_a = {s["service_code"] for s in ask("services", a)}
    codes_b = {s["service_code"] for s in ask("services", b)}
    assert ITEM_PREFIX + "SB" in codes_b and ITEM_PREFIX + "SB" not in codes_a
    ask(f"services/{ITEM_PREFIX}SB", a, 404)
    ask("requests", "NOPE", 404)
    # Filing: the place must lie in the town named.
    data = filing(town, jurisdiction_id=a, lat="30.7001", long="121.2001")
    check_errors(get(client, "requests", "json", 400, method="POST", data=data), 400)
    data = filing(town, jurisdiction_id=a, lat=None, long=None, address_id="VB-01")
    check_errors(get(client, "requests", "json", 400, method="POST", data=data), 400)
    doc = post(client, "json", filing(town, jurisdiction_id=b, lat="30.7001", long="121.2001"))
    issue = db.session.get(Issue, int(doc[0]["service_request_id"]))
    assert policy.town_of(issue) == two_towns["b"].id
    token = doc[0]["token"]
    ask(f"tokens/{token}", b)
    ask(f"tokens/{token}", a, 404)
    # Updates follow the town too.
    transition(town["leader"], db.session.get(Issue, int(ia)), IssueAction.accept)
    db.session.commit()
    assert [u["service_request_id"] for u in ask("servicerequestupdates", a)] == [ia]
    assert ask("servicerequestupdates", b) == []


def test_one_town_takes_its_code_or_nothing(client, town):
    code = db.session.scalar(db.select(Town)).code
    for query in ({}, {"jurisdiction_id": ""}, {"jurisdiction_id": code}):
        get(client, "services", "json", query_string=query)
    post(client, "json", filing(town, jurisdiction_id=code))
    check_errors(get(client, "services", "json", 404, query_string={"jurisdiction_id": "X"}),
                 404)


# --- the edges --------------------------------------------------------------------------------

def test_resident_files_as_a_resident_and_sees_only_public_facts(client, town, factory):
    staff_only = file_issue(town["leader"], IssueInput(title="内部", description="网格长的记录",
                                                       category="facilities", lat=30.7571,
                                                       lon=121.3531))
    db.session.commit()
    doc = post(client, "json", filing(town, source="patrol", reporter_id=town["leader"].id))
    issue = db.session.get(Issue, int(doc[0]["service_request_id"]))
    assert issue.source == OPEN311_SOURCE and issue.reporter_id == town["resident"].id
    shown = client.get(f"{BASE}/requests/{staff_only.id}.json",
                       query_string={"api_key": town["token"]}).get_data(as_text=True)
    assert "网格长的记录" not in shown and "内部" not in shown


def test_xml_escapes_what_it_carries(client, town):
    category = db.session.scalar(db.select(IssueCategory).where(
        IssueCategory.code == "facilities"))
    category.name_zh = "设施<&>\"]]>'\x01修"
    db.session.commit()
    root = get(client, "services", "xml")
    names = [s.find("service_name").text for s in root]
    assert "设施<&>\"]]>'修" in names  # escaped, and the control character dropped
    assert "设施<&>\"]]>'修" in [s["service_name"] for s in get(client, "services", "json")]


def test_open311_posts_need_no_csrf_token(make_app, town):
    app = make_app(WTF_CSRF_ENABLED=True)
    resp = app.test_client().post(f"{BASE}/requests.json", data=filing(town))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert app.test_client().post("/issues/new", data={}).status_code == 400  # the site: CSRF


def test_rate_limits_answer_in_the_format(make_app, town):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                   RATELIMIT_API="3 per minute")
    web = app.test_client()
    for _i in range(3):
        assert web.get(f"{BASE}/discovery.json").status_code == 200
    for fmt in FORMATS:
        resp = web.get(f"{BASE}/discovery.{fmt}")
        assert resp.status_code == 429 and resp.headers["Content-Type"] == CONTENT_TYPES[fmt]
        assert "Retry-After" in resp.headers
    check_errors(json.loads(web.get(f"{BASE}/discovery.json").get_data()), 429)
    # Per api_key, as the API counts per token.
    for _i in range(3):
        assert web.post(f"{BASE}/requests.json", data=filing(town)).status_code == 200
    assert web.post(f"{BASE}/requests.json", data=filing(town)).status_code == 429
    other = create_token(town["leader"])
    db.session.commit()
    assert web.post(f"{BASE}/requests.json", data=filing(town, api_key=other)).status_code \
        == 200


def test_orders_count_against_the_days_limit(make_app, town):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    db.session.add(ServiceItem(code="S01", name="上门理发"))
    db.session.commit()
    web = app.test_client()
    order = filing(town, service_code=ITEM_PREFIX + "S01")
    bad = filing(town, service_code=ITEM_PREFIX + "S01", description=None)
    assert web.post(f"{BASE}/requests.json", data=bad).status_code == 400  # not counted
    codes = [web.post(f"{BASE}/requests.json", data=order).status_code for _i in range(21)]
    assert codes == [200] * 20 + [429]
    assert web.post(f"{BASE}/requests.json", data=filing(town)).status_code == 200  # a report
    other = create_token(town["leader"])
    db.session.commit()
    assert web.post(f"{BASE}/requests.json", data={**order, "api_key": other}).status_code \
        == 200  # per account


def test_the_web_form_does_not_offer_the_open311_source(client, auth, town):
    auth.login(user=town["leader"])
    page = client.get("/issues/new").get_data(as_text=True)
    assert 'value="open311"' not in page and 'value="patrol"' in page


def test_the_tokens_page_points_to_the_discovery_document(client, auth):
    auth.login()
    assert "/open311/v2/discovery.xml" in client.get("/auth/tokens").get_data(as_text=True)


def test_a_body_too_large_is_a_413_list(make_app, town):
    app = make_app(MAX_CONTENT_LENGTH=2048, RATELIMIT_ENABLED=True,
                   RATELIMIT_STORAGE_URI="memory://")  # (the limiter reads the key first)
    resp = app.test_client().post(f"{BASE}/requests.xml",
                                  data=filing(town, description="长" * 3000))
    assert resp.status_code == 413 and resp.headers["Content-Type"] == CONTENT_TYPES["xml"]
    assert ET.fromstring(resp.get_data()).find("error/code").text == "413"
    assert written()[0] == 0


def test_language_from_the_locale_parameter_or_accept_language(client, town):
    def name(**kw) -> str:
        services = get(client, "services", "json", **kw)
        return {s["service_code"]: s for s in services}["facilities"]["service_name"]

    assert name() == "公共设施维修"
    assert name(headers={"Accept-Language": "en-GB,en;q=0.8"}) == "Public facility repairs"
    assert name(query_string={"locale": "en_US"}) == "Public facility repairs"
    assert name(query_string={"locale": "zh_CN"},
                headers={"Accept-Language": "en"}) == "公共设施维修"
    errors = get(client, "requests/abc", "json", 404, headers={"Accept-Language": "en"})
    assert errors[0]["description"] == "There is no such service request here."


@pytest.mark.parametrize(("body", "content_type"), [
    (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
    (b"%zz=%%&&==", "application/x-www-form-urlencoded"),
    (b"--x\r\ngarbage without an end", "multipart/form-data; boundary=x"),
    (b"garbage", "multipart/form-data"),
    (b'{"service_code": "facilities"}', "application/json"),
    (b"<request/>", "text/xml"),
])
def test_unreadable_bodies_are_lists_too(client, town, body, content_type):
    for fmt in FORMATS:
        resp = client.post(f"{BASE}/requests.{fmt}", data=body, content_type=content_type)
        assert resp.status_code in (400, 403) and resp.headers["Content-Type"] == \
            CONTENT_TYPES[fmt]
    assert written()[0] == 0
