"""Pages: plan helpers (the period to plan and my plans), one plan as a preview — who for what,
with the matcher's reasons, what stays uncovered and why — its edits, and sending it."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload

from volunteer import policy
from volunteer.actions import attempt, perform
from volunteer.auth.forms import ConfirmForm
from volunteer.common import SHANGHAI, paginate, to_local, to_utc, utcnow
from volunteer.extensions import db
from volunteer.invitations.reasons import describe_many
from volunteer.invitations.services import InvitationError
from volunteer.matching.matcher import MatchResult, Suggestion
from volunteer.planning import bp
from volunteer.planning.forms import AddForm, PeriodForm
from volunteer.planning.models import ItemStatus, Plan, PlanItem, PlanNeed, PlanStatus
from volunteer.planning.services import (
    DEFAULT_DAYS,
    add_candidate,
    discard,
    make_plan,
    send,
    set_removed,
)
from volunteer.services.models import ServiceSession

UNCOVERED = {
    "no_candidates": _l("Nobody within range holds the skills needed."),
    "at_limit": _l("Everyone who could help has reached their limit of tasks."),
    "busy": _l("Everyone who could help is busy at that time."),
    "taken": _l("Those who could help are at their limit or needed for other tasks of this "
                "plan."),
    "free": _l("Someone could still be asked: add them below."),
}
STATUS_LABELS = {"draft": _l("Preview"), "sent": _l("Sent"), "discarded": _l("Discarded")}
NEEDS_PER_PAGE = 20
PLANS_PER_PAGE = 20


def period_text(plan: Plan) -> str:
    """The plan's days as chosen: the first and the last (local dates)."""
    first = to_local(plan.period_from).date()
    last = to_local(plan.period_until - timedelta(seconds=1)).date()
    if first >= last:
        return format_date(first, "medium")
    return f"{format_date(first, 'medium')} – {format_date(last, 'medium')}"


def _planner_or_403() -> None:
    if not policy.may_plan(current_user):
        abort(403)


def _plan_or_404(plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None or not policy.may_open_plan(current_user, plan):
        abort(404)
    return plan


def _period(form: PeriodForm) -> tuple[datetime, datetime]:
    """The local days chosen, as [first day's midnight, the day after the last) in UTC."""
    start = datetime.combine(form.period_from.data, time(0), tzinfo=SHANGHAI)
    end = datetime.combine(form.period_until.data + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    return to_utc(start), to_utc(end)


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    _planner_or_403()
    form = PeriodForm()
    if not form.is_submitted():
        today = to_local(utcnow()).date()
        form.period_from.data = today
        form.period_until.data = today + timedelta(days=DEFAULT_DAYS - 1)
    if form.validate_on_submit():
        start, end = _period(form)
        with attempt(form=form, field="period_from") as outcome:
            plan = make_plan(current_user, start, end)
        if outcome.ok:
            return redirect(url_for("planning.detail", plan_id=plan.id))
    plans = paginate(db.select(Plan).where(Plan.created_by_id == current_user.id)
                     .order_by(Plan.created_at.desc(), Plan.id.desc()),
                     per_page=PLANS_PER_PAGE)
    return render_template("planning/index.html", form=form, plans=plans,
                           STATUS_LABELS=STATUS_LABELS, period_text=period_text)


def _as_result(need: PlanNeed) -> tuple[MatchResult, tuple[float, float] | None]:
    """The need's proposed and other candidates as a match, from the need's place."""
    suggestions = [Suggestion(user_id=i.volunteer_id, score=i.score or 0.0, tier=i.fit,
                              distance_m=i.distance_m or 0,
                              reasons=[tuple(r) for r in i.reasons or ()])
                   for i in need.items]
    suggestions += [Suggestion(user_id=a["user_id"], score=a["score"], tier=a["tier"],
                               distance_m=a["distance_m"],
                               reasons=[tuple(r) for r in a["reasons"]])
                    for a in need.alternatives or ()]
    target = need.target
    origin = None
    if need.kind == "issue" and target is not None:
        origin = (target.lat, target.lon)
    elif target is not None:
        origin = (target.point.lat, target.point.lon)
    return MatchResult(skills=[(c, 1.0) for c in need.skills or ()],
                       suggestions=suggestions), origin


def _error_text(item: PlanItem, name: str) -> str:
    return InvitationError(item.error or "not_open", name).message


@bp.route("/<int:plan_id>")
@login_required
def detail(plan_id: int):
    plan = _plan_or_404(plan_id)
    session = joinedload(PlanNeed.session)
    needs = paginate(db.select(PlanNeed).where(PlanNeed.plan_id == plan.id)
                     .options(selectinload(PlanNeed.items), joinedload(PlanNeed.issue),
                              session.joinedload(ServiceSession.item),
                              session.joinedload(ServiceSession.point))
                     .order_by(PlanNeed.position), per_page=NEEDS_PER_PAGE)
    rows = []
    pages = describe_many(current_user, [_as_result(n) for n in needs.items])
    for need, seen in zip(needs.items, pages, strict=True):
        described = {d["volunteer"]["id"]: d for d in seen}
        taken = {i.volunteer_id for i in need.items}
        items = [(i, described.get(i.volunteer_id)) for i in need.items]
        others = [(a, described.get(a["user_id"])) for a in need.alternatives or ()
                  if a["user_id"] not in taken]
        kept = sum(i.status == ItemStatus.proposed for i in need.items)
        rows.append({"need": need, "items": items, "others": others, "kept": kept,
                     "errors": {i.id: _error_text(i, (d or {}).get("volunteer", {})
                                                  .get("name", ""))
                                for i, d in items if i.status == ItemStatus.failed}})
    to_send = db.session.scalar(
        db.select(db.func.count(PlanItem.id)).join(PlanNeed)
        .where(PlanNeed.plan_id == plan.id, PlanItem.status == ItemStatus.proposed))
    return render_template("planning/detail.html", plan=plan, needs=needs, rows=rows,
                           to_send=to_send, form=ConfirmForm(), add_form=AddForm(),
                           UNCOVERED=UNCOVERED, STATUS_LABELS=STATUS_LABELS,
                           period_text=period_text,
                           draft=plan.status == PlanStatus.draft)


def _item_or_404(plan: Plan, item_id: int) -> PlanItem:
    item = db.session.get(PlanItem, item_id)
    if item is None or item.need.plan_id != plan.id:
        abort(404)
    return item


def _back(plan: Plan, need: PlanNeed | None = None) -> str:
    page = need.position // NEEDS_PER_PAGE + 1 if need is not None else None
    anchor = f"#need-{need.id}" if need is not None else ""
    return url_for("planning.detail", plan_id=plan.id, page=page if page and page > 1 else None
                   ) + anchor


def _item_action(plan_id: int, item_id: int, removed: bool):
    plan = _plan_or_404(plan_id)
    item = _item_or_404(plan, item_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(lambda: set_removed(current_user, item, removed),
                   _("Removed from the plan.") if removed else _("Back in the plan."),
                   _back(plan, item.need))


@bp.route("/<int:plan_id>/items/<int:item_id>/remove", methods=["POST"])
@login_required
def remove(plan_id: int, item_id: int):
    return _item_action(plan_id, item_id, True)


@bp.route("/<int:plan_id>/items/<int:item_id>/restore", methods=["POST"])
@login_required
def restore(plan_id: int, item_id: int):
    return _item_action(plan_id, item_id, False)


@bp.route("/<int:plan_id>/needs/<int:need_id>/add", methods=["POST"])
@login_required
def add(plan_id: int, need_id: int):
    plan = _plan_or_404(plan_id)
    need = db.session.get(PlanNeed, need_id)
    if need is None or need.plan_id != plan.id:
        abort(404)
    form = AddForm()
    if not form.validate_on_submit():
        flash(_("Please choose a volunteer."), "warning")
        return redirect(_back(plan, need))
    return perform(lambda: add_candidate(current_user, need, form.volunteer.data),
                   _("Added to the plan."), _back(plan, need))


@bp.route("/<int:plan_id>/send", methods=["POST"])
@login_required
def send_view(plan_id: int):
    plan = _plan_or_404(plan_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)

    def done(sent) -> str:
        text = ngettext("%(num)d invitation sent.", "%(num)d invitations sent.", sent.invited)
        if sent.failed:
            text += " " + ngettext("%(num)d could not be sent; the plan says why.",
                                   "%(num)d could not be sent; the plan says why.",
                                   sent.failed)
        return text

    return perform(lambda: send(current_user, plan), done, _back(plan),
                   conflict=InvitationError("invited_meanwhile"))


@bp.route("/<int:plan_id>/discard", methods=["POST"])
@login_required
def discard_view(plan_id: int):
    plan = _plan_or_404(plan_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(lambda: discard(current_user, plan), _("The plan was discarded."),
                   url_for("planning.index"))
