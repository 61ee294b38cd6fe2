"""Volunteers in the JSON API: the explicit, logged reveal of one volunteer's phone."""
from __future__ import annotations

from flask import g, jsonify
from pydantic import BaseModel, Field, field_validator

from volunteer import policy
from volunteer.api import bp, fields
from volunteer.api.spec import operation
from volunteer.extensions import db
from volunteer.volunteers.models import VolunteerProfile
from volunteer.volunteers.services import RegistryError, reveal_phone, reveals_today


class RevealIn(BaseModel):
    model_config = {"extra": "forbid"}

    reason: str = Field(min_length=1, max_length=200, description="Why the number is needed "
                        "(written to the contact view log).")

    @field_validator("reason")
    @classmethod
    def _plain(cls, v: str) -> str:
        return fields.text(v, max_len=200, required=True)


class ContactOut(BaseModel):
    id: int
    name: str
    phone: str
    reveals_left_today: int


@operation(bp, "/volunteers/{user_id}/contact", "POST", summary="Reveal a volunteer's full "
           "phone, for a reason (logged; limited per day)", body=RevealIn, response=ContactOut,
           tags=["volunteers"], errors=[404],
           raises=((RegistryError, ("not_allowed", "too_many_reveals")),))
def reveal_contact(user_id: int, body: RevealIn):
    """Registry keepers of the volunteer's 村居 (and the town admin) reveal a phone that lists
    show masked; each reveal is written to the contact view log with its reason."""
    user = g.api_user
    profile = db.session.scalar(db.select(VolunteerProfile).where(
        VolunteerProfile.user_id == user_id))
    # A volunteer whose phone one may not reveal answers as one who does not exist, so that the
    # endpoint does not tell which ids are volunteers.
    if profile is None or profile.user.deleted_at is not None \
            or policy.phone_shown(user, profile, "detail") not in (policy.Phone.REVEAL,
                                                                    policy.Phone.FULL):
        return jsonify({"error": "not_found", "message": "No such volunteer in your scope."}), 404
    phone = reveal_phone(user, profile, body.reason)  # RegistryError: 429 past the day's limit
    db.session.commit()
    return ContactOut(id=profile.user_id, name=profile.user.name, phone=phone,
                      reveals_left_today=max(0, policy.REVEALS_PER_DAY - reveals_today(user)))
