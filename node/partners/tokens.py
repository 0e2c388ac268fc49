"""Partner access tokens: short-lived JWTs (RFC 9068 profile) signed with the node's key.

A token is signed with the node's active Ed25519 key and verified against every key the node
still publishes (active and grace), so ``ipo-node rotate-key`` does not cut partners off; at
worst a token outlives its key's grace period by its own few minutes and the partner fetches
a new one. The header's ``typ`` is ``at+jwt`` and the claims must include ``client_id`` and
``scope``: nothing else the node signs (endorsement signatures are detached JWS over a digest)
can pass for an access token.

Claims: ``iss`` (the node's public URL), ``sub`` and ``client_id`` (the partner client),
``aud`` (the partner API's base URL), ``scope`` (space-separated), ``iat``, ``exp``, ``jti``.
Tokens are not stored: revocation is checked against the client row on every request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError

from federation.keys import Keyring
from schemas.endorsement import JWS_ALG

TOKEN_TYPE = "at+jwt"  # noqa: S105 -- a media type, not a secret
AUDIENCE_PATH = "/api/v1/partner"


class InvalidAccessToken(Exception):
    """The token is not one this node issued, or no longer valid; the message says which."""


@dataclass(frozen=True)
class AccessClaims:
    client_id: str
    scopes: frozenset[str]
    expires_at: datetime
    token_id: str


def issue_access_token(
    keyring: Keyring,
    *,
    issuer: str,
    client_id: str,
    scopes: frozenset[str],
    lifetime: timedelta,
    now: datetime,
) -> tuple[str, datetime]:
    """A signed access token for ``client_id`` and when it expires."""
    key = keyring.active
    issued = int(now.timestamp())
    expires = issued + int(lifetime.total_seconds())
    claims = {
        "iss": issuer,
        "sub": client_id,
        "client_id": client_id,
        "aud": issuer + AUDIENCE_PATH,
        "scope": " ".join(sorted(scopes)),
        "iat": issued,
        "exp": expires,
        "jti": secrets.token_urlsafe(16),
    }
    header = {"alg": JWS_ALG, "typ": TOKEN_TYPE, "kid": key.kid}
    token = jwt.encode(header, claims, key.jwk, algorithms=[JWS_ALG])
    return token, datetime.fromtimestamp(expires, UTC)


def verify_access_token(
    keyring: Keyring, token: str, *, issuer: str, now: datetime
) -> AccessClaims:
    """The claims of a valid token this node issued, or ``InvalidAccessToken``."""
    try:
        header = jws.extract_compact(token.encode("ascii")).protected
    except (JoseError, UnicodeError, ValueError):
        raise InvalidAccessToken("The access token is not a JWT this node issued.") from None
    if header.get("typ") != TOKEN_TYPE or header.get("alg") != JWS_ALG:
        raise InvalidAccessToken("The access token is not a JWT this node issued.")
    keys = {key.kid: key for key in keyring.published(now=now)}
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise InvalidAccessToken("The access token was signed with a key this node does not use.")
    try:
        decoded = jwt.decode(token, key.jwk, algorithms=[JWS_ALG])
        jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": issuer + AUDIENCE_PATH},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
            client_id={"essential": True},
            scope={"essential": True, "allow_blank": True},
        ).validate(decoded.claims)
    except ExpiredTokenError:
        raise InvalidAccessToken("The access token has expired; get a new one.") from None
    except JoseError:
        raise InvalidAccessToken("The access token's signature or claims are not valid.") from None
    claims = decoded.claims
    return AccessClaims(
        client_id=str(claims["client_id"]),
        scopes=frozenset(str(claims["scope"]).split()),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        token_id=str(claims["jti"]),
    )
