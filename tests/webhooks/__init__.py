"""Tests of partner webhooks, and the helpers they share.

Partners subscribe through the partner API with real OAuth2 tokens; messages go over real
HTTP to a receiver on a loopback port that checks every signature its own way
(``tests.webhooks.receiver``). Nodes that post to it are in local development
(``allow_private_peers``), as a loopback address requires.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update

from federation.storage import utcnow
from node.webhooks.delivery import WebhookDispatcher
from node.webhooks.models import WebhookSubscription
from tests.nodes import TestNode
from tests.webhooks.receiver import Receiver

WEBHOOKS = "/api/v1/partner/webhooks"


async def subscribe(
    partner: httpx.AsyncClient,
    receiver: Receiver,
    path: str,
    event_types: list[str],
) -> dict[str, Any]:
    """Subscribe ``receiver``'s ``path``; the receiver learns the secret, as a partner would."""
    response = await partner.post(
        WEBHOOKS, json={"url": receiver.url(path), "event_types": event_types}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secrets[path] = created["secret"]
    return created


def dispatcher(node: TestNode) -> WebhookDispatcher:
    webhooks: WebhookDispatcher = node.app.state.webhooks
    return webhooks


async def send_webhooks(node: TestNode) -> int:
    """One round of the node's webhook sending, as its worker would run it."""
    return await dispatcher(node).run_once()


async def time_passes(node: TestNode) -> None:
    """Every subscription's backoff is over (what waiting out the schedule would do)."""
    async with node.session() as session:
        await session.execute(update(WebhookSubscription).values(next_attempt_at=utcnow()))
