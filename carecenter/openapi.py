"""What every operation can answer, declared in the OpenAPI document integrators build against.

FastAPI documents each route's success and its 422. The other answers follow from how a route is
built, so they are declared here once, by rule, rather than repeated on eighty routes: a route
behind a login or a device key can answer 401; behind a login, 403 (a role) and, when it names a
record, 404 (missing or another center's); a route that changes something, 409; anything with a
body, 413; every API route, 503 (the database is away; retry). The webhooks and the response
links answer in their own media types.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request

from carecenter.errors import InvalidField

ERROR = {"$ref": "#/components/schemas/ErrorMessage"}
ERROR_SCHEMA = {
    "title": "ErrorMessage",
    "type": "object",
    "properties": {"detail": {"title": "Detail", "type": "string", "description": "In the caller's language"}},
    "required": ["detail"],
}
MEANINGS = {
    "401": "Not logged in, or an unknown or revoked device key",
    "403": "The caller's role may not do this",
    "404": "No such record, or one of another center",
    "409": "The record's state does not allow this (it says why), or a record just saved conflicts",
    "413": "The request body is too large",
    "429": "Too many failed logins; see Retry-After",
    "503": "The database is busy or unavailable; nothing was saved. See Retry-After",
}
ID_QUERY = ("center_id", "center", "resident_id", "worker_id", "worker", "alert_id", "entity_id", "actor_id")
HTML = {"text/html": {"schema": {"type": "string"}}}


def _json_error(code: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": MEANINGS[code], "content": {"application/json": {"schema": ERROR}}}
    if code in ("429", "503"):
        answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}}
    return answer


def _answers(path: str, method: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The answers a route can give besides its success and 422, by the rules above."""
    if path.startswith("/webhooks/"):
        refused = {"403": {"description": "Bad signature", "content": {"text/plain": {"schema": {"type": "string"}}}}}
        if path.endswith("/inbound"):
            twiml = {"application/xml": {"schema": {"type": "string"}}}
            return {"200": {"description": "The TwiML reply", "content": twiml}} | refused
        return {"204": {"description": "Recorded (or nothing to do)"}} | refused
    if path.startswith("/r/"):
        return {
            "200": {"description": "The page", "content": HTML},
            "404": {"description": "Not a valid link", "content": HTML},
            "410": {"description": "The link has expired", "content": HTML},
            "422": {"description": "Not an answer this link offers", "content": HTML},
        }
    if not path.startswith("/api/"):
        return {}
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    names_a_record = any(
        p["in"] == "path" or (p["in"] == "query" and p["name"] in ID_QUERY) for p in operation.get("parameters", [])
    )
    codes = ["503"]
    if schemes:
        codes.append("401")
    if "OAuth2PasswordBearer" in schemes:
        codes.append("403")
        if names_a_record or "requestBody" in operation:
            codes.append("404")
    if method != "get" and schemes:
        codes.append("409")
    if "requestBody" in operation:
        codes.append("413")
    if path == "/api/v1/auth/token":
        codes += ["401", "429"]
    return {code: _json_error(code) for code in codes}


# Whole numbers in a body are 64-bit (the drivers' limit); in a path or a query they name records
# or pages, whose columns are 32-bit on PostgreSQL. The server refuses anything beyond (422).
INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)


def _bound_integers(node: Any, bounds: tuple[int, int] = INT64) -> None:
    """State the range on every integer of the document that states no range of its own."""
    if isinstance(node, dict):
        if node.get("in") in ("path", "query") and "schema" in node:
            _bound_integers(node["schema"], INT32)
        if node.get("type") == "integer":
            if "exclusiveMinimum" not in node:
                node.setdefault("minimum", bounds[0])
            if "exclusiveMaximum" not in node:
                node.setdefault("maximum", bounds[1])
        for value in node.values():
            _bound_integers(value, bounds)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value, bounds)


def integer_params_in_range(request: Request) -> None:
    """A dependency of every route: a whole-number path or query parameter beyond 32 bits is a 422
    naming it (as the document says), on every database, before any query runs."""
    route = request.scope.get("route")
    for name, where in _integer_params(route) if route is not None else ():
        raw = (request.path_params if where == "path" else request.query_params).get(name)
        try:
            number = int(str(raw)) if raw is not None else None
        except ValueError:
            continue  # not a number at all: FastAPI's own validation answers
        if number is not None and not INT32[0] <= number <= INT32[1]:
            raise InvalidField([where, name], "must be between {low} and {high}", low=INT32[0], high=INT32[1])


def _integer_params(route: Any) -> tuple[tuple[str, str], ...]:
    """A route's whole-number path and query parameters, its dependencies' included (a page's
    offset), worked out once per route and kept on it: this runs on every request, check-ins too."""
    known: tuple[tuple[str, str], ...] | None = getattr(route, "_carecenter_integer_params", None)
    if known is not None:
        return known
    pending, found = [route.dependant] if hasattr(route, "dependant") else [], []
    while pending:
        current = pending.pop()
        for where, params in (("path", current.path_params), ("query", current.query_params)):
            found += [(p.alias or p.name, where) for p in params if _is_integer_param(p.field_info.annotation)]
        pending += current.dependencies
    route._carecenter_integer_params = tuple(found)
    return route._carecenter_integer_params  # type: ignore[no-any-return]


def _is_integer_param(annotation: Any) -> bool:
    if annotation is int:
        return True
    return int in getattr(annotation, "__args__", ())


def declare_answers(schema: dict[str, Any]) -> dict[str, Any]:
    """Add every operation's error answers (and the error body) to a FastAPI OpenAPI document."""
    _bound_integers(schema)
    schema.setdefault("components", {}).setdefault("schemas", {})["ErrorMessage"] = ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code, answer in _answers(path, method, operation).items():
                if path.startswith(("/r/", "/webhooks/")) or code not in responses:
                    responses[code] = answer
            if path.startswith("/webhooks/") and "200" in responses and "200" not in _answers(path, method, operation):
                del responses["200"]  # the status callback answers 204
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the OpenAPI document with every operation's answers declared."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_answers(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
