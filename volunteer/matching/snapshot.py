"""The matcher's index on disk, shared by the processes of one installation.

Reading a million volunteers from the database takes tens of seconds, and every gunicorn
worker would do it on its first match. Instead, the process that builds the index from the
database writes its columns as ``.npy`` files into the instance folder (one directory per
database and build, switched to by an atomic rename of ``current.json``); every other process,
and every restarted one, maps those files into memory (copy on write, so the page cache holds
them once), builds its search trees, and catches up with the changes since the snapshot as it
follows the database anyway (``store``). A lock file lets one process build while the others
wait for its snapshot.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from flask import current_app
from scipy import sparse

from volunteer.common import utcnow
from volunteer.matching.index import VolunteerIndex

FORMAT = 2
COLUMNS = ("user_id", "lat", "lon", "travel_km", "availability", "monthly_limit", "grid_id",
           "village_id", "town_id", "load", "invited", "accepted", "completed", "asked_lately",
           "week")
KEEP = 2  # snapshots kept per database (the current one and the one before)


def directory(db_key: str) -> Path:
    """Where the snapshots of the database named by ``db_key`` live."""
    digest = hashlib.sha256(db_key.encode()).hexdigest()[:16]
    return Path(current_app.instance_path) / "matcher" / digest


@contextmanager
def build_lock(db_key: str) -> Iterator[None]:
    """Held by the one process that builds from the database; the others wait on it."""
    path = directory(db_key)
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "build.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write(db_key: str, ix: VolunteerIndex, meta: dict, base_users: np.ndarray) -> Path:
    """Save ``ix`` (its columns and skill matrix) with ``meta`` (JSON-able: the taxonomy key,
    the marks the store follows the database from) and switch to it."""
    root = directory(db_key)
    root.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f") + f"-{os.getpid()}"
    tmp = root / f".{stamp}"
    tmp.mkdir()
    for name in COLUMNS:
        np.save(tmp / f"{name}.npy", np.ascontiguousarray(getattr(ix, name)))
    csr = ix.skills.tocsr()
    for part in ("data", "indices", "indptr"):
        np.save(tmp / f"skills_{part}.npy", getattr(csr, part))
    np.save(tmp / "base_users.npy", np.asarray(base_users, dtype=np.int64))
    info = {**meta, "format": FORMAT, "n": int(ix.n), "n_skills": int(ix.n_skills)}
    (tmp / "meta.json").write_text(json.dumps(info), encoding="utf-8")
    (tmp).rename(root / stamp)
    pointer = root / ".current.json"
    pointer.write_text(json.dumps({"stamp": stamp}), encoding="utf-8")
    os.replace(pointer, root / "current.json")
    _clean(root, stamp)
    return root / stamp


def _clean(root: Path, current: str) -> None:
    """Remove all but the newest ``KEEP`` snapshots (a process still mapping an older one
    keeps its pages: the files live on until it lets go)."""
    stamps = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                    key=lambda p: p.name)
    for old in stamps[:-KEEP]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def _current(db_key: str) -> tuple[Path, dict] | None:
    """The current snapshot's folder and meta; None when there is none (or it is unreadable)."""
    root = directory(db_key)
    try:
        stamp = json.loads((root / "current.json").read_text(encoding="utf-8"))["stamp"]
        return root / stamp, json.loads((root / stamp / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return None


def current_meta(db_key: str) -> dict | None:
    """The current snapshot's meta (its marks, taxonomy key, size), without mapping it; None
    when there is none."""
    found = _current(db_key)
    return found[1] if found is not None else None


def read(db_key: str, taxonomy_key: str) -> tuple[VolunteerIndex, dict, np.ndarray] | None:
    """The current snapshot as an index (mapped, trees built here), its meta and the user ids
    it read; None when there is none, or it was made for another taxonomy or format."""
    found = _current(db_key)
    if found is None:
        return None
    path, meta = found
    if meta.get("format") != FORMAT or meta.get("taxonomy_key") != taxonomy_key:
        return None
    try:
        columns = {name: np.load(path / f"{name}.npy", mmap_mode="c") for name in COLUMNS}
        parts = [np.load(path / f"skills_{p}.npy", mmap_mode="c")
                 for p in ("data", "indices", "indptr")]
        base_users = np.load(path / "base_users.npy")
    except (OSError, ValueError):
        return None
    skills = sparse.csr_matrix(tuple(parts), shape=(meta["n"], meta["n_skills"]))
    ix = VolunteerIndex.from_arrays(meta["n_skills"], skills, **columns)
    return ix, meta, base_users
