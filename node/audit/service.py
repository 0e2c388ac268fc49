"""Recording to the audit log. Every admin and organizer action calls ``record``.

The entry is written in the caller's transaction, so an action that fails leaves no entry and
an action that succeeds always has one. Details carry ids and field names, never the personal
data itself: the log outlives a member's deletion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from node.audit.models import AuditEntry

ActorKind = Literal["user", "cli", "system", "peer"]


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user, the command line, the node itself, or a peer."""

    kind: ActorKind
    label: str
    user_id: int | None = None


CLI = Actor(kind="cli", label="ipo-node command line")
SYSTEM = Actor(kind="system", label="this node")


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object = "",
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor_kind=actor.kind,
            actor_user_id=actor.user_id,
            actor_label=actor.label,
            action=action,
            object_type=object_type,
            object_id="" if object_id is None else str(object_id),
            detail=detail or {},
        )
    )
