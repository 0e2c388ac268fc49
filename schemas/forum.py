"""Candidate forums co-hosted by several groups: the ``ForumPlan`` and co-hosts' actions.

The organizer's node is the plan's origin and only writer. It sends the plan (``Create``, then
``Update`` on every change) to the co-host groups it invited. A co-host acts by sending the
origin a ``ForumAction``; the origin checks it is the co-host's to do, applies it, bumps the
version and re-broadcasts, so every co-host sees the same plan::

    Accept ForumAction(accept)            the co-host's admin accepts the invitation
    Reject ForumAction(decline)           ... or declines it
    Create ForumAction(submit_question)   a question for the candidates
    Update ForumAction(complete_task)     only for a task the co-host owns
    Update ForumAction(take_role)         only for a role nobody holds yet

The forum is also an ``Event`` (``event_type: FORUM``) on the origin, shared as events are.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from schemas.base import (
    AbsoluteUrl,
    Count,
    Location,
    NodeId,
    NonBlankLine,
    NonBlankText,
    ObjectId,
    Text,
    Timestamp,
    Version,
    WireModel,
)
from schemas.event import EventStatus, TimeZoneName, WireVisibility
from schemas.origin import same_origin

ItemId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
"""The id of an item inside a plan (a task, a question ...), unique within the plan."""
Text200 = Annotated[NonBlankLine, Field(min_length=1, max_length=200)]


class CoHostStatus(StrEnum):
    """Where a co-host group stands."""

    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class CoHost(WireModel):
    """A group invited to co-host."""

    node: NodeId
    """The co-host's node."""
    status: CoHostStatus
    """Invited, accepted or declined."""


class Role(WireModel):
    """A job at the forum (moderator, timekeeper, interpreter, av, childcare, greeters ...)."""

    name: Annotated[NonBlankLine, Field(min_length=1, max_length=64)]
    """The role's name."""
    assigned_to: NodeId | None = None
    """The group that fills it, if any yet."""


class InvitationStatus(StrEnum):
    """A candidate's answer."""

    INVITED = "invited"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    NO_RESPONSE = "no_response"


class CandidateInvitation(WireModel):
    """A candidate invited to the forum (public campaign details only)."""

    id: ItemId
    """The invitation's id within the plan."""
    name: Text200
    """The candidate's public name."""
    race: Text200
    """The race, for example "Alderperson, 33rd Ward"."""
    status: InvitationStatus
    """Their answer so far."""
    changed_at: Timestamp
    """When the status last changed."""


class AgendaItem(WireModel):
    """One item of the ordered agenda."""

    id: ItemId
    """The item's id within the plan."""
    title: Text200
    """What happens."""
    position: Count
    """Its place in the agenda, from 0."""
    duration_minutes: int = Field(ge=1, le=600)
    """How long it takes."""


class QuestionStatus(StrEnum):
    """The organizer's choice about a submitted question."""

    PENDING = "pending"
    SELECTED = "selected"
    REJECTED = "rejected"


class QuestionSubmission(WireModel):
    """A question a co-host group submitted."""

    id: ItemId
    """The question's id within the plan."""
    text: Annotated[NonBlankText, Field(min_length=1, max_length=1000)]
    """The question."""
    submitted_by: NodeId
    """The group that submitted it: a co-host, or the organizer itself."""
    status: QuestionStatus
    """Pending, selected or rejected by the organizer."""


class Task(WireModel):
    """A piece of work (room, childcare, livestream) owned by one group."""

    id: ItemId
    """The task's id within the plan."""
    title: Text200
    """What needs doing."""
    owner: NodeId
    """The group that does it; only it may mark it done."""
    due_date: Timestamp | None = None
    """When it must be done."""
    done: bool = False
    """Whether it is done."""


class ForumPlan(WireModel):
    """A candidate forum co-hosted by several groups. Receivers check that ``id`` is under
    ``attributed_to`` and that the forum ends after it starts. Every version carries the whole
    plan: a receiver replaces its lists with the ones sent, so an item the organizer removed is
    gone and the lists are in the organizer's order."""

    type: Literal["ForumPlan"]
    """The object type."""
    schema_version: Literal[1]
    """The version of this object's schema."""
    id: ObjectId
    """The plan's URL on the organizer's node."""
    attributed_to: NodeId
    """The organizer's node, the plan's only writer."""
    version: Version
    """Bumped by the origin on every change."""
    title: Text200
    """The forum's name."""
    description: Text = Field(default="", max_length=10_000)
    """What it is about."""
    start_date: Timestamp
    """When it starts."""
    end_date: Timestamp
    """When it ends."""
    timezone: TimeZoneName = "America/Chicago"
    """The IANA zone it is held in."""
    location: Location | None = None
    """The venue, if in person."""
    accessibility_notes: Text = Field(default="", max_length=2000)
    """Step-free access, seating, captioning ..."""
    online_url: AbsoluteUrl | None = None
    """Where to join online, if online."""
    languages: list[Annotated[NonBlankLine, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20
    )
    """Languages spoken at the forum."""
    interpretation: Text = Field(default="", max_length=1000)
    """Interpretation arrangements."""
    capacity: Count | None = None
    """Expected attendance."""
    visibility: WireVisibility
    """Who may see the forum."""
    status: EventStatus = EventStatus.CONFIRMED
    """Whether it is going ahead."""
    event: ObjectId | None = None
    """The forum's ``Event`` on the origin, in calendars."""
    co_hosts: list[CoHost] = Field(default_factory=list, max_length=50)
    """The groups invited to co-host."""
    roles: list[Role] = Field(default_factory=list, max_length=50)
    """Jobs at the forum and who fills them, in the organizer's order."""
    candidate_invitations: list[CandidateInvitation] = Field(default_factory=list, max_length=50)
    """Candidates invited, and their answers, in the organizer's order."""
    agenda_items: list[AgendaItem] = Field(default_factory=list, max_length=100)
    """The agenda, ordered by ``position`` (the reference node sends 0, 1, 2 ... in order)."""
    question_submissions: list[QuestionSubmission] = Field(default_factory=list, max_length=200)
    """Questions the co-hosts submitted."""
    tasks: list[Task] = Field(default_factory=list, max_length=200)
    """Work to be done, by owner, in the organizer's order."""
    created_date: Timestamp
    """When the organizer created the plan."""
    modified_date: Timestamp
    """When the origin last changed it."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if not same_origin(self.id, self.attributed_to):
            raise ValueError("a plan's id must be under the origin it is attributed to")
        return self


class ForumActionKind(StrEnum):
    """What a co-host does."""

    ACCEPT = "accept"
    DECLINE = "decline"
    SUBMIT_QUESTION = "submit_question"
    COMPLETE_TASK = "complete_task"
    TAKE_ROLE = "take_role"


class ForumAction(WireModel):
    """A co-host's action on a plan, sent to the plan's origin, which alone applies it."""

    type: Literal["ForumAction"]
    """The object type."""
    id: ObjectId
    """The action's URL under the co-host's node."""
    forum: ObjectId
    """The plan acted on."""
    action: ForumActionKind
    """What the co-host does."""
    text: NonBlankText | None = Field(default=None, min_length=1, max_length=1000)
    """The question, for ``submit_question``."""
    task: ItemId | None = None
    """The task, for ``complete_task``."""
    role: Annotated[NonBlankLine, Field(min_length=1, max_length=64)] | None = None
    """The role, for ``take_role``."""

    @model_validator(mode="after")
    def _complete(self) -> Self:
        needed = {
            ForumActionKind.SUBMIT_QUESTION: self.text,
            ForumActionKind.COMPLETE_TASK: self.task,
            ForumActionKind.TAKE_ROLE: self.role,
        }
        if self.action in needed and needed[self.action] is None:
            raise ValueError(f"{self.action.value} needs its field")
        return self
