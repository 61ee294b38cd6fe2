"""The service records of a period for the 村居 and town offices, in the national shape."""
from __future__ import annotations

from flask import abort, current_app, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteer import policy
from volunteer.dashboard.routes import DashboardError, resolve_period
from volunteer.extensions import db
from volunteer.hours import bp
from volunteer.hours.records import COLUMNS, records, to_csv, to_xlsx
from volunteer.volunteers.services import log_contact_view

TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv; charset=utf-8"}


@bp.route("/records")
@login_required
def records_view():
    """Confirmed service records of a period (one row each, headed in Chinese) as XLSX or
    CSV; the download carries phone numbers, so the contact view log records it."""
    if not policy.holds(current_user, policy.OFFICES):
        abort(403)
    errors = []
    try:
        period = resolve_period(request.args.get("from"), request.args.get("to"))
    except DashboardError as exc:
        errors.append(exc.message)
        period = resolve_period(None, None)
    villages = policy.office_villages(current_user)
    items = [] if errors else records(current_user, villages, period,
                                      current_app.config["TOWN_NAME"])
    fmt = request.args.get("format")
    if fmt in TYPES and not errors:
        log_contact_view(current_user, None, "export", len(items),
                         f"records {period.start}–{period.end}")
        db.session.commit()
        name = f"service-records-{period.start}-{period.end}.{fmt}"
        data = to_csv(items) if fmt == "csv" else to_xlsx(items, _("Service records"))
        resp = make_response(data)
        resp.headers["Content-Type"] = TYPES[fmt]
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        resp.headers["Cache-Control"] = "private, no-store"
        return resp
    return render_template("hours/records.html", period=period, errors=errors, items=items,
                           columns=COLUMNS, hours=sum(r.hours for r in items)), \
        400 if errors else 200
