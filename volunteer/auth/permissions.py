"""Flask glue for the rules in ``volunteer.policy``: ``role_required`` guards a view by role,
``require`` aborts with 403. ``can_see`` / ``can_manage`` are the policy's ``may_see`` /
``may_manage`` (whether a user may read / change one place of the town); views call
``require(can_see(...))``.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from volunteer.auth.models import Role
from volunteer.policy import may_manage as can_manage  # noqa: F401  (views import it from here)
from volunteer.policy import may_see as can_see  # noqa: F401


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
