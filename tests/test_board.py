"""The public board: anonymous, no personal data, rounded places, closure speed, counts."""
import re
from datetime import date, time, timedelta

from volunteer.extensions import db
from volunteer.issues.services import Details, IssueInput, file_issue, transition
from volunteer.org.models import GridPoint, ServiceItem
from volunteer.services.models import SessionSignup
from volunteer.services.schedule import Recurrence
from volunteer.services.sessions import schedule

PUBLIC = ["/", "/board/", "/board/?status=open", "/board/?status=closed&page=2",
          "/board/?village=VA", "/board/?village=<script>&status=x&page=-1",
          "/volunteers/available", "/volunteers/available?village=VA", "/volunteers/join",
          "/terms", "/auth/login", "/auth/register", "/auth/forgot", "/auth/reset",
          "/volunteers/register/party", "/volunteers/register/skilled", "/board/map.json",
          "/board/map.json?village=VA&status=open", "/board/map.json?village=x&status=<b>",
          "/services/", "/services/?village=VA", "/services/?lat=30.757&lon=121.353",
          "/services/items/S01", "/services/points/", "/services/points/?kind=party",
          "/services/points/map.json", "/services/points/1", "/services/points/1/calendar",
          "/services/points/1/calendar?month=2099-99", "/services/sessions/1"]


def setup_town(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    member = factory.user("grid_member", grid, name="欧阳网格员", phone="13911112222")
    leader = factory.user("grid_leader", grid, name="司马网格长", phone="13933334444")
    reporter = factory.user("resident", name="诸葛居民", phone="13955556666")
    issues = []
    for i in range(3):
        issue = file_issue(reporter, IssueInput(
            title=f"诸葛居民家门口{i}", description="独居的诸葛居民家水管漏水 13955556666",
            category="housing_repair", lat=30.757123, lon=121.353456))
        issues.append(issue)
    db.session.flush()
    for action in ("accept", "start"):
        transition(member, issues[0], action)
    transition(member, issues[0], "resolve", Details(resolution="修好了"))
    transition(leader, issues[0], "verify")
    issues[0].created_at = issues[0].closed_at - timedelta(days=2)
    # A grid point with a session that the reporter signed up for.
    point = GridPoint(grid=grid, name="甲村网格点", address="甲村1号", lat=30.757, lon=121.353)
    item = ServiceItem(code="S01", name="免费义诊", category="健康服务", description="量血压")
    db.session.add_all([point, item])
    db.session.flush()
    (session,) = schedule(leader, item, point, Recurrence(
        first=date.today() + timedelta(days=2), start=time(9), end=time(11)), 10, 1)
    db.session.add(SessionSignup(session_id=session.id, user_id=reporter.id))
    db.session.commit()
    return issues


def test_board_is_public_and_shows_no_personal_data(client, factory):
    setup_town(factory)
    body = client.get("/board/").get_data(as_text=True)
    assert "甲村" in body and "居家维修" in body
    for secret in ("诸葛", "欧阳", "司马", "13955556666", "水管漏水", "30.757123", "121.353456"):
        assert secret not in body
    assert "30.757, 121.353" in body  # rounded to ~100 m
    assert client.get("/board/").status_code == 200


def test_average_days_to_close_and_counts(client, factory):
    setup_town(factory)
    body = client.get("/board/").get_data(as_text=True)
    avg = re.search(r'data-testid="avg-days">([^<]+)<', body).group(1)
    assert abs(float(avg) - 2.0) < 0.1
    assert re.search(r"甲村</a></td><td[^>]*>2</td><td[^>]*>1</td><td[^>]*>3</td>", body)


def test_filters(client, factory):
    issues = setup_town(factory)
    body = client.get("/board/?status=closed").get_data(as_text=True)
    assert f"#{issues[0].id} " in body and f"#{issues[1].id} " not in body


def test_anonymous_crawl_of_public_pages(client, factory):
    """Every public page answers without a server error and shows no phone or full name."""
    setup_town(factory)
    for path in PUBLIC:
        resp = client.get(path)
        assert resp.status_code == 200, path
        body = resp.get_data(as_text=True)
        assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", body), path
        for name in ("诸葛居民", "欧阳网格员", "司马网格长"):
            assert name not in body, (path, name)
