"""The errors a command that opens a node can raise and a person can fix."""

from __future__ import annotations

from federation.errors import FederationError
from federation.keys import KeyringError
from node.db import DatabaseTooNew, DatabaseUnreachable
from node.errors import NodeError

NODE_ERRORS: tuple[type[Exception], ...] = (
    KeyringError,
    DatabaseTooNew,
    DatabaseUnreachable,
    NodeError,
    FederationError,
)
"""Printed as one sentence by ``ipo-node``, with exit status 2 (no traceback)."""
