"""Skill inference: from an issue's text (Chinese or English) to the skills it needs.

Character n-gram TF-IDF needs no word segmentation and works for English too; a one-vs-rest
logistic regression gives each skill a probability. Training data: the labelled corpus that ships
in ``volunteer/data/skill_corpus.jsonl`` plus the taxonomy's own names and synonyms. A name or
synonym written literally in the text lifts that skill's probability.
"""
from __future__ import annotations

import json
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CORPUS = DATA_DIR / "skill_corpus.jsonl"
LITERAL_P = 0.85  # probability given to a skill named literally in the text
# ... by a two-character synonym (宣传, 调解, 消防): often a word of the issue, not its need
LITERAL_SHORT_P = 0.6
LITERAL_SEEN = 5  # examples a term must appear in before the corpus may overrule its lift
MAX_TEXT = 5000
MODEL_VERSION = 4  # part of a saved model's key: a model saved by older code is fitted again
# The last texts' probabilities (~0.7 KB each): the issue page and the API ask again, and
# every volunteer's "needs near me" scores the few hundred open issues around them.
CACHE_TEXTS = 10_000


@dataclass(frozen=True)
class TaxonomySkill:
    code: str
    name_zh: str
    name_en: str
    synonyms: tuple[str, ...] = ()
    related: tuple[str, ...] = ()


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "")[:MAX_TEXT]).strip().lower()


def load_corpus(path: Path = CORPUS) -> list[tuple[str, list[str]]]:
    """The labelled examples: (text, [skill codes])."""
    rows: list[tuple[str, list[str]]] = []
    if not path.exists():
        return rows
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                item = json.loads(line)
                rows.append((item["text"], list(item["skills"])))
    return rows


class SkillModel:
    """Fitted vectorizer + classifier over the taxonomy's skill codes."""

    def __init__(self, skills: list[TaxonomySkill], corpus: list[tuple[str, list[str]]]):
        self.skills = skills
        codes = [s.code for s in skills]
        known = set(codes)
        texts, labels = [], []
        for text, tags in corpus:
            tags = [t for t in tags if t in known]
            if tags:
                texts.append(normalize(text))
                labels.append(tags)
        examples = list(zip(texts, labels, strict=True))  # the corpus only, for literal terms
        for s in skills:  # the taxonomy's own words are examples too
            for term in (s.name_zh, s.name_en, *s.synonyms):
                if term:
                    texts.append(normalize(term))
                    labels.append([s.code])
        self.binarizer = MultiLabelBinarizer(classes=codes)
        y = self.binarizer.fit_transform(labels)
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3),
                                          sublinear_tf=True, min_df=1)
        x = self.vectorizer.fit_transform(texts)
        # Skills with no example at all get no classifier column; guard so fit never fails.
        present = y.sum(axis=0) > 0
        self._cols = np.flatnonzero(present)
        self.classifier = OneVsRestClassifier(
            LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000), n_jobs=1)
        self.classifier.fit(x, y[:, self._cols])
        # One matrix product instead of 55 estimators' predict_proba (each validates its
        # input, which costs ~1 ms): the same numbers, a hundred times faster.
        self._coef = np.ascontiguousarray(
            np.vstack([e.coef_[0] for e in self.classifier.estimators_]).T)
        self._intercept = np.array([e.intercept_[0] for e in self.classifier.estimators_])
        self._literal = self._literal_terms(skills, examples)
        self._prepare()

    def _prepare(self) -> None:
        """What ``probabilities`` needs at hand: the analyzer, the vocabulary, idf, and a cache
        of the last texts. (Also after unpickling: the cache and lock are not saved.)"""
        self._analyze = self.vectorizer.build_analyzer()
        self._vocab = self.vectorizer.vocabulary_
        self._idf = self.vectorizer.idf_
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in ("_analyze", "_vocab", "_idf", "_cache", "_cache_lock"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._prepare()

    @staticmethod
    def _literal_terms(skills, examples=()):
        """(term, skill index, word-boundary pattern for English terms, lift) for literal
        mentions: the skill's names and longer synonyms lift to ``LITERAL_P``, a two-character
        Chinese synonym to ``LITERAL_SHORT_P``. A term the corpus shows to be mostly a word of
        other needs (志愿者, 老板: in at least ``LITERAL_SEEN`` examples, under half of them
        labelled with the skill) lifts nothing: the classifier alone judges it."""
        terms: list[tuple[str, int, re.Pattern | None, float]] = []

        def misleading(t: str, code: str, pattern) -> bool:
            seen = [tags for text, tags in examples
                    if t in text and (pattern is None or pattern.search(text))]
            return (len(seen) >= LITERAL_SEEN
                    and sum(code in tags for tags in seen) < 0.5 * len(seen))

        for i, s in enumerate(skills):
            names = {normalize(s.name_zh), normalize(s.name_en)}
            for term in (s.name_zh, s.name_en, *s.synonyms):
                t = normalize(term)
                if t.isascii() and len(t) >= 4:
                    pattern = re.compile(rf"\b{re.escape(t)}\b")
                    if not misleading(t, s.code, pattern):
                        terms.append((t, i, pattern, LITERAL_P))
                elif not t.isascii() and len(t) >= 2 and not misleading(t, s.code, None):
                    short = len(t) == 2 and t not in names
                    terms.append((t, i, None, LITERAL_SHORT_P if short else LITERAL_P))
        return terms

    def probabilities(self, text: str) -> np.ndarray:
        """Probability of each taxonomy skill (in ``self.skills`` order); the last texts'
        answers are kept. The array is shared: do not change it."""
        t = normalize(text)
        with self._cache_lock:
            hit = self._cache.get(t)
            if hit is not None:
                self._cache.move_to_end(t)
                return hit
        out = self._probabilities(t)
        out.setflags(write=False)
        with self._cache_lock:
            self._cache[t] = out
            while len(self._cache) > CACHE_TEXTS:
                self._cache.popitem(last=False)
        return out

    def _probabilities(self, t: str) -> np.ndarray:
        """The TF-IDF vector of one normalised text, written out (what ``vectorizer.transform``
        computes: sublinear tf × idf, l2-normalised) without scikit-learn's per-call input
        checks, times the classifiers' coefficients."""
        out = np.zeros(len(self.skills))
        if not t:
            return out
        counts = Counter(j for j in map(self._vocab.get, self._analyze(t)) if j is not None)
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            w = (1.0 + np.log(tf)) * self._idf[idx]
            w /= np.sqrt(w @ w)
            z = w @ self._coef[idx] + self._intercept
        else:
            z = self._intercept
        out[self._cols] = 1.0 / (1.0 + np.exp(-z))
        for term, i, pattern, lift in self._literal:
            if term in t and (pattern is None or pattern.search(t)):
                out[i] = max(out[i], lift)
        return out

    def predict_many(self, texts: list[str], **kw) -> list[list[tuple[str, float]]]:
        """``predict`` for many texts at once: one sparse product for the linear part."""
        norm = [normalize(t) for t in texts]
        if not norm:
            return []
        z = self.vectorizer.transform(norm) @ self._coef + self._intercept
        probs = np.zeros((len(norm), len(self.skills)))
        probs[:, self._cols] = 1.0 / (1.0 + np.exp(-np.asarray(z)))
        out = []
        for t, p in zip(norm, probs, strict=True):
            if not t:
                out.append([])
                continue
            for term, i, pattern, lift in self._literal:
                if term in t and (pattern is None or pattern.search(t)):
                    p[i] = max(p[i], lift)
            out.append(self._pick(p, **kw))
        return out

    def predict(self, text: str, threshold: float = 0.3, relative: float = 0.35,
                top: int = 4) -> list[tuple[str, float]]:
        """The skills the text needs: above ``threshold`` (or the best one when it is clear)."""
        return self._pick(self.probabilities(text), threshold, relative, top)

    def _pick(self, p: np.ndarray, threshold: float = 0.3, relative: float = 0.35,
              top: int = 4) -> list[tuple[str, float]]:
        if not p.any():
            return []
        order = np.argsort(-p)
        best = p[order[0]]
        picked = [(self.skills[i].code, float(p[i])) for i in order[:top]
                  if p[i] >= threshold and p[i] >= relative * best]
        if not picked and best >= 0.12:
            picked = [(self.skills[order[0]].code, float(best))]
        return picked
