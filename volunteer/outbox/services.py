"""Writing messages with the change that causes them, and delivering them after the commit.

``post`` adds a message to the session (the inbox channel writes its notice right there). After
the commit the web process hands the new rows on as ``OUTBOX_DELIVERY`` says: ``thread`` (the
default; a background thread of this process sends them, so ``make run`` needs no second
command), ``inline`` (sent at once after the commit, in the same thread; tests), or ``worker``
(only ``flask --app wsgi deliver`` sends; production with the worker as its own service).

Delivery takes a batch by a conditional update (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
several workers never take one message), holds it for a lease, and marks each message sent or
failed as it goes. A failure is tried again with exponential backoff; after
``OUTBOX_MAX_ATTEMPTS`` it is a dead letter. A worker killed mid-batch leaves its messages to be
taken again when the lease ends: each is sent at least once, and at most once more than that.
"""
from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context
from flask_babel import force_locale
from sqlalchemy.orm import Session, selectinload

from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.outbox.channels import CHANNELS, Channel, DeliveryError, Text
from volunteer.outbox.models import OutboxMessage, Status
from volunteer.privacy import eraser
from volunteer.signals import message_dead

log = logging.getLogger(__name__)

_NEW = "outbox_new_messages"
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 6 * 3600

#: template name → function rendering a message in the current language.
RENDERERS: dict[str, Callable[[OutboxMessage], Text]] = {}


def renderer(template: str):
    """Register the function that writes the text of messages made from ``template``."""
    def register(fn):
        RENDERERS[template] = fn
        return fn
    return register


def reachable(channel: Channel, user, config=None) -> bool:
    """The site can use ``channel`` and it reaches ``user`` (an address, consent)."""
    config = config if config is not None else current_app.config
    return channel.enabled(config) and bool(channel.address(user, config))


def post(channel: Channel, user, template: str, **refs) -> OutboxMessage:
    """Add one message for ``user`` through ``channel`` to the current transaction; it leaves
    only after the commit. (The inbox channel's notice is its own row: ``inbox.notify``.)"""
    if channel.immediate:
        raise ValueError(f"{channel.name} is written with the change, not sent")
    msg = OutboxMessage(user_id=user.id, channel=channel.name, template=template,
                        kind=refs.pop("kind", ""), event=refs.pop("event", ""),
                        payload=refs.pop("payload", None), **refs)
    db.session.add(msg)
    _mark_new()
    return msg


def _mark_new() -> None:
    """Remember, per transaction, that it wrote messages: a rolled-back savepoint forgets its
    own and keeps the others'."""
    session = db.session()
    tx = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_NEW, []).append(tx)


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    if not session.info.pop(_NEW, None):
        return
    try:
        app = current_app._get_current_object()
    except RuntimeError:  # a session used outside the app (a script's own engine)
        return
    kick(app)


@sa.event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction) -> None:
    def undone(tx) -> bool:
        while tx is not None:
            if tx is previous_transaction:
                return True
            tx = tx.parent
        return False

    held = session.info.get(_NEW)
    if held:
        session.info[_NEW] = [tx for tx in held if tx is not None and not undone(tx)]


def kick(app: Flask) -> None:
    """New messages were committed: send them as ``OUTBOX_DELIVERY`` says."""
    mode = app.config.get("OUTBOX_DELIVERY", "thread")
    if mode == "inline":
        try:
            with app.app_context():  # its own session: the caller's is mid-commit
                deliver_due()
        except Exception:  # a failure to deliver never undoes or fails the change
            log.exception("delivering the outbox after a commit failed")
    elif mode == "thread" and has_request_context():
        # Only a web process wakes its thread; a command (tick, import) ends too soon to see
        # a batch through, and leaves its messages to the web process's next poll or a worker.
        background(app).wake()


@dataclass
class Counts:
    """What one delivery run did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.failed} to try again, {self.dead} dead"


def claim(batch: int = 100, now: datetime | None = None) -> list[OutboxMessage]:
    """Take up to ``batch`` due messages for this worker and commit the claim: queued ones whose
    time has come, and taken ones whose worker's lease ran out (it died)."""
    now = now or utcnow()
    cfg = current_app.config
    m = OutboxMessage
    due = sa.or_(sa.and_(m.status == Status.queued, m.next_attempt_at <= now),
                 sa.and_(m.status == Status.sending, m.lease_until < now))
    ids = (sa.select(m.id).where(due).order_by(m.id).limit(batch)
           .with_for_update(skip_locked=True))
    token = secrets.token_hex(16)
    lease = now + timedelta(seconds=cfg.get("OUTBOX_LEASE_SECONDS", 300))
    # The condition is checked again by the update itself, so two workers on SQLite (which
    # has no SKIP LOCKED) still never take one message.
    db.session.execute(sa.update(m).where(m.id.in_(ids), due)
                       .values(status=Status.sending, claim=token, lease_until=lease,
                               attempts=m.attempts + 1)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return list(db.session.scalars(sa.select(m).where(m.claim == token,
                                                      m.status == Status.sending)
                                   .options(selectinload(m.user)).order_by(m.id)))


def backoff(attempts: int, base: int | None = None) -> timedelta:
    """How long to wait before the next try: base × 2^(attempts − 1), at most six hours."""
    base = base if base is not None else current_app.config.get("OUTBOX_RETRY_SECONDS",
                                                                RETRY_BASE_SECONDS)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


def render(msg: OutboxMessage) -> Text:
    """The message's text in the recipient's language."""
    fn = RENDERERS.get(msg.template)
    if fn is None:
        raise DeliveryError(f"no template {msg.template!r}")
    with force_locale(msg.user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        return fn(msg)


def title(msg: OutboxMessage) -> str:
    """What a message is about, in the current language (for the admin's list); its template's
    name when it can no longer be rendered."""
    fn = RENDERERS.get(msg.template)
    try:
        return fn(msg).subject if fn else msg.template
    except Exception:  # a row whose objects are gone must not break the list
        return msg.event or msg.template


def send_batch(messages: list[OutboxMessage], now: datetime | None = None,
               counts: Counts | None = None) -> Counts:
    """Send claimed messages, one connection per channel, marking (and committing) each."""
    counts = counts or Counts()
    cfg = current_app.config
    limit = cfg.get("OUTBOX_MAX_ATTEMPTS", 10)
    for name in dict.fromkeys(msg.channel for msg in messages):
        channel = CHANNELS.get(name)
        group = [msg for msg in messages if msg.channel == name]
        if channel is None or channel.immediate or not channel.enabled(cfg):
            for msg in group:
                _failed(msg, f"channel {name} is not configured", limit, now, counts)
            continue
        with channel.open(cfg) as send:
            for msg in group:
                address = channel.address(msg.user, cfg)
                if not address:  # withdrew consent, removed the address: never retried
                    msg.status, msg.payload, msg.claim, msg.lease_until = (
                        Status.dropped, None, None, None)
                    msg.last_error = f"the recipient cannot be reached by {name} any more"
                    db.session.commit()
                    continue
                try:
                    send(address, render(msg))
                except DeliveryError as exc:
                    _failed(msg, str(exc), limit, now, counts)
                except Exception as exc:  # a bad row must not stop the others
                    log.exception("rendering or sending outbox message %s failed", msg.id)
                    _failed(msg, f"{type(exc).__name__}: {exc}", limit, now, counts)
                else:
                    msg.status, msg.sent_at, msg.payload = Status.sent, utcnow(), None
                    msg.claim = msg.lease_until = None
                    counts.sent += 1
                db.session.commit()
    return counts


def _failed(msg: OutboxMessage, error: str, limit: int, now: datetime | None,
            counts: Counts) -> None:
    msg.last_error = error[:300]
    msg.claim = msg.lease_until = None
    if msg.attempts >= limit:
        msg.status, msg.payload = Status.dead, None
        counts.dead += 1
        log.error("outbox message %s is dead after %s attempts: %s", msg.id, msg.attempts, error)
        if msg.event != "dead_letters":  # a notice about dead letters dying tells nobody
            message_dead.send(msg)
    else:
        msg.status = Status.queued
        msg.next_attempt_at = (now or utcnow()) + backoff(msg.attempts)
        counts.failed += 1
        log.warning("outbox message %s failed (attempt %s): %s", msg.id, msg.attempts, error)


def deliver_due(batch: int = 100, now: datetime | None = None,
                stop: threading.Event | None = None) -> Counts:
    """Send every message that is due, batch by batch, until none is left (or ``stop``)."""
    counts = Counts()
    while not (stop and stop.is_set()):
        messages = claim(batch, now)
        if not messages:
            break
        send_batch(messages, now, counts)
    return counts


def retry(message_ids=None) -> int:
    """Give dead letters (all, or those of ``message_ids``) another round of tries."""
    m = OutboxMessage
    q = sa.update(m).where(m.status == Status.dead)
    if message_ids is not None:
        q = q.where(m.id.in_(list(message_ids) or [-1]))
    n = db.session.execute(q.values(status=Status.queued, attempts=0, next_attempt_at=utcnow(),
                                    claim=None, lease_until=None)
                           .execution_options(synchronize_session=False)).rowcount
    if n:
        _mark_new()
    return n


def purge(days: int = 30, now: datetime | None = None) -> int:
    """Delete messages sent more than ``days`` ago, and those cancelled as long ago (the inbox
    keeps its own notices)."""
    m = OutboxMessage
    cutoff = (now or utcnow()) - timedelta(days=days)
    return db.session.execute(sa.delete(m).where(sa.or_(
        sa.and_(m.status == Status.sent, m.sent_at < cutoff),
        sa.and_(m.status == Status.cancelled, m.created_at < cutoff)))
        .execution_options(synchronize_session=False)).rowcount


def summary() -> dict[str, dict[str, int]]:
    """Messages per status and channel (for the town admin)."""
    m = OutboxMessage
    out: dict[str, dict[str, int]] = {s.value: {} for s in Status}
    for status, channel, n in db.session.execute(
            sa.select(m.status, m.channel, sa.func.count()).group_by(m.status, m.channel)):
        out.setdefault(status, {})[channel] = n
    return out


class Background:
    """A thread of the web process that sends the outbox: woken after each commit that wrote
    messages, and every ``OUTBOX_POLL_SECONDS`` for retries. Started on first use, never at
    import or in ``create_app``."""

    def __init__(self, app: Flask):
        self.app = app
        self.event = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        self.event.set()

    def _run(self) -> None:
        poll = self.app.config.get("OUTBOX_POLL_SECONDS", 15)
        while not self.stop.is_set():
            self.event.wait(poll)
            self.event.clear()
            try:
                with self.app.app_context():
                    deliver_due(stop=self.stop)
            except Exception:
                log.exception("the outbox thread failed; it tries again")


_threads: dict[int, Background] = {}
_threads_lock = threading.Lock()


def background(app: Flask) -> Background:
    """This process's delivery thread for ``app``, started on first use."""
    with _threads_lock:
        runner = _threads.get(id(app))
        if runner is None or not runner.thread.is_alive():
            runner = _threads[id(app)] = Background(app)
        return runner


def init_app(app: Flask) -> None:
    """In ``thread`` mode, start the delivery thread with the first request (so messages left
    queued by an earlier run go out without waiting for a new one)."""
    @app.before_request
    def _start_outbox_thread():
        if app.config.get("OUTBOX_DELIVERY", "thread") == "thread" and id(app) not in _threads:
            background(app)


@eraser
def _erase(user) -> None:
    db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.user_id == user.id))
