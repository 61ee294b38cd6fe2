"""The matcher in the API: POST /match for any text and place, suggestions for an issue."""
from __future__ import annotations

from flask import g, jsonify
from pydantic import BaseModel, Field, field_validator

from volunteer import policy
from volunteer.api import bp, fields
from volunteer.api.spec import operation, validation_error
from volunteer.extensions import db
from volunteer.invitations.reasons import describe, skill_names
from volunteer.invitations.suggestions import for_issue
from volunteer.issues.models import Issue
from volunteer.issues.services import can_view
from volunteer.matching import slates
from volunteer.matching.matcher import Query
from volunteer.matching.store import get_matcher
from volunteer.skills.models import Skill

MAX_TEXT = 5000


class MatchIn(BaseModel):
    model_config = {"extra": "forbid"}

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    skills: list[str] | None = Field(default=None, max_length=10)
    limit: int = Field(default=10, ge=1, le=100)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        return fields.text(v, multiline=True, required=True)


class VolunteerOut(BaseModel):
    id: int
    name: str
    phone: str | None
    skills: list[str]


class SuggestionOut(BaseModel):
    volunteer: VolunteerOut
    score: float | None = Field(description="The match score; only for volunteers of one's "
                                "own 村居 (elsewhere it would give their home away).")
    distance_m: int | None = Field(description="Metres, to 10 m from the volunteer's home "
                                   "inside one's 村居; elsewhere to 100 m from their grid centre.")
    reasons: list[str]


class InferredSkill(BaseModel):
    code: str
    name: str
    probability: float


class MatchOut(BaseModel):
    skills: list[InferredSkill]
    suggestions: list[SuggestionOut]


def _forbidden():
    return jsonify({"error": "forbidden",
                    "message": "Suggestions are for grid leaders, instructors and admins."}), 403


def _out(result, origin: tuple[float, float]) -> MatchOut:
    names = skill_names([c for c, _p in result.skills])
    return MatchOut(
        skills=[InferredSkill(code=c, name=names.get(c, c), probability=round(p, 3))
                for c, p in result.skills],
        suggestions=[SuggestionOut(volunteer=VolunteerOut(**d["volunteer"]), score=d["score"],
                                   distance_m=d["distance_m"], reasons=d["reasons"])
                     for d in describe(g.api_user, result, origin)])


@operation(bp, "/match", "POST", summary="Rank volunteers for a need described in text at a "
           "place (the list answered is kept as a slate; no phone is revealed)", body=MatchIn, response=MatchOut, tags=["matching"],
           errors=[403])
def match(body: MatchIn):
    """Skills inferred from the text (or given), and the best-placed volunteers with reasons."""
    if not policy.holds(g.api_user, policy.SUGGESTERS):
        return _forbidden()
    if body.skills:
        known = set(db.session.scalars(db.select(Skill.code).where(Skill.code.in_(body.skills))))
        unknown = [c for c in body.skills if c not in known]
        if unknown:
            return validation_error({"skills": f"unknown skill codes: {', '.join(unknown)}"})
    result = get_matcher().match(Query(lat=body.lat, lon=body.lon, text=body.text,
                                       skills=body.skills or None, limit=body.limit))
    exploration = slates.explore(result)
    slates.record(g.api_user, "api_match", result.suggestions, skills=result.skills,
                  exploration=exploration)
    out = _out(result, (body.lat, body.lon))  # before the commit, which expires what was read
    db.session.commit()  # the list answered is on record
    return out


@operation(bp, "/issues/{issue_id}/suggestions", "GET", summary="Suggested volunteers for an "
           "issue", response=MatchOut, tags=["matching"], errors=[403, 404])
def issue_suggestions(issue_id: int):
    """The matcher's ranking for one issue in the token's scope."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or not can_view(g.api_user, issue):
        return jsonify({"error": "not_found", "message": "No such issue in your scope."}), 404
    if not policy.may_see_suggestions(g.api_user, issue):
        return _forbidden()
    result = for_issue(issue)
    exploration = slates.explore(result)
    slates.record(g.api_user, "api_issue", result.suggestions, skills=result.skills,
                  issue=issue, exploration=exploration, urgent=result.urgent)
    out = _out(result, (issue.lat, issue.lon))  # before the commit, which expires what was read
    db.session.commit()  # the list answered is on record
    return out
