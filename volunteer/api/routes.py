"""API endpoints of the foundation: the OpenAPI document and the caller's own account."""
from __future__ import annotations

from flask import g, jsonify
from pydantic import BaseModel

from volunteer.api import bp
from volunteer.api.spec import build_openapi, operation


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
    roles: list[RoleOut]


def role_out(a) -> RoleOut:
    scope = a.grid or a.village or a.department
    kind = "grid" if a.grid else "village" if a.village else "department" if a.department else None
    return RoleOut(role=a.role, scope_type=kind, scope_code=scope.code if scope else None,
                   scope_name=scope.name if scope else None)


@operation(bp, "/me", "GET", summary="The account that owns the token", response=MeOut,
           tags=["account"])
def me():
    """Who am I: name, contact and roles with their scope."""
    u = g.api_user
    return MeOut(id=u.id, name=u.name, phone=u.phone, email=u.email, locale=u.locale,
                 roles=[role_out(a) for a in u.roles])


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3 document, generated from the schemas the endpoints validate with."""
    return jsonify(build_openapi("/api/v1", "网格志愿 Grid Volunteers API", "1.0"))
