"""HTTP routes of the endorsements domain.

Organizers and admins propose, edit, open and withdraw; admins answer for the node (sign,
decline, withdraw the answer) and run the member vote; every user may read and vote.
Anonymous callers and partner clients get nothing here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from federation.keys import Keyring
from node.deps import AdminUser, CurrentUser, OrganizerUser, SessionDep, SettingsDep
from node.endorsements import bundle, service, voting
from node.endorsements.models import (
    BallotCast,
    EndorsementCreate,
    EndorsementPublic,
    EndorsementUpdate,
    PublicFaceChange,
    SignRequest,
    VoteOpen,
    VotePublic,
)
from node.errors import ERROR_RESPONSES, ErrorResponse

router = APIRouter(prefix="/api/v1/endorsements", tags=["endorsements"], responses=ERROR_RESPONSES)

Responses = dict[int | str, dict[str, Any]]
ERRORS: Responses = {
    403: {"model": ErrorResponse, "description": "Role too low, or not a required signer."},
    404: {"model": ErrorResponse, "description": "No such endorsement (`endorsement_not_found`)."},
    409: {
        "model": ErrorResponse,
        "description": "Wrong state (`endorsement_closed`), another node's endorsement "
        "(`endorsement_not_local`), a stale text (`wrong_content_version`), the member "
        "vote (`vote_conflict`), or one that cannot go public (`endorsement_not_publishable`).",
    },
    422: {"model": ErrorResponse, "description": "Invalid content (`invalid_endorsement`)."},
}


class EndorsementList(BaseModel):
    items: list[EndorsementPublic]


def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.federation.keyring()
    return keyring


@router.post("", response_model=EndorsementPublic, status_code=201, responses=ERRORS)
async def propose(
    body: EndorsementCreate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> EndorsementPublic:
    """Draft an endorsement (organizers and admins). It stays on this node until opened.

    `required_signers` are node ids of active allies sharing `endorsements` (this node's own
    id may be one). `rule` is `{"kind": "all"}` or `{"kind": "at_least", "threshold": K}`.
    """
    endorsement = await service.create_endorsement(
        session, data=body, actor=principal.actor, settings=settings
    )
    response.headers["Location"] = f"{router.prefix}/{endorsement.id}"
    return await service.to_public(session, endorsement)


@router.get("", response_model=EndorsementList)
async def list_endorsements(principal: CurrentUser, session: SessionDep) -> EndorsementList:
    """This node's proposals and those it was asked to sign, newest change first (drafts
    for organizers and admins only)."""
    endorsements = await service.list_endorsements(session, role=principal.role)
    return EndorsementList(items=[await service.to_public(session, e) for e in endorsements])


@router.get("/{endorsement_id}", response_model=EndorsementPublic, responses=ERRORS)
async def get_endorsement(
    endorsement_id: str, principal: CurrentUser, session: SessionDep
) -> EndorsementPublic:
    """The exact text, its content version (what an admin signs), and every answer."""
    endorsement = await service.get_endorsement(
        session, endorsement_id=endorsement_id, role=principal.role
    )
    return await service.to_public(session, endorsement)


@router.patch("/{endorsement_id}", response_model=EndorsementPublic, responses=ERRORS)
async def edit(
    endorsement_id: str,
    body: EndorsementUpdate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> EndorsementPublic:
    """Change the content (proposer's organizers and admins). Once open, this voids every
    signature and returns it to `collecting`."""
    endorsement = await service.update_endorsement(
        session, endorsement_id=endorsement_id, data=body, actor=principal.actor, settings=settings
    )
    return await service.to_public(session, endorsement)


@router.post("/{endorsement_id}/open", response_model=EndorsementPublic, responses=ERRORS)
async def open_for_signatures(
    endorsement_id: str, principal: OrganizerUser, session: SessionDep, settings: SettingsDep
) -> EndorsementPublic:
    """Send the draft to its required signers."""
    endorsement = await service.open_endorsement(
        session, endorsement_id=endorsement_id, actor=principal.actor, settings=settings
    )
    return await service.to_public(session, endorsement)


@router.post("/{endorsement_id}/withdraw", response_model=EndorsementPublic, responses=ERRORS)
async def withdraw(
    endorsement_id: str, principal: OrganizerUser, session: SessionDep, settings: SettingsDep
) -> EndorsementPublic:
    """The proposer withdraws the endorsement (final)."""
    endorsement = await service.withdraw_endorsement(
        session, endorsement_id=endorsement_id, actor=principal.actor, settings=settings
    )
    return await service.to_public(session, endorsement)


@router.put("/{endorsement_id}/public", response_model=EndorsementPublic, responses=ERRORS)
async def show_publicly(
    endorsement_id: str,
    body: PublicFaceChange,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> EndorsementPublic:
    """Show a ratified endorsement on this node's public home, or take it off (organizers
    and admins). This node's own choice: nothing is sent to allies. Only an endorsement this
    node proposed or signed can be shown (`endorsement_not_publishable` otherwise); an edit of
    its text takes it off until someone shows it again."""
    endorsement = await service.set_public(
        session, endorsement_id=endorsement_id, is_public=body.is_public,
        role=principal.role, actor=principal.actor, settings=settings,
    )  # fmt: skip
    return await service.to_public(session, endorsement)


@router.post("/{endorsement_id}/sign", response_model=EndorsementPublic, responses=ERRORS)
async def sign(
    endorsement_id: str,
    body: SignRequest,
    principal: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> EndorsementPublic:
    """Sign the content version you read, with this node's key (admins)."""
    endorsement = await service.answer(
        session, endorsement_id=endorsement_id, decision="sign", data=body,
        actor=principal.actor, settings=settings, keyring=_keyring(request),
    )  # fmt: skip
    return await service.to_public(session, endorsement)


@router.post("/{endorsement_id}/decline", response_model=EndorsementPublic, responses=ERRORS)
async def decline(
    endorsement_id: str,
    body: SignRequest,
    principal: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> EndorsementPublic:
    """Decline the content version you read (admins); the decline is signed too."""
    endorsement = await service.answer(
        session, endorsement_id=endorsement_id, decision="decline", data=body,
        actor=principal.actor, settings=settings, keyring=_keyring(request),
    )  # fmt: skip
    return await service.to_public(session, endorsement)


@router.post(
    "/{endorsement_id}/signature/withdraw", response_model=EndorsementPublic, responses=ERRORS
)
async def withdraw_signature(
    endorsement_id: str, principal: AdminUser, session: SessionDep, settings: SettingsDep
) -> EndorsementPublic:
    """Take back this node's answer (admins); the proposer is told with `Undo`."""
    endorsement = await service.withdraw_signature(
        session, endorsement_id=endorsement_id, actor=principal.actor, settings=settings
    )
    return await service.to_public(session, endorsement)


@router.get("/{endorsement_id}/bundle", responses=ERRORS)
async def get_bundle(
    endorsement_id: str,
    principal: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    """A self-contained JSON bundle: the endorsement, its signatures and the signers' public
    keys as this node holds them. Check it offline with `ipo-node verify FILE`."""
    endorsement = await service.get_endorsement(
        session, endorsement_id=endorsement_id, role=principal.role
    )
    return await bundle.build_bundle(
        session, endorsement=endorsement, settings=settings, keyring=_keyring(request)
    )


# ---- the member vote ------------------------------------------------------------------------


@router.post("/{endorsement_id}/vote", response_model=VotePublic, status_code=201,
             responses=ERRORS)  # fmt: skip
async def open_vote(
    endorsement_id: str,
    body: VoteOpen,
    principal: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
) -> VotePublic:
    """Open a member vote on the current text (admins). Every active user may vote once."""
    vote = await voting.open_vote(
        session, endorsement_id=endorsement_id, data=body, actor=principal.actor, settings=settings
    )
    return await voting.to_public(session, vote, user_id=principal.user.id or 0)


@router.get("/{endorsement_id}/vote", response_model=VotePublic, responses=ERRORS)
async def get_vote(
    endorsement_id: str, principal: CurrentUser, session: SessionDep, settings: SettingsDep
) -> VotePublic:
    """The vote on the current text; counts only once it is closed."""
    user_id = principal.user.id or 0
    vote = await voting.get_vote(
        session, endorsement_id=endorsement_id, user_id=user_id, settings=settings
    )
    return await voting.to_public(session, vote, user_id=user_id)


@router.post("/{endorsement_id}/vote/ballot", status_code=204, responses=ERRORS)
async def cast_ballot(
    endorsement_id: str,
    body: BallotCast,
    principal: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> None:
    """Vote yes, no or abstain, once. Nobody can see how you voted, the admins included."""
    await voting.cast_ballot(
        session,
        endorsement_id=endorsement_id,
        user_id=principal.user.id or 0,
        choice=body.choice,
        settings=settings,
    )


@router.post("/{endorsement_id}/vote/close", response_model=VotePublic, responses=ERRORS)
async def close_vote(
    endorsement_id: str, principal: AdminUser, session: SessionDep, settings: SettingsDep
) -> VotePublic:
    """Close the vote and count it (admins)."""
    vote = await voting.close_vote(
        session, endorsement_id=endorsement_id, actor=principal.actor, settings=settings
    )
    return await voting.to_public(session, vote, user_id=principal.user.id or 0)
