"""Filing a report from a phone's offline outbox: once per report id, whatever the retries.

The phone makes a report without a connection and sends it later, perhaps more than once (an
answer lost after the commit, two tabs, the service worker and a page at once). Its id
(``client_uuid``, unique in the database) makes the filing idempotent: a repeat by the same
reporter answers the issue filed the first time and writes nothing. Services never commit.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l

from volunteer.auth.models import User
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.issues.models import Issue
from volunteer.issues.photos import CheckedPhoto, PhotoBatch
from volunteer.issues.services import IssueInput, file_issue

#: A report id as ``crypto.randomUUID()`` makes it (any UUID in its canonical text form).
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class OfflineError(DomainError):
    """A report the outbox endpoint refuses; nothing is written."""

    messages = {
        "bad_uuid": _l("The report has no valid id; please save it again from the form."),
        "uuid_taken": _l("This report was already filed from another account. Log in as that "
                         "person to see it, or delete it from this phone's outbox."),
        "made_at_missing": _l("The report does not say when it was made."),
        "made_at_invalid": _l("The time the report was made cannot be read."),
        "made_at_future": _l("The report was made in the future by the phone's clock. Please "
                             "set the phone's date and time, then edit and save it again."),
        "made_at_old": _l("The report was made more than %(days)s days ago; it is too old to "
                          "file. Please check the place again and file a new report."),
    }
    statuses = dict.fromkeys(messages, 422) | {"uuid_taken": 409}


def check_uuid(text: str | None) -> str:
    """The report id in canonical form (lower case); raises OfflineError when it is none."""
    value = (text or "").strip().lower()
    if not UUID_RE.fullmatch(value):
        raise OfflineError("bad_uuid", "client_uuid")
    return value


def parse_made_at(text: str | None, now: datetime) -> datetime:
    """When the phone made the report, as stored (naive UTC): ISO 8601 with an offset (or Z),
    not ahead of ``now`` by more than ``OFFLINE_CLOCK_SKEW_MINUTES``, not older than
    ``OFFLINE_MAX_AGE_DAYS``."""
    text = (text or "").strip()
    if not text:
        raise OfflineError("made_at_missing", "made_at")
    try:
        value = datetime.fromisoformat(text[:40])
    except ValueError:
        raise OfflineError("made_at_invalid", "made_at") from None
    if value.tzinfo is None:  # a phone's local time without its offset: which zone?
        raise OfflineError("made_at_invalid", "made_at")
    value = value.astimezone(UTC).replace(tzinfo=None)
    config = current_app.config
    if value > now + timedelta(minutes=config["OFFLINE_CLOCK_SKEW_MINUTES"]):
        raise OfflineError("made_at_future", "made_at")
    days = config["OFFLINE_MAX_AGE_DAYS"]
    if value < now - timedelta(days=days):
        raise OfflineError("made_at_old", "made_at", {"days": days})
    return min(value, now)  # a clock a little ahead: the report was not made after it came


def filed_before(user: User, client_uuid: str) -> Issue | None:
    """The issue a report id was filed as, when ``user`` filed it; raises OfflineError when
    another account did (never that person's issue)."""
    issue = db.session.scalar(db.select(Issue).where(Issue.client_uuid == client_uuid))
    if issue is not None and issue.reporter_id != user.id:
        raise OfflineError("uuid_taken", "client_uuid")
    return issue


def form_uuid(user: User, text: str | None) -> tuple[str | None, Issue | None]:
    """The issue form's own report id (pages fill it in, so that a post the service worker
    keeps offline is the same report): ``(id, None)`` to file with it, ``(id, issue)`` when
    ``user`` filed it already (a second tap, or a post whose answer was lost), ``(None, None)``
    when there is none usable."""
    try:
        client_uuid = check_uuid(text)
        return client_uuid, filed_before(user, client_uuid)
    except OfflineError:
        return None, None


def file_offline(user: User, data: IssueInput, photos: list[CheckedPhoto]) -> Issue:
    """File a phone's report with its photos (``data`` carries its id and time made)."""
    issue = file_issue(user, data)
    PhotoBatch().add(issue, photos, user)
    return issue
