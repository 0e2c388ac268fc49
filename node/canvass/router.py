"""HTTP routes of the canvass domain: calls (host and relayed), sign-ups, reports."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from node.canvass import repository, service
from node.canvass.models import (
    AllySharesPublic,
    AllyShareUpdate,
    CallCreate,
    CallPublic,
    CallUpdate,
    CampaignPublic,
    CanvassCall,
    CanvassShift,
    CommitmentPublic,
    DayContactPublic,
    ReportCreate,
    ReportPublic,
    ShiftPublic,
    SignupCreate,
    SignupPublic,
)
from node.config import Settings
from node.deps import CurrentUser, OrganizerUser, SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES, ErrorResponse
from node.events.models import LocationPublic

router = APIRouter(prefix="/api/v1/canvass-calls", tags=["canvass"], responses=ERROR_RESPONSES)
signups = APIRouter(prefix="/api/v1/canvass-signups", tags=["canvass"], responses=ERROR_RESPONSES)


def call_public(call: CanvassCall, shifts: list[CanvassShift], *, settings: Settings) -> CallPublic:
    return CallPublic(
        id=call.id,
        object_id=call.object_id,
        origin=call.origin,
        is_local=call.origin == settings.public_url,
        relayed=call.relayed_at is not None,
        version=call.version,
        title=call.title,
        campaign=CampaignPublic(kind=call.campaign_kind, name=call.campaign_name),
        wards=call.wards,
        turf_description=call.turf_description,
        staging_location=LocationPublic.stored(call.staging_location),
        shifts=[
            ShiftPublic(
                id=shift.id,
                object_id=shift.object_id,
                start_date=shift.start_date,
                end_date=shift.end_date,
                capacity=shift.capacity,
                committed=shift.committed,
                waitlisted=shift.waitlisted,
                remaining=shift.remaining,
                status=shift.status,
            )
            for shift in shifts
        ],
        languages_needed=call.languages_needed,
        materials=call.materials,
        contact=DayContactPublic.stored(call.contact),
        status=call.status,
        expires_at=call.expires_at,
        created_date=call.created_at,
        modified_date=call.updated_at,
    )


async def _public(session: AsyncSession, call: CanvassCall, settings: Settings) -> CallPublic:
    shifts = await repository.shifts_of(session, call_id=call.id)
    return call_public(call, shifts, settings=settings)


@router.post("", response_model=CallPublic, status_code=201)
async def create_call(
    body: CallCreate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> CallPublic:
    """Post a call for volunteers (organizers); allies sharing `canvass` receive it.
    Each ally may fill `ally_share` places per shift (default: a fair share)."""
    call, shifts = await service.create_call(
        session, data=body, actor=principal.actor, settings=settings
    )
    response.headers["Location"] = f"{router.prefix}/{call.id}"
    return call_public(call, shifts, settings=settings)


@router.get("", response_model=list[CallPublic])
async def list_calls(
    principal: CurrentUser, session: SessionDep, settings: SettingsDep
) -> list[CallPublic]:
    """Organizers: every call this node holds. Members: this node's own and relayed ones."""
    listed = await service.list_calls(session, role=principal.role, settings=settings)
    return [call_public(call, shifts, settings=settings) for call, shifts in listed]


@router.get("/{call_id}", response_model=CallPublic)
async def get_call(
    call_id: str, principal: CurrentUser, session: SessionDep, settings: SettingsDep
) -> CallPublic:
    call = await service.visible_call(
        session, call_id=call_id, role=principal.role, settings=settings
    )
    return await _public(session, call, settings)


@router.patch(
    "/{call_id}",
    response_model=CallPublic,
    responses={
        404: {"model": ErrorResponse, "description": "No such call, or no such shift in it "
              "(`canvass_call_not_found`, `shift_not_found`)."},
        409: {"model": ErrorResponse, "description": "The call belongs to an ally "
              "(`canvass_call_not_local`) or is cancelled (`conflict`); a shift changed has "
              "started or is cancelled (`shift_closed`); a capacity under the volunteers "
              "committed (`capacity_below_committed`). `details` names the field."},
        422: {"model": ErrorResponse, "description": "Not valid: a shift starting in the "
              "past, ending before it starts, 0 places, or a field sent as null."},
    },
)  # fmt: skip
async def update_call(
    call_id: str,
    body: CallUpdate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> CallPublic:
    """Change a call of this node (host organizers): only the fields sent change. Each change
    bumps `version` and every ally sharing `canvass` receives it. More places on a shift go
    to those on its waitlist first, in order."""
    call, shifts = await service.update_call(
        session, call_id=call_id, data=body, actor=principal.actor, settings=settings
    )
    return call_public(call, shifts, settings=settings)


@router.post("/{call_id}/relay", response_model=CallPublic)
async def relay_call(
    call_id: str, principal: OrganizerUser, session: SessionDep, settings: SettingsDep
) -> CallPublic:
    """Show an ally's call to this node's members (409 for this node's own calls)."""
    call = await service.relay_call(
        session, call_id=call_id, actor=principal.actor, settings=settings
    )
    return await _public(session, call, settings)


@router.post("/{call_id}/cancel", response_model=CallPublic)
async def cancel_call(
    call_id: str, principal: OrganizerUser, session: SessionDep, settings: SettingsDep
) -> CallPublic:
    """Cancel the call (host organizers); every volunteer's node is told."""
    call, shifts = await service.cancel_call(
        session, call_id=call_id, actor=principal.actor, settings=settings
    )
    return call_public(call, shifts, settings=settings)


@router.post("/{call_id}/shifts/{shift_id}/cancel", response_model=CallPublic)
async def cancel_shift(
    call_id: str,
    shift_id: str,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> CallPublic:
    """Cancel one shift (host organizers); its volunteers' nodes are told."""
    call, shifts = await service.cancel_shift(
        session, call_id=call_id, shift_id=shift_id, actor=principal.actor, settings=settings
    )
    return call_public(call, shifts, settings=settings)


@router.get("/{call_id}/shifts/{shift_id}/commitments", response_model=list[CommitmentPublic])
async def shift_roster(
    call_id: str,
    shift_id: str,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> list[CommitmentPublic]:
    """The host's roster: handles; a first name or contact only where the volunteer agreed."""
    rows = await service.roster(session, call_id=call_id, shift_id=shift_id, settings=settings)
    return [CommitmentPublic.model_validate(row, from_attributes=True) for row in rows]


@router.get("/{call_id}/ally-shares", response_model=AllySharesPublic)
async def ally_shares(
    call_id: str, principal: OrganizerUser, session: SessionDep, settings: SettingsDep
) -> AllySharesPublic:
    """Who filled what (host organizers): per shift, the places and waitlist places held by
    this node's members and by each ally, and each ally's limit."""
    return await service.ally_shares(session, call_id=call_id, settings=settings)


@router.put("/{call_id}/ally-shares", response_model=AllySharesPublic)
async def set_ally_share(
    call_id: str,
    body: AllyShareUpdate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> AllySharesPublic:
    """Set how many places each ally may fill per shift (host organizers); `null` for the
    fair share. Nobody loses a place: an ally over a lowered limit is refused until under it."""
    await service.set_ally_share(
        session, call_id=call_id, data=body, actor=principal.actor, settings=settings
    )
    return await service.ally_shares(session, call_id=call_id, settings=settings)


@router.post("/{call_id}/shifts/{shift_id}/signups", response_model=SignupPublic, status_code=201)
async def sign_up(
    call_id: str,
    shift_id: str,
    body: SignupCreate,
    principal: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> SignupPublic:
    """Sign up for a shift on your own node. The state is `pending` until the host answers."""
    signup = await service.sign_up(
        session,
        call_id=call_id,
        shift_id=shift_id,
        data=body,
        user=principal.user,
        settings=settings,
    )
    return SignupPublic.model_validate(signup, from_attributes=True)


@router.post("/{call_id}/reports", response_model=ReportPublic, status_code=201)
async def post_report(
    call_id: str,
    body: ReportCreate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ReportPublic:
    """Post a shift's per-precinct aggregates (host organizers). Kept raw here; allies get
    them with every count under 5 suppressed."""
    report = await service.post_report(
        session, call_id=call_id, data=body, actor=principal.actor, settings=settings
    )
    return ReportPublic.model_validate(report, from_attributes=True)


@router.get("/{call_id}/reports", response_model=list[ReportPublic])
async def list_reports(
    call_id: str, principal: CurrentUser, session: SessionDep, settings: SettingsDep
) -> list[ReportPublic]:
    call = await service.visible_call(
        session, call_id=call_id, role=principal.role, settings=settings
    )
    rows = await service.reports(session, call=call, settings=settings)
    return [ReportPublic.model_validate(row, from_attributes=True) for row in rows]


@signups.get("", response_model=list[SignupPublic])
async def my_signups(principal: CurrentUser, session: SessionDep) -> list[SignupPublic]:
    """Your sign-ups and where each stands (pending, committed, waitlisted, refused,
    cancelled, withdrawn)."""
    rows = await service.my_signups(session, user=principal.user)
    return [SignupPublic.model_validate(row, from_attributes=True) for row in rows]


@signups.post("/{signup_id}/withdraw", response_model=SignupPublic)
async def withdraw(
    signup_id: str, principal: CurrentUser, session: SessionDep, settings: SettingsDep
) -> SignupPublic:
    """Withdraw from a shift; your place goes to the next volunteer waiting."""
    signup = await service.withdraw(
        session, signup_id=signup_id, user=principal.user, settings=settings
    )
    return SignupPublic.model_validate(signup, from_attributes=True)
