"""Who hears about what: the reporter of each change, staff when an issue reaches their queue or
runs overdue, the verifiers when it is resolved (on ``signals.issue_changed``). Services never
commit.

The inbox row is written with the change that causes it; e-mail, SMS and WeChat messages are
rows of the outbox written with it too, and leave only after the commit (a rollback sends nothing).
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.auth.models import Role, RoleAssignment, User, role_label
from volunteer.common import iso_utc, utcnow
from volunteer.extensions import db
from volunteer.i18n import localtime
from volunteer.inbox.models import KINDS, Notification, NotificationSetting
from volunteer.issues.models import IssueAction, Tier
from volunteer.issues.workflow import role_allows, roles_for, verifiers
from volunteer.outbox import services as outbox
from volunteer.outbox.channels import CHANNELS, Text
from volunteer.outbox.models import OutboxMessage
from volunteer.outbox.models import Status as OutboxStatus
from volunteer.privacy import eraser, exporter
from volunteer.signals import issue_changed, message_dead
from volunteer.volunteers.models import SkillStatus


def unread_count(user) -> int:
    """Unread notifications (0 when the database cannot answer, e.g. on an error page after a
    failed transaction: the menu bar must still render)."""
    try:
        return db.session.scalar(db.select(db.func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None))) or 0
    except SQLAlchemyError:
        db.session.rollback()
        return 0


#: Kinds whose channels are all on by default: an emergency call-up goes by SMS too (still only
#: to those who consented to SMS).
KIND_DEFAULTS = {"callup": {name: True for name in CHANNELS}}


def settings_of(user_id: int) -> dict[str, dict[str, bool]]:
    """Per kind, per channel (``inbox``, ``email``, ``sms``, ``wechat``): whether the person
    wants it; everything is on unless switched off, but SMS (it costs money) until chosen
    (except for ``KIND_DEFAULTS``)."""
    default = {name: name != "sms" for name in CHANNELS}
    out = {k: dict(KIND_DEFAULTS.get(k, default)) for k in KINDS}
    for s in db.session.scalars(db.select(NotificationSetting)
                                .where(NotificationSetting.user_id == user_id)):
        out[s.kind] = {name: bool(getattr(s, ch.setting)) for name, ch in CHANNELS.items()}
    return out


def notify(user_ids, kind: str, event: str, issue=None, actor_id: int | None = None,
           invitation=None, session=None, skill=None, callup=None) -> int:
    """Put a notification in each person's inbox, and queue it for each other channel they
    chose and can be reached by; those leave after the commit, rendered in their language.
    Returns how many inbox notices were written."""
    written = 0
    refs = {"issue_id": issue.id if issue else None,
            "invitation_id": invitation.id if invitation else None,
            "session_id": session.id if session else None,
            "skill_id": skill.id if skill else None}
    if callup is not None:
        refs["callup_id"] = callup.id
    for uid in dict.fromkeys(u for u in user_ids if u and u != actor_id):
        chosen = settings_of(uid)[kind]
        user = db.session.get(User, uid)
        if user is None:
            continue
        for name, channel in CHANNELS.items():
            if not chosen.get(name) or not outbox.reachable(channel, user):
                continue
            if channel.immediate:
                db.session.add(Notification(user_id=uid, kind=kind, event=event, **refs))
                written += 1
            else:
                outbox.post(channel, user, "notice", kind=kind, event=event, **refs)
    return written


@outbox.renderer("notice")
def _render_notice(msg) -> Text:
    """A notice as e-mail, SMS or WeChat text: what happened, a detail (the skill and the
    reason it was not accepted), and where to act."""
    issue, invitation, session, skill = msg.issue, msg.invitation, msg.session, msg.skill
    text = describe(msg.event, issue, invitation, session,
                    public=for_follower(msg.kind, issue, msg.user_id), skill=skill,
                    callup=msg.callup)
    link = _link(issue, invitation if invitation is not None
                 and invitation.volunteer_id == msg.user_id else None, session, event=msg.event,
                 callup=msg.callup)
    detail = ""
    if skill is not None:
        detail = skill.label(str(get_locale()))
        if skill.status == SkillStatus.rejected and skill.reject_reason:
            detail = _("%(skill)s — reason: %(reason)s", skill=detail,
                       reason=skill.reject_reason)
    return Text(subject=_("Grid Volunteers: %(what)s", what=text),
                body="\n".join(x for x in (text, detail, link) if x),
                short=_("[Grid Volunteers] %(what)s", what=text) + (f" {link}" if link else ""),
                link=link)


def for_follower(kind: str, issue, user_id: int) -> bool:
    """A notification about someone else's report that the user said "me too" to."""
    return kind == "my_report" and issue is not None and issue.reporter_id != user_id


#: Events whose place to act is a page of their own, not the issue's or the session's.
EVENT_PAGES = {"hours_proposed": ("hours.review", "/hours/review"),
               "correction_requested": ("hours.review", "/hours/review"),
               "callup_hours": ("hours.review", "/hours/review"),
               "skill_verified": ("volunteers.me", "/volunteers/me"),
               "skill_rejected": ("volunteers.me", "/volunteers/me"),
               "weights_learned": ("matching.index", "/admin/matching/"),
               "dead_letters": ("outbox.index", "/admin/outbox/")}


def _link(issue, invitation=None, session=None, event: str = "", callup=None) -> str:
    """Where to act: the volunteer's task page (with the hours form when asked for hours), the
    organiser's list of hours to confirm, the volunteer's skills, the session's page, else the
    issue's page; absolute in a request, else from SITE_URL (cron, CLI)."""
    if invitation is not None:
        endpoint, kwargs, path = ("invitations.detail", {"invitation_id": invitation.id},
                                  f"/tasks/{invitation.id}")
    elif event in EVENT_PAGES:
        (endpoint, path), kwargs = EVENT_PAGES[event], {}
    elif callup is not None:  # the called volunteer's page: answer, check in and out
        endpoint, kwargs, path = ("callups.answer", {"callup_id": callup.id},
                                  f"/callups/{callup.id}/answer")
    elif session is not None and event == "attendance_due":
        endpoint, kwargs, path = ("services.manage", {"session_id": session.id},
                                  f"/services/sessions/{session.id}/manage")
    elif session is not None:
        endpoint, kwargs, path = ("services.session", {"session_id": session.id},
                                  f"/services/sessions/{session.id}")
    elif issue is not None:
        endpoint, kwargs, path = "issues.detail", {"issue_id": issue.id}, f"/issues/{issue.id}"
    else:
        return ""
    if has_request_context():
        return url_for(endpoint, _external=True, **kwargs)
    return current_app.config.get("SITE_URL", "").rstrip("/") + path


def subject(issue=None, invitation=None, session=None, public: bool = False,
            callup=None) -> str:
    """What a notification is about: "#12 路灯不亮", or "免费义诊 · 某网格点 · 12/3 09:00";
    ``public`` names an issue by its category only (for those who said "me too")."""
    if callup is not None:
        return f"{callup.title} · {callup.muster} · {localtime(callup.starts_at, 'short')}"
    if issue is not None:
        if public:
            return f"#{issue.id} {issue.category.display_name(str(get_locale()))}"
        return f"#{issue.id} {issue.title}"
    session = session or (invitation.session if invitation is not None else None)
    if session is not None:
        return f"{session.item.name} · {session.point.name} · " \
               f"{localtime(session.starts_at, 'short')}"
    return ""


def describe(event: str, issue, invitation=None, session=None, public: bool = False,
             skill=None, callup=None) -> str:
    """One line about an event, in the current language."""
    ref = subject(issue, invitation, session, public, callup)
    skill_name = skill.label(str(get_locale())) if skill is not None else ""
    who = invitation.volunteer.name if invitation is not None and invitation.volunteer else ""
    texts = {
        "report": _("New issue in your queue: %(ref)s", ref=ref),
        "escalate": _("Issue escalated to your queue: %(ref)s", ref=ref),
        "return": _("Issue sent back a level: %(ref)s", ref=ref),
        "overdue": _("Issue overdue: %(ref)s", ref=ref),
        "accept": _("Your report was accepted: %(ref)s", ref=ref),
        "start": _("Work started on your report: %(ref)s", ref=ref),
        "resolve": _("Your report was resolved and awaits verification: %(ref)s", ref=ref),
        "verify": _("Your report is closed. Please rate the result: %(ref)s", ref=ref),
        "closed": _("An issue you also reported is closed: %(ref)s", ref=ref),
        "fail_verification": _("Your report went back for rework: %(ref)s", ref=ref),
        "reject": _("Your report was not taken up: %(ref)s", ref=ref),
        "reopen": _("Issue reopened: %(ref)s", ref=ref),
        # to those who may verify
        "to_verify": _("Resolved, waiting for your verification: %(ref)s", ref=ref),
        "verify_overdue": _("Waiting too long for verification: %(ref)s", ref=ref),
        # to volunteers
        "invited": _("You are invited to help: %(ref)s", ref=ref),
        "expiring": _("Your invitation expires soon; please answer: %(ref)s", ref=ref),
        "tomorrow": _("Your task starts within a day: %(ref)s", ref=ref),
        "filled": _("The places were filled, thank you all the same: %(ref)s", ref=ref),
        "withdrawn": _("The organiser withdrew your invitation: %(ref)s", ref=ref),
        "issue_closed": _("No help is needed any more: %(ref)s", ref=ref),
        "task_changed": _("The time or place of your task changed: %(ref)s", ref=ref),
        "attendance_due": _("The session is over; please take its attendance, so that its "
                            "staff's hours are recorded: %(ref)s", ref=ref),
        "offer_accepted": _("Your offer to help was taken up: %(ref)s", ref=ref),
        "offer_declined": _("Your offer to help was not needed: %(ref)s", ref=ref),
        "propose_hours": _("The task is done, thank you. Please propose your service hours: "
                           "%(ref)s", ref=ref),
        "hours_confirmed": _("Your service hours were confirmed: %(ref)s", ref=ref),
        "correction_accepted": _("Your correction of hours was accepted: %(ref)s", ref=ref),
        "correction_rejected": _("Your correction of hours was rejected: %(ref)s", ref=ref),
        "weights_learned": _("Learned matcher weights are waiting for your decision."),
        "dead_letters": _("Some messages could not be delivered; see them and send them "
                          "again."),
        "skill_verified": _("Your skill %(skill)s was verified.", skill=skill_name)
        if skill_name else _("A skill on your profile was verified."),
        "skill_rejected": _("Your skill %(skill)s was not accepted: %(reason)s", skill=skill_name,
                            reason=skill.reject_reason or "—")
        if skill_name else _("A skill on your profile was not accepted; the reason is on your "
                             "profile."),
        # to organisers
        "accepted": _("%(who)s accepted: %(ref)s", who=who, ref=ref),
        "declined": _("%(who)s declined: %(ref)s", who=who, ref=ref),
        "expired": _("%(who)s did not answer in time; invite the next ones: %(ref)s", who=who,
                     ref=ref),
        "offer": _("%(who)s offers to help: %(ref)s", who=who, ref=ref),
        "helper_left": _("%(who)s left the platform; a place is free again: %(ref)s", who=who,
                         ref=ref),
        "hours_proposed": _("%(who)s proposed service hours to confirm: %(ref)s", who=who,
                            ref=ref),
        "correction_requested": _("%(who)s asks for a correction of hours: %(ref)s", who=who,
                                  ref=ref),
        # to residents signed up for a session
        "signup_moved_up": _("A place came free: you are signed up for %(ref)s", ref=ref),
        "session_cancelled": _("Cancelled: %(ref)s", ref=ref),
        "session_reminder": _("Tomorrow or soon: %(ref)s", ref=ref),
        # emergency call-ups
        "callup": _("Emergency call-up, please answer at once (coming or not): %(ref)s",
                    ref=ref),
        "callup_reminder": _("Reminder: the emergency call-up still needs people; please "
                             "answer: %(ref)s", ref=ref),
        "callup_standby": _("Thank you! Enough people are coming already; you are on standby "
                            "and will be told if you are needed: %(ref)s", ref=ref),
        "callup_needed": _("A place came free: you are needed now at %(ref)s", ref=ref),
        "callup_cancelled": _("The emergency call-up was called off: %(ref)s", ref=ref),
        "callup_hours": _("Call-up hours wait for your confirmation: %(ref)s", ref=ref),
    }
    return texts.get(event, ref)


def _queue_staff(issue) -> list[int]:
    """The people whose queue the issue is in now."""
    ra = RoleAssignment
    if issue.tier == Tier.grid:
        cond = sa.and_(ra.role == Role.grid_leader.value, ra.grid_id == issue.grid_id)
    elif issue.tier == Tier.village:
        cond = sa.and_(ra.role == Role.village_admin.value, ra.village_id == issue.village_id)
    else:
        cond = sa.and_(ra.role == Role.department_staff.value,
                       ra.department_id == issue.department_id)
    return list(db.session.scalars(db.select(ra.user_id).where(cond)))


def issue_event(issue, event, actor_id: int | None) -> None:
    """Tell the reporter (and whoever said "me too") about a change, and staff when the issue
    reaches their queue."""
    if event in ("report", IssueAction.escalate, IssueAction.return_, IssueAction.reopen):
        notify(_queue_staff(issue), "queue", event, issue, actor_id)
    if event == IssueAction.resolve:
        notify([u.id for u in verifiers(issue)], "verify", "to_verify", issue, actor_id)
    if event not in ("report", IssueAction.comment, IssueAction.rate, "me_too"):
        notify([issue.reporter_id], "my_report", event, issue, actor_id)
        # Those who said "me too" hear the same, but only the reporter is asked for a rating.
        notify([f.user_id for f in issue.followers], "my_report",
               "closed" if event == IssueAction.verify else event, issue, actor_id)


@issue_changed.connect
def on_issue_changed(issue, action: str, actor_id: int | None = None, **_kw) -> None:
    """The inbox's part when an issue changes (``signals.issue_changed``): who hears of it."""
    if action == "overdue":
        issue_overdue(issue)
    elif action == "verify_overdue":
        verification_overdue(issue)
    else:
        issue_event(issue, action, actor_id)


def issue_overdue(issue) -> None:
    """Tell the issue's queue that it passed its deadline."""
    notify(_queue_staff(issue), "overdue", "overdue", issue)


NAMED_VERIFIERS = 4  # the resolver's page names this many; more are counted


def who_verifies(issue) -> str:
    """For the resolver's page: who now hears of the issue and may verify it, with their roles
    ("王五（网格指导员）、赵六（村居管理员）"), or what to do when nobody may."""
    from babel.lists import format_list

    people = verifiers(issue)
    if not people:
        return _("Nobody may verify it here yet; please tell the village office.")
    named = []
    for person in people[:NAMED_VERIFIERS]:
        roles = sorted(r for r in roles_for(person, issue)
                       if role_allows(IssueAction.verify, r, issue.tier))
        named.append(_("%(name)s (%(roles)s)", name=person.name,
                       roles=format_list([role_label(r) for r in roles], locale=get_locale())))
    if len(people) > NAMED_VERIFIERS:
        named.append(_("%(n)s more", n=len(people) - NAMED_VERIFIERS))
    return _("Now waiting for verification by %(who)s.",
             who=format_list(named, locale=get_locale()))


def verification_overdue(issue) -> None:
    """Tell those who may verify that the resolved issue has waited too long for them."""
    notify([u.id for u in verifiers(issue)], "overdue", "verify_overdue", issue)


def skill_decided(staff_id: int, vs) -> None:
    """Tell a volunteer that a skill of theirs was verified or rejected (the e-mail says which,
    and why)."""
    notify([vs.profile.user_id], "skills",
           "skill_verified" if vs.status == SkillStatus.verified else "skill_rejected",
           actor_id=staff_id, skill=vs)


@exporter("notifications")
def _export(user: User):
    """Every notice of every kind, with the line it shows, and what I chose to receive."""
    rows = db.session.scalars(db.select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()
    return {"items": [{"kind": n.kind, "event": n.event, "issue": n.issue_id,
                       "invitation": n.invitation_id, "session": n.session_id,
                       "text": describe(n.event, n.issue, n.invitation, n.session,
                                        public=for_follower(n.kind, n.issue, user.id),
                                        skill=n.skill, callup=n.callup),
                       "at": iso_utc(n.created_at),
                       "read_at": iso_utc(n.read_at)}
                      for n in rows],
            "settings": settings_of(user.id)}


@eraser
def _erase(user: User) -> None:
    for model in (Notification, NotificationSetting):
        db.session.execute(sa.delete(model).where(model.user_id == user.id))


def town_office(may) -> list[int]:
    """The people a town-office matter goes to: active holders of ``policy.TOWN_OFFICE`` roles
    whom ``may`` (the policy function for acting on it) allows."""
    people = db.session.scalars(
        db.select(User).where(User.id.in_(db.select(RoleAssignment.user_id).where(
            RoleAssignment.role.in_(policy.TOWN_OFFICE))), User.active, User.deleted_at.is_(None))
        .options(selectinload(User.roles)).order_by(User.id)).all()
    return [p.id for p in people if may(p)]


@message_dead.connect
def on_message_dead(msg, **_kw) -> None:
    """The town admins hear that a message could not be delivered (``signals.message_dead``):
    once until they read the notice in the inbox, and at most once a day by the other
    channels, so a run of dead letters — or the notice's own e-mail failing — makes no flood
    (a notice about dead letters that dies itself tells nobody: ``outbox.services``)."""
    admins = town_office(policy.may_run_outbox)
    waiting = set(db.session.scalars(db.select(Notification.user_id).where(
        Notification.event == "dead_letters", Notification.read_at.is_(None))))
    waiting |= set(db.session.scalars(db.select(OutboxMessage.user_id).where(
        OutboxMessage.event == "dead_letters",
        sa.or_(OutboxMessage.status.in_((OutboxStatus.queued, OutboxStatus.sending)),
               OutboxMessage.created_at >= utcnow() - timedelta(days=1)))))
    notify([a for a in admins if a not in waiting], "town_office", "dead_letters")
