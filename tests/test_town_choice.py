"""Choosing a town on the public pages: shown only with several towns, filters the board, the
service menu and the grid points, remembered in the session, a logged-in person's own town by
default; bad codes, unsafe redirects and missing CSRF tokens change nothing."""
import re
from datetime import timedelta

import pytest

from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.issues.services import IssueInput, file_issue
from volunteer.org.models import District, GridPoint, ServiceItem, Town, Village
from volunteer.services.models import ServiceSession

PAGES = ["/", "/board/", "/services/", "/services/points/"]

pytestmark = pytest.mark.usefixtures("english")


def _issue(reporter, grid_code: str):
    return file_issue(reporter, IssueInput(title="路灯不亮", description="路灯不亮",
                                           category="housing_repair", lat=None, lon=None,
                                           grid_code=grid_code))


@pytest.fixture
def one_town(factory):
    grid = factory.grid(factory.village(code="VA", name="甲村"), code="VA-01")
    db.session.add(GridPoint(grid=grid, name="甲村网格点", address="甲村1号", lat=30.757,
                             lon=121.353))
    db.session.add(ServiceItem(code="SA", name="甲镇服务", category="c"))
    _issue(factory.user("resident"), "VA-01")
    db.session.commit()
    return grid


@pytest.fixture
def towns(factory):
    """Town SY with 甲村 and town T2 (第二镇) with 乙村, each with a grid, a grid point, an
    issue and a service item of its own; one more item offered in every town."""
    district = db.session.scalar(db.select(District))
    sy = db.session.scalar(db.select(Town).where(Town.code == "SY"))
    t2 = Town(code="T2", name="第二镇", district=district)
    va = Village(town=sy, code="VA", name="甲村", lat=30.75, lon=121.35)
    vb = Village(town=t2, code="VB", name="乙村", lat=30.75, lon=121.35)
    db.session.add_all([t2, va, vb])
    db.session.commit()
    ga = factory.grid(va, code="VA-01", lat=30.757, lon=121.353)
    gb = factory.grid(vb, code="VB-01", lat=30.70, lon=121.30)
    pa = GridPoint(grid=ga, name="甲村网格点", address="甲村1号", lat=30.757, lon=121.353)
    pb = GridPoint(grid=gb, name="乙村网格点", address="乙村1号", lat=30.70, lon=121.30)
    db.session.add_all([pa, pb,
                        ServiceItem(code="SA", name="山阳服务", category="c", town=sy),
                        ServiceItem(code="SB", name="二镇服务", category="c", town=t2),
                        ServiceItem(code="SALL", name="各镇服务", category="c")])
    reporter = factory.user("resident")
    ia, ib = _issue(reporter, "VA-01"), _issue(reporter, "VB-01")
    db.session.commit()
    return {"sy": sy, "t2": t2, "ga": ga, "gb": gb, "pa": pa, "pb": pb, "ia": ia, "ib": ib}


def _items(body: str) -> set[str]:
    return set(re.findall(r'data-item="([^"]+)"', body))


def _points(body: str) -> set[int]:
    return {int(p) for p in re.findall(r'data-point="(\d+)"', body)}


def _board(body: str) -> set[int]:
    return {int(i) for i in re.findall(r"<strong>#(\d+) ", body)}


def _remembered(client):
    with client.session_transaction() as sess:
        return sess.get("town")


def test_one_town_shows_no_chooser_and_filters_nothing(client, one_town):
    for path in PAGES + [p + "?town=SY" for p in PAGES]:
        body = client.get(path).get_data(as_text=True)
        assert 'data-testid="town-chooser"' not in body, path
        assert 'data-testid="town-name"' not in body, path
        assert "All towns" not in body
    assert "What the grids of our town are working on" in client.get("/board/").get_data(
        as_text=True)
    assert _remembered(client) is None
    assert client.post("/towns/choose", data={"town": "SY", "next": "/board/"}).status_code == 302
    body = client.get("/board/").get_data(as_text=True)
    assert 'data-testid="town-chooser"' not in body and len(_board(body)) == 1


def test_two_towns_show_the_chooser_and_everything(client, towns):
    for path in PAGES:
        body = client.get(path).get_data(as_text=True)
        assert 'data-testid="town-chooser"' in body, path
        assert "All towns" in body and "第二镇" in body
        assert 'data-testid="town-name"' not in body
    assert _board(client.get("/board/").get_data(as_text=True)) == {towns["ia"].id,
                                                                   towns["ib"].id}
    assert _items(client.get("/services/").get_data(as_text=True)) == {"SA", "SB", "SALL"}
    assert _points(client.get("/services/points/").get_data(as_text=True)) == {
        towns["pa"].id, towns["pb"].id}


def test_town_arg_filters_and_is_remembered(client, towns):
    body = client.get("/board/?town=T2&status=open").get_data(as_text=True)
    assert _board(body) == {towns["ib"].id}
    assert 'data-testid="town-name">· 第二镇' in body and "What the grids of 第二镇" in body
    assert 'name="next" value="/board/?status=open"' in body  # back without the old town
    assert re.search(r'<option value="T2"\s+selected>', body)
    assert _remembered(client) == "T2"
    # The next requests carry no argument: the choice holds.
    assert _board(client.get("/board/").get_data(as_text=True)) == {towns["ib"].id}
    assert [p[0] for p in client.get("/board/map.json").get_json()["points"]] == [towns["ib"].id]
    assert _items(client.get("/services/").get_data(as_text=True)) == {"SB", "SALL"}
    assert _points(client.get("/services/points/").get_data(as_text=True)) == {towns["pb"].id}
    assert [p[0] for p in client.get("/services/points/map.json").get_json()["points"]] == [
        towns["pb"].id]
    assert "1 villages and communities · 1 grids · 1 grid points" in client.get(
        "/").get_data(as_text=True)
    # A village of another town is not a filter of this one; another town's item still opens.
    assert _board(client.get("/board/?village=VA").get_data(as_text=True)) == {towns["ib"].id}
    assert client.get("/services/items/SA").status_code == 200
    # Another town in the argument replaces the choice; an empty one means all towns.
    assert _board(client.get("/board/?town=SY").get_data(as_text=True)) == {towns["ia"].id}
    assert _board(client.get("/board/?town=").get_data(as_text=True)) == {towns["ia"].id,
                                                                         towns["ib"].id}
    assert _remembered(client) == ""


def test_choose_remembers_and_clears(client, towns):
    resp = client.post("/towns/choose", data={"town": "T2", "next": "/services/?lat=1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/services/?lat=1")
    assert _remembered(client) == "T2"
    assert _board(client.get("/board/").get_data(as_text=True)) == {towns["ib"].id}
    resp = client.post("/towns/choose", data={"town": "", "next": "/board/"})
    assert resp.headers["Location"].endswith("/board/")
    assert _board(client.get("/board/").get_data(as_text=True)) == {towns["ia"].id,
                                                                   towns["ib"].id}


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)", ""])
def test_choose_ignores_an_unsafe_next(client, towns, target):
    resp = client.post("/towns/choose", data={"town": "T2", "next": target})
    assert resp.status_code == 302
    assert "evil" not in resp.headers["Location"] and "javascript" not in resp.headers["Location"]
    assert resp.headers["Location"] in ("/", "http://localhost/")
    assert _remembered(client) == "T2"


def test_unknown_town_changes_nothing(client, towns):
    both = {towns["ia"].id, towns["ib"].id}
    for path in ("/board/?town=XX", "/board/?town=<script>", "/services/?town=" + "x" * 300,
                 "/services/points/?town=XX", "/?town=XX", "/board/map.json?town=XX",
                 "/services/points/map.json?town=XX"):
        assert client.get(path).status_code == 200, path
    assert _remembered(client) is None
    assert _board(client.get("/board/?town=XX").get_data(as_text=True)) == both
    client.get("/board/?town=T2")
    assert client.post("/towns/choose", data={"town": "XX", "next": "/board/"}).status_code == 302
    assert client.get("/board/?town=nope").status_code == 200
    assert _remembered(client) == "T2"
    assert _board(client.get("/board/").get_data(as_text=True)) == {towns["ib"].id}


def test_choose_needs_the_csrf_token(make_app, towns):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    client.set_cookie("lang", "en")
    resp = client.post("/towns/choose", data={"town": "T2", "next": "/board/"})
    assert resp.status_code == 400
    assert len(_board(client.get("/board/").get_data(as_text=True))) == 2
    page = client.get("/board/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/towns/choose", data={"town": "T2", "next": "/board/",
                                              "csrf_token": token})
    assert resp.status_code == 302
    assert _board(client.get("/board/").get_data(as_text=True)) == {towns["ib"].id}


def test_a_volunteer_gets_the_town_of_their_home_grid(client, auth, factory, towns):
    vol = factory.volunteer("志愿者", ["electrician"], grid=towns["gb"], lat=30.70, lon=121.30)
    auth.login(user=vol)
    body = client.get("/board/").get_data(as_text=True)
    assert _board(body) == {towns["ib"].id} and 'data-testid="town-name">· 第二镇' in body
    assert _items(client.get("/services/").get_data(as_text=True)) == {"SB", "SALL"}
    # Choosing all towns holds over their own town.
    client.post("/towns/choose", data={"town": "", "next": "/board/"})
    assert len(_board(client.get("/board/").get_data(as_text=True))) == 2


def test_staff_get_the_town_of_their_role(client, auth, towns):
    auth.login("grid_leader", scope=towns["gb"])
    assert _points(client.get("/services/points/").get_data(as_text=True)) == {towns["pb"].id}


def test_next_sessions_of_an_item_offered_everywhere_are_the_chosen_towns(client, towns):
    """The menu's "next" and the item's coming sessions: in the chosen town (near a place,
    across town lines), everywhere with no town chosen."""
    item = db.session.scalar(db.select(ServiceItem).where(ServiceItem.code == "SALL"))
    soon = utcnow() + timedelta(days=1)
    at_a = ServiceSession(item=item, point=towns["pa"], starts_at=soon,
                          ends_at=soon + timedelta(hours=1))
    at_b = ServiceSession(item=item, point=towns["pb"], starts_at=soon + timedelta(hours=2),
                          ends_at=soon + timedelta(hours=3))
    db.session.add_all([at_a, at_b])
    db.session.commit()

    def nexts(body: str) -> set[int]:
        return {int(i) for i in re.findall(r"/services/sessions/(\d+)", body)}

    assert nexts(client.get("/services/").get_data(as_text=True)) == {at_a.id}  # the soonest
    assert at_b.id in nexts(client.get("/services/items/SALL").get_data(as_text=True))
    menu = client.get("/services/?town=T2").get_data(as_text=True)
    assert nexts(menu) == {at_b.id}
    page = client.get("/services/items/SALL").get_data(as_text=True)  # T2 is remembered
    assert nexts(page) == {at_b.id} and 'data-testid="session-town">第二镇<' in page
    near_a = client.get("/services/?town=T2&lat=30.757&lon=121.353").get_data(as_text=True)
    assert nexts(near_a) == {at_a.id}  # near a place: the nearest, whichever town
