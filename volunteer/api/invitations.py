"""Invitations and service hours in the JSON API: invite, list mine, accept, decline, withdraw;
propose and confirm hours, ask for and decide corrections."""
from __future__ import annotations

from typing import Literal

from flask import g, jsonify
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.api import bp, fields
from volunteer.api.spec import operation, validation_error
from volunteer.common import iso_utc, utcnow
from volunteer.extensions import db
from volunteer.hours.models import CorrectionStatus, HoursCorrection, HoursStatus, ServiceHours
from volunteer.hours.services import (
    HoursError,
    confirm,
    decide_correction,
    propose,
    record_of,
    request_correction,
    totals,
)
from volunteer.invitations.models import STATUSES, Invitation, InvitationStatus
from volunteer.invitations.services import (
    InvitationError,
    Pick,
    invite,
    respond,
    withdraw,
)
from volunteer.invitations.suggestions import for_issue
from volunteer.invitations.targets import can_organise, target
from volunteer.issues.models import Issue
from volunteer.issues.services import can_view
from volunteer.volunteers.services import helper_phone, list_phone

State = Literal[STATUSES]  # type: ignore[valid-type]


def _plain(v: str | None) -> str | None:
    return fields.text(v, multiline=True)


class InviteIn(BaseModel):
    model_config = {"extra": "forbid"}

    volunteer_ids: list[int] = Field(min_length=1, max_length=20)

    @field_validator("volunteer_ids")
    @classmethod
    def _ids(cls, v: list[int]) -> list[int]:
        if any(i < 1 or i > 2**31 - 1 for i in v):
            raise ValueError("ids are positive integers")
        if len(set(v)) != len(v):
            raise ValueError("each volunteer once")
        return v


class NoteIn(BaseModel):
    model_config = {"extra": "forbid"}

    reason: str | None = Field(default=None, max_length=500)

    @field_validator("reason")
    @classmethod
    def _clean(cls, v: str | None) -> str | None:
        return _plain(v)


class InvitationOut(BaseModel):
    id: int
    issue: int | None
    session: int | None
    title: str
    volunteer: dict
    origin: Literal["invite", "offer"]
    status: State
    wave: int
    score: float | None
    distance_m: int | None
    starts_at: str | None
    ends_at: str | None
    expires_at: str | None
    answered_at: str | None
    note: str | None


class InvitationList(BaseModel):
    items: list[InvitationOut]
    page: int
    pages: int
    total: int


class MineQuery(BaseModel):
    model_config = {"extra": "forbid"}

    status: State | None = None
    page: int = Field(default=1, ge=1, le=100000)
    per_page: int = Field(default=25, ge=1, le=100)


class PageQuery(BaseModel):
    model_config = {"extra": "forbid"}

    page: int = Field(default=1, ge=1, le=100000)
    per_page: int = Field(default=25, ge=1, le=100)


class HoursIn(BaseModel):
    model_config = {"extra": "forbid"}

    hours: float = Field(gt=0, le=24)
    note: str | None = Field(default=None, max_length=500)

    @field_validator("note")
    @classmethod
    def _clean(cls, v: str | None) -> str | None:
        return _plain(v)


class ConfirmIn(BaseModel):
    model_config = {"extra": "forbid"}

    hours: float | None = Field(default=None, gt=0, le=24)


class CorrectionIn(BaseModel):
    model_config = {"extra": "forbid"}

    hours: float = Field(gt=0, le=24)
    reason: str = Field(min_length=1, max_length=500)

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        return fields.text(v, multiline=True, required=True)


class DecisionIn(BaseModel):
    model_config = {"extra": "forbid"}

    accept: bool
    reason: str | None = Field(default=None, max_length=500)

    @field_validator("reason")
    @classmethod
    def _clean(cls, v: str | None) -> str | None:
        return _plain(v)


class CorrectionOut(BaseModel):
    id: int
    old_hours: float
    new_hours: float
    reason: str
    status: Literal[tuple(CorrectionStatus)]  # type: ignore[valid-type]
    decision_reason: str | None


class HoursOut(BaseModel):
    id: int
    invitation: int | None
    issue: int | None
    activity: str
    served_on: str
    hours: float
    status: Literal[tuple(HoursStatus)]  # type: ignore[valid-type]
    note: str | None
    confirmed_at: str | None
    corrections: list[CorrectionOut]


class HoursList(BaseModel):
    items: list[HoursOut]
    page: int
    pages: int
    total: int
    confirmed_hours: float


def _volunteer_phone(user, inv: Invitation) -> str | None:
    """The volunteer's own phone; in full to the organiser once they took a place (logged the
    first time); otherwise as lists show it (masked, or not at all)."""
    if inv.volunteer_id == user.id:
        return inv.volunteer.phone
    if not can_organise(user, inv):
        return None
    if inv.status in (InvitationStatus.accepted, InvitationStatus.done, InvitationStatus.no_show):
        phone = helper_phone(user, inv.volunteer)
        if db.session.new:
            db.session.commit()  # the audit row; the view's own change is committed already
        return phone
    return list_phone(user, inv.volunteer.profile)


def _volunteer_distance(user, inv: Invitation) -> int | None:
    """The volunteer's distance to the task: their own in full, others' rounded."""
    if inv.volunteer_id == user.id:
        return inv.distance_m
    profile = inv.volunteer.profile
    village = profile.home_grid.village_id if profile and profile.home_grid else None
    return policy.shown_distance(user, inv.distance_m, village)


def _volunteer_score(user, inv: Invitation) -> float | None:
    """The matcher's score at the time: the volunteer's own in full; others' as the policy
    shows them (only inside one's 村居: it falls off with the distance to their home)."""
    if inv.volunteer_id == user.id:
        return inv.score
    profile = inv.volunteer.profile
    village = profile.home_grid.village_id if profile and profile.home_grid else None
    return policy.shown_score(user, inv.score, village)


def _title(user, inv: Invitation, state: str) -> str:
    """The task's title; to its volunteer, an issue's category alone until they may see its
    details (``policy.task_details_shown``)."""
    if inv.issue is not None and inv.volunteer_id == user.id \
            and not policy.task_details_shown(state):
        return f"#{inv.issue.id} {inv.issue.category.display_name(user.locale or 'zh')}"
    return target(inv).title


def _distance_for(user, inv: Invitation, state: str) -> int | None:
    if inv.issue is not None and inv.volunteer_id == user.id \
            and not policy.task_details_shown(state):
        return None
    return _volunteer_distance(user, inv)


def invitation_out(inv: Invitation, now=None) -> InvitationOut:
    user = g.api_user
    state = inv.state(now)
    return InvitationOut(
        id=inv.id, issue=inv.issue_id, session=inv.session_id, title=_title(user, inv, state),
        volunteer={"id": inv.volunteer_id, "name": inv.volunteer.name,
                   "phone": _volunteer_phone(user, inv)},
        origin=inv.origin, status=state, wave=inv.wave,
        score=_volunteer_score(user, inv),
        distance_m=_distance_for(user, inv, state), starts_at=iso_utc(inv.starts_at),
        ends_at=iso_utc(inv.ends_at), expires_at=iso_utc(inv.expires_at),
        answered_at=iso_utc(inv.responded_at), note=inv.note)


def hours_out(e: ServiceHours) -> HoursOut:
    return HoursOut(id=e.id, invitation=e.invitation_id, issue=e.issue_id, activity=e.activity,
                    served_on=e.served_on.isoformat(), hours=float(e.hours), status=e.status,
                    note=e.note, confirmed_at=iso_utc(e.confirmed_at),
                    corrections=[CorrectionOut(id=c.id, old_hours=float(c.old_hours),
                                               new_hours=float(c.new_hours), reason=c.reason,
                                               status=c.status,
                                               decision_reason=c.decision_reason)
                                 for c in e.corrections])


def _not_found(what="invitation"):
    return jsonify({"error": "not_found", "message": f"No such {what} of yours."}), 404


@operation(bp, "/issues/{issue_id}/invitations", "POST", summary="Invite volunteers to help "
           "with an issue (one, or a team: all or nothing)", body=InviteIn,
           response=InvitationList, status=201, tags=["invitations"], errors=[404],
           raises=(InvitationError,))
def create_invitations(issue_id: int, body: InviteIn):
    """Organisers of the issue only; refused as a whole when any volunteer cannot be asked."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or not can_view(g.api_user, issue):
        return _not_found("issue")
    if not can_organise(g.api_user, issue):
        raise InvitationError("not_allowed")
    suggested = {s.user_id: s for s in for_issue(issue, limit=200).suggestions}
    if any(v not in suggested for v in body.volunteer_ids):
        return validation_error({"volunteer_ids": "only volunteers suggested for this issue "
                                 "(GET /issues/{id}/suggestions) can be invited"})
    picks = [Pick(v, suggested[v].score, suggested[v].distance_m,
                  [list(r) for r in suggested[v].reasons]) for v in body.volunteer_ids]
    made = invite(g.api_user, issue, picks)
    db.session.commit()
    return InvitationList(items=[invitation_out(i) for i in made], page=1, pages=1,
                          total=len(made))


@operation(bp, "/invitations", "GET", summary="My invitations and offers", query=MineQuery,
           response=InvitationList, tags=["invitations"])
def my_invitations(query: MineQuery):
    """The token's user's invitations, newest first (``status`` as computed now)."""
    now = utcnow()
    q = (db.select(Invitation).where(Invitation.volunteer_id == g.api_user.id)
         .options(selectinload(Invitation.issue), selectinload(Invitation.volunteer))
         .order_by(Invitation.created_at.desc(), Invitation.id.desc()))
    if query.status == InvitationStatus.expired:
        q = q.where(Invitation.status == InvitationStatus.invited, Invitation.expires_at <= now)
    elif query.status == InvitationStatus.invited:
        q = q.where(Invitation.status == InvitationStatus.invited, Invitation.expires_at > now)
    elif query.status:
        q = q.where(Invitation.status == query.status)
    page = db.paginate(q, page=query.page, per_page=query.per_page, max_per_page=100,
                       error_out=False, count=True)
    return InvitationList(items=[invitation_out(i, now) for i in page.items], page=page.page,
                          pages=page.pages, total=page.total or 0)


def _mine(invitation_id: int) -> Invitation | None:
    inv = db.session.get(Invitation, invitation_id)
    return inv if inv is not None and inv.volunteer_id == g.api_user.id else None


def _answer(invitation_id: int, accept: bool, reason: str | None = None):
    inv = _mine(invitation_id)
    if inv is None:
        return _not_found()
    respond(g.api_user, inv, accept, reason)
    db.session.commit()
    return invitation_out(inv)


@operation(bp, "/invitations/{invitation_id}/accept", "POST", summary="Accept an invitation",
           response=InvitationOut, tags=["invitations"], errors=[404], raises=(InvitationError,))
def accept_invitation(invitation_id: int):
    """Refused (409) when expired, withdrawn, filled, or clashing with another task."""
    return _answer(invitation_id, True)


@operation(bp, "/invitations/{invitation_id}/decline", "POST", summary="Decline an invitation",
           body=NoteIn, response=InvitationOut, tags=["invitations"], errors=[404],
           raises=(InvitationError,))
def decline_invitation(invitation_id: int, body: NoteIn):
    """A reason is optional."""
    return _answer(invitation_id, False, body.reason)


@operation(bp, "/invitations/{invitation_id}/withdraw", "POST", summary="Withdraw an "
           "invitation (organisers)", body=NoteIn, response=InvitationOut,
           tags=["invitations"], errors=[404], raises=(InvitationError,))
def withdraw_invitation(invitation_id: int, body: NoteIn):
    """The organiser takes back an invitation or a helper's place."""
    inv = db.session.get(Invitation, invitation_id)
    if inv is None or not (can_organise(g.api_user, inv) or (
            inv.issue is not None and can_view(g.api_user, inv.issue))):
        return _not_found()
    withdraw(g.api_user, inv, body.reason)
    db.session.commit()
    return invitation_out(inv)


@operation(bp, "/hours", "GET", summary="My service hours", query=PageQuery,
           response=HoursList, tags=["hours"])
def my_hours(query: PageQuery):
    """The token's user's service record, newest first."""
    page = db.paginate(record_of(g.api_user.id).options(selectinload(ServiceHours.corrections)),
                       page=query.page, per_page=query.per_page, max_per_page=100,
                       error_out=False, count=True)
    return HoursList(items=[hours_out(e) for e in page.items], page=page.page,
                     pages=page.pages, total=page.total or 0,
                     confirmed_hours=float(totals(g.api_user.id)[HoursStatus.confirmed]))


def _task(invitation_id: int) -> Invitation | None:
    inv = db.session.get(Invitation, invitation_id)
    if inv is None or not (inv.volunteer_id == g.api_user.id or can_organise(g.api_user, inv)
                           or (inv.issue is not None and can_view(g.api_user, inv.issue))):
        return None
    return inv


def _hours_out(entry: ServiceHours | HoursCorrection) -> HoursOut:
    """Commit the hours operation and show the entry it changed."""
    db.session.commit()
    return hours_out(entry if isinstance(entry, ServiceHours) else entry.entry)


@operation(bp, "/invitations/{invitation_id}/hours", "POST", summary="Propose the hours of a "
           "finished task (the helper or the organiser)", body=HoursIn, response=HoursOut,
           tags=["hours"], errors=[404], raises=(HoursError,))
def propose_hours(invitation_id: int, body: HoursIn):
    """Once the issue is closed; confirmed hours change only by a correction."""
    inv = _task(invitation_id)
    if inv is None:
        return _not_found("task")
    return _hours_out(propose(g.api_user, inv, body.hours, body.note))


@operation(bp, "/invitations/{invitation_id}/hours/confirm", "POST", summary="Confirm a "
           "helper's hours (organisers; nobody their own)", body=ConfirmIn, response=HoursOut,
           tags=["hours"], errors=[404], raises=(HoursError,))
def confirm_hours(invitation_id: int, body: ConfirmIn):
    """``hours`` sets them in the same step when nobody proposed any."""
    inv = _task(invitation_id)
    if inv is None:
        return _not_found("task")
    return _hours_out(confirm(g.api_user, inv, body.hours))


@operation(bp, "/hours/{hours_id}/corrections", "POST", summary="Ask for a correction of my "
           "confirmed hours", body=CorrectionIn, response=HoursOut, tags=["hours"],
           errors=[404], raises=(HoursError,))
def ask_correction(hours_id: int, body: CorrectionIn):
    """Only one's own confirmed hours, one pending correction at a time."""
    entry = db.session.get(ServiceHours, hours_id)
    if entry is None or entry.volunteer_id != g.api_user.id:
        return _not_found("hours entry")
    return _hours_out(request_correction(g.api_user, entry, body.hours, body.reason))


@operation(bp, "/corrections/{correction_id}/decision", "POST", summary="Accept or reject a "
           "correction (organisers; a reason to reject)", body=DecisionIn, response=HoursOut,
           tags=["hours"], errors=[404], raises=(HoursError,))
def decide_correction_api(correction_id: int, body: DecisionIn):
    """The hours change when accepted."""
    corr = db.session.get(HoursCorrection, correction_id)
    if corr is None or not (can_organise(g.api_user, corr.entry) or (
            corr.entry.issue is not None and can_view(g.api_user, corr.entry.issue))):
        return _not_found("correction")
    return _hours_out(decide_correction(g.api_user, corr, body.accept, body.reason))
