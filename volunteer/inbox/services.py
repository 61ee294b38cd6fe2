"""Who hears about what: the reporter of each change, staff when an issue reaches their queue or
runs overdue. Services never commit."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from volunteer.auth.models import Role, RoleAssignment, User
from volunteer.common import iso_utc
from volunteer.extensions import db
from volunteer.inbox.models import KINDS, Notification, NotificationSetting
from volunteer.mail import send_mail
from volunteer.privacy import eraser, exporter


def settings_of(user_id: int) -> dict[str, tuple[bool, bool]]:
    """(in_app, email) per kind; everything on unless switched off."""
    out = {k: (True, True) for k in KINDS}
    for s in db.session.scalars(db.select(NotificationSetting)
                                .where(NotificationSetting.user_id == user_id)):
        out[s.kind] = (s.in_app, s.email)
    return out


def notify(user_ids, kind: str, event: str, issue=None, actor_id: int | None = None,
           invitation=None, session=None) -> int:
    """Put a notification in each person's inbox (and e-mail them) as they chose."""
    sent = 0
    for uid in dict.fromkeys(u for u in user_ids if u and u != actor_id):
        in_app, email = settings_of(uid)[kind]
        if in_app:
            db.session.add(Notification(user_id=uid, kind=kind, event=event,
                                        issue_id=issue.id if issue else None,
                                        invitation_id=invitation.id if invitation else None,
                                        session_id=session.id if session else None))
            sent += 1
        if email:
            user = db.session.get(User, uid)
            if user is not None and user.email:
                with force_locale(user.locale or "zh_CN"):
                    text = describe(event, issue, invitation, session,
                                    public=for_follower(kind, issue, uid))
                    link = _link(issue, invitation if invitation is not None
                                 and invitation.volunteer_id == uid else None, session)
                    send_mail(user.email, _("Grid Volunteers: %(what)s", what=text),
                              text + "\n" + link)
    return sent


def for_follower(kind: str, issue, user_id: int) -> bool:
    """A notification about someone else's report that the user said "me too" to."""
    return kind == "my_report" and issue is not None and issue.reporter_id != user_id


def _link(issue, invitation=None, session=None) -> str:
    """Where to act: the volunteer's task page, the session's page, else the issue's page;
    absolute in a request, else from SITE_URL (cron, CLI)."""
    if invitation is not None:
        endpoint, kwargs, path = ("invitations.detail", {"invitation_id": invitation.id},
                                  f"/tasks/{invitation.id}")
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


def subject(issue=None, invitation=None, session=None, public: bool = False) -> str:
    """What a notification is about: "#12 路灯不亮", or "免费义诊 · 某网格点 · 12/3 09:00";
    ``public`` names an issue by its category only (for those who said "me too")."""
    from volunteer.i18n import localtime

    if issue is not None:
        if public:
            return f"#{issue.id} {issue.category.display_name(str(get_locale()))}"
        return f"#{issue.id} {issue.title}"
    session = session or (invitation.session if invitation is not None else None)
    if session is not None:
        return f"{session.item.name} · {session.point.name} · " \
               f"{localtime(session.starts_at, 'short')}"
    return ""


def describe(event: str, issue, invitation=None, session=None, public: bool = False) -> str:
    """One line about an event, in the current language."""
    ref = subject(issue, invitation, session, public)
    who = invitation.volunteer.name if invitation is not None and invitation.volunteer else ""
    texts = {
        "report": _("New issue in your queue: %(ref)s", ref=ref),
        "escalate": _("Issue escalated to your queue: %(ref)s", ref=ref),
        "return": _("Issue returned to your village: %(ref)s", ref=ref),
        "overdue": _("Issue overdue: %(ref)s", ref=ref),
        "accept": _("Your report was accepted: %(ref)s", ref=ref),
        "start": _("Work started on your report: %(ref)s", ref=ref),
        "resolve": _("Your report was resolved and awaits verification: %(ref)s", ref=ref),
        "verify": _("Your report is closed. Please rate the result: %(ref)s", ref=ref),
        "closed": _("An issue you also reported is closed: %(ref)s", ref=ref),
        "fail_verification": _("Your report went back for rework: %(ref)s", ref=ref),
        "reject": _("Your report was not taken up: %(ref)s", ref=ref),
        "reopen": _("Issue reopened: %(ref)s", ref=ref),
        # to volunteers
        "invited": _("You are invited to help: %(ref)s", ref=ref),
        "expiring": _("Your invitation expires soon; please answer: %(ref)s", ref=ref),
        "tomorrow": _("Your task starts within a day: %(ref)s", ref=ref),
        "filled": _("The places were filled, thank you all the same: %(ref)s", ref=ref),
        "withdrawn": _("The organiser withdrew your invitation: %(ref)s", ref=ref),
        "issue_closed": _("No help is needed any more: %(ref)s", ref=ref),
        "offer_accepted": _("Your offer to help was taken up: %(ref)s", ref=ref),
        "offer_declined": _("Your offer to help was not needed: %(ref)s", ref=ref),
        "hours_confirmed": _("Your service hours were confirmed: %(ref)s", ref=ref),
        "correction_accepted": _("Your correction of hours was accepted: %(ref)s", ref=ref),
        "correction_rejected": _("Your correction of hours was rejected: %(ref)s", ref=ref),
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
    }
    return texts.get(event, ref)


def _queue_staff(issue) -> list[int]:
    """The people whose queue the issue is in now."""
    ra = RoleAssignment
    if issue.tier == "grid":
        cond = sa.and_(ra.role == Role.grid_leader.value, ra.grid_id == issue.grid_id)
    elif issue.tier == "village":
        cond = sa.and_(ra.role == Role.village_admin.value, ra.village_id == issue.village_id)
    else:
        cond = sa.and_(ra.role == Role.department_staff.value,
                       ra.department_id == issue.department_id)
    return list(db.session.scalars(db.select(ra.user_id).where(cond)))


def issue_event(issue, event, actor_id: int | None) -> None:
    """Tell the reporter (and whoever said "me too") about a change, and staff when the issue
    reaches their queue."""
    if event in ("report", "escalate", "return", "reopen"):
        notify(_queue_staff(issue), "queue", event, issue, actor_id)
    if event not in ("report", "comment", "rate", "me_too"):
        notify([issue.reporter_id], "my_report", event, issue, actor_id)
        # Those who said "me too" hear the same, but only the reporter is asked for a rating.
        notify([f.user_id for f in issue.followers], "my_report",
               "closed" if event == "verify" else event, issue, actor_id)


def issue_overdue(issue) -> None:
    notify(_queue_staff(issue), "overdue", "overdue", issue)


@exporter("notifications")
def _export(user: User):
    rows = db.session.scalars(db.select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()
    return {"items": [{"kind": n.kind, "event": n.event, "issue": n.issue_id,
                       "at": iso_utc(n.created_at),
                       "read_at": iso_utc(n.read_at)}
                      for n in rows],
            "settings": {k: {"in_app": a, "email": e} for k, (a, e) in
                         settings_of(user.id).items()}}


@eraser
def _erase(user: User) -> None:
    for model in (Notification, NotificationSetting):
        db.session.execute(sa.delete(model).where(model.user_id == user.id))
