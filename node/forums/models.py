"""Tables and API shapes of the forums domain.

A plan is one row: the forum's details and its lists (co-hosts, roles, candidate invitations,
agenda, questions, tasks) as JSON in the wire shape, since they are always read and written
whole with the plan and only the origin writes them. On the origin, ``event_id`` links the
plan to its ``event`` row (``event_type: FORUM``), which puts the forum in the calendar, the
ICS feed and the events shared with allies. Replicas of allies' plans live in the same table.
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
    ValidationInfo,
    field_validator,
)
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from federation.storage import enum_column, utc_column, utcnow
from node.events.models import (
    DEFAULT_TIMEZONE,
    END_BEFORE_START,
    Capacity,
    Description,
    EventStatus,
    Location,
    LocationPublic,
    OnlineUrl,
    TimeZoneName,
    Title,
    Visibility,
)
from node.text import FREE_TEXT, ONE_LINE


def new_id() -> str:
    return str(uuid.uuid4())


class CoHostStatus(enum.StrEnum):
    invited = "invited"
    accepted = "accepted"
    declined = "declined"


class InvitationStatus(enum.StrEnum):
    invited = "invited"
    confirmed = "confirmed"
    declined = "declined"
    no_response = "no_response"


class QuestionStatus(enum.StrEnum):
    pending = "pending"
    selected = "selected"
    rejected = "rejected"


class ForumPlan(SQLModel, table=True):
    __tablename__ = "forum_plan"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    object_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    origin: str = Field(max_length=512, index=True)
    version: int = Field(default=1)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    start_date: datetime = Field(sa_column=utc_column(index=True))
    end_date: datetime = Field(sa_column=utc_column())
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=64)
    location: dict[str, Any] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON, nullable=True)
    )
    accessibility_notes: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    online_url: str | None = Field(default=None, max_length=2048)
    languages: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    interpretation: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    capacity: int | None = Field(default=None)
    visibility: Visibility = Field(sa_column=sa.Column(enum_column(Visibility), nullable=False))
    status: EventStatus = Field(
        default=EventStatus.confirmed,
        sa_column=sa.Column(enum_column(EventStatus), nullable=False),
    )
    event_object_id: str | None = Field(default=None, max_length=512)
    # The origin's own calendar entry; null on replicas.
    event_id: str | None = Field(
        default=None, foreign_key="event.id", max_length=36, ondelete="SET NULL"
    )
    co_hosts: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    roles: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    candidate_invitations: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    agenda_items: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    question_submissions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    tasks: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    created_by: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))

    __table_args__ = (
        sa.CheckConstraint("end_date >= start_date", name="end_after_start"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
    )


# ---- API shapes -----------------------------------------------------------------------------

RoleName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), ONE_LINE
]
Short = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE
]
Notes = Annotated[str, PydanticField(max_length=2000), FREE_TEXT]
Interpretation = Annotated[str, PydanticField(max_length=1000), FREE_TEXT]


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: RoleName
    assigned_to: str | None = PydanticField(
        default=None, description="A co-host's node id (or this node's), or null if open."
    )


class CandidateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = PydanticField(default=None, description="Keep to update an invitation.")
    name: Short
    race: Short
    status: InvitationStatus = InvitationStatus.invited


class AgendaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = PydanticField(default=None, description="Keep to update an item.")
    title: Short
    duration_minutes: int = PydanticField(ge=1, le=600)


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = PydanticField(default=None, description="Keep to update a task.")
    title: Short
    owner: str = PydanticField(description="The node id of the group that does it.")
    due_date: AwareDatetime | None = None
    done: bool = False


class ForumCreate(BaseModel):
    """A forum plan. ``co_hosts`` are allies' node ids (their alliance must cover forums)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    start_date: AwareDatetime
    end_date: AwareDatetime
    timezone: TimeZoneName = DEFAULT_TIMEZONE
    location: Location | None = None
    accessibility_notes: Notes = ""
    online_url: OnlineUrl | None = None
    languages: list[RoleName] = PydanticField(default_factory=list, max_length=20)
    interpretation: Interpretation = ""
    capacity: Capacity | None = None
    visibility: Visibility = Visibility.coalition
    co_hosts: list[str] = PydanticField(default_factory=list, max_length=50)
    roles: list[RoleIn] = PydanticField(default_factory=list, max_length=50)
    candidate_invitations: list[CandidateIn] = PydanticField(default_factory=list, max_length=50)
    agenda_items: list[AgendaIn] = PydanticField(default_factory=list, max_length=100)
    tasks: list[TaskIn] = PydanticField(default_factory=list, max_length=200)

    @field_validator("end_date")
    @classmethod
    def _ends_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        # A field check, not a model check: the error is then the end field's, shown beside it.
        start = info.data.get("start_date")
        if start is not None and end < start:
            raise ValueError(END_BEFORE_START)
        return end


class ForumUpdate(BaseModel):
    """Fields sent replace the old ones whole (lists included); co-hosts can only be added."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    start_date: AwareDatetime | None = None
    end_date: AwareDatetime | None = None
    location: Location | None = None
    accessibility_notes: Notes | None = None
    languages: list[RoleName] | None = None
    interpretation: Interpretation | None = None
    capacity: Capacity | None = None
    status: EventStatus | None = None
    co_hosts: list[str] | None = PydanticField(default=None, max_length=50)
    roles: list[RoleIn] | None = PydanticField(default=None, max_length=50)
    candidate_invitations: list[CandidateIn] | None = PydanticField(default=None, max_length=50)
    agenda_items: list[AgendaIn] | None = PydanticField(default=None, max_length=100)
    tasks: list[TaskIn] | None = PydanticField(default=None, max_length=200)


class PlanPart(enum.StrEnum):
    """The lists of a plan the organizer edits one item at a time (in addresses)."""

    roles = "roles"
    candidates = "candidates"
    agenda = "agenda"
    tasks = "tasks"


Position = Annotated[
    int, PydanticField(ge=0, le=199, description="The item's new place in its list, from 0.")
]


class RoleChange(BaseModel):
    """Fields sent replace the role's; ``position`` moves it. Null ``assigned_to``: open."""

    model_config = ConfigDict(extra="forbid")

    name: RoleName | None = None
    assigned_to: str | None = None
    position: Position | None = None


class CandidateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Short | None = None
    race: Short | None = None
    status: InvitationStatus | None = None
    position: Position | None = None


class AgendaChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Short | None = None
    duration_minutes: int | None = PydanticField(default=None, ge=1, le=600)
    position: Position | None = None


class TaskChange(BaseModel):
    """Null ``due_date``: no due date."""

    model_config = ConfigDict(extra="forbid")

    title: Short | None = None
    owner: str | None = None
    due_date: AwareDatetime | None = None
    done: bool | None = None
    position: Position | None = None


ItemChange = RoleChange | CandidateChange | AgendaChange | TaskChange
NULLABLE_FIELDS = frozenset({"assigned_to", "due_date"})
"""The only fields of an item change that may be sent as null (every other null is a 422)."""


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), FREE_TEXT
    ]


class QuestionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: QuestionStatus


class ForumPublic(BaseModel):
    id: str
    object_id: str
    origin: str
    is_local: bool
    version: int
    title: str
    description: str
    start_date: datetime
    end_date: datetime
    timezone: str
    location: LocationPublic | None
    accessibility_notes: str
    online_url: str | None
    languages: list[str]
    interpretation: str
    capacity: int | None
    visibility: Visibility
    status: EventStatus
    event_id: str | None = PydanticField(description="This node's calendar entry, on the origin.")
    co_hosts: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    candidate_invitations: list[dict[str, Any]]
    agenda_items: list[dict[str, Any]]
    question_submissions: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    created_date: datetime
    modified_date: datetime
