"""The alliances page (admins): offers to answer, allies, former allies, delivery health.

Every button posts to a route here that calls ``node.alliances.service``, the same functions
as the API, so the page can do exactly what ``/api/v1/alliances`` allows and nothing more.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from federation.errors import FederationError
from federation.models import AllianceState
from federation.peers import refusal
from federation.policies import ALL_SCOPES
from federation.runtime import FederationRuntime
from node.alliances import service
from node.alliances.models import AlliancePublic
from node.deps import RowId, SessionDep
from node.errors import NodeError
from node.web.deps import PageAdmin
from node.web.rendering import page_router, redirect, render

router = page_router()

# What each state lets an admin do next, in the order the buttons show.
ACTIONS: dict[AllianceState, tuple[str, ...]] = {
    AllianceState.pending: ("accept", "reject"),
    AllianceState.active: ("suspend", "end"),
    AllianceState.suspended: ("resume", "end"),
    AllianceState.proposed: (),
    AllianceState.ended: (),
}
SCOPE_LABELS = {
    "events": "Events",
    "endorsements": "Joint endorsements",
    "forums": "Forum plans",
    "canvass": "Canvass calls",
}
DONE = {
    "accept": "Alliance with {} accepted: you now share what it covers.",
    "reject": "Offer from {} rejected.",
    "suspend": "Alliance with {} suspended: what you send them waits until you resume it, "
    "and they are told.",
    "resume": "Alliance with {} resumed: what waited goes out now, and they are told.",
    "end": "Alliance with {} ended.",
}
EVENTS = {"accept": "accepted", "reject": "rejected", "suspend": "suspended",
          "resume": "resumed", "end": "ended"}  # fmt: skip


def _runtime(request: Request) -> FederationRuntime:
    runtime: FederationRuntime = request.app.state.federation
    return runtime


def _groups(alliances: list[AlliancePublic]) -> dict[str, list[AlliancePublic]]:
    groups: dict[str, list[AlliancePublic]] = {
        "pending": [],
        "allies": [],
        "proposed": [],
        "ended": [],
    }
    for alliance in alliances:
        if alliance.state is AllianceState.pending:
            groups["pending"].append(alliance)
        elif alliance.state in (AllianceState.active, AllianceState.suspended):
            groups["allies"].append(alliance)
        elif alliance.state is AllianceState.proposed:
            groups["proposed"].append(alliance)
        else:
            groups["ended"].append(alliance)
    return groups


async def _page(
    request: Request,
    session: SessionDep,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    alliances = await service.all_alliances(session)
    settings = request.app.state.settings
    runtime = _runtime(request)
    return render(
        request,
        "alliances.html",
        {
            "own_name": settings.name,
            "own_url": settings.public_url,
            "own_fingerprints": [key.kid for key in runtime.keyring().published()],
            "groups": _groups(alliances),
            "alliances": alliances,
            "actions": ACTIONS,
            "scope_labels": SCOPE_LABELS,
            "all_scopes": ALL_SCOPES,
            "form": form or {"url": "", "scopes": list(ALL_SCOPES), "message": ""},
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/alliances")
async def alliances_page(
    request: Request, principal: PageAdmin, session: SessionDep
) -> HTMLResponse:
    del principal
    return await _page(request, session)


@router.post("/alliances")
async def propose(
    request: Request,
    principal: PageAdmin,
    session: SessionDep,
    url: Annotated[str, Form()] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    message: Annotated[str, Form()] = "",
) -> Response:
    """Offer an alliance; a node that cannot be reached is explained on the same page."""
    form = {"url": url, "scopes": scopes or [], "message": message}
    if not url.strip():
        return await _page(
            request, session, form=form, error="Enter the other node's address.", status_code=422
        )
    try:
        peer = await service.propose(
            session,
            _runtime(request),
            url=url.strip(),
            scopes=scopes or [],
            message=message.strip() or None,
            actor=principal.actor,
        )
    except (FederationError, NodeError) as exc:
        status = exc.status_code if 400 <= exc.status_code < 600 else 400
        return await _page(request, session, form=form, error=exc.message, status_code=status)
    if peer.state is AllianceState.active:
        return redirect("/alliances", notice=f"{peer.name} had offered an alliance: now active.")
    return redirect("/alliances", notice=f"Alliance offered to {peer.name}; waiting for them.")


@router.post("/alliances/{peer_id}/retry")
async def retry(
    request: Request, peer_id: RowId, principal: PageAdmin, session: SessionDep
) -> Response:
    peer = await service.find_peer(session, ref=str(peer_id))
    requeued = await service.retry_now(
        session, _runtime(request), ref=str(peer_id), actor=principal.actor
    )
    return redirect(
        "/alliances",
        notice=f"Sending to {peer.name} again now ({requeued} failed deliveries requeued).",
    )


@router.post("/alliances/{peer_id}/{action}")
async def act(
    request: Request, peer_id: RowId, action: str, principal: PageAdmin, session: SessionDep
) -> Response:
    peer = await service.find_peer(session, ref=str(peer_id))
    if action not in ACTIONS[peer.state]:
        why = refusal(peer.state, EVENTS.get(action, action)).replace("that node", peer.name)
        return await _page(request, session, error=why, status_code=409)
    await service.act(
        session, _runtime(request), ref=str(peer_id), action=action, actor=principal.actor
    )
    return redirect("/alliances", notice=DONE[action].format(peer.name))
