"""A Flask-Admin screen of its own (not a table's), open to whom a policy function allows:
visitors are sent to log in, everyone else the policy refuses gets 403."""
from __future__ import annotations

from collections.abc import Callable

from flask import abort, redirect, request, url_for
from flask_admin import BaseView
from flask_login import current_user


class PolicyView(BaseView):
    """Set ``allowed`` to the ``volunteer.policy`` function that decides who reaches it."""

    allowed: Callable = staticmethod(lambda user: False)

    def is_accessible(self):
        return self.allowed(current_user)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)
