"""Who may see and do what: the one owner of role sets, ranks, people's scopes and visibility.

Every route, API endpoint, CLI command, admin screen and template asks these functions; none
re-encodes a rule. They are pure: they read only the objects they are handed (and the
relationships those objects carry), never run a query of their own, and never touch Flask.

The rank order (DESIGN §2): district_admin > admin > village_admin > grid_instructor =
grid_leader > grid_member > volunteer = resident. A department is its own branch: its staff are
ranked with no one, so only the town (or district) office manages them and they manage no one.

Towns: a town admin's scope is their town; the district admin's is every town. A town that is
alone in its district is the whole installation, so its admin's scope is everything, as it was
before districts (``town_ids`` answers None: no filter at all).
"""
from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from volunteer.auth.models import Role
from volunteer.invitations.models import InvitationStatus
from volunteer.issues.models import Issue, Tier
from volunteer.org.models import Department, Grid, GridPoint, Town, Village
from volunteer.services.models import ServiceSession, SignupStatus

if TYPE_CHECKING:  # pragma: no cover
    from volunteer.auth.models import RoleAssignment, User
    from volunteer.volunteers.models import VolunteerProfile

# --- role sets -------------------------------------------------------------------------------

GRID_ROLES = frozenset({Role.grid_member.value, Role.grid_leader.value,
                        Role.grid_instructor.value})
#: The offices of a town and of the district (what each covers: ``town_ids``).
TOWN_OFFICES = frozenset({Role.admin.value, Role.district_admin.value})
#: Hold a staff view of something (queues, "my grids").
STAFF = frozenset({Role.village_admin.value, Role.department_staff.value, Role.grid_leader.value,
                   Role.grid_instructor.value, Role.grid_member.value}) | TOWN_OFFICES
#: Keep the volunteer registry of their scope: list, verify, import, export.
REGISTRY_KEEPERS = frozenset({Role.grid_leader.value, Role.grid_instructor.value,
                              Role.village_admin.value}) | TOWN_OFFICES
#: Organise help: invite, decide offers, withdraw, mark no-shows, confirm hours, run sessions.
ORGANISERS = frozenset({Role.grid_leader.value, Role.village_admin.value}) | TOWN_OFFICES
#: See the matcher's suggestions for an issue or a session.
SUGGESTERS = frozenset({Role.grid_leader.value, Role.grid_instructor.value,
                        Role.village_admin.value}) | TOWN_OFFICES
#: Read the dashboards of their scope.
DASHBOARD_READERS = frozenset({Role.grid_leader.value, Role.village_admin.value}) | TOWN_OFFICES
#: The 村居 office and the town office: import volunteers, read the work-unit report.
OFFICES = frozenset({Role.village_admin.value}) | TOWN_OFFICES
#: Manage people (one-time codes, imports that update accounts) within their scope and rank.
PEOPLE_MANAGERS = frozenset({Role.grid_leader.value, Role.village_admin.value}) | TOWN_OFFICES
#: Edit the places of grids (centre, boundary): the 村居's admin and the town admin.
GRID_PLACE_EDITORS = frozenset({Role.village_admin.value}) | TOWN_OFFICES

RANK = {
    Role.district_admin.value: 60,
    Role.admin.value: 50,
    Role.village_admin.value: 40,
    Role.grid_instructor.value: 30,
    Role.grid_leader.value: 30,
    Role.grid_member.value: 20,
    Role.volunteer.value: 10,
    Role.resident.value: 10,
}
# Role.department_staff has no rank: its own branch.


def rank(role: str) -> int | None:
    """The rank of a role code; None for a department's staff (ranked with no one)."""
    return RANK.get(str(role))


def holds(user: User | None, roles) -> bool:
    """Whether ``user`` (logged in) holds any of ``roles`` in any scope."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.role_codes() & set(roles))


# --- scopes ----------------------------------------------------------------------------------

def _authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def town_ids(user: User | None) -> set[int] | None:
    """Towns whose office ``user`` holds; None for every town: the district's admin, or the
    admin of a town alone in its district (the installation is that town). Empty for anyone
    else."""
    if not _authenticated(user):
        return set()
    out: set[int] = set()
    for a in user.roles:
        if a.role == Role.district_admin.value:
            return None
        if a.role == Role.admin.value and a.town is not None:
            if len(a.town.district.towns) == 1:
                return None
            out.add(a.town_id)
    return out


def runs_everything(user: User | None) -> bool:
    """Whether ``user``'s office covers the whole installation (``town_ids`` is None)."""
    return _authenticated(user) and bool(user.role_codes() & TOWN_OFFICES) \
        and town_ids(user) is None


def covers_town(user: User | None, town_id: int | None) -> bool:
    """Whether ``user`` holds the office of ``town_id`` (the district's admin: of every town;
    a place in no town: only an office of everything)."""
    towns = town_ids(user)
    return towns is None or (town_id is not None and town_id in towns)


def town_of(obj) -> int | None:
    """The town a place, department, issue or volunteer profile lies in (None: none known,
    or a district's department)."""
    if obj is None:
        return None
    if isinstance(obj, Town):
        return obj.id
    if isinstance(obj, Village):
        return obj.town_id
    if isinstance(obj, Grid):
        return obj.village.town_id if obj.village is not None else None
    if isinstance(obj, GridPoint):
        return town_of(obj.grid)
    if isinstance(obj, Department):
        return obj.town_id
    if isinstance(obj, Issue):
        return town_of(obj.village) if obj.village is not None else None
    grid = getattr(obj, "home_grid", None)  # a volunteer's profile
    return town_of(grid)


def office_villages(user: User) -> set[int] | None:
    """The 村居 an office acts for (lists the issues of, imports volunteers into, exports the
    records of): a 村居 office its own, a town office its town's; None: every one."""
    towns = town_ids(user)
    if towns is None:
        return None
    ids = set(user.village_ids())
    for a in user.roles:
        if a.role == Role.admin.value and a.town is not None:
            ids |= {v.id for v in a.town.villages}
    return ids


def village_ids(user: User) -> set[int] | None:
    """村居 where ``user`` works in any staff role but a department's; None: all of them."""
    ids = office_villages(user)
    if ids is None:
        return None
    ids |= {a.grid.village_id for a in user.roles if a.role in GRID_ROLES and a.grid is not None}
    return ids


def same_village(viewer: User, village_id: int | None) -> bool:
    """Whether ``village_id`` lies in the viewer's staff scope (an office of everything:
    always)."""
    villages = village_ids(viewer)
    return villages is None or (village_id is not None and village_id in villages)


def _profile_village(profile: VolunteerProfile | None) -> int | None:
    if profile is None or profile.home_grid is None:
        return None
    return profile.home_grid.village_id


def _covers(manager: RoleAssignment, grid_id: int | None, village_id: int | None) -> bool:
    """Whether one of the manager's assignments covers a grid (or a 村居)."""
    if manager.role == Role.grid_leader.value:
        return grid_id is not None and manager.grid_id == grid_id
    if manager.role == Role.village_admin.value:
        return village_id is not None and manager.village_id == village_id
    return False


def _person_towns(person: User) -> set[int | None]:
    """The towns a person stands in by their roles and home grid (None: somewhere in no town,
    such as a district department, or a role over towns)."""
    out: set[int | None] = set()
    for a in person.roles:
        if a.role == Role.district_admin.value:
            out.add(None)
        elif a.role == Role.admin.value:
            out.add(a.town_id)
        elif a.grid is not None:
            out.add(town_of(a.grid))
        elif a.village is not None:
            out.add(a.village.town_id)
        elif a.department is not None:
            out.add(a.department.town_id)
    profile = getattr(person, "profile", None)
    if profile is not None and profile.home_grid is not None:
        out.add(town_of(profile.home_grid))
    return out


def _anchors(person: User) -> list[tuple[int | None, int | None, int | None]]:
    """Where the person stands: (rank, grid id, 村居 id) for each role and their home grid.
    A rank of None (a department's staff, or any village-wide role) needs a town office."""
    out: list[tuple[int | None, int | None, int | None]] = []
    for a in person.roles:
        r = rank(a.role)
        if a.role in TOWN_OFFICES or a.role == Role.department_staff.value:
            out.append((None, None, None))
        elif a.grid_id is not None:
            out.append((r, a.grid_id, a.grid.village_id if a.grid is not None else None))
        elif a.village_id is not None:
            out.append((r, None, a.village_id))
        # resident / volunteer without a scope stand where their home grid is (below)
    profile = getattr(person, "profile", None)
    if profile is not None and profile.home_grid is not None:
        out.append((RANK[Role.volunteer.value], profile.home_grid_id, profile.home_grid.village_id))
    return out


def may_see(user: User | None, obj) -> bool:
    """Whether ``user`` may see the staff view of a place of the town: a 村居, a grid, a grid
    point or a department (their grids' 村居 for grid staff, their 村居 for its admin, their
    town for its office; a district's department: the district's office)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role_codes() & TOWN_OFFICES and covers_town(user, town_of(obj)):
        return True
    if isinstance(obj, Village):
        return obj.id in (village_ids(user) or set())
    if isinstance(obj, Grid):
        return obj.id in user.grid_ids() or obj.village_id in user.village_ids()
    if isinstance(obj, GridPoint):
        return may_see(user, obj.grid)
    if isinstance(obj, Department):
        return obj.id in user.department_ids()
    return False


def may_manage(user: User | None, obj) -> bool:
    """Whether ``user`` may change a place of the town: grid leaders their grids, village
    admins their 村居 and its grids and points, town offices their town (people:
    ``may_manage_person``)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role_codes() & TOWN_OFFICES and covers_town(user, town_of(obj)):
        return True
    if isinstance(obj, Village):
        return obj.id in user.village_ids()
    if isinstance(obj, Grid):
        return obj.id in user.grid_ids(Role.grid_leader) or obj.village_id in user.village_ids()
    if isinstance(obj, GridPoint):
        return obj.grid.village_id in user.village_ids()
    return False


def may_manage_person(actor: User | None, person: User) -> bool:
    """Whether ``actor`` may act on ``person``'s account (a one-time code, an import that
    updates them): every role the person holds, and their home grid, lies within one of the
    actor's scopes and below the actor's rank there. Never oneself; a town or district admin's
    account only from the command line. A town office acts on the people who stand only in its
    town (or anywhere, for an office of everything)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.id == person.id:
        return False
    if person.role_codes() & TOWN_OFFICES:
        return False
    if actor.role_codes() & TOWN_OFFICES:
        towns = town_ids(actor)
        if towns is None:
            return True
        person_towns = _person_towns(person)
        if person_towns and person_towns <= towns:
            return True
    anchors = _anchors(person)
    if not anchors:
        return False  # stands nowhere in the town: the town office decides
    managers = [a for a in actor.roles if a.role in PEOPLE_MANAGERS]
    for r, grid_id, village_id in anchors:
        if r is None:
            return False
        if village_id is None and grid_id is None:
            return False
        if not any(_covers(m, grid_id, village_id) and RANK[m.role] > r for m in managers):
            return False
    return True


def role_scope(assignment: RoleAssignment):
    """The place a role is held in: its grid, 村居, department or town (None: held nowhere,
    or over the district)."""
    return (assignment.grid or assignment.village or assignment.department
            or assignment.town)


def may_assign_role(actor: User | None, role: str, scope) -> bool:
    """Whether ``actor`` may grant, move or take back ``role`` held in ``scope`` (a grid, 村居,
    department or town; None: a role held nowhere or over the district): the office of
    everything any role; a town's office the roles below its own, held in one of its towns —
    never a town's or the district's office."""
    if runs_everything(actor):
        return True
    if not holds(actor, TOWN_OFFICES) or role in TOWN_OFFICES or scope is None:
        return False
    return covers_town(actor, town_of(scope))


def may_see_person(viewer: User | None, profile: VolunteerProfile) -> bool:
    """Whether registry keepers may open a volunteer's staff page (their 村居, or anywhere for
    the town admin)."""
    if not holds(viewer, REGISTRY_KEEPERS):
        return False
    return same_village(viewer, _profile_village(profile))


def may_verify(user: User | None, profile: VolunteerProfile) -> bool:
    """Registry keepers verify the skills of volunteers of their 村居 (a town office: its
    town's; an office of everything: all)."""
    if runs_everything(user):
        return True
    return profile.home_grid is not None and may_see_person(user, profile)


def may_confirm_party(user: User | None, profile: VolunteerProfile) -> bool:
    """The 村居's admin (or the town's office) confirms a party member's 报到."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if runs_everything(user):
        return True
    return profile.home_grid is not None and same_office(user, profile.home_grid.village_id)


def same_office(user: User, village_id: int | None) -> bool:
    """Whether ``village_id`` is one an office of ``user`` acts for (``office_villages``)."""
    villages = office_villages(user)
    return villages is None or (village_id is not None and village_id in villages)


def may_publish_photos(roles: set[str]) -> bool:
    """Those who decide whether an issue stands put its photos on the public board."""
    return bool(roles & ORGANISERS)


def identity_shown(viewer: User | None, profile: VolunteerProfile) -> bool:
    """Whether an identity document number goes out in full: only in the national records
    export, and only of volunteers of the viewer's own 村居 (the town office: all). Every page,
    and every other 村居, sees it masked."""
    return may_see_person(viewer, profile) and holds(viewer, OFFICES)


def colleague_phone(viewer: User | None, person: User) -> Phone:
    """A grid's role holders on its staff page: in full for the people the viewer manages
    (whom they could give a one-time code anyway), masked for everyone else."""
    return Phone.FULL if may_manage_person(viewer, person) else Phone.MASKED


def may_see_certificate(viewer: User | None, profile: VolunteerProfile) -> bool:
    """A skill's certificate file: the volunteer, and those who may open their staff page."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    return profile.user_id == viewer.id or may_see_person(viewer, profile)


def full_name_shown(viewer: User | None, profile: VolunteerProfile | None) -> bool:
    """Whether a list (suggestions) shows a volunteer's full name to ``viewer``: inside the
    viewer's 村居 (the town admin: everywhere); elsewhere the name is masked (童**)."""
    if viewer is None or not getattr(viewer, "is_authenticated", False) or profile is None:
        return False
    return profile.user_id == viewer.id or same_village(viewer, _profile_village(profile))


# --- phones ----------------------------------------------------------------------------------

class Phone(enum.Enum):
    """How a phone number is shown."""

    NONE = "none"        # not at all
    MASKED = "masked"    # 138****5678, no way to reveal
    REVEAL = "reveal"    # masked; one explicit reveal shows it (logged, limited per day)
    FULL = "full"        # shown (logged once by the caller where the context says so)


# Contexts: "list" (lists, suggestions, search results), "detail" (one person's page),
# "helper" (the organiser of an accepted helper's task), "export" (a registry export), "self".
PHONE_CONTEXTS = frozenset({"list", "detail", "helper", "export", "self"})
#: Full phones one viewer may reveal per day.
REVEALS_PER_DAY = 50


def phone_shown(viewer: User | None, profile: VolunteerProfile | None, context: str,
                organiser: bool = False) -> Phone:
    """How ``viewer`` sees the phone of the volunteer with ``profile`` in ``context``.

    Lists never show a full phone. Registry keepers of the volunteer's 村居 (and the town
    admin) may reveal it by an explicit action, which is logged. The organiser of a task the
    volunteer accepted (``organiser=True`` with ``context="helper"``) sees it at once.
    """
    if context not in PHONE_CONTEXTS:
        raise ValueError(context)
    if viewer is None or not getattr(viewer, "is_authenticated", False) or profile is None:
        return Phone.NONE
    if profile.user_id == viewer.id:
        return Phone.FULL
    if context == "helper":
        return Phone.FULL if organiser else Phone.NONE
    if context == "self":
        return Phone.NONE
    in_scope = may_see_person(viewer, profile)
    if context == "export":
        return Phone.FULL if in_scope else Phone.NONE
    if in_scope:
        return Phone.REVEAL
    return Phone.MASKED if holds(viewer, SUGGESTERS) else Phone.NONE


# --- suggestions, places and distances -------------------------------------------------------

def may_see_suggestions(user: User | None, target) -> bool:
    """Whether ``user`` sees the matcher's suggestions for ``target`` (an issue or a service
    session): suggesters of the issue's grid or 村居; those who run the session's point."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if isinstance(target, Issue):
        from volunteer.issues.workflow import roles_for  # (issues.workflow imports policy)

        return bool(roles_for(user, target) & SUGGESTERS)
    point = getattr(target, "point", None)
    if point is not None:
        return may_run_point(user, point)
    return False


def may_organise(roles: set[str]) -> bool:
    """Whether the roles a user holds for a target (see ``issues.workflow.roles_for``) make
    them its organiser."""
    return bool(roles & ORGANISERS)


def may_plan(user: User | None) -> bool:
    """Grid leaders, 村居 admins and the town offices plan helpers across their needs (a plan
    covers only the issues and sessions they organise)."""
    return holds(user, ORGANISERS)


def may_open_plan(user: User | None, plan) -> bool:
    """A plan is its maker's alone (it names volunteers as its maker may see them), while they
    still organise."""
    return _authenticated(user) and plan.created_by_id == user.id and may_plan(user)


def may_run_point(user: User | None, point) -> bool:
    """The town's office, the point's 村居 admins and its grid's leaders run its sessions."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return (same_office(user, point.grid.village_id)
            or point.grid_id in user.grid_ids(Role.grid_leader))


def may_edit_grid_place(user: User | None, grid) -> bool:
    """Only the grid's 村居 admin and the town admin move a grid's centre or boundary."""
    if not holds(user, GRID_PLACE_EDITORS):
        return False
    return same_office(user, grid.village_id)


#: File issues as staff: choose where an issue came from (patrol, hotline, deputies' reception …).
ISSUE_SOURCE_SETTERS = GRID_ROLES | {Role.village_admin.value, Role.admin.value}
#: The source of an issue filed by anyone else.
RESIDENT_SOURCE = "resident_report"


def may_set_issue_source(user: User | None) -> bool:
    """Grid staff and the 村居 and town admins say where an issue came from."""
    return holds(user, ISSUE_SOURCE_SETTERS)


def issue_source(user: User | None, wanted: str | None) -> str | None:
    """The source of an issue ``user`` files: what staff chose (patrol when they did not say);
    a resident's report for everyone else. None when ``wanted`` is not theirs to choose."""
    if may_set_issue_source(user):
        return wanted or "patrol"
    return RESIDENT_SOURCE if wanted in (None, RESIDENT_SOURCE) else None


#: What a viewer sees of an issue (``issue_view``).
ISSUE_STAFF_VIEW, ISSUE_OWN_VIEW, ISSUE_PUBLIC_VIEW = "staff", "own", "public"


def issue_view(roles: set[str]) -> str:
    """What a viewer holding ``roles`` for an issue (``issues.workflow.roles_for``) sees of it.

    "staff": a staff role in the issue's scope, everything that role shows. "own": its reporter,
    their own text and place without staff details. "public": anyone else, followers ("me too")
    included: the board's public facts (category, status, tier, 村居, times, the place by
    ``public_place``, public photos), nothing of the text and nothing computed from it.
    """
    if set(roles) - {"reporter", "follower"}:
        return ISSUE_STAFF_VIEW
    if "reporter" in roles:
        return ISSUE_OWN_VIEW
    return ISSUE_PUBLIC_VIEW


#: The states of an invitation in which its volunteer sees the task's details (its text, exact
#: place and distance): asked to help, or whose offer was taken up.
TASK_DETAIL_STATES = frozenset({InvitationStatus.invited, InvitationStatus.accepted,
                                InvitationStatus.done, InvitationStatus.no_show})


def task_details_shown(state: str) -> bool:
    """Whether the volunteer of an invitation in ``state`` sees the task's details; before (an
    offer waiting) and after (declined, withdrawn, expired) they see its public facts."""
    return state in TASK_DETAIL_STATES


#: Decimal places of a place shown to the public (about 100 m).
PUBLIC_DECIMALS = 3
#: Metres to which distances are rounded: inside the viewer's 村居, outside it, for residents.
DISTANCE_STEP_INSIDE = 10
DISTANCE_STEP_OUTSIDE = 100
DISTANCE_STEP_PUBLIC = 50


def public_place(lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    """A place as the public sees it: rounded to about 100 m."""
    if lat is None or lon is None:
        return None, None
    return round(lat, PUBLIC_DECIMALS), round(lon, PUBLIC_DECIMALS)


def photo_shown(roles: set[str], public: bool) -> bool:
    """Whether a viewer holding ``roles`` for an issue (``issues.workflow.roles_for``) sees one
    of its photos (the metadata-free copy): a public one everyone, as on the board; any other
    its reporter and the staff of its scope, never a follower or anyone else."""
    return public or issue_view(roles) != ISSUE_PUBLIC_VIEW


def public_agency(issue: Issue) -> Department | Village:
    """Who holds an issue, as the public is told (Open311's ``agency_responsible``): its
    department while it is at a department's tier, else its 村居. An office, never a person."""
    if issue.tier in (Tier.department, Tier.district) and issue.department is not None:
        return issue.department
    return issue.village


def _step(value: float, step: int) -> int:
    return int(max(step, round(value / step) * step))


def shown_distance(viewer: User | None, metres: float | None, village_id: int | None) -> int | None:
    """A volunteer's distance as ``viewer`` sees it: to 10 m inside the viewer's 村居, else to
    100 m (never 0, so three distances cannot pin a home down)."""
    if metres is None:
        return None
    inside = viewer is not None and getattr(viewer, "is_authenticated", False) \
        and same_village(viewer, village_id)
    return _step(metres, DISTANCE_STEP_INSIDE if inside else DISTANCE_STEP_OUTSIDE)


#: Decimal places of a volunteer's match score shown inside the viewer's 村居.
SCORE_DECIMALS_INSIDE = 2


def home_measured(viewer: User | None, village_id: int | None) -> bool:
    """Whether what ``viewer`` is shown of a volunteer of ``village_id`` may be measured from
    the volunteer's home: inside the viewer's 村居 (the town admin: everywhere). Elsewhere a
    distance is measured from the volunteer's grid centre, and no score is shown, since any
    figure computed from the home, however rounded, gives the home away at its rounding edges
    to someone who moves the query point."""
    return viewer is not None and getattr(viewer, "is_authenticated", False) \
        and same_village(viewer, village_id)


def shown_score(viewer: User | None, score: float | None, village_id: int | None) -> float | None:
    """A volunteer's match score as ``viewer`` sees it: to 2 decimals inside the viewer's 村居;
    none elsewhere (``home_measured``)."""
    if score is None or not home_measured(viewer, village_id):
        return None
    return round(float(score), SCORE_DECIMALS_INSIDE)


def public_distance(metres: float) -> int:
    """A distance shown to residents (the similar-issues hint): to 50 m."""
    return _step(metres, DISTANCE_STEP_PUBLIC)


def volunteer_pin(viewer: User | None, profile: VolunteerProfile) -> tuple[float, float] | None:
    """Where a map shows a volunteer to ``viewer``: never their home. Inside the viewer's 村居
    at the public precision; elsewhere at their grid's centre."""
    grid = profile.home_grid
    if grid is None:
        return None
    if viewer is not None and getattr(viewer, "is_authenticated", False) \
            and same_village(viewer, grid.village_id) and profile.lat is not None:
        return public_place(profile.lat, profile.lon)  # type: ignore[return-value]
    if grid.lat is None or grid.lon is None:
        return None
    return grid.lat, grid.lon


def may_run_outbox(user: User | None) -> bool:
    """The office of everything (the district's, or the only town's) sees the messages that
    could not be delivered (to whom, by which channel, why) and sends them again; nobody else
    sees the outbox, which holds every town's messages."""
    return runs_everything(user)


def may_tune_matcher(user: User | None) -> bool:
    """The office of everything compares learned weights with the ones in use and switches a
    set on or back; no command or other role changes the live weights (one set serves every
    town)."""
    return runs_everything(user)


def may_keep_reference_data(user: User | None) -> bool:
    """The office of everything keeps what every town shares: the skills taxonomy, issue
    categories and urgency levels, work units, accounts and roles, the contact-view log."""
    return runs_everything(user)


def may_compare_towns(user: User | None) -> bool:
    """The district's office (or the only town's) reads every town's figures side by side."""
    return runs_everything(user)


def may_see_town_figures(user: User | None, town: Town) -> bool:
    """Whether ``user`` may read the dashboards of ``town`` as a whole: its office, and the
    office of everything."""
    return holds(user, TOWN_OFFICES) and covers_town(user, town.id)


#: The roles whose holders may act on the town office's matters (the candidates a query reads;
#: ``may_tune_matcher`` and ``may_run_outbox`` decide).
TOWN_OFFICE = TOWN_OFFICES


def hears_town_office(user: User | None) -> bool:
    """The town office's notices (learned weights to decide on, messages that could not be
    delivered) are offered to those who may act on them."""
    return may_tune_matcher(user) or may_run_outbox(user)


# --- emergency call-ups (应急动员) -------------------------------------------------------------

#: Start emergency call-ups and see who is called: the 村居's office for its grids, the town's
#: office for its town, the district's for every town.
CALLUP_STARTERS = OFFICES
#: Metres to which the distance between a check-in and the muster point is rounded.
CHECKIN_DISTANCE_STEP = 10


def may_call_up(user: User | None, place) -> bool:
    """Whether ``user`` may start a call-up in ``place``: a 村居 (or one of its grids) for its
    admin and its town's office; a whole town only for that town's office (and the
    district's). Nobody else: grid staff ask their 村居."""
    if not holds(user, CALLUP_STARTERS):
        return False
    if isinstance(place, Grid):
        place = place.village
    if isinstance(place, Village):
        return same_office(user, place.id)
    if isinstance(place, Town):
        return holds(user, TOWN_OFFICES) and covers_town(user, place.id)
    return False


def may_start_callups(user: User | None) -> bool:
    """Whether ``user`` starts call-ups anywhere (the navigation's entry, the list page)."""
    return holds(user, CALLUP_STARTERS)


def may_see_callup(user: User | None, callup) -> bool:
    """The organisers of a call-up see it whole (who is called, their masked phones, answers,
    arrivals, distances): the office of its 村居, or of its town for a town-wide one. Called
    volunteers see only their own answer page (``callup_answerer``)."""
    if callup is None:
        return False
    if callup.village is not None:
        return may_call_up(user, callup.village)
    return may_call_up(user, callup.town)


def callup_answerer(user: User | None, response) -> bool:
    """Whether ``user`` answers (and checks in to) a call-up through ``response``: only the
    volunteer it was sent to."""
    return _authenticated(user) and response is not None and response.volunteer_id == user.id


def may_run_checkin(user: User | None, activity) -> bool:
    """Who shows an activity's check-in code (on screen or printed) and sees who checked in:
    a session's point runners (``may_run_point``), an issue's organisers, a call-up's
    organisers (``may_see_callup``)."""
    if isinstance(activity, Issue):
        from volunteer.issues.workflow import roles_for  # (issues.workflow imports policy)

        return may_organise(roles_for(user, activity))
    if isinstance(activity, ServiceSession):
        return may_run_point(user, activity.point)
    return may_see_callup(user, activity)


#: Who checks in to a session or task: a helper whose invitation was accepted (or is done), a
#: resident whose sign-up is confirmed (or attended).
CHECKIN_INVITATIONS = frozenset({InvitationStatus.accepted, InvitationStatus.done})
CHECKIN_SIGNUPS = frozenset({SignupStatus.confirmed, SignupStatus.attended})


def may_check_in(user: User | None, place) -> bool:
    """Whether ``user`` checks in (and out) with ``place``: their own invitation to staff a
    session or help with a task, once accepted; their own sign-up for a session, once
    confirmed."""
    if not _authenticated(user) or place is None:
        return False
    if hasattr(place, "volunteer_id"):  # an invitation
        return place.volunteer_id == user.id and place.status in CHECKIN_INVITATIONS
    return place.user_id == user.id and place.status in CHECKIN_SIGNUPS


def checkin_distance(viewer: User | None, activity, metres: float | None) -> int | None:
    """How far from the place (a call-up's muster point, a session's grid point, a task's
    place) someone checked in, as ``viewer`` sees it: to 10 m for its organisers
    (``may_run_checkin``); nothing for anyone else (the position itself is never shown)."""
    if metres is None or not may_run_checkin(viewer, activity):
        return None
    return _step(metres, CHECKIN_DISTANCE_STEP)
