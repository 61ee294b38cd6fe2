"""On a phone (360 px): a resident files an issue from their position with a map pin and a photo,
seeing the duplicate hint on the way; a neighbour taps "me too" instead of filing again."""
import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from volunteer.extensions import db
from volunteer.issues.models import Issue, IssueFollower
from volunteer.issues.services import IssueInput, file_issue

from .test_issue_browser import login

pytestmark = pytest.mark.e2e
HERE = {"latitude": 30.7571, "longitude": 121.3531, "accuracy": 15}


@pytest.fixture
def phone(browser):
    """A 360 px page whose browser reports a position in the town."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN",
                                  geolocation=HERE, permissions=["geolocation"])
    page = context.new_page()
    page.set_default_timeout(20000)
    expect.set_options(timeout=20000)
    yield page
    context.close()


def photo_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def test_file_with_position_pin_photo_and_duplicate_hint(live_server, phone, factory):
    village = factory.village(code="XJ", name="新江村")
    grid = factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    factory.user("grid_leader", grid, name="网格长")
    someone = factory.user("resident", name="早报居民")
    existing = file_issue(someone, IssueInput(title="绿地路灯不亮", description="晚上路灯全灭",
                                              category="facilities", lat=30.7572, lon=121.3532))
    db.session.commit()
    resident = factory.user("resident", name="新居民")

    page = phone
    login(page, live_server, resident)
    page.goto(live_server + "/issues/new")
    page.fill("#title", "路灯不亮")
    page.fill("#description", "绿地里的路灯晚上都不亮了")
    page.select_option("#category", "facilities")
    page.locator("[data-role=locate]").click()
    expect(page.locator("#grid")).to_have_value("XJ-01")
    hint = page.locator("[data-testid=similar]")
    expect(hint.locator(f"li[data-issue='{existing.id}']")).to_be_visible()
    # Residents see no other reporter, no title, nothing judged from the hidden text.
    expect(hint.locator(".badge")).to_have_count(0)
    assert "早报居民" not in hint.inner_text() and "绿地路灯不亮" not in hint.inner_text()

    # Mine is different after all: correct the pin by a tap, add a photo, file it.
    page.locator("#pin-map").scroll_into_view_if_needed()
    box = page.locator("#pin-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2 + 30)
    expect(page.locator("[data-role=lat]")).not_to_have_value("30.757100")
    page.set_input_files("#photos", files=[{"name": "lamp.jpg", "mimeType": "image/jpeg",
                                            "buffer": photo_bytes()}])
    page.locator("#submit").click()
    expect(page.locator(".alert-success")).to_be_visible()
    issue = db.session.scalar(db.select(Issue).where(Issue.reporter_id == resident.id))
    assert issue.grid_id == grid.id and len(issue.photos) == 1
    assert (issue.lat, issue.lon) != (HERE["latitude"], HERE["longitude"])  # the tapped pin
    img = page.locator("[data-testid=photos] img").first
    expect(img).to_be_visible()
    # A lazy image is visible before its bytes arrive: wait for it to finish loading.
    img.element_handle().wait_for_element_state("stable")
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    assert page.evaluate("(el) => el.naturalWidth", img.element_handle()) == 800
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_neighbour_says_me_too_from_the_hint(live_server, phone, factory):
    village = factory.village(code="XJ", name="新江村")
    factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    someone = factory.user("resident", name="早报居民")
    existing = file_issue(someone, IssueInput(title="绿地路灯不亮", description="晚上路灯全灭",
                                              category="facilities", lat=30.7572, lon=121.3532))
    db.session.commit()
    neighbour = factory.user("resident", name="邻居")

    page = phone
    login(page, live_server, neighbour)
    page.goto(live_server + "/issues/new")
    page.fill("#title", "路灯坏了")
    page.locator("[data-role=locate]").click()
    item = page.locator(f"[data-testid=similar] li[data-issue='{existing.id}']")
    item.locator("button").click()
    page.wait_for_url(f"{live_server}/issues/{existing.id}", wait_until="domcontentloaded")
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("[data-testid=me-too-count]")).to_be_visible()
    assert db.session.scalar(db.select(IssueFollower.user_id)) == neighbour.id
    assert db.session.scalar(db.select(db.func.count(Issue.id))) == 1


@pytest.mark.parametrize("where", ["refused", "far away"])
def test_position_refused_or_far_away_leaves_no_pin(live_server, browser, factory, where):
    village = factory.village(code="XJ", name="新江村")
    factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    member = factory.user("grid_member", factory.grid(village, code="XJ-02"), name="网格员")
    options = {"permissions": []} if where == "refused" else {
        "permissions": ["geolocation"], "geolocation": {"latitude": 39.9, "longitude": 116.4}}
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN",
                                  **options)
    page = context.new_page()
    try:
        login(page, live_server, member)
        page.goto(live_server + "/issues/new")
        page.locator("[data-role=locate]").click()
        expected = "无法获取您的位置" if where == "refused" else "超过 3 公里"
        expect(page.locator("#pin-status")).to_contain_text(expected)
        expect(page.locator("[data-role=lat]")).to_have_value("")
    finally:
        context.close()
