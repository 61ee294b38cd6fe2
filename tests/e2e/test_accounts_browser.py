"""In a real browser at phone width: register, log out, log in, switch language."""
import re

import pytest
from playwright.sync_api import expect

from volunteer.auth.models import User
from volunteer.extensions import db

pytestmark = pytest.mark.e2e


def test_register_login_and_switch_language(live_server, page):
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.locator(".navbar-toggler").click()
    page.get_by_role("link", name="注册", exact=True).click()
    page.fill("#name", "阿卜杜热合曼·买买提")
    page.fill("#phone", "139 1234 5678")
    page.fill("#password", "abc12345")
    page.fill("#confirm", "abc12345")
    page.check("#consent")
    page.get_by_role("button", name="注册").click()
    page.wait_for_url(live_server + "/")
    assert page.locator(".alert-success").is_visible()
    assert db.session.scalar(db.select(User.phone)) == "13912345678"

    # Log out (the menu collapses at 360 px), then log in again.
    page.locator(".navbar-toggler").click()
    page.get_by_role("button", name="阿卜杜热合曼·买买提").or_(
        page.get_by_role("link", name="阿卜杜热合曼·买买提")).click()
    page.get_by_test_id("logout").click()
    page.wait_for_url(live_server + "/")
    page.goto(live_server + "/auth/login")
    page.fill("#login", "13912345678")
    page.fill("#password", "wrong-password1")
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".invalid-feedback")).to_be_visible()
    page.fill("#password", "abc12345")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(live_server + "/")

    # Switch to English; it persists across pages.
    page.locator(".navbar-toggler").click()
    expect(page.locator("#nav")).to_have_class(re.compile(r"\bshow\b"))  # menu open, settled
    page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")  # waits for the new page
    page.goto(live_server + "/auth/tokens")
    assert page.get_by_role("heading", name="API tokens").is_visible()
    # The page fits a phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(_shots() / "tokens-en-360.png"), full_page=True)


def _shots():
    from pathlib import Path

    path = Path(__file__).parents[2] / "test-results"
    path.mkdir(exist_ok=True)
    return path
