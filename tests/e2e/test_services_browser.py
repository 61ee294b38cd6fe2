"""On a phone (360 px): a resident finds a free clinic near them on the grid points' map and
signs up; the home page leads an anonymous visitor to the menu and the points."""
from datetime import time, timedelta

import pytest
from playwright.sync_api import expect

from volunteer.common import SHANGHAI
from volunteer.extensions import db
from volunteer.org.models import Department, GridPoint, ServiceItem
from volunteer.services.models import SessionSignup
from volunteer.services.schedule import Recurrence
from volunteer.services.sessions import schedule
from volunteer.skills.models import Skill

from .test_issue_browser import login

pytestmark = pytest.mark.e2e


def test_resident_finds_a_free_clinic_on_the_map_and_signs_up(live_server, page, factory):
    from datetime import datetime

    village = factory.village(code="XJ", name="新江村")
    town_id = village.town_id
    grid = factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    far = factory.grid(factory.village(code="VB", name="远村"), code="VB-01", lat=30.70,
                       lon=121.30)
    near_point = GridPoint(grid=grid, name="新江村第1网格网格点", address="新江村90号",
                           lat=30.7572, lon=121.3531, party_service_point=True)
    far_point = GridPoint(grid=far, name="远村网格点", address="远村1号", lat=30.70, lon=121.30)
    dept = Department(town_id=town_id, code="D01", name="社区卫生服务中心")
    db.session.add_all([near_point, far_point, dept])
    clinic = ServiceItem(code="S03", name="免费义诊", category="健康服务", description="量血压",
                         department=dept,
                         skill=db.session.scalar(db.select(Skill).where(Skill.code == "doctor")))
    db.session.add(clinic)
    db.session.commit()
    leader = factory.user("grid_leader", grid, name="网格长")
    day = datetime.now(SHANGHAI).date() + timedelta(days=2)
    (session,) = schedule(leader, clinic, near_point,
                          Recurrence(first=day, start=time(9), end=time(11)), 20, 1)
    db.session.commit()
    resident = factory.user("resident", name="居民甲")

    # Anonymous: the home page leads to the menu and the grid points.
    page.goto(live_server + "/")
    page.get_by_test_id("home-services").click()
    expect(page.locator("[data-item=S03] [data-testid=next]")).to_contain_text("新江村第1网格网格点")
    page.goto(live_server + "/")
    page.get_by_test_id("home-points").click()
    expect(page.locator(".leaflet-marker-icon")).to_have_count(2)

    # Logged in, on the map: the point near me, its free clinic, sign up.
    login(page, live_server, resident)
    page.goto(live_server + "/services/points/")
    marker = page.locator(".leaflet-marker-icon[title='新江村第1网格网格点']")
    marker.scroll_into_view_if_needed()
    marker.click()
    popup = page.locator(".leaflet-popup-content a")
    expect(popup).to_have_text("新江村第1网格网格点")
    popup.dispatch_event("click")  # (a real click can race the popup's auto-pan on a phone)
    page.wait_for_url(f"{live_server}/services/points/{near_point.id}",
                      wait_until="domcontentloaded")  # map tiles need not load
    page.locator(f"[data-testid=sessions] [data-session='{session.id}']").click()
    page.get_by_test_id("signup").click()
    expect(page.locator("[data-testid=my-signup]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    signup = db.session.scalar(db.select(SessionSignup))
    assert signup.user_id == resident.id and signup.status == "confirmed"
