"""The town admin's view of the outbox: what waits, what was sent, and the dead letters, which
can be sent again."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.admin_view import PolicyView
from volunteer.auth.forms import ConfirmForm
from volunteer.common import paginate, parse_int
from volunteer.extensions import db
from volunteer.outbox import services as outbox
from volunteer.outbox.channels import CHANNELS
from volunteer.outbox.models import OutboxMessage, Status


class OutboxView(PolicyView):
    """Dead letters first; counts per status and channel."""

    allowed = staticmethod(policy.may_run_outbox)

    @expose("/")
    def index(self):
        status = request.args.get("status", Status.dead)
        if status not in set(Status):
            status = Status.dead
        page = paginate(db.select(OutboxMessage).where(OutboxMessage.status == status)
                        # each row's title reads the objects it is about
                        .options(selectinload(OutboxMessage.user),
                                 selectinload(OutboxMessage.issue),
                                 selectinload(OutboxMessage.invitation),
                                 selectinload(OutboxMessage.session),
                                 selectinload(OutboxMessage.skill))
                        .order_by(OutboxMessage.id.desc()), per_page=50, max_per_page=50)
        return self.render("admin/outbox.html", page=page, status=status,
                           summary=outbox.summary(), channels=CHANNELS, form=ConfirmForm(),
                           statuses=list(Status), title=outbox.title)

    @expose("/retry", methods=["POST"])
    def retry(self):
        """Send one dead letter (``id``) or every dead letter again, from the first try."""
        if not ConfirmForm().validate_on_submit():
            abort(400)
        if request.form.get("all") == "1":
            n = outbox.retry()
        else:
            one = parse_int(request.form.get("id", ""))
            if one is None:
                abort(400)
            n = outbox.retry([one])
        db.session.commit()
        flash(_("%(n)s message(s) will be sent again.", n=n), "success" if n else "warning")
        return redirect(url_for(".index"))
