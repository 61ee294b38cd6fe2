"""On a phone (390 px) without a connection: the issue form opens from the service worker's
cache, three reports with photos go to the outbox (from the page, and from the service worker
when a post finds no connection) and survive a reload, and when the connection returns exactly
three issues are filed; an answer lost after the server committed is sent again
and still filed once; a report the server refuses stays in the outbox with its message."""
import io
import random
import threading
import time

import pytest
from PIL import Image
from playwright.sync_api import expect
from werkzeug.serving import make_server

from volunteer.extensions import db
from volunteer.issues.models import Issue
from volunteer.matching.store import get_matcher

from .test_issue_browser import login

pytestmark = pytest.mark.e2e
HERE = {"latitude": 30.7571, "longitude": 121.3531, "accuracy": 15}
OUTBOX = "/issues/outbox"


@pytest.fixture
def phone(browser):
    """A phone-sized browser context: ``phone(service_workers="allow"|"block")``."""
    contexts = []

    def make(service_workers="allow", width=390):
        context = browser.new_context(viewport={"width": width, "height": 844}, locale="zh-CN",
                                      geolocation=HERE, permissions=["geolocation"],
                                      service_workers=service_workers)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20000)
        expect.set_options(timeout=20000)
        return context, page

    yield make
    for context in contexts:
        context.close()


def photo(name: str, big: bool = False) -> dict:
    """A JPEG; ``big``: a noisy 2400 × 1800 one of well over 500 KB (the outbox shrinks it)."""
    rnd = random.Random(name)
    if big:
        img = Image.frombytes("RGB", (2400, 1800), rnd.randbytes(2400 * 1800 * 3))
    else:
        img = Image.new("RGB", (320, 240), (rnd.randrange(256), 90, 160))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    return {"name": name, "mimeType": "image/jpeg", "buffer": buf.getvalue()}


@pytest.fixture
def member(factory):
    grid = factory.grid(factory.village(code="XJ", name="新江村"), code="XJ-01", lat=30.757,
                        lon=121.353)
    return factory.user("grid_member", grid, name="网格员甲")


def fill_report(page, n: int, photos: list[dict], pin: bool = False,
                saved: str = "#offline-status .alert-success") -> None:
    page.fill("#title", f"巡查发现问题{n}")
    page.fill("#description", f"地下室第{n}处积水，信号不好时上报")
    page.select_option("#category", "facilities")
    if pin:  # the position from the phone, without a connection
        page.locator("[data-role=locate]").click()
        expect(page.locator("[data-role=lat]")).not_to_have_value("")
    else:
        page.select_option("#grid", "XJ-01")
    page.set_input_files("#photos", photos)
    page.locator("[data-testid=issue-form] [type=submit]").click()
    expect(page.locator(saved)).to_be_visible()


class Server:
    """A live server that can be cut off and come back on the same port: Playwright's offline
    mode reaches neither a service worker's own fetches nor their routes, a closed port does."""

    def __init__(self, app):
        self.app, self.port = app, 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.server.daemon_threads = False  # stop() waits for requests still running
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        for t in list(getattr(self.server, "_threads", [])):
            t.join(timeout=10)
        self.server.socket.close()
        self.thread.join(timeout=5)


@pytest.fixture
def server(app):
    get_matcher()  # built now, not inside a page load
    live = Server(app)
    yield live
    live.stop()


def go_offline(context, server) -> None:
    """No signal: the browser knows it ("offline"), and the server cannot be reached."""
    context.set_offline(True)
    server.stop()


def go_online(context, server) -> None:
    server.start()
    context.set_offline(False)


def wait_until(page, script: str, timeout: float = 30.0) -> None:
    """Poll ``script`` (a function that may return a promise) until it gives a true value."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {script}"
        page.wait_for_timeout(200)


def outbox_items(page, state: str):
    return page.locator(f"[data-testid=outbox-{state}] > li")


def issues() -> list[Issue]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Issue).order_by(Issue.id)))


def test_three_reports_made_offline_are_filed_once(server, phone, member):
    context, page = phone()
    live_server = server.url
    login(page, live_server, member)
    page.goto(live_server + "/issues/new")
    # The service worker controls the page and keeps the form for when there is no signal.
    wait_until(page, "() => !!navigator.serviceWorker.controller")
    wait_until(page, """() => caches.open('gv-pages').then(c => Promise.all(
        ['/issues/new', '/issues/outbox'].map(u => c.match(u)))).then(r => r.every(Boolean))""")

    go_offline(context, server)
    response = page.reload()
    assert response.from_service_worker  # the form opens from the cache
    expect(page.locator("#offline-note")).to_be_visible()
    fill_report(page, 1, [photo("a1.jpg", big=True), photo("a2.jpg")], pin=True)
    fill_report(page, 2, [photo("b1.jpg")])
    # The phone believes it has a signal, but the post goes nowhere: the service worker keeps
    # the report (photos shrunk there too) and shows the outbox instead of an error page.
    context.set_offline(False)
    fill_report(page, 3, [photo("c1.jpg", big=True), photo("c2.jpg"), photo("c3.jpg")],
                saved="[data-role=saved]")
    sizes = page.evaluate(
        "() => GVOutbox.all().then(l => l.map(r => r.photos.map(p => p.data.byteLength)))")
    assert sorted(len(s) for s in sizes) == [1, 2, 3]
    assert all(0 < b <= 500 * 1024 for s in sizes for b in s)
    assert issues() == []

    # The phone restarts the page without a connection: the outbox is still there.
    context.set_offline(True)
    page.reload()
    expect(outbox_items(page, "waiting")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert issues() == []

    go_online(context, server)  # the "online" event sends them
    expect(outbox_items(page, "sent")).to_have_count(3)
    expect(outbox_items(page, "waiting")).to_have_count(0)
    filed = issues()
    assert len(filed) == 3 and len({i.client_uuid for i in filed}) == 3
    assert sorted(len(i.photos) for i in filed) == [1, 2, 3]
    assert all(i.made_at is not None and i.made_at <= i.created_at for i in filed)
    assert sorted(i.title for i in filed) == ["巡查发现问题1", "巡查发现问题2", "巡查发现问题3"]
    links = outbox_items(page, "sent").locator("[data-testid=sent-link]")
    assert sorted(links.evaluate_all("l => l.map(a => a.getAttribute('href'))")) == sorted(
        f"/issues/{i.id}" for i in filed)
    page.get_by_test_id("send-now").click()  # sending again files nothing more
    page.reload()
    expect(outbox_items(page, "sent")).to_have_count(3)
    assert len(issues()) == 3


def test_a_lost_answer_is_sent_again_and_filed_once(live_server, phone, member):
    """The first answer of the outbox endpoint is dropped after the server committed; the
    phone sends that report again with the same id and gets the same number. A report with a
    photo the server refuses stays, with the message, while the others go."""
    # Every request through the page's routes (no service worker); the narrowest phone.
    context, page = phone(service_workers="block", width=360)
    posts: list[str] = []

    def lose_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.url)
        if len(posts) == 1:
            route.fetch()  # the server files it and answers …
            route.abort("connectionreset")  # … but the answer never reaches the phone
        else:
            route.continue_()

    page.route("**" + OUTBOX, lose_first_answer)
    login(page, live_server, member)
    page.goto(live_server + "/issues/new")
    context.set_offline(True)
    fill_report(page, 1, [photo("a1.jpg")])
    fill_report(page, 2, [photo("b1.jpg")])
    fill_report(page, 3, [photo("c1.jpg")])
    broken = {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xffnot a photo"}
    fill_report(page, 4, [broken])
    fill_report(page, 5, [{**broken, "name": "broken2.jpg"}])

    context.set_offline(False)  # the page sends at once, and the lost one after a backoff
    wait_until(page, """() => GVOutbox.all().then(l => l.map(r => r.state).sort().join())
        .then(s => s === 'failed,failed,sent,sent,sent')""")
    page.goto(live_server + OUTBOX)
    expect(outbox_items(page, "sent")).to_have_count(3)
    failed = outbox_items(page, "failed")
    expect(failed).to_have_count(2)
    expect(failed.locator("[data-testid=failed-message]").first).to_contain_text("broken.jpg")
    expect(outbox_items(page, "waiting")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    filed = issues()
    assert len(filed) == 3 and len({i.client_uuid for i in filed}) == 3
    assert len(posts) >= 6  # 5 reports and the one sent again
    # The refused ones are the person's to delete or fix; they never blocked the others.
    page.once("dialog", lambda d: d.accept())
    failed.filter(has_text="broken2.jpg").locator("button.btn-outline-danger").click()
    expect(outbox_items(page, "failed")).to_have_count(1)
    failed.first.get_by_role("link").click()
    expect(page.locator("#title")).to_have_value("巡查发现问题4")
    expect(page.locator("#offline-status")).to_contain_text("broken.jpg")
    page.set_input_files("#photos", [photo("d1.jpg")])
    page.locator("[data-testid=issue-form] [type=submit]").click()
    page.wait_for_url(live_server + OUTBOX)
    expect(outbox_items(page, "sent")).to_have_count(4)
    expect(outbox_items(page, "failed")).to_have_count(0)
    filed = issues()
    assert len(filed) == 4 and filed[-1].title == "巡查发现问题4" and len(filed[-1].photos) == 1
