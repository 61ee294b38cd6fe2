"""Accounts under attack (issue 13): reset codes up the ranks, sessions and tokens that outlive
logout or a new password, rate limits per account and address, input rules in the API, mail and
CLI, the source of an issue, and absurd API bodies."""
import pytest

from volunteer.auth.models import ApiToken, OneTimeCode, User
from volunteer.auth.services import create_token, grant_role, issue_code
from volunteer.extensions import db
from volunteer.issues.models import Issue
from volunteer.issues.services import IssueInput, file_issue
from volunteer.outbox.channels import captured as outbox
from volunteer.outbox.channels import message

from .conftest import PASSWORD

NEW = "fresh1234"


def bearer(value):
    return {"Authorization": f"Bearer {value}"}


def token_for(user) -> str:
    value = create_token(user, "script")
    db.session.commit()
    return value


def live_tokens(user) -> int:
    return db.session.scalar(db.select(db.func.count(ApiToken.id)).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))


def codes() -> int:
    return db.session.scalar(db.select(db.func.count(OneTimeCode.id)))


def logged_in(client) -> bool:
    """A page that needs a login answers (and does not send to the login page)."""
    return client.get("/auth/tokens").status_code == 200


# --- 2. reset codes up the ranks --------------------------------------------------------------

@pytest.fixture
def ranks(factory):
    """A grid whose leader has, among the people of the grid, the town admin (who volunteers
    there), a village admin (who is also a member there) and an instructor of another 村居
    (who lives there)."""
    village = factory.village()
    grid = factory.grid(village)
    other = factory.grid(factory.village())
    admin = factory.volunteer("镇管理员", ["plumber"], grid=grid)
    grant_role(admin, "admin")
    grant_role(admin, "grid_member", grid)
    village_admin = factory.user("village_admin", village, name="总网格长")
    grant_role(village_admin, "grid_member", grid)
    instructor = factory.volunteer("外村指导员", ["plumber"], grid=grid)
    grant_role(instructor, "grid_instructor", other)
    member = factory.user("grid_member", grid, name="网格员")
    db.session.commit()
    return {"grid": grid, "village": village, "admin": admin, "village_admin": village_admin,
            "instructor": instructor, "member": member}


@pytest.mark.parametrize("who", ["admin", "village_admin", "instructor"])
def test_grid_leader_gets_no_code_for_anyone_above_or_outside(client, auth, ranks, who):
    auth.login("grid_leader", ranks["grid"])
    resp = client.post(f"/org/people/{ranks[who].id}/code")
    assert resp.status_code == 403
    assert codes() == 0


def test_village_admin_gets_no_code_for_the_town_admin(client, auth, ranks):
    auth.login(user=ranks["village_admin"])
    assert client.post(f"/org/people/{ranks['admin'].id}/code").status_code == 403
    assert client.post(f"/org/people/{ranks['member'].id}/code").status_code == 200
    assert codes() == 1


def test_town_admin_gets_no_code_for_their_own_or_another_admins_account(client, auth, ranks,
                                                                          factory):
    auth.login(user=ranks["admin"])
    other_admin = factory.user("admin")
    assert client.post(f"/org/people/{ranks['admin'].id}/code").status_code == 403
    assert client.post(f"/org/people/{other_admin.id}/code").status_code == 403
    assert client.post(f"/org/people/{ranks['village_admin'].id}/code").status_code == 200


def test_code_buttons_ask_the_same_rule(client, auth, ranks, english):
    auth.login("grid_leader", ranks["grid"])
    page = client.get(f"/org/grids/{ranks['grid'].code}").get_data(as_text=True)
    assert f"/org/people/{ranks['member'].id}/code" in page
    for who in ("admin", "village_admin"):
        assert f"/org/people/{ranks[who].id}/code" not in page
    page = client.get(f"/volunteers/{ranks['admin'].id}").get_data(as_text=True)
    assert client.get(f"/volunteers/{ranks['admin'].id}").status_code == 200
    assert f"/org/people/{ranks['admin'].id}/code" not in page


# --- 10. sessions and tokens ------------------------------------------------------------------

def copy_cookies(source, target, *names):
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, name
        target.set_cookie(name, cookie.value)


def test_logout_ends_a_copied_session_cookie(app, client, auth):
    auth.login()
    thief = app.test_client()
    copy_cookies(client, thief, "session")
    assert logged_in(thief)
    auth.logout()
    assert not logged_in(thief)
    assert not logged_in(client)


def test_logout_ends_a_copied_remember_cookie(app, client, factory):
    user = factory.user()
    client.post("/auth/login", data={"login": user.phone, "password": PASSWORD,
                                     "remember": "y"})
    thief = app.test_client()
    copy_cookies(client, thief, "remember_token")
    assert logged_in(thief)  # the remember cookie alone logs in
    thief2 = app.test_client()
    copy_cookies(client, thief2, "remember_token")
    client.post("/auth/logout")
    assert not logged_in(thief2)


def test_password_change_ends_other_sessions_and_remember_cookies(app, client, factory):
    user = factory.user()
    other = app.test_client()
    other.post("/auth/login", data={"login": user.phone, "password": PASSWORD, "remember": "y"})
    stolen = app.test_client()
    copy_cookies(other, stolen, "remember_token")
    client.post("/auth/login", data={"login": user.phone, "password": PASSWORD})
    resp = client.post("/auth/password", data={"current": PASSWORD, "password": NEW,
                                               "confirm": NEW})
    assert resp.status_code == 302
    assert logged_in(client)  # this session goes on
    assert not logged_in(other) and not logged_in(stolen)


def test_password_change_asks_about_tokens_and_revokes_them_by_default(client, auth, english):
    user = auth.login()
    assert "revoke my API tokens" not in client.get("/auth/password").get_data(as_text=True)
    value = token_for(user)
    page = client.get("/auth/password").get_data(as_text=True)
    assert "revoke my API tokens" in page
    before, after = page.split('name="revoke_tokens"')
    assert "checked" in before.rsplit("<input", 1)[1] + after.split(">", 1)[0]  # ticked
    resp = client.post("/auth/password", data={"current": PASSWORD, "password": NEW,
                                               "confirm": NEW, "revoke_tokens": "y"})
    assert resp.status_code == 302
    assert client.get("/api/v1/me", headers=bearer(value)).status_code == 401
    assert live_tokens(user) == 0


def test_password_change_may_keep_the_tokens(client, auth):
    user = auth.login()
    value = token_for(user)
    resp = client.post("/auth/password", data={"current": PASSWORD, "password": NEW,
                                               "confirm": NEW})  # box unticked
    assert resp.status_code == 302
    assert client.get("/api/v1/me", headers=bearer(value)).status_code == 200


def test_reset_with_a_code_ends_sessions_and_revokes_tokens(app, client, factory):
    user = factory.user()
    value = token_for(user)
    other = app.test_client()
    other.post("/auth/login", data={"login": user.phone, "password": PASSWORD, "remember": "y"})
    code = issue_code(user, "reset", None)
    db.session.commit()
    resp = client.post("/auth/reset", data={"phone": user.phone, "code": code, "password": NEW,
                                            "confirm": NEW})
    assert resp.status_code == 302
    assert not logged_in(other)
    assert client.get("/api/v1/me", headers=bearer(value)).status_code == 401


def test_reset_by_mailed_link_revokes_tokens(app, client, factory):
    app.config["MAIL_SERVER"] = "smtp.test"
    user = factory.user(email="doc@example.com")
    value = token_for(user)
    outbox.clear()
    client.post("/auth/forgot", data={"login": "doc@example.com"})
    link = [w for w in outbox[0].get_content().split() if "/auth/reset/" in w][0]
    resp = client.post(link[link.index("/auth/reset/"):], data={"password": NEW, "confirm": NEW})
    assert resp.status_code == 302
    assert client.get("/api/v1/me", headers=bearer(value)).status_code == 401


def test_deactivated_account_loses_its_session(client, auth):
    user = auth.login()
    user.active = False
    db.session.commit()
    assert not logged_in(client)


# --- 11. rate limits --------------------------------------------------------------------------

def login(client, login, password="wrong1234", addr="10.0.0.1", **headers):
    return client.post("/auth/login", data={"login": login, "password": password},
                       environ_base={"REMOTE_ADDR": addr}, headers=headers).status_code


@pytest.fixture
def limited(make_app):
    def build(**config):
        app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", **config)
        return app
    return build


def test_failed_logins_lock_the_account_not_the_address(limited, factory):
    app = limited()
    victim, neighbour = factory.user(), factory.user()
    client = app.test_client()
    assert [login(client, victim.phone) for _ in range(10)] == [200] * 10
    assert login(client, victim.phone, PASSWORD) == 429
    assert login(client, "+86 " + victim.phone, addr="10.9.9.9") == 429  # the account, anywhere
    # Others behind the same address still log in.
    assert login(app.test_client(), neighbour.phone, PASSWORD) == 302


def test_failed_logins_per_address_and_successes_do_not_count(limited, factory):
    app = limited(RATELIMIT_LOGIN_ADDRESS="3 per minute")
    users = [factory.user() for _ in range(5)]
    for u in users:
        assert login(app.test_client(), u.phone, PASSWORD) == 302
    client = app.test_client()
    assert [login(client, u.phone) for u in users[:3]] == [200] * 3
    assert login(client, users[3].phone) == 429
    assert login(client, users[3].phone, addr="10.0.0.2") == 200


def test_forwarded_address_is_ignored_unless_configured(limited, factory):
    app = limited(RATELIMIT_LOGIN_ADDRESS="2 per minute")
    client = app.test_client()
    a, b, c = (factory.user() for _ in range(3))
    assert login(client, a.phone, X_Forwarded_For="1.1.1.1") == 200
    assert login(client, b.phone, X_Forwarded_For="2.2.2.2") == 200
    assert login(client, c.phone, X_Forwarded_For="3.3.3.3") == 429


def test_forwarded_address_counts_behind_a_trusted_proxy(limited, factory):
    app = limited(RATELIMIT_LOGIN_ADDRESS="2 per minute", PROXY_FIX_X_FOR=1)
    client = app.test_client()
    a, b = factory.user(), factory.user()
    for forwarded in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        assert login(client, a.phone, X_Forwarded_For=forwarded) == 200  # three addresses
    assert login(client, b.phone, X_Forwarded_For="1.1.1.1") == 200
    assert login(client, b.phone, X_Forwarded_For="1.1.1.1") == 429
    assert login(client, b.phone, X_Forwarded_For="4.4.4.4") == 200


@pytest.mark.parametrize("path,data", [
    ("/auth/password", {"current": "wrong1234", "password": NEW, "confirm": NEW}),
    ("/auth/delete", {"password": "wrong1234", "confirm": "y"}),
])
def test_password_checks_of_a_logged_in_account_are_limited(limited, factory, path, data):
    app = limited(RATELIMIT_LOGIN="3 per minute")
    user = factory.user()
    client = app.test_client()
    assert login(client, user.phone, PASSWORD) == 302
    assert [client.post(path, data=data).status_code for _ in range(3)] == [200] * 3
    assert client.post(path, data=data).status_code == 429
    assert db.session.get(User, user.id).deleted_at is None


# --- 12. input rules --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["李\x00四", "李四\r\nBcc: x@example.com", "\u202e四李",
                                  "=HYPERLINK(\"http://x\")", "+1", "@李四", "-李四", "12345"])
def test_patch_me_uses_the_name_rule(client, factory, name):
    user = factory.user(name="张三")
    resp = client.patch("/api/v1/me", headers=bearer(token_for(user)), json={"name": name})
    assert resp.status_code == 422 and "name" in resp.json["fields"]
    assert db.session.get(User, user.id).name == "张三"


def test_patch_me_accepts_names_the_forms_accept(client, factory):
    user = factory.user()
    for name in ("阿卜杜热合曼·买买提", "Maria-José O'Neil"):
        resp = client.patch("/api/v1/me", headers=bearer(token_for(user)),
                            json={"name": "  " + name + "\u3000"})
        assert resp.status_code == 200 and resp.json["name"] == name


def _models():
    from volunteer.api.invitations import CorrectionIn, DecisionIn, HoursIn, NoteIn
    from volunteer.api.issues import IssueIn, TransitionIn
    from volunteer.api.matching import MatchIn

    issue = {"description": "楼道灯不亮", "category": "facilities", "title": "楼道灯"}
    match = {"lat": 30.7, "lon": 121.3, "text": "电工"}
    return [(IssueIn, "title", issue), (IssueIn, "description", issue),
            (TransitionIn, "comment", {"action": "comment", "version": 1}),
            (TransitionIn, "resolution", {"action": "resolve", "version": 1}),
            (NoteIn, "reason", {}), (HoursIn, "note", {"hours": 1}),
            (CorrectionIn, "reason", {"hours": 1}), (DecisionIn, "reason", {"accept": True}),
            (MatchIn, "text", match)]


@pytest.mark.parametrize("bad", ["a\x00b", "a\u202eb", "<b>x</b>", "a\x1bb"])
def test_every_free_text_field_of_the_api_uses_the_text_rule(app, bad):
    from pydantic import ValidationError

    for model, field, base in _models():
        with pytest.raises(ValidationError) as exc:
            model.model_validate({**base, field: bad})
        assert exc.value.errors()[0]["loc"] == (field,), (model, field)
        model.model_validate({**base, field: "第一行\n第二行" if field != "title" else "好"})


def test_an_issue_title_stays_on_one_line(app):
    from pydantic import ValidationError

    from volunteer.api.issues import IssueIn

    with pytest.raises(ValidationError):
        IssueIn.model_validate({"title": "路灯\r\nBcc: x@example.com", "description": "x",
                                "category": "facilities"})


def test_mail_headers_stay_on_one_line(app):
    msg = message(app.config, "doc@example.com", "路灯\r\nBcc: evil@example.com\u2028x\x0by",
                  "body")
    assert msg["Bcc"] is None and "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert msg["Subject"].startswith("路灯 Bcc: evil@example.com")


def test_staff_action_that_mails_a_two_line_title_does_not_fail(app, client, auth, factory):
    app.config["MAIL_SERVER"] = "smtp.test"
    outbox.clear()
    grid = factory.grid()
    reporter = factory.user(email="resident@example.com")
    issue = file_issue(reporter, IssueInput(title="路灯不亮\r\nBcc: evil@example.com",
                                            description="x", category="facilities", lat=None,
                                            lon=None, grid_code=grid.code))
    db.session.commit()
    auth.login("grid_leader", grid)
    resp = client.post(f"/issues/{issue.id}/act", data={"action": "accept",
                                                         "version": issue.version})
    assert resp.status_code == 302
    assert db.session.get(Issue, issue.id).status == "accepted"
    assert outbox and all(m["Bcc"] is None for m in outbox)


@pytest.fixture
def issue_body(factory):
    grid = factory.grid()
    return grid, {"title": "楼道灯坏了", "description": "3号楼", "category": "facilities",
                  "grid": grid.code}


def test_a_resident_files_a_residents_report_through_the_api(client, factory, issue_body):
    _grid, body = issue_body
    h = bearer(token_for(factory.user("resident")))
    resp = client.post("/api/v1/issues", headers=h, json=body)
    assert resp.status_code == 201 and resp.json["source"] == "resident_report"
    resp = client.post("/api/v1/issues", headers=h, json={**body, "source": "hotline"})
    assert resp.status_code == 422 and "source" in resp.json["fields"]
    resp = client.post("/api/v1/issues", headers=h, json={**body, "source": "resident_report"})
    assert resp.status_code == 201
    assert db.session.scalar(db.select(db.func.count(Issue.id))) == 2


def test_grid_staff_choose_the_source_in_the_api_as_on_the_page(client, factory, issue_body):
    grid, body = issue_body
    h = bearer(token_for(factory.user("grid_member", grid)))
    assert client.post("/api/v1/issues", headers=h, json=body).json["source"] == "patrol"
    resp = client.post("/api/v1/issues", headers=h, json={**body, "source": "hotline"})
    assert resp.status_code == 201 and resp.json["source"] == "hotline"


def test_the_source_rule_has_one_owner(factory):
    from volunteer import policy

    resident, member = factory.user("resident"), factory.user("grid_member", factory.grid())
    assert policy.issue_source(resident, None) == "resident_report"
    assert policy.issue_source(resident, "patrol") is None
    assert policy.issue_source(member, None) == "patrol"
    assert policy.issue_source(member, "deputy_reception") == "deputy_reception"


@pytest.fixture
def imported(factory):
    user = factory.user()
    user.consent_method = "attested"
    user.consent_confirmed_at = None
    db.session.commit()
    return user


def test_imported_person_may_download_data_or_leave_before_the_terms(client, auth, imported):
    auth.login(user=imported)
    assert client.get("/").status_code == 302  # the terms come first …
    resp = client.get("/auth/my-data.json")
    assert resp.status_code == 200 and resp.json["account"]["phone"] == imported.phone
    assert client.get("/auth/delete").status_code == 200
    resp = client.post("/auth/delete", data={"password": PASSWORD, "confirm": "y"})
    assert resp.status_code == 302
    assert db.session.get(User, imported.id).deleted_at is not None


@pytest.mark.parametrize("option,value", [
    ("--name", "=cmd|' /C calc'!A0"), ("--name", "李\u202e四"), ("--name", "李\r\n四"),
    ("--name", "<b>x</b>"), ("--name", " "), ("--password", "abcdefgh"),
    ("--password", "12345678"), ("--password", "a1"), ("--phone", "12345"),
])
def test_create_user_command_uses_the_input_rules(runner, option, value):
    args = {"--phone": "13900001111", "--name": "王芳", "--password": "start1234"}
    args[option] = value
    result = runner.invoke(args=["create-user", *sum(args.items(), ()), "--role", "resident"])
    assert result.exit_code != 0 and option in result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_create_user_command_resetting_a_password_ends_sessions_and_tokens(runner, client,
                                                                           auth):
    user = auth.login()
    value = token_for(user)
    result = runner.invoke(args=["create-user", "--phone", user.phone, "--name", "张三",
                                 "--password", NEW, "--role", "volunteer"])
    assert result.exit_code == 0, result.output
    assert "1 API token(s) revoked" in result.output
    assert not logged_in(client)
    assert client.get("/api/v1/me", headers=bearer(value)).status_code == 401


# --- 13. absurd bodies ------------------------------------------------------------------------

@pytest.mark.parametrize("body", ["[" * 1000 + "]" * 1000, '{"name":' * 1000 + '1' + "}" * 1000,
                                  '{"a":' * 100_000 + "1" + "}" * 100_000,
                                  '{"name": ' + "[" * 25 + "]" * 25 + "}"],
                         ids=["lists-1000", "objects-1000", "objects-100000", "lists-25"])
def test_deeply_nested_bodies_get_400(client, factory, body):
    user = factory.user(name="张三")
    h = bearer(token_for(user))
    for method, path in (("patch", "/api/v1/me"), ("post", "/api/v1/issues")):
        resp = getattr(client, method)(path, headers=h, data=body,
                                       content_type="application/json")
        assert resp.status_code == 400 and resp.json["error"] == "bad_request"
    assert db.session.get(User, user.id).name == "张三"


def test_reasonable_nesting_still_validates(client, factory):
    h = bearer(token_for(factory.user()))
    resp = client.patch("/api/v1/me", headers=h, json={"name": [[["x"]]]})
    assert resp.status_code == 422
