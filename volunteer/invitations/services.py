"""Inviting volunteers, their answers, offers, waves, no-shows, reminders. Services never commit.

Two rules must hold even when two people act at the same moment: a volunteer is never holding
two tasks whose times overlap (nor more tasks than their monthly limit), and a task never has
more helpers than it needs. Every operation that could break them first *locks* the rows it
depends on — the issue, then the volunteers in id order — with an UPDATE that changes nothing
visible (PostgreSQL: a row lock; SQLite: the database's write lock), then checks, then writes.
The second of two simultaneous operations waits for the first to commit and then sees its
result; exactly one wins.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from volunteer import policy
from volunteer.auth.models import Role, User
from volunteer.auth.services import DELETED_NAME
from volunteer.callups.models import busy_with_callup
from volunteer.common import iso_utc, utcnow
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.geo import haversine_km
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.inbox import services as inbox
from volunteer.invitations.models import (
    Invitation,
    InvitationStatus,
    holding_clause,
    recent_tasks_clause,
)
from volunteer.invitations.targets import Target, target
from volunteer.issues.models import OPEN_STATUSES, Issue, IssueAction, IssueEvent
from volunteer.matching.queries import issue_query
from volunteer.matching.store import get_matcher
from volunteer.privacy import eraser, exporter
from volunteer.signals import issue_changed
from volunteer.volunteers.models import VolunteerProfile

INVITATION_HOURS = 24  # an unanswered invitation expires after this (or when the task starts)
MIN_HOURS = 1


class InvitationError(DomainError):
    """The operation is refused; ``code`` says why, ``who`` names the volunteer concerned."""

    messages = {
        "not_allowed": _l("Only the grid leader, the village admin or the town admin can do "
                          "this."),
        "issue_not_open": _l("This issue is no longer open."),
        "nobody": _l("Please choose whom to invite."),
        "filled": _l("All places on this task are filled."),
        "already_invited": _l("%(who)s was already asked for this issue."),
        "self": _l("You cannot invite yourself."),
        "not_a_volunteer": _l("%(who)s has no volunteer profile."),
        "unavailable": _l("%(who)s is paused or no longer available."),
        "over_limit": _l("%(who)s has reached their monthly limit of tasks."),
        "weekly_cap": _l("%(who)s has been asked often this week already; to spread the work, "
                         "please ask someone else."),
        "double_booked": _l("%(who)s is already busy at that time."),
        "not_yours": _l("This invitation is not yours."),
        "expired": _l("This invitation has expired."),
        "withdrawn": _l("This invitation was withdrawn."),
        "already_accepted": _l("You have already accepted this invitation."),
        "already_declined": _l("You have already declined this invitation."),
        "not_invited": _l("This is your offer; the organiser decides on it."),
        "not_open": _l("This invitation is no longer open."),
        "out_of_range": _l("This issue is beyond your travel range."),
        "not_your_skills": _l("This issue does not need the skills you registered."),
        "not_suggested": _l("Only volunteers suggested for this task can be invited; the list "
                            "may have changed, please look again."),
        "not_an_offer": _l("This offer was already decided."),
        "reason_needed": _l("Please give a reason."),
        "not_a_helper": _l("Only someone who accepted can be marked as not having come."),
        "hours_confirmed": _l("Their hours are confirmed already; change them by a "
                              "correction."),
        "session_not_open": _l("This session is cancelled or has already started."),
        "bad_window": _l("The end must come after the start, and an end needs a start."),
        "invited_meanwhile": _l("Someone invited the same volunteer at the same moment; nobody "
                                "was invited. Please look again."),
    }
    statuses = {"not_allowed": 403, "not_yours": 404, "nobody": 422, "not_suggested": 422,
                "reason_needed": 422, "bad_window": 422}
    defaults = {"who": _l("The volunteer")}

    def __init__(self, code: str, who: str = "", field: str | None = None):
        super().__init__(code, field, {"who": who})

    @property
    def who(self) -> str:
        return self.params.get("who", "")


def organised_clause(user: User):
    """SQL: the issues ``user`` organises help for (the SQL form of ``can_organise``)."""
    offices = policy.office_villages(user)
    if offices is None:
        return sa.true()
    return sa.or_(Issue.grid_id.in_(user.grid_ids(Role.grid_leader) or {-1}),
                  Issue.village_id.in_(offices or {-1}))


def organisers_of(obj) -> list[int]:
    """The people who organise help for an issue or session (its grid's leaders, 村居 admins)."""
    return target(obj).organisers()


def _notify(inv: Invitation, user_ids, kind: str, event: str, actor_id: int | None = None):
    inbox.notify(user_ids, kind, event, inv.issue, actor_id, invitation=inv,
                 session=inv.session)


def _inviters(inv: Invitation) -> list[int]:
    return [inv.invited_by_id] if inv.invited_by_id else organisers_of(inv)


# --- locks and checks -------------------------------------------------------------------------

def _lock_volunteers(user_ids) -> dict[int, VolunteerProfile]:
    """Lock the volunteers' profiles (and mark them changed, so the matcher re-reads their load)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    db.session.execute(sa.update(VolunteerProfile).where(VolunteerProfile.user_id.in_(ids))
                       .values(updated_at=utcnow())
                       .execution_options(synchronize_session=False))
    profiles = db.session.scalars(db.select(VolunteerProfile)
                                  .where(VolunteerProfile.user_id.in_(ids))
                                  .execution_options(populate_existing=True)).all()
    return {p.user_id: p for p in profiles}


def places_left(obj) -> int:
    """Places still open: the helpers (or staff) needed less those who accepted."""
    t = obj if isinstance(obj, Target) else target(obj)
    taken = db.session.scalar(db.select(sa.func.count(Invitation.id)).where(
        t.column() == t.id,
        Invitation.status.in_((InvitationStatus.accepted, InvitationStatus.done))))
    return max(0, t.places - (taken or 0))


def _check_free(user: User, profile: VolunteerProfile | None, starts: datetime | None,
                ends: datetime | None, now: datetime, ignore_id: int | None = None) -> None:
    """Refuse a volunteer who is paused, gone, at their limit, or busy at that time."""
    name = user.name
    if profile is None:
        raise InvitationError("not_a_volunteer", name)
    if profile.paused or not user.active or user.deleted_at is not None \
            or user.consent_at is None:
        raise InvitationError("unavailable", name)
    mine = [Invitation.volunteer_id == user.id]
    if ignore_id is not None:
        mine.append(Invitation.id != ignore_id)
    recent = db.session.scalar(db.select(sa.func.count(Invitation.id)).where(
        *mine, recent_tasks_clause(now)))
    if recent >= (profile.monthly_limit or 0):
        raise InvitationError("over_limit", name)
    if starts is not None:
        end = ends or starts + timedelta(hours=2)
        clash = db.session.scalar(db.select(Invitation.id).where(
            *mine, holding_clause(now), Invitation.starts_at.is_not(None),
            Invitation.starts_at < end,
            sa.func.coalesce(Invitation.ends_at, Invitation.starts_at) > starts).limit(1))
        if clash is not None or busy_with_callup(user.id, starts, end) is not None:
            raise InvitationError("double_booked", name)


def _check_weekly_cap(user: User, now: datetime) -> None:
    """Refuse a volunteer asked ``MATCH_WEEKLY_CAP`` times in the last 7 days (0: no cap)."""
    cap = int(current_app.config.get("MATCH_WEEKLY_CAP") or 0)
    if not cap:
        return
    asked = db.session.scalar(db.select(sa.func.count(Invitation.id)).where(
        Invitation.volunteer_id == user.id, Invitation.origin == "invite",
        Invitation.created_at >= now - timedelta(days=7))) or 0
    if asked >= cap:
        raise InvitationError("weekly_cap", user.name)


def _expiry(now: datetime, starts: datetime | None) -> datetime:
    expires = now + timedelta(hours=INVITATION_HOURS)
    if starts is not None and starts > now + timedelta(hours=MIN_HOURS):
        expires = min(expires, starts)
    return expires


# --- inviting ---------------------------------------------------------------------------------

@dataclass
class Pick:
    """A volunteer to invite, with the matcher's view of them at that moment."""

    user_id: int
    score: float | None = None
    distance_m: int | None = None
    reasons: list | None = None
    slate_id: int | None = None  # the list shown that the organiser picked from
    slate_rank: int | None = None  # and the volunteer's place in it (from 1)


def invite(organiser: User, obj, picks: list[Pick], now: datetime | None = None
           ) -> list[Invitation]:
    """Invite one volunteer or a team to help with an issue or staff a session. All or
    nothing."""
    now = now or utcnow()
    t = target(obj)
    if not t.can_organise(organiser):
        raise InvitationError("not_allowed")
    if not t.is_open():
        raise InvitationError("issue_not_open" if t.kind == "issue" else "session_not_open")
    if not picks:
        raise InvitationError("nobody")
    t.lock()
    if places_left(t) <= 0:
        raise InvitationError("filled")
    profiles = _lock_volunteers(p.user_id for p in picks)
    already = set(db.session.scalars(db.select(Invitation.volunteer_id).where(
        t.column() == t.id)))
    wave = (db.session.scalar(db.select(sa.func.max(Invitation.wave))
                              .where(t.column() == t.id)) or 0) + 1
    out = []
    for pick in picks:
        user = db.session.get(User, pick.user_id)
        if user is None:
            raise InvitationError("not_a_volunteer")
        if pick.user_id in already:
            raise InvitationError("already_invited", user.name)
        if user.id == organiser.id:
            raise InvitationError("self", user.name)
        _check_free(user, profiles.get(user.id), t.starts, t.ends, now)
        _check_weekly_cap(user, now)
        inv = Invitation(kind=t.kind, volunteer_id=user.id, invited_by_id=organiser.id,
                         origin="invite", status=InvitationStatus.invited, wave=wave,
                         score=pick.score, distance_m=pick.distance_m, reasons=pick.reasons,
                         slate_id=pick.slate_id, slate_rank=pick.slate_rank,
                         starts_at=t.starts,
                         ends_at=t.ends, expires_at=_expiry(now, t.starts), created_at=now)
        setattr(inv, t.kind, t.obj)
        db.session.add(inv)
        already.add(user.id)
        out.append(inv)
        t.event(organiser.id, "invite", user.name, now)
    db.session.flush()
    for inv in out:
        _notify(inv, [inv.volunteer_id], "invitation", "invited", organiser.id)
    return out


def invitations_of(obj) -> list[Invitation]:
    t = target(obj)
    return list(db.session.scalars(db.select(Invitation).where(t.column() == t.id)
                                   .order_by(Invitation.wave, Invitation.id)))


def invited_ids(obj) -> set[int]:
    """Everyone ever invited (or offering) for the issue or session: never suggested again."""
    t = target(obj)
    return set(db.session.scalars(db.select(Invitation.volunteer_id)
                                  .where(t.column() == t.id)))


def open_places_to_invite(obj, now: datetime | None = None) -> int:
    """How many more people to invite now: places left less invitations still waiting."""
    t = target(obj)
    waiting = db.session.scalar(db.select(sa.func.count(Invitation.id)).where(
        t.column() == t.id,
        Invitation.status.in_((InvitationStatus.invited, InvitationStatus.offered)),
        holding_clause(now)))
    return max(0, places_left(t) - (waiting or 0))


# --- answers ----------------------------------------------------------------------------------

def _answerable(volunteer: User, inv: Invitation, now: datetime, accepting: bool) -> None:
    if inv.volunteer_id != volunteer.id:
        raise InvitationError("not_yours")
    state = inv.state(now)
    if state == InvitationStatus.invited:
        return
    if state == InvitationStatus.accepted and accepting:
        raise InvitationError("already_accepted")
    raise InvitationError({InvitationStatus.expired: "expired",
                           InvitationStatus.withdrawn: "withdrawn",
                           InvitationStatus.declined: "already_declined",
                           InvitationStatus.offered: "not_invited"}.get(state, "not_open"))


def _take_place(inv: Invitation, now: datetime) -> None:
    """Check and take one place on the task for ``inv`` (locks held by the caller)."""
    t = target(inv)
    if not t.is_open():
        raise InvitationError("issue_not_open" if t.kind == "issue" else "session_not_open")
    left = places_left(t)
    if left <= 0:
        raise InvitationError("filled")
    user = db.session.get(User, inv.volunteer_id)
    profile = _lock_volunteers([inv.volunteer_id]).get(inv.volunteer_id)
    _check_free(user, profile, inv.starts_at, inv.ends_at, now, ignore_id=inv.id)
    inv.status = InvitationStatus.accepted
    inv.responded_at = now
    if left == 1:  # this was the last place
        close_waiting(t, "filled", now, keep=inv.id)


def close_waiting(t: Target, reason: str, now: datetime, keep: int | None = None) -> None:
    """Withdraw every invitation and offer still waiting (the places are gone)."""
    for other in db.session.scalars(db.select(Invitation).where(
            t.column() == t.id, Invitation.id != (keep or -1),
            Invitation.status.in_((InvitationStatus.invited, InvitationStatus.offered)))):
        if other.state(now) == InvitationStatus.expired:
            continue  # it lapsed unanswered, and stays so (the dashboard and reliability)
        other.status = InvitationStatus.withdrawn
        other.closed_reason = reason
        _notify(other, [other.volunteer_id], "invitation", reason)


def respond(volunteer: User, inv: Invitation, accept: bool, reason: str | None = None,
            now: datetime | None = None) -> Invitation:
    """The volunteer accepts or declines (a reason is optional)."""
    now = now or utcnow()
    _answerable(volunteer, inv, now, accept)
    t = target(inv)
    if accept:
        t.lock()
        db.session.refresh(inv)  # another answer may have closed it meanwhile
        _answerable(volunteer, inv, now, accept)
        _take_place(inv, now)
        t.event(volunteer.id, "invitation_accepted", None, now)
    else:
        inv.status = InvitationStatus.declined
        inv.responded_at = now
        inv.note = reason or None
        _lock_volunteers([volunteer.id])  # the matcher sees their load change
        t.event(volunteer.id, "invitation_declined", reason or None, now)
    _notify(inv, _inviters(inv), "team", "accepted" if accept else "declined", volunteer.id)
    return inv


def reschedule(organiser: User, issue: Issue, starts: datetime | None, ends: datetime | None,
               address: str | None, now: datetime | None = None) -> list[Invitation]:
    """The organiser sets or changes an open issue's time window and address after filing.
    The invitations holding a place follow the new window, unless it would double-book one of
    their volunteers (then nothing changes); everyone holding one is told. Returns them."""
    now = now or utcnow()
    t = target(issue)
    if not t.can_organise(organiser):
        raise InvitationError("not_allowed")
    if not t.is_open():
        raise InvitationError("issue_not_open")
    if (ends is not None and starts is None) or (starts and ends and ends <= starts):
        raise InvitationError("bad_window", field="needed_until")
    t.lock()
    holding = db.session.scalars(db.select(Invitation).where(
        Invitation.issue_id == issue.id, holding_clause(now)).order_by(Invitation.id)).all()
    moved = (starts, ends) != (issue.needed_from, issue.needed_until)
    if moved:
        profiles = _lock_volunteers([inv.volunteer_id for inv in holding])
        for inv in holding:
            _check_free(inv.volunteer, profiles.get(inv.volunteer_id), starts, ends, now,
                        ignore_id=inv.id)
    address = (address or "").strip()[:200] or None
    if not moved and address == issue.address:
        return []
    issue.needed_from, issue.needed_until, issue.address = starts, ends, address
    for inv in holding:
        inv.starts_at, inv.ends_at = starts, ends
        if inv.status == InvitationStatus.invited and inv.expires_at is not None:
            inv.expires_at = _expiry(inv.created_at, starts) if starts else inv.expires_at
    when = f"{iso_utc(starts) or '—'} – {iso_utc(ends) or '—'}"
    t.event(organiser.id, "reschedule", f"{when} · {address or '—'}", now)
    for inv in holding:
        inbox.notify([inv.volunteer_id], "invitation", "task_changed", issue, organiser.id,
                     invitation=inv)
    return holding


def withdraw(organiser: User, inv: Invitation, reason: str | None = None,
             now: datetime | None = None) -> Invitation:
    """The organiser takes back an invitation (or a volunteer's place) before the work is done."""
    now = now or utcnow()
    t = target(inv)
    if not t.can_organise(organiser):
        raise InvitationError("not_allowed")
    if inv.state(now) not in (InvitationStatus.invited, InvitationStatus.offered,
                              InvitationStatus.accepted):
        raise InvitationError("not_open")
    inv.status = InvitationStatus.withdrawn
    inv.closed_reason = "organiser"
    inv.note = reason or inv.note
    _lock_volunteers([inv.volunteer_id])
    t.event(organiser.id, "invitation_withdrawn", inv.volunteer.name, now)
    _notify(inv, [inv.volunteer_id], "invitation", "withdrawn", organiser.id)
    return inv


# --- offers from the volunteer's side ---------------------------------------------------------

def offer(volunteer: User, issue: Issue, note: str | None = None,
          now: datetime | None = None) -> Invitation:
    """A volunteer offers to help with an open issue near them; an organiser decides."""
    now = now or utcnow()
    profile = volunteer.profile
    if profile is None:
        raise InvitationError("not_a_volunteer")
    if issue.status not in OPEN_STATUSES:
        raise InvitationError("issue_not_open")
    if float(haversine_km(profile.lat, profile.lon, issue.lat, issue.lon)) > profile.travel_km:
        raise InvitationError("out_of_range")
    if not _fits(volunteer, issue):
        raise InvitationError("not_your_skills")
    t = target(issue)
    t.lock()
    if places_left(t) <= 0:
        raise InvitationError("filled")
    profile = _lock_volunteers([volunteer.id]).get(volunteer.id)
    if db.session.scalar(db.select(Invitation.id).where(
            Invitation.issue_id == issue.id, Invitation.volunteer_id == volunteer.id)):
        raise InvitationError("already_invited", volunteer.name)
    _check_free(volunteer, profile, issue.needed_from, issue.needed_until, now)
    d = int(round(float(haversine_km(profile.lat, profile.lon, issue.lat, issue.lon)) * 1000))
    inv = Invitation(kind="issue", issue=issue, volunteer_id=volunteer.id, origin="offer",
                     status=InvitationStatus.offered, distance_m=d, starts_at=issue.needed_from,
                     ends_at=issue.needed_until, note=note or None, created_at=now)
    db.session.add(inv)
    t.event(volunteer.id, "offer", note or None, now)
    db.session.flush()
    _notify(inv, t.organisers(), "team", "offer", volunteer.id)
    return inv


def _fits(volunteer: User, issue: Issue) -> bool:
    """Whether the issue needs a skill the volunteer holds, as "needs near me" shows it."""
    found = get_matcher().evaluate_one(issue_query(issue), volunteer.id)
    return found is not None and found.tier >= 2


def decide_offer(organiser: User, inv: Invitation, accept: bool, reason: str | None = None,
                 now: datetime | None = None) -> Invitation:
    """The organiser takes up an offer (a place, like an accepted invitation) or declines it."""
    now = now or utcnow()
    t = target(inv)
    if not t.can_organise(organiser):
        raise InvitationError("not_allowed")
    if inv.status != InvitationStatus.offered:
        raise InvitationError("not_an_offer")
    if accept:
        t.lock()
        db.session.refresh(inv)
        if inv.status != InvitationStatus.offered:
            raise InvitationError("not_an_offer")
        _take_place(inv, now)
        inv.invited_by_id = organiser.id
    else:
        if not reason:
            raise InvitationError("reason_needed", field="note")
        inv.status = InvitationStatus.declined
        inv.responded_at = now
        inv.closed_reason = "organiser"
        inv.note = reason
        _lock_volunteers([inv.volunteer_id])
    t.event(organiser.id, "offer_accepted" if accept else "offer_declined",
            inv.volunteer.name if accept else f"{inv.volunteer.name}: {reason}", now)
    _notify(inv, [inv.volunteer_id], "invitation",
            "offer_accepted" if accept else "offer_declined", organiser.id)
    return inv


# --- after the work ---------------------------------------------------------------------------

def mark_no_show(organiser: User, inv: Invitation, now: datetime | None = None) -> Invitation:
    """The helper did not come: no hours, and it counts in their reliability."""
    t = target(inv)
    if not t.can_organise(organiser):
        raise InvitationError("not_allowed")
    if inv.status not in (InvitationStatus.accepted, InvitationStatus.done):
        raise InvitationError("not_a_helper")
    entry = db.session.scalar(db.select(ServiceHours).where(ServiceHours.invitation_id == inv.id))
    if entry is not None and entry.status == HoursStatus.confirmed:
        raise InvitationError("hours_confirmed")
    if entry is not None:
        db.session.delete(entry)
    inv.status = InvitationStatus.no_show
    _lock_volunteers([inv.volunteer_id])
    t.event(organiser.id, "no_show", inv.volunteer.name, now)
    return inv


@issue_changed.connect
def on_issue_changed(issue: Issue, action: str, now: datetime | None = None, **_kw) -> None:
    """Keep invitations in step with the issue (``signals.issue_changed``): once it is resolved
    nobody more is asked (the invitations still waiting are withdrawn); helpers are done when it
    closes, and each is asked for their hours; a rejected issue gives everyone back their time.
    A reopened issue starts a new round of invitations."""
    now = now or utcnow()
    t = target(issue)
    if action == IssueAction.resolve:
        close_waiting(t, "issue_closed", now)
    elif action == IssueAction.verify:
        for inv in db.session.scalars(db.select(Invitation).where(
                Invitation.issue_id == issue.id, Invitation.status == InvitationStatus.accepted)):
            inv.status = InvitationStatus.done
            _notify(inv, [inv.volunteer_id], "hours", "propose_hours")  # the link: the form
        close_waiting(t, "issue_closed", now)
    elif action == IssueAction.reject:
        for inv in db.session.scalars(db.select(Invitation).where(
                Invitation.issue_id == issue.id, Invitation.status == InvitationStatus.accepted)):
            inv.status = InvitationStatus.withdrawn
            inv.closed_reason = "issue_closed"
            _notify(inv, [inv.volunteer_id], "invitation", "issue_closed")
        close_waiting(t, "issue_closed", now)


# --- time -------------------------------------------------------------------------------------

REMIND_BEFORE_EXPIRY = timedelta(hours=3)


def tick(now: datetime | None = None) -> dict[str, int]:
    """Reminders that fall due, each sent once: an invitation about to expire, a task starting
    within a day; and the organiser hears when an invitation expired unanswered. Idempotent."""
    now = now or utcnow()
    counts = {"expiring": 0, "tomorrow": 0, "expired": 0}
    for inv in db.session.scalars(db.select(Invitation).where(
            Invitation.status == InvitationStatus.invited, Invitation.reminded_at.is_(None),
            Invitation.expires_at > now, Invitation.expires_at <= now + REMIND_BEFORE_EXPIRY)):
        inv.reminded_at = now
        _notify(inv, [inv.volunteer_id], "invitation", "expiring")
        counts["expiring"] += 1
    for inv in db.session.scalars(db.select(Invitation).where(
            Invitation.status == InvitationStatus.accepted, Invitation.start_reminded_at.is_(None),
            Invitation.starts_at > now, Invitation.starts_at <= now + timedelta(days=1))):
        inv.start_reminded_at = now
        _notify(inv, [inv.volunteer_id], "invitation", "tomorrow")
        counts["tomorrow"] += 1
    for inv in db.session.scalars(db.select(Invitation).where(
            Invitation.status == InvitationStatus.invited, Invitation.expired_noticed_at.is_(None),
            Invitation.expires_at <= now)):
        inv.expired_noticed_at = now
        _notify(inv, _inviters(inv), "team", "expired")
        counts["expired"] += 1
    return counts


# --- privacy ----------------------------------------------------------------------------------

@exporter("invitations")
def _export(user: User):
    rows = db.session.scalars(db.select(Invitation).where(Invitation.volunteer_id == user.id)
                              .order_by(Invitation.id)).all()
    return [{"kind": inv.kind, "issue": inv.issue_id, "session": inv.session_id,
             "origin": inv.origin, "status": inv.state(), "closed_reason": inv.closed_reason,
             "starts_at": iso_utc(inv.starts_at), "ends_at": iso_utc(inv.ends_at),
             "invited_at": iso_utc(inv.created_at), "answered_at": iso_utc(inv.responded_at),
             "note": inv.note, "feedback": inv.feedback, "score": inv.score,
             "distance_m": inv.distance_m, "reasons": inv.reasons} for inv in rows]


#: Timeline entries whose comment the volunteer wrote: a decline reason, an offer's note.
OWN_TIMELINE_ACTIONS = ("invitation_declined", "offer")
#: Timeline entries whose comment names the volunteer (an organiser acted on them).
NAMING_TIMELINE_ACTIONS = ("invite", "invitation_withdrawn", "offer_accepted", "offer_declined",
                           "no_show")


@eraser
def _erase(user: User) -> None:
    """Waiting and accepted tasks are given back; my notes, the matcher's view of me and my
    name in the issues' timelines go; the history stays anonymous."""
    now = utcnow()
    for inv in db.session.scalars(db.select(Invitation).where(
            Invitation.volunteer_id == user.id, holding_clause(now))):
        inv.status = InvitationStatus.withdrawn
        inv.closed_reason = "account_deleted"
        _notify(inv, organisers_of(inv), "team", "helper_left")
    _erase_timeline(user)
    db.session.execute(sa.update(Invitation).where(Invitation.volunteer_id == user.id)
                       .values(note=None, feedback=None, reasons=None, distance_m=None)
                       .execution_options(synchronize_session=False))


def _erase_timeline(user: User) -> None:
    """What I wrote leaves the timelines of the issues I was asked to help with, and where an
    entry names me, it names the anonymous stand-in instead (with no reason after it)."""
    db.session.execute(sa.update(IssueEvent).where(
        IssueEvent.actor_id == user.id, IssueEvent.action.in_(OWN_TIMELINE_ACTIONS))
        .values(comment=None).execution_options(synchronize_session=False))
    issues = db.select(Invitation.issue_id).where(Invitation.volunteer_id == user.id,
                                                  Invitation.issue_id.is_not(None))
    for event in db.session.scalars(db.select(IssueEvent).where(
            IssueEvent.issue_id.in_(issues), IssueEvent.action.in_(NAMING_TIMELINE_ACTIONS),
            IssueEvent.comment.is_not(None))):
        if event.comment == user.name or event.comment.startswith(f"{user.name}: "):
            event.comment = DELETED_NAME
