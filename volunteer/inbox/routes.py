"""The inbox page, marking read, and what to receive."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.auth.forms import ConfirmForm
from volunteer.common import paginate, utcnow
from volunteer.extensions import db
from volunteer.inbox import bp
from volunteer.inbox.models import KINDS, Notification, NotificationSetting
from volunteer.inbox.services import EVENT_PAGES, describe, for_follower, settings_of
from volunteer.invitations.models import Invitation
from volunteer.issues.models import Issue
from volunteer.outbox.channels import CHANNELS
from volunteer.services.models import ServiceSession

KIND_LABELS = {"my_report": _l("Changes to issues I reported"),
               "queue": _l("Issues reaching my queue"),
               "overdue": _l("Issues in my queue running overdue, or waiting too long for my "
                             "verification"),
               "verify": _l("Resolved issues waiting for my verification"),
               "invitation": _l("Invitations to help, and reminders"),
               "team": _l("Answers and offers from volunteers for issues I organise"),
               "hours": _l("Service hours: proposals, confirmations, corrections"),
               "sessions": _l("Service sessions I signed up for: reminders and changes"),
               "skills": _l("My skills: verified or not accepted, and why"),
               "town_office": _l("Town office: learned matcher weights waiting for a "
                                 "decision, messages that could not be delivered"),
               "callup": _l("Emergency call-ups (应急动员) in my area")}
#: Kinds only some people receive, and who: the others are not asked about them.
KIND_FOR = {"town_office": policy.hears_town_office}


@bp.route("/")
@login_required
def index():
    """My notifications, newest first."""
    page = paginate(db.select(Notification).where(Notification.user_id == current_user.id)
                    .options(selectinload(Notification.issue).selectinload(Issue.category),
                             selectinload(Notification.invitation)
                             .selectinload(Invitation.volunteer),
                             selectinload(Notification.invitation)
                             .selectinload(Invitation.session)
                             .selectinload(ServiceSession.item),
                             selectinload(Notification.invitation)
                             .selectinload(Invitation.session)
                             .selectinload(ServiceSession.point),
                             selectinload(Notification.session)
                             .selectinload(ServiceSession.item),
                             selectinload(Notification.session)
                             .selectinload(ServiceSession.point),
                             selectinload(Notification.skill),
                             selectinload(Notification.callup))
                    .order_by(Notification.id.desc()), per_page=30, max_per_page=30,
                    error_out=False)
    return render_template("inbox/index.html", page=page, describe=describe,
                           for_follower=for_follower, form=ConfirmForm())


@bp.route("/read", methods=["POST"])
@login_required
def read_all():
    """Mark every notification read."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db.session.execute(db.update(Notification).where(
        Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()))
    db.session.commit()
    return redirect(url_for("inbox.index"))


@bp.route("/<int:notification_id>", methods=["POST"])
@login_required
def open_one(notification_id: int):
    """Mark one read and go where to act on it: the task, the hours to confirm, the issue …"""
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != current_user.id or not ConfirmForm().validate_on_submit():
        abort(404)
    n.read_at = n.read_at or utcnow()
    db.session.commit()
    if n.invitation_id and n.invitation and n.invitation.volunteer_id == current_user.id:
        return redirect(url_for("invitations.detail", invitation_id=n.invitation_id))
    if n.event in EVENT_PAGES:  # hours to confirm, my skills
        return redirect(url_for(EVENT_PAGES[n.event][0]))
    if n.callup_id and not n.issue_id:  # a call-up: answer it, check in and out
        return redirect(url_for("callups.answer", callup_id=n.callup_id))
    if n.session_id and not n.issue_id:
        if n.invitation_id or n.event == "attendance_due":  # an organiser's notice
            return redirect(url_for("services.manage", session_id=n.session_id) + "#staff")
        return redirect(url_for("services.session", session_id=n.session_id))
    return redirect(url_for("issues.detail", issue_id=n.issue_id) if n.issue_id
                    else url_for("inbox.index"))


#: The form's name for each channel's checkbox: ``<kind>_<suffix>``.
FIELD_SUFFIX = {"inbox": "app", "email": "email", "sms": "sms", "wechat": "wechat"}


def _channels_for(user) -> list:
    """The channels this person can choose here: the inbox and e-mail always (e-mail says when
    it cannot reach them), SMS when the site sends SMS and they have a mobile number, WeChat when
    the site sends WeChat messages and their account is linked."""
    cfg = current_app.config
    shown = [CHANNELS["inbox"], CHANNELS["email"]]
    if CHANNELS["sms"].enabled(cfg) and user.phone:
        shown.append(CHANNELS["sms"])
    if CHANNELS["wechat"].enabled(cfg) and user.wechat_openid:
        shown.append(CHANNELS["wechat"])
    return shown


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Choose, per kind and channel, what to receive; agree to (or withdraw from) SMS."""
    form = ConfirmForm()
    channels = _channels_for(current_user)
    kinds = [k for k in KINDS if KIND_FOR.get(k, bool)(current_user)]
    if form.validate_on_submit():
        have = {s.kind: s for s in db.session.scalars(db.select(NotificationSetting).where(
            NotificationSetting.user_id == current_user.id))}
        for kind in kinds:  # the kinds not offered to this person keep their setting
            row = have.get(kind) or NotificationSetting(user_id=current_user.id, kind=kind)
            for channel in channels:
                setattr(row, channel.setting,
                        f"{kind}_{FIELD_SUFFIX[channel.name]}" in request.form)
            db.session.add(row)
        if CHANNELS["sms"] in channels:
            agreed = request.form.get("sms_consent") == "y"
            if agreed and current_user.sms_consent_at is None:
                current_user.sms_consent_at = utcnow()
            elif not agreed:
                current_user.sms_consent_at = None
        db.session.commit()
        flash(_("Your choices are saved."), "success")
        return redirect(url_for("inbox.settings"))
    return render_template("inbox/settings.html", form=form, current=settings_of(current_user.id),
                           KIND_LABELS={k: KIND_LABELS[k] for k in kinds},
                           channels=channels, suffix=FIELD_SUFFIX,
                           mail_on=CHANNELS["email"].enabled(current_app.config))
