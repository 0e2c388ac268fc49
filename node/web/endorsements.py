"""Endorsement pages: the list, one endorsement with who signed, and the admins' answers.

Permissions are the API's (node/endorsements/router.py): every user reads; organizers and
admins propose, open and withdraw this node's endorsements; only admins answer for the node
(sign, decline, withdraw the answer). The verify badge is this node's own check of the
signatures, the same check ``ipo-node verify`` runs on a downloaded bundle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from federation.keys import Keyring
from federation.outbox import travel_of
from node.accounts.models import Role
from node.config import Settings
from node.deps import SessionDep, SettingsDep
from node.endorsements import bundle, repository, service, voting
from node.endorsements.errors import EndorsementClosed
from node.endorsements.models import Endorsement, SignRequest
from node.web.deps import PageAdmin, PageOrganizer, PageUser
from node.web.groups import group_names, when
from node.web.rendering import page_router, redirect, render

router = page_router()

OFFICES = [
    ("alderperson", "Alderperson"), ("mayor", "Mayor"), ("city_clerk", "City clerk"),
    ("city_treasurer", "City treasurer"), ("committeeperson", "Committeeperson"),
    ("state_representative", "State representative"), ("state_senator", "State senator"),
    ("county_commissioner", "County commissioner"), ("congress", "Congress"),
    ("judge", "Judge"), ("other", "Other office"),
]  # fmt: skip
ELECTION_TYPES = ["primary", "general", "runoff", "special"]
STATUS_BADGE = {"ratified": "ok", "collecting": "warn", "draft": "muted", "withdrawn": "bad",
                "expired": "muted"}  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """This node's own check of the signatures, as the badge shows it."""

    tone: str
    label: str
    lines: list[str]


@dataclass(frozen=True)
class SignerRow:
    node: str
    name: str
    state: str  # signed | declined | pending | withdrawn
    at: str
    verified: bool


def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.federation.keyring()
    return keyring


def _named(line: str, names: dict[str, str]) -> str:
    """A report line with its signer's group name in place of the node's address."""
    node, sep, rest = line.partition(": ")
    return f"{names[node]}: {rest}" if sep and node in names else line


async def _verdict(
    session: AsyncSession,
    endorsement: Endorsement,
    *,
    settings: Settings,
    keyring: Keyring,
    names: dict[str, str],
) -> Verdict | None:
    """Build the bundle this node would export and check it the way ``ipo-node verify`` does."""
    try:
        data = await bundle.build_bundle(
            session, endorsement=endorsement, settings=settings, keyring=keyring
        )
    except EndorsementClosed:
        return None  # a draft: nothing signed yet
    report = bundle.check_bundle(json.loads(json.dumps(data)))
    lines = [_named(line.strip(), names) for line in report.lines]
    if report.failed:
        return Verdict("bad", f"Could not verify: {report.failed} signature(s) do not hold", lines)
    if report.ok:
        return Verdict("ok", "Verified by this node: every signature holds, rule met", lines)
    return Verdict(
        "muted",
        f"Not yet ratified: {report.valid} of {report.needed} needed signatures verified "
        "by this node",
        lines,
    )


async def _signer_rows(
    session: AsyncSession, endorsement: Endorsement, *, names: dict[str, str], settings: Settings
) -> list[SignerRow]:
    public = await service.to_public(session, endorsement)
    answers = {s.signer: s for s in public.signatures}
    records = {r.signer: r for r in await repository.signatures(
        session, endorsement_id=endorsement.id)}  # fmt: skip
    withdrawn = await service.withdrawn_signers(session, endorsement=endorsement, settings=settings)
    rows = []
    for node in endorsement.required_signers:
        answer = answers.get(node)
        if answer is not None:
            state = "signed" if answer.decision == "sign" else "declined"
            at, verified = when(records[node].received_at), answer.verified
        else:
            state, at, verified = ("withdrawn" if node in withdrawn else "pending"), "", False
        rows.append(SignerRow(node, names.get(node, node), state, at, verified))
    if endorsement.origin != settings.public_url:
        rows = [await _with_answer_on_its_way(session, endorsement, row) if row.node ==
                settings.public_url else row for row in rows]  # fmt: skip
    return rows


# This node's answer -> (its row once the proposer's copy has it, its row until then).
ON_ITS_WAY = {
    "endorsement.sign": ("signed", "signing"),
    "endorsement.decline": ("declined", "declining"),
    "endorsement.withdraw_signature": ("pending", "withdrawing"),
}


async def _with_answer_on_its_way(
    session: AsyncSession, endorsement: Endorsement, row: SignerRow
) -> SignerRow:
    """This node's row on an ally's endorsement: the proposer's copy, unless this node's own
    latest answer (for the current text) has not come back in it yet, which is then shown as
    on its way rather than as the stale state it replaces."""
    given = [
        entry
        for entry in await repository.answer_history(session, endorsement_id=endorsement.id)
        if entry.action in ON_ITS_WAY
    ]
    if not given:
        return row
    latest = given[-1]
    version = latest.detail.get("content_version", endorsement.content_version)
    expected, travelling = ON_ITS_WAY[latest.action]
    if (
        version != endorsement.content_version
        or row.state == expected
        or (expected == "pending" and row.state == "withdrawn")
    ):
        return row
    return SignerRow(row.node, row.name, travelling, when(latest.at), row.verified)


@router.get("/endorsements", response_class=HTMLResponse)
async def endorsement_list(
    request: Request, principal: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    endorsements = await service.list_endorsements(session, role=principal.role)
    names = await group_names(session, settings=settings)
    items = [await service.to_public(session, e) for e in endorsements]
    return render(request, "endorsements.html", {
        "items": items, "names": names, "badge": STATUS_BADGE, "offices": dict(OFFICES),
        "may_propose": principal.role.includes(Role.organizer),
    })  # fmt: skip


@router.get("/endorsements/{endorsement_id}", response_class=HTMLResponse)
async def endorsement_detail(
    endorsement_id: str,
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    endorsement = await service.get_endorsement(
        session, endorsement_id=endorsement_id, role=principal.role
    )
    public = await service.to_public(session, endorsement)
    names = await group_names(session, settings=settings)
    rows = await _signer_rows(session, endorsement, names=names, settings=settings)
    me = settings.public_url
    mine = next((row for row in rows if row.node == me), None)
    is_admin = principal.role.includes(Role.admin)
    answerable = public.status in ("collecting", "ratified")
    vote = await voting.find_vote(
        session, endorsement=endorsement, user_id=principal.user.id or 0, settings=settings
    )
    # How far this node's latest change has got to its allies, for the host's page.
    travelled = (
        await travel_of(session, object_id=endorsement.object_id)
        if endorsement.origin == me
        else None
    )
    return render(request, "endorsement.html", {
        "travelled": travelled,
        "e": public, "names": names, "rows": rows, "badge": STATUS_BADGE,
        "offices": dict(OFFICES), "when": when,
        "verdict": await _verdict(session, endorsement, settings=settings,
                                  keyring=_keyring(request), names=names),
        "may_answer": is_admin and mine is not None and answerable,
        "my_state": mine.state if mine else None,
        "is_local": endorsement.origin == me,
        "is_organizer": principal.role.includes(Role.organizer),
        "publishable": await service.publishable(session, endorsement, settings=settings),
        "is_admin": is_admin,
        "asked": me in endorsement.required_signers and public.status != "draft",
        "vote": vote,
        "may_open_vote": is_admin and vote is None and voting.may_open(endorsement,
                                                                       settings=settings),
    })  # fmt: skip


@router.get("/endorsements/{endorsement_id}/answer/{decision}", response_class=HTMLResponse)
async def confirm_answer(
    endorsement_id: str,
    decision: Literal["sign", "decline"],
    request: Request,
    principal: PageAdmin,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The confirmation page: the exact text the admin is about to sign or decline."""
    endorsement = await service.get_endorsement(
        session, endorsement_id=endorsement_id, role=principal.role
    )
    public = await service.to_public(session, endorsement)
    names = await group_names(session, settings=settings)
    return render(request, "endorsement_confirm.html", {
        "e": public, "decision": decision, "names": names, "offices": dict(OFFICES),
        "me": settings.name,
    })  # fmt: skip


@router.post("/endorsements/{endorsement_id}/answer/{decision}", response_class=HTMLResponse)
async def answer(
    endorsement_id: str,
    decision: Literal["sign", "decline"],
    request: Request,
    principal: PageAdmin,
    session: SessionDep,
    settings: SettingsDep,
    content_version: Annotated[int, Form()],
) -> Response:
    endorsement = await service.answer(
        session, endorsement_id=endorsement_id, decision=decision,
        data=SignRequest(content_version=content_version), actor=principal.actor,
        settings=settings, keyring=_keyring(request),
    )  # fmt: skip
    done = "signed" if decision == "sign" else "declined"
    where = "" if endorsement.origin == settings.public_url else (
        " It is on its way to the proposing group."
    )  # fmt: skip
    return redirect(f"/endorsements/{endorsement.id}", notice=f"You {done} for {settings.name}."
                    + where)  # fmt: skip


@router.post("/endorsements/{endorsement_id}/signature/withdraw", response_class=HTMLResponse)
async def withdraw_answer(
    endorsement_id: str, principal: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    endorsement = await service.withdraw_signature(
        session, endorsement_id=endorsement_id, actor=principal.actor, settings=settings
    )
    return redirect(
        f"/endorsements/{endorsement.id}", notice=f"{settings.name}'s answer is withdrawn."
    )


@router.post("/endorsements/{endorsement_id}/open", response_class=HTMLResponse)
async def open_for_signatures(
    endorsement_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep
) -> Response:
    endorsement = await service.open_endorsement(
        session, endorsement_id=endorsement_id, actor=principal.actor, settings=settings
    )
    return redirect(f"/endorsements/{endorsement.id}", notice="Sent to the signers.")


@router.post("/endorsements/{endorsement_id}/withdraw", response_class=HTMLResponse)
async def withdraw_endorsement(
    endorsement_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep
) -> Response:
    endorsement = await service.withdraw_endorsement(
        session, endorsement_id=endorsement_id, actor=principal.actor, settings=settings
    )
    return redirect(f"/endorsements/{endorsement.id}", notice="The endorsement is withdrawn.")


@router.post("/endorsements/{endorsement_id}/public", response_class=HTMLResponse)
async def show_publicly(
    endorsement_id: str,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
    is_public: Annotated[bool, Form()],
) -> Response:
    """This node's own choice: on (or off) its public home; nothing is sent to allies."""
    endorsement = await service.set_public(
        session, endorsement_id=endorsement_id, is_public=is_public, role=principal.role,
        actor=principal.actor, settings=settings,
    )  # fmt: skip
    notice = (
        "It is on the public home now."
        if endorsement.is_public
        else "It is no longer on the public home."
    )
    return redirect(f"/endorsements/{endorsement.id}", notice=notice)


@router.get("/endorsements/{endorsement_id}/bundle.json")
async def download_bundle(
    endorsement_id: str,
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The verification bundle as a file (``ipo-node verify FILE`` checks it offline)."""
    endorsement = await service.get_endorsement(
        session, endorsement_id=endorsement_id, role=principal.role
    )
    data = await bundle.build_bundle(
        session, endorsement=endorsement, settings=settings, keyring=_keyring(request)
    )
    return Response(
        json.dumps(data, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="endorsement-{endorsement.id}.json"'
        },
    )
