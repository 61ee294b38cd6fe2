"""Several towns on the dashboards: a town as a scope, the district's towns side by side (figures,
chart, CSV), each office kept to its towns, and a query count that does not grow with them."""
import csv
import io
from datetime import timedelta

import pytest
from redis.exceptions import RedisError

from tests.conftest import count_queries
from volunteer.common import utcnow
from volunteer.dashboard.figures import today_local
from volunteer.extensions import cache, db
from volunteer.invitations.models import Invitation
from volunteer.issues.services import Details, IssueInput, file_issue, transition
from volunteer.org.models import District, Town, Village

pytestmark = pytest.mark.usefixtures("following_matcher", "english")


def add_town(factory, code: str, name: str, lat: float = 30.80, lon: float = 121.20):
    """A town of the district with one 村居 and one grid in it, and a grid member there."""
    district = db.session.scalar(db.select(District))
    town = Town(code=code, name=name, district=district, lat=lat, lon=lon)
    village = Village(town=town, code=f"{code}V", name=f"{name}一村", lat=lat, lon=lon)
    db.session.add_all([town, village])
    db.session.commit()
    grid = factory.grid(village, code=f"{code}V-01", lat=lat, lon=lon)
    return {"town": town, "village": village, "grid": grid,
            "member": factory.user("grid_member", grid, name=f"{name}网格员"),
            "leader": factory.user("grid_leader", grid, name=f"{name}网格长")}


@pytest.fixture
def district(factory):
    """The reference town (A, with 村居 VA) and a second one (B, T2)."""
    town_a = db.session.scalar(db.select(Town).where(Town.code == "SY"))
    va = Village(town=town_a, code="VA", name="甲村", lat=30.757, lon=121.353)
    db.session.add(va)
    db.session.commit()
    ga = factory.grid(va, code="VA-01", lat=30.757, lon=121.353)
    a = {"town": town_a, "village": va, "grid": ga,
         "member": factory.user("grid_member", ga, name="甲网格员"),
         "leader": factory.user("grid_leader", ga, name="甲网格长")}
    b = add_town(factory, "T2", "第二镇")
    return {"a": a, "b": b, "admin_a": factory.user("admin", town_a, name="山阳镇管理员"),
            "admin_b": factory.user("admin", b["town"], name="第二镇管理员"),
            "district": factory.user("district_admin", name="区管理员")}


def issue(place, **kw):
    made = file_issue(place["member"], IssueInput(
        title="路灯不亮", description="绿地路灯不亮", category="facilities",
        lat=place["grid"].lat, lon=place["grid"].lon, grid_code=place["grid"].code, **kw))
    db.session.commit()
    return made


def close(place, i, verifier, days: float):
    for action in ("accept", "start"):
        transition(place["member"], i, action)
    transition(place["member"], i, "resolve", Details(resolution="好了"))
    transition(verifier, i, "verify")
    i.created_at = utcnow() - timedelta(days=20)
    i.closed_at = i.created_at + timedelta(days=days)
    db.session.commit()


@pytest.fixture
def figures(district, factory):
    """A: three issues, two closed (in 2 and 4 days), one with a helper who gave 2.5 hours, and
    one volunteer; B: two issues, one closed in 10 days, one open past its deadline."""
    from volunteer.hours.services import confirm
    from volunteer.invitations.services import Pick, invite, respond

    a, b, boss = district["a"], district["b"], district["district"]
    helper = factory.volunteer("电工", ["electrician"], grid=a["grid"])
    a1, a2, _a3 = issue(a, helpers_needed=1), issue(a), issue(a)
    (inv,) = invite(a["leader"], a1, [Pick(helper.id)])
    db.session.commit()
    respond(helper, inv, True)
    db.session.commit()
    close(a, a1, boss, 2)
    close(a, a2, boss, 4)
    confirm(a["leader"], db.session.get(Invitation, inv.id), "2.5")
    db.session.commit()
    b1, b2 = issue(b), issue(b)
    close(b, b1, boss, 10)
    b2.deadline_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    return district


def csv_rows(resp) -> dict[str, list[str]]:
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Town", "Issues found", "Closed", "Share closed"]
    return {r[0]: r[1:] for r in rows[1:]}


def test_district_admin_sees_the_towns_side_by_side(client, auth, figures):
    auth.login(user=figures["district"])
    index = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-testid="compare-towns"' in index and 'href="/dashboard/towns' in index
    page = client.get("/dashboard/towns")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-town="SY"' in body and 'data-town="T2"' in body and 'data-testid="total"' in body
    assert 'class="js-chart"' in body and "chart.umd.min.js" in body
    assert 'href="/dashboard/?town=T2' in body
    rows = csv_rows(client.get("/dashboard/towns?format=csv"))
    # found, closed, share closed, median days, share overdue, helpers found, volunteers, hours
    assert rows["山阳镇"] == ["3", "2", "66.7%", "3.0", "0.0%", "100.0%", "1", "2.5"]
    assert rows["第二镇"] == ["2", "1", "50.0%", "10.0", "50.0%", "—", "0", "0.0"]
    assert rows["District total"] == ["5", "3", "60.0%", "4.0", "20.0%", "100.0%", "1", "2.5"]
    xlsx = client.get("/dashboard/towns?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")


def test_a_town_as_the_dashboard_scope(client, auth, figures):
    auth.login(user=figures["district"])
    whole = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-testid="found">5<' in whole and 'data-testid="town-choice"' in whole
    page = client.get("/dashboard/?town=T2")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-testid="found">2<' in body and 'data-testid="scope">第二镇<' in body
    assert 'value="T2V"' in body and 'value="VA"' not in body  # the chosen town's 村居
    # a 村居 of another town than the one chosen is left out: the form changed the town
    assert 'data-testid="found">2<' in client.get("/dashboard/?town=T2&village=VA").get_data(
        as_text=True)
    assert 'data-testid="found">3<' in client.get("/dashboard/?village=VA").get_data(
        as_text=True)
    for url in ("/dashboard/gaps?town=T2", "/dashboard/export.xlsx?table=tiers&town=T2",
                "/dashboard/report?town=T2", "/dashboard/work-units?town=T2"):
        assert client.get(url).status_code == 200, url
    assert client.get("/dashboard/?town=NOPE").status_code == 404


def test_a_town_admin_is_kept_to_their_town(client, auth, figures):
    auth.login(user=figures["admin_a"])
    assert client.get("/dashboard/towns").status_code == 403
    assert client.get("/dashboard/towns?format=csv").status_code == 403
    page = client.get("/dashboard/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="found">3<' in body
    assert 'data-testid="compare-towns"' not in body and 'data-testid="town-choice"' not in body
    assert 'value="T2V"' not in body
    for url in ("/dashboard/?town=T2", "/dashboard/gaps?town=T2", "/dashboard/report?town=T2",
                "/dashboard/export.xlsx?town=T2", "/dashboard/work-units?town=T2"):
        resp = client.get(url)
        assert resp.status_code == 403, url
        assert 'data-testid="found"' not in resp.get_data(as_text=True)
    assert "That town is outside your scope" in client.get("/dashboard/?town=T2").get_data(
        as_text=True)
    assert client.get("/dashboard/?town=NOPE").status_code == 404
    assert 'data-testid="found">3<' in client.get("/dashboard/?town=SY").get_data(as_text=True)
    resp = client.get("/dashboard/?village=T2V")
    assert resp.status_code == 400 and "outside your scope" in resp.get_data(as_text=True)
    auth.logout()
    auth.login(user=figures["b"]["leader"])
    assert client.get("/dashboard/towns").status_code == 403
    assert client.get("/dashboard/?town=T2").status_code == 403  # a grid leader: the grid


def test_towns_page_queries_do_not_grow_with_the_towns(client, auth, district, factory):
    for place in (district["a"], district["b"]):
        issue(place)
    auth.login(user=district["district"])
    two = count_queries(client, "/dashboard/towns")
    two_csv = count_queries(client, "/dashboard/towns?format=csv")
    for n in range(3, 6):
        place = add_town(factory, f"T{n}", f"第{n}镇", lat=30.80 + n / 100)
        issue(place)
        factory.volunteer(f"志愿者{n}", ["electrician"], grid=place["grid"], lat=place["grid"].lat,
                          lon=place["grid"].lon)
    body = client.get("/dashboard/towns").get_data(as_text=True)
    assert body.count("data-town=") == 5
    assert count_queries(client, "/dashboard/towns") == two
    assert count_queries(client, "/dashboard/towns?format=csv") == two_csv


@pytest.mark.parametrize("args,message", [
    ("?from=yesterday", "YYYY-MM-DD"),
    ("?from=2026-11-01&to=2026-10-01", "must not be after its end"),
    ("?from=1926-01-01&to=2026-01-01", "at most five years"),
    ("?from=0001-01-01&to=0001-02-01", "before 2000"),
    (f"?from={today_local() + timedelta(days=3)}&to={today_local() + timedelta(days=9)}",
     "cannot start in the future"),
])
def test_towns_page_answers_bad_dates_with_a_message(client, auth, district, args, message):
    auth.login(user=district["district"])
    for fmt in ("", "&format=csv"):
        resp = client.get("/dashboard/towns" + args + fmt)
        assert resp.status_code == 422, args
        body = resp.get_data(as_text=True)
        assert message in body and 'data-testid="towns"' not in body, args


def test_csv_keeps_formulas_as_text(client, auth, district, factory):
    add_town(factory, "T3", "=HYPERLINK(\"http://x\")")
    auth.login(user=district["district"])
    rows = csv_rows(client.get("/dashboard/towns?format=csv"))
    assert "'=HYPERLINK(\"http://x\")" in rows


def test_one_town_looks_as_before(client, auth, factory):
    va = factory.village(code="VA", name="甲村")
    factory.grid(va, code="VA-01")
    for role in ("admin", "district_admin"):
        user = factory.user(role, db.session.scalar(db.select(Town)) if role == "admin" else None)
        auth.login(user=user)
        body = client.get("/dashboard/").get_data(as_text=True)
        assert 'data-testid="town-choice"' not in body and 'id="village"' in body
        assert 'data-testid="compare-towns"' not in body and "The whole town</option>" in body
        page = client.get("/dashboard/towns")
        assert page.status_code == 200
        assert 'data-testid="one-town"' in page.get_data(as_text=True)
        assert 'data-testid="found">0<' in client.get("/dashboard/?town=SY").get_data(
            as_text=True)
        auth.logout()


def test_figures_are_kept_and_computed_again_by_tick(app, client, auth, figures, monkeypatch):
    """With a cache, a dashboard shows its figures as of when they were read; ``tick`` reads
    every town's and the district's default view again (the kept page shows what it read)."""
    monkeypatch.setitem(app.config, "DASHBOARD_CACHE_SECONDS", 300)
    auth.login(user=figures["district"])
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-testid="found">5<' in page and "Figures as of" in page
    assert "every 5 minutes" in page
    assert 'data-testid="found">3<' in client.get("/dashboard/?town=SY").get_data(as_text=True)
    assert csv_rows(client.get("/dashboard/towns?format=csv"))["山阳镇"][0] == "3"
    issue(figures["a"])
    assert 'data-testid="found">5<' in client.get("/dashboard/").get_data(as_text=True)
    assert 'data-testid="found">3<' in client.get("/dashboard/?town=SY").get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    # those read: the district's, SY's and the towns side by side (not T2's)
    assert "3 dashboard view(s) computed ahead of their readers" in result.output
    assert 'data-testid="found">6<' in client.get("/dashboard/").get_data(as_text=True)
    assert 'data-testid="found">4<' in client.get("/dashboard/?town=SY").get_data(as_text=True)
    assert csv_rows(client.get("/dashboard/towns?format=csv"))["山阳镇"][0] == "4"
    auth.logout()
    auth.login(user=figures["admin_a"])  # the town office's own view is the town's, computed
    assert 'data-testid="found">4<' in client.get("/dashboard/").get_data(as_text=True)


def test_figures_without_a_reachable_cache_are_read_live(app, client, auth, figures,
                                                          monkeypatch):
    monkeypatch.setitem(app.config, "DASHBOARD_CACHE_SECONDS", 300)

    def down(*args, **kwargs):
        raise RedisError("Connection refused")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)
    auth.login(user=figures["district"])
    assert 'data-testid="found">5<' in client.get("/dashboard/").get_data(as_text=True)
    issue(figures["b"])
    assert 'data-testid="found">6<' in client.get("/dashboard/").get_data(as_text=True)


def test_tick_computes_no_dashboard_without_a_cache(app):
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0 and "0 dashboard view(s)" in result.output
