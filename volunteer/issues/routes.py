"""Issue pages: file an issue, the queues, an issue with its timeline and actions."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_timedelta, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from volunteer import policy
from volunteer.actions import attempt, perform
from volunteer.auth.forms import ConfirmForm
from volunteer.auth.models import GRID_ROLES
from volunteer.common import paginate, parse_int, to_utc, utcnow
from volunteer.extensions import db, limiter, per_account
from volunteer.geo import parse_point
from volunteer.inbox.services import who_verifies
from volunteer.invitations.reasons import for_page
from volunteer.invitations.routes import helpers_panel
from volunteer.invitations.suggestions import for_issue
from volunteer.issues import bp
from volunteer.issues.forms import (
    ACTION_LABELS,
    HELPER_ACTIONS,
    SOURCE_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
    ActionForm,
    IssueForm,
    PhotoForm,
)
from volunteer.issues.models import (
    OPEN_STATUSES,
    STATUSES,
    TIERS,
    Issue,
    IssueAction,
    IssueCategory,
    IssueEvent,
    IssueFollower,
    UrgencyLevel,
)
from volunteer.issues.nearby import RADIUS_M, similar_open_issues
from volunteer.issues.photo_routes import can_add_photos, can_publish_photos
from volunteer.issues.photos import PhotoBatch, PhotoError, read_uploads
from volunteer.issues.services import (
    Details,
    IssueError,
    IssueFilters,
    IssueInput,
    available_queues,
    can_view,
    default_queue,
    department_for,
    departments_for,
    file_issue,
    issue_points,
    issue_query,
    me_too,
    queue_counts,
    transition,
)
from volunteer.issues.workflow import (
    DEPARTMENT_TIERS,
    NEXT_TIER,
    PSEUDO_ROLES,
    allowed_actions,
    is_staff_for,
    only_follower,
    roles_for,
)
from volunteer.matching import slates
from volunteer.matching.store import MatcherUnavailable
from volunteer.offline.services import form_uuid
from volunteer.org.models import Grid, Village
from volunteer.skills.models import Skill

PER_PAGE = 25
#: Grids offered by name on the issue form; beyond, only one's own (the pin finds the rest).
GRID_CHOICES_MAX = 500

MAP_LIMIT = 5000
SIMILAR_LIMIT = "30 per minute"  # the duplicate hint, per user: no probing of places


def _loc() -> str:
    return str(get_locale())


def _category_choices():
    loc = _loc()
    cats = db.session.scalars(db.select(IssueCategory).where(IssueCategory.active)
                              .order_by(IssueCategory.id)).all()
    return [(c.code, c.display_name(loc)) for c in cats]


def _queue() -> tuple[list[str], str]:
    """The queues open to the current user and the one asked for (else their default)."""
    queues = available_queues(current_user)
    queue = request.args.get("queue")
    if queue not in queues:
        queue = default_queue(current_user) if default_queue(current_user) in queues else "mine"
    return queues, queue


def _filters() -> IssueFilters:
    a = request.args
    return IssueFilters(status=a.get("status") if a.get("status") in (*STATUSES, "open") else "",
                        tier=a.get("tier") if a.get("tier") in TIERS else "",
                        category=(a.get("category") or "")[:40],
                        overdue=a.get("overdue") == "1")


@bp.route("/")
@login_required
def index():
    """The queues: my grids, my 村居, my department, my reports; filters and counts."""
    queues, queue = _queue()
    f = _filters()
    now = utcnow()
    page = paginate(issue_query(current_user, queue, f, now), per_page=PER_PAGE,
                    max_per_page=PER_PAGE, error_out=False)
    limited = {i.id for i in page.items if only_follower(current_user, i)}
    return render_template("issues/list.html", page=page, f=f, queue=queue, queues=queues,
                           limited=limited,
                           QUEUE_LABELS=QUEUE_LABELS,
                           counts=queue_counts(current_user, queue, now), now=now,
                           categories=_category_choices(), STATUS_LABELS=STATUS_LABELS,
                           TIER_LABELS=TIER_LABELS, loc=_loc())


def form_input(form: IssueForm, staff: bool) -> IssueInput:
    """What a validated issue form files (the offline outbox's endpoint files the same)."""
    return IssueInput(
        title=form.title.data, description=form.description.data,
        category=form.category.data, urgency=form.urgency.data,
        source=policy.issue_source(current_user, form.source.data if staff else None),
        lat=float(form.lat.data) if form.lat.data else None,
        lon=float(form.lon.data) if form.lon.data else None,
        grid_code=form.grid.data or None, helpers_needed=form.helpers_needed.data or 1,
        needed_from=to_utc(form.needed_from.data), needed_until=to_utc(form.needed_until.data),
        address=form.address.data or None)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """File an issue: from patrol (grid staff) or as a resident's report."""
    form = IssueForm()
    loc = _loc()
    form.category.choices = [("", _("Choose a category"))] + _category_choices()
    form.urgency.choices = [(u.code, u.display_name(loc)) for u in db.session.scalars(
        db.select(UrgencyLevel).order_by(UrgencyLevel.hours.desc()))]
    staff = policy.may_set_issue_source(current_user)
    q = db.select(Grid.code, Grid.name, Village.name).join(Village).order_by(Grid.code)
    if db.session.scalar(db.select(db.func.count(Grid.id))) > GRID_CHOICES_MAX:
        # A district of thousands of grids: one's own, and the map pin for anywhere else.
        offices = policy.office_villages(current_user) or set()
        q = q.where(sa.or_(Grid.id.in_(current_user.grid_ids(*GRID_ROLES) or {-1}),
                           Grid.village_id.in_(offices or {-1}))).limit(GRID_CHOICES_MAX)
    grids = db.session.execute(q).all()
    form.grid.choices = [("", _("Find it from the map pin"))] + [
        (code, f"{vname} · {name}") for code, name, vname in grids]
    if request.method == "GET":
        own = sorted(current_user.grid_ids(*GRID_ROLES))
        if own:
            form.grid.data = db.session.get(Grid, own[0]).code
    if form.validate_on_submit():
        data = form_input(form, staff)
        data.client_uuid, earlier = form_uuid(current_user, request.form.get("client_uuid"))
        if earlier is not None:  # the same report again (a second tap): filed once
            return redirect(url_for("issues.detail", issue_id=earlier.id))
        # A refused photo or issue goes on its field; the photos' files go with a rollback.
        try:
            with attempt(form=form, field="title") as outcome:
                photos = read_uploads(request.files.getlist(form.photos.name))
                issue = file_issue(current_user, data)
                PhotoBatch().add(issue, photos, current_user)
        except IntegrityError:  # the same report at the same moment: the other one filed it
            earlier = form_uuid(current_user, data.client_uuid)[1] if data.client_uuid else None
            if earlier is None:
                raise
            return redirect(url_for("issues.detail", issue_id=earlier.id))
        if outcome.ok:
            flash(_("Issue no. %(id)s filed. You can follow it here.", id=issue.id), "success")
            return redirect(url_for("issues.detail", issue_id=issue.id))
        if isinstance(outcome.error, PhotoError):
            return render_template("issues/new.html", form=form, staff=staff)
    if request.method == "POST" and any(f.filename for f in request.files.getlist("photos")):
        form.photos.errors.append(_("Please choose the photos again."))
    return render_template("issues/new.html", form=form, staff=staff)


def _issue_or_404(issue_id: int) -> Issue:
    # With what its page reads (the timeline and its people, photos, followers) in three
    # statements, not one per item.
    issue = db.session.get(Issue, issue_id, options=[
        selectinload(Issue.events).joinedload(IssueEvent.actor), selectinload(Issue.photos),
        selectinload(Issue.followers), joinedload(Issue.category), joinedload(Issue.village)])
    if issue is None or not can_view(current_user, issue):
        abort(404)  # never confirm that an issue outside one's scope exists
    return issue


@bp.route("/<int:issue_id>")
@login_required
def detail(issue_id: int):
    """One issue: its facts, its timeline, and the actions open to me."""
    issue = _issue_or_404(issue_id)
    if only_follower(current_user, issue):
        return render_template("issues/followed.html", issue=issue, now=utcnow(), loc=_loc(),
                               STATUS_LABELS=STATUS_LABELS, TIER_LABELS=TIER_LABELS,
                               ACTION_LABELS=ACTION_LABELS,
                               place=policy.public_place(issue.lat, issue.lon),
                               photos=[p for p in issue.photos if p.public])
    return _render_detail(issue, ActionForm(formdata=None))


def _suggestions(issue: Issue):
    """Inferred skills and ranked volunteers, for grid leaders, instructors and admins."""
    if not policy.may_see_suggestions(current_user, issue):
        return None
    if not issue.is_open:  # once resolved, nobody more is asked to help
        return None
    try:
        result = for_issue(issue)
    except MatcherUnavailable:  # no model trained yet: the page works without suggestions
        return None
    exploration = slates.explore(result)
    page = for_page(current_user, result, chosen=bool(issue.skill_codes),
                    origin=(issue.lat, issue.lon))
    page["slate"] = slates.record(current_user, "issue_page", result.suggestions,
                                  skills=result.skills, issue=issue, exploration=exploration,
                                  urgent=result.urgent).id
    return page  # committed by the caller once the page is rendered


def _helpers(issue: Issue) -> dict | None:
    """Invitations, offers and hours of the issue, for its staff (organisers act on them)."""
    if not is_staff_for(current_user, issue):
        return None
    return helpers_panel(issue, url_for("invitations.invite_view", issue_id=issue.id))


#: The next step of the work, shown open at the top of the issue page (the first one allowed);
#: every other action is folded under its name.
PRIMARY_ACTIONS = (IssueAction.accept, IssueAction.start, IssueAction.resolve, IssueAction.verify,
                   IssueAction.rate)


def _render_detail(issue: Issue, form: ActionForm, status: int = 200):
    actions = allowed_actions(current_user, issue)
    primary = next((a for a in PRIMARY_ACTIONS if a in actions), None)
    secondary = [a for a in actions if a != primary]
    suggestions = _suggestions(issue)
    all_skills = db.session.scalars(db.select(Skill).where(Skill.active).order_by(Skill.id)).all() \
        if suggestions is not None else []
    next_tier = NEXT_TIER.get(issue.tier)
    departments = departments_for(issue, next_tier) if next_tier in DEPARTMENT_TIERS else []
    form.department_id.choices = [(str(d.id), d.name) for d in departments]
    if departments and not form.department_id.data:
        try:
            form.department_id.data = str(department_for(issue, next_tier, None).id)
        except IssueError:
            pass
    page = render_template("issues/detail.html", issue=issue, form=form, actions=actions,
                           primary=primary, secondary=secondary,
                           suggestions=suggestions, all_skills=all_skills,
                           skills_form=ConfirmForm(), now=utcnow(), STATUS_LABELS=STATUS_LABELS,
                           TIER_LABELS=TIER_LABELS, ACTION_LABELS=ACTION_LABELS,
                           SOURCE_LABELS=SOURCE_LABELS, loc=_loc(), HELPER_ACTIONS=HELPER_ACTIONS,
                           staff_view=is_staff_for(current_user, issue),
                           photo_form=PhotoForm() if can_add_photos(current_user, issue) else None,
                           can_publish=can_publish_photos(current_user, issue),
                           helpers=_helpers(issue))
    if suggestions is not None:  # the list shown is on record; committed after rendering,
        db.session.commit()  # since a commit expires what the page reads (read again)
    return page, status


@bp.route("/<int:issue_id>/act", methods=["POST"])
@login_required
def act(issue_id: int):
    """Do one action (accept, resolve, verify, escalate …) on an issue."""
    issue = _issue_or_404(issue_id)
    form = ActionForm()
    form.department_id.choices = []
    if not form.validate_on_submit():
        return _render_detail(issue, form, 400)
    try:
        version = int(form.version.data)
    except ValueError:
        abort(400)
    details = Details(
        comment=form.comment.data, resolution=form.resolution.data,
        hours_spent=float(form.hours_spent.data) if form.hours_spent.data is not None else None,
        cost_saved_yuan=form.cost_saved_yuan.data, rating=form.rating.data,
        department_id=parse_int(form.department_id.data), duplicate_of=form.duplicate_of.data)
    with attempt(category="danger", conflict=IssueError("stale")) as outcome:
        transition(current_user, issue, form.action.data, details, version=version)
    if not outcome.ok:
        return redirect(url_for("issues.detail", issue_id=issue_id))
    flash(_("Done: %(action)s.", action=ACTION_LABELS.get(form.action.data, "")), "success")
    if form.action.data == IssueAction.resolve:
        flash(who_verifies(issue), "info")
    return redirect(url_for("issues.detail", issue_id=issue_id))


@bp.route("/<int:issue_id>/skills", methods=["POST"])
@login_required
def set_skills(issue_id: int):
    """The grid leader corrects the skills the issue needs (empty: infer from the text)."""
    issue = _issue_or_404(issue_id)
    if not policy.may_see_suggestions(current_user, issue):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    wanted = request.form.getlist("skills")[:10]
    known = set(db.session.scalars(db.select(Skill.code).where(Skill.code.in_(wanted))))
    if any(code not in known for code in wanted):
        flash(_("Unknown skill."), "danger")
    else:
        issue.skill_codes = wanted or None
        db.session.commit()
        flash(_("Skills saved; the suggestions follow them.") if wanted
              else _("The skills are inferred from the text again."), "success")
    return redirect(url_for("issues.detail", issue_id=issue_id) + "#suggestions")


@bp.route("/similar")
@login_required
@limiter.limit(SIMILAR_LIMIT, key_func=per_account("similar"))
def similar():
    """Open issues within 300 m that look like the one being typed (JSON, for the form).
    Issues the user may not read come as public facts: distance to 50 m, nothing of their text."""
    point = parse_point(request.args.get("lat"), request.args.get("lon"))
    if point is None:
        return jsonify({"error": "bad_location", "message": _("Not a valid location.")}), 400
    lat, lon = point
    text = (request.args.get("text") or "")[:2000]
    category = (request.args.get("category") or "")[:40] or None
    now, loc = utcnow(), _loc()
    roles: dict[int, set[str]] = {}

    def knows_text(issue: Issue) -> bool:
        roles[issue.id] = roles_for(current_user, issue)
        return policy.issue_view(roles[issue.id]) != policy.ISSUE_PUBLIC_VIEW

    items = [_similar_item(n, roles[n.issue.id], now, loc)
             for n in similar_open_issues(lat, lon, text, category, knows_text=knows_text)]
    return jsonify({"radius_m": RADIUS_M, "items": items})


def _similar_item(n, roles: set[str], now, loc: str) -> dict:
    """One issue of the duplicate hint as the user may see it."""
    issue = n.issue
    item = {"id": issue.id, "category": issue.category.display_name(loc),
            "status": str(STATUS_LABELS[issue.status]), "village": issue.village.name,
            "reported": format_timedelta(issue.created_at - now, add_direction=True),
            "me_too": None if roles & PSEUDO_ROLES
            else url_for("issues.me_too_view", issue_id=issue.id)}
    if not n.known:  # the public facts only
        item["distance_m"] = policy.public_distance(n.distance_m)
    else:
        item.update(distance_m=int(round(n.distance_m, -1)), likely=n.likely, title=issue.title)
    if roles:  # a follower opens the public facts, staff and the reporter the issue
        item["url"] = url_for("issues.detail", issue_id=issue.id)
    return item


@bp.route("/<int:issue_id>/me-too", methods=["POST"])
@login_required
@limiter.limit("20 per day", key_func=per_account("me-too"))
def me_too_view(issue_id: int):
    """I have the same problem: follow this issue instead of filing a new one."""
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(lambda: me_too(current_user, issue),
                   _("Thank you. You were added to issue no. %(id)s and will hear how it goes.",
                     id=issue.id), url_for("issues.detail", issue_id=issue_id),
                   failure_redirect=lambda exc: url_for("issues.detail", issue_id=issue_id)
                   if can_view(current_user, issue) else url_for("issues.new"),
                   conflict=IssueError("me_too_already"))


@bp.route("/map")
@login_required
def map_view():
    """The same queue and filters as the list, on a map with clustered markers."""
    queues, queue = _queue()
    f = _filters()
    args = {"queue": queue, "status": f.status or None, "tier": f.tier or None,
            "category": f.category or None, "overdue": 1 if f.overdue else None}
    return render_template("issues/map.html", f=f, queue=queue, queues=queues,
                           QUEUE_LABELS=QUEUE_LABELS, categories=_category_choices(),
                           STATUS_LABELS=STATUS_LABELS, TIER_LABELS=TIER_LABELS,
                           points_url=url_for("issues.map_points", **args))


@bp.route("/map.json")
@login_required
def map_points():
    """Points of a queue's filtered issues (newest first, at most 5,000) for the map."""
    queue = _queue()[1]
    now = utcnow()
    total, rows = issue_points(current_user, queue, _filters(), now, MAP_LIMIT)
    public = _seen_as_public()
    # Compact rows [id, lat, lon, label, status, overdue]; a queue can hold thousands.
    points = []
    for r in rows:
        if r.id in public:  # "me too": the place as on the board, the category for a title
            lat, lon = policy.public_place(r.lat, r.lon)
            label = f"#{r.id} {public[r.id].category.display_name(_loc())}"
        else:
            lat, lon, label = round(r.lat, 6), round(r.lon, 6), f"#{r.id} {r.title}"
        points.append([r.id, lat, lon, label, r.status,
                       r.status in OPEN_STATUSES and r.deadline_at < now])
    return jsonify({"points": points, "total": total, "shown": len(points),
                    "statuses": {k: str(v) for k, v in STATUS_LABELS.items()},
                    "link": url_for("issues.index")})


def _seen_as_public() -> dict[int, Issue]:
    """The issues the user follows but sees only as public facts, by id."""
    followed = db.select(IssueFollower.issue_id).where(IssueFollower.user_id == current_user.id)
    issues = db.session.scalars(db.select(Issue).where(Issue.id.in_(followed)).options(
        selectinload(Issue.category), selectinload(Issue.followers))).all()
    return {i.id: i for i in issues
            if policy.issue_view(roles_for(current_user, i)) == policy.ISSUE_PUBLIC_VIEW}


QUEUE_LABELS = {"grid": _l("My grids"), "village": _l("My village"),
                "department": _l("My department"), "mine": _l("My reports")}
