"""Pydantic field validators made from the input rules (``volunteer.rules``), so that the API
judges a name or a piece of free text exactly as the forms do."""
from __future__ import annotations

from volunteer import rules
from volunteer.validators import strip


def _check(message) -> None:
    if message is not None:
        raise ValueError(str(message))


def name(value: str | None) -> str | None:
    """A person's name (``rules.name``), trimmed; None stays None."""
    if value is None:
        return None
    value = strip(value)
    _check(rules.name(value))
    return value


def text(value: str | None, *, max_len: int | None = None, multiline: bool = False,
         required: bool = False) -> str | None:
    """Free text (``rules.text``), trimmed; empty becomes None unless ``required``."""
    value = strip(value) if value is not None else None
    if not value:
        if required:
            raise ValueError("must not be empty")
        return None
    _check(rules.text(value, max_len=max_len, multiline=multiline))
    return value
