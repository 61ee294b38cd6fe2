"""Staff pages for the organisation tree, scoped: each sees only their grids and 村居."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from volunteer import policy
from volunteer.auth.forms import ConfirmForm
from volunteer.auth.models import RoleAssignment, User
from volunteer.auth.permissions import can_manage, can_see, require, role_required
from volunteer.auth.services import issue_code
from volunteer.common import mask_phone
from volunteer.extensions import db
from volunteer.org import bp
from volunteer.org.forms import GridForm
from volunteer.org.models import Grid, Village
from volunteer.org.services import centre_error

STAFF = sorted(policy.STAFF)


def _by_code(model, code: str):
    obj = db.session.scalar(db.select(model).where(model.code == code))
    if obj is None:
        abort(404)
    return obj


@bp.route("/")
@role_required(*STAFF)
def overview():
    """The grids and 村居 in the user's scope."""
    u = current_user
    q = db.select(Village).options(selectinload(Village.grids)).order_by(Village.code)
    offices = policy.office_villages(u)
    if offices is not None:
        grid_villages = db.select(Grid.village_id).where(Grid.id.in_(u.grid_ids() or {-1}))
        q = q.where(sa.or_(Village.id.in_(offices or {-1}), Village.id.in_(grid_villages)))
    villages = db.session.scalars(q).all()
    visible = {v.id: [g for g in v.grids if can_see(u, g)] for v in villages}
    return render_template("org/overview.html", villages=villages, visible=visible)


@bp.route("/villages/<code>")
@role_required(*STAFF)
def village(code: str):
    """One 村居: its grids and staff."""
    v = _by_code(Village, code)
    require(can_see(current_user, v))
    grids = [g for g in v.grids if can_see(current_user, g)]
    staff = db.session.scalars(
        db.select(RoleAssignment).where(RoleAssignment.village_id == v.id)
        .options(selectinload(RoleAssignment.user))).all()
    return render_template("org/village.html", village=v, grids=grids, staff=staff)


@bp.route("/grids/<code>")
@role_required(*STAFF)
def grid(code: str):
    """One grid: its centroid, points and the people who hold roles in it."""
    g = _by_code(Grid, code)
    require(can_see(current_user, g))
    people = db.session.scalars(
        db.select(RoleAssignment).where(RoleAssignment.grid_id == g.id)
        .options(selectinload(RoleAssignment.user)).order_by(RoleAssignment.role)).all()
    map_points = [{"lat": g.lat, "lon": g.lon, "label": f"{g.village.name} {g.name}"}]
    map_points += [{"lat": p.lat, "lon": p.lon, "label": p.name} for p in g.points]
    managed = {a.user_id for a in people if policy.may_manage_person(current_user, a.user)}
    phones = {a.user_id: a.user.phone if policy.colleague_phone(current_user, a.user)
              is policy.Phone.FULL else mask_phone(a.user.phone) for a in people}
    return render_template("org/grid.html", grid=g, people=people, map_points=map_points,
                           can_edit=can_manage(current_user, g), code_form=ConfirmForm(),
                           code_for=managed, phones=phones)


@bp.route("/grids/<code>/edit", methods=["GET", "POST"])
@role_required(*STAFF)
def grid_edit(code: str):
    """Grid leaders and village admins correct their grid's name and households; only the
    村居's admins and the town admin move its centre, and only within the 村居."""
    g = _by_code(Grid, code)
    require(can_manage(current_user, g))
    form = GridForm(obj=g)
    if not policy.may_edit_grid_place(current_user, g):
        del form.lat, form.lon
    if form.validate_on_submit():
        error = centre_error(g, form.lat.data, form.lon.data) if "lat" in form else None
        if error is None:
            form.populate_obj(g)
            db.session.commit()
            flash(_("Grid saved."), "success")
            return redirect(url_for("org.grid", code=g.code))
        form.lat.errors.append(error)
    return render_template("org/grid_edit.html", grid=g, form=form)


@bp.route("/people/<int:user_id>/code", methods=["POST"])
@role_required(*policy.PEOPLE_MANAGERS)
def issue_reset_code(user_id: int):
    """Give a person one manages a one-time code to set a new password (the town admin's own
    account only from the command line)."""
    person = db.session.get(User, user_id)
    if person is None:
        abort(404)
    require(policy.may_manage_person(current_user, person))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    code = issue_code(person, "reset", current_user)
    db.session.commit()
    return render_template("org/code_issued.html", person=person, code=code)
