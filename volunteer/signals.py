"""Signals between features (blinker): a feature announces what happened and the others react,
without the announcing one importing them (as indico's modules do).

Receivers connect in their own modules with ``@issue_changed.connect`` at import; ``create_app``
imports every feature, so they are connected wherever the app runs (views, CLI, tests). They run
inside the sender's unit of work: they add and flush, never commit. blinker does not promise an
order among receivers, so none may depend on another having run.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

issue_changed = _signals.signal("issue-changed", doc="""An issue was filed, an action was done on
it, or it ran overdue (the timeline event is already added). Sender: the issue. Keyword
arguments: ``action`` (``"report"`` when filed; a workflow action such as ``"resolve"`` or
``"verify"``; ``"overdue"`` past its deadline, ``"verify_overdue"`` waiting too long for
verification), ``actor_id`` (who did it; None for the overdue ones) and ``now`` (UTC).

Receivers: the invitations (``invitations.services.on_issue_changed``: waiting invitations
lapse at resolution, helpers are done at closure) and the inbox
(``inbox.services.on_issue_changed``: the reporter, followers, queue staff and verifiers hear
of it).""")

message_dead = _signals.signal("message-dead", doc="""An outbox message failed its last try and
is a dead letter (the row is already marked). Sender: the message.

Receiver: the inbox (``inbox.services.on_message_dead``: the town admins hear of it, once until
they read the notice).""")
