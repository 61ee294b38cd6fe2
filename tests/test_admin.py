"""Town admin screens (Flask-Admin): reference data and people, with validation and CSRF."""
import re

import pytest

from volunteer.auth.models import RoleAssignment, User
from volunteer.extensions import db
from volunteer.org.models import Grid, Village

from .conftest import PASSWORD

SCREENS = ["/admin/", "/admin/a_village/", "/admin/a_grid/", "/admin/a_gridpoint/",
           "/admin/a_department/", "/admin/a_user/", "/admin/a_role/", "/admin/a_serviceitem/",
           "/admin/a_skill/", "/admin/a_skillcategory/", "/admin/a_village/new/",
           "/admin/a_grid/new/", "/admin/a_gridpoint/new/", "/admin/a_department/new/",
           "/admin/a_user/new/", "/admin/a_role/new/", "/admin/a_serviceitem/new/",
           "/admin/a_skill/new/", "/admin/a_issuecategory/", "/admin/a_issuecategory/new/",
           "/admin/a_urgency/", "/admin/a_workunit/", "/admin/a_contactview/",
           "/admin/a_district/", "/admin/a_town/", "/admin/a_town/new/"]


@pytest.mark.parametrize("path", SCREENS)
def test_every_screen_renders_in_both_languages(client, auth, factory, path):
    factory.grid()
    auth.login("admin")
    assert client.get(path).status_code == 200
    client.post("/lang/en")
    assert client.get(path).status_code == 200


def _csrf(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


@pytest.fixture
def csrf_client(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    admin = factory.user("admin")
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"login": admin.phone, "password": PASSWORD,
                                     "csrf_token": token})
    return client


def test_admin_creates_a_village_with_csrf(csrf_client):
    from volunteer.org.models import Town

    town = db.session.scalar(db.select(Town))
    token = _csrf(csrf_client, "/admin/a_village/new/")
    data = {"town": str(town.id), "code": "SY99", "name": "新建村", "kind": "village",
            "address": "", "lat": "", "lon": ""}
    resp = csrf_client.post("/admin/a_village/new/", data=data)
    assert resp.status_code == 400  # no token
    assert db.session.scalar(db.select(Village).where(Village.code == "SY99")) is None
    resp = csrf_client.post("/admin/a_village/new/", data={**data, "csrf_token": token})
    assert resp.status_code == 302
    assert db.session.scalar(db.select(Village).where(Village.code == "SY99")).name == "新建村"


def test_moving_a_grid_leader(client, auth, factory):
    a, b = factory.grid(code="A-01"), factory.grid(code="B-01")
    leader = factory.user("grid_leader", a)
    auth.login("admin")
    assignment = leader.roles[0]
    resp = client.post(f"/admin/a_role/edit/?id={assignment.id}", data={
        "user": str(leader.id), "role": "grid_leader", "grid": str(b.id), "village": "__None",
        "department": "__None"})
    assert resp.status_code == 302
    assert db.session.get(RoleAssignment, assignment.id).grid_id == b.id


@pytest.mark.parametrize("role,scope", [("grid_leader", None), ("village_admin", "grid"),
                                        ("admin", "grid"), ("king", None)])
def test_role_with_wrong_scope_is_refused(client, auth, factory, role, scope):
    grid = factory.grid()
    person = factory.user()
    auth.login("admin")
    before = db.session.scalar(db.select(db.func.count(RoleAssignment.id)))
    resp = client.post("/admin/a_role/new/", data={
        "user": str(person.id), "role": role, "grid": str(grid.id) if scope else "",
        "village": "__None", "department": "__None"})
    assert resp.status_code == 200
    assert db.session.scalar(db.select(db.func.count(RoleAssignment.id))) == before


@pytest.mark.parametrize("field,value", [("name", ""), ("name", "<script>alert(1)</script>"),
                                         ("name", "王" * 51), ("phone", "12345"),
                                         ("email", "nope"), ("new_password", "short")])
def test_user_form_bad_input(client, auth, field, value):
    auth.login("admin")
    before = db.session.scalar(db.select(db.func.count(User.id)))
    data = {"name": "刘备", "phone": "13855556666", "email": "", "active": "y",
            "new_password": "", field: value}
    resp = client.post("/admin/a_user/new/", data=data)
    assert resp.status_code == 200
    assert db.session.scalar(db.select(db.func.count(User.id))) == before


def test_user_form_duplicate_phone(client, auth, factory):
    factory.user(phone="13855556666")
    auth.login("admin")
    resp = client.post("/admin/a_user/new/", data={"name": "刘备", "phone": "13855556666",
                                                   "email": "", "active": "y"})
    assert resp.status_code == 200
    assert db.session.scalar(db.select(db.func.count(User.id))
                             .where(User.phone == "13855556666")) == 1


def test_admin_creates_user_with_password(client, auth):
    auth.login("admin")
    resp = client.post("/admin/a_user/new/", data={"name": "关羽", "phone": "13855557777",
                                                   "email": "", "active": "y",
                                                   "new_password": "guan12345"})
    assert resp.status_code == 302
    auth.logout()
    assert client.post("/auth/login", data={"login": "13855557777", "password": "guan12345"}) \
        .status_code == 302


def test_grid_with_out_of_range_centroid(client, auth, factory):
    village = factory.village()
    auth.login("admin")
    resp = client.post("/admin/a_grid/new/", data={"village": str(village.id), "code": "X-1",
                                                   "name": "x", "lat": "95", "lon": "121",
                                                   "households": "10", "boundary": ""})
    assert resp.status_code == 200
    assert db.session.scalar(db.select(Grid).where(Grid.code == "X-1")) is None


def test_admin_edits_deadline_hours(client, auth):
    from volunteer.issues.models import UrgencyLevel

    auth.login("admin")
    level = db.session.scalar(db.select(UrgencyLevel).where(UrgencyLevel.code == "high"))
    resp = client.post(f"/admin/a_urgency/edit/?id={level.id}",
                       data={"name_zh": "紧急", "name_en": "High", "hours": "12"})
    assert resp.status_code == 302
    assert db.session.get(UrgencyLevel, level.id).hours == 12
    resp = client.post(f"/admin/a_urgency/edit/?id={level.id}",
                       data={"name_zh": "紧急", "name_en": "High", "hours": "-5"})
    assert resp.status_code == 200
    assert db.session.get(UrgencyLevel, level.id).hours == 12


def test_admin_password_reset_ends_sessions_and_revokes_tokens(app, client, auth, factory):
    """A password set on the town admin's screen is a reset like any other: the person's
    sessions end and their API tokens stop working."""
    from volunteer.auth.services import create_token

    person = factory.user("resident", name="张飞")
    token = create_token(person, "script")
    db.session.commit()
    device = app.test_client()
    device.post("/auth/login", data={"login": person.phone, "password": PASSWORD})
    assert device.get("/auth/tokens").status_code == 200
    auth.login("admin")
    resp = client.post(f"/admin/a_user/edit/?id={person.id}", data={
        "name": "张飞", "phone": person.phone, "email": "", "active": "y",
        "new_password": "zhang12345"})
    assert resp.status_code == 302
    assert device.get("/auth/tokens").status_code == 302  # back to the login page
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}) \
        .status_code == 401
