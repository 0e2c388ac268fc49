"""The partners page (admins): partner API clients, registering one, revoking one, and
the webhook subscriptions partners made (with why any was disabled).

A new client's secret is shown on the page that answers the registration, once: it is not
stored (only its hash is), so it cannot be shown again, and the answer is not cached.
"""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from node.deps import SessionDep
from node.errors import InvalidInput
from node.partners import service
from node.partners.models import PartnerClientCreate, PartnerClientCreated, PartnerScope
from node.web.deps import PageAdmin
from node.web.rendering import field_errors, page_router, redirect, render
from node.webhooks import service as webhooks

router = page_router()

SCOPES: tuple[str, ...] = typing.get_args(PartnerScope)
SCOPE_HINTS = {
    "events:read": "public and coalition events",
    "forums:read": "forum plans",
    "endorsements:read": "ratified joint endorsements",
    "canvass:read": "canvass calls and shift counts",
    "organizations:read": "this group and its allies",
    "webhooks:manage": "subscribe to signed webhooks",
}


async def _page(
    request: Request,
    session: SessionDep,
    *,
    created: PartnerClientCreated | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    clients = [service.public(client) for client in await service.list_clients(session)]
    names = {client.client_id: client.name for client in clients}
    subscriptions = [
        (names.get(sub.client_id, sub.client_id), webhooks.public(sub))
        for sub in await webhooks.list_subscriptions(session, client_id=None)
    ]
    response = render(
        request,
        "partners.html",
        {
            "clients": clients,
            "subscriptions": subscriptions,
            "created": created,
            "scopes": SCOPES,
            "scope_hints": SCOPE_HINTS,
            "form": form or {"name": "", "contact": "", "scopes": [], "expires_on": ""},
            "errors": errors or {},
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/partners")
async def partners_page(request: Request, principal: PageAdmin, session: SessionDep) -> Response:
    del principal
    return await _page(request, session)


@router.post("/partners")
async def register(
    request: Request,
    principal: PageAdmin,
    session: SessionDep,
    name: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    expires_on: Annotated[str, Form()] = "",
) -> Response:
    form = {"name": name, "contact": contact, "scopes": scopes or [], "expires_on": expires_on}
    try:
        expires_at = (
            datetime.strptime(expires_on, "%Y-%m-%d").replace(tzinfo=UTC) if expires_on else None
        )
        data = PartnerClientCreate.model_validate(
            {"name": name, "contact": contact, "scopes": scopes or [], "expires_at": expires_at}
        )
        created = await service.register_client(session, data=data, actor=principal.actor)
    except ValidationError as exc:
        errors = field_errors(exc)
        return await _page(request, session, form=form, errors=errors, status_code=422)
    except InvalidInput as exc:
        errors = {"expires_on": exc.message}
        return await _page(request, session, form=form, errors=errors, status_code=422)
    except ValueError:
        errors = {"expires_on": "Give a date like 2027-06-30."}
        return await _page(request, session, form=form, errors=errors, status_code=422)
    return await _page(request, session, created=created, status_code=201)


@router.post("/partners/{client_id}/revoke")
async def revoke(client_id: str, principal: PageAdmin, session: SessionDep) -> Response:
    client = await service.revoke_client(session, client_id=client_id, actor=principal.actor)
    return redirect("/partners", notice=f"{client.name} revoked: its credentials stopped working.")
