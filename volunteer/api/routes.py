"""API endpoints of the foundation: the OpenAPI document and the caller's own account."""
from __future__ import annotations

from typing import Literal

from flask import g, jsonify
from pydantic import BaseModel, Field, field_validator

from volunteer.api import bp, fields
from volunteer.api.spec import build_openapi, operation
from volunteer.extensions import db
from volunteer.rules import NAME_MAX


class RoleOut(BaseModel):
    role: str
    scope_type: str | None = None
    scope_code: str | None = None
    scope_name: str | None = None


class MeOut(BaseModel):
    id: int
    name: str
    phone: str | None
    email: str | None
    locale: str | None
    large_text: bool
    roles: list[RoleOut]


def role_out(a) -> RoleOut:
    kind = next((k for k in ("grid", "village", "department", "town", "district")
                 if getattr(a, k) is not None), None)
    scope = getattr(a, kind) if kind else None
    return RoleOut(role=a.role, scope_type=kind, scope_code=scope.code if scope else None,
                   scope_name=scope.name if scope else None)


@operation(bp, "/me", "GET", summary="The account that owns the token", response=MeOut,
           tags=["account"])
def me():
    """Who am I: name, contact and roles with their scope."""
    return me_out(g.api_user)


def me_out(u) -> MeOut:
    return MeOut(id=u.id, name=u.name, phone=u.phone, email=u.email, locale=u.locale,
                 large_text=u.large_text,
                 roles=[role_out(a) for a in u.roles])


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3 document, generated from the schemas the endpoints validate with."""
    return jsonify(build_openapi("/api/v1", "网格志愿 Grid Volunteers API", "1.0"))


class MeUpdate(BaseModel):
    """Fields a user may change on their own account through the API."""

    model_config = {"extra": "forbid"}

    name: str | None = Field(default=None, max_length=NAME_MAX)
    locale: Literal["zh_CN", "en"] | None = None
    large_text: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return fields.name(value)


@operation(bp, "/me", "PATCH", summary="Change one's own name, language or large-text mode",
           body=MeUpdate, response=MeOut, tags=["account"])
def update_me(body: MeUpdate):
    """Update the caller's own account."""
    u = g.api_user
    for key, value in body.model_dump(exclude_none=True).items():
        setattr(u, key, value)
    db.session.commit()
    return me_out(u)
