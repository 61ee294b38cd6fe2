"""Download-my-data and delete-my-account, extended by each feature that holds personal data.

A feature registers an exporter (``user -> dict`` section) and an eraser (``user -> None``, which
removes or anonymises that feature's personal data). Services only; the view commits.
"""
from __future__ import annotations

from collections.abc import Callable

EXPORTERS: list[tuple[str, Callable]] = []
ERASERS: list[Callable] = []


def exporter(section: str):
    """Register ``fn(user) -> data`` as the ``section`` of the download."""
    def decorator(fn):
        EXPORTERS.append((section, fn))
        return fn
    return decorator


def eraser(fn):
    """Register ``fn(user)`` to run when the user deletes their account."""
    ERASERS.append(fn)
    return fn


def export_user(user) -> dict:
    """Everything we hold about ``user``, by section."""
    return {section: fn(user) for section, fn in EXPORTERS}


def erase_user(user) -> None:
    """Run every eraser; the account row stays as an anonymous stand-in."""
    for fn in ERASERS:
        fn(user)
