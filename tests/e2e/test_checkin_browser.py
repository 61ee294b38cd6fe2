"""QR check-in at a service session on phones (390 px): the grid leader opens the session's
check-in code (a QR image that refreshes itself); a volunteer of the session's staff, on a
phone that shares its position, opens the link the QR holds, checks in with one tap, and
later checks out the same way (in English); the hours from check-in to check-out wait for
the organiser's confirmation, and the organiser's page shows who is here."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from volunteer.checkin.codes import CheckVia
from volunteer.checkin.models import CheckIn
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.org.models import GridPoint, ServiceItem
from volunteer.services.models import ServiceSession, SessionSignup, SignupStatus

from .test_issue_browser import login

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


def _phone(browser, live_server, user, lang=None):
    context = browser.new_context(viewport=PHONE, locale="zh-CN",
                                  geolocation={"latitude": 30.7571, "longitude": 121.3532},
                                  permissions=["geolocation"])
    if lang:
        context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
    page = context.new_page()
    page.set_default_timeout(20000)
    login(page, live_server, user)
    return context, page


def test_session_check_in_and_out_by_qr(app, live_server, browser, factory):
    app.config["CHECKIN_ROTATE_MINUTES"] = 0.1  # six seconds, to see the code change
    village = factory.village(code="XJ", name="新江村")
    grid = factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    leader = factory.user("grid_leader", grid, name="网格长")
    doctor = factory.volunteer("乡村医生", ["doctor"], grid=grid)
    resident = factory.user("resident", name="老王")
    point = GridPoint(grid=grid, name="新江村第一网格点", address="新江路1号", lat=30.757,
                      lon=121.353)
    item = ServiceItem(code="S95", name="免费义诊", category="健康服务")
    db.session.add_all([point, item])
    now = utcnow().replace(microsecond=0)
    session = ServiceSession(item=item, point=point, starts_at=now - timedelta(minutes=5),
                             ends_at=now + timedelta(hours=2), capacity=5, staff_needed=1,
                             created_by_id=leader.id)
    db.session.add(session)
    db.session.flush()
    inv = Invitation(kind="session", session_id=session.id, volunteer_id=doctor.id,
                     invited_by_id=leader.id, status=InvitationStatus.accepted,
                     starts_at=session.starts_at, ends_at=session.ends_at)
    db.session.add_all([inv, SessionSignup(session_id=session.id, user_id=resident.id,
                                           status=SignupStatus.confirmed)])
    db.session.commit()

    # The organiser shows the code on the phone (from the session's page).
    org_ctx, org = _phone(browser, live_server, leader)
    vol_ctx = res_ctx = None
    try:
        org.goto(f"{live_server}/services/sessions/{session.id}/manage")
        org.locator("[data-testid=checkin-code]").click()
        qr = org.locator("[data-testid=qr]")
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.naturalWidth") > 0  # the SVG image loaded
        first = qr.get_attribute("data-checkin-link")
        assert first.startswith(live_server + "/checkin/")
        assert org.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # It refreshes itself: a new code for the next window.
        expect(qr).not_to_have_attribute("data-checkin-link", first, timeout=30000)
        # Back to the usual three minutes, so that a slow machine has time to tap.
        app.config["CHECKIN_ROTATE_MINUTES"] = 3
        org.reload()
        expect(qr).to_be_visible()

        # The volunteer's phone camera opens the link the QR holds; one tap checks in.
        vol_ctx, vol = _phone(browser, live_server, doctor, lang="en")
        vol.goto(qr.get_attribute("data-checkin-link"))
        expect(vol.locator("[data-testid=scan-confirm]")).to_contain_text(
            re.compile(r"I.m here: check in"))
        assert vol.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        vol.locator("[data-testid=scan-confirm]").click()
        vol.wait_for_url(f"{live_server}/tasks/{inv.id}", wait_until="domcontentloaded")
        expect(vol.locator("[data-testid=checkin-state]")).to_contain_text("Checked in at")
        record = db.session.scalar(db.select(CheckIn).where(CheckIn.invitation_id == inv.id))
        assert record.checkin_via == CheckVia.qr
        assert record.checkin_lat == pytest.approx(30.7571)

        # A resident who signed up checks in the same way (in Chinese).
        res_ctx, res = _phone(browser, live_server, resident)
        res.goto(qr.get_attribute("data-checkin-link"))
        expect(res.locator("[data-testid=scan-confirm]")).to_be_visible()
        res.locator("[data-testid=scan-confirm]").click()
        res.wait_for_url(f"{live_server}/services/mine", wait_until="domcontentloaded")
        expect(res.locator("[data-testid=checkin-state]")).to_be_visible()
        assert res.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # The organiser's page counts who is here.
        expect(org.locator("[data-testid=counts]")).to_have_text(
            re.compile(r"^(2 here now|在场 2 人)"), timeout=30000)

        # Leaving: the next scan checks out; the hours wait for the organiser.
        vol.goto(qr.get_attribute("data-checkin-link"))
        expect(vol.locator("[data-testid=scan-confirm]")).to_contain_text("check out")
        vol.locator("[data-testid=scan-confirm]").click()
        vol.wait_for_url(f"{live_server}/tasks/{inv.id}", wait_until="domcontentloaded")
        expect(vol.locator("[data-testid=measured-hours]")).to_be_visible()
        db.session.expire_all()
        entry = db.session.scalar(db.select(ServiceHours).where(
            ServiceHours.invitation_id == inv.id))
        assert entry.status == HoursStatus.proposed and entry.hours == Decimal("0.25")

        # The session's page shows who came; the attendance is ticked from the check-ins.
        org.goto(f"{live_server}/services/sessions/{session.id}/manage")
        expect(org.locator("[data-testid=attendance] [data-testid=checked-in]")).to_have_count(2)
        expect(org.locator(f"#staff-{inv.id}")).to_be_checked()
        assert "30.7571" not in org.content()
        assert org.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        for ctx in (vol_ctx, res_ctx, org_ctx):
            if ctx is not None:
                ctx.close()
