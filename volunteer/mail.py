"""Outgoing e-mail over SMTP when ``MAIL_SERVER`` is set; otherwise nothing is sent."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

from volunteer.config import mail_configured
from volunteer.rules import one_line

log = logging.getLogger(__name__)
# Tests read what would have been sent here.
outbox: list[EmailMessage] = []
SUBJECT_MAX = 200


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send one plain-text message; returns False when mail is not configured or fails.
    Header values are made one line, so user text in a subject can add no header."""
    cfg = current_app.config
    if not mail_configured(cfg):
        return False
    msg = EmailMessage()
    msg["From"] = one_line(cfg["MAIL_SENDER"])
    msg["To"] = one_line(to)
    msg["Subject"] = one_line(str(subject))[:SUBJECT_MAX]
    msg.set_content(body)
    if cfg.get("TESTING"):
        outbox.append(msg)
        return True
    try:
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls()
            if cfg["MAIL_USERNAME"]:
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException):
        log.exception("sending mail to %s failed", to)
        return False
    return True
