"""The node document: who a node is and how to verify what it signs.

Served at ``GET /.well-known/coalition-node``. A peer reads it once when an alliance is
offered (from the offer's claimed origin) and again, at most once a minute, when it sees a
signature by a ``kid`` it does not know yet.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from schemas.base import NodeId, NonBlankLine, ObjectId, Timestamp, Wards, WireModel
from schemas.origin import same_origin

NodeKind = Literal["ipo", "union", "coalition"]
"""``ipo``: a ward group; ``union``: a union local or other partner; ``coalition``: a coalition."""

_BASE64URL_32_BYTES = r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"


class PublicJwk(WireModel):
    """One Ed25519 public key as a JWK (RFC 8037), with the dates the node keeps it valid."""

    kty: Literal["OKP"]
    """Key type: always ``OKP``."""
    crv: Literal["Ed25519"]
    """Curve: always ``Ed25519``."""
    x: str = Field(pattern=_BASE64URL_32_BYTES)
    """The 32-byte public key, base64url without padding."""
    kid: str = Field(min_length=1, max_length=200)
    """The key id signatures name in their ``keyid`` parameter (the RFC 7638 thumbprint)."""
    alg: Literal["EdDSA"]
    """JOSE algorithm: always ``EdDSA``."""
    use: Literal["sig"]
    """Key use: always ``sig``."""
    created: Timestamp
    """When the key was generated."""
    expires: Timestamp | None = None
    """When peers must stop accepting the key (set once it has been rotated out)."""

    @model_validator(mode="after")
    def _expires_after_created(self) -> Self:
        if self.expires is not None and self.expires < self.created:
            raise ValueError("a key cannot expire before it was created")
        return self


class Jwks(WireModel):
    """A JSON Web Key Set of the node's current public keys."""

    keys: list[PublicJwk] = Field(min_length=1)
    """Every key peers may verify with: the active one and any in their grace period."""

    @model_validator(mode="after")
    def _unique_kids(self) -> Self:
        kids = [key.kid for key in self.keys]
        if len(set(kids)) != len(kids):
            raise ValueError("every key in the set needs its own kid")
        return self


class Software(WireModel):
    """The software a node runs, for debugging across versions."""

    name: NonBlankLine = Field(min_length=1, max_length=100)
    """The software's name, for example ``ipo-node``."""
    version: NonBlankLine = Field(min_length=1, max_length=50)
    """Its version string."""


class NodeDocument(WireModel):
    """What ``GET /.well-known/coalition-node`` returns: a node's identity and keys."""

    id: NodeId
    """The node's base URL, which is also its identity."""
    name: NonBlankLine = Field(min_length=1, max_length=200)
    """The organisation's name, for example "33rd Ward Working Families"."""
    kind: NodeKind
    """What kind of organisation runs the node."""
    wards: Wards = Field(default_factory=list)
    """The wards the organisation works in; empty for a citywide partner."""
    inbox: ObjectId
    """Where to POST activities; under the node's origin."""
    keys: Jwks
    """The public keys the node's signatures verify with."""
    protocol: Literal["1"]
    """The federation protocol version the node speaks."""
    software: Software
    """The software the node runs."""

    @model_validator(mode="after")
    def _inbox_under_node(self) -> Self:
        if not same_origin(self.inbox, self.id):
            raise ValueError("the inbox must be under the node's own origin")
        return self
