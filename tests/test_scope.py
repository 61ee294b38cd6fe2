"""Roles and scope: everybody sees only their own grids, 村居 and admin screens."""
import pytest

from volunteer.auth.models import OneTimeCode
from volunteer.auth.permissions import can_manage, can_see
from volunteer.extensions import db
from volunteer.org.models import Grid


@pytest.fixture
def two_villages(factory):
    a, b = factory.village(code="VA"), factory.village(code="VB")
    return {"a": a, "b": b, "ga": factory.grid(a, code="VA-01"), "ga2": factory.grid(a, code="VA-02"),
            "gb": factory.grid(b, code="VB-01")}


def test_grid_leader_cannot_open_another_villages_grid(client, auth, two_villages):
    auth.login("grid_leader", two_villages["ga"])
    assert client.get("/org/grids/VA-01").status_code == 200
    assert client.get("/org/grids/VB-01").status_code == 403
    assert client.get("/org/grids/VB-01/edit").status_code == 403
    assert client.get("/org/villages/VB").status_code == 403
    body = client.get("/org/").get_data(as_text=True)
    assert "VA-01" in body and "VB-01" not in body


def test_grid_leader_edits_own_grid_only(client, auth, two_villages):
    auth.login("grid_leader", two_villages["ga"])
    resp = client.post("/org/grids/VA-01/edit", data={"name": "滨河网格", "households": "310",
                                                      "lat": "30.76", "lon": "121.35"})
    assert resp.status_code == 302
    assert db.session.get(Grid, two_villages["ga"].id).name == "滨河网格"
    assert client.post("/org/grids/VA-02/edit", data={"name": "x", "households": "1", "lat": "1",
                                                       "lon": "1"}).status_code == 403
    assert db.session.get(Grid, two_villages["ga2"].id).name != "x"


@pytest.mark.parametrize("field,value", [("name", ""), ("name", "<script>x</script>"),
                                         ("name", "x" * 10000), ("households", "-1"),
                                         ("households", "abc"), ("lat", "91"), ("lon", "-181"),
                                         ("lat", "")])
def test_grid_edit_bad_input(client, auth, two_villages, field, value):
    if field in ("lat", "lon"):  # only the 村居's admins move a grid
        auth.login("village_admin", two_villages["a"])
    else:
        auth.login("grid_leader", two_villages["ga"])
    data = {"name": "新名", "households": "300", "lat": "30.76", "lon": "121.35", field: value}
    resp = client.post("/org/grids/VA-01/edit", data=data)
    assert resp.status_code == 200
    assert "invalid-feedback" in resp.get_data(as_text=True)
    assert db.session.get(Grid, two_villages["ga"].id).name != "新名"


def test_instructor_sees_but_does_not_edit(client, auth, two_villages):
    auth.login("grid_instructor", two_villages["ga"])
    assert client.get("/org/grids/VA-01").status_code == 200
    assert client.get("/org/grids/VA-01/edit").status_code == 403


def test_village_admin_sees_all_grids_of_their_village(client, auth, two_villages):
    auth.login("village_admin", two_villages["a"])
    assert client.get("/org/villages/VA").status_code == 200
    assert client.get("/org/grids/VA-02").status_code == 200
    assert client.get("/org/grids/VA-02/edit").status_code == 200
    assert client.get("/org/grids/VB-01").status_code == 403


def test_residents_and_visitors_are_kept_out(client, auth, two_villages):
    resp = client.get("/org/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    auth.login("resident")
    assert client.get("/org/").status_code == 403
    assert client.get("/org/grids/VA-01").status_code == 403


def test_admin_screens_only_for_town_admin(client, auth, two_villages):
    resp = client.get("/admin/a_grid/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    auth.login("village_admin", two_villages["a"])
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/a_grid/").status_code == 403
    assert client.get("/admin/a_user/").status_code == 403


def test_unknown_codes_are_404(client, auth):
    auth.login("admin")
    assert client.get("/org/grids/NOPE").status_code == 404
    assert client.get("/org/villages/NOPE").status_code == 404


def test_reset_codes_only_for_people_in_scope(client, auth, factory, two_villages):
    own = factory.user("grid_member", two_villages["ga"])
    other = factory.user("grid_member", two_villages["gb"])
    auth.login("grid_leader", two_villages["ga"])
    assert client.post(f"/org/people/{other.id}/code").status_code == 403
    assert client.post("/org/people/999999/code").status_code == 404
    assert db.session.scalar(db.select(db.func.count(OneTimeCode.id))) == 0
    assert client.post(f"/org/people/{own.id}/code").status_code == 200
    assert db.session.scalar(db.select(db.func.count(OneTimeCode.id))) == 1


def test_can_see_table(factory, two_villages):
    leader = factory.user("grid_leader", two_villages["ga"])
    vadmin = factory.user("village_admin", two_villages["b"])
    admin = factory.user("admin")
    dept = factory.department()
    staff = factory.user("department_staff", dept)
    assert can_see(leader, two_villages["ga"]) and not can_see(leader, two_villages["gb"])
    assert can_see(leader, two_villages["a"]) and not can_see(leader, two_villages["b"])
    assert can_manage(leader, two_villages["ga"]) and not can_manage(leader, two_villages["ga2"])
    assert can_see(vadmin, two_villages["gb"]) and not can_see(vadmin, two_villages["ga"])
    assert can_see(staff, dept) and not can_see(staff, two_villages["ga"])
    assert all(can_see(admin, o) for o in two_villages.values())
    assert not can_see(None, two_villages["ga"])


def test_grid_page_map_honours_the_tile_datum(client, auth, two_villages, app):
    auth.login("grid_leader", two_villages["ga"])
    body = client.get("/org/grids/VA-01").get_data(as_text=True)
    assert 'data-datum="WGS84"' in body and "js/map.js" in body
    app.config["MAP_TILE_DATUM"] = "GCJ02"
    assert 'data-datum="GCJ02"' in client.get("/org/grids/VA-01").get_data(as_text=True)


def test_grid_page_shows_phones_only_of_people_one_manages(client, auth, factory, two_villages):
    """A grid's staff page lists its role holders: in full only those the viewer manages."""
    leader = factory.user("grid_leader", two_villages["ga"], phone="13911110001")
    member = factory.user("grid_member", two_villages["ga"], phone="13911110002")
    auth.login(user=member)
    page = client.get("/org/grids/VA-01").get_data(as_text=True)
    assert leader.phone not in page and "139****0001" in page
    auth.logout()
    auth.login(user=leader)
    page = client.get("/org/grids/VA-01").get_data(as_text=True)
    assert member.phone in page and "139****0001" in page  # oneself: masked like a colleague
    auth.logout()
    auth.login("village_admin", two_villages["a"])
    page = client.get("/org/grids/VA-01").get_data(as_text=True)
    assert member.phone in page and leader.phone in page
