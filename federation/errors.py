"""Why a federation request was refused, as typed exceptions.

Every error carries the HTTP status the inbox answers with, a short machine ``code`` that a
peer can act on, and a human ``message``. The application renders them all through its one
error handler, so a peer always gets ``{"error": {"code": ..., "message": ...}}``.

The tree::

    FederationError
    ├── MalformedRequest (400)        not a request we can even read
    ├── SignatureError (401)          we cannot tell who sent it
    │   ├── SignatureMissing          no Signature / Signature-Input header
    │   ├── SignatureInvalid          bad signature, or it does not cover what it must
    │   ├── SignatureExpired          ``created`` outside the allowed window, or ``expires`` past
    │   ├── SignatureReplayed         this (keyid, signature) pair was already accepted
    │   ├── DigestMismatch            Content-Digest does not match the body we received
    │   └── UnknownKey                ``keyid`` is not a key of anyone we know
    ├── Forbidden (403)               we know who sent it, and they may not do this
    │   ├── OriginMismatch            key owner, actor and authored ids are not one origin
    │   ├── NotAnAlly                 only an alliance offer may come from a stranger
    │   └── OutOfScope                the alliance does not cover this kind of object
    ├── BodyTooLarge (413)
    ├── UnsupportedMediaType (415)    a body that is not application/json
    ├── SchemaInvalid (422)           valid JSON that the wire schema refuses
    └── TryLater                      refused for now; the sender keeps it and retries
        ├── OfferRateLimited (429)    an offer from this origin was checked moments ago
        ├── OffersBusy (503)          as many offers as we check at once are being checked
        └── AllianceSuspended (503)   the receiving admin paused the alliance
"""

from __future__ import annotations

from typing import ClassVar


class FederationError(Exception):
    """Base of every refusal of a federation request.

    ``status_code`` and ``code`` are fixed per class; ``message`` defaults to a sentence
    that fits the class and may be replaced by a more precise one where it is raised.
    """

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "federation_error"
    default_message: ClassVar[str] = "The federation request was refused."
    headers: ClassVar[dict[str, str] | None] = None
    """Response headers that go with the refusal (``Retry-After``)."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def to_dict(self) -> dict[str, str]:
        """The error as the JSON object a peer receives: ``{"code": ..., "message": ...}``."""
        return {"code": self.code, "message": self.message}


class MalformedRequest(FederationError):
    """The request cannot be read: not UTF-8 JSON, too deeply nested, missing parts."""

    status_code = 400
    code = "malformed_request"
    default_message = "The request is malformed."


class SignatureError(FederationError):
    """The sender could not be authenticated. Every subclass answers 401."""

    status_code = 401
    code = "signature_error"
    default_message = "The request signature could not be verified."


class SignatureMissing(SignatureError):
    """The request carries no HTTP message signature; unsigned requests are never accepted."""

    code = "signature_missing"
    default_message = "The request is not signed: Signature and Signature-Input are required."


class SignatureInvalid(SignatureError):
    """The signature does not verify, is malformed, or does not cover what the protocol needs."""

    code = "signature_invalid"
    default_message = "The request signature is not valid."


class SignatureExpired(SignatureError):
    """The signature's ``created`` time is outside the allowed clock skew, or it has expired."""

    code = "signature_expired"
    default_message = "The request signature is too old or dated in the future; check the clock."


class SignatureReplayed(SignatureError):
    """This exact signature was already accepted once within the replay window."""

    code = "signature_replayed"
    default_message = "This signed request was already received."


class DigestMismatch(SignatureError):
    """The body does not hash to the signed Content-Digest: it changed on the way."""

    code = "digest_mismatch"
    default_message = "The body does not match its signed Content-Digest."


class UnknownKey(SignatureError):
    """The ``keyid`` names no key of a known peer."""

    code = "unknown_key"
    default_message = "The signing key is not known to this node."


class Forbidden(FederationError):
    """The sender is authenticated but not allowed to do this. Every subclass answers 403."""

    status_code = 403
    code = "forbidden"
    default_message = "The sender may not do this."


class OriginMismatch(Forbidden):
    """The signing key, the activity's actor and the ids it authors are not all one origin."""

    code = "origin_mismatch"
    default_message = "The activity claims ids outside the origin of the node that signed it."


class NotAnAlly(Forbidden):
    """The sender is not an active ally, and the request is not an alliance offer."""

    code = "not_an_ally"
    default_message = "This node has no active alliance with the sender."


class OutOfScope(Forbidden):
    """The alliance exists but does not cover this kind of object."""

    code = "out_of_scope"
    default_message = "The alliance does not cover this kind of object."


class BodyTooLarge(FederationError):
    """The body is larger than the inbox accepts."""

    status_code = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMediaType(FederationError):
    """The body is declared as something other than UTF-8 ``application/json``."""

    status_code = 415
    code = "unsupported_media_type"
    default_message = "Send the activity as Content-Type: application/json (UTF-8)."


class SchemaInvalid(FederationError):
    """The body is well-formed JSON but not a valid activity under the wire schema."""

    status_code = 422
    code = "schema_invalid"
    default_message = "The activity does not match the federation schema."


class TryLater(FederationError):
    """A refusal for now, not for good: senders treat its status as transient and retry."""

    status_code = 503
    code = "try_later"
    default_message = "This node cannot take the request now; retry later."


class OfferRateLimited(TryLater):
    """An alliance offer from this origin made us fetch its node document moments ago."""

    status_code = 429
    code = "offer_rate_limited"
    default_message = "An offer from this origin was just checked; retry in a minute."
    headers = {"Retry-After": "60"}


class OffersBusy(TryLater):
    """Every slot for fetching strangers' node documents is taken: the offer is not queued
    behind them (that would hold the sender's connection), it is answered at once."""

    status_code = 503
    code = "offers_busy"
    default_message = "This node is checking as many alliance offers as it can; retry soon."
    headers = {"Retry-After": "30"}


class AllianceSuspended(TryLater):
    """The receiving node's admin suspended the alliance; activities wait until resumed."""

    status_code = 503
    code = "alliance_suspended"
    default_message = "This node has suspended its alliance with you; retry later."
    headers = {"Retry-After": "3600"}
