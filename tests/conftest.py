"""Fixtures: an app per test on a per-worker database (SQLite, or TEST_DATABASE_URL), a client,
a CLI runner, factories for people and places, and an ``auth`` helper that logs in by role.

The schema is built once per worker with the real migrations; after each test every table is
emptied, so tests stay independent without paying for a new schema each time.
"""
from __future__ import annotations

import os
from itertools import count

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient

from volunteer import create_app
from volunteer.extensions import db

PASSWORD = "passw0rd123"


def _worker_url(tmp_path_factory, worker_id: str) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return "sqlite:///" + str(tmp_path_factory.getbasetemp() / f"test-{worker_id}.sqlite3")
    url = sa.engine.make_url(base)
    if url.get_backend_name() != "postgresql":
        return base
    name = f"{url.database}_t_{worker_id}"
    admin = sa.create_engine(url.set(drivername="postgresql+psycopg"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id) -> str:
    """A database for this worker, with the schema built by the migrations."""
    from flask_migrate import upgrade

    url = _worker_url(tmp_path_factory, worker_id)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()
    return url


def _empty_all_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for t in tables:
            db.session.execute(t.delete())
    db.session.commit()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (own ``g`` and DB session), as in production,
    even though the test itself holds one open for factories and queries."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            resp = super().open(*args, **kwargs)
        if has_app_context():
            db.session.expire_all()  # the test's session sees what the request committed
        return resp


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build apps on this worker's database with config overrides; empties the tables after.
    Uploaded files go to the test's own temporary folder."""
    apps = []

    def make(**overrides):
        built = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                            "UPLOAD_FOLDER": str(tmp_path / "uploads"), **overrides})
        built.test_client_class = FreshContextClient
        apps.append(built)
        return built

    yield make
    if apps:
        with apps[0].app_context():
            db.session.remove()
            _empty_all_tables()
        for built in apps:
            with built.app_context():
                db.engine.dispose()


@pytest.fixture
def app(make_app):
    """A fresh app with reference data (town, skills) on an emptied database."""
    app = make_app()
    with app.app_context():
        from volunteer.setup import load_reference_data

        load_reference_data()
        db.session.commit()
        _matcher_model_trained()
        yield app
        db.session.remove()


_model_ready = False


def _matcher_model_trained() -> None:
    """The matcher never trains in a request: train its model once per test process, as
    ``setup`` does for an installation, unless the saved one is current."""
    global _model_ready
    if not _model_ready:
        from volunteer.matching import artefact, records

        skills = records.taxonomy()[1]
        if not artefact.is_current(skills):
            artefact.train(skills)
        _model_ready = True


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Factory:
    """Small functions that add rows and return them (committed)."""

    def __init__(self):
        self.seq = count(1)

    def phone(self) -> str:
        return f"139{next(self.seq):08d}"

    def village(self, code=None, name=None):
        from volunteer.org.models import Town, Village

        n = next(self.seq)
        town = db.session.scalar(db.select(Town))
        v = Village(town=town, code=code or f"V{n:03d}", name=name or f"测试村{n}", lat=30.75,
                    lon=121.35)
        db.session.add(v)
        db.session.commit()
        return v

    def grid(self, village=None, code=None, lat=30.757, lon=121.353):
        from volunteer.org.models import Grid

        village = village or self.village()
        n = next(self.seq)
        g = Grid(village=village, code=code or f"{village.code}-{n:02d}", name=f"第{n}网格",
                 lat=lat, lon=lon, households=300)
        db.session.add(g)
        db.session.commit()
        return g

    def department(self, code=None):
        from volunteer.org.models import Department, Town

        n = next(self.seq)
        d = Department(code=code or f"D{n:03d}", name=f"部门{n}",
                       town=db.session.scalar(db.select(Town).order_by(Town.id)))
        db.session.add(d)
        db.session.commit()
        return d

    def volunteer(self, name="志愿者", skills=(), lat=30.757, lon=121.353, grid=None,
                  travel_km=5.0, monthly_limit=4, verified=True, **kw):
        """A consenting volunteer with a profile and taxonomy skills (verified by default)."""
        from volunteer.skills.models import Skill
        from volunteer.volunteers.services import ProfileData, save_profile, verify_skill

        user = self.user("volunteer", name=name, **kw)
        ids = [db.session.scalar(db.select(Skill.id).where(Skill.code == c)) for c in skills]
        profile = save_profile(user, ProfileData(home_grid=grid, lat=lat, lon=lon,
                                                 travel_km=travel_km, skill_ids=ids,
                                                 monthly_limit=monthly_limit))
        if verified:
            for vs in profile.skills:
                verify_skill(user, vs)
        db.session.commit()
        return user

    def user(self, role="resident", scope=None, phone=None, name="张三", password=PASSWORD,
             email=None):
        from volunteer.auth.services import create_user, grant_role

        u = create_user(name=name, phone=phone or self.phone(), email=email, password=password)
        grant_role(u, role, scope)
        db.session.commit()
        return u


@pytest.fixture
def factory(app) -> Factory:
    return Factory()


class AuthActions:
    def __init__(self, client, factory):
        self.client = client
        self.factory = factory

    def login(self, role="resident", scope=None, user=None):
        """Log in as ``user``, or as a new user with ``role`` in ``scope``; returns the user."""
        if user is None:
            if scope is None and role in ("grid_member", "grid_leader", "grid_instructor"):
                scope = self.factory.grid()
            elif scope is None and role == "village_admin":
                scope = self.factory.village()
            elif scope is None and role == "department_staff":
                scope = self.factory.department()
            user = self.factory.user(role, scope)
        resp = self.client.post("/auth/login", data={"login": user.phone, "password": PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return user

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client, factory) -> AuthActions:
    return AuthActions(client, factory)


@pytest.fixture
def following_matcher(app, monkeypatch):
    """A fresh matcher for the test that follows every change of the database at once."""
    from volunteer.matching import store

    monkeypatch.setattr(store, "REFRESH_SECONDS", 0.0)
    store.forget()
    yield
    store.forget()


@pytest.fixture
def english(client):
    """Messages checked in English (the source language); Chinese is tested in test_i18n."""
    client.set_cookie("lang", "en")


def pytest_collection_modifyitems(config, items):
    """Browser tests need Chromium: skip them with a reason when it is absent, unless in CI."""
    chromium = os.path.exists("/usr/bin/chromium")
    if chromium or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="Chromium is not installed (/usr/bin/chromium); "
                                   "apt-get install chromium to run browser tests")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


def count_queries(client, url: str) -> int:
    """How many SQL statements one GET of ``url`` runs (to pin list pages against N+1)."""
    from sqlalchemy import event

    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        resp = client.get(url)
        assert resp.status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(statements)
