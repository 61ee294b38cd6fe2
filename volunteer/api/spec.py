"""Declare API operations with pydantic models; the same models validate and build the OpenAPI.

    @operation(bp, "/things", "POST", body=ThingIn, response=ThingOut, summary="Create a thing")
    def create_thing(body: ThingIn): ...

The decorated view gets the validated ``body`` (and ``query``) as keyword arguments. A request
that does not fit gets 422 with field errors; nothing else runs. ``raises`` names the
DomainError classes a view may raise: the document lists their codes under their statuses
(the handler in ``api/errors.py`` answers them), and every code of the application in
``x-error-codes``, both from the DomainError registry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import force_locale
from pydantic import BaseModel, ValidationError

from volunteer.errors import API_LOCALE, Conflict, error_table

OPENAPI_VERSION = "3.1.0"


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    tags: list[str]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    errors: list[int] = field(default_factory=list)
    raises: tuple = ()  # DomainError classes, or (class, codes)


OPERATIONS: list[Operation] = []


def field_errors(exc: ValidationError) -> dict[str, str]:
    """pydantic errors as {"field.path": "message"}."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        out.setdefault(loc, err["msg"])
    return out


def validation_error(fields: dict[str, str], message: str = "The request has invalid fields."):
    return jsonify({"error": "validation_failed", "message": message, "fields": fields}), 422


#: How deep a request body may nest; our bodies need three levels.
MAX_JSON_DEPTH = 20
_TOO_DEEP = object()


def json_body():
    """The request's JSON body; None when it is not JSON; ``_TOO_DEEP`` when it nests deeper
    than ``MAX_JSON_DEPTH`` (the parser itself gives up, with a RecursionError, near 1,000)."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        return _TOO_DEEP
    return _TOO_DEEP if _depth(data) > MAX_JSON_DEPTH else data


def _depth(data) -> int:
    """How deep lists and objects nest in ``data`` (counted without recursion)."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                break
            items = value.values() if isinstance(value, dict) else value
            stack.extend((v, level + 1) for v in items)
    return deepest


def operation(bp: Blueprint, path: str, method: str = "GET", *, summary: str,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, status: int = 200, auth: bool = True,
              tags: list[str] | None = None, errors: list[int] | None = None,
              raises: tuple = ()):
    """Register a view as an API operation (route + validation + OpenAPI entry)."""
    op = Operation(path, method.upper(), summary, tags or [], body, query, response, status, auth,
                   errors or [], tuple(raises))
    OPERATIONS.append(op)
    rule = _flask_rule(path)

    def decorator(view):
        @wraps(view)
        def wrapped(**kwargs):
            if body is not None:
                data = json_body()
                if data is _TOO_DEEP:
                    return jsonify({"error": "bad_request", "message": "The JSON body is nested "
                                    f"deeper than {MAX_JSON_DEPTH} levels."}), 400
                if data is None:
                    return validation_error({"body": "A JSON object is required."})
                try:
                    kwargs["body"] = body.model_validate(data)
                except ValidationError as exc:
                    return validation_error(field_errors(exc))
            if query is not None:
                try:
                    kwargs["query"] = query.model_validate(request.args.to_dict())
                except ValidationError as exc:
                    return validation_error(field_errors(exc))
            result = view(**kwargs)
            if isinstance(result, BaseModel):
                return jsonify(result.model_dump(mode="json")), status
            return result

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapped, methods=[op.method])
        return wrapped
    return decorator


def _flask_rule(path: str) -> str:
    """/issues/{id} → /issues/<int:id> (ids are integers throughout the API)."""
    import re

    return re.sub(r"\{(\w+)\}", r"<int:\1>", path)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "A stable code: those of refusals are "
                  "listed with their status in the document's x-error-codes."},
        "message": {"type": "string", "description": "The code in words (English)."},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "The input at fault, with the message for it."},
    },
}
_ERROR_TEXT = {400: "Bad request", 401: "Missing or invalid bearer token", 403: "Not allowed",
               404: "Not found or outside your scope", 409: "Refused in the current state",
               422: "Invalid fields", 429: "Too many requests"}


def _codes_by_status(raises) -> dict[int, dict[str, str]]:
    """{status: {code: English message}} of ``raises``: DomainError classes, or (class, codes)
    for a view that meets only some of a class's codes."""
    out: dict[int, dict[str, str]] = {}
    with force_locale(API_LOCALE):
        for item in raises:
            cls, codes = item if isinstance(item, tuple) else (item, None)
            for code, text in cls.messages.items():
                if codes is None or code in codes:
                    out.setdefault(cls.status_of(code), {})[code] = str(text)
    return out


def _error_response(status: int, codes: dict[str, str]) -> dict[str, Any]:
    """An error response; with the DomainError codes it may carry as examples."""
    media: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/Error"}}
    if codes:
        media["examples"] = {code: {"summary": text, "value": {
            "error": code, "message": text, "fields": {}}} for code, text in sorted(codes.items())}
    return {"description": _ERROR_TEXT.get(status, "Error"),
            "content": {"application/json": media}}


def build_openapi(base_path: str, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI document for every registered operation."""
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def ref(model: type[BaseModel], mode: str) -> dict[str, str]:
        schema = model.model_json_schema(mode=mode, ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas.setdefault(model.__name__, schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        entry: dict[str, Any] = {"summary": op.summary, "operationId": _op_id(op),
                                 "tags": op.tags, "responses": {}}
        params = [{"name": n, "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}
                  for n in _path_params(op.path)]
        if op.query is not None:
            qs = op.query.model_json_schema()
            for name, prop in qs.get("properties", {}).items():
                params.append({"name": name, "in": "query",
                               "required": name in qs.get("required", []),
                               "schema": _query_schema(prop)})
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": ref(op.body, "validation")}}}
        ok: dict[str, Any] = {"description": "OK"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": ref(op.response, "serialization")}}
        entry["responses"][str(op.status)] = ok
        domain = _codes_by_status(op.raises + ((Conflict,) if op.raises else ()))
        statuses = set(op.errors) | set(domain) | ({401, 429} if op.auth else set())
        if op.body is not None or op.query is not None:
            statuses.add(422)
        if op.body is not None:
            statuses.add(400)  # a body nested too deeply
        for st in sorted(statuses):
            entry["responses"][str(st)] = _error_response(st, domain.get(st, {}))
        if op.auth:
            entry["security"] = [{"bearerAuth": []}]
        else:
            entry["security"] = []
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "servers": [{"url": base_path}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"}}},
        # Every refusal of the application: its code, HTTP status and English message.
        "x-error-codes": error_table(),
    }


def _query_schema(prop: dict) -> dict:
    """A query parameter's schema: no title, and no "null" (a query string cannot say null)."""
    schema = {k: v for k, v in prop.items() if k not in ("title", "default")}
    options = [o for o in schema.pop("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    if prop.get("default") is not None:
        schema["default"] = prop["default"]
    return schema


def _path_params(path: str) -> list[str]:
    import re

    return re.findall(r"\{(\w+)\}", path)


def _op_id(op: Operation) -> str:
    import re

    words = re.sub(r"[{}]", "", op.path).strip("/").replace("/", "_") or "root"
    return f"{op.method.lower()}_{words}"
