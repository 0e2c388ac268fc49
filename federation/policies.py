"""Who may send what: alliance scopes and the states in which a peer is heard.

Only an alliance ``Offer`` may come from a node that is not an ally. Alliance control
(``Accept``/``Reject`` of our offer, ``Leave``, key rotation) is heard from any peer we have a
relationship with; shared objects only from an ``active`` ally whose alliance covers their kind.
"""

from __future__ import annotations

from typing import Final

from federation.errors import AllianceSuspended, NotAnAlly, OutOfScope
from federation.models import AllianceState

SCOPE_OF_OBJECT_TYPE: Final[dict[str, str]] = {
    "Event": "events",
    "JointEndorsement": "endorsements",
    "EndorsementSignature": "endorsements",
    "ForumPlan": "forums",
    "ForumAction": "forums",
    "CanvassCall": "canvass",
    "CanvassCommitment": "canvass",
    "CommitmentStatus": "canvass",
    "CanvassReport": "canvass",
}
"""The alliance scope each shared object type falls under."""

ALL_SCOPES: Final[tuple[str, ...]] = ("events", "endorsements", "forums", "canvass")


def scope_for(object_type: str) -> str | None:
    """The scope a shared object type needs, or ``None`` for protocol objects."""
    return SCOPE_OF_OBJECT_TYPE.get(object_type)


def check_may_send(*, state: AllianceState, scopes: list[str], object_type: str) -> None:
    """Refuse a shared-object activity from a peer that may not send it now.

    A suspended alliance answers 503 with ``Retry-After``: the sender keeps the activity and
    retries, so nothing is lost if the alliance resumes. Anything else not active is 403.
    """
    if state is AllianceState.suspended:
        raise AllianceSuspended()
    if state is not AllianceState.active:
        raise NotAnAlly(f"This node's alliance with you is {state.value}, not active.")
    scope = scope_for(object_type)
    if scope is not None and scope not in scopes:
        raise OutOfScope(f"Your alliance with this node does not cover {scope}.")
