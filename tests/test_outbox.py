"""The outbox under faults, over real SMTP (a local aiosmtpd server): a rollback sends nothing,
an outage loses nothing, a worker killed mid-batch sends each message at most once more, two
workers never send one message twice, and ``tick`` queues a reminder once however often it runs.
Also the channels (SMS and WeChat adapters), the settings page and the admin's dead letters."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.inbox.models import Notification
from volunteer.invitations.models import Invitation
from volunteer.invitations.services import Pick, invite
from volunteer.issues.services import IssueInput, file_issue
from volunteer.outbox import services as outbox
from volunteer.outbox.channels import CHANNELS, Text, fill
from volunteer.outbox.models import OutboxMessage, Status

pytestmark = pytest.mark.usefixtures("following_matcher")

SAT = utcnow().replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Smtp:
    """A local SMTP server that keeps what it receives; ``delay`` slows every message."""

    def __init__(self, port: int):
        self.port, self.messages, self.delay, self.controller = port, [], 0.0, None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def subjects(self) -> list[str]:
        return [str(make_header(decode_header(m["Subject"]))) for m in self.messages]

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp(app):
    """Real SMTP for the app (not started: a test starts it, or leaves it down)."""
    server = Smtp(free_port())
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False,
                      MAIL_CAPTURE=False, MAIL_TIMEOUT=2)
    yield server
    server.stop()


@pytest.fixture
def town(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    return {"grid": grid,
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "member": factory.user("grid_member", grid, name="网格员"),
            "sparky": factory.volunteer("电工甲", ["electrician"], grid=grid,
                                        email="sparky@example.com")}


def lamp(town, day=0):
    start = SAT + timedelta(days=day)
    issue = file_issue(town["member"], IssueInput(
        title="绿地路灯不亮", description="小区绿地的路灯晚上全部不亮，需要电工排查",
        category="facilities", lat=30.7571, lon=121.3531, needed_from=start,
        needed_until=start + timedelta(hours=2)))
    db.session.commit()
    return issue


def messages(status=None):
    q = db.select(OutboxMessage).order_by(OutboxMessage.id)
    if status is not None:
        q = q.where(OutboxMessage.status == status)
    db.session.expire_all()
    return db.session.scalars(q).all()


# --- faults -----------------------------------------------------------------------------------

def test_a_rollback_after_invite_sends_nothing(app, smtp, town):
    smtp.start()
    issue = lamp(town)
    invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.flush()
    assert messages() and smtp.messages == []  # written, not sent
    db.session.rollback()
    assert messages() == []
    outbox.deliver_due()
    assert smtp.messages == []


def test_a_rolled_back_savepoint_drops_its_messages_and_keeps_the_others(app, smtp, town):
    smtp.start()
    issue = lamp(town)
    with db.session.begin_nested() as sp:
        invite(town["leader"], issue, [Pick(town["sparky"].id)])
        sp.rollback()
    outbox.post(CHANNELS["email"], town["sparky"], "password_reset", payload={"link": "x"})
    db.session.commit()
    assert smtp.subjects() == ["重置密码"]  # the recipient's language: zh_CN by default


def test_smtp_down_the_invitation_commits_and_the_mail_goes_out_when_smtp_is_back(
        app, client, auth, smtp, town):
    issue = lamp(town)
    auth.login(user=town["leader"])
    started = time.perf_counter()
    resp = client.post(f"/tasks/invite/{issue.id}", data={"volunteer": town["sparky"].id})
    assert resp.status_code == 302 and time.perf_counter() - started < 30
    (inv,) = db.session.scalars(db.select(Invitation)).all()
    assert inv.status == "invited"  # committed although the mail could not leave
    (msg,) = messages()
    assert msg.status == Status.queued and msg.attempts == 1 and "SMTP" in msg.last_error
    assert msg.next_attempt_at > utcnow()
    outbox.deliver_due()  # not due yet: nothing tried
    assert messages()[0].attempts == 1
    smtp.start()
    counts = outbox.deliver_due(now=utcnow() + timedelta(minutes=5))
    assert counts.sent == 1 and messages(Status.sent)
    (mail,) = smtp.to("sparky@example.com")
    assert "绿地路灯不亮" in str(make_header(decode_header(mail["Subject"])))
    assert f"/tasks/{inv.id}" in mail.get_payload(decode=True).decode()


def test_a_failing_message_backs_off_and_ends_as_a_dead_letter_the_admin_can_retry(
        app, client, auth, smtp, town):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    outbox.post(CHANNELS["email"], town["sparky"], "password_reset", payload={"link": "x"})
    db.session.commit()  # SMTP down: attempt 1
    now = utcnow()
    waits = []
    for _ in range(2):
        msg = messages()[0]
        waits.append(msg.next_attempt_at - now)
        now = msg.next_attempt_at + timedelta(seconds=1)
        outbox.deliver_due(now=now)
    assert waits[1] > waits[0]  # exponential backoff
    (msg,) = messages()
    assert msg.status == Status.dead and msg.attempts == 3 and msg.payload is None
    # The town admin sees it and sends it again.
    auth.login("admin")
    assert "1" in client.get("/admin/").get_data(as_text=True)
    page = client.get("/admin/outbox/").get_data(as_text=True)
    assert "SMTP" in page and town["sparky"].name in page
    smtp.start()
    resp = client.post("/admin/outbox/retry", data={"id": str(msg.id)})
    assert resp.status_code == 302
    assert messages()[0].status == Status.sent and len(smtp.messages) == 1


def test_the_town_admin_hears_of_dead_letters_once_until_the_notice_is_read(
        app, smtp, town, factory):
    from volunteer.inbox.models import Notification

    admin = factory.user("admin", name="镇管理员")
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    for _ in range(2):  # SMTP down: each dies at its first try
        outbox.post(CHANNELS["email"], town["sparky"], "password_reset", payload={"link": "x"})
        db.session.commit()
    assert len(messages(Status.dead)) == 2

    def notices():
        db.session.expire_all()
        return db.session.scalars(db.select(Notification).where(
            Notification.event == "dead_letters")).all()

    (notice,) = notices()  # two dead letters, one notice
    assert notice.user_id == admin.id and notice.kind == "town_office"
    notice.read_at = utcnow()
    db.session.commit()
    outbox.post(CHANNELS["email"], town["sparky"], "password_reset", payload={"link": "x"})
    db.session.commit()
    assert len(notices()) == 2  # read: the next dead letter is news again


def test_a_dead_notice_about_dead_letters_makes_no_chain(app, smtp, town, factory):
    """An admin who reads notices by e-mail only, with SMTP down: one notice on its way, and
    its own death tells nobody."""
    from volunteer.inbox.models import NotificationSetting

    admin = factory.user("admin", name="镇管理员", email="admin@example.com")
    db.session.add(NotificationSetting(user_id=admin.id, kind="town_office", in_app=False,
                                       email=True))
    db.session.commit()
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    for _ in range(3):
        outbox.post(CHANNELS["email"], town["sparky"], "password_reset", payload={"link": "x"})
        db.session.commit()
    for _ in range(3):
        outbox.deliver_due(now=utcnow() + timedelta(days=1))
    notices = [m for m in messages() if m.event == "dead_letters"]
    assert len(notices) == 1 and notices[0].user_id == admin.id
    assert len(messages()) == 4  # three dead letters and one dead notice: the chain stops


def test_only_the_town_admin_sees_the_outbox(client, auth, town):
    for role in ("grid_leader", "village_admin", "volunteer"):
        auth.login(role)
        assert client.get("/admin/outbox/").status_code == 403
        assert client.post("/admin/outbox/retry", data={"all": "1"}).status_code == 403
        client.post("/auth/logout")
    assert client.get("/admin/outbox/").status_code == 302  # visitors: the login page


def test_a_bad_retry_id_changes_nothing(app, client, auth, town):
    msg = OutboxMessage(user_id=town["sparky"].id, channel="email", template="password_reset",
                        status=Status.dead, attempts=10)
    db.session.add(msg)
    db.session.commit()
    auth.login("admin")
    for bad in ("x", "²", "", "-1"):
        assert client.post("/admin/outbox/retry", data={"id": bad}).status_code == 400
    assert messages()[0].status == Status.dead


def test_a_worker_killed_mid_batch_sends_each_message_at_most_once_more(app, smtp, town):
    app.config["OUTBOX_DELIVERY"] = "worker"
    smtp.start()
    for n in range(5):
        outbox.post(CHANNELS["email"], town["sparky"], "password_reset", payload={"link": n})
    db.session.commit()
    batch = outbox.claim(10)
    assert len(batch) == 5
    # The worker sends the first message, then dies before marking it sent.
    with CHANNELS["email"].open(app.config) as send:
        send("sparky@example.com", outbox.render(batch[0]))
    db.session.rollback()
    # Another worker does not take them while the lease runs …
    assert outbox.deliver_due().sent == 0
    # … and takes them all when it ends.
    later = utcnow() + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
    assert outbox.deliver_due(now=later).sent == 5
    bodies = Counter(m.get_payload(decode=True).decode().strip() for m in smtp.messages)
    assert sorted(bodies.values()) == [1, 1, 1, 1, 2]  # at-least-once: one sent twice
    assert all(m.status == Status.sent for m in messages())


def test_two_workers_drain_a_thousand_messages_each_exactly_once(app, smtp, factory):
    app.config["OUTBOX_DELIVERY"] = "worker"
    smtp.start()
    users = [factory.user(email=f"p{n}@example.com") for n in range(10)]
    db.session.add_all(OutboxMessage(user_id=users[n % 10].id, channel="email",
                                     template="password_reset", payload={"link": f"n{n}"})
                       for n in range(1000))
    db.session.commit()
    errors = []

    def worker():
        try:
            with app.app_context():
                outbox.deliver_due(batch=50)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    sent = Counter(m.get_payload(decode=True).decode().split()[-1] for m in smtp.messages)
    assert len(sent) == 1000 and set(sent.values()) == {1}
    assert {m.status for m in messages()} == {Status.sent}


def test_tick_twice_queues_a_due_reminder_once(app, runner, smtp, town):
    app.config["OUTBOX_DELIVERY"] = "worker"
    issue = lamp(town)
    (inv,) = invite(town["leader"], issue, [Pick(town["sparky"].id)])
    inv.expires_at = utcnow() + timedelta(hours=1)  # within the reminder window
    db.session.commit()
    for _ in range(2):
        assert runner.invoke(args=["tick"]).exit_code == 0
    events = Counter(m.event for m in messages())
    assert events["expiring"] == 1 and events["invited"] == 1
    smtp.start()
    result = runner.invoke(args=["deliver", "--once"])
    assert result.exit_code == 0 and "2 sent" in result.output
    assert len(smtp.to("sparky@example.com")) == 2
    assert runner.invoke(args=["deliver", "--once"]).output.count("0 sent") == 1


# --- rendering and channels -------------------------------------------------------------------

def test_messages_are_written_in_the_recipients_language_at_delivery(app, smtp, town, factory):
    smtp.start()
    town["sparky"].locale = "en"
    db.session.commit()
    issue = lamp(town)
    invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.commit()
    (mail,) = smtp.to("sparky@example.com")
    assert str(make_header(decode_header(mail["Subject"]))).startswith(
        "Grid Volunteers: You are invited to help")
    town["sparky"].locale = "zh_CN"
    db.session.commit()
    outbox.post(CHANNELS["email"], town["sparky"], "password_reset", payload={"link": "L"})
    db.session.commit()
    assert smtp.subjects()[-1] == "重置密码"


def test_the_reset_link_leaves_after_the_commit_and_is_wiped_once_sent(app, client, smtp,
                                                                       factory):
    smtp.start()
    factory.user(email="doc@example.com")
    client.post("/auth/forgot", data={"login": "doc@example.com"})
    (mail,) = smtp.to("doc@example.com")
    assert "/auth/reset/" in mail.get_payload(decode=True).decode()
    (msg,) = messages()
    assert msg.status == Status.sent and msg.payload is None


class Provider(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Provider.received.append((self.path, dict(self.headers), body.decode()))
        self.send_response(Provider.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    Provider.received, Provider.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_sms_only_with_consent_through_the_configured_http_provider(app, client, auth, provider,
                                                                    town):
    app.config.update(SMS_PROVIDER="http", SMS_HTTP_URL=provider + "/send",
                      SMS_HTTP_HEADERS={"X-Key": "k"})
    sparky = town["sparky"]
    auth.login(user=sparky)
    page = client.get("/inbox/settings").get_data(as_text=True)
    assert 'name="invitation_sms"' in page and 'name="sms_consent"' in page
    # SMS chosen for invitations, but no consent yet: nothing by SMS.
    client.post("/inbox/settings", data={"invitation_app": "y", "invitation_sms": "y"})
    issue = lamp(town)
    invite(town["leader"], issue, [Pick(sparky.id)])
    db.session.commit()
    assert Provider.received == []
    client.post("/inbox/settings", data={"invitation_app": "y", "invitation_sms": "y",
                                         "sms_consent": "y"})
    assert db.session.get(type(sparky), sparky.id).sms_consent_at is not None
    issue2 = lamp(town, day=1)
    invite(town["leader"], issue2, [Pick(sparky.id)])
    db.session.commit()
    ((path, headers, body),) = Provider.received
    sent = json.loads(body)
    assert path == "/send" and headers["X-Key"] == "k" and sent["phone"] == sparky.phone
    assert "绿地路灯不亮" in sent["text"] and "/tasks/" in sent["text"]
    # Withdrawing consent stops SMS at once, even for messages already queued.
    app.config["OUTBOX_DELIVERY"] = "worker"
    invite(town["leader"], lamp(town, day=2), [Pick(sparky.id)])
    db.session.commit()
    client.post("/inbox/settings", data={"invitation_app": "y", "invitation_sms": "y"})
    assert db.session.get(type(sparky), sparky.id).sms_consent_at is None
    outbox.deliver_due()
    assert len(Provider.received) == 1 and messages()[-1].status == Status.dropped


def test_a_provider_error_is_retried(app, provider, town):
    app.config.update(WECHAT_PROVIDER="http", WECHAT_HTTP_URL=provider + "/wx")
    town["sparky"].wechat_openid = "o-abc"
    db.session.commit()
    Provider.status = 500
    outbox.post(CHANNELS["wechat"], town["sparky"], "password_reset", payload={"link": "L"})
    db.session.commit()
    (msg,) = messages()
    assert msg.status == Status.queued and "500" in msg.last_error
    Provider.status = 200
    outbox.deliver_due(now=utcnow() + timedelta(hours=1))
    assert messages()[0].status == Status.sent
    sent = json.loads(Provider.received[-1][2])
    assert sent["touser"] == "o-abc" and sent["url"] == "L"


def test_the_log_provider_writes_a_line_per_message(app, town, tmp_path):
    app.config.update(SMS_PROVIDER="log", SMS_LOG_FILE=str(tmp_path / "sms.log"))
    sparky = town["sparky"]
    sparky.sms_consent_at = utcnow()
    db.session.commit()
    outbox.post(CHANNELS["sms"], sparky, "password_reset", payload={"link": "L"})
    db.session.commit()
    (line,) = (tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["phone"] == sparky.phone


def test_request_templates_escape_what_they_carry():
    body = fill('{"text": "{text}", "x": "{unknown}"}', {"text": 'a "b"\n'}, as_json=True)
    assert json.loads(body) == {"text": 'a "b"\n', "x": "{unknown}"}


def test_the_inbox_channel_is_the_row_itself(app, town):
    issue = lamp(town)
    invite(town["leader"], issue, [Pick(town["sparky"].id)])
    db.session.commit()
    assert db.session.scalar(db.select(Notification.event).where(
        Notification.user_id == town["sparky"].id)) == "invited"
    # No mail server: no e-mail row is written at all.
    assert messages() == []


def test_render_gives_text_for_every_channel(app, town):
    msg = OutboxMessage(user_id=town["sparky"].id, channel="sms", template="password_reset",
                        payload={"link": "https://x/r"})
    db.session.add(msg)
    db.session.flush()
    with app.test_request_context():
        text = outbox.render(msg)
    assert isinstance(text, Text) and text.link == "https://x/r" and "https://x/r" in text.short
    db.session.rollback()
