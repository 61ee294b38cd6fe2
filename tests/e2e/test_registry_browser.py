"""In a phone-sized browser: a party member registers with a map pin and a skill found by a
synonym (大夫 → 医生)."""
import pytest
from playwright.sync_api import expect

from volunteer.auth.models import User
from volunteer.extensions import db

pytestmark = pytest.mark.e2e


def test_party_member_registers_with_pin_and_synonym(live_server, page, factory):
    village = factory.village(code="XJ", name="新江村")
    factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)  # at the map's centre
    page.goto(live_server + "/")
    page.get_by_test_id("home-party").click()
    page.fill("#name", "童小芳")
    page.fill("#phone", "13912345678")
    page.fill("#password", "abc12345")
    page.fill("#confirm", "abc12345")
    page.fill("#work_unit", "金山区人民医院")
    page.fill("#party_branch", "第一党支部")
    page.fill("#party_registered_on", "2026-10-01")

    # A pin in the middle of the map finds the grid (tiles need not load).
    page.locator("#pin-map").click()  # scrolls it into view and taps its centre
    expect(page.locator("#grid")).to_have_value("XJ-01")
    assert page.locator("#village").input_value() == "XJ"
    assert page.locator("#lat").input_value() != ""

    # Typing a synonym filters the list down to the skill.
    page.fill("#skill-search", "大夫")
    assert page.locator("#skill-doctor").is_visible()
    assert not page.locator("#skill-lawyer").is_visible()
    page.check("#skill-doctor")
    assert page.locator("#cert-doctor").is_visible()  # regulated: certificate inputs appear
    page.check("#availability-2")
    page.check("#consent")
    page.locator("[data-testid=volunteer-form] [type=submit]").click()
    page.wait_for_url(live_server + "/volunteers/me")

    user = db.session.scalar(db.select(User).where(User.phone == "13912345678"))
    profile = user.profile
    assert profile.home_grid.code == "XJ-01" and profile.location_source == "pin"
    assert abs(profile.lat - 30.757) < 0.03 and abs(profile.lon - 121.353) < 0.03  # the tap
    assert [vs.skill.code for vs in profile.skills] == ["doctor"]
    assert profile.is_party_member and profile.party_status == "pending"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
