"""Pages: my tasks, one invitation (answer in one tap), its calendar file, needs near me and
offers; the organiser's invite, withdraw, offer and no-show actions (from the issue page)."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.actions import perform
from volunteer.auth.forms import ConfirmForm
from volunteer.auth.models import User
from volunteer.checkin import services as checkin
from volunteer.checkin.forms import CheckForm
from volunteer.common import mask_name, paginate, parse_int, to_utc, utcnow
from volunteer.extensions import db, limiter, per_account
from volunteer.hours.forms import CorrectionForm, HoursForm
from volunteer.hours.models import ServiceHours
from volunteer.hours.services import entry_for
from volunteer.invitations import bp
from volunteer.invitations.forms import NoteForm, ReasonForm
from volunteer.invitations.ics import task_calendar
from volunteer.invitations.models import HOLDING, Invitation, InvitationStatus
from volunteer.invitations.navigation import links
from volunteer.invitations.needs import needs_near
from volunteer.invitations.reasons import render_reasons, skill_names
from volunteer.invitations.services import (
    InvitationError,
    Pick,
    decide_offer,
    invite,
    mark_no_show,
    offer,
    open_places_to_invite,
    places_left,
    reschedule,
    respond,
    withdraw,
)
from volunteer.invitations.suggestions import for_issue, for_session
from volunteer.invitations.targets import can_organise, target
from volunteer.issues.forms import WhenWhereForm
from volunteer.issues.models import Issue
from volunteer.matching import slates
from volunteer.matching.store import MatcherUnavailable
from volunteer.services.models import ServiceSession
from volunteer.volunteers.models import VolunteerProfile
from volunteer.volunteers.services import helper_phone

STATE_LABELS = {
    "offered": _l("Offered"), "invited": _l("Invited"), "accepted": _l("Taking part"),
    "declined": _l("Declined"), "expired": _l("Expired"), "withdrawn": _l("Withdrawn"),
    "done": _l("Done"), "no_show": _l("Did not come"),
}
CLOSED_LABELS = {"filled": _l("places filled"), "issue_closed": _l("no longer needed"),
                 "organiser": _l("by the organiser"), "account_deleted": _l("account deleted")}
PER_PAGE = 30


def mine_or_404(invitation_id: int) -> Invitation:
    """The signed-in volunteer's own invitation, else 404 (someone else's is not there)."""
    inv = db.session.get(Invitation, invitation_id)
    if inv is None or inv.volunteer_id != current_user.id:
        abort(404)
    return inv


def _organised_or_404(invitation_id: int) -> Invitation:
    inv = db.session.get(Invitation, invitation_id)
    if inv is None or not can_organise(current_user, inv):
        abort(404)
    return inv


def _back_to_issue(inv_or_issue_id) -> str:
    """Where organisers manage helpers: the issue page, or the session's page."""
    if isinstance(inv_or_issue_id, Invitation) and inv_or_issue_id.session_id:
        return url_for("services.manage", session_id=inv_or_issue_id.session_id) + "#staff"
    issue_id = inv_or_issue_id if isinstance(inv_or_issue_id, int) else inv_or_issue_id.issue_id
    return url_for("issues.detail", issue_id=issue_id) + "#helpers"


# --- the volunteer's side ---------------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    """My tasks: invitations to answer, offers, what I accepted, and what is past."""
    now = utcnow()
    q = (db.select(Invitation).where(Invitation.volunteer_id == current_user.id)
         .options(selectinload(Invitation.issue).selectinload(Issue.village),
                  selectinload(Invitation.session).selectinload(ServiceSession.item),
                  selectinload(Invitation.session).selectinload(ServiceSession.point)))
    current = [i for i in db.session.scalars(q.where(Invitation.status.in_(HOLDING))
                                             .order_by(Invitation.starts_at, Invitation.id))
               if i.is_holding(now)]
    past = paginate(q.where(Invitation.id.not_in([i.id for i in current] or [-1]))
                    .order_by(Invitation.created_at.desc(), Invitation.id.desc()),
                    per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    return render_template("invitations/index.html", now=now, past=past,
                           waiting=[i for i in current if i.status == InvitationStatus.invited],
                           offers=[i for i in current if i.status == InvitationStatus.offered],
                           accepted=[i for i in current if i.status == InvitationStatus.accepted],
                           STATE_LABELS=STATE_LABELS, CLOSED_LABELS=CLOSED_LABELS,
                           profile=current_user.profile)


@bp.route("/<int:invitation_id>")
@login_required
def detail(invitation_id: int):
    """One invitation: what, where, when; answer it; after accepting, contact and exact place."""
    inv = db.session.get(Invitation, invitation_id)
    if inv is not None and inv.volunteer_id != current_user.id \
            and can_organise(current_user, inv):
        return redirect(_back_to_issue(inv))
    inv = mine_or_404(invitation_id)
    now = utcnow()
    state = inv.state(now)
    names = skill_names({p.get("code") for _c, p in (inv.reasons or []) if "code" in p})
    organiser = inv.invited_by
    navigate = None  # the exact place, to a helper who took a place
    took_place = state in (InvitationStatus.accepted, InvitationStatus.done,
                           InvitationStatus.no_show)
    if inv.issue is not None and took_place:
        navigate = links(inv.issue.lat, inv.issue.lon,
                         inv.issue.address or f"{inv.issue.village.name}{inv.issue.grid.name}")
    elif inv.session is not None and took_place:
        point = inv.session.point
        navigate = links(point.lat, point.lon, point.address or point.name)
    # Check-in at the task's place, for a helper who took a place (a task with a time).
    me = checkin.mine(inv, now) if state in (InvitationStatus.accepted,
                                             InvitationStatus.done) else None
    return render_template("invitations/detail.html", inv=inv, state=state, now=now,
                           navigate=navigate, me=me, check_form=CheckForm(formdata=None),
                           reasons=render_reasons([tuple(r) for r in inv.reasons or []], names),
                           organiser=organiser, form=NoteForm(formdata=None),
                           accept_form=ConfirmForm(), hours_form=HoursForm(formdata=None),
                           correction_form=CorrectionForm(formdata=None),
                           entry=entry_for(inv), STATE_LABELS=STATE_LABELS,
                           CLOSED_LABELS=CLOSED_LABELS, loc=str(get_locale()))


def _answer(invitation_id: int, accept: bool):
    inv = mine_or_404(invitation_id)
    form = ConfirmForm() if accept else NoteForm()
    if not form.validate_on_submit():
        flash(_("Please check the note (at most 500 characters, no HTML)."), "danger")
        return redirect(url_for("invitations.detail", invitation_id=invitation_id))
    return perform(lambda: respond(current_user, inv, accept, None if accept else form.note.data),
                   _("Thank you! You are on the team; the organiser's contact and the exact "
                     "place are below.") if accept else _("Declined. Thank you for answering."),
                   url_for("invitations.detail", invitation_id=invitation_id))


@bp.route("/<int:invitation_id>/accept", methods=["POST"])
@login_required
def accept(invitation_id: int):
    """Accept in one tap."""
    return _answer(invitation_id, True)


@bp.route("/<int:invitation_id>/decline", methods=["POST"])
@login_required
def decline(invitation_id: int):
    """Decline, with an optional reason."""
    return _answer(invitation_id, False)


@bp.route("/<int:invitation_id>/calendar.ics")
@login_required
def calendar(invitation_id: int):
    """The task's time as an iCalendar file, for the phone's calendar."""
    inv = mine_or_404(invitation_id)
    if inv.starts_at is None or inv.state() not in (InvitationStatus.invited,
                                                    InvitationStatus.accepted,
                                                    InvitationStatus.done):
        abort(404)
    resp = make_response(task_calendar(inv, url_for("invitations.detail",
                                                     invitation_id=inv.id, _external=True)))
    resp.headers["Content-Type"] = "text/calendar; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="task-{inv.id}.ics"'
    return resp


@bp.route("/near")
@login_required
def near():
    """Needs near me: open issues in my range that need my skills, best fit first. Until an
    organiser takes up my offer I see of an issue what the public sees (``Need.public``)."""
    profile = current_user.profile
    try:  # the account itself, not the proxy: read a few thousand times over 300 issues
        items = needs_near(current_user._get_current_object()) if profile is not None else []
    except MatcherUnavailable:  # no model trained yet: no needs to show
        items = []
    codes = set()
    for n in items:
        codes.update(p.get("code") for _c, p in n.reasons() if "code" in p)
    names = skill_names(codes)
    # Rendered before the commit, which would expire the issues read (and read each again).
    page = render_template("invitations/near.html", profile=profile,
                           form=NoteForm(formdata=None),
                           items=[(n, render_reasons(n.reasons(), names,
                                                     lambda _m, n=n: n.distance_m))
                                  for n in items], loc=str(get_locale()))
    if items:  # the list shown is on record (the issues, each with my own suggestion)
        slates.record(current_user, "needs_near_me", [n.suggestion for n in items],
                      item_ids=[n.issue.id for n in items])
        db.session.commit()
    return page


@bp.route("/offer/<int:issue_id>", methods=["POST"])
@login_required
@limiter.limit("30 per day", key_func=per_account("offer"))
def offer_help(issue_id: int):
    """Offer to help with an open issue near me; the organiser takes it up or declines."""
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        abort(404)
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("Please check the note (at most 500 characters, no HTML)."), "danger")
        return redirect(url_for("invitations.near"))
    return perform(lambda: offer(current_user, issue, form.note.data),
                   _("Thank you. The organiser will answer your offer."),
                   lambda inv: url_for("invitations.detail", invitation_id=inv.id),
                   failure_redirect=url_for("invitations.near"),
                   conflict=InvitationError("already_invited", current_user.name))


# --- the organiser's side (buttons on the issue page) -----------------------------------------

@bp.route("/invite/<int:issue_id>", methods=["POST"])
@login_required
def invite_view(issue_id: int):
    """Invite one volunteer, the suggested team, or the next ones for the places still open."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or not can_organise(current_user, issue):
        abort(404)
    return _invite(issue, lambda: for_issue(issue, limit=50), _back_to_issue(issue_id))


@bp.route("/when-where/<int:issue_id>", methods=["POST"])
@login_required
def when_where(issue_id: int):
    """The organiser sets or changes when help is needed and where to go; the helpers holding
    a place follow and are told."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or not can_organise(current_user, issue):
        abort(404)
    form = WhenWhereForm()
    back = url_for("issues.detail", issue_id=issue_id) + "#when-where"
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "warning")
        return redirect(back)
    return perform(lambda: reschedule(current_user, issue, to_utc(form.needed_from.data),
                                      to_utc(form.needed_until.data), form.address.data),
                   lambda told: ngettext("Time and place saved; %(num)d helper was told.",
                                         "Time and place saved; %(num)d helpers were told.",
                                         len(told)) if told else _("Time and place saved."),
                   back, suffix=_("Nothing was changed."))


@bp.route("/invite/session/<int:session_id>", methods=["POST"])
@login_required
def invite_session(session_id: int):
    """The same for a service session's staff."""
    session = db.session.get(ServiceSession, session_id)
    if session is None or not can_organise(current_user, session):
        abort(404)
    return _invite(session, lambda: for_session(session, limit=50),
                   url_for("services.manage", session_id=session_id) + "#staff")


def _invite(obj, suggest, back: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    mode = request.form.get("mode", "one")
    result = suggest()
    by_id = {s.user_id: s for s in result.suggestions}
    if mode in ("team", "next"):
        n = open_places_to_invite(obj)  # places waiting for an answer are not offered again
        if n <= 0:
            flash(_("Nobody more to invite: the places are filled or invitations are still "
                    "waiting for an answer."), "info")
            return redirect(back)
    if mode == "team":
        ids = [uid for uid, _c in result.team][:n]
    elif mode == "next":
        ids = [s.user_id for s in result.suggestions if s.tier > 0][:n] or \
            [s.user_id for s in result.suggestions][:n]
    else:
        ids = [uid for uid in map(parse_int, request.form.getlist("volunteer")[:20])
               if uid is not None]

    # The list the organiser saw (and picked from), to link each invitation to its rank there.
    shown = parse_int(request.form.get("slate", ""))
    target_of = {"issue": obj} if isinstance(obj, Issue) else {"session": obj}

    def pick(uid: int) -> Pick:
        if uid not in by_id:
            return Pick(uid)
        s = by_id[uid]
        slate_id, rank = slates.rank_in(shown, current_user, uid, **target_of)
        if mode in ("team", "next"):
            # Chosen by the ranking, not picked at a place of the list shown (which exploration
            # may have shuffled): on record as from the list, without a place to learn from.
            rank = None
        return Pick(uid, s.score, s.distance_m, [list(r) for r in s.reasons], slate_id, rank)

    def invite_picked():
        if mode not in ("team", "next") and any(uid not in by_id for uid in ids):
            raise InvitationError("not_suggested")
        return invite(current_user, obj, [pick(uid) for uid in ids])

    return perform(invite_picked,
                   lambda made: _("Invited: %(names)s.",
                                  names="、".join(i.volunteer.name for i in made)),
                   back, suffix=_("Nobody was invited."),
                   conflict=InvitationError("invited_meanwhile"))


def _organiser_action(invitation_id: int, action, ok_text: str, form_class=ConfirmForm):
    inv = _organised_or_404(invitation_id)
    form = form_class()
    if not form.validate_on_submit():
        flash(str(next(iter(form.errors.values()), [_("Please check the form.")])[0]), "danger")
        return redirect(_back_to_issue(inv))
    return perform(lambda: action(inv, form), ok_text, _back_to_issue(inv))


@bp.route("/<int:invitation_id>/withdraw", methods=["POST"])
@login_required
def withdraw_view(invitation_id: int):
    """Take an invitation back."""
    return _organiser_action(invitation_id, lambda inv, f: withdraw(current_user, inv,
                                                                     f.note.data),
                             _("Withdrawn; the volunteer was told."), NoteForm)


@bp.route("/<int:invitation_id>/take-offer", methods=["POST"])
@login_required
def take_offer(invitation_id: int):
    """Take up a volunteer's offer."""
    return _organiser_action(invitation_id, lambda inv, f: decide_offer(current_user, inv, True),
                             _("Offer taken up; the volunteer was told."))


@bp.route("/<int:invitation_id>/decline-offer", methods=["POST"])
@login_required
def decline_offer(invitation_id: int):
    """Decline a volunteer's offer, with a reason they will see."""
    return _organiser_action(invitation_id, lambda inv, f: decide_offer(
        current_user, inv, False, f.note.data), _("Offer declined; the volunteer was told."),
        ReasonForm)


@bp.route("/<int:invitation_id>/no-show", methods=["POST"])
@login_required
def no_show(invitation_id: int):
    """The helper did not come."""
    return _organiser_action(invitation_id, lambda inv, f: mark_no_show(current_user, inv),
                             _("Marked as not having come."))


def helpers_panel(obj, invite_url: str, **extra) -> dict:
    """What templates/invitations/_helpers.html shows for an issue or a session: its
    invitations by wave, the hours of each, the places left, and whether the viewer organises."""
    t = target(obj)
    invitations = db.session.scalars(
        db.select(Invitation).where(t.column() == t.id)
        .options(selectinload(Invitation.volunteer).selectinload(User.profile)
                 .selectinload(VolunteerProfile.home_grid))
        .order_by(Invitation.wave, Invitation.id)).all()
    entries = {e.invitation_id: e for e in db.session.scalars(
        db.select(ServiceHours).where(getattr(ServiceHours, f"{t.kind}_id") == t.id)
        .options(selectinload(ServiceHours.corrections)))}
    organiser = t.can_organise(current_user)
    now = utcnow()
    phones = {}
    if organiser:  # the organiser reaches the helpers who took a place (logged the first time)
        phones = {inv.id: helper_phone(current_user, inv.volunteer) for inv in invitations
                  if inv.state(now) in (InvitationStatus.accepted, InvitationStatus.done,
                                        InvitationStatus.no_show)}
        if db.session.new:
            db.session.commit()  # the contact view log's rows, before the page renders
    # Organisers see whom they asked and what they said; other staff of the issue see the
    # names the policy shows them, and no notes.
    names = {inv.id: inv.volunteer.name if organiser or inv.volunteer.deleted_at
             or policy.full_name_shown(current_user, inv.volunteer.profile)
             else mask_name(inv.volunteer.name) for inv in invitations}
    left = places_left(t)
    # Invitations and offers still waiting for an answer hold their places: a team or the next
    # wave is only offered for the rest.
    waiting = sum(1 for inv in invitations
                  if inv.state(now) in (InvitationStatus.invited, InvitationStatus.offered))
    # Who checked in and out (times; the distance to the place for organisers), and the
    # organisers' check-in code for a task with a time.
    checkins = checkin.board(current_user, t.obj)["invitations"] if t.starts else {}
    # (A session's code is on top of its page.)
    checkin_url = url_for("checkin.issue_code", issue_id=t.id) \
        if t.kind == "issue" and organiser and t.starts \
        and policy.may_run_checkin(current_user, t.obj) else None
    return {"invitations": invitations, "entries": entries, "now": now, "phones": phones,
            "names": names, "checkins": checkins, "checkin_url": checkin_url,
            "places_left": left, "waiting": waiting, "to_invite": max(0, left - waiting),
            # no-show makes sense once the task's time has begun or the task is over
            "started": t.starts is not None and t.starts <= now,
            "organiser": organiser,
            "needed": t.places, "open": t.is_open(), "invite_url": invite_url,
            "STATE_LABELS": STATE_LABELS, "CLOSED_LABELS": CLOSED_LABELS, **extra}
