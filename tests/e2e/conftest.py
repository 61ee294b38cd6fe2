"""A live server on this worker's database and a headless Chromium driven by Playwright."""
import os
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def live_server(app):
    """Serve ``app`` on a free local port for the duration of a test."""
    from volunteer.matching.store import get_matcher

    get_matcher()  # build the index now, not inside a page load with a browser timeout
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Track the request threads, so that closing the server waits for requests still running:
    # otherwise one could hold a transaction while the next test empties the tables.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    for t in list(getattr(server, "_threads", [])):
        t.join(timeout=10)  # a request still running finishes (its transaction with it)
    server.socket.close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI; .ci/run installs it")
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A phone-sized page (360 px wide)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)  # CI machines are slow and busy
    from playwright.sync_api import expect

    expect.set_options(timeout=20000)
    yield page
    context.close()
