"""Endorsement signatures: detached JWS (RFC 7515 appendix F) over RFC 8785 JSON.

A signer signs the 32-byte SHA-256 of the canonical JSON of ``schemas.endorsement
.signed_document`` with its node key (``alg`` ``Ed25519``, RFC 9864; ``kid`` = the key's
RFC 7638 thumbprint, the same kid its node document publishes). The payload is left out of
the compact serialization (``header..signature``): every verifier rebuilds it from the
endorsement it holds, so a signature verifies only for exactly the text that was signed.

Verification needs the signer's published JWKS (a peer's stored keys, this node's own
keyring, or the keys in a bundle) and never trusts a key that came with the signature.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from federation.keys import NodeKey, usable_public_keys
from schemas.endorsement import (
    JWS_ALG,
    EndorsementSignature,
    JointEndorsement,
    content_of,
    signed_digest,
    signed_document,
)

REGISTRY = jws.JWSRegistry(algorithms=[JWS_ALG])
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


class SignatureCheckFailed(Exception):
    """The signature does not hold, with a reason a person can read."""


def digest_for(endorsement: JointEndorsement, signature: EndorsementSignature) -> bytes:
    """The payload ``signature`` must have signed, rebuilt from ``endorsement``."""
    document = signed_document(
        content_of(endorsement),
        endorsement_id=endorsement.id,
        content_version=signature.content_version,
        decision=signature.decision,
        vote_summary=signature.vote_summary,
    )
    return signed_digest(document)


def sign_digest(digest: bytes, *, key: NodeKey) -> str:
    """A detached compact JWS over ``digest`` with ``key``."""
    compact = jws.serialize_compact(
        {"alg": JWS_ALG, "kid": key.kid}, digest, key.jwk, registry=REGISTRY
    )
    header, _, signature = compact.split(".")
    return f"{header}..{signature}"


def kid_of(detached: str) -> str:
    """The ``kid`` in a detached JWS's protected header."""
    try:
        header_b64 = detached.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
        kid = header["kid"]
    except (ValueError, KeyError, TypeError, IndexError):
        raise SignatureCheckFailed("the JWS header is unreadable or has no kid") from None
    if not isinstance(kid, str):
        raise SignatureCheckFailed("the JWS header's kid is not a string")
    return kid


def verify_digest(
    detached: str,
    digest: bytes,
    *,
    jwks: dict[str, Any],
    owner: str,
    now: datetime | None = None,
) -> None:
    """Check ``detached`` over ``digest`` with ``owner``'s key named by its kid.

    ``now`` drops keys whose ``expires`` has passed (a live node); ``None`` keeps every key
    whose kid is its thumbprint (an offline check of a record).
    """
    kid = kid_of(detached)
    usable = usable_public_keys(jwks, owner=owner, now=now or _LONG_AGO)
    if f"{owner}#{kid}" not in usable:
        raise SignatureCheckFailed(f"no published key {kid} of {owner}")
    entry = next(e for e in jwks.get("keys", []) if isinstance(e, dict) and e.get("kid") == kid)
    key = OKPKey.import_key({name: entry[name] for name in ("kty", "crv", "x")})
    header, _, signature = detached.partition("..")
    payload = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    try:
        result = jws.deserialize_compact(f"{header}.{payload}.{signature}", key, registry=REGISTRY)
    except (JoseError, ValueError) as exc:
        raise SignatureCheckFailed(f"the JWS does not verify ({exc.__class__.__name__})") from None
    if result.headers().get("alg") != JWS_ALG:
        raise SignatureCheckFailed(f"the JWS alg must be {JWS_ALG}")


def verify_signature(
    endorsement: JointEndorsement,
    signature: EndorsementSignature,
    *,
    jwks: dict[str, Any],
    now: datetime | None = None,
) -> None:
    """Check one signature of ``endorsement`` against its signer's published keys."""
    if signature.endorsement != endorsement.id:
        raise SignatureCheckFailed("the signature is for another endorsement")
    if signature.content_version != endorsement.content_version:
        raise SignatureCheckFailed(
            f"signed content version {signature.content_version}, "
            f"the endorsement is at {endorsement.content_version}"
        )
    verify_digest(
        signature.jws,
        digest_for(endorsement, signature),
        jwks=jwks,
        owner=signature.signer,
        now=now,
    )
