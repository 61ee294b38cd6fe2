"""Registration, login, logout, passwords, reset codes, rate limits, CSRF and redirects."""
from datetime import timedelta

import pytest

from volunteer.auth.models import OneTimeCode, User
from volunteer.auth.services import issue_code
from volunteer.extensions import db
from volunteer.outbox.channels import captured as outbox

from .conftest import PASSWORD


def users() -> int:
    return db.session.scalar(db.select(db.func.count(User.id)))


def register_data(**over):
    data = {"name": "童小明", "phone": "13912345678", "email": "", "password": "abc12345",
            "confirm": "abc12345", "consent": "y"}
    data.update(over)
    return data


def test_register_logs_in_and_records_consent(client, app):
    resp = client.post("/auth/register", data=register_data())
    assert resp.status_code == 302
    user = db.session.scalar(db.select(User).where(User.phone == "13912345678"))
    assert user.name == "童小明" and user.has_role("resident")
    assert user.consent_version == app.config["TERMS_VERSION"] and user.consent_method == "online"
    assert user.consent_at is not None
    assert user.password_hash != "abc12345"
    assert "童小明" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("name", ["阿卜杜热合曼·买买提", "欧阳", "李", "Maria-José O'Neil",
                                  "爱新觉罗·溥仪", "  王芳  "])
def test_chinese_names_of_any_length_are_valid(client, name):
    resp = client.post("/auth/register", data=register_data(name=name))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert db.session.scalar(db.select(User.name)) == name.strip()


@pytest.mark.parametrize("field,value", [
    ("name", ""), ("name", "   "), ("name", "　　"), ("name", "王" * 51), ("name", "x" * 10000),
    ("name", "<script>alert(1)</script>"), ("name", "张三<b>"), ("name", "12345"),
    ("phone", ""), ("phone", "12345678901"), ("phone", "1381234567"), ("phone", "abc"),
    ("phone", "1" * 10000), ("phone", "<script>"),
    ("email", "not-an-email"), ("email", "a@" + "b" * 300 + ".com"),
    ("password", "short1"), ("password", "onlyletters"), ("password", "12345678"),
    ("password", "a1" * 100), ("confirm", "different1"), ("consent", ""),
])
def test_register_bad_input_changes_nothing(client, field, value):
    before = users()
    resp = client.post("/auth/register", data=register_data(**{field: value}))
    assert resp.status_code == 200
    assert "invalid-feedback" in resp.get_data(as_text=True)
    assert users() == before


def test_register_duplicate_phone(client, factory):
    factory.user(phone="13912345678")
    resp = client.post("/auth/register", data=register_data())
    assert resp.status_code == 200
    assert users() == 1
    assert "invalid-feedback" in resp.get_data(as_text=True)


def test_register_phone_with_prefix_and_spaces(client):
    client.post("/auth/register", data=register_data(phone="+86 139-1234-5678"))
    assert db.session.scalar(db.select(User.phone)) == "13912345678"


def test_login_by_phone_and_email_then_logout(client, factory):
    user = factory.user(email="Doc@Example.com")
    resp = client.post("/auth/login", data={"login": user.phone, "password": PASSWORD})
    assert resp.status_code == 302
    assert client.post("/auth/logout").status_code == 302
    resp = client.post("/auth/login", data={"login": "doc@example.com", "password": PASSWORD})
    assert resp.status_code == 302
    assert user.name in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("login,password", [("13900000000", PASSWORD), ("", ""),
                                            ("x" * 10000, "y"), ("<script>", "p")])
def test_login_failures_show_a_message(client, factory, login, password):
    factory.user()
    resp = client.post("/auth/login", data={"login": login, "password": password})
    assert resp.status_code == 200
    assert "invalid-feedback" in resp.get_data(as_text=True)


def test_wrong_password_and_inactive_account(client, factory):
    user = factory.user()
    resp = client.post("/auth/login", data={"login": user.phone, "password": "wrong12345"})
    assert resp.status_code == 200
    user.active = False
    db.session.commit()
    resp = client.post("/auth/login", data={"login": user.phone, "password": PASSWORD})
    assert resp.status_code == 200


def test_logout_needs_post(client, auth):
    auth.login()
    assert client.get("/auth/logout").status_code == 405


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example", "/\\evil.example",
                                    "http:/evil.example", "javascript:alert(1)", " //evil.example"])
def test_no_open_redirect_after_login(client, factory, target):
    user = factory.user()
    resp = client.post("/auth/login", data={"login": user.phone, "password": PASSWORD,
                                            "next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_next_on_this_site_is_followed(client, factory):
    user = factory.user()
    page = client.get("/auth/login?next=/auth/tokens").get_data(as_text=True)
    assert 'value="/auth/tokens"' in page
    resp = client.post("/auth/login", data={"login": user.phone, "password": PASSWORD,
                                            "next": "/auth/tokens"})
    assert resp.headers["Location"] == "/auth/tokens"


def test_change_password(client, auth):
    user = auth.login()
    resp = client.post("/auth/password", data={"current": "wrong", "password": "newpass123",
                                               "confirm": "newpass123"})
    assert resp.status_code == 200 and "invalid-feedback" in resp.get_data(as_text=True)
    resp = client.post("/auth/password", data={"current": PASSWORD, "password": "newpass123",
                                               "confirm": "newpass123"})
    assert resp.status_code == 302
    auth.logout()
    resp = client.post("/auth/login", data={"login": user.phone, "password": "newpass123"})
    assert resp.status_code == 302


def test_password_change_logs_out_other_sessions(app, client, auth):
    user = auth.login()
    other = app.test_client()
    other.post("/auth/login", data={"login": user.phone, "password": PASSWORD})
    assert other.get("/auth/tokens").status_code == 200
    client.post("/auth/password", data={"current": PASSWORD, "password": "newpass123",
                                        "confirm": "newpass123"})
    assert other.get("/auth/tokens").status_code == 302
    assert client.get("/auth/tokens").status_code == 200


def test_reset_with_code_from_grid_leader(client, auth, factory):
    grid = factory.grid()
    member = factory.user("grid_member", grid)
    auth.login("grid_leader", grid)
    page = client.post(f"/org/people/{member.id}/code").get_data(as_text=True)
    code = page.split('data-testid="one-time-code">')[1].split("<")[0]
    assert len(code) == 8
    auth.logout()
    data = {"phone": member.phone, "code": "00000000", "password": "fresh1234",
            "confirm": "fresh1234"}
    resp = client.post("/auth/reset", data=data)
    assert resp.status_code == 200 and "invalid-feedback" in resp.get_data(as_text=True)
    resp = client.post("/auth/reset", data={**data, "code": code})
    assert resp.status_code == 302
    resp = client.post("/auth/login", data={"login": member.phone, "password": "fresh1234"})
    assert resp.status_code == 302
    # A code works once.
    auth.logout()
    resp = client.post("/auth/reset", data={**data, "code": code, "password": "other1234",
                                            "confirm": "other1234"})
    assert resp.status_code == 200


def test_reset_code_expires_and_locks_after_five_wrong_guesses(client, factory):
    user = factory.user()
    code = issue_code(user, "reset", None)
    db.session.commit()
    data = {"phone": user.phone, "password": "fresh1234", "confirm": "fresh1234"}
    for _ in range(5):
        client.post("/auth/reset", data={**data, "code": "99999999"})
    resp = client.post("/auth/reset", data={**data, "code": code})
    assert resp.status_code == 200  # spent by the guesses
    code = issue_code(user, "reset", None)
    row = db.session.scalar(db.select(OneTimeCode).order_by(OneTimeCode.id.desc()))
    row.expires_at -= timedelta(days=2)
    db.session.commit()
    assert client.post("/auth/reset", data={**data, "code": code}).status_code == 200


def test_forgot_without_mail_points_to_code(client, factory):
    user = factory.user()
    resp = client.post("/auth/forgot", data={"login": user.phone})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/reset")


def test_forgot_by_email_when_mail_configured(app, client, factory):
    app.config["MAIL_SERVER"] = "smtp.test"
    user = factory.user(email="doc@example.com")
    outbox.clear()
    client.post("/auth/forgot", data={"login": "doc@example.com"})
    assert len(outbox) == 1
    link = [w for w in outbox[0].get_content().split() if "/auth/reset/" in w][0]
    path = link[link.index("/auth/reset/"):]
    resp = client.post(path, data={"password": "mailed123", "confirm": "mailed123"})
    assert resp.status_code == 302
    assert client.post("/auth/login", data={"login": user.phone, "password": "mailed123"}) \
        .status_code == 302
    # The link worked once: the password changed, so its fingerprint no longer matches.
    client.post("/auth/logout")
    assert client.get(path).status_code == 302


def test_forged_reset_link(client):
    resp = client.get("/auth/reset/not-a-token")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/forgot")


def test_login_is_rate_limited_with_a_friendly_page(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    codes = [client.post("/auth/login", data={"login": "13900000000", "password": "x"}).status_code
             for _ in range(11)]
    assert codes[:10] == [200] * 10
    assert codes[10] == 429
    resp = client.post("/auth/login", data={"login": "13900000000", "password": "x"})
    assert resp.status_code == 429
    assert "429" in resp.get_data(as_text=True)
    assert client.get("/auth/login").status_code == 200  # reading the page is not limited


def test_csrf_is_enforced_on_forms(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        before = users()
        resp = client.post("/auth/register", data=register_data())
        assert resp.status_code == 400
        assert users() == before
        resp = client.post("/lang/en")
        assert resp.status_code == 400
        # With the token from the page the same form goes through.
        page = client.get("/auth/register").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        resp = client.post("/auth/register", data={**register_data(), "csrf_token": token})
        assert resp.status_code == 302
        assert users() == before + 1
        db.session.remove()


@pytest.mark.parametrize("data", [
    {"current": "", "password": "newpass123", "confirm": "newpass123"},
    {"current": PASSWORD, "password": "short", "confirm": "short"},
    {"current": PASSWORD, "password": "newpass123", "confirm": "other1234"},
    {"current": PASSWORD, "password": "<script>1a</script>", "confirm": "x"},
    {"current": "x" * 10000, "password": "newpass123", "confirm": "newpass123"},
])
def test_change_password_bad_input(client, auth, data):
    user = auth.login()
    before = user.password_hash
    resp = client.post("/auth/password", data=data)
    assert resp.status_code == 200 and "invalid-feedback" in resp.get_data(as_text=True)
    assert db.session.get(User, user.id).password_hash == before


@pytest.mark.parametrize("login", ["", " ", "x" * 10000])
def test_forgot_bad_input(client, login):
    resp = client.post("/auth/forgot", data={"login": login})
    assert resp.status_code == 200 and "invalid-feedback" in resp.get_data(as_text=True)


@pytest.mark.parametrize("field,value", [("phone", "123"), ("code", ""), ("code", "1" * 10000),
                                         ("password", "short"), ("confirm", "mismatch1"),
                                         ("code", "<script>")])
def test_reset_code_bad_input(client, factory, field, value):
    user = factory.user()
    code = issue_code(user, "reset", None)
    db.session.commit()
    before = user.password_hash
    data = {"phone": user.phone, "code": code, "password": "fresh1234", "confirm": "fresh1234",
            field: value}
    resp = client.post("/auth/reset", data=data)
    assert resp.status_code == 200 and "invalid-feedback" in resp.get_data(as_text=True)
    assert db.session.get(User, user.id).password_hash == before
