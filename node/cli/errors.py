"""The errors a command that opens a node can raise and a person can fix."""

from __future__ import annotations

from federation.errors import FederationError
from federation.keys import KeyringError
from node.errors import NodeError
from node.migrate import DatabaseTooNew, DatabaseUnreachable

NODE_ERRORS: tuple[type[Exception], ...] = (
    KeyringError,
    DatabaseTooNew,
    DatabaseUnreachable,
    NodeError,
    FederationError,
)
"""Printed as one sentence by ``ipo-node``, with exit status 2 (no traceback)."""
