"""Download-my-data and delete-my-account, extended by each feature that holds personal data.

A feature registers an exporter (``user -> dict`` section), the files it keeps of the user
(``user -> [(name in the archive, path)]``) and an eraser (``user -> None``, which removes or
anonymises that feature's personal data). Services only; the view commits.
"""
from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

EXPORTERS: list[tuple[str, Callable]] = []
FILE_EXPORTERS: list[Callable] = []
ERASERS: list[Callable] = []


def exporter(section: str):
    """Register ``fn(user) -> data`` as the ``section`` of the download."""
    def decorator(fn):
        EXPORTERS.append((section, fn))
        return fn
    return decorator


def files(fn):
    """Register ``fn(user) -> [(name, path)]``: files of the user that the download carries."""
    FILE_EXPORTERS.append(fn)
    return fn


def eraser(fn):
    """Register ``fn(user)`` to run when the user deletes their account."""
    ERASERS.append(fn)
    return fn


def export_user(user) -> dict:
    """Everything we hold about ``user``, by section."""
    return {section: fn(user) for section, fn in EXPORTERS}


def user_files(user) -> list[tuple[str, Path]]:
    """The files we keep of ``user`` that exist: (name in the archive, path)."""
    return [(name, path) for fn in FILE_EXPORTERS for name, path in fn(user) if path.exists()]


def write_archive(user, out: BinaryIO) -> None:
    """The download as a ZIP into ``out``: ``data.json`` (``export_user``) and the files under
    ``files/`` (stored as they are: photos and PDFs do not compress)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("data.json", json.dumps(export_user(user), ensure_ascii=False,
                                                 indent=2, default=str),
                         compress_type=zipfile.ZIP_DEFLATED)
        for name, path in user_files(user):
            archive.write(path, f"files/{name}")


def erase_user(user) -> None:
    """Run every eraser; the account row stays as an anonymous stand-in."""
    for fn in ERASERS:
        fn(user)
