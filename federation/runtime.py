"""What the protocol needs from the process it runs in, in one object.

The application builds one ``FederationRuntime`` at start (``node.main`` lifespan) and puts
it on ``app.state.federation``; the inbox route and the alliance operations take everything
from it. Nothing here is created at import time.

Outbound connections come from separate pools, so that what strangers send cannot use up
the connections this node needs to reach its allies::

    delivery worker      its own client (``DeliveryWorker.client``), used by nothing else
    runtime.client       the fetches this node decides on: its admin's offer, a known
                         peer's refreshed keys
    runtime.offer_client strangers' offers: their node documents, at most
                         MAX_OFFER_FETCHES at once (one more is answered 503 offers_busy at
                         once, never queued), each within OFFER_FETCH_DEADLINE seconds
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.errors import OffersBusy
from federation.handlers import HandlerRegistry
from federation.keys import Keyring, NodeKey
from federation.signing import MemoryReplayCache, ReplayCache, SignatureAuth
from federation.storage import utcnow

KEY_REFETCH_INTERVAL = timedelta(minutes=1)
MAX_INBOX_BYTES = 64 * 1024
MAX_OFFER_FETCHES = 8
"""Strangers' node documents fetched at once, at most; also the size of their pool."""
OFFER_FETCH_DEADLINE = 5.0
"""Seconds for a whole fetch of a stranger's node document, connecting included."""


@dataclass
class FederationRuntime:
    """This node's identity and the shared machinery of the protocol."""

    node_id: str
    session_maker: async_sessionmaker[AsyncSession]
    client: httpx.AsyncClient
    """For the fetches this node decides on (never the delivery worker's client)."""
    offer_client: httpx.AsyncClient
    """For strangers' offers only: a small pool of its own (``MAX_OFFER_FETCHES``)."""
    keyring: Callable[[], Keyring]
    registry: HandlerRegistry
    replay_cache: ReplayCache = field(default_factory=MemoryReplayCache)
    wake_delivery: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = utcnow
    key_refetch_interval: timedelta = KEY_REFETCH_INTERVAL
    # When each unknown-origin offer last made us fetch a node document (rate limit).
    offer_fetches: dict[str, datetime] = field(default_factory=dict)
    max_offer_fetches: int = MAX_OFFER_FETCHES
    offer_fetch_deadline: float = OFFER_FETCH_DEADLINE
    offer_fetches_in_flight: int = 0

    @contextlib.contextmanager
    def offer_fetch_slot(self) -> Iterator[None]:
        """One of the ``max_offer_fetches`` slots for a stranger's document, for the block.

        Raises :class:`OffersBusy` at once when all are taken: an offer never waits for one,
        so a flood of offers cannot hold connections open, here or on its senders.
        """
        if self.offer_fetches_in_flight >= self.max_offer_fetches:
            raise OffersBusy()
        self.offer_fetches_in_flight += 1
        try:
            yield
        finally:
            self.offer_fetches_in_flight -= 1

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
