"""Activities: the signed messages nodes POST to each other's inboxes.

An activity is an ActivityStreams 2.0 verb applied to an object, as plain JSON (no JSON-LD
processing). Its ``id`` is globally unique and under the sender's origin; ``actor`` is the
sending node; ``object`` is either embedded or referenced by URL.

What the receiver checks, in order (the last check is what Mastodon CVE-2024-23832 lacked)::

    signature verifies  ->  key belongs to a peer  ->  actor == that peer
        ->  every id in authored_ids(activity) is under the actor's origin

The object types known so far: ``Event``, ``Alliance`` (the terms of an alliance offer),
``AllianceStatus`` (the sender suspended or resumed the alliance on its side),
``Tombstone`` (what a ``Delete`` leaves, so a late ``Update`` cannot resurrect an object) and
``KeyRotation`` (a new key, announced signed with the old one).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.base import NodeId, ObjectId, Text, Timestamp, Version, WireModel
from schemas.canvass import CanvassCall, CanvassCommitment, CanvassReport, CommitmentStatus
from schemas.endorsement import EndorsementSignature, JointEndorsement
from schemas.event import Event
from schemas.forum import ForumAction, ForumPlan
from schemas.node_document import PublicJwk

ActivityType = Literal[
    "Create", "Update", "Delete", "Offer", "Accept", "Reject", "Undo", "Join", "Leave", "Announce"
]
"""The ActivityStreams verbs the protocol uses."""

AllianceScope = Literal["events", "endorsements", "forums", "canvass"]
"""An object kind an alliance shares."""

SharedObjectType = Literal["Event", "JointEndorsement", "ForumPlan", "CanvassCall"]
"""The types of shared objects, which have an origin, a version and can be deleted."""


class AllianceOffer(WireModel):
    """The terms of an alliance, carried by ``Offer`` and by the ``Accept``/``Reject`` that
    answers it. The alliance covers only the scopes both sides named (FEDERATION.md 6.3): an
    ``Accept`` naming scopes the offer did not can never widen it."""

    type: Literal["Alliance"]
    """The object type."""
    scopes: list[AllianceScope] = Field(min_length=1, max_length=4)
    """The object kinds the offering node will share."""
    message: Text | None = Field(default=None, max_length=2000)
    """A note for the receiving admin."""


class AllianceStatus(WireModel):
    """The sender's side of an alliance, carried by ``Update`` (FEDERATION.md 6.6): its admin
    suspended it (``suspended``: it holds what it sends and refuses the receiver's shared
    objects until it resumes) or resumed it (``active``). The receiver's own state does not
    change; it shows its admin that the peer suspended, so nobody wonders why nothing comes."""

    type: Literal["AllianceStatus"]
    """The object type."""
    state: Literal["suspended", "active"]
    """The alliance as the sender now holds it."""


class Tombstone(WireModel):
    """What remains of a shared object its origin deleted or stopped sharing; carried by
    ``Delete``.

    Receivers keep it so that a late ``Create`` or ``Update`` of ``version`` or lower cannot
    bring the object back. A higher version can: the origin shared it again (an event made
    private, then public).
    """

    type: Literal["Tombstone"]
    """The object type."""
    id: ObjectId
    """The id of the object that was deleted."""
    former_type: SharedObjectType
    """What the object was."""
    version: Version
    """The object's version at its deletion; nothing at or below it applies afterwards."""
    deleted: Timestamp
    """When the origin deleted it."""


class KeyRotation(WireModel):
    """A node's new signing key, announced in an activity signed with the key it replaces."""

    type: Literal["KeyRotation"]
    """The object type."""
    new_key: PublicJwk
    """The key that signs from now on."""
    old_kid: str = Field(min_length=1, max_length=200)
    """The key being retired after its grace period."""
    old_key_expires: Timestamp
    """When the grace period ends: receivers stop accepting the old key then."""


PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "CanvassCommitment": CanvassCommitment.personal_fields,
}
"""Embedded object types that may carry a person's data, and the fields that do: a node keeps
an activity with one of them in its logs only while it needs it (FEDERATION.md section 7.8.5)."""


EmbeddedObject = Annotated[
    Event
    | AllianceOffer
    | AllianceStatus
    | Tombstone
    | KeyRotation
    | CanvassCall
    | CanvassCommitment
    | CommitmentStatus
    | CanvassReport
    | JointEndorsement
    | EndorsementSignature
    | ForumPlan
    | ForumAction,
    Field(discriminator="type"),
]
"""An object embedded in an activity, told apart by its ``type``."""


class Activity(WireModel):
    """A verb, applied by the sending node to an object, addressed to other nodes."""

    type: ActivityType
    """The verb."""
    id: ObjectId
    """Globally unique, under the actor's origin; the receiver deduplicates on it."""
    actor: NodeId
    """The sending node; it must own the key that signed the request."""
    object: EmbeddedObject | ObjectId
    """The object acted on: embedded, or referenced by its URL."""
    published: Timestamp
    """When the actor issued the activity."""
    to: list[NodeId] = Field(min_length=1, max_length=100)
    """The nodes it is addressed to."""


_AUTHORED = (
    Event
    | Tombstone
    | JointEndorsement
    | EndorsementSignature
    | CanvassCall
    | CanvassCommitment
    | CommitmentStatus
    | CanvassReport
    | ForumPlan
    | ForumAction
)
"""Embedded objects whose ``id`` the sender authors, so nobody acts in another's name: its own
shared objects, tombstones and answers (an endorsement, canvass call, report or forum plan by
its origin); a signature by its signer; a canvass commitment by the volunteer's node; a forum
action by the co-host acting."""


def authored_ids(activity: Activity) -> list[str]:
    """Every id the activity claims its actor authored, for the receiver's origin check.

    Always the activity's own ``id``, and the ``id`` of an embedded object that has one
    (an ``Event`` or a ``Tombstone``), for every verb except ``Announce``: a ``Create``,
    ``Update`` or ``Delete`` of an object is only believable from the object's origin. An
    ``Announce`` relays somebody else's object and a referenced object (a URL) is not
    claimed, so neither adds an id. An ``Event`` cannot name another node in
    ``attributed_to`` than the one its ``id`` lives on (the model refuses it), so checking
    the ids covers the attribution too.

    The receiver must find every returned id under the actor's origin
    (:func:`schemas.origin.same_origin`) or refuse the activity with 403.
    """
    ids = [activity.id]
    embedded = activity.object
    # An Announce relays somebody else's object: its embedded copy proves nothing by itself.
    if activity.type != "Announce" and isinstance(embedded, _AUTHORED):
        ids.append(embedded.id)
    return ids
