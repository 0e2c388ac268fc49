"""Canvass calls on the wire: mapping to and from ``schemas.canvass``, and what is enqueued.

Every outgoing activity is enqueued in the caller's transaction and expires when it can no
longer help: a call (and every update of its counts) at the start of its last shift, a
commitment or an answer about one at the start of its shift. A late delivery would only
mislead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from federation.models import Peer
from federation.outbox import allies_sharing, build_activity, enqueue
from federation.peers import get_peer
from node.canvass.models import (
    CanvassCall,
    CanvassReport,
    CanvassShift,
    CanvassSignup,
    CommitmentState,
)
from schemas import canvass as wire
from schemas.activity import ActivityType
from schemas.base import Location

SCOPE = "canvass"


def to_wire(call: CanvassCall, shifts: Sequence[CanvassShift]) -> wire.CanvassCall:
    """The call as allies receive it: the host's published details and counts, nothing else."""
    contact = wire.DayContact.model_validate(call.contact) if call.contact else None
    return wire.CanvassCall(
        type="CanvassCall",
        schema_version=1,
        id=call.object_id,
        attributed_to=call.origin,
        version=call.version,
        title=call.title,
        campaign=wire.Campaign(kind=wire.CampaignKind(call.campaign_kind), name=call.campaign_name),
        wards=call.wards,
        turf_description=call.turf_description,
        staging_location=Location.model_validate(call.staging_location),
        shifts=[
            wire.Shift(
                id=shift.object_id,
                start_date=shift.start_date,
                end_date=shift.end_date,
                capacity=shift.capacity,
                committed=shift.committed,
                waitlisted=shift.waitlisted,
                remaining=shift.remaining,
                status=wire.ShiftStatus(shift.status.value),
            )
            for shift in shifts
        ],
        languages_needed=call.languages_needed,
        materials=call.materials,
        contact=contact,
        status=wire.CallStatus(call.status.value),
        expires_at=call.expires_at,
        created_date=call.created_at,
        modified_date=call.updated_at,
    )


async def share_call(
    session: AsyncSession,
    *,
    call: CanvassCall,
    shifts: Sequence[CanvassShift],
    node_id: str,
    recipients: Sequence[Peer] | None = None,
    first: bool = False,
) -> None:
    """Send the call's current state to allies: ``Create`` at version 1 or to a new ally
    (``first``), else ``Update``."""
    if recipients is None:
        recipients = await allies_sharing(session, scope=SCOPE)
    if not recipients:
        return
    verb: ActivityType = "Create" if call.version == 1 or first else "Update"
    activity = build_activity(
        node_id=node_id,
        type=verb,
        object=to_wire(call, shifts),
        to=[peer.node_id for peer in recipients],
    )
    await enqueue(session, activity=activity, recipients=recipients, expires_at=call.expires_at)


async def allies_shared_with(session: AsyncSession) -> list[Peer]:
    """The allies this node's calls go to: each may fill its share of every shift."""
    return await allies_sharing(session, scope=SCOPE)


def commitment(
    signup: CanvassSignup, *, given_name: str | None, email: str | None, phone: str | None
) -> wire.CanvassCommitment:
    """What the host learns of a sign-up: the handle, and only what she agreed to share."""
    contact = None
    if signup.share_contact and (email or phone):
        contact = wire.VolunteerContact(email=email or None, phone=phone or None)
    return wire.CanvassCommitment(
        type="CanvassCommitment",
        id=signup.object_id,
        call=signup.call_object_id,
        shift=signup.shift_object_id,
        handle=signup.handle,
        given_name=(given_name or None) if signup.share_first_name else None,
        contact=contact,
    )


async def host_peer(session: AsyncSession, *, origin: str) -> Peer | None:
    """The host as a peer this node may send canvass activities to, if it is one."""
    peer = await get_peer(session, node_id=origin)
    if peer is None or SCOPE not in peer.scopes:
        return None
    return peer


async def send_to_host(
    session: AsyncSession,
    *,
    verb: ActivityType,
    payload: wire.CanvassCommitment,
    host: Peer,
    node_id: str,
    expires_at: datetime,
) -> None:
    """A ``Join`` (commit) or ``Undo`` (withdraw) for the host, expiring at the shift start."""
    activity = build_activity(node_id=node_id, type=verb, object=payload, to=[host.node_id])
    await enqueue(session, activity=activity, recipients=[host], expires_at=expires_at)


async def answer_volunteer_node(
    session: AsyncSession,
    *,
    home: Peer,
    node_id: str,
    commitment_id: str,
    call_object_id: str,
    shift: CanvassShift,
    state: CommitmentState,
    waitlist_position: int | None = None,
    reason: str | None = None,
) -> None:
    """Tell a volunteer's node where her commitment stands (``Accept`` or ``Reject``)."""
    status = wire.CommitmentStatus(
        type="CommitmentStatus",
        id=f"{node_id}/canvass-answers/{_suffix(commitment_id)}/{state.value}-{_tick()}",
        commitment=commitment_id,
        call=call_object_id,
        shift=shift.object_id,
        state=wire.CommitmentState(state.value),
        waitlist_position=waitlist_position,
        reason=reason,
    )
    verb: ActivityType = (
        "Accept" if state in (CommitmentState.committed, CommitmentState.waitlisted) else "Reject"
    )
    activity = build_activity(node_id=node_id, type=verb, object=status, to=[home.node_id])
    await enqueue(session, activity=activity, recipients=[home], expires_at=shift.start_date)


def report_to_wire(report: CanvassReport, *, call: CanvassCall) -> wire.CanvassReport:
    """The report as it may leave the node: every count under 5 replaced by ``null``."""
    return wire.CanvassReport(
        type="CanvassReport",
        id=report.object_id,
        call=call.object_id,
        shift=report.shift_object_id,
        precincts=[
            wire.PrecinctCounts(
                precinct=row["precinct"],
                doors_knocked=suppress(row.get("doors_knocked")),
                conversations=suppress(row.get("conversations")),
                signups=suppress(row.get("signups")),
            )
            for row in report.precincts
        ],
        published=report.published_at,
    )


def suppress(count: int | None) -> int | None:
    """A count that may be published, or ``None`` when it is small enough to identify people."""
    if count is None or count < wire.SUPPRESSION_THRESHOLD:
        return None
    return count


async def share_report(
    session: AsyncSession, *, report: CanvassReport, call: CanvassCall, node_id: str
) -> None:
    recipients = await allies_sharing(session, scope=SCOPE)
    if not recipients:
        return
    activity = build_activity(
        node_id=node_id,
        type="Create",
        object=report_to_wire(report, call=call),
        to=[peer.node_id for peer in recipients],
    )
    await enqueue(session, activity=activity, recipients=recipients)


def _suffix(object_id: str) -> str:
    return object_id.rstrip("/").rsplit("/", 1)[-1]


def _tick() -> str:
    return str(uuid.uuid4())
