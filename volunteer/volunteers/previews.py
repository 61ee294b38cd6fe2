"""Import previews: a checked file waits for its confirmation at most ``PREVIEW_HOURS``.

A file that passed the checks is kept under a random token for the admin who uploaded it, so
that "Import" imports exactly what was previewed. Nobody else can reach it; it goes when it is
imported, when a newer preview is written or ``flask tick`` runs after it expired, and when its
uploader deletes their account.
"""
from __future__ import annotations

import secrets
import time
from pathlib import Path

from volunteer.config import upload_folder
from volunteer.privacy import eraser

PREVIEW_HOURS = 12


def folder() -> Path:
    return upload_folder("imports")


def save(user_id: int, data: bytes) -> str:
    """Keep an uploaded file for ``user_id`` to confirm; return its token. Expired previews go."""
    purge()
    token = secrets.token_hex(16)
    suffix = ".xlsx" if data.startswith(b"PK") else ".csv"
    (folder() / f"{user_id}-{token}{suffix}").write_bytes(data)
    return token


def find(user_id: int, token: str) -> Path | None:
    """The preview ``token`` of ``user_id``, unless it is gone or expired."""
    if not token.isalnum() or not token.isascii():
        return None
    path = next(folder().glob(f"{user_id}-{token}.*"), None)
    if path is None or _expired(path, time.time()):
        return None
    return path


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def purge(now: float | None = None) -> int:
    """Delete every expired preview; return how many went."""
    now = time.time() if now is None else now
    gone = 0
    for path in folder().iterdir():
        if path.is_file() and _expired(path, now):
            path.unlink(missing_ok=True)
            gone += 1
    return gone


def _expired(path: Path, now: float) -> bool:
    try:
        return now - path.stat().st_mtime > PREVIEW_HOURS * 3600
    except FileNotFoundError:
        return True


@eraser
def _erase_previews(user) -> None:
    """Previews I uploaded go with my account."""
    for path in folder().glob(f"{user.id}-*"):
        path.unlink(missing_ok=True)
