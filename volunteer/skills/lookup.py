"""Find taxonomy skills by any name or synonym, in Chinese or English.

Pure Python: built from plain rows, so that the importer, the registration search box and the
matcher can share it without a request.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

SPLIT_RE = re.compile(r"[;；,，、/|]+")


@dataclass(frozen=True)
class SkillRow:
    id: int
    code: str
    name_zh: str
    name_en: str
    synonyms: tuple[str, ...] = ()
    needs_certificate: bool = False


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").strip().lower())


@dataclass
class SkillIndex:
    """Maps every name and synonym to the skills it names (水电工 → 电工 and 水管工)."""

    rows: list[SkillRow]
    _terms: dict[str, set[int]] = field(default_factory=dict)
    _by_id: dict[int, SkillRow] = field(default_factory=dict)

    def __post_init__(self):
        for row in self.rows:
            self._by_id[row.id] = row
            for term in (row.name_zh, row.name_en, row.code, *row.synonyms):
                t = _norm(term)
                if t:
                    self._terms.setdefault(t, set()).add(row.id)
        # Longest terms first, so that "电脑维修" wins over a shorter term inside it.
        self._ordered = sorted((t for t in self._terms if len(t) >= 2), key=len, reverse=True)

    @classmethod
    def from_models(cls, skills) -> SkillIndex:
        return cls([SkillRow(s.id, s.code, s.name_zh, s.name_en,
                             tuple((s.synonyms_zh or []) + (s.synonyms_en or [])),
                             s.needs_certificate) for s in skills])

    def get(self, skill_id: int) -> SkillRow | None:
        return self._by_id.get(skill_id)

    def resolve(self, text: str) -> list[int]:
        """Skill ids one piece of text names: an exact name/synonym, else the longest contained."""
        t = _norm(text)
        if not t:
            return []
        if t in self._terms:
            return sorted(self._terms[t])
        for term in self._ordered:
            if term in t and (not term.isascii() or re.search(rf"\b{re.escape(term)}\b", t)):
                return sorted(self._terms[term])
        return []

    def parse(self, text: str) -> tuple[list[int], list[str]]:
        """Split a skills cell ("电工、水电工; 会修电脑") into taxonomy ids and free-text leftovers."""
        ids: list[int] = []
        free: list[str] = []
        for piece in SPLIT_RE.split(text or ""):
            piece = piece.strip()
            if not piece:
                continue
            found = self.resolve(piece)
            if found:
                ids.extend(i for i in found if i not in ids)
            elif piece not in free:
                free.append(piece)
        return ids, free

    def search(self, query: str, limit: int = 20) -> list[SkillRow]:
        """Skills whose name or synonym contains the query (or that the query names)."""
        q = _norm(query)
        if not q:
            return []
        hits: list[int] = []
        for sid in self.resolve(q):
            hits.append(sid)
        for term, ids in self._terms.items():
            if q in term:
                hits.extend(i for i in sorted(ids) if i not in hits)
        return [self._by_id[i] for i in hits[:limit]]
