"""Wiring the protocol into this application: handlers, the runtime, background work.

``start_federation`` is called by the app's lifespan and by ``ipo-node worker``. It builds the
handler registry from every domain that federates, the federation HTTP clients (one pool per
kind of work: deliveries, this node's own fetches, strangers' offers, webhooks), the runtime
the inbox reads from ``app.state.federation``, and the delivery worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.client import FEDERATION_LIMITS, create_federation_client
from federation.delivery import DeliveryWorker
from federation.handlers import HandlerRegistry
from federation.inbox import retry_failed
from federation.keys import KeyringHolder
from federation.runtime import MAX_OFFER_FETCHES, FederationRuntime
from node import __version__
from node.alliances import service as alliances
from node.canvass import handlers as canvass_handlers
from node.config import Settings
from node.endorsements import sharing as endorsements_sharing
from node.events import sharing as events_sharing
from node.forums import handlers as forums_handlers
from node.mail.dispatcher import MailDispatcher
from node.mail.transports import transport_for
from node.webhooks.delivery import WebhookDispatcher

log = logging.getLogger(__name__)

INBOX_RETRY_SECONDS = 60.0
OFFER_FETCH_LIMITS = httpx.Limits(max_connections=MAX_OFFER_FETCHES, max_keepalive_connections=0)
"""Strangers' node documents: as many connections as fetches in flight; none kept open,
since each offer names another origin."""


def build_registry(settings: Settings) -> HandlerRegistry:
    """Every inbox handler and alliance hook of this application."""
    registry = HandlerRegistry()
    alliances.register(registry)
    events_sharing.register(registry, settings=settings)
    endorsements_sharing.register(registry, settings=settings)
    canvass_handlers.register(registry, settings=settings)
    forums_handlers.register(registry, settings=settings)
    return registry


@dataclass
class Federation:
    runtime: FederationRuntime
    worker: DeliveryWorker
    webhooks: WebhookDispatcher
    mail: MailDispatcher


@contextlib.asynccontextmanager
async def start_federation(
    settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
    *,
    run_worker: bool,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Federation]:
    """The runtime and worker; with ``run_worker`` the background loops run until exit."""
    keyring = KeyringHolder(settings.keys_dir)
    keyring()  # fail at start, not at the first delivery, if the keys are unusable

    def client(
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits = FEDERATION_LIMITS,
    ) -> httpx.AsyncClient:
        return create_federation_client(
            allow_private=settings.allow_private_peers,
            user_agent=f"ipo-node/{__version__}",
            transport=transport,
            limits=limits,
        )

    # A pool per kind of work (federation.runtime): nothing a stranger sends can take the
    # connections the worker needs to reach allies.
    async with (
        client(transport=transport) as delivery_client,
        client(transport=transport) as fetch_client,
        client(transport=transport, limits=OFFER_FETCH_LIMITS) as offer_client,
        # Webhooks to partners: a client of their own (see node.webhooks.delivery), drained
        # by the same worker loop.
        client() as webhook_client,
    ):
        webhooks = WebhookDispatcher(session_maker=session_maker, client=webhook_client)
        mail = MailDispatcher(session_maker=session_maker, transport=transport_for(settings))
        worker = DeliveryWorker(
            session_maker=session_maker,
            client=delivery_client,
            keyring=keyring,
            node_id=settings.public_url,
            drains=[webhooks.run_once, mail.run_once],
        )
        runtime = FederationRuntime(
            node_id=settings.public_url,
            session_maker=session_maker,
            client=fetch_client,
            offer_client=offer_client,
            keyring=keyring,
            registry=build_registry(settings),
            wake_delivery=worker.wake.set,
        )
        federation = Federation(runtime=runtime, worker=worker, webhooks=webhooks, mail=mail)
        if not run_worker:
            yield federation
            return
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(worker.run_forever(stop), name="delivery"),
            asyncio.create_task(_retry_inbox_forever(runtime, stop), name="inbox-retry"),
        ]
        try:
            yield federation
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _retry_inbox_forever(runtime: FederationRuntime, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await retry_failed(runtime)
        except Exception:  # keep retrying later; the reason is logged
            log.exception("retrying failed inbox activities")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=INBOX_RETRY_SECONDS)
