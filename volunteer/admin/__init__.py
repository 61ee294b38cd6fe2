"""Town admin screens (网格办) for reference data and people, built on Flask-Admin."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import abort, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.form import BaseForm
from flask_admin.model import typefmt
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import Email, Length, NumberRange, Optional, ValidationError

from volunteer import policy
from volunteer.auth.models import ROLE_LABELS, SCOPE_KIND, Role, RoleAssignment, User
from volunteer.auth.services import end_sessions, hash_password, revoke_tokens
from volunteer.common import is_phone, mask_name, mask_phone, normalize_phone
from volunteer.extensions import db
from volunteer.i18n import localtime
from volunteer.issues.models import IssueCategory, UrgencyLevel
from volunteer.matching.admin import MatchingView
from volunteer.matching.models import WeightSet, WeightSetStatus
from volunteer.org.models import Department, District, Grid, GridPoint, ServiceItem, Town, Village
from volunteer.org.services import boundary_error, centre_error
from volunteer.outbox.admin import OutboxView
from volunteer.outbox.models import OutboxMessage, Status
from volunteer.skills.models import Skill, SkillCategory
from volunteer.validators import NoMarkup, Password, PersonName, Phone, phone_filter, strip
from volunteer.volunteers.models import ContactView, VolunteerProfile, WorkUnit


class AdminForm(BaseForm):
    """Flask-Admin forms carrying Flask-WTF's CSRF token (checked by CSRFProtect)."""

    class Meta(FlaskForm.Meta):
        pass


class TownAdminMixin:
    """Only a town's (or the district's) office reaches these screens; others get 403,
    visitors the login page. A screen of what every town shares (``town_scoped`` False) is
    for the office of everything alone (``policy.may_keep_reference_data``)."""

    town_scoped = False

    def is_accessible(self):
        if not policy.holds(current_user, policy.TOWN_OFFICES):
            return False
        return self.town_scoped or policy.may_keep_reference_data(current_user)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)


def town_rows(model):
    """SQL: the rows of a town-scoped model that the current office covers (None: all)."""
    towns = policy.town_ids(current_user)
    if towns is None:
        return None
    towns = towns or {-1}
    if model is Village:
        return Village.town_id.in_(towns)
    if model is Grid:
        return Grid.village_id.in_(db.select(Village.id).where(Village.town_id.in_(towns)))
    if model is GridPoint:
        return GridPoint.grid_id.in_(db.select(Grid.id).join(Village)
                                     .where(Village.town_id.in_(towns)))
    if model in (Department, ServiceItem):
        return model.town_id.in_(towns)
    raise ValueError(model)


def role_rows():
    """SQL: the role assignments a town's office lists (held in one of its towns, below its
    own rank; None: all). Each one opened is checked by ``policy.may_assign_role``."""
    if policy.town_ids(current_user) is None:
        return None
    return sa.and_(RoleAssignment.role.not_in(policy.TOWN_OFFICES), sa.or_(
        RoleAssignment.grid_id.in_(db.select(Grid.id).where(town_rows(Grid))),
        RoleAssignment.village_id.in_(db.select(Village.id).where(town_rows(Village))),
        RoleAssignment.department_id.in_(db.select(Department.id)
                                         .where(town_rows(Department)))))


def town_people():
    """SQL: the accounts a town's office lists: people holding a role in its towns, or living
    in one of its grids (None: everyone). Each one opened is checked by
    ``policy.may_manage_person``."""
    roles = role_rows()
    if roles is None:
        return None
    return sa.or_(User.id.in_(db.select(RoleAssignment.user_id).where(roles)),
                  User.id.in_(db.select(VolunteerProfile.user_id).where(
                      VolunteerProfile.home_grid_id.in_(db.select(Grid.id)
                                                        .where(town_rows(Grid))))))


class HomeView(TownAdminMixin, AdminIndexView):
    town_scoped = True

    @expose("/")
    def index(self):
        everything = policy.may_keep_reference_data(current_user)
        counts = {}
        for label, model in [(_l("Village"), Village), (_l("Grids"), Grid),
                             (_l("Grid points"), GridPoint), (_l("Departments"), Department),
                             (_l("Service items"), ServiceItem), (_l("Skills"), Skill),
                             (_l("Users"), User)]:
            q = db.select(db.func.count()).select_from(model)
            if model not in (Skill, User):
                rows = town_rows(model)
                q = q if rows is None else q.where(rows)
            elif not everything:
                continue
            counts[label] = db.session.scalar(q)
        dead = weights_waiting = None
        if policy.may_run_outbox(current_user):
            dead = db.session.scalar(db.select(db.func.count(OutboxMessage.id))
                                     .where(OutboxMessage.status == Status.dead))
        if policy.may_tune_matcher(current_user):
            weights_waiting = db.session.scalar(db.select(WeightSet.id).where(
                WeightSet.status == WeightSetStatus.candidate).limit(1))
        return self.render("admin/home.html", counts=counts, dead=dead,
                           weights_waiting=weights_waiting, everything=everything)


def _local_time(view, value, name) -> str:
    return localtime(value, "short")


class BaseAdminView(TownAdminMixin, ModelView):
    form_base_class = AdminForm
    column_type_formatters = {**typefmt.BASE_FORMATTERS, datetime: _local_time}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, datetime: _local_time}
    page_size = 50
    can_view_details = True
    can_export = False
    column_display_pk = False


TEXT = [strip]


class TownScopedView(BaseAdminView):
    """A table of places or services that belong to towns: a town's office lists, opens and
    changes only its own town's rows, and chooses only among its own town's villages, grids
    and departments; the office of everything sees all."""

    town_scoped = True

    def get_query(self):
        rows = town_rows(self.model)
        q = super().get_query()
        return q if rows is None else q.filter(rows)

    def get_count_query(self):
        rows = town_rows(self.model)
        q = super().get_count_query()
        return q if rows is None else q.filter(rows)

    def get_one(self, id):
        obj = super().get_one(id)
        if obj is not None and not self.covers(obj):
            abort(404)
        return obj

    def covers(self, obj) -> bool:
        return policy.covers_town(current_user, policy.town_of(obj))

    def on_model_change(self, form, model, is_created):
        if not self.covers(model):
            raise ValidationError(str(_l("That belongs to another town.")))


class TownGridLoader(QueryAjaxModelLoader):
    """Grids found by typing, among the current office's towns only."""

    def get_query(self):
        rows = town_rows(Grid)
        q = super().get_query()
        return q if rows is None else q.filter(rows)

    def get_one(self, pk):
        grid = super().get_one(pk)
        with db.session.no_autoflush:  # called while a form fills a row not yet added
            return grid if grid is not None and policy.covers_town(
                current_user, policy.town_of(grid)) else None


def _my_towns():
    towns = policy.town_ids(current_user)
    q = db.select(Town).order_by(Town.code)
    return db.session.scalars(q if towns is None else q.where(Town.id.in_(towns or {-1}))).all()


def _my_villages():
    rows = town_rows(Village)
    q = db.select(Village).order_by(Village.code)
    return db.session.scalars(q if rows is None else q.where(rows)).all()


def _my_departments():
    rows = town_rows(Department)
    q = db.select(Department).where(Department.town_id.is_not(None)).order_by(Department.code)
    return db.session.scalars(q if rows is None else q.where(rows)).all()


def _departments_to_staff():
    """Departments whose staff the current office appoints: its towns' (and the district's,
    for the office of everything)."""
    rows = town_rows(Department)
    q = db.select(Department).order_by(Department.code)
    return db.session.scalars(q if rows is None else q.where(rows)).all()


def _my_district():
    if not policy.runs_everything(current_user):
        return []
    return db.session.scalars(db.select(District)).all()


class PersonLoader(QueryAjaxModelLoader):
    """People found by typing: the office of everything finds anyone; a town's office finds
    the people of its towns by name or number, and anyone else by their whole mobile number
    only (a resident to be made a grid member, say)."""

    def get_list(self, term, offset=0, limit=20):
        mine = town_people()
        if mine is None:
            return super().get_list(term, offset, limit)
        phone = normalize_phone(term)
        q = super().get_query().filter(User.deleted_at.is_(None))
        if is_phone(phone):
            return q.filter(User.phone == phone).all()
        like = f"%{term}%"
        return (q.filter(mine, sa.or_(User.name.ilike(like), User.phone.ilike(like)))
                .order_by(User.id).offset(offset).limit(limit).all())

    def format(self, model):
        """Someone the office does not manage is shown masked: a whole number typed finds
        them, but tells no name."""
        if model is None or town_people() is None \
                or policy.may_manage_person(current_user, model):
            return super().format(model)
        return model.id, f"{mask_name(model.name)} ({mask_phone(model.phone)})"


class DistrictView(BaseAdminView):
    """The district over the towns: one per installation, renamed here."""

    can_create = can_delete = False
    column_list = ["code", "name"]
    column_labels = {"code": _l("Code"), "name": _l("District name"), "towns": _l("Towns")}
    form_columns = ["code", "name"]
    form_args = {"name": {"filters": TEXT, "validators": [NoMarkup(), Length(min=1, max=100)]},
                 "code": {"filters": TEXT, "validators": [NoMarkup(), Length(min=1, max=20)]}}


class TownView(BaseAdminView):
    """The towns and sub-districts (镇/街道) of the district."""

    can_delete = False  # a town with villages, people and issues is never deleted
    column_list = ["code", "name", "district", "lat", "lon"]
    column_searchable_list = ["code", "name"]
    column_labels = {"code": _l("Code"), "name": _l("Town name"), "district": _l("District"),
                     "lat": _l("Latitude"), "lon": _l("Longitude"), "villages": _l("Village")}
    form_columns = ["code", "name", "district", "lat", "lon"]
    form_args = {"name": {"filters": TEXT, "validators": [NoMarkup(), Length(min=1, max=100)]},
                 "code": {"filters": TEXT, "validators": [NoMarkup(), Length(min=1, max=20)]},
                 "lat": {"validators": [Optional(), NumberRange(-90, 90)]},
                 "lon": {"validators": [Optional(), NumberRange(-180, 180)]}}

    def on_model_change(self, form, model, is_created):
        if model.district is None:
            raise ValidationError(str(_l("A town belongs to the district.")))


class VillageView(TownScopedView):
    column_list = ["code", "name", "kind", "address"]
    column_searchable_list = ["code", "name"]
    column_labels = {"code": _l("Code"), "name": _l("Village name"), "kind": _l("Kind"),
                     "address": _l("Address"), "town": _l("Town"), "lat": _l("Latitude"),
                     "lon": _l("Longitude"), "grids": _l("Grids")}
    form_excluded_columns = ["grids"]
    form_choices = {"kind": [("village", _l("Village (村)")), ("community", _l("Residents' committee (居)"))]}
    column_formatters = {"kind": lambda v, c, m, n: dict(VillageView.form_choices["kind"]).get(
        m.kind, m.kind)}
    column_formatters_detail = column_formatters
    form_args = {"name": {"filters": TEXT, "validators": [NoMarkup(), Length(max=100)]},
                 "code": {"filters": TEXT, "validators": [NoMarkup(), Length(max=20)]},
                 "town": {"query_factory": _my_towns}}


class GridView(TownScopedView):
    column_list = ["code", "name", "village", "households", "lat", "lon"]
    column_searchable_list = ["code", "name"]
    column_filters = ["village.name"]
    column_labels = {"code": _l("Code"), "name": _l("Grid name"), "village": _l("Village"),
                     "village.name": _l("Village"), "households": _l("Households"),
                     "lat": _l("Latitude"), "lon": _l("Longitude"),
                     "boundary": _l("Boundary (GeoJSON)"), "points": _l("Grid points")}
    form_excluded_columns = ["points"]
    form_args = {"name": {"filters": TEXT, "validators": [NoMarkup(), Length(max=100)]},
                 "code": {"filters": TEXT, "validators": [NoMarkup(), Length(max=20)]},
                 "village": {"query_factory": _my_villages}}

    def on_model_change(self, form, model, is_created):
        """The same place rules as the grid page (``org.services``)."""
        super().on_model_change(form, model, is_created)
        if not policy.may_edit_grid_place(current_user, model):
            raise ValidationError(str(_l("Only the village admin or the town admin can move "
                                         "the grid on the map.")))
        if model.lat is None or model.lon is None or model.village is None:
            raise ValidationError(str(_l("A grid needs a village, a latitude and a longitude.")))
        error = centre_error(model, model.lat, model.lon) \
            or boundary_error(model, model.boundary)
        if error:
            raise ValidationError(error)


class GridPointView(TownScopedView):
    column_list = ["name", "grid", "address", "party_service_point", "deputy_reception_point"]
    column_searchable_list = ["name", "address"]
    column_filters = ["party_service_point", "deputy_reception_point"]
    column_labels = {"name": _l("Grid point name"), "grid": _l("Grid"), "address": _l("Address"),
                     "lat": _l("Latitude"), "lon": _l("Longitude"),
                     "opening_hours": _l("Opening hours"),
                     "party_service_point": _l("Party service point (两点合一)"),
                     "deputy_reception_point": _l("Deputies' reception point (多点合一)")}
    form_args = {"name": {"filters": TEXT, "validators": [NoMarkup(), Length(max=100)]},
                 "address": {"filters": TEXT, "validators": [NoMarkup(), Length(max=200)]}}
    # A district may hold tens of thousands of grids: type to find one of the town's.
    form_ajax_refs = {"grid": TownGridLoader("grid", db.session, Grid, fields=["code", "name"],
                                             page_size=20, placeholder=_l("Grid name"))}

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        if model.grid is None:
            raise ValidationError(str(_l("A grid point needs a grid.")))


class DepartmentView(TownScopedView):
    """A town's departments; the district's own departments (which take issues a town
    department escalates) are kept by the district's office."""

    column_list = ["code", "name", "name_en", "town", "district", "phone"]
    column_searchable_list = ["code", "name", "name_en"]
    column_labels = {"code": _l("Code"), "name": _l("Department name"),
                     "name_en": _l("English name"), "description": _l("Description"),
                     "phone": _l("Phone"), "town": _l("Town"),
                     "district": _l("District (a department of the district)")}
    form_columns = ["code", "name", "name_en", "town", "district", "description", "phone"]
    form_args = {"name": {"filters": TEXT, "validators": [NoMarkup(), Length(max=100)]},
                 "town": {"query_factory": _my_towns}}

    def covers(self, obj) -> bool:
        if obj.town_id is None and obj.town is None:
            return policy.runs_everything(current_user)
        return policy.covers_town(current_user, obj.town.id if obj.town else obj.town_id)

    def on_model_change(self, form, model, is_created):
        if (model.town is None) == (model.district is None):
            raise ValidationError(str(_l("A department belongs either to a town or to the "
                                         "district.")))
        super().on_model_change(form, model, is_created)


class ServiceItemView(TownScopedView):
    column_list = ["code", "name", "town", "category", "department", "skill", "active"]
    column_searchable_list = ["code", "name"]
    column_filters = ["active", "category"]
    column_labels = {"code": _l("Code"), "name": _l("Service name"), "name_en": _l("English name"),
                     "category": _l("Category"), "description": _l("Description"),
                     "category_en": _l("Category in English"),
                     "description_en": _l("Description in English"),
                     "department": _l("Department"), "skill": _l("Skill"),
                     "where_when": _l("Where and when"), "active": _l("Active"),
                     "created_at": _l("Created"),
                     "issue_category": _l("Orders are filed under"),
                     "town": _l("Town (empty: every town)")}
    form_columns = ["code", "name", "name_en", "town", "category", "category_en", "description",
                    "description_en", "department", "skill", "issue_category", "where_when",
                    "active"]
    form_args = {"name": {"filters": TEXT, "validators": [NoMarkup(), Length(max=100)]},
                 "town": {"query_factory": _my_towns},
                 "department": {"query_factory": _my_departments}}

    def covers(self, obj) -> bool:
        town_id = obj.town.id if obj.town is not None else obj.town_id
        return policy.covers_town(current_user, town_id) if town_id is not None \
            else policy.runs_everything(current_user)

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        if model.department is not None and model.town is not None \
                and model.department.town_id != model.town.id:
            raise ValidationError(str(_l("The department must be one of the item's town.")))


class SkillCategoryView(BaseAdminView):
    column_list = ["code", "name_zh", "name_en"]
    column_labels = {"code": _l("Code"), "name_zh": _l("Chinese name"),
                     "name_en": _l("English name"), "skills": _l("Skills")}
    form_excluded_columns = ["skills"]


class SkillView(BaseAdminView):
    column_list = ["code", "name_zh", "name_en", "category", "needs_certificate", "active"]
    column_searchable_list = ["code", "name_zh", "name_en"]
    column_filters = ["needs_certificate", "active", "category.name_zh"]
    column_labels = {"code": _l("Code"), "name_zh": _l("Chinese name"),
                     "name_en": _l("English name"), "category": _l("Category"),
                     "category.name_zh": _l("Category"),
                     "synonyms_zh": _l("Chinese synonyms"), "synonyms_en": _l("English synonyms"),
                     "needs_certificate": _l("Needs a verified certificate"),
                     "certificate_name": _l("Certificate"), "active": _l("Active")}
    form_excluded_columns = ["synonyms_zh", "synonyms_en"]
    column_formatters_detail = {
        "synonyms_zh": lambda v, c, m, n: "、".join(m.synonyms_zh or []),
        "synonyms_en": lambda v, c, m, n: ", ".join(m.synonyms_en or []),
    }


def check_scope(role: str, grid, village, department, town=None, district=None) -> None:
    """Raise ValidationError unless the scope fits the role (a grid for grid roles, a town for
    a town admin …)."""
    try:
        kind = SCOPE_KIND[Role(role)]
    except ValueError:
        raise ValidationError(str(_l("Unknown role."))) from None
    given = {"grid": grid, "village": village, "department": department, "town": town,
             "district": district}
    if kind is None and any(given.values()):
        raise ValidationError(str(_l("This role has no scope; leave grid, village, department, "
                                     "town and district empty.")))
    if kind is not None and (given[kind] is None
                             or any(v for k, v in given.items() if k != kind)):
        raise ValidationError(str(_l("This role needs exactly one scope: %(kind)s.",
                                     kind=SCOPE_LABELS[kind])))


SCOPE_LABELS = {"grid": _l("a grid"), "village": _l("a village"), "department": _l("a department"),
                "town": _l("a town"), "district": _l("the district")}
ROLE_CHOICES = [(r.value, ROLE_LABELS[r.value]) for r in Role]


class RoleAssignmentView(BaseAdminView):
    """Assign and move grid leaders, members and other staff: the office of everything any
    role; a town's office the roles below its own in its towns (``policy.may_assign_role``)."""

    town_scoped = True
    column_list = ["user", "role", "grid", "village", "department", "town", "district",
                   "created_at"]
    column_filters = ["role", "grid.code", "village.name", "department.name", "town.name"]
    column_searchable_list = ["user.name", "user.phone"]
    column_labels = {"user": _l("Person"), "role": _l("Role"), "grid": _l("Grid"),
                     "village": _l("Village"), "department": _l("Department"),
                     "created_at": _l("Since"), "grid.code": _l("Grid code"),
                     "village.name": _l("Village"), "department.name": _l("Department"),
                     "user.name": _l("Name"), "user.phone": _l("Mobile"), "town": _l("Town"),
                     "town.name": _l("Town"), "district": _l("District")}
    column_formatters = {"role": lambda v, c, m, n: ROLE_LABELS.get(m.role, m.role)}
    form_columns = ["user", "role", "grid", "village", "department", "town", "district"]
    form_choices = {"role": ROLE_CHOICES}
    form_args = {"village": {"query_factory": _my_villages},
                 "department": {"query_factory": _departments_to_staff},
                 "town": {"query_factory": _my_towns},
                 "district": {"query_factory": _my_district}}
    # A district may hold a million people and tens of thousands of grids: type to find.
    # Flask-Admin's own placeholder says "Please select model"; say what to type instead.
    form_ajax_refs = {
        "user": PersonLoader("user", db.session, User, fields=["name", "phone", "email"],
                             page_size=20, placeholder=_l("Name or mobile")),
        "grid": TownGridLoader("grid", db.session, Grid, fields=["code", "name"], page_size=20,
                               placeholder=_l("Grid name"))}

    def get_query(self):
        rows = role_rows()
        q = super().get_query()
        return q if rows is None else q.filter(rows)

    def get_count_query(self):
        rows = role_rows()
        q = super().get_count_query()
        return q if rows is None else q.filter(rows)

    def get_one(self, id):
        obj = super().get_one(id)
        if obj is not None and not policy.may_assign_role(current_user, obj.role,
                                                          policy.role_scope(obj)):
            abort(404)
        return obj

    def _roles_offered(self, form):
        form.role.choices = [(code, label) for code, label in ROLE_CHOICES
                             if policy.runs_everything(current_user)
                             or code not in policy.TOWN_OFFICES]
        return form

    def create_form(self, obj=None):
        return self._roles_offered(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._roles_offered(super().edit_form(obj))

    def on_model_change(self, form, model, is_created):
        check_scope(model.role, model.grid, model.village, model.department, model.town,
                    model.district)
        with db.session.no_autoflush:  # the new row is not the session's yet
            allowed = policy.may_assign_role(current_user, model.role, policy.role_scope(model))
        if not allowed:
            raise ValidationError(str(_l("A town's office assigns the roles below its own, in "
                                         "its own town.")))


class UserView(BaseAdminView):
    column_list = ["name", "phone", "email", "active", "created_at", "last_login_at"]
    column_searchable_list = ["name", "phone", "email"]
    column_filters = ["active", "consent_method"]
    column_default_sort = ("id", True)
    column_labels = {"name": _l("Name"), "phone": _l("Mobile"), "email": _l("E-mail"),
                     "active": _l("Active"), "created_at": _l("Registered"),
                     "last_login_at": _l("Last login"), "locale": _l("Language"),
                     "large_text": _l("Large text"), "consent_version": _l("Terms version"),
                     "consent_at": _l("Consent given"), "consent_method": _l("Consent"),
                     "roles": _l("Roles"), "new_password": _l("New password")}
    column_details_exclude_list = ["password_hash"]
    form_columns = ["name", "phone", "email", "active", "new_password", "roles"]
    form_extra_fields = {"new_password": PasswordField(_l("New password"), validators=[
        Optional(), Password()])}
    form_args = {
        "name": {"filters": TEXT, "validators": [PersonName()]},
        "phone": {"filters": [strip, phone_filter], "validators": [Optional(), Phone()]},
        "email": {"filters": [lambda v: (v or "").strip().lower() or None],
                  "validators": [Optional(), Email(), Length(max=254)]},
    }
    inline_models = [(RoleAssignment, {
        "form_columns": ["id", "role", "grid", "village", "department", "town", "district"],
        "form_choices": {"role": ROLE_CHOICES},
        "column_labels": {"role": _l("Role"), "grid": _l("Grid"), "village": _l("Village"),
                          "department": _l("Department"), "town": _l("Town"),
                          "district": _l("District")},
    })]

    def on_model_change(self, form, model, is_created):
        if not model.phone and not model.email:
            raise ValidationError(str(_l("A person needs a mobile number or an e-mail to log in.")))
        with db.session.no_autoflush:  # do not find the row being saved itself
            for other, value in (("phone", model.phone), ("email", model.email)):
                if value and db.session.scalar(db.select(User.id).where(
                        getattr(User, other) == value, User.id != (model.id or -1))):
                    raise ValidationError(str(_l("Another account already uses this %(what)s.",
                                                 what=self.column_labels[other])))
        for a in model.roles:
            check_scope(a.role, a.grid, a.village, a.department, a.town, a.district)
        if form.new_password.data:  # a reset by the town office: as any other reset
            model.password_hash = hash_password(form.new_password.data)
            if model.id is not None:
                end_sessions(model)
                revoke_tokens(model)


class TownUserView(UserView):
    """The accounts of a town's people, for a town's office in an installation of several
    towns: name, numbers, a password reset or a block for those it may manage
    (``policy.may_manage_person``); their roles on "Roles and scopes"."""

    town_scoped = True
    can_create = can_delete = False
    column_searchable_list = ["name", "phone"]
    column_filters = ["active"]
    column_details_list = ["name", "phone", "email", "active", "created_at", "last_login_at",
                           "roles"]
    form_columns = ["name", "phone", "email", "active", "new_password"]
    inline_models = None

    def is_accessible(self):
        return super().is_accessible() and not policy.runs_everything(current_user)

    def get_query(self):
        return super().get_query().filter(town_people())

    def get_count_query(self):
        return super().get_count_query().filter(town_people())

    def get_one(self, id):
        obj = super().get_one(id)
        if obj is not None and not policy.may_manage_person(current_user, obj):
            abort(404)
        return obj


class WorkUnitView(BaseAdminView):
    """Work units (工作单位): new names typed at registration wait here for review."""

    column_list = ["name", "approved", "created_at"]
    column_searchable_list = ["name"]
    column_filters = ["approved"]
    column_default_sort = ("approved", False)
    column_editable_list = ["approved"]
    column_labels = {"name": _l("Work unit name"), "approved": _l("Approved"),
                     "created_at": _l("Added")}
    form_columns = ["name", "approved"]
    form_args = {"name": {"filters": TEXT, "validators": [NoMarkup(), Length(min=1, max=100)]}}


# How a phone number came to be seen (ContactView.context), for the audit log's readers.
CONTACT_CONTEXTS = {"reveal": _l("Shown on request"), "helper": _l("Helper's phone to the organiser"),
                    "export": _l("Export"), "certificate": _l("Certificate"),
                    "detail": _l("Volunteer's page"), "report": _l("Report")}


class ContactViewLog(BaseAdminView):
    """Read-only audit log: who saw volunteers' phone numbers outside their own grid."""

    can_create = can_edit = can_delete = False
    column_list = ["created_at", "viewer", "subject", "context", "count", "note"]
    column_filters = ["context", "created_at"]
    column_searchable_list = ["viewer.name", "subject.name"]
    column_default_sort = ("created_at", True)
    column_labels = {"created_at": _l("When"), "viewer": _l("Who looked"),
                     "subject": _l("Whose number"), "context": _l("Where"),
                     "count": _l("Numbers"), "note": _l("Filter"),
                     "viewer.name": _l("Who looked"), "subject.name": _l("Whose number")}
    column_formatters = {"context": lambda v, c, m, n: CONTACT_CONTEXTS.get(m.context, m.context)}
    column_formatters_detail = column_formatters


class IssueCategoryView(BaseAdminView):
    """Issue categories and the department an escalation proposes for each."""

    column_list = ["code", "name_zh", "name_en", "default_department", "active"]
    column_editable_list = ["active"]
    column_labels = {"code": _l("Code"), "name_zh": _l("Chinese name"),
                     "name_en": _l("English name"), "default_department": _l("Default department"),
                     "active": _l("Active")}
    form_columns = ["code", "name_zh", "name_en", "default_department", "active"]
    form_args = {"code": {"filters": TEXT, "validators": [NoMarkup(), Length(min=1, max=40)]},
                 "name_zh": {"filters": TEXT, "validators": [NoMarkup(), Length(min=1, max=50)]},
                 "name_en": {"filters": TEXT, "validators": [NoMarkup(), Length(min=1, max=80)]}}


class UrgencyLevelView(BaseAdminView):
    """Urgency levels and the hours allowed before an issue is overdue."""

    can_create = can_delete = False
    column_list = ["code", "name_zh", "name_en", "hours"]
    column_editable_list = ["hours"]
    column_labels = {"code": _l("Code"), "name_zh": _l("Chinese name"),
                     "name_en": _l("English name"), "hours": _l("Hours to resolve")}
    form_columns = ["name_zh", "name_en", "hours"]
    form_args = {"hours": {"validators": [NumberRange(1, 24 * 90)]}}


def init_admin(app) -> None:
    """Create the admin for ``app`` (a fresh one per app, so tests can build many)."""
    admin = Admin(app, name=str(_l("Town admin")), url="/admin", index_view=HomeView(url="/admin"),
                  theme=Bootstrap4Theme(base_template="admin/our_base.html", fluid=True),
                  translations_path=None)
    org, people, ref = _l("Organisation"), _l("People"), _l("Services and skills")
    s = db
    admin.add_view(DistrictView(District, s, name=_l("District"), category=org,
                                endpoint="a_district"))
    admin.add_view(TownView(Town, s, name=_l("Towns"), category=org, endpoint="a_town"))
    admin.add_view(VillageView(Village, s, name=_l("Village"), category=org, endpoint="a_village"))
    admin.add_view(GridView(Grid, s, name=_l("Grids"), category=org, endpoint="a_grid"))
    admin.add_view(GridPointView(GridPoint, s, name=_l("Grid points"), category=org,
                                 endpoint="a_gridpoint"))
    admin.add_view(DepartmentView(Department, s, name=_l("Departments"), category=org,
                                  endpoint="a_department"))
    admin.add_view(UserView(User, s, name=_l("Users"), category=people, endpoint="a_user"))
    admin.add_view(TownUserView(User, s, name=_l("Users"), category=people,
                                endpoint="a_town_user", url="/admin/town_user"))
    admin.add_view(RoleAssignmentView(RoleAssignment, s, name=_l("Roles and scopes"),
                                      category=people, endpoint="a_role"))
    admin.add_view(WorkUnitView(WorkUnit, s, name=_l("Work units"), category=people,
                                endpoint="a_workunit"))
    admin.add_view(ContactViewLog(ContactView, s, name=_l("Contact view log"), category=people,
                                  endpoint="a_contactview"))
    admin.add_view(OutboxView(name=_l("Messages"), category=people, endpoint="outbox",
                              url="/admin/outbox"))
    issues = _l("Issues")
    admin.add_view(IssueCategoryView(IssueCategory, s, name=_l("Issue categories"),
                                     category=issues, endpoint="a_issuecategory"))
    admin.add_view(UrgencyLevelView(UrgencyLevel, s, name=_l("Urgency and deadlines"),
                                    category=issues, endpoint="a_urgency"))
    admin.add_view(MatchingView(name=_l("Matcher weights"), category=issues, endpoint="matching",
                                url="/admin/matching"))
    admin.add_view(ServiceItemView(ServiceItem, s, name=_l("Service items"), category=ref,
                                   endpoint="a_serviceitem"))
    admin.add_view(SkillView(Skill, s, name=_l("Skills"), category=ref, endpoint="a_skill"))
    admin.add_view(SkillCategoryView(SkillCategory, s, name=_l("Skill categories"), category=ref,
                                     endpoint="a_skillcategory"))
