"""Canvass calls: the rules, on the host's side and on the volunteer's side.

A commitment's life, as the host holds it::

    Join ──> committed ──(Undo)──> withdrawn      (frees the place: the first waiting is promoted)
         └─> waitlisted ──(a place frees)──> committed
         └─> refused          (full shift and full waitlist, shift closed, or the ally's share full)
    committed | waitlisted ──(shift or call cancelled)──> cancelled

Each ally's volunteers hold at most the call's **ally share** of each shift, waitlist included
(a fair share unless the host set one), so one ally cannot fill a shift the host's own members
and the other allies were counting on. The host's own members are limited only by capacity.

A sign-up on the volunteer's node starts ``pending`` and takes each state the host answers.
Every change of counts bumps the call's version and re-broadcasts it, so every ally shows
the same committed and remaining counts. A volunteer of the host ward signs up the same way
on her own node; the commitment is then taken in the same transaction, with no federation.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from federation import retention
from federation.errors import OriginMismatch, SchemaInvalid
from federation.models import AllianceState, Peer
from federation.peers import list_peers
from federation.replicas import is_newer
from federation.storage import utcnow
from node.accounts.models import Role, User
from node.audit.service import Actor, record
from node.canvass import repository, sharing
from node.canvass.models import (
    ACTIVE_SIGNUP_STATES,
    AllySharesPublic,
    AllyShareUpdate,
    CallCreate,
    CallStatus,
    CallUpdate,
    CampaignKind,
    CanvassCall,
    CanvassCommitment,
    CanvassReport,
    CanvassShift,
    CanvassSignup,
    CommitmentState,
    GroupFill,
    ReportCreate,
    ShiftShares,
    ShiftStatus,
    SignupCreate,
    SignupState,
    WithdrawnSignup,
)
from node.config import Settings
from node.errors import Conflict, InvalidInput, NotFound
from node.members import repository as members
from node.members.models import Member
from node.webhooks import triggers as webhooks
from schemas import canvass as wire


class CallNotFound(NotFound):
    code = "canvass_call_not_found"


class ShiftNotFound(NotFound):
    code = "shift_not_found"


class SignupNotFound(NotFound):
    code = "signup_not_found"


class CallNotLocal(Conflict):
    code = "canvass_call_not_local"


class CallIsLocal(Conflict):
    code = "canvass_call_is_local"


class ShiftClosed(Conflict):
    code = "shift_closed"


class AlreadySignedUp(Conflict):
    code = "already_signed_up"


class HostUnreachable(Conflict):
    code = "host_not_an_ally"


class CapacityBelowCommitted(Conflict):
    """A shift cannot have fewer places than the volunteers who hold one: nobody loses hers."""

    code = "capacity_below_committed"


class UnknownShift(SchemaInvalid):
    """A commitment names a shift this node does not host: refused, nothing kept."""

    code = "unknown_shift"


HELD = (CommitmentState.committed, CommitmentState.waitlisted)
CHICAGO = ZoneInfo("America/Chicago")
STILL_ALLIED = (AllianceState.active, AllianceState.suspended)
"""Alliance states in which this node still writes to a peer (suspended holds the delivery)."""


def fair_share(capacity: int, *, allies: int) -> int:
    """An ally's fair share of a shift: its capacity divided equally between the host and
    every ally the call is shared with, rounded down, and never less than 1.

    Counting the host as one of the groups leaves its own members at least an equal part of
    every shift whatever the allies do (with one ally and 20 places: 10 each).
    """
    return max(1, capacity // (allies + 1))


def share_of(call: CanvassCall, shift: CanvassShift, *, allies: int) -> int:
    """How many commitments each ally may hold on ``shift``: the host's setting, or fair."""
    if call.ally_share is not None:
        return call.ally_share
    return fair_share(shift.capacity, allies=allies)


# ---- reading --------------------------------------------------------------------------------


async def visible_call(
    session: AsyncSession, *, call_id: str, role: Role, settings: Settings
) -> CanvassCall:
    """A call the caller may see: organizers see every call this node holds; members see
    this node's own and those relayed to them. A hidden call is reported as missing."""
    call = await repository.get_call(session, call_id=call_id)
    if call is None or not _member_may_see(call, role=role, settings=settings):
        raise CallNotFound(f"No canvass call {call_id} on this node.")
    return call


def _member_may_see(call: CanvassCall, *, role: Role, settings: Settings) -> bool:
    if role.includes(Role.organizer):
        return True
    return call.origin == settings.public_url or call.relayed_at is not None


async def list_calls(
    session: AsyncSession, *, role: Role, settings: Settings
) -> list[tuple[CanvassCall, list[CanvassShift]]]:
    calls = await repository.list_calls(
        session, origin=settings.public_url, everything=role.includes(Role.organizer)
    )
    shifts = await repository.shifts_of_calls(session, call_ids=[call.id for call in calls])
    return [(call, shifts[call.id]) for call in calls]


# ---- the host -------------------------------------------------------------------------------


async def create_call(
    session: AsyncSession, *, data: CallCreate, actor: Actor, settings: Settings
) -> tuple[CanvassCall, list[CanvassShift]]:
    now = utcnow()
    for index, given_shift in enumerate(data.shifts):
        if given_shift.start_date <= now:
            raise InvalidInput("Shifts must start in the future.", field=["body", "shifts", index])
    ordered = sorted(data.shifts, key=lambda shift: shift.start_date)
    call = CanvassCall(
        object_id="",
        origin=settings.public_url,
        title=data.title,
        campaign_kind=CampaignKind(data.campaign.kind),
        campaign_name=data.campaign.name,
        wards=data.wards,
        turf_description=data.turf_description,
        staging_location=data.staging_location.model_dump(mode="json", exclude_none=True),
        languages_needed=list(data.languages_needed),
        materials=data.materials,
        contact=data.contact.model_dump(mode="json", exclude_none=True) if data.contact else None,
        waitlist_limit=data.waitlist_limit,
        ally_share=data.ally_share,
        expires_at=ordered[-1].start_date.astimezone(UTC),
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    call.object_id = f"{settings.public_url}/canvass-calls/{call.id}"
    session.add(call)
    await session.flush()
    shifts = []
    for position, given in enumerate(ordered):
        shift = CanvassShift(
            call_id=call.id,
            object_id="",
            position=position,
            start_date=given.start_date.astimezone(UTC),
            end_date=given.end_date.astimezone(UTC),
            capacity=given.capacity,
        )
        shift.object_id = f"{call.object_id}/shifts/{shift.id}"
        shifts.append(shift)
    session.add_all(shifts)
    await session.flush()
    await sharing.share_call(session, call=call, shifts=shifts, node_id=settings.public_url)
    await webhooks.notify(session, event_type="canvass_call.posted", object=call)
    await record(
        session,
        actor=actor,
        action="canvass_call.create",
        object_type="canvass_call",
        object_id=call.id,
        detail={"shifts": len(shifts)},
    )
    return call, shifts


async def cancel_call(
    session: AsyncSession, *, call_id: str, actor: Actor, settings: Settings
) -> tuple[CanvassCall, list[CanvassShift]]:
    """Cancel every shift and the call; each volunteer's node hears about her commitment."""
    call = await _own_call(session, call_id=call_id, settings=settings)
    shifts = await repository.shifts_of(session, call_id=call.id)
    if call.status is CallStatus.cancelled:
        return call, shifts
    call.status = CallStatus.cancelled
    for shift in shifts:
        await _close_shift(session, call=call, shift=shift, settings=settings)
    await _touch(session, call, shifts, settings=settings)
    await record(
        session,
        actor=actor,
        action="canvass_call.cancel",
        object_type="canvass_call",
        object_id=call.id,
        detail={"version": call.version},
    )
    return call, shifts


async def cancel_shift(
    session: AsyncSession, *, call_id: str, shift_id: str, actor: Actor, settings: Settings
) -> tuple[CanvassCall, list[CanvassShift]]:
    call = await _own_call(session, call_id=call_id, settings=settings)
    shifts = await repository.shifts_of(session, call_id=call.id)
    shift = next((s for s in shifts if s.id == shift_id), None)
    if shift is None:
        raise ShiftNotFound(f"Call {call_id} has no shift {shift_id}.")
    if shift.status is ShiftStatus.cancelled:
        return call, shifts
    await _close_shift(session, call=call, shift=shift, settings=settings)
    await _touch(session, call, shifts, settings=settings)
    await record(
        session,
        actor=actor,
        action="canvass_shift.cancel",
        object_type="canvass_call",
        object_id=call.id,
        detail={"shift": shift.id, "version": call.version},
    )
    return call, shifts


async def editable_call(
    session: AsyncSession, *, call_id: str, settings: Settings
) -> tuple[CanvassCall, list[CanvassShift]]:
    """A call this node may change (its own, not cancelled), with its shifts: for a form."""
    call = await _own_call(session, call_id=call_id, settings=settings)
    return call, await repository.shifts_of(session, call_id=call.id)


MAX_SHIFTS = 50
CALL_FIELDS = ("title", "wards", "turf_description", "languages_needed", "materials",
               "waitlist_limit")  # fmt: skip


async def update_call(
    session: AsyncSession, *, call_id: str, data: CallUpdate, actor: Actor, settings: Settings
) -> tuple[CanvassCall, list[CanvassShift]]:
    """Change a call of this node's: its details, its shifts' times and places, new shifts.

    Every allied node receives the new version, so their members see the same call. A
    shift that has started or is cancelled keeps its times and places; a shift never gets
    fewer places than the volunteers committed to it; new places go to those waiting, in
    order (each volunteer's node is told), and everyone still waiting hears their new number.
    A change that changes nothing bumps no version and sends nothing.
    """
    call = await _own_call(session, call_id=call_id, settings=settings)
    shifts = await repository.shifts_of(session, call_id=call.id)
    changed = _changed_details(call, data)
    by_id = {shift.id: shift for shift in shifts}
    now = utcnow()
    grown: list[CanvassShift] = []
    seen: set[str] = set()
    for index, given in enumerate(data.shifts or []):
        where: list[str | int] = ["body", "shifts", index]
        shift = by_id.get(given.id)
        if shift is None:
            raise ShiftNotFound(f"This call has no shift {given.id}.", field=[*where, "id"])
        if given.id in seen:
            raise InvalidInput("Each shift may be changed once per request.", field=where)
        seen.add(given.id)
        start = given.start_date.astimezone(UTC) if given.start_date else shift.start_date
        end = given.end_date.astimezone(UTC) if given.end_date else shift.end_date
        capacity = given.capacity if given.capacity is not None else shift.capacity
        if (start, end, capacity) == (shift.start_date, shift.end_date, shift.capacity):
            continue
        if shift.status is ShiftStatus.cancelled:
            raise ShiftClosed(
                f"The shift of {_day(shift)} is cancelled, so it cannot change. "
                "Add a new shift instead.",
                field=where,
            )
        if shift.start_date <= now:
            raise ShiftClosed(
                f"The shift of {_day(shift)} has started, so its times and places can no "
                "longer change.",
                field=where,
            )
        if start != shift.start_date and start <= now:
            raise InvalidInput(
                "A shift must start in the future: pick a later start.",
                field=[*where, "start_date"],
            )
        if end <= start:
            raise InvalidInput(
                "A shift must end after it starts: pick a later end.",
                field=[*where, "end_date" if given.end_date else "start_date"],
            )
        if capacity < shift.committed:
            people = "volunteer has" if shift.committed == 1 else "volunteers have"
            raise CapacityBelowCommitted(
                f"{shift.committed} {people} a place on this shift already: give it at least "
                f"{shift.committed} places, or cancel the shift to free everyone.",
                field=[*where, "capacity"],
            )
        if capacity > shift.capacity:
            grown.append(shift)
        shift.start_date, shift.end_date, shift.capacity = start, end, capacity
        session.add(shift)
        changed.append(f"shift {shift.id}")
    if len(shifts) + len(data.new_shifts or []) > MAX_SHIFTS:
        raise InvalidInput(
            f"A call has at most {MAX_SHIFTS} shifts; it has {len(shifts)}.",
            field=["body", "new_shifts"],
        )
    for index, new in enumerate(data.new_shifts or []):
        if new.start_date <= now:
            raise InvalidInput(
                "A shift must start in the future: pick a later start.",
                field=["body", "new_shifts", index, "start_date"],
            )
        shift = CanvassShift(
            call_id=call.id,
            object_id="",
            position=len(shifts),
            start_date=new.start_date.astimezone(UTC),
            end_date=new.end_date.astimezone(UTC),
            capacity=new.capacity,
        )
        shift.object_id = f"{call.object_id}/shifts/{shift.id}"
        session.add(shift)
        shifts.append(shift)
        changed.append("new shift")
    if not changed:
        return call, shifts
    shifts.sort(key=lambda shift: (shift.start_date, shift.position))
    for position, shift in enumerate(shifts):
        shift.position = position
        session.add(shift)
    call.expires_at = max(shift.start_date for shift in shifts)
    await session.flush()
    for shift in grown:
        await _promote_waiting(session, call=call, shift=shift, settings=settings)
    await _touch(session, call, shifts, settings=settings)
    await record(
        session,
        actor=actor,
        action="canvass_call.update",
        object_type="canvass_call",
        object_id=call.id,
        detail={"fields": sorted(set(changed)), "version": call.version},
    )
    return call, shifts


def _changed_details(call: CanvassCall, data: CallUpdate) -> list[str]:
    """Set the call's own fields that ``data`` changes; their names."""
    sent = data.model_fields_set
    values: dict[str, Any] = {name: getattr(data, name) for name in CALL_FIELDS if name in sent}
    if "languages_needed" in values:
        values["languages_needed"] = list(values["languages_needed"])
    if data.campaign is not None:
        values["campaign_kind"] = CampaignKind(data.campaign.kind)
        values["campaign_name"] = data.campaign.name
    if data.staging_location is not None:
        values["staging_location"] = data.staging_location.model_dump(
            mode="json", exclude_none=True
        )
    if "contact" in sent:
        values["contact"] = (
            data.contact.model_dump(mode="json", exclude_none=True) if data.contact else None
        )
    changed = [name for name, value in values.items() if getattr(call, name) != value]
    for name in changed:
        setattr(call, name, values[name])
    return changed


def _day(shift: CanvassShift) -> str:
    local = shift.start_date.astimezone(CHICAGO)
    return f"{local:%a} {local.day} {local:%b} at {local:%H:%M}"


async def _promote_waiting(
    session: AsyncSession, *, call: CanvassCall, shift: CanvassShift, settings: Settings
) -> None:
    """A shift has more places: the first waiting take them, and the rest hear their number."""
    waiting = await repository.commitments_of(
        session, shift_id=shift.id, states=[CommitmentState.waitlisted]
    )
    free = shift.capacity - shift.committed
    promoted, still_waiting = waiting[:free], waiting[free:]
    for row in promoted:
        row.state = CommitmentState.committed
        row.updated_at = utcnow()
        session.add(row)
        await _notify(session, call=call, shift=shift, commitment=row, settings=settings)
    if promoted:
        for position, row in enumerate(still_waiting, start=1):
            await _notify(
                session, call=call, shift=shift, commitment=row, settings=settings,
                position=position,
            )  # fmt: skip
    await session.flush()
    await _recount(session, shift)


async def roster(
    session: AsyncSession, *, call_id: str, shift_id: str, settings: Settings
) -> list[CanvassCommitment]:
    """The host's view of a shift: handles, and names or contacts only where consented."""
    call = await _own_call(session, call_id=call_id, settings=settings, allow_cancelled=True)
    shift = await _shift_of(session, call=call, shift_id=shift_id)
    return await repository.commitments_of(session, shift_id=shift.id)


async def ally_shares(
    session: AsyncSession, *, call_id: str, settings: Settings
) -> AllySharesPublic:
    """Per shift, how many places the host's members and each ally hold, and each limit."""
    call = await _own_call(session, call_id=call_id, settings=settings, allow_cancelled=True)
    shifts = await repository.shifts_of(session, call_id=call.id)
    allies = await sharing.allies_shared_with(session)
    names = {peer.node_id: peer.name for peer in await list_peers(session)}
    names[settings.public_url] = settings.name
    held = await repository.held_per_node(session, shift_ids=[shift.id for shift in shifts])
    rows = []
    for shift in shifts:
        by_node = held[shift.id]
        limit = share_of(call, shift, allies=len(allies))
        others = sorted(set(by_node) - {settings.public_url} - {p.node_id for p in allies})
        groups = [
            GroupFill(
                node_id=node_id,
                name=names.get(node_id, node_id),
                is_host=node_id == settings.public_url,
                committed=by_node.get(node_id, {}).get(CommitmentState.committed, 0),
                waitlisted=by_node.get(node_id, {}).get(CommitmentState.waitlisted, 0),
                limit=None if node_id == settings.public_url else limit,
            )
            for node_id in [settings.public_url, *(p.node_id for p in allies), *others]
        ]
        rows.append(
            ShiftShares(
                shift_id=shift.id,
                object_id=shift.object_id,
                start_date=shift.start_date,
                end_date=shift.end_date,
                status=shift.status,
                capacity=shift.capacity,
                committed=shift.committed,
                waitlisted=shift.waitlisted,
                fair_share=fair_share(shift.capacity, allies=len(allies)),
                groups=groups,
            )
        )
    return AllySharesPublic(
        call_id=call.id,
        ally_share=call.ally_share,
        allies_shared_with=len(allies),
        shifts=rows,
    )


async def set_ally_share(
    session: AsyncSession,
    *,
    call_id: str,
    data: AllyShareUpdate,
    actor: Actor,
    settings: Settings,
) -> CanvassCall:
    """Set how many places each ally may hold per shift (``None``: the fair share).

    A local setting: nothing is sent and the call's ``version`` does not change. Lowering it
    takes no place from anyone; an ally over it is refused until it is under it again.
    """
    call = await _own_call(session, call_id=call_id, settings=settings)
    if call.ally_share != data.ally_share:
        before, call.ally_share = call.ally_share, data.ally_share
        session.add(call)
        await session.flush()
        await record(
            session,
            actor=actor,
            action="canvass_call.ally_share",
            object_type="canvass_call",
            object_id=call.id,
            detail={"from": before, "to": data.ally_share},
        )
    return call


async def post_report(
    session: AsyncSession, *, call_id: str, data: ReportCreate, actor: Actor, settings: Settings
) -> CanvassReport:
    """Keep the raw counts here; allies receive them with every count under 5 suppressed."""
    call = await _own_call(session, call_id=call_id, settings=settings, allow_cancelled=True)
    shift = await _shift_of(session, call=call, shift_id=data.shift_id)
    if shift.start_date > utcnow():
        raise Conflict("A report comes after the shift has started.")
    report = CanvassReport(
        object_id="",
        call_id=call.id,
        shift_object_id=shift.object_id,
        precincts=[row.model_dump() for row in data.precincts],
    )
    report.object_id = f"{call.object_id}/reports/{report.id}"
    session.add(report)
    call.updated_at = utcnow()  # partners' `updated_since` finds the call with its new report
    await session.flush()
    await sharing.share_report(session, report=report, call=call, node_id=settings.public_url)
    await record(
        session,
        actor=actor,
        action="canvass_report.create",
        object_type="canvass_call",
        object_id=call.id,
        detail={"shift": shift.id, "precincts": len(data.precincts)},
    )
    return report


async def reports(
    session: AsyncSession, *, call: CanvassCall, settings: Settings
) -> list[CanvassReport]:
    return await repository.reports_of(session, call_id=call.id)


async def take_commitment(
    session: AsyncSession, *, payload: wire.CanvassCommitment, home_node: str, settings: Settings
) -> None:
    """Fold a commitment into one of our shifts: a place, a waitlist place, or a refusal.

    A commitment for a shift this node does not host is refused with 422 and nothing kept.
    """
    shift = await repository.shift_by_object_id(session, object_id=payload.shift, for_update=True)
    call = await repository.get_call(session, call_id=shift.call_id) if shift else None
    if shift is None or call is None or call.origin != settings.public_url:
        raise UnknownShift(f"This node hosts no shift {payload.shift}.")
    if call.object_id != payload.call:
        raise UnknownShift(f"Shift {payload.shift} is not a shift of {payload.call}.")
    if await repository.commitment_by_object_id(session, object_id=payload.id) is not None:
        return  # the same sign-up again: the answer already went out
    contact = payload.contact
    row = CanvassCommitment(
        object_id=payload.id,
        shift_id=shift.id,
        home_node=home_node,
        handle=payload.handle,
        given_name=payload.given_name,
        email=contact.email if contact else None,
        phone=contact.phone if contact else None,
        state=CommitmentState.refused,
    )
    reason = None
    position = None
    if call.status is CallStatus.cancelled or shift.status is ShiftStatus.cancelled:
        reason = "The shift is cancelled."
    elif shift.start_date <= utcnow():
        reason = "The shift has started."
    elif share_full := await _share_full(
        session, call=call, shift=shift, home_node=home_node, settings=settings
    ):
        reason = share_full
    elif shift.committed < shift.capacity:
        row.state = CommitmentState.committed
    elif shift.waitlisted < call.waitlist_limit:
        row.state = CommitmentState.waitlisted
        position = shift.waitlisted + 1
    else:
        reason = "The shift is full."
    if row.state is CommitmentState.refused:
        _forget_personal_data(row)  # nothing held for her: keep only the handle to answer
    session.add(row)
    await session.flush()
    await _notify(
        session,
        call=call,
        shift=shift,
        commitment=row,
        settings=settings,
        position=position,
        reason=reason,
    )
    if row.state in HELD:
        shifts = await repository.shifts_of(session, call_id=call.id)
        await _recount(session, shift)
        await _touch(session, call, shifts, settings=settings)
        if row.state is CommitmentState.committed and shift.committed >= shift.capacity:
            await webhooks.notify(
                session, event_type="canvass_shift.filled", object=call, shift=shift
            )


async def _share_full(
    session: AsyncSession,
    *,
    call: CanvassCall,
    shift: CanvassShift,
    home_node: str,
    settings: Settings,
) -> str | None:
    """Why an ally's commitment gets no place or waitlist place: its share is held already.
    ``None`` for the host's own members and for an ally under its share."""
    if home_node == settings.public_url:
        return None
    allies = await sharing.allies_shared_with(session)
    limit = share_of(call, shift, allies=len(allies))
    held = await repository.held_by_node(session, shift_id=shift.id, home_node=home_node)
    if held < limit:
        return None
    places = "place" if limit == 1 else "places"
    return (
        "Your group has filled its share of this shift: the host gives each allied group "
        f"{limit} {places} (waitlist included)."
    )


def _forget_personal_data(row: CanvassCommitment) -> None:
    row.given_name = None
    row.email = None
    row.phone = None


async def drop_commitment(
    session: AsyncSession, *, payload: wire.CanvassCommitment, home_node: str, settings: Settings
) -> None:
    """The volunteer withdrew: free her place and give it to the first on the waitlist."""
    row = await repository.commitment_by_object_id(session, object_id=payload.id)
    if row is None or row.home_node != home_node:
        return  # nothing held (refused, or never arrived): nothing to free
    if row.state not in HELD:
        _forget_personal_data(row)  # nothing to free, but she asked to be forgotten
        session.add(row)
        return
    shift = await session.get(CanvassShift, row.shift_id, with_for_update=True)
    call = await repository.get_call(session, call_id=shift.call_id) if shift else None
    if shift is None or call is None:
        return
    freed = row.state is CommitmentState.committed
    row.state = CommitmentState.withdrawn
    _forget_personal_data(row)  # she withdrew: the host no longer needs her name or contact
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    waiting = await repository.commitments_of(
        session, shift_id=shift.id, states=[CommitmentState.waitlisted]
    )
    if freed and waiting and shift.status is ShiftStatus.open:
        promoted, *waiting = waiting
        promoted.state = CommitmentState.committed
        promoted.updated_at = utcnow()
        session.add(promoted)
        await _notify(session, call=call, shift=shift, commitment=promoted, settings=settings)
    elif freed:
        waiting = []  # nobody moved: no news for those waiting
    # Someone ahead of them left: everyone still waiting is told their new place.
    for position, row_waiting in enumerate(waiting, start=1):
        await _notify(
            session,
            call=call,
            shift=shift,
            commitment=row_waiting,
            settings=settings,
            position=position,
        )
    await session.flush()
    await _recount(session, shift)
    await _touch(
        session, call, await repository.shifts_of(session, call_id=call.id), settings=settings
    )


async def _close_shift(
    session: AsyncSession, *, call: CanvassCall, shift: CanvassShift, settings: Settings
) -> None:
    shift.status = ShiftStatus.cancelled
    session.add(shift)
    for row in await repository.commitments_of(session, shift_id=shift.id, states=HELD):
        row.state = CommitmentState.cancelled
        _forget_personal_data(row)  # no shift, no need to reach her: her node tells her
        row.updated_at = utcnow()
        session.add(row)
        await _notify(
            session,
            call=call,
            shift=shift,
            commitment=row,
            settings=settings,
            reason="The host cancelled the shift.",
        )
    await session.flush()
    await _recount(session, shift)


async def _notify(
    session: AsyncSession,
    *,
    call: CanvassCall,
    shift: CanvassShift,
    commitment: CanvassCommitment,
    settings: Settings,
    position: int | None = None,
    reason: str | None = None,
) -> None:
    """Tell the volunteer's node (or, for our own volunteer, her sign-up) where she stands."""
    if commitment.home_node == settings.public_url:
        signup = await repository.signup_by_object_id(session, object_id=commitment.object_id)
        if signup is not None:
            _set_signup_state(signup, SignupState(commitment.state.value), position, reason)
            session.add(signup)
        return
    home = await sharing.host_peer(session, origin=commitment.home_node)
    if home is None or home.state not in STILL_ALLIED:
        return  # no longer an ally: nothing may be sent there
    await sharing.answer_volunteer_node(
        session,
        home=home,
        node_id=settings.public_url,
        commitment_id=commitment.object_id,
        call_object_id=call.object_id,
        shift=shift,
        state=commitment.state,
        waitlist_position=position,
        reason=reason,
    )


async def _recount(session: AsyncSession, shift: CanvassShift) -> None:
    held = await repository.commitments_of(session, shift_id=shift.id, states=HELD)
    shift.committed = sum(1 for row in held if row.state is CommitmentState.committed)
    shift.waitlisted = sum(1 for row in held if row.state is CommitmentState.waitlisted)
    session.add(shift)
    await session.flush()


async def _touch(
    session: AsyncSession, call: CanvassCall, shifts: Sequence[CanvassShift], *, settings: Settings
) -> None:
    """The one place a call is stamped and re-broadcast with its counts."""
    call.version += 1
    call.updated_at = utcnow()
    session.add(call)
    await session.flush()
    await sharing.share_call(session, call=call, shifts=shifts, node_id=settings.public_url)


async def _own_call(
    session: AsyncSession, *, call_id: str, settings: Settings, allow_cancelled: bool = False
) -> CanvassCall:
    call = await repository.get_call(session, call_id=call_id)
    if call is None:
        raise CallNotFound(f"No canvass call {call_id} on this node.")
    if call.origin != settings.public_url:
        raise CallNotLocal(f"Call {call_id} belongs to {call.origin}; only that node changes it.")
    if call.status is CallStatus.cancelled and not allow_cancelled:
        raise Conflict(
            f"The call “{call.title}” is cancelled, so it can no longer change. Post a new "
            "call instead."
        )
    return call


async def _shift_of(session: AsyncSession, *, call: CanvassCall, shift_id: str) -> CanvassShift:
    shift = await session.get(CanvassShift, shift_id)
    if shift is None or shift.call_id != call.id:
        raise ShiftNotFound(f"Call {call.id} has no shift {shift_id}.")
    return shift


# ---- the volunteer's node -------------------------------------------------------------------


async def relay_call(
    session: AsyncSession, *, call_id: str, actor: Actor, settings: Settings
) -> CanvassCall:
    """Show an ally's call to this node's members."""
    call = await repository.get_call(session, call_id=call_id)
    if call is None:
        raise CallNotFound(f"No canvass call {call_id} on this node.")
    if call.origin == settings.public_url:
        raise CallIsLocal("This node's own calls are shown to its members already.")
    if call.relayed_at is None:
        call.relayed_at = utcnow()
        session.add(call)
        await record(
            session,
            actor=actor,
            action="canvass_call.relay",
            object_type="canvass_call",
            object_id=call.id,
        )
    return call


async def sign_up(
    session: AsyncSession,
    *,
    call_id: str,
    shift_id: str,
    data: SignupCreate,
    user: User,
    settings: Settings,
) -> CanvassSignup:
    """A member of this node commits to a shift; the host hears a handle, and her first name
    and contact only if she ticked them for this sign-up."""
    call = await visible_call(session, call_id=call_id, role=user.role, settings=settings)
    shift = await _shift_of(session, call=call, shift_id=shift_id)
    if call.status is CallStatus.cancelled or shift.status is ShiftStatus.cancelled:
        raise ShiftClosed("This shift is cancelled.")
    if shift.start_date <= utcnow():
        raise ShiftClosed("This shift has started.")
    assert user.id is not None  # noqa: S101 -- users come from the database
    for existing in await repository.signups_of_user(session, user_id=user.id):
        if existing.shift_object_id == shift.object_id and existing.state in ACTIVE_SIGNUP_STATES:
            raise AlreadySignedUp("You are already signed up for this shift.")
    is_local = call.origin == settings.public_url
    host = None if is_local else await sharing.host_peer(session, origin=call.origin)
    if not is_local and (host is None or host.state is not AllianceState.active):
        raise HostUnreachable("The host ward is no longer an ally sharing canvass calls.")
    member = await members.by_email(session, email=user.email)
    given_name = first_name(member=member, user=user) if data.share_first_name else None
    signup = CanvassSignup(
        object_id="",
        call_object_id=call.object_id,
        shift_object_id=shift.object_id,
        user_id=user.id,
        handle=f"vol-{secrets.token_hex(5)}",
        # What was shared, not what was asked: with no first name known there is none to
        # share, and her page must not tell her the host has it.
        share_first_name=given_name is not None,
        share_contact=data.share_contact,
        state=SignupState.pending,
    )
    signup.object_id = f"{settings.public_url}/canvass-signups/{signup.id}"
    session.add(signup)
    await session.flush()
    payload = sharing.commitment(
        signup,
        given_name=given_name,
        email=(member.email if member else None) or user.email,
        phone=member.phone if member else None,
    )
    if host is None:
        await take_commitment(
            session, payload=payload, home_node=settings.public_url, settings=settings
        )
    else:
        await sharing.send_to_host(
            session,
            verb="Join",
            payload=payload,
            host=host,
            node_id=settings.public_url,
            expires_at=shift.start_date,
        )
    return signup


async def withdraw(
    session: AsyncSession, *, signup_id: str, user: User, settings: Settings
) -> CanvassSignup:
    signup = await repository.get_signup(session, signup_id=signup_id)
    if signup is None or signup.user_id != user.id:
        raise SignupNotFound(f"You have no sign-up {signup_id}.")
    await _withdraw(session, signup=signup, settings=settings)
    return signup


async def withdraw_everything(
    session: AsyncSession, *, user: User, settings: Settings
) -> list[WithdrawnSignup]:
    """Her erasure, for canvassing: each active sign-up withdrawn exactly as she would withdraw
    it herself, in the caller's transaction, and her name and contact gone from every
    activity this node keeps about any of her sign-ups."""
    assert user.id is not None  # noqa: S101 -- users come from the database
    withdrawn = []
    for signup in await repository.signups_of_user(session, user_id=user.id):
        receipt = await _withdraw(session, signup=signup, settings=settings)
        if receipt is not None:
            withdrawn.append(receipt)
    return withdrawn


async def forget_contact_of(session: AsyncSession, *, user: User) -> int:
    """Her member record is erased: what it lent her sign-ups goes too, and the sign-ups stay
    (she still has her login). The activities this node keeps or has yet to send about them
    drop her name and contact (``federation.retention``), and so do the roster rows of this
    node's own calls. A host elsewhere that already received her contact keeps it until she
    withdraws. Returns how many sign-ups were concerned."""
    assert user.id is not None  # noqa: S101 -- users come from the database
    signups = await repository.signups_of_user(session, user_id=user.id)
    await retention.forget_sent(session, object_ids=[signup.object_id for signup in signups])
    for signup in signups:
        row = await repository.commitment_by_object_id(session, object_id=signup.object_id)
        if row is not None:
            _forget_personal_data(row)
            session.add(row)
    return len(signups)


async def _withdraw(
    session: AsyncSession, *, signup: CanvassSignup, settings: Settings
) -> WithdrawnSignup | None:
    """Withdraw one sign-up: free her place on our own shift, or tell the host (``Undo``).

    The activities about it forget her name and contact now (``federation.retention``), even
    a ``Join`` still waiting to go: it then tells the host only her handle. ``None`` when the
    sign-up was not active (nothing to withdraw).
    """
    await retention.forget_sent(session, object_ids=[signup.object_id])
    if signup.state not in ACTIVE_SIGNUP_STATES:
        return None
    shift = await repository.shift_by_object_id(session, object_id=signup.shift_object_id)
    call = await repository.call_by_object_id(session, object_id=signup.call_object_id)
    _set_signup_state(signup, SignupState.withdrawn, None, None)
    session.add(signup)
    await session.flush()
    receipt = WithdrawnSignup(
        id=signup.id,
        call_object_id=signup.call_object_id,
        shift_object_id=signup.shift_object_id,
        host=call.origin if call else signup.call_object_id,
        host_told=False,
    )
    payload = sharing.commitment(signup, given_name=None, email=None, phone=None)
    if shift is not None and await _is_local_shift(session, shift=shift, settings=settings):
        await drop_commitment(
            session, payload=payload, home_node=settings.public_url, settings=settings
        )
        return receipt.model_copy(update={"host_told": True})
    host = await sharing.host_peer(session, origin=call.origin) if call else None
    if host is None or shift is None or host.state not in STILL_ALLIED:
        return receipt  # not (or no longer) an ally: nothing may be sent there (6.6)
    await sharing.send_to_host(
        session,
        verb="Undo",
        payload=payload,
        host=host,
        node_id=settings.public_url,
        expires_at=shift.start_date,
    )
    return receipt.model_copy(update={"host_told": True})


async def my_signups(session: AsyncSession, *, user: User) -> list[CanvassSignup]:
    assert user.id is not None  # noqa: S101 -- users come from the database
    return await repository.signups_of_user(session, user_id=user.id)


async def _is_local_shift(
    session: AsyncSession, *, shift: CanvassShift, settings: Settings
) -> bool:
    call = await repository.get_call(session, call_id=shift.call_id)
    return call is not None and call.origin == settings.public_url


def first_name(*, member: Member | None, user: User) -> str | None:
    """Her first name as this node knows it: her member record's, else the first word of her
    account's name. Many volunteers have only a login (no member record matches its email):
    their account's name is all the node has, and the host gets no more of it than the first
    word."""
    if member is not None and member.given_name.strip():
        return member.given_name.strip()
    words = user.display_name.split()
    return words[0] if words else None


def _set_signup_state(
    signup: CanvassSignup, state: SignupState, position: int | None, reason: str | None
) -> None:
    signup.state = state
    signup.waitlist_position = position if state is SignupState.waitlisted else None
    signup.reason = reason
    signup.updated_at = utcnow()


# ---- what allies send -----------------------------------------------------------------------


async def apply_call(session: AsyncSession, *, incoming: wire.CanvassCall, peer: Peer) -> None:
    """Keep an ally's call, if newer; a cancelled shift cancels this node's sign-ups for it."""
    if incoming.attributed_to != peer.node_id:
        raise OriginMismatch("A call can only come from the node it is attributed to.")
    call = await repository.call_by_object_id(session, object_id=incoming.id)
    if call is not None:
        if call.origin != peer.node_id:
            raise OriginMismatch("That call belongs to another node.")
        if not is_newer(incoming.version, call.version):
            return
    fields: dict[str, Any] = {
        "version": incoming.version,
        "title": incoming.title,
        "campaign_kind": CampaignKind(incoming.campaign.kind.value),
        "campaign_name": incoming.campaign.name,
        "wards": list(incoming.wards),
        "turf_description": incoming.turf_description,
        "staging_location": incoming.staging_location.model_dump(mode="json", exclude_none=True),
        "languages_needed": list(incoming.languages_needed),
        "materials": incoming.materials,
        "contact": incoming.contact.model_dump(mode="json", exclude_none=True)
        if incoming.contact
        else None,
        "status": CallStatus(incoming.status.value),
        "expires_at": incoming.expires_at,
        "updated_at": utcnow(),
    }
    posted = call is None
    if call is None:
        call = CanvassCall(
            object_id=incoming.id, origin=peer.node_id, created_at=utcnow(), **fields
        )
    else:
        for name, value in fields.items():
            setattr(call, name, value)
    session.add(call)
    await session.flush()
    held = {
        shift.object_id: shift for shift in await repository.shifts_of(session, call_id=call.id)
    }
    closed, filled = [], []
    for position, given in enumerate(incoming.shifts):
        shift = held.get(given.id) or CanvassShift(
            call_id=call.id,
            object_id=given.id,
            position=position,
            start_date=given.start_date,
            end_date=given.end_date,
            capacity=given.capacity,
        )
        was_full = given.id in held and shift.committed >= shift.capacity
        shift.position = position
        shift.start_date, shift.end_date = given.start_date, given.end_date
        shift.capacity, shift.committed, shift.waitlisted = (
            given.capacity,
            given.committed,
            given.waitlisted,
        )
        shift.status = ShiftStatus(given.status.value)
        if shift.status is ShiftStatus.cancelled or call.status is CallStatus.cancelled:
            closed.append(shift.object_id)
        elif not was_full and shift.committed >= shift.capacity:
            filled.append(shift)
        session.add(shift)
    # The host's word on each commitment normally arrives as its own answer; this makes sure a
    # volunteer learns of a cancellation even if that answer expired or was never sent.
    for signup in await repository.active_signups_for_shifts(
        session, shift_object_ids=closed, states=ACTIVE_SIGNUP_STATES
    ):
        _set_signup_state(signup, SignupState.cancelled, None, "The host cancelled the shift.")
        session.add(signup)
    await session.flush()
    if posted:
        await webhooks.notify(session, event_type="canvass_call.posted", object=call)
    for shift in filled:
        await webhooks.notify(session, event_type="canvass_shift.filled", object=call, shift=shift)


async def apply_status(
    session: AsyncSession, *, status: wire.CommitmentStatus, peer: Peer, settings: Settings
) -> None:
    """The host's answer about one of our volunteers' commitments."""
    signup = await repository.signup_by_object_id(session, object_id=status.commitment)
    if signup is None:
        return
    call = await repository.call_by_object_id(session, object_id=signup.call_object_id)
    if call is None or call.origin != peer.node_id or status.shift != signup.shift_object_id:
        raise OriginMismatch("Only the call's host answers a commitment to it.")
    if signup.state is SignupState.withdrawn:
        return  # she withdrew; an answer crossing her withdrawal changes nothing
    _set_signup_state(
        signup, SignupState(status.state.value), status.waitlist_position, status.reason
    )
    session.add(signup)


async def apply_report(session: AsyncSession, *, report: wire.CanvassReport, peer: Peer) -> None:
    call = await repository.call_by_object_id(session, object_id=report.call)
    if call is None:
        return  # a call this node never held (an ally that joined after it ended): nothing to do
    if call.origin != peer.node_id:
        raise OriginMismatch("Only the call's host reports on it.")
    if await repository.report_by_object_id(session, object_id=report.id) is not None:
        return
    session.add(
        CanvassReport(
            object_id=report.id,
            call_id=call.id,
            shift_object_id=report.shift,
            precincts=[row.model_dump(mode="json") for row in report.precincts],
            published_at=report.published,
        )
    )
    call.updated_at = utcnow()  # as on the host: the call shows its new report to partners
