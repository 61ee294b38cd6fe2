"""Benchmark: an invitation request while the SMTP server takes 2 s per message, with the mail
sent inside the request (``OUTBOX_DELIVERY=inline``, as before the outbox) and handed to the
outbox's delivery thread (``thread``, the default), in the same run on one SQLite database.

Each request invites one volunteer, who has an e-mail address, to a new issue; the p50 and the
worst of five requests per mode are printed, and the count of mails the server received.
"""
from __future__ import annotations

import os
import socket
import statistics
import tempfile
import threading
import time
from datetime import timedelta

from aiosmtpd.controller import Controller

DELAY = 2.0
REQUESTS = 5
PASSWORD = "bench-pass-123"


class SlowSmtp:
    """Answers every message after ``DELAY`` seconds."""

    def __init__(self):
        self.received = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        time.sleep(DELAY)
        with self.lock:
            self.received += 1
        return "250 OK"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    tmp = tempfile.mkdtemp()
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    from flask_migrate import upgrade

    from volunteer import create_app
    from volunteer.auth.services import create_user, grant_role
    from volunteer.common import utcnow
    from volunteer.extensions import db
    from volunteer.issues.services import IssueInput, file_issue
    from volunteer.org.models import Grid, Town, Village
    from volunteer.outbox.models import OutboxMessage, Status
    from volunteer.setup import load_reference_data
    from volunteer.skills.models import Skill
    from volunteer.volunteers.services import ProfileData, save_profile, verify_skill

    smtp, port = SlowSmtp(), _port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    app = create_app({"RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "MAIL_SERVER": "127.0.0.1",
                      "MAIL_PORT": port, "MAIL_USE_TLS": False, "OUTBOX_POLL_SECONDS": 1})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        load_reference_data()
        village = Village(town=db.session.scalar(db.select(Town)), code="BV", name="基准村",
                          lat=30.757, lon=121.353)
        grid = Grid(village=village, code="BV-01", name="第一网格", lat=30.757, lon=121.353,
                    households=300)
        db.session.add_all([village, grid])
        leader = create_user(name="网格长", phone="13900000001", password=PASSWORD)
        grant_role(leader, "grid_leader", grid)
        electrician = db.session.scalar(db.select(Skill.id).where(Skill.code == "electrician"))
        volunteers = []
        for n in range(2 * REQUESTS):
            user = create_user(name=f"电工{n}", phone=f"1390000{n + 100:04d}",
                               password=PASSWORD, email=f"v{n}@example.com")
            grant_role(user, "volunteer", None)
            profile = save_profile(user, ProfileData(home_grid=grid, lat=30.757, lon=121.353,
                                                     travel_km=5, skill_ids=[electrician],
                                                     monthly_limit=9))
            for vs in profile.skills:
                verify_skill(user, vs)
            db.session.flush()
            volunteers.append(user.id)
        issues = [file_issue(leader, IssueInput(
            title=f"路灯不亮{n}", description="小区绿地的路灯晚上全部不亮，需要电工排查",
            category="facilities", lat=30.7571, lon=121.3531,
            needed_from=utcnow() + timedelta(days=3 + n),
            needed_until=utcnow() + timedelta(days=3 + n, hours=2))).id
            for n in range(2 * REQUESTS)]
        db.session.commit()
    client = app.test_client()
    client.post("/auth/login", data={"login": "13900000001", "password": PASSWORD})
    client.get(f"/issues/{issues[0]}")  # warm the matcher

    results = {}
    for k, mode in enumerate(("inline", "thread")):
        app.config["OUTBOX_DELIVERY"] = mode
        times = []
        for n in range(REQUESTS):
            i = k * REQUESTS + n
            started = time.perf_counter()
            resp = client.post(f"/tasks/invite/{issues[i]}", data={"volunteer": volunteers[i]})
            times.append(time.perf_counter() - started)
            with client.session_transaction() as session:
                flashes = session.get("_flashes", [])
            assert resp.status_code == 302 and flashes[-1][0] == "success", flashes
        results[mode] = times
    deadline = time.time() + DELAY * 2 * REQUESTS + 30
    while smtp.received < 2 * REQUESTS and time.time() < deadline:
        time.sleep(0.5)
    with app.app_context():
        sent = db.session.scalar(db.select(db.func.count(OutboxMessage.id))
                                 .where(OutboxMessage.status == Status.sent))
    controller.stop()
    print(f"invitation request, SMTP answering in {DELAY:.0f} s, {REQUESTS} requests each:")
    for mode, label in (("inline", "before: mail inside the request"),
                        ("thread", "after: outbox, delivery thread")):
        t = results[mode]
        print(f"  {label:34s} p50 {statistics.median(t) * 1000:7.0f} ms   "
              f"max {max(t) * 1000:7.0f} ms")
    print(f"  mails received by the SMTP server: {smtp.received} of {2 * REQUESTS} "
          f"({sent} marked sent in the outbox)")


if __name__ == "__main__":
    main()
