"""``POST /oauth/token``: the OAuth2 client credentials grant (RFC 6749 section 4.4).

Built on authlib's framework-agnostic server (``AuthorizationServer`` with a
``ClientCredentialsGrant``), the way authlib's own Flask and Django integrations subclass it:
we supply ``create_oauth2_request``, ``handle_response`` and ``query_client``. Clients
authenticate with ``client_secret_basic`` (HTTP Basic, the default of most OAuth libraries)
or ``client_secret_post`` (``client_id`` and ``client_secret`` form fields).

Async database, sync authlib: authlib calls ``query_client(client_id)`` synchronously from
inside the grant, and the node's session is async. So the route reads the form, works out
which ``client_id`` the request claims (Basic header or form field, as authlib will), loads
that one row with ``await`` *before* calling authlib, and builds a server for this request
whose ``query_client`` only returns that preloaded row. Authlib then does all the checking
(client authentication, grant type, scope, error responses) without touching the database
and without blocking the event loop; issuing a token is one Ed25519 signature, microseconds.
Tokens are not stored (``save_token`` does nothing): they are self-contained JWTs, and the
partner API checks the client row on every request, which is what makes revocation immediate.

Errors here are RFC 6749 section 5.2 JSON (``{"error": "invalid_client", "error_description":
"..."}``), not the node's usual ``{"error": {"code", "message"}}`` shape: this endpoint is
called by OAuth client libraries (authlib, requests-oauthlib, Spring, ...), which parse the
standard fields to tell a wrong secret from a wrong scope. Everywhere else, including the
partner API behind the token, the node's one error shape applies.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.util import extract_basic_authorization, scope_to_list
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic import Field as PydanticField
from starlette.datastructures import FormData

from federation.keys import Keyring
from federation.storage import utcnow
from node.config import Settings
from node.deps import SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES
from node.partners import service
from node.partners.auth import TOKEN_PATH, token_lifetime
from node.partners.examples import TOKEN_EXAMPLES
from node.partners.models import PartnerClient
from node.partners.tokens import issue_access_token

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPE = "client_credentials"

router = APIRouter(tags=["partner API"], responses=ERROR_RESPONSES)


class _Client(ClientMixin):  # type: ignore[misc]  # authlib is untyped
    """authlib's view of one ``partner_client`` row, loaded before authlib runs."""

    def __init__(self, row: PartnerClient) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.row.scopes)
        return " ".join(s for s in scope_to_list(scope) or [] if s in allowed)

    def check_client_secret(self, client_secret: str) -> bool:
        return service.secret_matches(self.row, str(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE


class _Payload(OAuth2Payload):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, form: FormData) -> None:
        self._data = {key: value for key, value in form.items() if isinstance(value, str)}
        self._datalist = {key: [str(v) for v in form.getlist(key)] for key in form}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class _TokenRequest(OAuth2Request):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, request: Request, form: FormData, uri: str) -> None:
        super().__init__(method=request.method, uri=uri, headers=request.headers)
        self.payload = _Payload(form)
        self._query = dict(request.query_params)

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data


class _Grant(ClientCredentialsGrant):  # type: ignore[misc]  # authlib is untyped
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def validate_requested_scope(self) -> None:
        """A client may ask for some of its scopes (none named: all of them), never more."""
        requested = set(scope_to_list(self.request.payload.scope) or [])
        beyond = requested - set(self.request.client.row.scopes)
        if beyond:
            raise InvalidScopeError(
                description=f"This client does not hold: {' '.join(sorted(beyond))}."
            )


class _TokenServer(AuthorizationServer):  # type: ignore[misc]  # authlib is untyped
    """One request's authorization server, holding the one client row it may ask about."""

    def __init__(self, *, row: PartnerClient | None, keyring: Keyring, settings: Settings):
        super().__init__(scopes_supported=None)
        self._row = row
        self._keyring = keyring
        self._settings = settings
        self.register_grant(_Grant)
        self.register_token_generator("default", self._generate)

    def query_client(self, client_id: str) -> _Client | None:
        row = self._row
        if row is None or row.client_id != client_id or not row.is_usable(now=utcnow()):
            return None
        return _Client(row)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Nothing to save: the token is a signed JWT, checked against the client row."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals: nothing listens."""

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # built by the route, which had to read the form asynchronously

    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> JSONResponse:
        # Some authlib errors (unsupported_grant_type) compute their description instead of
        # carrying one; partners debugging a token request are owed it in the body.
        error.description = error.description or error.get_error_description()
        response: JSONResponse = super().handle_error_response(request, error)
        return response

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> JSONResponse:
        return JSONResponse(body, status_code=status, headers=dict(headers))

    def _generate(
        self,
        *,
        grant_type: str,
        client: _Client,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        del grant_type, user, expires_in, include_refresh_token
        scopes = frozenset(scope_to_list(scope) or client.row.scopes)
        lifetime = token_lifetime(self._settings)
        token, _ = issue_access_token(
            self._keyring,
            issuer=self._settings.public_url,
            client_id=client.row.client_id,
            scopes=scopes,
            lifetime=lifetime,
            now=utcnow(),
        )
        return {
            "token_type": "Bearer",
            "access_token": token,
            "expires_in": int(lifetime.total_seconds()),
            "scope": " ".join(sorted(scopes)),
        }


def _claimed_client_id(request: Request, form: FormData) -> str | None:
    """The client id the request authenticates as, found where authlib will look for it."""
    basic_id, _ = extract_basic_authorization(request.headers)
    if basic_id:
        return str(basic_id)
    posted = form.get("client_id")
    return posted if isinstance(posted, str) else None


def _endpoint_uri(settings: Settings) -> str:
    """The token endpoint's URL as authlib is told it.

    authlib refuses to build a request whose URI is plain http on a non-loopback host
    (``InsecureTransportError``). Whether this node is reached over TLS is its configuration,
    not something the request can show: production nodes have an https public URL and sit
    behind a TLS proxy that talks plain http to them, and a node with an http public URL
    (the demo, tests) was set up that way on purpose. So the endpoint's URL is the public one,
    shown to authlib in its https form when the operator chose plain http.
    """
    uri = settings.public_url + TOKEN_PATH
    if is_secure_transport(uri):
        return uri
    return urlunsplit(urlsplit(uri)._replace(scheme="https"))


class TokenResponse(BaseModel):
    """RFC 6749 section 5.1."""

    token_type: str = PydanticField(examples=["Bearer"])
    access_token: str = PydanticField(description="A JWT; send it as `Authorization: Bearer`.")
    expires_in: int = PydanticField(description="Seconds the token is valid.", examples=[900])
    scope: str = PydanticField(description="Space-separated.", examples=["events:read"])


class OAuthErrorResponse(BaseModel):
    """RFC 6749 section 5.2: the shape OAuth client libraries parse."""

    error: str = PydanticField(examples=["invalid_client"])
    error_description: str = PydanticField(examples=["The client does not exist on this server."])


_FORM = {
    "required": True,
    "description": (
        "Form-encoded (RFC 6749 section 4.4.2). Authenticate with HTTP Basic "
        "(`client_secret_basic`: `client_id:client_secret`) or with the `client_id` and "
        "`client_secret` fields (`client_secret_post`), not both; send each field once."
    ),
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["grant_type"],
                "properties": {
                    "grant_type": {
                        "type": "string",
                        "enum": [GRANT_TYPE],
                        "description": "Always `client_credentials`.",
                    },
                    "scope": {
                        "type": "string",
                        "description": "Space-separated, some of the client's scopes; "
                        "omitted: all of them.",
                        "examples": ["events:read forums:read"],
                    },
                    "client_id": {"type": "string", "description": "client_secret_post only."},
                    "client_secret": {
                        "type": "string",
                        "description": "client_secret_post only.",
                    },
                },
            },
            "example": TOKEN_EXAMPLES["request"],
        }
    },
}


def _oauth_examples(**examples: tuple[str, str, str]) -> dict[str, Any]:
    """RFC 6749 section 5.2 bodies, named: ``name=(summary, error, error_description)``."""
    return {
        "application/json": {
            "examples": {
                name: {"summary": summary, "value": {"error": error, "error_description": text}}
                for name, (summary, error, text) in examples.items()
            }
        }
    }


_NO_STORE = {"Cache-Control": {"description": "`no-store`.", "schema": {"type": "string"}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": TokenResponse,
        "description": "RFC 6749 section 5.1 token response.",
        "content": {"application/json": {"example": TOKEN_EXAMPLES["token"]}},
        "headers": _NO_STORE,
    },
    400: {
        "model": OAuthErrorResponse,
        "description": "`invalid_request`, `unsupported_grant_type` or `invalid_scope`.",
        "content": _oauth_examples(
            invalid_request=(
                "A parameter sent twice",
                "invalid_request",
                "Repeated parameter: scope.",
            ),
            unsupported_grant_type=(
                "Not client_credentials",
                "unsupported_grant_type",
                "grant_type=password is not supported",
            ),
            invalid_scope=(
                "A scope the client does not hold",
                "invalid_scope",
                "This client does not hold: canvass:read.",
            ),
        ),
        "headers": _NO_STORE,
    },
    401: {
        "model": OAuthErrorResponse,
        "description": "`invalid_client`: unknown, revoked or expired client, or wrong secret.",
        "content": _oauth_examples(
            invalid_client=(
                "Unknown client or wrong secret",
                "invalid_client",
                "The client cannot authenticate with methods: "
                "['client_secret_basic', 'client_secret_post']",
            )
        ),
        "headers": {
            **_NO_STORE,
            "WWW-Authenticate": {
                "description": '`Basic error="invalid_client", error_description="..."`',
                "schema": {"type": "string"},
            },
        },
    },
}


@router.post(
    TOKEN_PATH,
    summary="Get an access token (OAuth2 client credentials)",
    response_model=None,
    responses=_RESPONSES,
    openapi_extra={"requestBody": _FORM},
)
async def token_endpoint(
    request: Request, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    """Exchange a partner client's id and secret for a short-lived access token.

    Send `grant_type=client_credentials` (form-encoded) and optionally `scope` (space-separated,
    a subset of the client's scopes; all of them if omitted), authenticating with HTTP Basic or
    with `client_id` and `client_secret` form fields. The token is a signed JWT valid for
    `expires_in` seconds; send it as `Authorization: Bearer <token>` to `/api/v1/partner/...`.
    """
    form = await request.form()
    client_id = _claimed_client_id(request, form)
    row = await service.find_client(session, client_id=client_id) if client_id else None
    server = _TokenServer(row=row, keyring=request.app.state.keyring(), settings=settings)
    oauth_request = _TokenRequest(request, form, _endpoint_uri(settings))
    repeated = sorted(
        key for key, values in oauth_request.payload.datalist.items() if len(values) > 1
    )
    if repeated:
        error = InvalidRequestError(description=f"Repeated parameter: {', '.join(repeated)}.")
        response: JSONResponse = server.handle_error_response(oauth_request, error)
    else:
        response = server.create_token_response(oauth_request)
    return response
