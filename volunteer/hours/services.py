"""Recording service hours: propose, confirm, correct. Services never commit.

After MCA Order No. 67: the organiser records and certifies the hours; a volunteer may propose
their own and may ask for a correction of confirmed hours, which the organiser accepts or
rejects with a reason. Nobody confirms their own hours.
"""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from volunteer.auth.models import User
from volunteer.common import iso_utc, to_local, utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.hours.models import (
    Certificate,
    CorrectionStatus,
    HoursCorrection,
    HoursStatus,
    ServiceHours,
)
from volunteer.inbox import services as inbox
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.invitations.services import organisers_of
from volunteer.invitations.targets import can_organise, target
from volunteer.privacy import eraser, exporter

MAX_HOURS = Decimal("24")  # one activity, one day
STEP = Decimal("0.1")


class HoursError(DomainError):
    """The operation is refused; ``code`` says why, ``field`` names the input at fault."""

    messages = {
        "hours_range": _l("Hours must be more than 0 and at most 24 for one activity."),
        "not_yours": _l("These hours are not yours."),
        "not_done": _l("Hours can be recorded once the issue is closed."),
        "already_confirmed": _l("These hours are confirmed already; ask for a correction "
                                "instead."),
        "not_allowed": _l("Only the grid leader, the village admin or the town admin can do "
                          "this."),
        "own_hours": _l("Nobody confirms their own hours."),
        "not_confirmed": _l("Only confirmed hours can be corrected."),
        "correction_pending": _l("A correction of these hours is already waiting for a "
                                 "decision."),
        "same_hours": _l("That is the number already recorded."),
        "reason_needed": _l("Please give a reason."),
        "already_decided": _l("This correction was already decided."),
        "no_hours": _l("A certificate lists confirmed hours; you have none yet."),
        "recorded_meanwhile": _l("Someone recorded these hours at the same moment; please look "
                                 "again."),
    }
    statuses = {"hours_range": 422, "same_hours": 422, "reason_needed": 422,
                "not_allowed": 403, "own_hours": 403, "not_yours": 404}


def parse_hours(value) -> Decimal:
    """Hours as a Decimal with one decimal place, more than 0 and at most 24."""
    try:
        hours = Decimal(str(value)).quantize(STEP, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        raise HoursError("hours_range", "hours") from None
    if not hours.is_finite() or hours <= 0 or hours > MAX_HOURS:
        raise HoursError("hours_range", "hours")
    return hours


def changed_hours(entry: ServiceHours | None, value) -> Decimal | None:
    """The hours an organiser typed when confirming, if they change the entry's (None when
    empty or the same: a measured 2.25 stays 2.25 rather than being rounded to 2.3)."""
    if value in (None, ""):
        return None
    if entry is not None:
        try:
            if Decimal(str(value).strip()) == entry.hours:
                return None
        except (InvalidOperation, ValueError, TypeError):
            pass
    return parse_hours(value)


def _served_on(inv: Invitation) -> date:
    when = inv.starts_at or (inv.issue.resolved_at if inv.issue else None) or utcnow()
    if inv.session is not None:
        when = inv.session.starts_at
    return to_local(when).date()


def entry_for(inv: Invitation) -> ServiceHours | None:
    return db.session.scalar(db.select(ServiceHours).where(ServiceHours.invitation_id == inv.id))


def propose(user: User, inv: Invitation, hours, note: str | None = None,
            now: datetime | None = None) -> ServiceHours:
    """The helper (or the organiser) proposes the hours of a finished task."""
    now = now or utcnow()
    if inv.volunteer_id != user.id and not can_organise(user, inv):
        raise HoursError("not_yours")
    entry = entry_for(inv)
    # A helper who checked out has measured hours waiting already; they may be changed
    # before the task is done.
    if inv.status != InvitationStatus.done and entry is None:
        raise HoursError("not_done")
    value = parse_hours(hours)
    if entry is not None and entry.status == HoursStatus.confirmed:
        raise HoursError("already_confirmed")
    entry = _record(inv, entry, value, user.id, now)
    entry.note = note or None
    return entry


def _record(inv: Invitation, entry: ServiceHours | None, hours: Decimal, proposer_id: int,
            now: datetime) -> ServiceHours:
    """Write the proposed hours of a task (a new entry, or the proposed one updated); the
    organiser is told when the helper proposed them."""
    if entry is None:
        entry = ServiceHours(volunteer_id=inv.volunteer_id, invitation_id=inv.id,
                             issue_id=inv.issue_id, session_id=inv.session_id, kind=inv.kind,
                             activity=target(inv).title[:200], served_on=_served_on(inv),
                             hours=hours)
        db.session.add(entry)
    entry.hours = hours
    entry.proposed_by_id, entry.proposed_at = proposer_id, now
    db.session.flush()
    if inv.volunteer_id == proposer_id:
        inbox.notify([inv.invited_by_id] if inv.invited_by_id else organisers_of(inv),
                     "hours", "hours_proposed", inv.issue, proposer_id, invitation=inv,
                     session=inv.session)
    return entry


def propose_measured(inv: Invitation, hours: Decimal, now: datetime | None = None
                     ) -> ServiceHours:
    """Hours measured from check-in to check-out (already rounded to the quarter hour),
    proposed in the helper's name for the organiser's confirmation, who is told. One entry per
    task: a proposed one is updated, a confirmed one left as it is."""
    now = now or utcnow()
    entry = entry_for(inv)
    if entry is not None and entry.status == HoursStatus.confirmed:
        return entry
    return _record(inv, entry, hours, inv.volunteer_id, now)


def confirm(organiser: User, inv: Invitation, hours=None, now: datetime | None = None
            ) -> ServiceHours:
    """The organiser confirms the hours (proposing them in the same step when none are)."""
    now = now or utcnow()
    if not can_organise(organiser, inv):
        raise HoursError("not_allowed")
    if inv.volunteer_id == organiser.id:
        raise HoursError("own_hours")
    entry = entry_for(inv)
    if entry is not None and entry.status == HoursStatus.confirmed:
        raise HoursError("already_confirmed")
    if changed_hours(entry, hours) is not None:
        entry = propose(organiser, inv, hours, entry.note if entry else None, now)
    elif entry is None:
        raise HoursError("hours_range", "hours")
    entry.status = HoursStatus.confirmed
    entry.confirmed_by_id = organiser.id
    entry.confirmed_at = now
    inbox.notify([inv.volunteer_id], "hours", "hours_confirmed", inv.issue, organiser.id,
                 invitation=inv, session=inv.session)
    return entry


def request_correction(volunteer: User, entry: ServiceHours, hours, reason: str,
                       now: datetime | None = None) -> HoursCorrection:
    """The volunteer asks for confirmed hours to be changed."""
    if entry.volunteer_id != volunteer.id:
        raise HoursError("not_yours")
    if entry.status != HoursStatus.confirmed:
        raise HoursError("not_confirmed")
    if entry.pending_correction is not None:
        raise HoursError("correction_pending")
    value = parse_hours(hours)
    if value == entry.hours:
        raise HoursError("same_hours", "hours")
    if not (reason or "").strip():
        raise HoursError("reason_needed", "reason")
    corr = HoursCorrection(entry=entry, requested_by_id=volunteer.id, old_hours=entry.hours,
                           new_hours=value, reason=reason.strip(), created_at=now or utcnow())
    db.session.add(corr)
    db.session.flush()
    inv = entry.invitation
    who = [entry.confirmed_by_id] if entry.confirmed_by_id else \
        (organisers_of(inv) if inv is not None else [])
    inbox.notify(who, "hours", "correction_requested", entry.issue, volunteer.id,
                 invitation=inv, session=entry.session)
    return corr


def decide_correction(organiser: User, corr: HoursCorrection, accept: bool,
                      reason: str | None = None, now: datetime | None = None) -> HoursCorrection:
    """The organiser accepts a correction (the hours change) or rejects it with a reason."""
    entry = corr.entry
    if not can_organise(organiser, entry):
        raise HoursError("not_allowed")
    if entry.volunteer_id == organiser.id:
        raise HoursError("own_hours")
    if corr.status != CorrectionStatus.pending:
        raise HoursError("already_decided")
    if not accept and not (reason or "").strip():
        raise HoursError("reason_needed", "reason")
    corr.status = CorrectionStatus.accepted if accept else CorrectionStatus.rejected
    corr.decided_by_id = organiser.id
    corr.decided_at = now or utcnow()
    corr.decision_reason = (reason or "").strip() or None
    if accept:
        entry.hours = corr.new_hours
    inbox.notify([entry.volunteer_id], "hours",
                 "correction_accepted" if accept else "correction_rejected", entry.issue,
                 organiser.id, invitation=entry.invitation, session=entry.session)
    return corr


def record_of(user_id: int):
    """A volunteer's hours, newest first."""
    return (db.select(ServiceHours).where(ServiceHours.volunteer_id == user_id)
            .order_by(ServiceHours.served_on.desc(), ServiceHours.id.desc()))


def totals(user_id: int) -> dict[str, Decimal]:
    """Confirmed and proposed hours of a volunteer, and the number of confirmed activities."""
    rows = db.session.execute(
        db.select(ServiceHours.status, sa.func.coalesce(sa.func.sum(ServiceHours.hours), 0),
                  sa.func.count(ServiceHours.id))
        .where(ServiceHours.volunteer_id == user_id).group_by(ServiceHours.status)).all()
    out = {HoursStatus.confirmed: Decimal(0), HoursStatus.proposed: Decimal(0), "activities": 0}
    for status, total, n in rows:
        out[status] = Decimal(total)
        if status == HoursStatus.confirmed:
            out["activities"] = n
    return out


@exporter("service_hours")
def _export(user: User):
    entries = db.session.scalars(record_of(user.id)).all()
    return [{"activity": e.activity, "served_on": e.served_on.isoformat(),
             "hours": str(e.hours), "status": e.status, "note": e.note,
             "confirmed_at": iso_utc(e.confirmed_at),
             "corrections": [{"from": str(c.old_hours), "to": str(c.new_hours),
                              "reason": c.reason, "status": c.status,
                              "decision_reason": c.decision_reason} for c in e.corrections]}
            for e in entries]


@exporter("certificates")
def _export_certificates(user: User):
    return [{"serial": c.serial, "hours": str(c.hours), "activities": c.activities,
             "issued_at": iso_utc(c.issued_at)} for c in db.session.scalars(
        db.select(Certificate).where(Certificate.volunteer_id == user.id)
        .order_by(Certificate.id))]


@eraser
def _erase(user: User) -> None:
    """Hours stay (the organisation's record of work done), detached from notes about me."""
    db.session.execute(sa.update(ServiceHours).where(ServiceHours.volunteer_id == user.id)
                       .values(note=None).execution_options(synchronize_session=False))


# --- certificates -----------------------------------------------------------------------------

SERIAL_CHARS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


def _check_char(body: str) -> str:
    total = sum((i + 1) * SERIAL_CHARS.index(c) for i, c in enumerate(body))
    return SERIAL_CHARS[total % len(SERIAL_CHARS)]


def new_serial(prefix: str, year: int) -> str:
    """SY-2026-XXXXXXXXXX-C: random, with a check character that catches a mistyped one."""
    import secrets

    body = "".join(secrets.choice(SERIAL_CHARS) for _ in range(10))
    return f"{prefix}-{year}-{body}-{_check_char(body)}"


def normalize_serial(text: str | None) -> str | None:
    """A serial as typed (any case, spaces) in its canonical form, or None if it cannot be one."""
    import re

    t = re.sub(r"\s+", "", (text or "")).upper()
    m = re.fullmatch(r"([A-Z]{1,6})-(\d{4})-([2-9A-HJ-NP-Z]{10})-([2-9A-HJ-NP-Z])", t)
    if not m or _check_char(m.group(3)) != m.group(4):
        return None
    return t


def issue_certificate(user: User, prefix: str, now: datetime | None = None):
    """A certificate of all the volunteer's confirmed hours so far."""
    now = now or utcnow()
    entries = db.session.scalars(db.select(ServiceHours).where(
        ServiceHours.volunteer_id == user.id, ServiceHours.status == HoursStatus.confirmed)
        .order_by(ServiceHours.served_on, ServiceHours.id)).all()
    if not entries:
        raise HoursError("no_hours")
    cert = Certificate(
        serial=new_serial(prefix, to_local(now).year), volunteer_id=user.id,
        hours=sum((e.hours for e in entries), Decimal(0)), activities=len(entries),
        first_on=entries[0].served_on, last_on=entries[-1].served_on,
        entries=[[e.served_on.isoformat(), e.activity, str(e.hours)] for e in entries],
        issued_at=now)
    db.session.add(cert)
    db.session.flush()
    return cert


def qr_svg(text: str):
    """A QR code of ``text`` as inline SVG markup (for a printed certificate's check link)."""
    import qrcode
    import qrcode.image.svg
    from markupsafe import Markup

    buf = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).save(buf)
    svg = buf.getvalue().decode()
    return Markup(svg[svg.index("<svg"):])  # the library's own markup; ``text`` is a URL of ours
