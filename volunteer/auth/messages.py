"""Account messages that leave through the outbox: the password-reset link."""
from __future__ import annotations

from flask_babel import gettext as _

from volunteer.outbox import services as outbox
from volunteer.outbox.channels import CHANNELS, Text


def mail_reset_link(user, link: str) -> bool:
    """Queue the reset link to the person's e-mail address (whatever they chose for notices);
    it leaves after the commit, and the link is wiped from the outbox once sent."""
    channel = CHANNELS["email"]
    if not outbox.reachable(channel, user):
        return False
    outbox.post(channel, user, "password_reset", payload={"link": link})
    return True


@outbox.renderer("password_reset")
def _render_reset(msg) -> Text:
    link = (msg.payload or {}).get("link", "")
    body = _("Open this link within 2 hours to set a new password: %(link)s", link=link)
    return Text(subject=_("Reset your password"), body=body, short=body, link=link)
