"""Errors of the federation protocol (the full tree is drawn by the signing work)."""

from __future__ import annotations


class FederationError(Exception):
    """A request from a peer was refused; ``status_code`` and ``code`` say how."""

    status_code = 400
    code = "federation_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
