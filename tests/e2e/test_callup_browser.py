"""An emergency call-up on phones (360 px): the village admin starts it; a volunteer opens the
notice, taps "I'm coming" and checks in with the phone's position; the admin's live page,
refreshing itself, shows the arrival with the distance to the muster point."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from volunteer.callups.models import CallUp, CallUpResponse, CheckVia
from volunteer.common import to_local, utcnow
from volunteer.extensions import db

from .test_issue_browser import login

pytestmark = pytest.mark.e2e


def test_call_up_answer_check_in_live(live_server, browser, page, factory):
    village = factory.village(code="JW", name="金湾居民区")
    grid = factory.grid(village, code="JW-01", lat=30.757, lon=121.353)
    admin = factory.user("village_admin", village, name="书记")
    vol = factory.volunteer("老李", ["cleaning"], grid=grid, lat=30.7572, lon=121.3531)
    factory.volunteer("老张", ["cleaning"], grid=grid)

    # The village admin starts the call-up (a phone too).
    login(page, live_server, admin)
    page.goto(f"{live_server}/callups/new")
    page.fill("#title", "台风来袭：转移低洼地区老人")
    page.fill("#muster", "金湾居民区居委会门口")
    page.fill("#needed", "2")
    page.fill("#starts_at", to_local(utcnow() + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("[data-testid=start]").click()
    expect(page.locator("[data-testid=counts] [data-count=no_answer]")).to_have_text("2")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    callup = db.session.scalar(db.select(CallUp))

    # The volunteer, on a phone that shares its position, answers and checks in.
    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN",
                                geolocation={"latitude": 30.7571, "longitude": 121.3532},
                                permissions=["geolocation"])
    vp = phone.new_page()
    vp.set_default_timeout(20000)
    try:
        login(vp, live_server, vol)
        vp.locator("[data-testid=inbox-link]").dispatch_event("click")
        vp.locator("[data-testid=inbox] button").first.click()
        vp.wait_for_url(f"{live_server}/callups/{callup.id}/answer",
                        wait_until="domcontentloaded")
        vp.locator("[data-testid=coming]").first.click()
        # The button shows while the page is still parsed; its script (which asks for the
        # position before sending) runs at the end: wait for it, as a thumb would.
        expect(vp.locator("[data-testid=checkin]")).to_be_visible()
        vp.wait_for_load_state("load")
        vp.locator("[data-testid=checkin]").click()
        expect(vp.locator("[data-testid=checkout]")).to_be_visible()
        assert vp.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        phone.close()
    r = db.session.scalar(db.select(CallUpResponse).where(CallUpResponse.volunteer_id == vol.id))
    assert r.checkin_via == CheckVia.button and r.checkin_lat == pytest.approx(30.7571)

    # The live page refreshes itself: the arrival appears, with the distance, not the place.
    expect(page.locator("[data-testid=counts] [data-count=arrived]")).to_have_text(
        "1", timeout=30000)
    row = page.locator(f"[data-person='{r.id}']")
    expect(row).to_contain_text(re.compile(r"20 ?(m|米)"))  # about 22 m, to 10 m
    assert "30.7571" not in page.content()
