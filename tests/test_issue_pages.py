"""Issue pages and the issues API: filing, queues, actions, scope, bad input, concurrency."""
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tests.conftest import count_queries
from volunteer.auth.services import create_token
from volunteer.extensions import db
from volunteer.issues.models import Issue
from volunteer.issues.services import Details, IssueInput, file_issue, transition


@pytest.fixture
def place(factory):
    village = factory.village(code="VA")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    other = factory.grid(factory.village(code="VB"), code="VB-01", lat=30.70, lon=121.30)
    return {"village": village, "grid": grid, "other": other,
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "member": factory.user("grid_member", grid, name="网格员")}


def form(**over):
    data = {"title": "楼道灯坏了", "description": "3号楼楼道声控灯不亮", "category": "facilities",
            "urgency": "normal", "source": "patrol", "grid": "", "lat": "30.7571",
            "lon": "121.3531", "helpers_needed": "1", "needed_from": "", "needed_until": ""}
    data.update(over)
    return data


def issues() -> int:
    return db.session.scalar(db.select(sa.func.count(Issue.id)))


def test_resident_files_and_follows(client, auth, place):
    auth.login("resident")
    resp = client.post("/issues/new", data=form(source="hotline"))
    assert resp.status_code == 302
    issue = db.session.scalar(db.select(Issue))
    assert issue.source == "resident_report"  # residents cannot choose the source
    assert issue.grid_id == place["grid"].id
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "楼道灯坏了" in page and 'data-testid="timeline"' in page
    assert "楼道灯坏了" in client.get("/issues/").get_data(as_text=True)  # my reports


@pytest.mark.parametrize("over", [
    {"category": "nope"}, {"category": ""}, {"description": ""}, {"description": "   "},
    {"title": ""}, {"title": "x" * 10000}, {"description": "<script>alert(1)</script>"},
    {"lat": "95", "lon": "121"}, {"lat": "abc"}, {"lat": "40.0", "lon": "116.0"},
    {"lat": "", "lon": "", "grid": ""}, {"grid": "NOPE", "lat": "", "lon": ""},
    {"urgency": "whenever"}, {"helpers_needed": "0"}, {"helpers_needed": "abc"},
    {"needed_from": "2026-12-01T10:00", "needed_until": "2026-12-01T09:00"},
    {"needed_from": "yesterday"},
])
def test_filing_bad_input_changes_nothing(client, auth, place, over):
    auth.login("grid_member", place["grid"])
    resp = client.post("/issues/new", data=form(**over))
    assert resp.status_code == 200
    assert "invalid-feedback" in resp.get_data(as_text=True)
    assert issues() == 0


def test_staff_walk_an_issue_through_the_pages(client, auth, place):
    auth.login(user=place["member"])
    client.post("/issues/new", data=form())
    issue = db.session.scalar(db.select(Issue))

    def act(action, **data):
        issue_now = db.session.get(Issue, issue.id)
        return client.post(f"/issues/{issue.id}/act",
                           data={"action": action, "version": issue_now.version, **data})

    assert act("accept").status_code == 302
    act("start")
    act("resolve", resolution="")  # refused: how it was resolved is needed
    assert db.session.get(Issue, issue.id).status == "in_progress"
    act("resolve", resolution="更换灯泡", hours_spent="0.5", cost_saved_yuan="200")
    act("verify")  # the handler may not verify
    assert db.session.get(Issue, issue.id).status == "resolved"
    auth.logout()
    auth.login(user=place["leader"])
    act("verify")
    assert db.session.get(Issue, issue.id).status == "closed"


def test_stale_version_on_the_page(client, auth, place):
    issue = file_issue(place["member"], IssueInput(title="t", description="d",
                                                   category="facilities", lat=30.7571,
                                                   lon=121.3531))
    db.session.commit()
    old = issue.version
    transition(place["leader"], issue, "accept")
    db.session.commit()
    auth.login(user=place["member"])
    resp = client.post(f"/issues/{issue.id}/act", data={"action": "start", "version": old},
                       follow_redirects=True)
    assert db.session.get(Issue, issue.id).status == "accepted"
    assert "alert-warning" in resp.get_data(as_text=True) or \
        "alert-danger" in resp.get_data(as_text=True)


@pytest.mark.parametrize("data", [{"action": "bogus", "version": "1"}, {"action": "accept"},
                                  {"action": "accept", "version": "abc"},
                                  {"action": "rate", "version": "1", "rating": "9"},
                                  {"action": "comment", "version": "1", "comment": "<b>x</b>"}])
def test_bad_actions(client, auth, place, data):
    issue = file_issue(place["member"], IssueInput(title="t", description="d",
                                                   category="facilities", lat=30.7571,
                                                   lon=121.3531))
    db.session.commit()
    auth.login(user=place["leader"])
    resp = client.post(f"/issues/{issue.id}/act", data=data)
    assert resp.status_code in (302, 400)
    assert db.session.get(Issue, issue.id).status == "reported"
    assert len(db.session.get(Issue, issue.id).events) == 1


def test_other_village_gets_404_never_data(client, auth, place, factory):
    issue = file_issue(place["member"], IssueInput(title="秘密", description="d",
                                                   category="facilities", lat=30.7571,
                                                   lon=121.3531))
    db.session.commit()
    auth.login("grid_leader", place["other"])
    assert client.get(f"/issues/{issue.id}").status_code == 404
    resp = client.post(f"/issues/{issue.id}/act", data={"action": "accept", "version": "1"})
    assert resp.status_code == 404
    assert "秘密" not in client.get("/issues/").get_data(as_text=True)
    assert db.session.get(Issue, issue.id).status == "reported"


def test_queues_counts_filters_and_overdue(client, auth, place):
    from datetime import timedelta

    from volunteer.common import utcnow

    made = []
    for i in range(4):
        made.append(file_issue(place["member"], IssueInput(
            title=f"事项{i}", description="d", category="facilities" if i else "environment",
            lat=30.7571, lon=121.3531)))
    db.session.flush()
    transition(place["member"], made[0], "escalate")
    made[1].deadline_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    auth.login("village_admin", place["village"])
    body = client.get("/issues/?queue=village").get_data(as_text=True)
    assert 'data-tier="grid">3<' in body and 'data-tier="village">1<' in body
    assert body.count('data-testid="overdue"') == 1
    body = client.get("/issues/?queue=village&overdue=1").get_data(as_text=True)
    assert "事项1" in body and "事项2" not in body
    body = client.get("/issues/?queue=village&category=environment").get_data(as_text=True)
    assert "事项0" in body and "事项3" not in body
    body = client.get("/issues/?queue=village&tier=village").get_data(as_text=True)
    assert "事项0" in body and "事项1" not in body
    assert client.get("/issues/?queue=village&status=bogus&page=999").status_code == 200


def test_queue_page_queries_do_not_grow(client, auth, place):
    def add(n):
        for i in range(n):
            file_issue(place["member"], IssueInput(title=f"t{i}", description="d",
                                                   category="facilities", lat=30.7571,
                                                   lon=121.3531))
        db.session.commit()

    add(2)
    auth.login("village_admin", place["village"])
    before = count_queries(client, "/issues/?queue=village")
    add(10)
    assert count_queries(client, "/issues/?queue=village") == before


# --- the API -------------------------------------------------------------------------------

def bearer(user):
    token = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_api_create_list_get_transition(client, place):
    h = bearer(place["member"])
    resp = client.post("/api/v1/issues", headers=h, json={
        "title": "路灯不亮", "description": "绿地路灯全部不亮", "category": "facilities",
        "lat": 30.7571, "lon": 121.3531, "needed_from": "2026-12-01T09:00:00+08:00",
        "needed_until": "2026-12-01T12:00:00+08:00"})
    assert resp.status_code == 201, resp.json
    issue = resp.json
    assert issue["grid"] == "VA-01" and issue["status"] == "reported"
    assert issue["needed_from"] == "2026-12-01T01:00:00Z"
    assert "accept" in issue["allowed_actions"]
    listed = client.get("/api/v1/issues?queue=grid&status=open", headers=h).json
    assert listed["total"] == 1 and listed["items"][0]["id"] == issue["id"]
    resp = client.post(f"/api/v1/issues/{issue['id']}/transitions", headers=h,
                       json={"action": "accept", "version": issue["version"]})
    assert resp.status_code == 200 and resp.json["status"] == "accepted"
    resp = client.post(f"/api/v1/issues/{issue['id']}/transitions", headers=h,
                       json={"action": "start", "version": issue["version"]})
    assert resp.status_code == 409  # stale
    resp = client.post(f"/api/v1/issues/{issue['id']}/transitions", headers=h,
                       json={"action": "verify", "version": resp.json and 2})
    assert resp.status_code in (403, 409)
    got = client.get(f"/api/v1/issues/{issue['id']}", headers=h).json
    assert [e["action"] for e in got["events"]] == ["report", "accept"]


@pytest.mark.parametrize("body,field", [
    ({"category": "nope"}, "category"), ({"lat": 95}, "lat"), ({"lat": 40.0, "lon": 116.0}, "lat"),
    ({"description": ""}, "description"), ({"description": "   "}, "description"),
    ({"title": "<script>x</script>"}, "title"), ({"urgency": "now"}, "urgency"),
    ({"helpers_needed": 0}, "helpers_needed"), ({"extra": 1}, "extra"),
    ({"lat": 30.7571, "lon": None}, "lon"),
])
def test_api_create_bad_input(client, place, body, field):
    base = {"title": "t", "description": "d", "category": "facilities", "lat": 30.7571,
            "lon": 121.3531}
    resp = client.post("/api/v1/issues", headers=bearer(place["member"]), json={**base, **body})
    assert resp.status_code == 422
    assert field in resp.json["fields"]
    assert issues() == 0


def test_api_scope_is_404(client, place, factory):
    issue = file_issue(place["member"], IssueInput(title="t", description="d",
                                                   category="facilities", lat=30.7571,
                                                   lon=121.3531))
    db.session.commit()
    h = bearer(factory.user("grid_leader", place["other"]))
    assert client.get(f"/api/v1/issues/{issue.id}", headers=h).status_code == 404
    resp = client.post(f"/api/v1/issues/{issue.id}/transitions", headers=h,
                       json={"action": "accept", "version": 1})
    assert resp.status_code == 404
    assert client.get("/api/v1/issues/999999", headers=h).status_code == 404
    assert client.get("/api/v1/issues?queue=village", headers=h).status_code == 422
    assert client.get("/api/v1/issues?per_page=1000", headers=h).status_code == 422


def test_api_transition_not_allowed(client, place, factory):
    issue = file_issue(place["member"], IssueInput(title="t", description="d",
                                                   category="facilities", lat=30.7571,
                                                   lon=121.3531))
    db.session.commit()
    h = bearer(place["member"])
    resp = client.post(f"/api/v1/issues/{issue.id}/transitions", headers=h,
                       json={"action": "reject", "version": issue.version, "comment": "x"})
    assert resp.status_code == 403 and resp.json["error"] == "not_allowed"
    resp = client.post(f"/api/v1/issues/{issue.id}/transitions", headers=h,
                       json={"action": "fly", "version": issue.version})
    assert resp.status_code == 422




def _concurrent_accepts(app, issue_id, user_ids) -> list[str]:
    """Two sessions, on two connections, accept the same issue at the same moment."""
    from volunteer.auth.models import User

    barrier = threading.Barrier(len(user_ids))
    outcomes: list[str] = []

    def worker(user_id):
        with app.app_context(), Session(db.engine) as session:
            issue = session.get(Issue, issue_id)
            user = session.get(User, user_id)
            with session.no_autoflush:  # nothing reaches the database before the race
                transition(user, issue, "accept", Details(comment=f"by {user_id}"))
            barrier.wait()
            try:
                session.commit()
                outcomes.append("won")
            except StaleDataError:
                session.rollback()
                outcomes.append("stale")

    threads = [threading.Thread(target=worker, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def test_two_simultaneous_transitions_cannot_both_win(app, place):
    """The version column: of two simultaneous accepts exactly one wins (run on PostgreSQL in
    CI; on SQLite the database serialises writers, and the rule holds the same way)."""
    issue = file_issue(place["member"], IssueInput(title="t", description="d",
                                                   category="facilities", lat=30.7571,
                                                   lon=121.3531))
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises them")
    outcomes = _concurrent_accepts(app, issue.id, [place["member"].id, place["leader"].id])
    assert sorted(outcomes) == ["stale", "won"]
    db.session.expire_all()
    fresh = db.session.get(Issue, issue.id)
    assert fresh.version == 2 and [e.action for e in fresh.events] == ["report", "accept"]


def test_stale_session_loses_on_any_database(app, place):
    issue = file_issue(place["member"], IssueInput(title="t", description="d",
                                                   category="facilities", lat=30.7571,
                                                   lon=121.3531))
    db.session.commit()
    from volunteer.auth.models import User

    with Session(db.engine) as s1, Session(db.engine) as s2:
        a, b = s1.get(Issue, issue.id), s2.get(Issue, issue.id)
        member, leader = s1.get(User, place["member"].id), s2.get(User, place["leader"].id)
        with s1.no_autoflush, s2.no_autoflush:
            transition(member, a, "accept")
            transition(leader, b, "accept")
        s1.commit()
        with pytest.raises(StaleDataError):
            s2.commit()
