"""Issue 13, breaks 5, 9, 13 and 14: followers and the duplicate hint see the public facts only;
grid centres stay within their 村居 and only its admins move them; absurd input never gives a
server error; the map popup is text."""
from pathlib import Path

import pytest

from volunteer.extensions import db
from volunteer.org.models import GridPoint, ServiceItem

pytestmark = pytest.mark.usefixtures("english")

HUGE = "99999999999999999999"


# --- 13. absurd input ---------------------------------------------------------------------------

@pytest.fixture
def places(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01")
    point = GridPoint(grid=grid, name="网格点", address="甲村1号", lat=30.7572, lon=121.3531)
    db.session.add_all([point, ServiceItem(code="S03", name="免费义诊", category="健康服务")])
    db.session.commit()
    return {"village": village, "grid": grid, "point": point}


PUBLIC_LISTS = ["/board/", "/services/points/", "/services/items/S03"]
STAFF_LISTS = ["/issues/", "/inbox/", "/hours/", "/hours/review", "/tasks/", "/volunteers/",
               "/services/staff", "/services/mine"]


@pytest.mark.parametrize("page", [HUGE, "-" + HUGE, "²", "1e9", "abc", "0"])
@pytest.mark.parametrize("url", PUBLIC_LISTS)
def test_absurd_page_numbers_on_public_lists(client, places, url, page):
    resp = client.get(f"{url}?page={page}")
    assert resp.status_code == 200
    if page != "0":
        assert "no such page" in resp.get_data(as_text=True)


@pytest.mark.parametrize("url", PUBLIC_LISTS + STAFF_LISTS)
def test_absurd_page_numbers_for_the_town_admin(client, auth, places, url):
    auth.login("admin")
    resp = client.get(f"{url}?page={HUGE}")
    assert resp.status_code == 200, url
    assert "no such page" in resp.get_data(as_text=True)
    assert client.get(f"{url}?page=2").status_code == 200  # past the end: an empty page


@pytest.mark.parametrize("month", [f"{HUGE}-1", f"2025-{HUGE}", "²-1", "2025-13", "x"])
def test_absurd_calendar_month_shows_this_month(client, places, month):
    resp = client.get(f"/services/points/{places['point'].id}/calendar?month={month}")
    assert resp.status_code == 200
    assert "not a month" in resp.get_data(as_text=True)


@pytest.mark.parametrize("args,message", [
    ("?from=0001-01-01", "at most five years"), ("?to=0001-01-01", "before 2000"),
    ("?from=0001-01-01&to=0001-01-02", "before 2000"), ("?to=9999-12-31", "in the future"),
    ("?from=9999-12-31&to=9999-12-31", "in the future"), (f"?from={HUGE}", "YYYY-MM-DD")])
def test_absurd_dashboard_periods_are_refused(client, auth, places, args, message):
    auth.login("admin")
    resp = client.get("/dashboard/" + args)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    for url in ("/dashboard/export.xlsx", "/dashboard/gaps"):
        assert client.get(url + args).status_code == 400, url


def test_parse_int_takes_ascii_digits_only():
    from volunteer.common import parse_int

    assert parse_int("42") == 42 and parse_int(" 7 ") == 7
    for bad in ("²", "١٢", "", None, "1.5", "1e3", HUGE, "0", "-3", "12a"):
        assert parse_int(bad) is None, bad
    assert parse_int("0", lo=0) == 0 and parse_int("5", hi=4) is None


def test_superscript_in_an_integer_setting_is_ignored(monkeypatch):
    from flask import Flask

    from volunteer.config import load_config

    monkeypatch.setenv("MAIL_PORT", "²5")
    app = Flask(__name__)
    load_config(app, {"TESTING": True})
    assert app.config.get("MAIL_PORT") != "²5"
    monkeypatch.setenv("MAIL_PORT", "2525")
    load_config(app, {"TESTING": True})
    assert app.config["MAIL_PORT"] == 2525


def test_superscript_department_is_a_clear_error(client, auth, factory):
    from volunteer.issues.models import Issue
    from volunteer.issues.services import IssueInput, file_issue, transition

    grid = factory.grid()
    vadmin = factory.user("village_admin", grid.village)
    issue = file_issue(vadmin, IssueInput(title="路灯不亮", description="d",
                                          category="facilities", lat=30.757, lon=121.353))
    transition(vadmin, issue, "escalate")  # to the 村居: the next step names a department
    db.session.commit()
    auth.login(user=vadmin)
    resp = client.post(f"/issues/{issue.id}/act", data={
        "action": "escalate", "version": str(issue.version), "department_id": "²",
        "comment": "x"}, follow_redirects=True)
    assert resp.status_code in (200, 400)
    assert db.session.get(Issue, issue.id).tier == "village"


@pytest.mark.parametrize("field", ["attended", "staff"])
def test_superscript_ids_in_attendance_change_nothing(client, auth, places, field):
    from datetime import timedelta

    from volunteer.common import utcnow
    from volunteer.services.models import ServiceSession

    item = db.session.scalar(db.select(ServiceItem))
    s = ServiceSession(item=item, point=places["point"], starts_at=utcnow() - timedelta(hours=2),
                       ends_at=utcnow() - timedelta(hours=1), capacity=5)
    db.session.add(s)
    db.session.commit()
    auth.login("admin")
    resp = client.post(f"/services/sessions/{s.id}/attendance", data={field: ["²", "1"]})
    assert resp.status_code in (200, 302, 400)


def test_superscript_volunteer_id_when_inviting(client, auth, factory):
    from volunteer.invitations.models import Invitation
    from volunteer.issues.services import IssueInput, file_issue

    grid = factory.grid()
    leader = factory.user("grid_leader", grid)
    issue = file_issue(leader, IssueInput(title="路灯不亮", description="d",
                                          category="facilities", lat=30.757, lon=121.353))
    db.session.commit()
    auth.login(user=leader)
    resp = client.post(f"/tasks/invite/{issue.id}", data={"volunteer": ["²"]})
    assert resp.status_code in (302, 400)
    assert db.session.scalar(db.select(db.func.count(Invitation.id))) == 0


# --- 5. followers and the duplicate hint see the public facts -----------------------------------

@pytest.fixture
def town(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    return {"village": village, "grid": grid,
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "reporter": factory.user("resident", name="居民甲"),
            "neighbour": factory.user("resident", name="邻居乙"),
            "stranger": factory.user("resident", name="路人丙")}


def _report(town, title="王大爷家漏水", lat=30.757123, lon=121.353456, category="housing_repair"):
    from volunteer.issues.services import IssueInput, file_issue

    issue = file_issue(town["reporter"], IssueInput(
        title=title, description=f"{title}，独居的王大爷", category=category, lat=lat, lon=lon))
    db.session.commit()
    return issue


def test_follower_sees_the_public_facts_on_the_queue_map(client, auth, town):
    issue = _report(town)
    auth.login(user=town["neighbour"])
    client.post(f"/issues/{issue.id}/me-too")
    data = client.get("/issues/map.json?queue=mine").get_json()
    assert data["points"][0][:4] == [issue.id, 30.757, 121.353, f"#{issue.id} Home repairs"]
    assert "王大爷" not in str(data)
    list_page = client.get("/issues/?queue=mine").get_data(as_text=True)
    assert "王大爷" not in list_page and town["grid"].name not in list_page
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "王大爷" not in page and "30.757123" not in page and "121.353456" not in page
    auth.logout()
    auth.login(user=town["reporter"])  # the reporter and the staff keep what they see
    point = client.get("/issues/map.json?queue=mine").get_json()["points"][0]
    assert point[1:4] == [30.757123, 121.353456, f"#{issue.id} 王大爷家漏水"]
    auth.logout()
    auth.login(user=town["leader"])
    point = client.get("/issues/map.json?queue=grid").get_json()["points"][0]
    assert point[1:4] == [30.757123, 121.353456, f"#{issue.id} 王大爷家漏水"]


def test_follower_sees_the_public_facts_in_the_api(client, auth, town):
    from tests.test_invitations import bearer
    from volunteer.issues.models import Issue
    from volunteer.issues.services import Details, me_too, transition

    issue = _report(town)
    me_too(town["neighbour"], issue)
    transition(town["leader"], issue, "accept", Details(comment="王大爷住3号楼"))
    transition(town["leader"], issue, "comment", Details(comment="王大爷电话已记下"))
    db.session.commit()
    headers = bearer(town["neighbour"])
    listed = client.get("/api/v1/issues?queue=mine", headers=headers).get_json()["items"]
    got = client.get(f"/api/v1/issues/{issue.id}", headers=headers).get_json()
    for data in (listed[0], got):
        assert "王大爷" not in str(data) and (data["lat"], data["lon"]) == (30.757, 121.353)
        assert data["description"] == "" and data["department"] is None
    assert [e["to_status"] for e in got["events"]] == ["reported", "accepted"]
    assert all(e["comment"] is None and e["actor"] is None for e in got["events"])
    mine = client.get(f"/api/v1/issues/{issue.id}", headers=bearer(town["reporter"])).get_json()
    assert mine["title"] == "王大爷家漏水" and mine["lat"] == 30.757123
    assert db.session.get(Issue, issue.id).status == "accepted"


def _similar(client, text, lat=30.757, lon=121.353):
    resp = client.get(f"/issues/similar?lat={lat}&lon={lon}&text={text}&category=facilities")
    assert resp.status_code == 200
    return resp.get_json()["items"]


def test_similar_hint_tells_non_staff_nothing_of_hidden_text(client, auth, town):
    near = _report(town, title="楼道堆放杂物", lat=30.7575, lon=121.3530, category="environment")
    named = _report(town, title="张伟家门口路灯不亮", lat=30.7590, lon=121.3530,
                    category="facilities")
    auth.login(user=town["stranger"])
    # (Without "reported": "1 second ago" may become "2 seconds ago" between the calls.)
    asked = [[{k: v for k, v in item.items() if k != "reported"} for item in _similar(client, t)]
             for t in ("张伟", "李四", "")]
    assert asked[0] == asked[1] == asked[2]  # "does this report name 张伟?" has no answer
    items = asked[0]
    assert [i["id"] for i in items] == [near.id, named.id]  # nearest first
    for item in items:
        assert "likely" not in item and "title" not in item and "url" not in item
        assert item["distance_m"] % 50 == 0
    assert "张伟" not in str(items) and "杂物" not in str(items)
    auth.logout()
    auth.login(user=town["leader"])  # staff keep the ranked hint with titles
    items = _similar(client, "张伟 路灯不亮")
    assert [i["id"] for i in items] == [named.id, near.id]
    assert items[0]["likely"] and items[0]["title"] == "张伟家门口路灯不亮"
    assert items[0]["distance_m"] % 10 == 0


def test_follower_gets_no_text_from_the_similar_hint(client, auth, town):
    issue = _report(town, title="张伟家门口路灯不亮", category="facilities")
    auth.login(user=town["neighbour"])
    client.post(f"/issues/{issue.id}/me-too")
    (item,) = _similar(client, "张伟")
    assert "title" not in item and "likely" not in item and item["me_too"] is None
    assert item["url"] == f"/issues/{issue.id}" and item["distance_m"] % 50 == 0


def test_similar_hint_is_rate_limited(make_app, town):
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    c = limited.test_client()
    c.set_cookie("lang", "en")
    assert c.post("/auth/login", data={"login": town["stranger"].phone,
                                       "password": "passw0rd123"}).status_code == 302
    codes = [c.get(f"/issues/similar?lat=30.757&lon={121.353 + i / 10000}").status_code
             for i in range(31)]
    assert codes[:30] == [200] * 30 and codes[30] == 429


def test_issue_view_rule():
    from volunteer.policy import issue_view

    assert issue_view({"grid_leader", "follower"}) == "staff"
    assert issue_view({"reporter"}) == "own"
    assert issue_view({"follower"}) == issue_view(set()) == "public"


# --- 9. grid centres --------------------------------------------------------------------------

@pytest.fixture
def grids(factory):
    a, b = factory.village(code="VA", name="甲村"), factory.village(code="VB", name="乙村")
    return {"a": a, "b": b, "a1": factory.grid(a, code="VA-01", lat=30.757, lon=121.353),
            "a2": factory.grid(a, code="VA-02", lat=30.760, lon=121.356),
            "b1": factory.grid(b, code="VB-01", lat=30.700, lon=121.300)}


def _grid_form(**kw):
    return {"name": "新名", "households": "320", "lat": "30.758", "lon": "121.354", **kw}


def test_grid_leader_cannot_move_the_centre(client, auth, grids):
    from volunteer.org.models import Grid

    auth.login("grid_leader", grids["a1"])
    page = client.get("/org/grids/VA-01/edit").get_data(as_text=True)
    assert 'name="lat"' not in page and 'data-testid="place-note"' in page
    resp = client.post("/org/grids/VA-01/edit", data=_grid_form(lat="30.7001", lon="121.3001"))
    assert resp.status_code == 302
    g = db.session.get(Grid, grids["a1"].id)
    assert (g.name, g.households, g.lat, g.lon) == ("新名", 320, 30.757, 121.353)


@pytest.mark.parametrize("lat,lon,message", [
    ("30.7001", "121.3001", "must lie within 甲村"),  # next to 乙村's grid
    ("31.5", "121.353", "must lie within 甲村"), ("nan", "121.353", "Please enter a number")])
def test_village_admin_keeps_the_centre_in_their_village(client, auth, grids, lat, lon,
                                                          message):
    from volunteer.org.models import Grid

    auth.login("village_admin", grids["a"])
    resp = client.post("/org/grids/VA-01/edit", data=_grid_form(lat=lat, lon=lon))
    assert resp.status_code == 200 and message in resp.get_data(as_text=True)
    g = db.session.get(Grid, grids["a1"].id)
    assert (g.name, g.lat, g.lon) == (grids["a1"].name, 30.757, 121.353)
    resp = client.post("/org/grids/VA-01/edit", data=_grid_form())  # within 1 km: fine
    assert resp.status_code == 302
    assert (db.session.get(Grid, grids["a1"].id).lat) == 30.758


def test_centre_inside_another_villages_boundary_is_refused(client, auth, grids):
    import json

    from volunteer.org.models import Grid

    b1 = grids["b1"]
    b1.boundary = json.dumps({"type": "Polygon", "coordinates": [[
        [121.357, 30.761], [121.360, 30.761], [121.360, 30.764], [121.357, 30.764],
        [121.357, 30.761]]]})
    db.session.commit()
    auth.login("village_admin", grids["a"])
    resp = client.post("/org/grids/VA-01/edit", data=_grid_form(lat="30.762", lon="121.358"))
    assert resp.status_code == 200
    assert "inside grid VB-01 of 乙村" in resp.get_data(as_text=True)
    assert db.session.get(Grid, grids["a1"].id).lat == 30.757


def _admin_grid(grid, **kw):
    return {"village": str(grid.village_id), "code": grid.code, "name": grid.name,
            "households": "300", "lat": str(grid.lat), "lon": str(grid.lon), "boundary": "",
            **kw}


@pytest.mark.parametrize("change,message", [
    ({"lat": "30.7001", "lon": "121.3001"}, "must lie within 甲村"),
    ({"boundary": '{"type": "Point", "coordinates": [121.3, 30.7]}'}, "GeoJSON Polygon"),
    ({"boundary": '{"type": "Polygon", "coordinates": [[[121.30, 30.70], [121.31, 30.70], '
                  '[121.31, 30.71], [121.30, 30.70]]]}'}, "boundary must lie within 甲村")])
def test_town_admin_screen_uses_the_same_rule(client, auth, grids, change, message):
    from volunteer.org.models import Grid

    auth.login("admin")
    a1 = grids["a1"]
    resp = client.post(f"/admin/a_grid/edit/?id={a1.id}", data=_admin_grid(a1, **change),
                       follow_redirects=True)
    assert message in resp.get_data(as_text=True)
    g = db.session.get(Grid, a1.id)
    assert (g.lat, g.lon, g.boundary) == (30.757, 121.353, None)
    resp = client.post(f"/admin/a_grid/edit/?id={a1.id}", data=_admin_grid(a1, lat="30.758"))
    assert resp.status_code == 302 and db.session.get(Grid, a1.id).lat == 30.758


def test_a_new_grid_goes_near_its_village(client, auth, grids):
    from volunteer.org.models import Grid

    auth.login("admin")
    data = {"village": str(grids["a"].id), "code": "VA-03", "name": "第3网格",
            "households": "10", "lat": "30.701", "lon": "121.301", "boundary": ""}
    client.post("/admin/a_grid/new/", data=data)
    assert db.session.scalar(db.select(Grid).where(Grid.code == "VA-03")) is None
    client.post("/admin/a_grid/new/", data={**data, "lat": "30.758", "lon": "121.354"})
    assert db.session.scalar(db.select(Grid).where(Grid.code == "VA-03")) is not None


# --- 14. map popups are text ------------------------------------------------------------------

MAP_JS = Path(__file__).resolve().parents[1] / "volunteer" / "static" / "js" / "map.js"
HARNESS = r"""
const fs = require("fs");
function el(tag) { return { tag: tag, textContent: "", href: null, dataset: {} }; }
const popups = [];
const map = { setView() { return map; }, fitBounds() { return map; } };
const div = { dataset: { points: JSON.stringify([
  { lat: 30.75, lon: 121.35, label: "<img src=x onerror=alert(1)>" },
  { lat: 30.76, lon: 121.36, label: "#7 路灯", url: "/issues/7" },
  { lat: 30.77, lon: 121.37, label: "x", url: "//evil.example/" },
  { lat: 30.78, lon: 121.38, label: "y", url: "javascript:alert(1)" }]), tiles: "", zoom: "16" } };
global.window = {};
global.document = { createElement: el, querySelectorAll: () => [div] };
global.L = { map: () => map, tileLayer: () => ({ addTo() {} }),
             marker: () => ({ addTo() { return this; }, bindPopup(c) { popups.push(c); } }) };
eval(fs.readFileSync(process.argv[2], "utf8"));
console.log(JSON.stringify(popups));
"""


def test_map_popups_are_text_nodes(tmp_path):
    import json
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    out = subprocess.run([node, str(harness), str(MAP_JS)], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    popups = json.loads(out)
    assert [p["tag"] for p in popups] == ["span", "a", "span", "span"]
    assert popups[0]["textContent"] == "<img src=x onerror=alert(1)>"
    assert popups[1]["href"] == "/issues/7" and popups[1]["textContent"] == "#7 路灯"
    assert all(p["href"] is None for p in popups[2:])


def test_no_script_sets_html_from_data():
    js = Path(MAP_JS).parent
    for path in js.glob("*.js"):
        source = path.read_text()
        for line in source.splitlines():
            if "innerHTML" in line or "insertAdjacentHTML" in line:
                assert 'innerHTML = ""' in line, (path.name, line)


@pytest.mark.parametrize("value", ["sNaN", "NaN", "nan", "inf", "-Infinity"])
def test_numbers_that_are_not_numbers_are_refused(client, auth, factory, value):
    """NaN and infinities pass NumberRange: hours spent, a grid's centre and a travel range
    refuse them with a message, and nothing changes."""
    from volunteer.issues.models import Issue
    from volunteer.issues.services import IssueInput, file_issue, transition
    from volunteer.org.models import Grid

    grid = factory.grid()
    member = factory.user("grid_member", grid)
    issue = file_issue(member, IssueInput(title="路灯不亮", description="d",
                                          category="facilities", lat=30.757, lon=121.353))
    for action in ("accept", "start"):
        transition(member, issue, action)
    db.session.commit()
    auth.login(user=member)
    resp = client.post(f"/issues/{issue.id}/act", data={
        "action": "resolve", "version": str(issue.version), "resolution": "修好了",
        "hours_spent": value})
    assert resp.status_code in (200, 400)
    assert db.session.get(Issue, issue.id).status == "in_progress"
    auth.logout()
    auth.login("village_admin", grid.village)
    resp = client.post(f"/org/grids/{grid.code}/edit", data={
        "name": "新名", "households": "300", "lat": value, "lon": "121.35"})
    assert resp.status_code == 200 and db.session.get(Grid, grid.id).name != "新名"
    auth.logout()
    volunteer = factory.volunteer("志愿者", ["electrician"], grid=grid)
    auth.login(user=volunteer)
    resp = client.post("/volunteers/me/edit", data={"name": "志愿者", "travel_km": value})
    assert resp.status_code == 200
    assert db.session.get(type(volunteer.profile), volunteer.profile.id).travel_km == 5.0


def test_grids_cannot_walk_away_one_margin_at_a_time(client, auth, grids):
    """Each move stays within 1 km of the 村居's other grids, but moving two grids in turn
    would carry them anywhere: the 村居's own centre (the town admin's) holds them within 3 km."""
    from volunteer.org.models import Grid

    auth.login("village_admin", grids["a"])
    steps = [("VA-01", "30.768"), ("VA-02", "30.776"), ("VA-01", "30.784")]
    codes = [client.post(f"/org/grids/{code}/edit", data=_grid_form(lat=lat, lon="121.353"))
             for code, lat in steps]
    assert [r.status_code for r in codes] == [302, 302, 200]
    assert "within 3 km of its centre" in codes[-1].get_data(as_text=True)
    assert db.session.get(Grid, grids["a1"].id).lat == 30.768
