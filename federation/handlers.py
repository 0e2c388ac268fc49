"""The registry through which the application handles verified activities.

``federation`` never imports ``node``: the application registers a handler per (activity
type, object type), and hooks that run on every alliance change (to audit it, and to backfill
shared objects when an alliance becomes active). The inbox calls handlers only after the
request's signature, origin, alliance and scope checks have passed; hooks run in the same
transaction as the change::

    registry = HandlerRegistry()

    @registry.handle("Create", "Event")
    async def create_event(session, activity, peer): ...

    @registry.on_alliance_change
    async def audit(session, change): ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from federation.models import AllianceState, Peer
from schemas.activity import Activity

Handler = Callable[[AsyncSession, Activity, Peer], Awaitable[None]]
"""Applies one verified activity from ``peer``, inside the inbox's transaction."""


@dataclass(frozen=True)
class AllianceChange:
    """One move of the alliance state machine, as hooks see it."""

    peer: Peer
    event: str
    previous: AllianceState | None
    current: AllianceState
    by: str
    """Who caused it: the local actor's label, or the peer's node id."""
    detail: Mapping[str, object] = field(default_factory=dict)
    """What else an admin should know about it (why no alliance formed, and both offers)."""

    @property
    def began(self) -> bool:
        """The alliance has just become active for the first time (or again after ending):
        the moment to backfill shared objects. Resuming a suspension is not a beginning: the
        deliveries held meanwhile carry every change."""
        return self.current is AllianceState.active and self.previous in (
            None,
            AllianceState.proposed,
            AllianceState.pending,
        )


AllianceHook = Callable[[AsyncSession, AllianceChange], Awaitable[None]]
"""Runs in the transaction of an alliance change."""

H = TypeVar("H", bound=Handler)
A = TypeVar("A", bound=AllianceHook)


def object_type_of(activity: Activity) -> str:
    """The type of the activity's object: the embedded ``type``, or ``Link`` for a URL."""
    embedded = activity.object
    return "Link" if isinstance(embedded, str) else embedded.type


class HandlerRegistry:
    """Handlers by (activity type, object type), and alliance hooks."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._alliance_hooks: list[AllianceHook] = []

    def handle(self, activity_type: str, object_type: str) -> Callable[[H], H]:
        """Decorator: register the handler of ``activity_type`` on ``object_type``."""

        def register(handler: H) -> H:
            key = (activity_type, object_type)
            if key in self._handlers:
                raise ValueError(f"a handler for {key} is already registered")
            self._handlers[key] = handler
            return handler

        return register

    def handler_for(self, activity: Activity) -> Handler | None:
        """The registered handler for this activity, if any."""
        return self._handlers.get((activity.type, object_type_of(activity)))

    def on_alliance_change(self, hook: A) -> A:
        """Decorator: run ``hook`` on every alliance change."""
        self._alliance_hooks.append(hook)
        return hook

    async def alliance_changed(self, session: AsyncSession, change: AllianceChange) -> None:
        """Run every alliance hook, in registration order."""
        for hook in self._alliance_hooks:
            await hook(session, change)
