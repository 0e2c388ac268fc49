"""A loopback receiver, and a node in local development that may post to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.nodes import NodeFactory, TestNode
from tests.webhooks.receiver import Receiver, serve_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver() as running:
        yield running


@pytest.fixture
async def dev_node(nodes: NodeFactory) -> TestNode:
    """ward33 in local development: plain http and loopback endpoints are allowed."""
    return await nodes.start("ward33", wards=[33], allow_private_peers=True)
