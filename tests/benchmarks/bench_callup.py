"""Benchmark: an emergency call-up of 1,000 volunteers, from the organiser's request until every
notice has left, against the issue's target of 60 s.

A fresh SQLite database (or the one ``BENCH_DATABASE_URL`` names) gets one 村居 with five grids
and 1,000 eligible volunteers, each with an e-mail address and consent to SMS (so each gets
three notices: the inbox, an e-mail and an SMS). A local SMTP server (aiosmtpd) takes the mail;
SMS go through the ``log`` provider to a file. ``WORKERS`` processes of ``flask --app wsgi
deliver`` run as in production (``OUTBOX_DELIVERY=worker``). The clock starts before the POST
of the call-up form and stops when no notice of the call-up is queued or being sent; then the
mail the server received and the SMS lines written are counted.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "1000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
TARGET_S = 60.0
PASSWORD = "bench-pass-123"


class Smtp:
    """Takes every message at once and counts it."""

    def __init__(self):
        self.received = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received += 1
        return "250 OK"


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _town(db, people: int) -> None:
    """One 村居, five grids, its admin, and ``people`` consenting volunteers with an e-mail
    address and SMS consent (rows written directly: this is not what is measured)."""
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from volunteer.auth.models import RoleAssignment, User
    from volunteer.auth.services import create_user, grant_role
    from volunteer.common import utcnow
    from volunteer.org.models import Grid, Town, Village
    from volunteer.volunteers.models import VolunteerProfile

    village = Village(town=db.session.scalar(db.select(Town)), code="BV", name="基准村",
                      lat=30.757, lon=121.353)
    grids = [Grid(village=village, code=f"BV-{i + 1:02d}", name=f"第{i + 1}网格",
                  lat=30.757 + i * 0.002, lon=121.353, households=300) for i in range(5)]
    db.session.add_all([village, *grids])
    admin = create_user(name="村居书记", phone="13900000001", password=PASSWORD)
    grant_role(admin, "village_admin", village)
    db.session.flush()
    now = utcnow()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    db.session.execute(sa.insert(User), [
        {"name": f"队员{n}", "phone": f"1380{n:07d}", "email": f"v{n}@example.com",
         "password_hash": pw, "consent_version": "2026-11", "consent_at": now,
         "consent_method": "online", "sms_consent_at": now, "active": True}
        for n in range(people)])
    ids = list(db.session.scalars(db.select(User.id).where(User.phone.like("1380%"))
                                  .order_by(User.id)))
    db.session.execute(sa.insert(RoleAssignment), [{"user_id": uid, "role": "volunteer"}
                                                   for uid in ids])
    db.session.execute(sa.insert(VolunteerProfile), [
        {"user_id": uid, "home_grid_id": grids[k % 5].id, "lat": grids[k % 5].lat,
         "lon": grids[k % 5].lon, "location_source": "grid", "travel_km": 5.0,
         "availability": 63, "monthly_limit": 4}
        for k, uid in enumerate(ids)])
    db.session.commit()


def main() -> None:
    tmp = tempfile.mkdtemp()
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
    smtp, port = Smtp(), _port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    env = dict(os.environ, DATABASE_URL=url, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port),
               MAIL_USE_TLS="0", SMS_PROVIDER="log", UPLOAD_FOLDER=tmp,
               OUTBOX_DELIVERY="worker", PYTHONPATH=str(ROOT))
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "MAIL_SERVER", "MAIL_PORT",
                                           "MAIL_USE_TLS", "SMS_PROVIDER", "UPLOAD_FOLDER",
                                           "OUTBOX_DELIVERY")})
    from flask_migrate import upgrade

    from volunteer import create_app
    from volunteer.callups.models import CallUp
    from volunteer.extensions import db
    from volunteer.inbox.models import Notification
    from volunteer.outbox.models import OutboxMessage, Status
    from volunteer.setup import load_reference_data

    app = create_app({"RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "CALLUP_NOTICE_BUDGET": 0})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        load_reference_data()
        _town(db, PEOPLE)
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "deliver",
                                 "--poll", "0.2", "--batch", "200"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for _ in range(WORKERS)]
    time.sleep(4)  # the workers start (Python, the app) before the call-up, as in production
    client = app.test_client()
    client.post("/auth/login", data={"login": "13900000001", "password": PASSWORD})
    from volunteer.common import to_local, utcnow

    starts = to_local(utcnow()).strftime("%Y-%m-%dT%H:%M")
    form = {"reason": "flood_typhoon", "title": "台风来袭：转移低洼地区老人", "muster": "村委会门口",
            "needed": str(PEOPLE), "starts_at": starts, "area": "grids",
            "grids": [f"BV-{i + 1:02d}" for i in range(5)]}
    started = time.perf_counter()
    resp = client.post("/callups/new", data=form)
    answered = time.perf_counter() - started
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        callup_id = db.session.scalar(db.select(CallUp.id))
        m = OutboxMessage
        total = db.session.scalar(db.select(db.func.count(m.id)).where(m.callup_id == callup_id))
        inbox = db.session.scalar(db.select(db.func.count(Notification.id))
                                  .where(Notification.callup_id == callup_id))
        deadline = time.time() + 10 * TARGET_S
        while time.time() < deadline:
            left = db.session.scalar(db.select(db.func.count(m.id)).where(
                m.callup_id == callup_id, m.status.in_((Status.queued, Status.sending))))
            db.session.commit()
            if not left:
                break
            time.sleep(0.05)
        delivered = time.perf_counter() - started
        sent = db.session.scalar(db.select(db.func.count(m.id)).where(
            m.callup_id == callup_id, m.status == Status.sent))
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(10)
        except subprocess.TimeoutExpired:
            w.kill()
    controller.stop()
    sms_lines = sum(1 for _ in open(Path(tmp) / "sms.log", encoding="utf-8")) \
        if (Path(tmp) / "sms.log").exists() else 0
    backend = url.split(":", 1)[0]
    print(f"emergency call-up of {PEOPLE:,} volunteers ({backend}, {WORKERS} deliver "
          f"worker(s)):")
    print(f"  request answered (notices written)   {answered:7.2f} s   "
          f"{inbox:,} inbox notices, {total:,} e-mail/SMS messages queued")
    print(f"  every notice delivered               {delivered:7.2f} s   "
          f"{sent:,} sent: {smtp.received:,} mails at the SMTP server, {sms_lines:,} SMS "
          f"(target: within {TARGET_S:.0f} s — {'met' if delivered <= TARGET_S else 'MISSED'})")


if __name__ == "__main__":
    main()
