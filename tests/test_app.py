"""The app factory, configuration, error pages and security headers."""
import pytest

from volunteer import create_app
from volunteer.config import _instance_secret


def test_testing_config(app):
    assert app.testing
    assert app.config["PASSWORD_HASH_METHOD"].startswith("pbkdf2")
    assert app.template_folder.endswith("templates")


def test_config_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/x")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("MAP_TILE_URL", "https://tiles.example/{z}/{x}/{y}.png")
    monkeypatch.setenv("MAP_TILE_DATUM", "gcj-02")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/x"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"
    assert app.config["MAP_TILE_URL"].startswith("https://tiles.example")
    assert app.config["MAP_TILE_DATUM"] == "GCJ02"
    assert app.config["MAIL_SERVER"] == "smtp.example"
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_default_database_is_sqlite_in_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/volunteer.sqlite3")
    assert app.config["SECRET_KEY"]


def test_secret_generated_once(tmp_path):
    first = _instance_secret(str(tmp_path))
    assert len(first) == 64
    assert _instance_secret(str(tmp_path)) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_security_headers(client):
    resp = client.get("/")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


def test_session_cookie_flags(client, auth):
    auth.login()
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only
    assert cookie.same_site == "Lax"


def test_404_page(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "404" in resp.get_data(as_text=True)


def test_500_page_rolls_back(make_app):
    from volunteer.extensions import db
    from volunteer.org.models import Department, Town

    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        db.session.add(Department(town_id=db.session.scalar(db.select(Town.id)), code="BOOM", name="half-written"))
        db.session.flush()
        raise RuntimeError("boom")

    with app.app_context():
        resp = app.test_client().get("/boom")
        assert resp.status_code == 500
        assert "500" in resp.get_data(as_text=True)
        assert db.session.scalar(db.select(Department).where(Department.code == "BOOM")) is None
        db.session.remove()


@pytest.mark.parametrize("path", ["/", "/auth/login", "/auth/register", "/auth/forgot",
                                  "/auth/reset", "/terms"])
def test_public_pages_render(client, path):
    assert client.get(path).status_code == 200


def test_match_weights_from_environment(monkeypatch):
    monkeypatch.setenv("MATCH_WEIGHTS", '{"distance": 0.7}')
    assert create_app().config["MATCH_WEIGHTS"] == {"distance": 0.7}
    monkeypatch.setenv("MATCH_WEIGHTS", "not json")
    with pytest.raises(RuntimeError):
        create_app()
