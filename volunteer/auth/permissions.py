"""Role and scope checks used by every view and API endpoint.

``role_required`` guards a view by role; ``can_see`` / ``can_manage`` answer whether a user may
read / change one object. Views call ``require(can_see(...))`` which aborts with 403.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from volunteer.auth.models import GRID_ROLES, Role, User


def role_required(*roles: str):
    """Allow only logged-in users holding one of ``roles``; the town admin always passes."""
    wanted = {str(r) for r in roles} | {Role.admin.value}

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.role_codes() & wanted:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def require(allowed: bool) -> None:
    """Abort with 403 unless ``allowed``."""
    if not allowed:
        abort(403)


def _grid_village_ids(user: User) -> set[int]:
    return {a.grid.village_id for a in user.roles if a.role in GRID_ROLES and a.grid}


def can_see(user: User | None, obj) -> bool:
    """Whether ``user`` may see the staff view of ``obj`` (a 村居, grid, grid point, department, user)."""
    from volunteer.org.models import Department, Grid, GridPoint, Village

    if user is None or not user.is_authenticated:
        return False
    if user.is_admin:
        return True
    if isinstance(obj, Village):
        return obj.id in user.village_ids() or obj.id in _grid_village_ids(user)
    if isinstance(obj, Grid):
        return obj.id in user.grid_ids() or obj.village_id in user.village_ids()
    if isinstance(obj, GridPoint):
        return can_see(user, obj.grid)
    if isinstance(obj, Department):
        return obj.id in user.department_ids()
    if isinstance(obj, User):
        return obj.id == user.id or any(_manages_user(user, obj, a) for a in obj.roles)
    return False


def can_manage(user: User | None, obj) -> bool:
    """Whether ``user`` may change ``obj``: grid leaders their grids, village admins their 村居."""
    from volunteer.org.models import Grid, GridPoint, Village

    if user is None or not user.is_authenticated:
        return False
    if user.is_admin:
        return True
    if isinstance(obj, Village):
        return obj.id in user.village_ids()
    if isinstance(obj, Grid):
        return obj.id in user.grid_ids(Role.grid_leader) or obj.village_id in user.village_ids()
    if isinstance(obj, GridPoint):
        return obj.grid.village_id in user.village_ids()
    if isinstance(obj, User):
        if obj.id == user.id:
            return False
        home = obj.profile.home_grid if obj.profile else None
        if home is not None and (home.id in user.grid_ids(Role.grid_leader)
                                 or home.village_id in user.village_ids()):
            return True
        return any(_manages_user(user, obj, a) for a in obj.roles)
    return False


def _manages_user(staff: User, person: User, assignment) -> bool:
    """Staff manage people whose grid role lies in a grid they lead or a 村居 they administer."""
    if assignment.grid is None:
        return False
    return (assignment.grid_id in staff.grid_ids(Role.grid_leader)
            or assignment.grid.village_id in staff.village_ids())
