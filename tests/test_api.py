"""The JSON API base: bearer tokens, JSON errors, no CSRF, the OpenAPI document."""
import pytest

from volunteer.auth.models import ApiToken, User
from volunteer.auth.services import create_token
from volunteer.extensions import db


@pytest.fixture
def token(factory):
    user = factory.user("grid_leader", factory.grid())
    value = create_token(user, "test")
    db.session.commit()
    return value


def bearer(value):
    return {"Authorization": f"Bearer {value}"}


def test_me_needs_a_token(client):
    for headers in ({}, bearer("gv_wrong"), {"Authorization": "Basic abc"}, bearer("x" * 5000)):
        resp = client.get("/api/v1/me", headers=headers)
        assert resp.status_code == 401
        assert resp.is_json and resp.json["error"] == "unauthorized"


def test_me_with_token(client, token):
    resp = client.get("/api/v1/me", headers=bearer(token))
    assert resp.status_code == 200
    assert resp.json["roles"][0]["role"] == "grid_leader"
    assert resp.json["roles"][0]["scope_type"] == "grid"
    assert "Set-Cookie" not in resp.headers


def test_session_cookie_does_not_authenticate_the_api(client, auth):
    auth.login()
    assert client.get("/api/v1/me").status_code == 401


def test_revoked_token_is_refused(client, auth, token):
    row = db.session.scalar(db.select(ApiToken))
    user = db.session.get(User, row.user_id)
    auth.login(user=user)
    client.post(f"/auth/tokens/{row.id}/revoke")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_token_page_creates_and_lists(client, auth):
    auth.login()
    resp = client.post("/auth/tokens", data={"name": "my script"})
    body = resp.get_data(as_text=True)
    value = body.split('data-testid="new-token">')[1].split("<")[0]
    assert value.startswith("gv_")
    assert client.get("/api/v1/me", headers=bearer(value)).status_code == 200
    assert "gv_" not in client.get("/auth/tokens").get_data(as_text=True).replace(value[:10], "")


@pytest.mark.parametrize("name", ["", "<script>x</script>", "x" * 61])
def test_token_form_bad_input(client, auth, name):
    auth.login()
    resp = client.post("/auth/tokens", data={"name": name})
    assert resp.status_code == 200 and "invalid-feedback" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 0


def test_cannot_revoke_someone_elses_token(client, auth, token):
    row = db.session.scalar(db.select(ApiToken))
    auth.login()
    assert client.post(f"/auth/tokens/{row.id}/revoke").status_code == 404
    assert db.session.get(ApiToken, row.id).revoked_at is None


def test_patch_me_validates(client, token):
    resp = client.patch("/api/v1/me", headers=bearer(token), json={"name": "", "locale": "fr"})
    assert resp.status_code == 422
    assert set(resp.json["fields"]) == {"name", "locale"}
    resp = client.patch("/api/v1/me", headers=bearer(token), json={"role": "admin"})
    assert resp.status_code == 422 and "role" in resp.json["fields"]
    resp = client.patch("/api/v1/me", headers=bearer(token), data="not json",
                        content_type="application/json")
    assert resp.status_code == 422
    resp = client.patch("/api/v1/me", headers=bearer(token), json={"name": "<b>x</b>"})
    assert resp.status_code == 422
    resp = client.patch("/api/v1/me", headers=bearer(token), json={"locale": "en", "name": "李四"})
    assert resp.status_code == 200 and resp.json["name"] == "李四" and resp.json["locale"] == "en"


def test_api_needs_no_csrf_token(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    user = factory.user()
    value = create_token(user)
    db.session.commit()
    resp = app.test_client().patch("/api/v1/me", headers=bearer(value), json={"large_text": True})
    assert resp.status_code == 200 and resp.json["large_text"] is True


def test_json_errors_never_html(client, token):
    resp = client.get("/api/v1/no-such-thing", headers=bearer(token))
    assert resp.status_code == 404 and resp.is_json
    resp = client.delete("/api/v1/me", headers=bearer(token))
    assert resp.status_code == 405 and resp.is_json


def test_openapi_is_generated_from_the_schemas(client, token):
    resp = client.get("/api/v1/openapi.json", headers=bearer(token))
    assert resp.status_code == 200
    doc = resp.json
    assert doc["openapi"].startswith("3.")
    assert {"get", "patch"} <= set(doc["paths"]["/me"])
    schemas = doc["components"]["schemas"]
    assert "MeOut" in schemas and "MeUpdate" in schemas and "RoleOut" in schemas
    assert doc["paths"]["/me"]["patch"]["responses"]["422"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_api_rate_limit_is_generous_for_tokens(make_app, factory):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    value = create_token(factory.user())
    db.session.commit()
    client = app.test_client()
    codes = {client.get("/api/v1/me", headers=bearer(value)).status_code for _ in range(650)}
    assert codes == {200}


def test_ids_beyond_the_database_range_are_404(client, token):
    huge = 2**40
    assert client.get(f"/api/v1/issues/{huge}", headers=bearer(token)).status_code == 404
    assert client.get(f"/issues/{huge}").status_code in (302, 404)
    assert client.get(f"/volunteers/{huge}").status_code in (302, 404)
