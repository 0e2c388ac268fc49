"""Conditional GETs for the partner API: a strong ETag over the body, 304 on a match.

Every partner route answers through :func:`conditional_json`: the body is serialized once, its
SHA-256 is the ETag, and a request whose ``If-None-Match`` names that tag gets ``304 Not
Modified`` with no body. A sync client that polls a list or an object re-downloads nothing
that did not change.

Responses depend on the credential (scopes decide what is in them), so they are never
``public``: ``Cache-Control: private, max-age=0, must-revalidate`` lets the client's own cache
keep them and makes it ask again every time; ``Vary: Authorization`` says why.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from pydantic_core import to_json

CACHE_CONTROL = "private, max-age=0, must-revalidate"
JSON = "application/json"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 section 13.1.2: ``*``, or a list of tags compared weakly."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    candidates = (part.strip() for part in if_none_match.split(","))
    return any(candidate.removeprefix("W/") == tag for candidate in candidates)


def conditional_json(
    request: Request, carried: Response, payload: BaseModel | dict[str, Any]
) -> Response:
    """The answer to a partner GET: ``payload`` as JSON, or 304 if the client has it.

    ``payload`` is a model, or the dict a model would dump (pydantic's serializer writes both
    the same bytes). ``carried`` is the request's ``Response`` parameter: headers that
    dependencies set on it (the rate limit's) are copied onto the answer.
    """
    if isinstance(payload, BaseModel):
        body = payload.model_dump_json().encode()
    else:
        body = to_json(payload)
    tag = etag_of(body)
    headers = dict(carried.headers)
    headers.pop("content-length", None)
    headers.update({"ETag": tag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization"})
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=JSON, headers=headers)
