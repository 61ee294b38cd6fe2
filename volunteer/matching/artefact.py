"""The skill model as a file: where it lives, how it is trained and saved, how it is loaded.

Loading never fits. A model is trained by ``flask --app wsgi matching train`` (``make run`` and
``setup`` do it), and again by ``tick`` when the taxonomy, the corpus or scikit-learn changed
since; until then a stale model logs a warning and keeps serving (its skills are matched to the
taxonomy by code). Without any model the matcher is unavailable, never trained in a request.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
from pathlib import Path

import sklearn
from flask import current_app

from volunteer.matching.inference import (
    CORPUS,
    MODEL_VERSION,
    SkillModel,
    TaxonomySkill,
    load_corpus,
)

log = logging.getLogger(__name__)


def key(skills: list[TaxonomySkill]) -> str:
    """What a model was made from: the taxonomy, the corpus, scikit-learn and this code."""
    h = hashlib.sha256(repr(skills).encode())
    h.update(CORPUS.read_bytes() if CORPUS.exists() else b"")
    h.update(sklearn.__version__.encode())
    h.update(str(MODEL_VERSION).encode())
    return h.hexdigest()[:16]


def model_path() -> Path:
    """The model file in the instance folder."""
    return Path(current_app.instance_path) / "matching-model.pkl"


def _key_path() -> Path:
    """Beside the model, its key alone: ``is_current`` (every tick) need not unpickle 35 MB."""
    return model_path().with_suffix(".key")


def train(skills: list[TaxonomySkill]) -> SkillModel:
    """Fit the skill model on the corpus and the taxonomy and save it (atomically: several
    processes may train at once)."""
    model = SkillModel(skills, load_corpus())
    path = model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump({"key": key(skills), "model": model}, fh)
    tmp.replace(path)
    _key_path().write_text(key(skills))
    return model


def _read() -> dict | None:
    path = model_path()
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)  # only a file this code wrote into the instance folder
    except Exception:  # a damaged or foreign file
        log.warning("matching model at %s is unreadable", path)
        return None


def load(skills: list[TaxonomySkill]) -> SkillModel | None:
    """The saved model, stale or not (a stale one is logged); None when there is none."""
    saved = _read()
    if saved is None or not isinstance(saved.get("model"), SkillModel):
        return None
    if saved.get("key") != key(skills):
        log.warning("matching model at %s was made from another taxonomy, corpus or "
                    "scikit-learn; it serves until `flask --app wsgi matching train` or the "
                    "next tick trains it again", model_path())
    return saved["model"]


def is_current(skills: list[TaxonomySkill]) -> bool:
    """A saved model made from exactly this taxonomy, corpus and scikit-learn exists."""
    path, key_file = model_path(), _key_path()
    if not path.exists():
        return False
    if key_file.exists() and key_file.stat().st_mtime >= path.stat().st_mtime:
        return key_file.read_text().strip() == key(skills)
    saved = _read()  # a model saved before the key file existed
    return saved is not None and saved.get("key") == key(skills)
