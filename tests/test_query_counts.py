"""List pages run the same number of SQL statements whatever the number of rows they show."""
from datetime import date, time, timedelta

import pytest

from tests.conftest import count_queries
from volunteer.extensions import db
from volunteer.inbox import services as inbox
from volunteer.invitations.services import Pick, invite
from volunteer.issues.services import IssueInput, file_issue
from volunteer.matching import store
from volunteer.org.models import GridPoint, ServiceItem
from volunteer.services.models import SessionSignup
from volunteer.services.schedule import Recurrence
from volunteer.services.sessions import schedule


@pytest.fixture(autouse=True)
def fresh(app, monkeypatch):
    monkeypatch.setattr(store, "REFRESH_SECONDS", 0.0)
    store.forget()
    yield
    store.forget()


@pytest.fixture
def town(factory):
    village = factory.village(code="VA")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    point = GridPoint(grid=grid, name="网格点", address="1号", lat=30.757, lon=121.353)
    db.session.add(point)
    db.session.commit()
    return {"grid": grid, "point": point, "leader": factory.user("grid_leader", grid),
            "member": factory.user("grid_member", grid), "resident": factory.user("resident")}


def add_rows(town, vol, k: int):
    """k more service items with a session each, signed up by the resident; k more issues
    with an invitation each to the volunteer; notifications of both kinds."""
    for _ in range(k):
        n = db.session.scalar(db.select(db.func.count(ServiceItem.id))) + 1
        item = ServiceItem(code=f"S{n:02d}", name=f"服务{n}", category="c")
        db.session.add(item)
        db.session.flush()
        (s,) = schedule(town["leader"], item, town["point"], Recurrence(
            first=date.today() + timedelta(days=2 + n), start=time(9), end=time(10)), 5, 1)
        db.session.add(SessionSignup(session_id=s.id, user_id=town["resident"].id))
        inbox.notify([town["resident"].id], "sessions", "session_reminder", session=s)
        issue = file_issue(town["member"], IssueInput(title="t", description="路灯不亮",
                                                      category="facilities", lat=30.7571,
                                                      lon=121.3531))
        (inv,) = invite(town["leader"], issue, [Pick(vol.id)])
        inbox.notify([town["resident"].id], "my_report", "accept", issue)
        db.session.commit()


PAGES = ["/services/", "/services/points/", "/services/points/1", "/services/mine",
         "/inbox/", "/tasks/"]


def test_list_pages_do_not_grow_with_rows(client, auth, town, factory):
    vol = factory.volunteer("志愿者", ["electrician"], grid=town["grid"], monthly_limit=100)
    add_rows(town, vol, 2)
    auth.login(user=town["resident"])
    before = {p: count_queries(client, p) for p in PAGES if p != "/tasks/"}
    auth.logout()
    auth.login(user=vol)
    before["/tasks/"] = count_queries(client, "/tasks/")
    auth.logout()
    add_rows(town, vol, 4)
    auth.login(user=town["resident"])
    after = {p: count_queries(client, p) for p in PAGES if p != "/tasks/"}
    auth.logout()
    auth.login(user=vol)
    after["/tasks/"] = count_queries(client, "/tasks/")
    assert after == before
