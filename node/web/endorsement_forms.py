"""The proposer's forms: draft an endorsement, and edit one (organizers and admins, as the
API's ``POST`` and ``PATCH /endorsements``). Once open, an edit voids every signature: the
form says so before it is saved."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from node.config import Settings
from node.deps import SessionDep, SettingsDep
from node.endorsements import service, sharing
from node.endorsements.errors import InvalidEndorsement, NotTheProposer
from node.endorsements.models import EndorsementCreate, EndorsementPublic, EndorsementUpdate
from node.web.deps import PageOrganizer
from node.web.endorsements import ELECTION_TYPES, OFFICES
from node.web.groups import active_allies
from node.web.rendering import field_errors, page_router, redirect, render

router = page_router()


class EndorsementForm(BaseModel):
    """The form's fields as typed, kept to show them again beside any error."""

    candidate: str = ""
    campaign_url: str = ""
    office: str = ""
    district: str = ""
    election_date: str = ""
    election_type: str = ""
    statement: str = ""
    tier: str = "endorse"
    signers: list[str] = []
    rule: str = "all"
    threshold: str = ""

    def content(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"kind": self.rule}
        if self.rule == "at_least":
            rule["threshold"] = self.threshold or None
        return {
            "race": {"office": self.office, "district": self.district,
                     "election_date": self.election_date, "election_type": self.election_type},
            "candidate": {"name": self.candidate, "campaign_url": self.campaign_url or None},
            "statement": self.statement, "tier": self.tier,
            "required_signers": self.signers, "rule": rule,
        }  # fmt: skip

    @classmethod
    def of(cls, e: EndorsementPublic) -> EndorsementForm:
        return cls(
            candidate=e.candidate.name if e.candidate else "",
            campaign_url=str(e.candidate.campaign_url or "") if e.candidate else "",
            office=e.race.office, district=e.race.district,
            election_date=e.race.election_date.isoformat(), election_type=e.race.election_type,
            statement=e.statement, tier=e.tier, signers=list(e.required_signers),
            rule=e.rule.kind, threshold=str(e.rule.threshold or ""),
        )  # fmt: skip


async def _page(
    request: Request,
    session: AsyncSession,
    *,
    settings: Settings,
    form: EndorsementForm,
    errors: dict[str, str],
    editing: EndorsementPublic | None = None,
) -> Response:
    allies = await active_allies(session, scope=sharing.SCOPE)
    return render(request, "endorsement_form.html", {
        "values": form.model_dump(), "errors": errors, "allies": allies, "offices": OFFICES,
        "election_types": ELECTION_TYPES, "me": settings.public_url, "editing": editing,
    }, status_code=422 if errors else 200)  # fmt: skip


def _readable(exc: ValidationError) -> dict[str, str]:
    labels = {"race.district": "district", "race.election_date": "election_date",
              "race.office": "office", "race.election_type": "election_type",
              "candidate.name": "candidate", "candidate.campaign_url": "campaign_url",
              "required_signers": "signers", "rule": "threshold"}  # fmt: skip
    errors: dict[str, str] = {}
    for name, message in field_errors(exc).items():
        if name == "required_signers":
            message = "Choose at least one group to sign."
        errors.setdefault(labels.get(name, name), message)
    return errors


@router.get("/endorsements/new", response_class=HTMLResponse)
async def new_endorsement(
    request: Request, principal: PageOrganizer, session: SessionDep, settings: SettingsDep
) -> Response:
    del principal
    return await _page(request, session, settings=settings, form=EndorsementForm(), errors={})


@router.post("/endorsements/new", response_class=HTMLResponse)
async def propose(
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[EndorsementForm, Form()],
) -> Response:
    try:
        endorsement = await service.create_endorsement(
            session,
            data=EndorsementCreate.model_validate(form.content()),
            actor=principal.actor,
            settings=settings,
        )
    except ValidationError as exc:
        return await _page(request, session, settings=settings, form=form, errors=_readable(exc))
    except InvalidEndorsement as exc:
        errors = {"form": exc.message}
        return await _page(request, session, settings=settings, form=form, errors=errors)
    return redirect(
        f"/endorsements/{endorsement.id}",
        notice="Draft saved. Read it over, then send it to the signers.",
    )


async def _editable(
    session: AsyncSession, endorsement_id: str, principal: PageOrganizer, settings: Settings
) -> EndorsementPublic:
    endorsement = await service.get_endorsement(
        session, endorsement_id=endorsement_id, role=principal.role
    )
    if endorsement.origin != settings.public_url:
        raise NotTheProposer("Only the group that proposed it can edit it.")
    return await service.to_public(session, endorsement)


@router.get("/endorsements/{endorsement_id}/edit", response_class=HTMLResponse)
async def edit_page(
    endorsement_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    public = await _editable(session, endorsement_id, principal, settings)
    form = EndorsementForm.of(public)
    return await _page(request, session, settings=settings, form=form, errors={}, editing=public)


@router.post("/endorsements/{endorsement_id}/edit", response_class=HTMLResponse)
async def edit(
    endorsement_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[EndorsementForm, Form()],
) -> Response:
    public = await _editable(session, endorsement_id, principal, settings)
    try:
        data = EndorsementUpdate.model_validate(form.content())
        await service.update_endorsement(
            session, endorsement_id=endorsement_id, data=data, actor=principal.actor,
            settings=settings,
        )  # fmt: skip
    except ValidationError as exc:
        return await _page(request, session, settings=settings, form=form,
                           errors=_readable(exc), editing=public)  # fmt: skip
    except InvalidEndorsement as exc:
        return await _page(request, session, settings=settings, form=form,
                           errors={"form": exc.message}, editing=public)  # fmt: skip
    notice = "Saved." if public.status == "draft" else (
        "Saved. Every signature was voided: each group is asked to sign the new text."
    )  # fmt: skip
    return redirect(f"/endorsements/{endorsement_id}", notice=notice)
