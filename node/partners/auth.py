"""Who is calling the partner API: ``require_scope("events:read")`` in a route's signature.

    @router.get("/api/v1/partner/events")
    async def partner_events(
        partner: Annotated[PartnerPrincipal, require_scope("events:read")], ...
    ) -> ...

The dependency, for every request:

1. reads ``Authorization: Bearer <access token>`` (none: 401, ``WWW-Authenticate: Bearer
   realm="ipo-node"``);
2. verifies the JWT: signature by a key this node publishes, ``typ`` at+jwt, ``iss``, ``aud``,
   ``exp`` (bad: 401 with ``error="invalid_token"``). A member's ``ipo_...`` bearer token is
   not a JWT and gets the same 401; a partner JWT on a member route is an unknown token there;
3. loads the client row: revoked, expired or deleted clients get 401 ``invalid_token`` at once,
   whatever their token's ``exp`` says;
4. checks the scope against the token's scopes (as still held by the client): 403 with
   ``error="insufficient_scope"`` (RFC 6750 section 3.1);
5. takes one request from the client's budget: 429 with ``Retry-After`` when it is spent.

Errors use the node's one JSON error shape; the ``WWW-Authenticate`` header carries the
RFC 6750 error codes OAuth clients look for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, get_args

from fastapi import Depends, Request, Response, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes

from federation.storage import utcnow
from node.config import Settings
from node.deps import SessionDep, get_settings
from node.errors import NodeError, PermissionDenied, TooManyRequests
from node.ops.ratelimit import TokenBucketLimiter, Verdict
from node.partners import service
from node.partners.models import PartnerScope
from node.partners.tokens import InvalidAccessToken, verify_access_token

PARTNER_SCOPES: tuple[str, ...] = get_args(PartnerScope)
SCOPE_DESCRIPTIONS = {
    "events:read": "Read public and coalition events.",
    "forums:read": "Read candidate forum plans.",
    "endorsements:read": "Read endorsements and who signed them.",
    "canvass:read": "Read canvass calls and shift fill (never door-level results).",
    "organizations:read": "Read the coalition's organizations.",
    "webhooks:manage": "Create, list and delete this client's webhook subscriptions.",
}
TOKEN_PATH = "/oauth/token"  # noqa: S105 -- a path, not a secret
REALM = 'Bearer realm="ipo-node"'

partner_oauth = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_PATH, scopes=SCOPE_DESCRIPTIONS)
    ),
    scheme_name="partnerClientCredentials",
    description="Partner clients: OAuth2 client credentials (RFC 6749 section 4.4).",
    auto_error=False,
)


@dataclass(frozen=True)
class PartnerPrincipal:
    """The partner client a request comes from, and what its token allows."""

    client_id: str
    name: str
    scopes: frozenset[str]
    token_expires_at: datetime | None = None


class InvalidPartnerToken(NodeError):
    status_code = 401
    code = "invalid_token"

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            headers={
                "WWW-Authenticate": (
                    f'{REALM}, error="invalid_token", error_description="{message}"'
                )
            },
        )


class MissingPartnerToken(NodeError):
    status_code = 401
    code = "not_authenticated"

    def __init__(self) -> None:
        super().__init__(
            f"Send an access token from POST {TOKEN_PATH} as `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": REALM},
        )


class InsufficientScope(PermissionDenied):
    code = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(
            f"This needs the {scope} scope, which this token does not hold.",
            headers={
                "WWW-Authenticate": (
                    f'{REALM}, error="insufficient_scope", scope="{scope}", '
                    f'error_description="This needs the {scope} scope."'
                )
            },
        )


class PartnerRateLimited(TooManyRequests):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(
            f"Too many requests from this client; try again in {verdict.retry_after} s.",
            headers={"Retry-After": str(verdict.retry_after), **rate_limit_headers(verdict)},
        )


def partner_limiter(settings: Settings) -> TokenBucketLimiter:
    """The per-client request budget of a node (one per app, in ``app.state``)."""
    return TokenBucketLimiter(
        per_minute=settings.partner_rate_per_minute, burst=settings.partner_rate_burst
    )


def rate_limit_headers(verdict: Verdict) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(verdict.limit),
        "RateLimit-Remaining": str(verdict.remaining),
        "RateLimit-Reset": str(verdict.reset),
    }


def token_lifetime(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.partner_token_seconds)


async def _partner(
    security_scopes: SecurityScopes,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_settings)],
    authorization: Annotated[str | None, Depends(partner_oauth)],
) -> PartnerPrincipal:
    scheme, _, credentials = (authorization or "").partition(" ")
    if not authorization:
        raise MissingPartnerToken()
    if scheme.lower() != "bearer" or not credentials.strip():
        raise InvalidPartnerToken("Send the access token as Authorization: Bearer <token>.")
    now = utcnow()
    try:
        claims = verify_access_token(
            request.app.state.keyring(), credentials.strip(), issuer=settings.public_url, now=now
        )
    except InvalidAccessToken as exc:
        raise InvalidPartnerToken(str(exc)) from None
    client = await service.usable_client(session, client_id=claims.client_id)
    if client is None:
        raise InvalidPartnerToken("This client is revoked or expired; ask the node's admin.")
    partner = PartnerPrincipal(
        client_id=client.client_id,
        name=client.name,
        scopes=claims.scopes & frozenset(client.scopes),
        token_expires_at=claims.expires_at,
    )
    for scope in security_scopes.scopes:
        check_scope(partner, scope)
    limiter: TokenBucketLimiter = request.app.state.partner_limiter
    verdict = limiter.take(client.client_id)
    if not verdict.allowed:
        raise PartnerRateLimited(verdict)
    response.headers.update(rate_limit_headers(verdict))
    return partner


def check_scope(partner: PartnerPrincipal, scope: str) -> None:
    """403 ``insufficient_scope`` unless the partner's token holds ``scope``."""
    if scope not in partner.scopes:
        raise InsufficientScope(scope)


def require_scope(scope: str) -> Any:
    """A dependency: the calling partner, which must hold ``scope`` (403 otherwise)."""
    if scope not in PARTNER_SCOPES:
        raise ValueError(f"unknown partner scope {scope!r}")  # a typo in a route, caught at start
    return Security(_partner, scopes=[scope])


CurrentPartner = Annotated[PartnerPrincipal, Security(_partner)]
"""Any partner with a valid token, whatever its scopes (``/api/v1/partner/whoami``)."""
