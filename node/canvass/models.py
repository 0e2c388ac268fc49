"""Tables and API shapes of the canvass domain.

Two sides of one call live here. The **host** keeps the call (``canvass_call``), its shifts
(``canvass_shift``), the commitments it received (``canvass_commitment``: handles, and a first
name or contact only where the volunteer consented) and its reports (``canvass_report``, raw
counts on the host, suppressed counts on replicas). An **ally** keeps a replica of the call
and its shifts (same tables, with the host as ``origin``) and its own volunteers' sign-ups
(``canvass_signup``): who she is stays in this table and never leaves the node.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    model_validator,
)
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from federation.storage import enum_column, utc_column, utcnow
from node.events.models import Location, LocationPublic, Precinct, StoredShape, Title, Wards
from node.text import FREE_TEXT, ONE_LINE
from schemas import base as wire


def new_id() -> str:
    return str(uuid.uuid4())


class CampaignKind(enum.StrEnum):
    candidate = "candidate"
    referendum = "referendum"


class CallStatus(enum.StrEnum):
    active = "active"
    cancelled = "cancelled"


class ShiftStatus(enum.StrEnum):
    open = "open"
    cancelled = "cancelled"


class CommitmentState(enum.StrEnum):
    """A commitment as the host holds it."""

    committed = "committed"
    waitlisted = "waitlisted"
    refused = "refused"
    cancelled = "cancelled"
    withdrawn = "withdrawn"


class SignupState(enum.StrEnum):
    """A sign-up as the volunteer's node holds it: ``pending`` until the host answers."""

    pending = "pending"
    committed = "committed"
    waitlisted = "waitlisted"
    refused = "refused"
    cancelled = "cancelled"
    withdrawn = "withdrawn"


ACTIVE_SIGNUP_STATES = (SignupState.pending, SignupState.committed, SignupState.waitlisted)


class CanvassCall(SQLModel, table=True):
    __tablename__ = "canvass_call"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    object_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    origin: str = Field(max_length=512, index=True)
    version: int = Field(default=1)
    title: str = Field(max_length=200)
    campaign_kind: CampaignKind = Field(
        sa_column=sa.Column(enum_column(CampaignKind), nullable=False)
    )
    campaign_name: str = Field(max_length=200)
    wards: list[int] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    turf_description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    staging_location: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    languages_needed: list[str] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    materials: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    contact: dict[str, Any] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON, nullable=True)
    )
    # Host only: how many may wait for a place per shift before commitments are refused.
    waitlist_limit: int = Field(default=0)
    # Host only: how many commitments (places and waitlist) each ally may hold per shift;
    # None: a fair share of each shift (``service.fair_share``). Never on the wire.
    ally_share: int | None = Field(default=None)
    status: CallStatus = Field(
        default=CallStatus.active, sa_column=sa.Column(enum_column(CallStatus), nullable=False)
    )
    expires_at: datetime = Field(sa_column=utc_column())
    # Replicas only: when this node's organizers relayed the call to their members.
    relayed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_by: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))

    __table_args__ = (
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("waitlist_limit >= 0", name="waitlist_not_negative"),
        sa.CheckConstraint("ally_share IS NULL OR ally_share >= 1", name="ally_share_positive"),
    )


class CanvassShift(SQLModel, table=True):
    __tablename__ = "canvass_shift"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    call_id: str = Field(
        foreign_key="canvass_call.id", index=True, max_length=36, ondelete="CASCADE"
    )
    object_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    position: int
    start_date: datetime = Field(sa_column=utc_column())
    end_date: datetime = Field(sa_column=utc_column())
    capacity: int
    # On the host, kept equal to the commitments' states; on a replica, as the host sent them.
    committed: int = Field(default=0)
    waitlisted: int = Field(default=0)
    status: ShiftStatus = Field(
        default=ShiftStatus.open, sa_column=sa.Column(enum_column(ShiftStatus), nullable=False)
    )

    __table_args__ = (
        sa.CheckConstraint("end_date > start_date", name="end_after_start"),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    )

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.committed, 0)


class CanvassCommitment(SQLModel, table=True):
    """A commitment the host received (or took from its own member)."""

    __tablename__ = "canvass_commitment"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    object_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    shift_id: str = Field(
        foreign_key="canvass_shift.id", index=True, max_length=36, ondelete="CASCADE"
    )
    home_node: str = Field(max_length=512, index=True)
    handle: str = Field(max_length=64)
    given_name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    state: CommitmentState = Field(
        sa_column=sa.Column(enum_column(CommitmentState), nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CanvassSignup(SQLModel, table=True):
    """A volunteer's sign-up on her own node; the only row that knows who she is."""

    __tablename__ = "canvass_signup"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    object_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    call_object_id: str = Field(max_length=512, index=True)
    shift_object_id: str = Field(max_length=512, index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    handle: str = Field(max_length=64)
    share_first_name: bool = False
    share_contact: bool = False
    state: SignupState = Field(sa_column=sa.Column(enum_column(SignupState), nullable=False))
    waitlist_position: int | None = Field(default=None)
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CanvassReport(SQLModel, table=True):
    """Aggregates after a shift: raw on the host, already suppressed on a replica."""

    __tablename__ = "canvass_report"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    object_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    call_id: str = Field(
        foreign_key="canvass_call.id", index=True, max_length=36, ondelete="CASCADE"
    )
    shift_object_id: str = Field(max_length=512)
    precincts: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    published_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


# ---- API shapes -----------------------------------------------------------------------------

Text2000 = Annotated[str, PydanticField(max_length=2000), FREE_TEXT]
Language = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), ONE_LINE
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), ONE_LINE]


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: CampaignKind
    name: Title


class DayContact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Title
    phone: Phone | None = None


class CampaignPublic(BaseModel):
    """A call's campaign as stored (read back, never judged again: see ``LocationPublic``)."""

    kind: CampaignKind
    name: str


class DayContactPublic(StoredShape):
    """A call's day contact as stored."""

    name: str
    phone: str | None = None


class ShiftCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_date: AwareDatetime
    end_date: AwareDatetime
    # A shift of no places would ask allies for nobody.
    capacity: int = PydanticField(ge=1, le=10_000, description="Places, 1 to 10,000.")

    @model_validator(mode="after")
    def _ends_after_start(self) -> ShiftCreate:
        if self.end_date <= self.start_date:
            raise ValueError("a shift must end after it starts")
        return self


class ShiftChange(BaseModel):
    """A change to one of the call's shifts, named by its ``id``: only the fields sent change.
    A shift that has started or is cancelled cannot change."""

    model_config = ConfigDict(extra="forbid")

    id: str = PydanticField(max_length=36)
    start_date: AwareDatetime | None = None
    end_date: AwareDatetime | None = None
    capacity: int | None = PydanticField(
        default=None,
        ge=1,
        le=10_000,
        description="Places, 1 to 10,000, and never fewer than the volunteers committed now; "
        "more places go first to those on the waitlist, in order.",
    )

    @model_validator(mode="after")
    def _no_null(self) -> ShiftChange:
        unset = self.model_fields_set - {"id"}
        nulled = sorted(name for name in unset if getattr(self, name) is None)
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null; leave it out to keep it")
        return self


AllyShare = Annotated[
    int | None,
    PydanticField(
        ge=1,
        le=10_000,
        description="How many places (waitlist included) each ally's volunteers may hold on "
        "each shift; null: a fair share, the shift's capacity divided equally between the "
        "host and every ally the call is shared with, rounded down, and never less than 1. "
        "The host's own members are limited only by the capacity.",
    ),
]


class CallCreate(BaseModel):
    """A call for volunteers. Shifts must be in the future; ``waitlist_limit`` is how many may
    queue per shift once it is full (0: a full shift refuses further commitments)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    campaign: Campaign
    wards: Wards = PydanticField(default_factory=list)
    turf_description: Text2000 = ""
    staging_location: Location
    shifts: list[ShiftCreate] = PydanticField(min_length=1, max_length=50)
    languages_needed: list[Language] = PydanticField(default_factory=list, max_length=20)
    materials: Text2000 = ""
    contact: DayContact | None = None
    waitlist_limit: int = PydanticField(default=0, ge=0, le=1000)
    ally_share: AllyShare = None


class CallUpdate(BaseModel):
    """A partial change to a call (its host's organizers): only the fields sent change, and a
    request that changes nothing bumps no version. ``contact: null`` removes the day-of
    contact; every other field refuses ``null`` (leave it out to keep it). A list or the
    ``staging_location`` sent replaces the old one whole. ``shifts`` changes existing shifts
    (by id); ``new_shifts`` adds shifts, in the future. Allies receive the new version.
    Lowering ``waitlist_limit`` takes no place on a waitlist from anyone."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    campaign: Campaign | None = None
    wards: Wards | None = None
    turf_description: Text2000 | None = None
    staging_location: Location | None = None
    languages_needed: list[Language] | None = PydanticField(default=None, max_length=20)
    materials: Text2000 | None = None
    contact: DayContact | None = None
    waitlist_limit: int | None = PydanticField(default=None, ge=0, le=1000)
    shifts: list[ShiftChange] | None = PydanticField(default=None, max_length=50)
    new_shifts: list[ShiftCreate] | None = PydanticField(default=None, max_length=50)

    @model_validator(mode="after")
    def _no_null(self) -> CallUpdate:
        nulled = sorted(
            name for name in self.model_fields_set - {"contact"} if getattr(self, name) is None
        )
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null; leave it out to keep it")
        return self


class AllyShareUpdate(BaseModel):
    """The host's per-ally limit for a call; ``null`` goes back to the fair share."""

    model_config = ConfigDict(extra="forbid")

    ally_share: AllyShare


class ShiftPublic(BaseModel):
    id: str
    object_id: str
    start_date: datetime
    end_date: datetime
    capacity: int
    committed: int
    waitlisted: int
    remaining: int
    status: ShiftStatus


class CallPublic(BaseModel):
    id: str
    object_id: str
    origin: str
    is_local: bool
    relayed: bool = PydanticField(description="An ally's call this node relayed to its members.")
    version: int
    title: str
    campaign: CampaignPublic
    wards: list[int]
    turf_description: str
    staging_location: LocationPublic | None
    shifts: list[ShiftPublic]
    languages_needed: list[str]
    materials: str
    contact: DayContactPublic | None
    status: CallStatus
    expires_at: datetime
    created_date: datetime
    modified_date: datetime


class SignupCreate(BaseModel):
    """A volunteer's choices: both default off. Her first name and her contact reach the host
    only if she ticks them, for this sign-up."""

    model_config = ConfigDict(extra="forbid")

    share_first_name: bool = False
    share_contact: bool = PydanticField(
        default=False, description="Share my contact (email, phone) with the host."
    )


class SignupPublic(BaseModel):
    id: str
    call_object_id: str
    shift_object_id: str
    handle: str
    share_first_name: bool
    share_contact: bool
    state: SignupState
    waitlist_position: int | None
    reason: str | None
    created_at: datetime
    updated_at: datetime


class WithdrawnSignup(BaseModel):
    """A sign-up withdrawn when its volunteer erased her account."""

    id: str
    call_object_id: str
    shift_object_id: str
    host: str = PydanticField(description="The node hosting the call (this node for its own).")
    host_told: bool = PydanticField(
        description="The host freed her place (a call of this node) or has a withdrawal on its "
        "way (an ally's); false when the host is no longer an ally."
    )


class CommitmentPublic(BaseModel):
    """A commitment as the host's organizers see it."""

    id: str
    handle: str
    home_node: str
    given_name: str | None
    email: str | None
    phone: str | None
    state: CommitmentState
    created_at: datetime


class GroupFill(BaseModel):
    """What one group's volunteers hold on one shift of the host's call."""

    node_id: str
    name: str
    is_host: bool = PydanticField(description="This node's own members.")
    committed: int
    waitlisted: int
    limit: int | None = PydanticField(
        description="The most this group may hold (places and waitlist); null for the host's "
        "own members, whom only the capacity limits."
    )


class ShiftShares(BaseModel):
    shift_id: str
    object_id: str
    start_date: datetime
    end_date: datetime
    status: ShiftStatus
    capacity: int
    committed: int
    waitlisted: int
    fair_share: int = PydanticField(description="The fair share of this shift for each ally.")
    groups: list[GroupFill] = PydanticField(
        description="The host's members first, then every ally the call is shared with and "
        "every other node holding a commitment."
    )


class AllySharesPublic(BaseModel):
    """Who filled what on a call's shifts, as the host's organizers see it."""

    call_id: str
    ally_share: int | None = PydanticField(
        description="The call's setting: places per ally per shift; null: the fair share."
    )
    allies_shared_with: int = PydanticField(
        description="Allies the call is shared with now (scope `canvass`, active or suspended)."
    )
    shifts: list[ShiftShares]


Count = wire.Count


class PrecinctCountsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    precinct: Precinct
    doors_knocked: Count = 0
    conversations: Count = 0
    signups: Count = 0


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shift_id: str
    precincts: list[PrecinctCountsIn] = PydanticField(min_length=1, max_length=200)


class ReportPublic(BaseModel):
    id: str
    object_id: str
    shift_object_id: str
    precincts: list[dict[str, Any]] = PydanticField(
        description="Per precinct; on allies a null count means under 5, suppressed by the host."
    )
    published_at: datetime
