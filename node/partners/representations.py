"""What partners read: the shared work as OSDI / Action Network / Mobilize clients expect it.

Each representation is built from a row by one mapper (``event_of``, ``forum_of`` ...), so
what a partner sees is decided here and nowhere else. The mappers copy named fields only:
no sign-up, commitment, member, volunteer name, handle or contact ever reaches them (a canvass
call's day-of contact is a person's phone, and is left out too).

Common to every object:

- ``id``: this node's key for the row, for ``GET /api/v1/partner/<kind>/{id}``;
- ``identifiers``: the OSDI array, ``["ipo-node:<object URL>"]``, the same on every node;
- ``origin``: the organization that owns it (its only writer), and whether it is this node,
  an ally, or a former ally;
- ``created_date`` / ``modified_date`` (``modified_date`` is when *this* node last changed or
  received it, which is what ``updated_since`` compares), ISO 8601 in UTC with an offset.
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
from node.events.models import Event, Location, Origin
from node.forums.models import ForumPlan
from schemas.endorsement import Candidate, Race, ReferendumPosition, VoteSummary

Relation = Literal["self", "ally", "former_ally"]
_RELATIONS: dict[str, Relation] = {
    "this_node": "self",
    "ally": "ally",
    "former_ally": "former_ally",
}


def identifiers_of(object_id: str) -> list[str]:
    return [f"ipo-node:{object_id}"]


class OrganizationRef(BaseModel):
    """An organization (a node), named."""

    id: str = Field(description="The organization's node URL: its id across the coalition.")
    name: str
    relation: Relation = Field(
        description="`self` (this node), `ally`, or `former_ally` (what it shared before its "
        "alliance ended is kept, and only its public objects are served)."
    )


def origin_ref(node_id: str, origins: Mapping[str, Origin]) -> OrganizationRef:
    known = origins.get(node_id, Origin(name=node_id, relation="former_ally"))
    return OrganizationRef(id=node_id, name=known.name, relation=_RELATIONS[known.relation])


class _Shared(BaseModel):
    id: str = Field(description="This node's key for the object, for the `/{id}` route.")
    identifiers: list[str] = Field(description='OSDI identifiers: `["ipo-node:<object URL>"]`.')
    origin: OrganizationRef
    version: int = Field(description="Bumped by the origin on every change.")
    created_date: datetime
    modified_date: datetime


class PartnerEvent(_Shared):
    """An event (OSDI / Mobilize names; `wards` and `precincts` are Chicago geography)."""

    title: str
    description: str
    start_date: datetime
    end_date: datetime
    timezone: str = Field(description="IANA time zone the event is held in.")
    location: Location | None
    virtual_action_url: str | None = Field(description="Where to join online (Mobilize name).")
    status: str = Field(description="`confirmed`, `tentative` or `cancelled`.")
    visibility: str = Field(description="`public` or `coalition`; private is never served.")
    event_type: str
    wards: list[int]
    precincts: list[str]
    capacity: int | None


def event_of(event: Event, *, origins: Mapping[str, Origin]) -> PartnerEvent:
    return PartnerEvent(
        id=event.id,
        identifiers=identifiers_of(event.object_id),
        origin=origin_ref(event.origin, origins),
        version=event.version,
        title=event.title,
        description=event.description,
        start_date=event.start_date,
        end_date=event.end_date,
        timezone=event.timezone,
        location=Location.model_validate(event.location) if event.location else None,
        virtual_action_url=event.online_url,
        status=event.status.value,
        visibility=event.visibility.value,
        event_type=event.event_type.value,
        wards=list(event.wards),
        precincts=list(event.precincts),
        capacity=event.capacity,
        created_date=event.created_at,
        modified_date=event.updated_at,
    )


class CoHost(BaseModel):
    organization: OrganizationRef
    status: str = Field(description="`invited`, `accepted` or `declined`.")


class ForumRole(BaseModel):
    name: str = Field(description="moderator, timekeeper, interpreter, av, childcare ...")
    assigned_to: OrganizationRef | None


class CandidateInvitation(BaseModel):
    name: str
    race: str
    status: str = Field(description="`invited`, `confirmed`, `declined` or `no_response`.")


class AgendaItem(BaseModel):
    title: str
    position: int
    duration_minutes: int


class PartnerForum(_Shared):
    """A candidate forum: an event (`event_type` FORUM) with its co-hosts and programme.

    Co-hosts' question submissions and the planning task list are internal to the co-hosts
    and are not served."""

    title: str
    description: str
    start_date: datetime
    end_date: datetime
    timezone: str
    location: Location | None
    virtual_action_url: str | None
    status: str
    visibility: str
    event_type: Literal["FORUM"] = "FORUM"
    capacity: int | None
    languages: list[str]
    interpretation: str
    accessibility_notes: str
    co_hosts: list[CoHost]
    roles: list[ForumRole]
    candidate_invitations: list[CandidateInvitation]
    agenda_items: list[AgendaItem]


def forum_of(plan: ForumPlan, *, origins: Mapping[str, Origin]) -> PartnerForum:
    def org(node_id: str | None) -> OrganizationRef | None:
        return origin_ref(node_id, origins) if node_id else None

    return PartnerForum(
        id=plan.id,
        identifiers=identifiers_of(plan.object_id),
        origin=origin_ref(plan.origin, origins),
        version=plan.version,
        title=plan.title,
        description=plan.description,
        start_date=plan.start_date,
        end_date=plan.end_date,
        timezone=plan.timezone,
        location=Location.model_validate(plan.location) if plan.location else None,
        virtual_action_url=plan.online_url,
        status=plan.status.value,
        visibility=plan.visibility.value,
        capacity=plan.capacity,
        languages=list(plan.languages),
        interpretation=plan.interpretation,
        accessibility_notes=plan.accessibility_notes,
        co_hosts=[
            CoHost(organization=origin_ref(c["node"], origins), status=c["status"])
            for c in plan.co_hosts
        ],
        roles=[
            ForumRole(name=r["name"], assigned_to=org(r.get("assigned_to"))) for r in plan.roles
        ],
        candidate_invitations=[
            CandidateInvitation(name=c["name"], race=c["race"], status=c["status"])
            for c in plan.candidate_invitations
        ],
        agenda_items=[
            AgendaItem(
                title=a["title"], position=a["position"], duration_minutes=a["duration_minutes"]
            )
            for a in sorted(plan.agenda_items, key=lambda item: item["position"])
        ],
        created_date=plan.created_at,
        modified_date=plan.updated_at,
    )


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


class PartnerEndorsement(_Shared):
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


class Campaign(BaseModel):
    kind: str = Field(description="`candidate` or `referendum`.")
    name: str


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


class PartnerCanvassCall(_Shared):
    """A cross-ward canvass call: shifts with counts and post-shift aggregates. Sign-ups,
    volunteers and the day-of contact are never served."""

    title: str
    campaign: Campaign
    wards: list[int]
    turf_description: str
    staging_location: Location
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
        staging_location=Location.model_validate(call.staging_location),
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


class DeletedObject(BaseModel):
    """A tombstone (Mobilize `deleted`): drop this object from your copy."""

    id: str = Field(description="The key it was served under.")
    identifiers: list[str]
    object_type: Literal["event", "forum", "endorsement", "canvass_call"]
    origin: OrganizationRef
    version: int = Field(description="The origin's version at deletion.")
    deleted_date: datetime


class EndorsementBundle(BaseModel):
    """What ``ipo-node verify FILE`` checks: the endorsement as signed and the signers' keys."""

    type: Literal["EndorsementBundle"]
    bundle_version: int
    exported_by: str
    endorsement: dict[str, Any] = Field(description="The JointEndorsement, as on the wire.")
    keys: dict[str, Any] = Field(description="Each signer's JWKS, by node URL.")


def deleted_event(event: Event, *, origins: Mapping[str, Origin]) -> DeletedObject:
    return DeletedObject(
        id=event.id,
        identifiers=identifiers_of(event.object_id),
        object_type="event",
        origin=origin_ref(event.origin, origins),
        version=event.version,
        deleted_date=event.deleted_at or event.updated_at,
    )
