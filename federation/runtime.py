"""What the protocol needs from the process it runs in, in one object.

The application builds one ``FederationRuntime`` at start (``node.main`` lifespan) and puts
it on ``app.state.federation``; the inbox route, the alliance operations and the delivery
worker take everything from it. Nothing here is created at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.handlers import HandlerRegistry
from federation.keys import Keyring, NodeKey
from federation.signing import MemoryReplayCache, ReplayCache, SignatureAuth
from federation.storage import utcnow

KEY_REFETCH_INTERVAL = timedelta(minutes=1)
MAX_INBOX_BYTES = 64 * 1024


@dataclass
class FederationRuntime:
    """This node's identity and the shared machinery of the protocol."""

    node_id: str
    session_maker: async_sessionmaker[AsyncSession]
    client: httpx.AsyncClient
    keyring: Callable[[], Keyring]
    registry: HandlerRegistry
    replay_cache: ReplayCache = field(default_factory=MemoryReplayCache)
    wake_delivery: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = utcnow
    key_refetch_interval: timedelta = KEY_REFETCH_INTERVAL
    # When each unknown-origin offer last made us fetch a node document (rate limit).
    offer_fetches: dict[str, datetime] = field(default_factory=dict)

    def keyid(self, key: NodeKey) -> str:
        """How peers name our key: ``<node id>#<kid>``."""
        return f"{self.node_id}#{key.kid}"

    def signer(self) -> SignatureAuth:
        """Signs a request with the active key (for fetches; deliveries pick their key)."""
        key = self.keyring().active
        return SignatureAuth(key, keyid=self.keyid(key))

    @property
    def inbox_url(self) -> str:
        return f"{self.node_id}/federation/inbox"
