"""In a phone-sized browser: a grid member files an issue with a map pin; the grid member
handles it and the grid leader verifies and closes it."""
import pytest
from playwright.sync_api import expect

from volunteer.extensions import db
from volunteer.issues.models import Issue

from ..conftest import PASSWORD

pytestmark = pytest.mark.e2e


def login(page, base, user):
    page.goto(base + "/auth/login")
    page.fill("#login", user.phone)
    page.fill("#password", PASSWORD)
    page.locator("main [type=submit]").click()
    page.wait_for_url(base + "/")


def act(page, action, **fields):
    form = page.locator(f"form[data-action={action}]")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()


def test_file_an_issue_and_walk_it_to_closure(live_server, page, factory):
    village = factory.village(code="XJ", name="新江村")
    grid = factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    member = factory.user("grid_member", grid, name="网格员甲")
    leader = factory.user("grid_leader", grid, name="网格长乙")

    login(page, live_server, member)
    page.goto(live_server + "/issues/new")
    page.fill("#title", "绿地路灯不亮")
    page.fill("#description", "小区绿地的路灯晚上全部不亮，居民出行不安全。")
    page.select_option("#category", "facilities")
    page.select_option("#grid", "")
    page.locator("#pin-map").click()
    expect(page.locator("#grid")).to_have_value("XJ-01")
    page.locator("[data-testid=issue-form] [type=submit]").click()
    page.wait_for_url(f"{live_server}/issues/*")
    issue = db.session.scalar(db.select(Issue))
    assert issue.grid_id == grid.id and issue.title == "绿地路灯不亮"

    act(page, "accept")
    act(page, "start")
    act(page, "resolve", resolution="电工排查发现空开跳闸，已修复", hours_spent="2",
        cost_saved_yuan="10000")
    assert page.locator("form[data-action=verify]").count() == 0  # not one's own work
    page.locator("[data-testid=logout]").dispatch_event("click")
    page.wait_for_url(live_server + "/")

    login(page, live_server, leader)
    page.goto(f"{live_server}/issues/{issue.id}")
    # On a phone the leader's next step is on the first screen, without scrolling.
    box = page.locator("form[data-action=verify] [type=submit]").bounding_box()
    assert box["y"] + box["height"] <= page.viewport_size["height"]
    act(page, "verify")
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.status == "closed" and issue.cost_saved_yuan == 10000
    assert [e.action for e in issue.events] == ["report", "accept", "start", "resolve", "verify"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_the_resident_rates_with_a_tap_on_a_phone(live_server, page, factory):
    from volunteer.issues.services import Details, IssueInput, file_issue, transition

    village = factory.village(code="XJ", name="新江村")
    grid = factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    member = factory.user("grid_member", grid, name="网格员甲")
    leader = factory.user("grid_leader", grid, name="网格长乙")
    resident = factory.user("resident", name="居民丙")
    issue = file_issue(resident, IssueInput(
        title="楼道灯坏了", description="三号楼楼道灯不亮。", category="facilities",
        lat=30.7571, lon=121.3531))
    for action in ("accept", "start"):
        transition(member, issue, action)
    transition(member, issue, "resolve", Details(resolution="换了灯泡"))
    transition(leader, issue, "verify")
    db.session.commit()

    login(page, live_server, resident)
    page.goto(f"{live_server}/issues/{issue.id}")
    star = page.get_by_test_id("rate-4")
    box = star.bounding_box()
    assert box["y"] + box["height"] <= page.viewport_size["height"] and box["height"] >= 44
    # Reopening is folded: a first tap shows it, a second confirms.
    reopen = page.locator("form[data-action=reopen] [type=submit]")
    expect(reopen).to_be_hidden()
    page.locator("details[data-more=reopen] > summary").click()
    expect(reopen).to_be_visible()
    page.locator("form[data-action=rate] [name=comment]").fill("很快就修好了")
    star.click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert (issue.rating, issue.rating_comment, issue.status) == (4, "很快就修好了", "closed")
