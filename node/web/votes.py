"""Member vote pages: the open and closed votes, casting a ballot, opening and closing a vote.

The rules are the API's (:mod:`node.endorsements.voting`, ``/api/v1/endorsements/{id}/vote``):
every active user of this node when a vote opens may vote once, yes, no or abstain; counts stay
hidden until it closes; admins open and close it. A vote is on the endorsement's current text,
so its pages are addressed by the endorsement's id, as the API's are.

The ballot is secret against everyone, the voter included: once cast, the node keeps that she
voted and a sealed choice that nothing links to her. So the page asks her to confirm the choice
before casting (it cannot be changed) and, after, says "your ballot is in" and never which
choice it was: it could only say so by keeping it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from node.accounts.models import Role
from node.config import Settings
from node.deps import Principal, SessionDep, SettingsDep
from node.endorsements import service, voting
from node.endorsements.errors import VoteConflict
from node.endorsements.models import BallotCast, VoteOpen
from node.web.deps import PageAdmin, PageUser
from node.web.endorsements import OFFICES, STATUS_BADGE
from node.web.groups import group_names
from node.web.rendering import page_router, redirect, render

router = page_router()

CHOICE_LABELS = {"yes": "Yes", "no": "No", "abstain": "Abstain"}
CHOOSE = "Choose yes, no or abstain."
THRESHOLD_FIELDS = {
    "threshold_numerator": "The yes votes needed is a whole number from 1 to 1000, e.g. 2.",
    "threshold_denominator": "The votes counted is a whole number from 1 to 1000, e.g. 3.",
}


@router.get("/votes", response_class=HTMLResponse)
async def vote_list(
    request: Request, principal: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    votes = await voting.list_votes(session, user_id=principal.user.id or 0)
    rows = [(await service.to_public(session, e), vote) for e, vote in votes]
    return render(request, "votes.html", {
        "open": [(e, v) for e, v in rows if v.state.value == "open"],
        "closed": [(e, v) for e, v in rows if v.state.value == "closed"],
        "offices": dict(OFFICES), "names": await group_names(session, settings=settings),
        "is_admin": principal.role.includes(Role.admin),
    })  # fmt: skip


async def _vote_page(
    request: Request,
    principal: Principal,
    session: AsyncSession,
    settings: Settings,
    endorsement_id: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    endorsement = await service.get_endorsement(
        session, endorsement_id=endorsement_id, role=principal.role
    )
    public = await service.to_public(session, endorsement)
    vote = await voting.find_vote(
        session, endorsement=endorsement, user_id=principal.user.id or 0, settings=settings
    )
    is_admin = principal.role.includes(Role.admin)
    return render(request, "vote.html", {
        "e": public, "vote": vote, "choices": CHOICE_LABELS, "badge": STATUS_BADGE,
        "offices": dict(OFFICES), "names": await group_names(session, settings=settings),
        "asked": settings.public_url in endorsement.required_signers,
        "is_admin": is_admin,
        "may_open": is_admin and vote is None and voting.may_open(endorsement,
                                                                  settings=settings),
        "errors": errors or {}, "values": values or {},
    }, status_code=status_code)  # fmt: skip


@router.get("/votes/{endorsement_id}", response_class=HTMLResponse)
async def vote_page(
    endorsement_id: str,
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    return await _vote_page(request, principal, session, settings, endorsement_id)


def _choice(value: str) -> str | None:
    try:
        return BallotCast.model_validate({"choice": value.strip()}).choice
    except ValidationError:
        return None


@router.get("/votes/{endorsement_id}/confirm", response_class=HTMLResponse)
async def confirm_ballot(
    endorsement_id: str,
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    choice: str = "",
) -> Response:
    """The second step: her choice said back, before it is cast for good."""
    chosen = _choice(choice)
    if chosen is None:
        return await _vote_page(request, principal, session, settings, endorsement_id,
                                errors={"choice": CHOOSE}, status_code=422)  # fmt: skip
    endorsement = await service.get_endorsement(
        session, endorsement_id=endorsement_id, role=principal.role
    )
    vote = await voting.find_vote(
        session, endorsement=endorsement, user_id=principal.user.id or 0, settings=settings
    )
    if vote is None or vote.state.value != "open" or vote.you_voted is not False:
        # Nothing to confirm (closed, voted, not eligible): the vote page says which.
        return redirect(f"/votes/{endorsement_id}")
    return render(request, "vote_confirm.html", {
        "e": await service.to_public(session, endorsement), "choice": chosen,
        "label": CHOICE_LABELS[chosen], "offices": dict(OFFICES),
    })  # fmt: skip


@router.post("/votes/{endorsement_id}/ballot", response_class=HTMLResponse)
async def cast_ballot(
    endorsement_id: str,
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    choice: Annotated[str, Form()] = "",
) -> Response:
    chosen = _choice(choice)
    if chosen is None:
        return await _vote_page(request, principal, session, settings, endorsement_id,
                                errors={"choice": CHOOSE}, status_code=422)  # fmt: skip
    await voting.cast_ballot(
        session,
        endorsement_id=endorsement_id,
        user_id=principal.user.id or 0,
        choice=chosen,
        settings=settings,
    )
    return redirect(
        f"/votes/{endorsement_id}",
        notice="Your ballot is in. Nobody can see how you voted, the admins included.",
    )


@router.post("/votes/{endorsement_id}/open", response_class=HTMLResponse)
async def open_vote(
    endorsement_id: str,
    request: Request,
    principal: PageAdmin,
    session: SessionDep,
    settings: SettingsDep,
    threshold_numerator: Annotated[str, Form()] = "2",
    threshold_denominator: Annotated[str, Form()] = "3",
) -> Response:
    values = {"threshold_numerator": threshold_numerator,
              "threshold_denominator": threshold_denominator}  # fmt: skip
    try:
        data = VoteOpen.model_validate({k: v.strip() for k, v in values.items()})
        vote = await voting.open_vote(
            session, endorsement_id=endorsement_id, data=data, actor=principal.actor,
            settings=settings,
        )  # fmt: skip
    except ValidationError as exc:
        errors = {str(e["loc"][0]): THRESHOLD_FIELDS[str(e["loc"][0])] for e in exc.errors()}
        return await _vote_page(request, principal, session, settings, endorsement_id,
                                errors=errors, values=values, status_code=422)  # fmt: skip
    except VoteConflict as exc:
        return await _vote_page(request, principal, session, settings, endorsement_id,
                                errors={"threshold": exc.message}, values=values,
                                status_code=exc.status_code)  # fmt: skip
    return redirect(
        f"/votes/{endorsement_id}",
        notice=f"The member vote is open: {vote.eligible} "
        f"{'person' if vote.eligible == 1 else 'people'} of {settings.name} may vote.",
    )


@router.post("/votes/{endorsement_id}/close", response_class=HTMLResponse)
async def close_vote(
    endorsement_id: str, principal: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    vote = await voting.close_vote(
        session, endorsement_id=endorsement_id, actor=principal.actor, settings=settings
    )
    outcome = "passed" if voting.passed(vote) else "did not pass"
    return redirect(
        f"/votes/{endorsement_id}",
        notice=f"The member vote is closed and counted: it {outcome}.",
    )
