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


def _tap_at(page, lat, lon):
    """Tap the pin map where (lat, lon) is shown; the point must be in view."""
    xy = page.evaluate("""([lat, lon]) => {
        const el = document.getElementById('pin-map');
        const p = el.gridMap.latLngToContainerPoint(window.gridMap.datumOf(el).toMap(lat, lon));
        return [p.x, p.y, el.clientWidth, el.clientHeight];
    }""", [lat, lon])
    assert 5 < xy[0] < xy[2] - 5 and 5 < xy[1] < xy[3] - 5, xy
    page.locator("#pin-map").click(position={"x": xy[0], "y": xy[1]})


def test_chosen_village_and_grid_are_kept_until_the_person_agrees(live_server, page, factory):
    xj = factory.village(code="XJ", name="新江村")
    factory.grid(xj, code="XJ-01", lat=30.757, lon=121.353)
    js = factory.village(code="JS", name="金山村")
    factory.grid(js, code="JS-01", lat=30.757, lon=121.361)  # about 770 m east of XJ-01
    page.context.grant_permissions(["geolocation"], origin=live_server)
    page.context.set_geolocation({"latitude": 30.7571, "longitude": 121.3529, "accuracy": 20})
    page.goto(live_server + "/volunteers/register/skilled")
    page.fill("#name", "陈大明")
    page.fill("#phone", "13912345679")
    page.fill("#password", "abc12345")
    page.fill("#confirm", "abc12345")

    # Choosing the 村居 and grid centres the map on that 村居.
    page.select_option("#village", "JS")
    page.select_option("#grid", "JS-01")
    centre = page.evaluate("""() => {
        const el = document.getElementById('pin-map');
        const c = el.gridMap.getCenter();
        return window.gridMap.datumOf(el).fromMap(c.lat, c.lng);
    }""")
    assert abs(centre[0] - 30.757) < 0.001 and abs(centre[1] - 121.361) < 0.001

    # A tap nearer 新江村's grid is outside 金山村: the page asks; "no" keeps the choice.
    ask = page.get_by_test_id("pin-ask")
    _tap_at(page, 30.757, 121.3562)
    expect(ask).to_be_visible()
    expect(ask).to_contain_text("新江村")
    expect(ask).to_contain_text("金山村")
    ask.locator("[data-role=ask-no]").click()
    expect(ask).to_be_hidden()
    assert page.locator("#village").input_value() == "JS"
    assert page.locator("#grid").input_value() == "JS-01"
    assert page.locator("#lat").input_value() == ""  # the pin is gone

    # While it asks, the form is not sent; tapping again and saying "yes" moves to that grid.
    _tap_at(page, 30.757, 121.3562)
    expect(ask).to_be_visible()
    page.check("#consent")
    page.locator("[data-testid=volunteer-form] [type=submit]").click()
    assert page.url.endswith("/volunteers/register/skilled") and ask.is_visible()
    ask.locator("[data-role=ask-yes]").click()
    expect(page.locator("#grid")).to_have_value("XJ-01")
    assert page.locator("#village").input_value() == "XJ"
    assert page.locator("#lat").input_value() != ""

    # "Use my position" puts the pin where the phone is (inside the chosen 村居: no question).
    page.locator("[data-role=locate]").click()
    expect(page.locator("#lat")).to_have_value("30.757100")
    expect(page.locator("#pin-status")).to_contain_text("新江村")
    assert ask.is_hidden()
    assert page.locator("#grid").input_value() == "XJ-01"

    page.check("#skill-doctor")
    page.check("#availability-2")
    page.locator("[data-testid=volunteer-form] [type=submit]").click()
    page.wait_for_url(live_server + "/volunteers/me")
    user = db.session.scalar(db.select(User).where(User.phone == "13912345679"))
    assert user.profile.home_grid.code == "XJ-01" and user.profile.location_source == "pin"
    assert abs(user.profile.lat - 30.7571) < 1e-5
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
