"""The whole loop on 360 px phones, in Chinese and in English: a grid member reports an issue,
the grid leader accepts it and invites the suggested electrician, who accepts and finds the
address and a navigate link; the member resolves it and is told who will verify; the grid
instructor verifies from the inbox; the electrician proposes hours from the notice; the leader
confirms them from the review list; the member, who reported it, rates it with a star.

Each person uses a phone of their own (a browser context). In English the first phone taps the
language switch and the others carry the cookie it set."""
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from volunteer.common import to_local, utcnow
from volunteer.extensions import db
from volunteer.hours.models import ServiceHours
from volunteer.inbox.models import Notification
from volunteer.invitations.models import Invitation
from volunteer.issues.models import Issue
from volunteer.matching import store

from .test_issue_browser import act, login

pytestmark = pytest.mark.e2e
WIDTH = 360

TEXT = {  # the few words checked, in each language's own text
    "zh": {"html": "zh-CN", "waiting": "现等待", "instructor": "网格指导员", "navigate": "导航",
           "review": "时长确认"},
    "en": {"html": "en", "waiting": "Now waiting for verification by",
           "instructor": "Grid instructor", "navigate": "Navigate", "review": "Hours to confirm"},
}


def fits(page, lang):
    """The page is in the language asked for and no wider than the phone."""
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", TEXT[lang]["html"])
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, page.url


def on_first_screen(page, locator):
    box = locator.bounding_box()
    assert box is not None and box["y"] + box["height"] <= page.viewport_size["height"]


def notice(user, event):
    """The user's (latest) notification of ``event``."""
    db.session.expire_all()
    n = db.session.scalar(db.select(Notification).where(
        Notification.user_id == user.id, Notification.event == event)
        .order_by(Notification.id.desc()))
    assert n is not None, f"{user.name} has no {event!r} notice"
    return n


def open_notice(page, base, lang, n):
    """From the menu to the inbox, then tap the notice ``n``."""
    page.locator("[data-testid=inbox-link]").dispatch_event("click")  # in the folded menu
    page.wait_for_url(base + "/inbox/")
    fits(page, lang)
    page.locator(f"[data-testid=inbox] form[action='/inbox/{n.id}'] button").click()
    page.wait_for_load_state()


@pytest.fixture
def phones(browser, live_server):
    """``phone(user)``: a new 360 px browser, logged in as ``user`` in the test's language."""
    contexts, cookies = [], []

    @contextmanager
    def phone(user, lang):
        context = browser.new_context(viewport={"width": WIDTH, "height": 740},
                                      locale="zh-CN" if lang == "zh" else "en-US")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20000)
        expect.set_options(timeout=20000)
        if lang == "en" and not cookies:  # the first phone switches the language by a tap
            page.goto(live_server + "/auth/login")
            page.locator("[data-testid=lang-switch]").dispatch_event("click")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            cookies.extend(c for c in context.cookies() if c["name"] == "lang")
            assert cookies and cookies[0]["value"] == "en"
        elif lang == "en":
            context.add_cookies(cookies)
        login(page, live_server, user)
        fits(page, lang)
        try:
            yield page
        finally:
            context.close()

    yield phone
    for context in contexts:
        try:
            context.close()
        except Exception:  # already closed
            pass


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_loop_on_a_phone(following_matcher, live_server, phones, factory, lang):
    base = live_server
    words = TEXT[lang]
    village = factory.village(code="XJ", name="新江村")
    grid = factory.grid(village, code="XJ-01", lat=30.757, lon=121.353)
    member = factory.user("grid_member", grid, name="网格员甲")
    leader = factory.user("grid_leader", grid, name="网格长乙")
    instructor = factory.user("grid_instructor", grid, name="指导员丙")
    sparky = factory.volunteer("电工老王", ["electrician"], grid=grid, lat=30.7575, lon=121.3535)
    store.forget()  # index the volunteer now, not inside a page load
    store.get_matcher()

    # 1. The grid member reports on patrol: text, category, pin, landmark, time window.
    start = to_local(utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    with phones(member, lang) as page:
        page.goto(base + "/issues/new")
        fits(page, lang)
        page.fill("#title", "绿地路灯全部不亮")
        page.fill("#description", "小区绿地的路灯晚上全部不亮，物业找不到原因，需要电工排查。")
        page.select_option("#category", "facilities")
        page.select_option("#grid", "")
        page.locator("#pin-map").click()
        expect(page.locator("#grid")).to_have_value("XJ-01")
        page.fill("#address", "3号楼北侧绿地")
        page.fill("#needed_from", start.strftime("%Y-%m-%dT%H:%M"))
        page.fill("#needed_until", (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
        page.locator("[data-testid=issue-form] [type=submit]").click()
        page.wait_for_url(f"{base}/issues/*")
        expect(page.locator(".alert-success")).to_be_visible()
        fits(page, lang)
    issue = db.session.scalar(db.select(Issue))
    assert (issue.grid_id, issue.address, issue.reporter_id) == (grid.id, "3号楼北侧绿地", member.id)
    assert issue.needed_from is not None and issue.needed_until is not None

    # 2. The leader triages on a phone: the action first, then invites the suggested electrician.
    with phones(leader, lang) as page:
        page.goto(f"{base}/issues/{issue.id}")
        fits(page, lang)
        accept = page.locator("[data-testid=primary-action] form[data-action=accept] "
                              "[type=submit]")
        on_first_screen(page, accept)
        act(page, "accept")
        fits(page, lang)
        row = page.locator(f"[data-testid=suggestions] li[data-volunteer='{sparky.id}']")
        row.locator("[data-testid=invite-one]").click()
        expect(page.locator(".alert-success")).to_contain_text("电工老王")
        expect(page.locator("#helpers [data-state=invited]")).to_have_count(1)
        fits(page, lang)
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == "accepted"
    inv = db.session.scalar(db.select(Invitation).where(Invitation.issue_id == issue.id))
    assert (inv.volunteer_id, inv.status) == (sparky.id, "invited")

    # 3. The electrician accepts from the inbox and finds the address and the way there.
    with phones(sparky, lang) as page:
        open_notice(page, base, lang, notice(sparky, "invited"))
        page.wait_for_url(f"{base}/tasks/{inv.id}")
        fits(page, lang)
        page.locator("[data-testid=accept]").click()
        expect(page.locator("[data-testid=address]")).to_contain_text("3号楼北侧绿地")
        navigate = page.locator("[data-testid=navigate] a[href^='geo:']")
        expect(navigate).to_have_count(1)
        expect(navigate).to_contain_text(words["navigate"])
        assert navigate.get_attribute("href").startswith("geo:30.7")
        expect(page.locator("[data-testid=ics]")).to_be_visible()
        fits(page, lang)
    db.session.expire_all()
    assert db.session.get(Invitation, inv.id).status == "accepted"

    # 4. The member starts and resolves it; the page says who will verify.
    with phones(member, lang) as page:
        page.goto(f"{base}/issues/{issue.id}")
        act(page, "start")
        fits(page, lang)
        act(page, "resolve", resolution="电工查出空开跳闸，已修复", hours_spent="2")
        who = page.locator(".alert-info")
        expect(who).to_contain_text(words["waiting"])
        expect(who).to_contain_text("指导员丙")
        expect(who).to_contain_text(words["instructor"])
        assert "网格员甲" not in who.inner_text()  # never the resolver
        assert page.locator("form[data-action=verify]").count() == 0
        fits(page, lang)
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == "resolved"

    # 5. The grid instructor hears of it in the inbox, opens it and verifies.
    with phones(instructor, lang) as page:
        open_notice(page, base, lang, notice(instructor, "to_verify"))
        page.wait_for_url(f"{base}/issues/{issue.id}")
        fits(page, lang)
        on_first_screen(page, page.locator("form[data-action=verify] [type=submit]"))
        act(page, "verify")
        fits(page, lang)
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == "closed"
    assert db.session.get(Invitation, inv.id).status == "done"

    # 6. The electrician is asked for hours and proposes them from the notice.
    with phones(sparky, lang) as page:
        open_notice(page, base, lang, notice(sparky, "propose_hours"))
        page.wait_for_url(f"{base}/tasks/{inv.id}")
        fits(page, lang)
        page.fill("#hours", "2.5")
        page.fill("#hnote", "排查线路，更换空开")
        page.locator("[data-testid=propose-hours]").click()
        expect(page.locator(".alert-success")).to_be_visible()
        fits(page, lang)
    entry = db.session.scalar(db.select(ServiceHours).where(ServiceHours.invitation_id == inv.id))
    assert (entry.status, entry.hours, entry.note) == ("proposed", Decimal("2.5"),
                                                      "排查线路，更换空开")

    # 7. The leader confirms the hours from the review list and stays on it.
    with phones(leader, lang) as page:
        open_notice(page, base, lang, notice(leader, "hours_proposed"))
        page.wait_for_url(f"{base}/hours/review")
        expect(page.locator("h1")).to_have_text(words["review"])
        fits(page, lang)
        item = page.locator(f"[data-testid=proposed] [data-hours='{entry.id}']")
        expect(item).to_contain_text("排查线路，更换空开")  # the proposal keeps its note
        item.locator("[data-testid=hours-input]").fill("2")
        item.locator("[data-testid=confirm-hours]").click()
        expect(page.locator(".alert-success")).to_be_visible()
        assert page.url.split("?")[0] == f"{base}/hours/review"
        expect(page.locator(f"[data-hours='{entry.id}']")).to_have_count(0)
        fits(page, lang)
    db.session.expire_all()
    entry = db.session.get(ServiceHours, entry.id)
    assert (entry.status, entry.hours, entry.confirmed_by_id) == ("confirmed", Decimal("2"),
                                                                  leader.id)

    # 8. The member who reported it rates the result with a tap on a star.
    with phones(member, lang) as page:
        open_notice(page, base, lang, notice(member, "verify"))
        page.wait_for_url(f"{base}/issues/{issue.id}")
        star = page.get_by_test_id("rate-5")
        on_first_screen(page, star)
        fits(page, lang)
        star.click()
        expect(page.locator(".alert-success")).to_be_visible()
        fits(page, lang)
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert (issue.status, issue.rating) == ("closed", 5)
    assert [e.action for e in issue.events if e.action in (
        "report", "accept", "start", "resolve", "verify", "rate")] == [
        "report", "accept", "start", "resolve", "verify", "rate"]
