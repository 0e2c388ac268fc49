"""The partner API's own OpenAPI 3.1 document and its docs page.

``GET /api/v1/partner/openapi.json`` holds only what a partner can call: the
``/api/v1/partner/...`` routes and ``POST /oauth/token``. ``GET /api/v1/partner/docs`` renders
it with ReDoc, from the bundle the node serves itself (``node.web.api_docs``). Documented
errors, each with an example, are defined here once and attached to every route.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

import fastapi.routing
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute

from node import __version__
from node.errors import ErrorResponse
from node.web.api_docs import redoc_page

PREFIX = "/api/v1/partner"
OAUTH_PATHS = ("/oauth/token",)

DESCRIPTION = """\
Read the coalition's shared work from this node: organizations, events, candidate forums,
joint endorsements (with their signatures and verification bundles) and cross-ward canvass
calls. Field names follow OSDI, Action Network and Mobilize. No member's or volunteer's
personal data is ever served: no sign-ups, names, handles or contacts.

**Getting a token.** The node's admin registers your client (`ipo-node partners add`) and gives
you a `client_id`, a `client_secret` and the scopes you may use (`events:read`,
`forums:read`, `endorsements:read`, `canvass:read`, `organizations:read`). Exchange them for a
short-lived access token with the OAuth2 client-credentials grant:

    curl -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials https://node/oauth/token

and send it as `Authorization: Bearer <access_token>`. Ask for a new one when it expires (401).

**What you see.** This node's objects and its allies' copies that are `public` or `coalition`,
within your scopes; of a former ally's copies, only the `public` ones; never `private`.

**Paging and sync.** Lists return `{items, next_cursor, next}`; follow `next` until it is null
(`limit` 1 to 200, default 50). Lists are always ordered by `modified_date`, then `id`: keep
the last `modified_date` you saw and pass it as `updated_since` next time. Deletions come from
`GET /api/v1/partner/deleted?since=...`.

**Caching.** Every answer carries a strong `ETag`; send it back in `If-None-Match` and an
unchanged answer is `304 Not Modified` with no body. `Cache-Control` is `private`: answers
depend on your credential.

**Rate limits.** Each client has a request budget (a token bucket; the node's admin sets the
rate). Answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; past the
budget you get 429 with `Retry-After` (seconds): wait that long.

**Errors** all have one shape: `{"error": {"code", "message", "details"}}`.
"""


def _error(status: int, description: str, code: str, message: str, **headers: str) -> Any:
    example = {"error": {"code": code, "message": message, "details": []}}
    entry: dict[str, Any] = {
        "model": ErrorResponse,
        "description": description,
        "content": {"application/json": {"example": example}},
    }
    if headers:
        entry["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return entry


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error(
        401,
        "No token, or an invalid, expired or revoked one.",
        "not_authenticated",
        "Send an access token from POST /oauth/token as `Authorization: Bearer <token>`.",
        **{"WWW-Authenticate": 'Bearer realm="ipo-node" (with error="invalid_token")'},
    ),
    403: _error(
        403,
        "The token lacks the scope this route needs.",
        "insufficient_scope",
        "This needs the events:read scope, which this token does not hold.",
    ),
    422: _error(
        422,
        "A query parameter is not valid; `details` says which.",
        "validation_failed",
        "limit (query): Use a number no larger than 200.",
    ),
    429: _error(
        429,
        "Over this client's request budget.",
        "rate_limited",
        "Too many requests from this client; try again in 2 s.",
        **{"Retry-After": "Seconds to wait before trying again."},
    ),
}


def not_found(kind: str) -> dict[int | str, dict[str, Any]]:
    return {
        404: _error(
            404,
            f"No such {kind} for this client: missing, private, or outside its scopes.",
            "not_found",
            f"No {kind} with that id for this client.",
        )
    }


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` tag is current. No body."}
}


def ok(example: Any, description: str = "The answer.") -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {"application/json": {"example": example}},
            "headers": {
                "ETag": {"description": "Strong tag of the body.", "schema": {"type": "string"}}
            },
        }
    }


def page_example(item: Any) -> dict[str, Any]:
    cursor = "WyIyMDI2LTAzLTAxVDE4OjAwOjAwKzAwOjAwIiwiNWYwYyJd"
    return {
        "items": [item],
        "next_cursor": cursor,
        "next": f"https://33wf.example{PREFIX}/events?limit=1&cursor={cursor}",
    }


def error_body(code: str, message: str, loc: Sequence[str | int] | None = None) -> dict[str, Any]:
    """An answer in the node's one error shape (``details`` names the field, if one)."""
    details = [{"loc": list(loc), "msg": message}] if loc else []
    return {"error": {"code": code, "message": message, "details": details}}


def errors(
    status: int, description: str, examples: dict[str, tuple[str, dict[str, Any]]], **headers: str
) -> dict[int | str, dict[str, Any]]:
    """A documented error with several named examples: ``{name: (summary, error_body(...))}``."""
    entry: dict[str, Any] = {
        "model": ErrorResponse,
        "description": description,
        "content": {
            "application/json": {
                "examples": {
                    name: {"summary": summary, "value": value}
                    for name, (summary, value) in examples.items()
                }
            }
        },
    }
    if headers:
        entry["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return {status: entry}


def answer(status: int, example: Any, description: str) -> dict[int | str, dict[str, Any]]:
    """A success answer with its example, for routes without an ``ETag`` (unlike ``ok``)."""
    return {
        status: {"description": description, "content": {"application/json": {"example": example}}}
    }


# What a route can answer whatever it is, for the routes outside the read API (webhooks, whoami).
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: ERRORS[401], 429: ERRORS[429]}

# Statuses of the node-wide ``responses=`` that some partner operations can never answer.
_BODY_ONLY = "413"  # the body size limit: only where there is a body
_VALIDATION = "422"  # only where a parameter or the body can be invalid
OAUTH_STATUSES = frozenset({"200", "400", "401"})  # the token endpoint answers nothing else


def _can_fail_validation(operation: dict[str, Any]) -> bool:
    """A body, or a parameter other than an unconstrained string in the path."""
    if "requestBody" in operation:
        return True
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "path" or set(parameter.get("schema", {})) - {"type", "title"}:
            return True
    return False


def _prune(path: str, operation: dict[str, Any]) -> None:
    """Drop the error statuses the node-wide ``responses=`` gives an operation it can never
    answer (413 without a body, 422 with nothing to validate, anything but the OAuth2
    statuses on the token endpoint)."""
    responses: dict[str, Any] = operation.get("responses", {})
    for status in list(responses):
        if path in OAUTH_PATHS:
            drop = status not in OAUTH_STATUSES
        elif status == _BODY_ONLY:
            drop = "requestBody" not in operation
        else:
            drop = status == _VALIDATION and not _can_fail_validation(operation)
        if drop:
            del responses[status]


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """The app's API routes, each with ``path_format``, ``methods`` and ``responses``.

    FastAPI from 0.16x keeps included routers nested in ``app.routes`` and flattens them with
    ``iter_route_contexts``; older versions list the routes themselves.
    """
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    for route in contexts(app.routes) if contexts is not None else app.routes:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def _restore_examples(app: FastAPI, paths: dict[str, Any]) -> None:
    """Put back the examples exactly as the routes declare them.

    FastAPI renders its document with ``exclude_none``, which also drops every ``null`` field
    of an example: a partner would read an answer without ``disabled_at`` or ``deadline``.
    """
    for route in _api_routes(app):
        if route.path_format not in paths:
            continue
        for method in route.methods:
            documented = paths[route.path_format].get(method.lower(), {}).get("responses", {})
            for status, response in route.responses.items():
                for media, content in response.get("content", {}).items():
                    target = documented.get(str(status), {}).get("content", {}).get(media)
                    for key in ("example", "examples"):
                        if target is not None and key in content:
                            target[key] = copy.deepcopy(content[key])


def _partner_paths(app: FastAPI, full: dict[str, Any]) -> dict[str, Any]:
    """The partner paths of the node's document, copied (the node's own stays whole), pruned."""
    paths = {
        path: copy.deepcopy(item)
        for path, item in full["paths"].items()
        if path.startswith(f"{PREFIX}/") or path in OAUTH_PATHS
    }
    _restore_examples(app, paths)
    for path, item in paths.items():
        for operation in item.values():
            _prune(path, operation)
    return paths


TAGS = [
    {"name": "partner", "description": "Read the coalition's shared work."},
    {"name": "partner API", "description": "Get an access token; check what it allows."},
    {"name": "webhooks", "description": "Be told when shared work changes (Standard Webhooks)."},
]


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def _used_schemas(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The component schemas the partner paths reach, directly or through other schemas."""
    wanted, todo = set(), _refs(paths)
    while todo:
        name = todo.pop()
        if name in wanted or name not in schemas:
            continue
        wanted.add(name)
        todo |= _refs(schemas[name])
    return {name: schemas[name] for name in sorted(wanted)}


def partner_openapi(app: FastAPI) -> dict[str, Any]:
    """The partner document: the node's own OpenAPI 3.1 document cut down to the partner
    paths and the components they use; built once per app."""
    cached: dict[str, Any] | None = getattr(app.state, "partner_openapi", None)
    if cached is None:
        full = app.openapi()
        paths = _partner_paths(app, full)
        components = full.get("components", {})
        cached = {
            "openapi": full["openapi"],
            "info": {
                "title": f"{app.title}: partner API",
                "version": __version__,
                "summary": "Read the coalition's shared work, and be told when it changes.",
                "description": DESCRIPTION,
            },
            "tags": TAGS,
            "paths": paths,
            "components": {
                "schemas": _used_schemas(paths, components.get("schemas", {})),
                "securitySchemes": components.get("securitySchemes", {}),
            },
        }
        app.state.partner_openapi = cached
    return cached


docs = APIRouter(prefix=PREFIX, include_in_schema=False)


@docs.get("/openapi.json")
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(partner_openapi(request.app))


@docs.get("/docs")
async def docs_page(request: Request) -> HTMLResponse:
    return redoc_page(
        openapi_url=f"{PREFIX}/openapi.json", title=f"{request.app.title}: partner API"
    )
