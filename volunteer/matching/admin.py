"""The town admin's page for the matcher's weights: the set in use, a learned candidate beside it
with its offline comparison, and the earlier sets to roll back to (DESIGN §5.6). Only a person
switches weights on; this page is where.

The matching package has no routes; this Flask-Admin view is its one screen, mounted by
``volunteer.admin.init_admin`` like the outbox's.
"""
from __future__ import annotations

from flask import abort, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from volunteer import policy
from volunteer.actions import perform
from volunteer.admin_view import PolicyView
from volunteer.auth.forms import ConfirmForm
from volunteer.common import parse_int
from volunteer.matching import tuning

#: The score's terms (``matcher.TERMS``) in words.
TERM_LABELS = {
    "skill": _l("Skill fit"),
    "distance": _l("Nearness"),
    "distance_urgent": _l("Nearness when urgent"),
    "availability": _l("Free at the time asked"),
    "local": _l("Same grid or village"),
    "load": _l("Few open tasks"),
    "load_reliability": _l("Few open tasks and reliable"),
    "reliability": _l("Reliability"),
}
SOURCE_LABELS = {"learned": _l("Learned from outcomes"), "hand": _l("Set by hand")}
ESTIMATES = (("snips", _l("SNIPS (self-normalised inverse propensity)")),
             ("dr", _l("Doubly robust")))


def _comparison(candidate, active) -> dict | None:
    """What the page shows of a candidate's report: the estimates, which of their differences
    cannot be told from 0, and whether it was judged against the weights in use now."""
    report = candidate.report if candidate is not None else None
    if not report or "comparison" not in report:
        return None
    c = report["comparison"]
    undecided = [name for name, _label in ESTIMATES
                 if name in c.get("difference", {})
                 and c["difference"][name]["low"] <= 0 <= c["difference"][name]["high"]]
    return {"c": c, "summary": report.get("summary") or {}, "current": report.get("current") or {},
            "top": report.get("top", 5), "undecided": undecided,
            "stale": report.get("current_id") != (active.id if active else None)}


class MatchingView(PolicyView):
    """The weights in use, the learned candidate with its comparison, and the earlier sets."""

    allowed = staticmethod(policy.may_tune_matcher)

    @expose("/")
    def index(self):
        """Compare the learned weights with the ones in use; switch on or roll back."""
        view = tuning.overview()
        slates, answered = tuning.log_size()
        return self.render("admin/matching.html", **view, slates=slates, answered=answered,
                           comparison=_comparison(view["candidate"], view["active"]),
                           term_labels=TERM_LABELS, source_labels=SOURCE_LABELS,
                           estimates=ESTIMATES, form=ConfirmForm())

    @expose("/switch", methods=["POST"])
    def switch(self):
        """Make the set ``id`` (the candidate, or an earlier set) the live weights."""
        if not ConfirmForm().validate_on_submit():
            abort(400)
        set_id = parse_int(request.form.get("id", ""))
        if set_id is None:
            abort(400)
        back = url_for(".index")
        return perform(lambda: tuning.switch_on(current_user, set_id),
                       lambda ws: _("The weights of set #%(id)s are in use now; every page's "
                                    "suggestions follow within seconds.", id=ws.id), back,
                       conflict=tuning.TuningError("switched_meanwhile"))
