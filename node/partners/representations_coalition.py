"""What partners read of the coalition's shared work: endorsements, canvass calls, organizations.

The conventions (one mapper per kind, named fields only, the common ``id`` / ``identifiers`` /
``origin`` / dates) are described in ``node.partners.representations``. These objects are few
per page and carry nested wire values (vote summaries, races), so they are still validated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from node.canvass.models import CanvassCall, CanvassReport, CanvassShift
from node.canvass.sharing import suppress
from node.endorsements.models import Endorsement, EndorsementSignatureRecord
from node.endorsements.sharing import signed_count, status_of
from node.events.models import LocationPublic, Origin
from node.partners.representations import (
    Campaign,
    OrganizationRef,
    SharedObject,
    identifiers_of,
    origin_ref,
)
from schemas.endorsement import Candidate, Race, ReferendumPosition, VoteSummary


class Signature(BaseModel):
    signer: OrganizationRef
    decision: Literal["sign", "decline"]
    content_version: int = Field(description="The content version the JWS covers.")
    current: bool = Field(description="Whether it covers the endorsement's current content.")
    verified: bool = Field(
        description="Whether this node checked the JWS against the signer's keys."
    )
    signed_at: datetime = Field(description="When this node received the answer.")
    vote_summary: VoteSummary | None = Field(description="The signer's member vote, if attached.")
    jws: str = Field(description="Detached compact JWS; see the bundle to check it offline.")


class Rule(BaseModel):
    kind: Literal["all", "at_least"] = Field(description="All required signers, or a threshold.")
    threshold: int | None
    needed: int = Field(description="How many signatures ratify it.")


class PartnerEndorsement(SharedObject):
    """A joint endorsement, its signatures and status (`expired` is computed on read)."""

    candidate: Candidate | None
    position: ReferendumPosition | None = Field(description="For a referendum: the stance.")
    race: Race
    statement: str
    tier: str = Field(description="`endorse` or `recommend`.")
    status: str = Field(description="`collecting`, `ratified`, `withdrawn` or `expired`.")
    proposer: OrganizationRef
    required_signers: list[OrganizationRef]
    decision_rule: Rule
    deadline: datetime | None
    content_version: int
    signed: int
    signatures: list[Signature]
    bundle_url: str = Field(description="The verification bundle (`ipo-node verify FILE`).")


def endorsement_of(
    endorsement: Endorsement,
    records: Sequence[EndorsementSignatureRecord],
    *,
    origins: Mapping[str, Origin],
    now: datetime,
    bundle_url: str,
) -> PartnerEndorsement:
    candidate = (
        Candidate(name=endorsement.candidate_name, campaign_url=endorsement.candidate_url)
        if endorsement.candidate_name
        else None
    )
    position = (
        ReferendumPosition(measure=endorsement.measure, stance=endorsement.stance)
        if endorsement.measure
        else None
    )
    proposer = origin_ref(endorsement.origin, origins)
    return PartnerEndorsement(
        id=endorsement.id,
        identifiers=identifiers_of(endorsement.object_id),
        origin=proposer,
        version=endorsement.version,
        candidate=candidate,
        position=position,
        race=Race(
            office=endorsement.office,
            district=endorsement.district,
            election_date=endorsement.election_date,
            election_type=endorsement.election_type,
        ),
        statement=endorsement.statement,
        tier=endorsement.tier,
        status=status_of(endorsement, now),
        proposer=proposer,
        required_signers=[origin_ref(node, origins) for node in endorsement.required_signers],
        decision_rule=Rule(
            kind=endorsement.rule_kind,
            threshold=endorsement.rule_threshold,
            needed=endorsement.needed,
        ),
        deadline=endorsement.deadline,
        content_version=endorsement.content_version,
        signed=signed_count(endorsement, records),
        signatures=[_signature(endorsement, record, origins) for record in records],
        bundle_url=bundle_url,
        created_date=endorsement.created_at,
        modified_date=endorsement.updated_at,
    )


def _signature(
    endorsement: Endorsement, record: EndorsementSignatureRecord, origins: Mapping[str, Origin]
) -> Signature:
    return Signature(
        signer=origin_ref(record.signer, origins),
        decision=record.decision,
        content_version=record.content_version,
        current=record.content_version == endorsement.content_version,
        verified=record.is_verified,
        signed_at=record.received_at,
        vote_summary=VoteSummary.model_validate(record.vote_summary)
        if record.vote_summary
        else None,
        jws=record.jws,
    )


class Shift(BaseModel):
    """A shift (Mobilize `timeslot`): counts only, never who."""

    identifiers: list[str]
    start_date: datetime
    end_date: datetime
    capacity: int
    committed: int
    waitlisted: int
    remaining: int
    status: str = Field(description="`open` or `cancelled`.")


class PrecinctCounts(BaseModel):
    precinct: str
    doors_knocked: int | None = Field(description="Null: under 5, suppressed.")
    conversations: int | None = Field(description="Null: under 5, suppressed.")
    signups: int | None = Field(description="Null: under 5, suppressed.")


class Report(BaseModel):
    """Aggregates after a shift; every count under 5 is suppressed (null)."""

    identifiers: list[str]
    shift: list[str] = Field(description="The identifiers of the shift it reports on.")
    precincts: list[PrecinctCounts]
    published_date: datetime


class PartnerCanvassCall(SharedObject):
    """A cross-ward canvass call: shifts with counts and post-shift aggregates. Sign-ups,
    volunteers and the day-of contact are never served."""

    title: str
    campaign: Campaign
    wards: list[int]
    turf_description: str
    staging_location: LocationPublic | None
    languages_needed: list[str]
    materials: str
    status: str = Field(description="`active` or `cancelled`.")
    expires_at: datetime
    shifts: list[Shift]
    reports: list[Report]


def canvass_call_of(
    call: CanvassCall,
    shifts: Sequence[CanvassShift],
    reports: Sequence[CanvassReport],
    *,
    origins: Mapping[str, Origin],
) -> PartnerCanvassCall:
    return PartnerCanvassCall(
        id=call.id,
        identifiers=identifiers_of(call.object_id),
        origin=origin_ref(call.origin, origins),
        version=call.version,
        title=call.title,
        campaign=Campaign(kind=call.campaign_kind.value, name=call.campaign_name),
        wards=list(call.wards),
        turf_description=call.turf_description,
        staging_location=LocationPublic.stored(call.staging_location),
        languages_needed=list(call.languages_needed),
        materials=call.materials,
        status=call.status.value,
        expires_at=call.expires_at,
        shifts=[_shift(shift) for shift in sorted(shifts, key=lambda s: s.position)],
        reports=[_report(report) for report in reports],
        created_date=call.created_at,
        modified_date=call.updated_at,
    )


def _shift(shift: CanvassShift) -> Shift:
    return Shift(
        identifiers=identifiers_of(shift.object_id),
        start_date=shift.start_date,
        end_date=shift.end_date,
        capacity=shift.capacity,
        committed=shift.committed,
        waitlisted=shift.waitlisted,
        remaining=shift.remaining,
        status=shift.status.value,
    )


def _report(report: CanvassReport) -> Report:
    # The host holds raw counts; suppression is applied here too, whoever holds the row.
    return Report(
        identifiers=identifiers_of(report.object_id),
        shift=identifiers_of(report.shift_object_id),
        precincts=[_counts(row) for row in report.precincts],
        published_date=report.published_at,
    )


def _counts(row: Mapping[str, Any]) -> PrecinctCounts:
    return PrecinctCounts(
        precinct=str(row["precinct"]),
        doors_knocked=suppress(row.get("doors_knocked")),
        conversations=suppress(row.get("conversations")),
        signups=suppress(row.get("signups")),
    )


class PartnerOrganization(BaseModel):
    """This node or one of its active allies (OSDI organization, Mobilize `org_type`)."""

    id: str = Field(description="The node URL.")
    identifiers: list[str]
    name: str
    org_type: str = Field(description="`ipo`, `union` or `coalition`.")
    wards: list[int]
    relation: Literal["self", "ally"]
    key_ids: list[str] = Field(description="The `kid`s of its published Ed25519 keys.")
    shares: list[str] = Field(description="The kinds of shared work the alliance covers.")


class EndorsementBundle(BaseModel):
    """What ``ipo-node verify FILE`` checks: the endorsement as signed and the signers' keys."""

    type: Literal["EndorsementBundle"]
    bundle_version: int
    exported_by: str
    endorsement: dict[str, Any] = Field(description="The JointEndorsement, as on the wire.")
    keys: dict[str, Any] = Field(description="Each signer's JWKS, by node URL.")
