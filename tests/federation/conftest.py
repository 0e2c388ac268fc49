"""Fixtures the federation tests share."""

from __future__ import annotations

import pytest

from tests.worlds import star


@pytest.fixture
async def pair(nodes):  # type: ignore[no-untyped-def]
    """ward33 and ward30, allied on every scope (a world built once, copied per test)."""
    ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
    return ward33, ward30
