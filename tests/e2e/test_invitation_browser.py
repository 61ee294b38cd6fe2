"""A leader invites a suggested volunteer; the volunteer accepts on a phone (360 px); the
leader verifies and closes the issue and confirms the volunteer's hours."""
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.hours.models import ServiceHours
from volunteer.invitations.models import Invitation
from volunteer.issues.models import Issue
from volunteer.issues.services import Details, IssueInput, file_issue, transition
from volunteer.matching import store

from .test_issue_browser import login

pytestmark = pytest.mark.e2e


def test_invite_accept_close_confirm_hours(live_server, browser, page, factory):
    village = factory.village(code="XJ", name="新江村")
    grid = factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    leader = factory.user("grid_leader", grid, name="网格长")
    member = factory.user("grid_member", grid, name="网格员")
    sparky = factory.volunteer("电工老王", ["electrician"], grid=grid, lat=30.7575, lon=121.3535)
    start = utcnow().replace(microsecond=0) + timedelta(days=2)
    issue = file_issue(member, IssueInput(
        title="绿地路灯全部不亮", description="小区绿地的路灯晚上全部不亮，物业找不到原因",
        category="facilities", lat=30.7571, lon=121.3531, needed_from=start,
        needed_until=start + timedelta(hours=2)))
    db.session.commit()
    store.forget()  # index the volunteer now, not at the next refresh
    store.get_matcher()

    # The leader invites the suggested electrician.
    desk = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    lp = desk.new_page()
    lp.set_default_timeout(20000)
    try:
        login(lp, live_server, leader)
        lp.goto(f"{live_server}/issues/{issue.id}")
        row = lp.locator(f"[data-testid=suggestions] li[data-volunteer='{sparky.id}']")
        row.locator("[data-testid=invite-one]").click()
        expect(lp.locator(".alert-success")).to_contain_text("电工老王")
        expect(lp.locator("#helpers [data-state=invited]")).to_have_count(1)

        # The volunteer answers on a phone: one tap.
        login(page, live_server, sparky)
        page.locator("[data-testid=inbox-link]").dispatch_event("click")
        page.locator("[data-testid=inbox] button").first.click()
        page.wait_for_url(f"{live_server}/tasks/*", wait_until="domcontentloaded")
        page.locator("[data-testid=accept]").click()
        expect(page.locator("[data-testid=contact]")).to_contain_text("网格长")
        expect(page.locator("[data-testid=ics]")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        inv = db.session.scalar(db.select(Invitation))
        assert inv.status == "accepted"

        # The work is done; the leader verifies, closes and confirms the hours.
        fresh = db.session.get(Issue, issue.id)
        for action in ("accept", "start"):
            transition(member, fresh, action)
        transition(member, fresh, "resolve", Details(resolution="电工查出空开跳闸，已修复"))
        db.session.commit()
        lp.goto(f"{live_server}/issues/{issue.id}")
        lp.locator("form[data-action=verify] [type=submit]").click()
        expect(lp.locator(".alert-success")).to_be_visible()
        lp.locator(f"[data-invitation='{inv.id}'] [data-testid=hours-input]").fill("2.5")
        lp.locator(f"[data-invitation='{inv.id}'] [data-testid=confirm-hours]").click()
        expect(lp.locator(".alert-success")).to_be_visible()
    finally:
        desk.close()
    entry = db.session.scalar(db.select(ServiceHours))
    assert entry.status == "confirmed" and entry.hours == Decimal("2.5")
    assert entry.confirmed_by_id == leader.id

    # The volunteer sees the hours on their service record.
    page.goto(live_server + "/hours/")
    expect(page.locator("[data-testid=confirmed-total]")).to_have_text("2.5")
