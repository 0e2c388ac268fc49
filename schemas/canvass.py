"""Cross-ward canvass calls: the call, a volunteer's commitment, the host's answer, the report.

A ``CanvassCall`` has one origin (the host ward), its only writer. Allies whose alliance covers
``canvass`` hold a replica; their volunteers commit from their own node. The exchange::

    host ──Create/Update CanvassCall──> allies        (every change, with per-shift counts)
    volunteer's node ──Join CanvassCommitment──> host  (a handle; a first name and contact
                                                         only with the volunteer's consent)
    volunteer's node ──Undo CanvassCommitment──> host  (she withdrew)
    host ──Accept/Reject CommitmentStatus──> volunteer's node
                                               (committed | waitlisted | refused | cancelled)
    host ──Create CanvassReport──> allies              (per-precinct aggregates; counts
                                                         under 5 suppressed before sending)

A commitment's ``id`` is under the volunteer's node: it authors it. The host's answer names
the commitment by URL and has its own id under the host.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, model_validator

from schemas.base import (
    MAX_WIRE_INTEGER,
    Count,
    Line,
    Location,
    NodeId,
    NonBlankLine,
    ObjectId,
    Precinct,
    Text,
    Timestamp,
    Version,
    Wards,
    WireModel,
)
from schemas.origin import same_origin

SUPPRESSION_THRESHOLD = 5
"""Aggregate counts below this, per precinct, never leave the host node."""

ShortText = Annotated[NonBlankLine, Field(min_length=1, max_length=200)]
Language = Annotated[NonBlankLine, Field(min_length=1, max_length=64)]


class CampaignKind(StrEnum):
    """What the canvass is for."""

    CANDIDATE = "candidate"
    REFERENDUM = "referendum"


class Campaign(WireModel):
    """The candidate or referendum the canvass supports."""

    kind: CampaignKind
    """A candidate's campaign or a referendum."""
    name: ShortText
    """The candidate's name or the referendum's title."""


class DayContact(WireModel):
    """Who volunteers reach on the day: the host's published coordinator contact."""

    name: ShortText
    """The coordinator's name as the host chose to publish it."""
    phone: Line | None = Field(default=None, max_length=32)
    """A phone number for the day, if the host publishes one."""


class ShiftStatus(StrEnum):
    """Whether a shift is going ahead."""

    OPEN = "open"
    CANCELLED = "cancelled"


class Shift(WireModel):
    """One shift of a call, with the host's current counts."""

    id: ObjectId
    """The shift's URL under the call's origin."""
    start_date: Timestamp
    """When volunteers meet at the staging location."""
    end_date: Timestamp
    """When the shift ends."""
    capacity: int = Field(ge=0, le=10_000)
    """How many volunteers the host can use."""
    committed: Count
    """Volunteers holding a place."""
    waitlisted: Count
    """Volunteers waiting for a place."""
    remaining: Count
    """Places still free: ``capacity - committed``, never negative."""
    status: ShiftStatus = ShiftStatus.OPEN
    """A cancelled shift takes no commitments."""


class CallStatus(StrEnum):
    """Whether the call stands."""

    ACTIVE = "active"
    CANCELLED = "cancelled"


class CanvassCall(WireModel):
    """A ward's call for volunteers, shared with allies covering ``canvass``.

    Rules receivers enforce: every shift ends after it starts and is under the call's origin;
    ``id`` is under ``attributed_to``.
    """

    type: Literal["CanvassCall"]
    """The object type."""
    schema_version: Literal[1]
    """The version of this object's schema."""
    id: ObjectId
    """The call's URL on its origin node."""
    attributed_to: NodeId
    """The host node: the call's only writer."""
    version: Version
    """Bumped by the host on every change, counts included."""
    title: ShortText
    """What the call is, in a line."""
    campaign: Campaign
    """The candidate or referendum."""
    wards: Wards = Field(default_factory=list)
    """The wards to be canvassed."""
    turf_description: Text = Field(default="", max_length=2000)
    """Which streets or precincts, in words (never a walk list)."""
    staging_location: Location
    """Where volunteers meet."""
    shifts: list[Shift] = Field(min_length=1, max_length=50)
    """The shifts, in order of start."""
    languages_needed: list[Language] = Field(default_factory=list, max_length=20)
    """Languages the turf needs spoken."""
    materials: Text = Field(default="", max_length=2000)
    """What volunteers bring or are given."""
    contact: DayContact | None = None
    """Who to reach on the day."""
    status: CallStatus = CallStatus.ACTIVE
    """A cancelled call takes no commitments."""
    expires_at: Timestamp
    """The start of the last shift: after it, the call is history."""
    created_date: Timestamp
    """When the host posted it."""
    modified_date: Timestamp
    """When the host last changed it (counts included)."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not same_origin(self.id, self.attributed_to):
            raise ValueError("a call's id must be under the origin it is attributed to")
        for shift in self.shifts:
            if shift.end_date <= shift.start_date:
                raise ValueError("a shift must end after it starts")
            if not same_origin(shift.id, self.attributed_to):
                raise ValueError("a shift's id must be under the call's origin")
        return self


class VolunteerContact(WireModel):
    """A volunteer's contact, present only when she ticked "share my contact with the host"."""

    email: Line | None = Field(default=None, max_length=320)
    """Her email."""
    phone: Line | None = Field(default=None, max_length=32)
    """Her phone."""


class CanvassCommitment(WireModel):
    """A volunteer's commitment to a shift, sent by her home node (``Join``; ``Undo`` withdraws).

    Carries a pseudonymous ``handle``; ``given_name`` only if she allowed it, ``contact`` only
    if she consented to share it with the host. Nothing else about her crosses the wire.
    """

    personal_fields: ClassVar[tuple[str, ...]] = ("given_name", "contact")
    """The fields that are her personal data: neither node keeps them in its activity log once
    the activity has done its work (FEDERATION.md section 7.8.5)."""

    type: Literal["CanvassCommitment"]
    """The object type."""
    id: ObjectId
    """The sign-up's URL on the volunteer's node (her node authors it)."""
    call: ObjectId
    """The call committed to."""
    shift: ObjectId
    """The shift committed to."""
    handle: str = Field(min_length=4, max_length=64, pattern=r"^[a-z0-9-]+$")
    """A pseudonym, stable for this sign-up, meaningless elsewhere."""
    given_name: Line | None = Field(default=None, max_length=120)
    """Her first name, only if she allowed it."""
    contact: VolunteerContact | None = None
    """Her contact, only with her consent."""


class CommitmentState(StrEnum):
    """Where a commitment stands, as the host decided."""

    COMMITTED = "committed"
    WAITLISTED = "waitlisted"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"


class CommitmentStatus(WireModel):
    """The host's answer about one commitment (``Accept`` or ``Reject``)."""

    type: Literal["CommitmentStatus"]
    """The object type."""
    id: ObjectId
    """This answer's URL under the host."""
    commitment: ObjectId
    """The commitment answered, under the volunteer's node."""
    call: ObjectId
    """Its call."""
    shift: ObjectId
    """Its shift."""
    state: CommitmentState
    """Where it stands now."""
    waitlist_position: int | None = Field(default=None, ge=1, le=MAX_WIRE_INTEGER)
    """Her place in the queue, when waitlisted."""
    reason: Text | None = Field(default=None, max_length=500)
    """Why, for a refusal or a cancellation."""


class PrecinctCounts(WireModel):
    """One precinct's aggregates; ``null`` means "under 5, suppressed by the host"."""

    precinct: Precinct
    """The precinct, as the host names it."""
    doors_knocked: int | None = Field(default=None, ge=SUPPRESSION_THRESHOLD, le=MAX_WIRE_INTEGER)
    """Doors knocked."""
    conversations: int | None = Field(default=None, ge=SUPPRESSION_THRESHOLD, le=MAX_WIRE_INTEGER)
    """Conversations held."""
    signups: int | None = Field(default=None, ge=SUPPRESSION_THRESHOLD, le=MAX_WIRE_INTEGER)
    """Sign-ups collected."""


class CanvassReport(WireModel):
    """Aggregates of a shift, posted by the host after it. No count under 5 is ever sent."""

    type: Literal["CanvassReport"]
    """The object type."""
    id: ObjectId
    """The report's URL under the host."""
    call: ObjectId
    """The call reported on."""
    shift: ObjectId
    """The shift reported on."""
    precincts: list[PrecinctCounts] = Field(min_length=1, max_length=200)
    """Per precinct counts."""
    published: Timestamp
    """When the host posted it."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for other in (self.call, self.shift):
            if not same_origin(self.id, other):
                raise ValueError("a report is by the call's origin")
        return self
