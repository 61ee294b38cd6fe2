"""Several towns under one district: a town's office sees and manages its own town only, the
district's office every town; departments of the district take what a town department sends
up; the command line and the migration keep one-town installations as they were."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from volunteer import policy
from volunteer.auth.models import RoleAssignment, User
from volunteer.extensions import db
from volunteer.issues.models import Issue, IssueCategory
from volunteer.issues.services import Details, IssueError, IssueInput, file_issue, transition
from volunteer.issues.workflow import WorkflowError
from volunteer.org.models import Department, District, Town, Village

from .conftest import PASSWORD


@pytest.fixture
def towns(factory):
    """Town A (the one ``setup`` made) and town B, each with a 村居, a grid, a department and
    an issue; the district has a department of its own."""
    district = db.session.scalar(db.select(District))
    a = db.session.scalar(db.select(Town))
    b = Town(code="T2", name="第二镇", district=district, lat=30.70, lon=121.20)
    db.session.add(b)
    db.session.commit()
    va = factory.village(code="VA", name="甲村")
    vb = Village(town=b, code="VB", name="乙村", lat=30.70, lon=121.20)
    db.session.add(vb)
    db.session.commit()
    ga = factory.grid(va, code="VA-01", lat=30.757, lon=121.353)
    gb = factory.grid(vb, code="VB-01", lat=30.700, lon=121.200)
    da = Department(code="DA", name="城管中队", town=a)
    db_ = Department(code="DB", name="城管中队", town=b)
    dd = Department(code="DD", name="区城管执法局", district=district)
    db.session.add_all([da, db_, dd])
    category = db.session.scalar(db.select(IssueCategory).where(IssueCategory.code == "facilities"))
    category.default_department = da  # town A's office: town B's of that name stands in
    db.session.commit()
    resident = factory.user("resident", name="居民")
    ia = file_issue(resident, IssueInput(title="甲镇路灯", description="不亮", category="facilities",
                                         lat=30.7571, lon=121.3531))
    ib = file_issue(resident, IssueInput(title="乙镇井盖", description="缺失", category="facilities",
                                         lat=30.7001, lon=121.2001))
    db.session.commit()
    return {"district": district, "a": a, "b": b, "va": va, "vb": vb, "ga": ga, "gb": gb,
            "da": da, "db": db_, "dd": dd, "ia": ia, "ib": ib,
            "admin_a": factory.user("admin", a, name="甲镇网格办"),
            "admin_b": factory.user("admin", b, name="乙镇网格办"),
            "district_admin": factory.user("district_admin", name="区网格办"),
            "vol_b": factory.volunteer(name="乙镇志愿者", skills=("electrician",), grid=gb,
                                       lat=30.7002, lon=121.2002)}


def login(client, user):
    resp = client.post("/auth/login", data={"login": user.phone, "password": PASSWORD})
    assert resp.status_code == 302


def test_policy_scopes(towns):
    a, b = towns["a"], towns["b"]
    assert policy.town_ids(towns["admin_a"]) == {a.id}
    assert policy.town_ids(towns["district_admin"]) is None
    assert policy.office_villages(towns["admin_a"]) == {towns["va"].id}
    assert policy.covers_town(towns["admin_a"], a.id)
    assert not policy.covers_town(towns["admin_a"], b.id)
    assert policy.may_see(towns["admin_a"], towns["ga"])
    assert not policy.may_see(towns["admin_a"], towns["gb"])
    assert not policy.may_manage(towns["admin_a"], towns["vb"])
    assert policy.may_manage(towns["district_admin"], towns["vb"])
    vol_b = towns["vol_b"]
    assert not policy.may_manage_person(towns["admin_a"], vol_b)
    assert policy.may_manage_person(towns["admin_b"], vol_b)
    assert policy.may_manage_person(towns["district_admin"], vol_b)
    # A town's admin never acts on another office's account, nor on the district's.
    assert not policy.may_manage_person(towns["admin_b"], towns["admin_a"])
    assert not policy.may_manage_person(towns["admin_a"], towns["district_admin"])
    assert not policy.may_see_person(towns["admin_a"], vol_b.profile)
    assert policy.may_see_person(towns["admin_b"], vol_b.profile)
    # Only the office of everything keeps shared data, the outbox and the matcher's weights.
    for check in (policy.may_keep_reference_data, policy.may_run_outbox,
                  policy.may_tune_matcher, policy.may_compare_towns):
        assert not check(towns["admin_a"]) and check(towns["district_admin"])


def test_town_admin_of_the_only_town_still_runs_everything(factory):
    admin = factory.user("admin")
    town = db.session.scalar(db.select(Town))
    assert admin.roles[0].town_id == town.id
    assert policy.town_ids(admin) is None and policy.may_keep_reference_data(admin)


def test_town_admin_sees_only_their_towns_issues(client, towns):
    login(client, towns["admin_a"])
    for queue in ("grid", "village", "department"):
        body = client.get(f"/issues/?queue={queue}").get_data(as_text=True)
        assert "乙镇井盖" not in body, queue
    assert "甲镇路灯" in client.get("/issues/?queue=village").get_data(as_text=True)
    assert client.get(f"/issues/{towns['ia'].id}").status_code == 200
    assert client.get(f"/issues/{towns['ib'].id}").status_code in (403, 404)
    resp = client.post(f"/issues/{towns['ib'].id}/act",
                       data={"action": "accept", "version": towns["ib"].version})
    assert resp.status_code in (403, 404)
    assert db.session.get(Issue, towns["ib"].id).status == "reported"


def test_town_admin_sees_only_their_towns_places_and_people(client, towns):
    login(client, towns["admin_a"])
    overview = client.get("/org/").get_data(as_text=True)
    assert "VA-01" in overview and "VB-01" not in overview
    assert client.get("/org/grids/VB-01").status_code == 403
    staff = client.get("/volunteers/").get_data(as_text=True)
    assert "乙镇志愿者" not in staff
    assert client.get(f"/volunteers/{towns['vol_b'].id}").status_code in (403, 404)


def test_admin_screens_follow_the_town(client, towns):
    login(client, towns["admin_a"])
    villages = client.get("/admin/a_village/").get_data(as_text=True)
    assert "甲村" in villages and "乙村" not in villages
    assert client.get(f"/admin/a_village/edit/?id={towns['vb'].id}").status_code == 404
    assert client.get(f"/admin/a_department/details/?id={towns['db'].id}").status_code == 404
    grids = client.get("/admin/a_grid/").get_data(as_text=True)
    assert "VA-01" in grids and "VB-01" not in grids
    # Changing another town's row through the form is refused and changes nothing.
    resp = client.post(f"/admin/a_village/edit/?id={towns['vb'].id}",
                       data={"code": "VB", "name": "改名", "kind": "village"})
    assert resp.status_code == 404
    assert db.session.get(Village, towns["vb"].id).name == "乙村"
    # A new village can only be put in one's own town.
    form = client.get("/admin/a_village/new/").get_data(as_text=True)
    assert "第二镇" not in form
    for shared in ("/admin/a_user/", "/admin/a_skill/", "/admin/outbox/",
                   "/admin/matching/", "/admin/a_town/", "/admin/a_district/"):
        assert client.get(shared).status_code == 403, shared
    home = client.get("/admin/").get_data(as_text=True)
    assert "matching-link" not in home


def role_form(user, role, **scope):
    data = {"user": str(user.id), "role": role, "village": "__None", "department": "__None",
            "town": "__None", "district": "__None", "grid": ""}
    return {**data, **{k: str(v.id) for k, v in scope.items()}}


def roles_of(user) -> set[tuple]:
    db.session.expire_all()
    return {(a.role, a.grid_id, a.village_id, a.town_id)
            for a in db.session.scalars(sa.select(RoleAssignment)
                                        .where(RoleAssignment.user_id == user.id))}


def test_town_office_assigns_roles_in_its_own_town_only(client, factory, towns):
    """A town's office lists, grants, moves and takes back the roles below its own in its
    town; another town's roles, and the offices' own, are out of its reach."""
    leader_a = factory.user("grid_leader", towns["ga"], name="甲镇组长")
    leader_b = factory.user("grid_leader", towns["gb"], name="乙镇组长")
    resident = factory.user("resident", name="新网格员")
    login(client, towns["admin_a"])
    listed = client.get("/admin/a_role/").get_data(as_text=True)
    assert "甲镇组长" in listed
    for other in ("乙镇组长", "乙镇网格办", "区网格办", "甲镇网格办"):
        assert other not in listed, other
    b_role = leader_b.roles[0].id
    assert client.get(f"/admin/a_role/edit/?id={b_role}").status_code == 404
    assert client.post("/admin/a_role/delete/", data={"id": str(b_role)}).status_code == 404
    assert db.session.get(RoleAssignment, b_role) is not None
    form = client.get("/admin/a_role/new/").get_data(as_text=True)
    assert 'value="district_admin"' not in form and 'value="admin"' not in form
    assert "第二镇" not in form and "乙村" not in form
    # Granted in its own town: done.
    resp = client.post("/admin/a_role/new/", data=role_form(resident, "grid_member",
                                                            grid=towns["ga"]))
    assert resp.status_code == 302
    assert roles_of(resident) == {("resident", None, None, None),
                                  ("grid_member", towns["ga"].id, None, None)}
    # In another town, or an office's role: refused, nothing written.
    for data in (role_form(resident, "grid_member", grid=towns["gb"]),
                 role_form(resident, "village_admin", village=towns["vb"]),
                 role_form(resident, "admin", town=towns["a"]),
                 role_form(resident, "district_admin", district=towns["district"])):
        assert client.post("/admin/a_role/new/", data=data).status_code == 200, data["role"]
    assert len(roles_of(resident)) == 2
    # Moving one of its own leaders into the other town is refused too.
    a_role = leader_a.roles[0].id
    resp = client.post(f"/admin/a_role/edit/?id={a_role}",
                       data=role_form(leader_a, "grid_leader", grid=towns["gb"]))
    assert resp.status_code == 200
    assert db.session.get(RoleAssignment, a_role).grid_id == towns["ga"].id


def test_town_office_finds_people_of_its_town_or_by_their_whole_number(client, factory, towns):
    factory.user("grid_leader", towns["gb"], name="乙镇组长", phone="13911110002")
    stranger = factory.user("resident", name="外镇居民", phone="13911110003")
    login(client, towns["admin_a"])

    def lookup(query):
        resp = client.get("/admin/a_role/ajax/lookup/", query_string={"name": "user",
                                                                      "query": query})
        return resp.get_json()

    assert lookup("乙镇") == [] and lookup("139111100") == []
    # Found by the whole number only, and masked: the number tells no name.
    assert lookup("13911110003") == [[stranger.id, "外*** (139****0003)"]]
    assert lookup("139 1111 0003") == lookup("13911110003")


def test_town_office_keeps_the_accounts_of_its_own_people(client, factory, towns):
    vol_a = factory.volunteer(name="甲镇志愿者", skills=("electrician",), grid=towns["ga"],
                              lat=30.7571, lon=121.3531)
    login(client, towns["admin_a"])
    assert client.get("/admin/a_user/").status_code == 403
    listed = client.get("/admin/town_user/").get_data(as_text=True)
    assert "甲镇志愿者" in listed and "乙镇志愿者" not in listed
    assert client.get(f"/admin/town_user/edit/?id={towns['vol_b'].id}").status_code == 404
    assert client.get(f"/admin/town_user/edit/?id={towns['admin_b'].id}").status_code == 404
    resp = client.post(f"/admin/town_user/edit/?id={vol_a.id}",
                       data={"name": "甲镇电工", "phone": vol_a.phone, "email": "",
                             "active": "y", "new_password": ""})
    assert resp.status_code == 302
    assert db.session.get(User, vol_a.id).name == "甲镇电工"
    resp = client.post(f"/admin/town_user/edit/?id={towns['vol_b'].id}",
                       data={"name": "改名", "phone": towns["vol_b"].phone, "email": "",
                             "active": "y", "new_password": ""})
    assert resp.status_code == 404
    assert db.session.get(User, towns["vol_b"].id).name == "乙镇志愿者"
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    client.post("/admin/town_user/new/", data={"name": "新账号", "phone": "13911110009",
                                               "email": "", "active": "y"})
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before
    # The office of everything keeps every account on its own screen.
    client.post("/auth/logout")
    login(client, towns["district_admin"])
    assert client.get("/admin/town_user/").status_code == 403
    assert client.get("/admin/a_user/").status_code == 200


def test_district_admin_sees_every_town(client, towns):
    login(client, towns["district_admin"])
    body = client.get("/issues/?queue=village").get_data(as_text=True)
    assert "甲镇路灯" in body and "乙镇井盖" in body
    villages = client.get("/admin/a_village/").get_data(as_text=True)
    assert "甲村" in villages and "乙村" in villages
    assert client.get("/admin/a_town/").status_code == 200
    assert client.get("/admin/a_user/").status_code == 200


def test_escalation_to_the_district_and_back(towns, factory):
    issue = towns["ib"]
    leader = factory.user("grid_leader", towns["gb"])
    vadmin = factory.user("village_admin", towns["vb"])
    staff_b = factory.user("department_staff", towns["db"])
    staff_d = factory.user("department_staff", towns["dd"])
    transition(leader, issue, "escalate", Details(comment="需村居协调"))
    db.session.commit()
    with pytest.raises(IssueError):  # another town's department does not take it
        transition(vadmin, issue, "escalate", Details(department_id=towns["da"].id))
    db.session.rollback()
    issue = db.session.get(Issue, issue.id)
    transition(vadmin, issue, "escalate")  # the category's department, of this town
    assert (issue.tier, issue.department_id) == ("department", towns["db"].id)
    db.session.commit()
    with pytest.raises(IssueError):  # a town department is not the district's
        transition(staff_b, issue, "escalate", Details(department_id=towns["db"].id))
    db.session.rollback()
    issue = db.session.get(Issue, issue.id)
    transition(staff_b, issue, "escalate", Details(department_id=towns["dd"].id))
    assert (issue.tier, issue.department_id) == ("district", towns["dd"].id)
    db.session.commit()
    assert issue.id in {i.id for i in db.session.scalars(
        db.select(Issue).where(policy_clause(staff_d)))}
    with pytest.raises(WorkflowError):  # the town office does not send it back down
        transition(towns["admin_b"], issue, "return", Details(comment="x"))
    transition(staff_d, issue, "return", Details(comment="属地处置"))
    assert (issue.tier, issue.department_id) == ("department", towns["db"].id)


def policy_clause(user):
    from volunteer.issues.services import visible_clause

    return visible_clause(user)


def test_a_department_of_another_town_is_not_routed_to(towns, factory):
    resident = factory.user("resident")
    issue = file_issue(resident, IssueInput(title="订单", description="x", category="facilities",
                                            lat=30.7571, lon=121.3531,
                                            department_id=towns["db"].id))
    assert (issue.tier, issue.department_id) == ("grid", None)


def test_suggestions_say_when_a_volunteer_is_from_the_next_town(towns, factory):
    from volunteer.matching import store
    from volunteer.matching.matcher import Query

    factory.volunteer(name="甲镇电工", skills=("electrician",), grid=towns["ga"], lat=30.7571,
                      lon=121.3531)
    store.forget()
    matcher = store.get_matcher()
    # A need at the border of town A, a volunteer of town B 600 m away and one of A's own.
    q = Query(lat=30.7045, lon=121.2045, skills=["electrician"], town_id=towns["a"].id,
              village_id=towns["va"].id)
    result = matcher.match(q)
    by_user = {s.user_id: [c for c, _p in s.reasons] for s in result.suggestions}
    assert "other_town" in by_user[towns["vol_b"].id]
    own = [uid for uid in by_user if uid != towns["vol_b"].id]
    assert all("other_town" not in by_user[uid] for uid in own)


def test_create_user_needs_the_town_once_there_are_several(runner, towns):
    args = ["create-user", "--phone", "13700000001", "--name", "新管理员", "--password",
            "longpassword1", "--role", "admin"]
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and "--scope" in result.output
    result = runner.invoke(args=[*args, "--scope", "T2"])
    assert result.exit_code == 0, result.output
    a = db.session.scalar(db.select(RoleAssignment).where(RoleAssignment.town_id == towns["b"].id))
    assert a is not None and a.role == "admin"
    result = runner.invoke(args=["create-user", "--phone", "13700000002", "--name", "区管理员",
                                 "--password", "longpassword1", "--role", "district_admin"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=[*args[:2], "13700000003", *args[3:], "--scope", "NOPE"])
    assert result.exit_code != 0 and "NOPE" in result.output


def test_import_scoped_to_a_town_stays_in_that_town(runner, towns, tmp_path):
    """``import-volunteers --scope <town code>`` imports as that town's office: into its 村居,
    updating only people who stand in the town; a 村居 code still scopes to the 村居."""
    path = tmp_path / "v.csv"

    def run(rows, *args):
        path.write_text("name,phone,skills,lat,lon,grid\n"
                        + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
        return runner.invoke(args=["import-volunteers", str(path), *args])

    vol_b = towns["vol_b"]
    result = run([["新人", "13700000011", "电工", "", "", "VA-01"],
                  ["改名", vol_b.phone, "电工", "", "", "VB-01"]], "--scope", "T2")
    assert result.exit_code != 0
    assert "line 2: grid:" in result.output  # town A's grid
    assert "line 3:" not in result.output  # town B's volunteer: town B's office may update
    db.session.expire_all()
    assert db.session.scalar(sa.select(User).where(User.phone == "13700000011")) is None
    ok = run([["新人", "13700000011", "电工", "", "", "VB-01"],
              ["改名", vol_b.phone, "电工", "", "", "VB-01"]], "--scope", "T2")
    assert ok.exit_code == 0, ok.output
    db.session.expire_all()
    assert db.session.get(User, vol_b.id).name == "改名"
    # Town A's office may neither import into town B nor update its volunteer.
    result = run([["再改", vol_b.phone, "电工", "", "", "VA-01"]], "--scope", towns["a"].code)
    assert result.exit_code != 0 and "line 2: phone:" in result.output
    assert "no town or 村居" in run([["甲", "13700000012", "电工", "", "", "VA-01"]],
                                   "--scope", "NOPE").output


def test_migration_moves_a_one_town_installation_into_a_district(tmp_path, database_url):
    """An installation made before districts, with its town admin, departments and service
    items, comes out of the migration whole: one district, its town in it, everything the
    town's."""
    from flask_migrate import upgrade

    from volunteer import create_app

    url = database_url
    backend = sa.engine.make_url(url).get_backend_name()
    if backend == "postgresql":
        url = _fresh_postgres(url, "mig18")
    else:
        url = "sqlite:///" + str(tmp_path / "old.sqlite3")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade(directory=directory, revision="0017_match_weight_set")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO town (id, code, name) VALUES (1, 'SY', '山阳镇')"))
            conn.execute(sa.text(
                "INSERT INTO \"user\" (id, name, phone, active, large_text, created_at, "
                "session_version) VALUES (1, '管理员', '13800000001', true, false, "
                "CURRENT_TIMESTAMP, 0)"))
            conn.execute(sa.text("INSERT INTO role_assignment (user_id, role, created_at) "
                                 "VALUES (1, 'admin', CURRENT_TIMESTAMP)"))
            conn.execute(sa.text("INSERT INTO department (id, code, name) VALUES (1, 'D01', "
                                 "'城管中队')"))
            conn.execute(sa.text("INSERT INTO service_item (code, name, active, created_at) "
                                 "VALUES ('S01', '义诊', true, CURRENT_TIMESTAMP)"))
        upgrade(directory=directory)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT code FROM district")).scalars().all() == ["JS"]
            assert conn.execute(sa.text("SELECT district_id FROM town")).scalar() is not None
            assert conn.execute(sa.text("SELECT town_id FROM role_assignment")).scalar() == 1
            assert conn.execute(sa.text("SELECT town_id FROM department")).scalar() == 1
            assert conn.execute(sa.text("SELECT town_id FROM service_item")).scalar() == 1
        db.engine.dispose()


def _fresh_postgres(url: str, suffix: str) -> str:
    base = sa.engine.make_url(url)
    name = f"{base.database}_{suffix}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)
