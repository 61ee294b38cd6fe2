"""Every query the load test's pages run is served by an index (PostgreSQL only).

The pages of ``loadtest/locustfile.py`` are opened on a small city from ``seed-city`` while
their SQL is recorded; each SELECT is then explained with sequential scans priced out
(``enable_seqscan = off``), so a plan that still reads a big table from end to end has no index
to use — at a million volunteers that is the query that stalls. The matcher's own bulk reads
(its build, before the pages) are not recorded: it reads everything on purpose, once.
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from volunteer.auth.models import User
from volunteer.auth.services import create_token
from volunteer.demo.city import CityPlan, city_phone, seed_city
from volunteer.extensions import db
from volunteer.issues.models import OPEN_STATUSES, Issue
from volunteer.matching import store

#: Tables that grow with the city (the others hold tens to a few thousand rows).
BIG = {"user", "volunteer_profile", "volunteer_skill", "issue", "issue_event", "invitation",
       "service_hours", "grid", "role_assignment", "issue_follower", "issue_photo",
       "match_slate", "notification", "outbox_message", "contact_view", "session_signup"}


@pytest.fixture
def city(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("plans are PostgreSQL's (TEST_DATABASE_URL)")
    seed_city(CityPlan(towns=3, volunteers=400, seed=3))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    store.forget()
    store.get_matcher()  # its bulk reads happen here, not in the pages
    yield
    store.forget()


def _plans(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from _plans(child)


def _login(client, phone: str) -> None:
    resp = client.post("/auth/login", data={"login": phone, "password": "demo1234"})
    assert resp.status_code == 302, phone


def test_load_test_pages_run_on_indexes(city, app, client):
    leader = db.session.scalar(db.select(User).where(User.phone == city_phone("grid_leader", 0)))
    grid_id = next(a.grid_id for a in leader.roles if a.grid_id)
    issue = db.session.scalar(db.select(Issue.id).where(
        Issue.grid_id == grid_id, Issue.status.in_(OPEN_STATUSES)).limit(1))
    token = create_token(leader, "explain")
    db.session.commit()

    seen: dict[str, dict] = {}

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and not executemany:
            seen.setdefault(statement, parameters)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        for url in ("/", "/board/?town=T002", "/board/map.json?town=T002", "/board/",
                    "/services/?town=T002", "/services/points/?town=T002",
                    "/services/points/map.json?town=T002"):
            assert client.get(url).status_code == 200, url
        _login(client, city_phone("grid_leader", 0))
        for url in ("/issues/?queue=grid", f"/issues/{issue}", "/issues/new"):
            assert client.get(url).status_code == 200, url
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/match", json={"text": "水管漏水", "lat": 31.1, "lon": 121.4},
                           headers=headers).status_code == 200
        assert client.get(f"/api/v1/issues/{issue}/suggestions",
                          headers=headers).status_code == 200
        client.post("/auth/logout")
        _login(client, city_phone("volunteer", 0))
        for url in ("/tasks/", "/tasks/near", "/hours/"):
            assert client.get(url).status_code == 200, url
        client.post("/auth/logout")
        _login(client, city_phone("admin", 1))
        assert client.get("/dashboard/").status_code == 200
        client.post("/auth/logout")
        _login(client, city_phone("district_admin", 0))
        for url in ("/dashboard/", "/dashboard/towns"):
            assert client.get(url).status_code == 200, url
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)

    assert len(seen) > 50  # the pages ran their queries
    bad = []
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET enable_seqscan = off")
        for statement, parameters in seen.items():
            cur.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plan = cur.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            scans = {n.get("Relation Name") for n in _plans(plan[0]["Plan"])
                     if n.get("Node Type") == "Seq Scan"}
            if scans & BIG:
                bad.append(f"{sorted(scans & BIG)}: {' '.join(statement.split())[:400]}")
        cur.execute("RESET enable_seqscan")
    finally:
        raw.close()
    assert not bad, "\n\n".join(bad)
