"""Signing and verifying server-to-server requests with HTTP Message Signatures (RFC 9421).

Every request one node sends another is signed with the sender's Ed25519 node key; the
signature base is built and checked by the ``http-message-signatures`` package, never here.

What a signature covers (label ``sig1``, parameters ``created``, ``keyid``, ``alg`` and a
random ``nonce``)::

    every request         "@method" "@target-uri"
    a request with a body "@method" "@target-uri" "content-type" "content-digest"

``Content-Digest`` is RFC 9530 ``sha-256`` over the body bytes as sent.

How a receiver decides (:func:`verify_request`), cheapest refusal first::

    Signature / Signature-Input present?           no  -> SignatureMissing
    created within +-5 min of now, not expired?    no  -> SignatureExpired
    keyid resolves to a peer's key?                no  -> UnknownKey
    Ed25519 signature over the base verifies,
      covering everything the protocol requires?   no  -> SignatureInvalid
    digest recomputed from the raw body matches?   no  -> DigestMismatch
    (keyid, signature) not seen in the window?     no  -> SignatureReplayed
                                                          -> Verdict

Who the key belongs to, and whether that peer may send this activity, is decided by the
caller with the returned :class:`Verdict`.
"""

from __future__ import annotations

import heapq
import secrets
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, Protocol

import http_sf
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    MappingKeyResolver,
    algorithms,
)

from federation.errors import (
    DigestMismatch,
    FederationError,
    SignatureExpired,
    SignatureInvalid,
    SignatureMissing,
    SignatureReplayed,
    UnknownKey,
)
from federation.keys import NodeKey
from federation.storage import utcnow

SIGNATURE_LABEL = "sig1"
MAX_SKEW = timedelta(minutes=5)
REQUEST_COMPONENTS: tuple[str, ...] = ("@method", "@target-uri")
BODY_COMPONENTS: tuple[str, ...] = ("content-type", "content-digest")

KeyResolver = Callable[[str], Ed25519PublicKey | None]
"""Looks up a ``keyid`` among the keys of known peers; ``None`` when no peer has it."""


@dataclass(frozen=True)
class Verdict:
    """What a verified signature proves: which key signed, when, and what it covered.

    ``covered`` lists the covered components in signed order, as plain names (``@method``,
    ``content-digest``) or, for a component with parameters, its serialized form.
    """

    keyid: str
    created: datetime
    covered: tuple[str, ...]


class ReplayCache(Protocol):
    """Remembers accepted signatures for as long as they could be replayed."""

    def seen_before(self, keyid: str, signature: bytes, created: datetime) -> bool:
        """Record the pair and answer whether it had already been recorded in the window."""
        ...


class MemoryReplayCache:
    """A :class:`ReplayCache` in process memory, for one ``serve`` process.

    A pair is remembered until ``created + window``; every call first forgets the pairs
    whose time is up, so memory holds only the signatures of the last window. ``window``
    must be at least the verifier's ``max_skew``, or a replay could outlive its record.
    Only signatures that verified are recorded, so a stranger cannot fill it.
    """

    def __init__(
        self, *, window: timedelta = MAX_SKEW, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._window = window
        self._clock = clock
        self._expiry: dict[tuple[str, bytes], datetime] = {}
        self._queue: list[tuple[datetime, str, bytes]] = []
        self._lock = threading.Lock()

    def seen_before(self, keyid: str, signature: bytes, created: datetime) -> bool:
        """Record ``(keyid, signature)``; ``True`` if it was already recorded and not expired."""
        entry = (keyid, signature)
        with self._lock:
            self._forget_expired(self._clock())
            if entry in self._expiry:
                return True
            expires_at = created + self._window
            self._expiry[entry] = expires_at
            heapq.heappush(self._queue, (expires_at, keyid, signature))
            return False

    def __len__(self) -> int:
        """How many pairs are remembered now."""
        return len(self._expiry)

    def _forget_expired(self, now: datetime) -> None:
        while self._queue and self._queue[0][0] < now:
            _, keyid, signature = heapq.heappop(self._queue)
            del self._expiry[(keyid, signature)]


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value of ``body``: ``sha-256=:<base64>:``."""
    return ContentDigest.create(body)


def protocol_components(body: bytes) -> tuple[str, ...]:
    """The components every signature must cover for a request with this body."""
    return REQUEST_COMPONENTS + BODY_COMPONENTS if body else REQUEST_COMPONENTS


def sign_request(
    request: httpx.Request,
    *,
    key: NodeKey,
    keyid: str | None = None,
    created: datetime | None = None,
) -> None:
    """Sign ``request`` in place with ``key``, setting ``Content-Digest`` when it has a body.

    ``keyid`` is what the receiver resolves the key by; the protocol uses ``<node id>#<kid>``
    so the key's owner is explicit (default: the bare kid, for other profiles). ``created``
    defaults to now. The body must already be read (``request.content``); a request with a
    body must have a ``Content-Type``, because the signature covers it.
    """
    created = utcnow() if created is None else created
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    body = request.content
    if body and "content-type" not in request.headers:
        raise ValueError("a request with a body needs a Content-Type: the signature covers it")
    # The digest is always ours, computed from the bytes about to be sent.
    request.headers.pop("content-digest", None)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(
            public_keys={}, private_keys={keyid or key.kid: key.private_key}
        ),
    )
    signer.sign(
        request,
        key_id=keyid or key.kid,
        created=created,
        # Ed25519 is deterministic: without a nonce, a retry of the same body in the same
        # second would be byte-identical and refused as a replay.
        nonce=secrets.token_urlsafe(16),
        label=SIGNATURE_LABEL,
        covered_component_ids=protocol_components(body),
        body=body or None,
    )


class SignatureAuth(httpx.Auth):
    """``httpx`` authentication that signs every outgoing request with a node key.

    Use it on the shared client or per request: ``client.post(url, ..., auth=SignatureAuth(key))``.
    It holds one key: make a new one when the node's active key rotates.
    """

    requires_request_body = True

    def __init__(
        self, key: NodeKey, *, keyid: str | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._key = key
        self._keyid = keyid
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign the request, then send it."""
        sign_request(request, key=self._key, keyid=self._keyid, created=self._clock())
        yield request


def verify_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    resolve_key: KeyResolver,
    replay_cache: ReplayCache,
    now: datetime | None = None,
    max_skew: timedelta = MAX_SKEW,
) -> Verdict:
    """Verify a received federation request as the protocol requires; return who signed it.

    ``url`` is the full URL the sender addressed (scheme, host, port, path, query), exactly
    as it signed ``@target-uri``; behind a reverse proxy, rebuild it from the forwarded
    scheme and host. ``body`` is the raw body as received. ``resolve_key`` may raise a
    :class:`~federation.errors.FederationError` of its own; it propagates unchanged.

    Raises a :class:`~federation.errors.SignatureError` subclass when the request is refused.
    """
    verdict, signature = _verify(
        method=method,
        url=url,
        headers=headers,
        body=body,
        resolve_key=resolve_key,
        required_components=protocol_components(body),
        now=now,
        max_skew=max_skew,
    )
    if replay_cache.seen_before(verdict.keyid, signature, verdict.created):
        raise SignatureReplayed()
    return verdict


def verify_signature(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    resolve_key: KeyResolver,
    required_components: Sequence[str],
    now: datetime | None = None,
    max_skew: timedelta = MAX_SKEW,
) -> Verdict:
    """Verify one Ed25519 signature requiring the given components, without replay tracking.

    The building block of :func:`verify_request`, which calls the same code with the
    protocol's components; use this one only for other profiles, such as RFC 9421's own
    test vectors. A covered ``content-digest`` is always checked against ``body``.
    """
    verdict, _ = _verify(
        method=method,
        url=url,
        headers=headers,
        body=body,
        resolve_key=resolve_key,
        required_components=required_components,
        now=now,
        max_skew=max_skew,
    )
    return verdict


@dataclass(frozen=True)
class _Message:
    """The request as ``http-message-signatures`` reads it."""

    method: str
    url: str
    headers: Mapping[str, str]


class _PeerKeys(HTTPSignatureKeyResolver):
    def __init__(self, resolve_key: KeyResolver) -> None:
        self._resolve_key = resolve_key

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        key = self._resolve_key(key_id)
        if key is None:
            raise UnknownKey(f"No known peer has a key with keyid {key_id!r}.")
        return key

    def resolve_private_key(self, key_id: str) -> NoReturn:
        raise NotImplementedError("a verifier holds no private keys")


class _Verifier(HTTPMessageVerifier):
    """The package's verifier, Ed25519 only, with our clock and our time policy."""

    def __init__(self, *, resolve_key: KeyResolver, now: datetime, max_skew: timedelta) -> None:
        super().__init__(
            signature_algorithm=algorithms.ED25519, key_resolver=_PeerKeys(resolve_key)
        )
        self._now = now.timestamp()
        self._max_skew = max_skew.total_seconds()

    def validate_created_and_expires(
        self, sig_input: Any, max_age: timedelta | None = None
    ) -> None:
        # The package calls this before resolving the key, so stale requests cost no lookup.
        created = sig_input.params.get("created")
        if type(created) is not int:
            raise SignatureInvalid('The signature needs an integer "created" parameter.')
        if abs(created - self._now) > self._max_skew:
            raise SignatureExpired()
        expires = sig_input.params.get("expires")
        if expires is not None and (type(expires) is not int or expires < self._now):
            raise SignatureExpired("The request signature has expired.")


def _verify(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    resolve_key: KeyResolver,
    required_components: Sequence[str],
    now: datetime | None,
    max_skew: timedelta,
) -> tuple[Verdict, bytes]:
    """The one verification path; returns the verdict and the signature bytes."""
    now = utcnow() if now is None else now
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    names = {name.lower() for name, _ in headers.items()}
    if not {"signature", "signature-input"} <= names:
        raise SignatureMissing()
    verifier = _Verifier(resolve_key=resolve_key, now=now, max_skew=max_skew)
    message = _Message(method=method, url=url, headers=headers)
    try:
        results = verifier.verify(
            message, max_age=None, require_components=tuple(required_components)
        )
    except HTTPMessageSignaturesException as exc:
        # The package wraps what our key resolver raises; hand that back as it was.
        if isinstance(exc.__cause__, FederationError):
            raise exc.__cause__ from None
        reason = str(exc) or "it does not verify with the sender's key"
        raise SignatureInvalid(f"The request signature is not valid: {reason}.") from exc
    if len(results) != 1:
        raise SignatureInvalid("Send exactly one signature.")
    result = results[0]
    try:
        ContentDigest.verify_components(result.covered_components, body)
    except HTTPMessageSignaturesException as exc:
        raise DigestMismatch() from exc
    keyid = result.parameters["keyid"]
    created = result.parameters["created"]
    if not isinstance(keyid, str) or not isinstance(created, int):
        raise SignatureInvalid("The signature's keyid or created parameter has the wrong type.")
    verdict = Verdict(
        keyid=keyid,
        created=datetime.fromtimestamp(created, UTC),
        covered=tuple(
            _component_name(component)
            for component in result.covered_components
            if component != '"@signature-params"'
        ),
    )
    return verdict, _signature_bytes(headers, result.label)


def _component_name(serialized: str) -> str:
    """``"@method"`` -> ``@method``; a component with parameters stays serialized."""
    parsed = http_sf.parse(serialized.encode("ascii"), tltype="item")
    if isinstance(parsed, tuple) and isinstance(parsed[0], str) and not parsed[1]:
        return parsed[0]
    return serialized


def _signature_bytes(headers: Mapping[str, str], label: str) -> bytes:
    """The raw bytes of the signature the package has just verified."""
    field = ", ".join(value for name, value in headers.items() if name.lower() == "signature")
    signatures = http_sf.parse(field.encode("ascii"), tltype="dictionary")
    if isinstance(signatures, dict):
        member = signatures.get(label)
        if isinstance(member, tuple) and isinstance(member[0], bytes):
            return member[0]
    raise SignatureInvalid(f"The Signature header has no byte sequence for {label!r}.")
