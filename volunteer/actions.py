"""Action POSTs of the HTML site: a service call as one unit of work.

    return perform(lambda: withdraw(current_user, inv, note), _("Withdrawn."), back)

runs the service, commits, flashes the success and redirects; when a ``DomainError`` refuses
the action it rolls back, flashes the error's message and redirects (to ``failure_redirect``
when given). ``attempt`` is the same unit of work as a ``with`` block, for a view that
re-renders its form (the message goes on the field at fault) or does more than redirect::

    with attempt(form=form, field="title") as outcome:
        issue = file_issue(current_user, data)
    if outcome.ok:
        return redirect(url_for("issues.detail", issue_id=issue.id))
    return render_template("issues/new.html", form=form)
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from volunteer.errors import DomainError
from volunteer.extensions import db


@dataclass
class Outcome:
    """What an attempt came to: ``error`` is the DomainError that refused it (None when it
    was committed); ``value`` is what ``perform``'s action returned."""

    error: DomainError | None = None
    value: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None


@contextmanager
def attempt(*, category: str = "warning", suffix: str | None = None, form=None,
            field: str | None = None, conflict: DomainError | None = None,
            dry_run: bool = False) -> Iterator[Outcome]:
    """Run the block as one unit of work: commit after it (roll back with ``dry_run``).

    A DomainError from the block rolls back and is reported: on ``form``'s field at fault
    (else on ``field``) when a form is given, otherwise flashed with ``category`` and
    ``suffix`` after the message. With ``conflict``, a concurrent write met on a flush or
    the commit (a unique key taken meanwhile, a stale version) is reported as that error (a
    warning, without the suffix); without, it propagates. Any other exception propagates
    (the 500 handler rolls back).
    """
    outcome = Outcome()
    try:
        yield outcome
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        outcome.error = exc
        _report(exc, category, suffix, form, field)
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        if conflict is None:
            raise
        outcome.error = conflict
        _report(conflict, "warning", None, form, field)


def _report(exc: DomainError, category: str, suffix: str | None, form, field: str | None):
    name = exc.field if form is not None and exc.field and exc.field in form else field
    if form is not None and name is not None and name in form:
        form[name].errors = [*form[name].errors, exc.message]  # a tuple before validation
        return
    flash(exc.message + (f" {suffix}" if suffix else ""), category)


def perform(action: Callable[[], Any], success: str | Callable[[Any], str | None] | None,
            redirect_to: str | Callable[[Any], str], *,
            failure_redirect: str | Callable[[DomainError], str] | None = None,
            success_category: str = "success", **options):
    """Call ``action()`` in an ``attempt`` (``options`` are its keywords) and redirect.

    Committed: flash ``success`` (text, or a function of the action's result giving the
    text or None) and go to ``redirect_to`` (a URL, or a function of the result). Refused:
    the error is flashed and nothing is written; go to ``failure_redirect`` (a URL, or a
    function of the error), by default ``redirect_to`` when that is a URL.
    """
    if failure_redirect is None:
        if callable(redirect_to):
            raise TypeError("perform() needs failure_redirect when redirect_to is a function")
        failure_redirect = redirect_to
    with attempt(**options) as outcome:
        outcome.value = action()
    if not outcome.ok:
        return redirect(failure_redirect(outcome.error) if callable(failure_redirect)
                        else failure_redirect)
    text = success(outcome.value) if callable(success) else success
    if text:
        flash(text, success_category)
    return redirect(redirect_to(outcome.value) if callable(redirect_to) else redirect_to)
