"""The ways a message reaches a person, behind one interface.

A channel says whether the site can use it (``enabled``), where it reaches a person (``address``:
none without an e-mail address, without recorded consent to SMS, without a linked WeChat
account), and opens a connection for a batch whose ``send`` raises ``DeliveryError`` on failure.
The inbox is the channel whose delivery is the row itself, written in the transaction.

SMS and WeChat go through a provider adapter: ``log`` writes each message as a line to a file in
the instance folder (for development), ``http`` posts a request whose URL, headers and body
template are configuration (``SMS_HTTP_URL``, ``SMS_HTTP_HEADERS``, ``SMS_HTTP_BODY`` …), so a
provider is added by configuration, not code.
"""
from __future__ import annotations

import json
import logging
import re
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import NamedTuple

from flask_babel import lazy_gettext as _l

from volunteer.rules import one_line

log = logging.getLogger(__name__)

SUBJECT_MAX = 200
SMS_MAX = 300
# Tests (``MAIL_CAPTURE``) read what would have been sent over SMTP here.
captured: list[EmailMessage] = []


class DeliveryError(Exception):
    """A message could not be handed over; it is tried again later."""


class Text(NamedTuple):
    """A message rendered in the recipient's language: an e-mail subject and body, and the
    short form that SMS and WeChat carry (with the link to act on)."""

    subject: str
    body: str
    short: str
    link: str = ""


Sender = Callable[[str, Text], None]


class Channel:
    """One way of reaching people; ``setting`` names the column of their choice per kind."""

    name = ""
    setting = ""
    label = _l("Channel")
    immediate = False  # written with the change itself, not sent by the worker

    def enabled(self, config) -> bool:
        return True

    def address(self, user, config) -> str | None:
        return None

    @contextmanager
    def open(self, config) -> Iterator[Sender]:
        raise NotImplementedError
        yield  # pragma: no cover


class InboxChannel(Channel):
    """The notices people read on the site; the row is the delivery."""

    name, setting, label, immediate = "inbox", "in_app", _l("In the inbox"), True

    def address(self, user, config) -> str | None:
        return "inbox"


class EmailChannel(Channel):
    """SMTP; one connection per batch. ``MAIL_CAPTURE`` keeps messages in ``captured``."""

    name, setting, label = "email", "email", _l("By e-mail")

    def enabled(self, config) -> bool:
        return bool(config.get("MAIL_SERVER"))

    def address(self, user, config) -> str | None:
        return user.email or None

    @contextmanager
    def open(self, config) -> Iterator[Sender]:
        smtp: smtplib.SMTP | None = None

        def send(to: str, text: Text) -> None:
            nonlocal smtp
            msg = message(config, to, text.subject, text.body)
            if config.get("MAIL_CAPTURE"):
                captured.append(msg)
                return
            try:
                if smtp is None:
                    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"],
                                        timeout=config.get("MAIL_TIMEOUT", 10))
                    if config["MAIL_USE_TLS"]:
                        smtp.starttls()
                    if config["MAIL_USERNAME"]:
                        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
                smtp.send_message(msg)
            except (OSError, smtplib.SMTPException) as exc:
                _close(smtp)
                smtp = None  # the next message opens a new connection
                raise DeliveryError(f"SMTP: {exc}") from exc

        try:
            yield send
        finally:
            _close(smtp, polite=True)


def _close(smtp: smtplib.SMTP | None, polite: bool = False) -> None:
    if smtp is None:
        return
    try:
        smtp.quit() if polite else smtp.close()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def message(config, to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text e-mail; header values are made one line, so user text in a subject can add
    no header."""
    msg = EmailMessage()
    msg["From"] = one_line(config["MAIL_SENDER"])
    msg["To"] = one_line(to)
    msg["Subject"] = one_line(str(subject))[:SUBJECT_MAX]
    msg.set_content(body)
    return msg


class ProviderChannel(Channel):
    """SMS or WeChat through the configured provider adapter (``log`` or ``http``)."""

    prefix = ""  # the configuration keys' prefix: SMS_, WECHAT_

    def enabled(self, config) -> bool:
        return config.get(f"{self.prefix}PROVIDER", "") in ("log", "http")

    def fields(self, address: str, text: Text) -> dict[str, str]:
        raise NotImplementedError

    @contextmanager
    def open(self, config) -> Iterator[Sender]:
        provider = config.get(f"{self.prefix}PROVIDER", "")

        def send(address: str, text: Text) -> None:
            fields = self.fields(address, text)
            if provider == "log":
                _log_line(config, self.name, fields)
            elif provider == "http":
                _post(config, self.prefix, fields)
            else:
                raise DeliveryError(f"{self.name}: no provider configured")

        yield send


class SmsChannel(ProviderChannel):
    """Text messages to the person's mobile number, only with their consent recorded."""

    name, setting, label, prefix = "sms", "sms", _l("By SMS"), "SMS_"

    def address(self, user, config) -> str | None:
        return user.phone if user.phone and user.sms_consent_at else None

    def fields(self, address: str, text: Text) -> dict[str, str]:
        return {"phone": address, "text": text.short[:SMS_MAX]}


class WeChatChannel(ProviderChannel):
    """WeChat template messages to the account the mini-program linked."""

    name, setting, label, prefix = "wechat", "wechat", _l("By WeChat"), "WECHAT_"

    def address(self, user, config) -> str | None:
        return user.wechat_openid or None

    def fields(self, address: str, text: Text) -> dict[str, str]:
        return {"openid": address, "title": text.subject[:SUBJECT_MAX], "text": text.short,
                "link": text.link}


def _log_line(config, name: str, fields: dict[str, str]) -> None:
    path = Path(config.get(f"{name.upper()}_LOG_FILE") or
                Path(config["UPLOAD_FOLDER"]) / f"{name}.log")
    line = json.dumps({"at": datetime.now().isoformat(timespec="seconds"), **fields},
                      ensure_ascii=False)
    try:
        with path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
    except OSError as exc:
        raise DeliveryError(f"{name} log: {exc}") from exc


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(template: str, fields: dict[str, str], as_json: bool) -> str:
    """Put the message's fields into a configured request template: ``{phone}``, ``{text}`` …
    (JSON-escaped when the body is JSON); unknown names stay as written."""
    def value(m: re.Match) -> str:
        if m.group(1) not in fields:
            return m.group(0)
        v = str(fields[m.group(1)])
        return json.dumps(v, ensure_ascii=False)[1:-1] if as_json else v

    return _PLACEHOLDER.sub(value, template)


def _post(config, prefix: str, fields: dict[str, str]) -> None:
    url = config.get(f"{prefix}HTTP_URL", "")
    if not url.startswith(("https://", "http://")):
        raise DeliveryError(f"{prefix}HTTP_URL is not an http(s) URL")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    headers.update(config.get(f"{prefix}HTTP_HEADERS") or {})
    as_json = "json" in headers.get("Content-Type", "")
    body = fill(config.get(f"{prefix}HTTP_BODY") or "", fields, as_json)
    req = urllib.request.Request(url, data=body.encode("utf-8"),
                                 headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=config.get(f"{prefix}HTTP_TIMEOUT", 10)) as r:
            if r.status >= 300:
                raise DeliveryError(f"{prefix}HTTP answered {r.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{prefix}HTTP answered {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{prefix}HTTP: {exc}") from exc


#: Every channel, in the order the settings page shows them.
CHANNELS: dict[str, Channel] = {c.name: c for c in (InboxChannel(), EmailChannel(),
                                                     SmsChannel(), WeChatChannel())}
