"""``POST /federation/inbox``: where peers deliver activities.

Every check happens before anything is written, cheapest first::

    body over 64 KiB                                    -> 413 payload_too_large
    Content-Type not application/json (UTF-8)           -> 415 unsupported_media_type
    no Signature / Signature-Input                      -> 401 signature_missing
    body not one UTF-8 JSON object (no BOM, no repeated member names, no NaN,
      at most 32 levels deep)                           -> 400 malformed_request
    keyid not "<node id>#<kid>"                         -> 401 signature_invalid
    signer unknown, and not an alliance Offer           -> 403 not_an_ally
    signer unknown, Offer: fetch the claimed origin's node document, once a minute at
      most per origin                                   -> 429 offer_rate_limited / 502
      (from a pool of its own; when MAX_OFFER_FETCHES
      are already in flight                             -> 503 offers_busy, at once)
    signature, digest, +-5 min window, replay           -> 401 (see federation.signing)
    key unknown for a known peer: refetch its keys (once a minute at most), verify again
    not a valid activity, validated strictly (no value
      coerced: "2" is not an integer)                   -> 422 schema_invalid
    actor != signer, an authored id off the actor's origin,
      or not addressed to this node                     -> 403 origin_mismatch
    activity id already received                        -> 202 {"status": "duplicate"}
    alliance suspended by our admin                     -> 503 alliance_suspended (retry)
    alliance state or scope forbids it                  -> 403 not_an_ally / out_of_scope
    nobody here handles it                              -> 422 schema_invalid
    the handler refuses it (a FederationError)          -> its status; nothing is kept
    the handler breaks                                  -> 202; kept as failed, retried later
    otherwise                                           -> 202 {"status": "accepted"}

The activity row (unique on its id) and the handler's changes commit together, so a duplicate
can never be applied twice, however often or concurrently it arrives. The row keeps no personal
data once applied (``federation.retention``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import http_sf
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation import alliances
from federation.discovery import fetch_node_document
from federation.errors import (
    BodyTooLarge,
    FederationError,
    MalformedRequest,
    NotAnAlly,
    OfferRateLimited,
    OriginMismatch,
    SchemaInvalid,
    SignatureInvalid,
    SignatureMissing,
    TryLater,
    UnknownKey,
    UnsupportedMediaType,
)
from federation.handlers import object_type_of
from federation.keys import usable_public_keys
from federation.models import AllianceState, InboxActivity, InboxState, Peer
from federation.peers import get_peer, refresh_from_document
from federation.policies import check_may_send
from federation.retention import redacted
from federation.runtime import MAX_INBOX_BYTES, FederationRuntime
from federation.signing import Verdict, verify_request
from federation.storage import utcnow
from schemas.activity import Activity, KeyRotation, Tombstone, authored_ids
from schemas.base import problem_in_words
from schemas.node_document import NodeDocument
from schemas.origin import same_origin

log = logging.getLogger(__name__)

router = APIRouter(tags=["federation"])

INBOX_RETRY_AFTER = timedelta(minutes=1)
MAX_INBOX_ATTEMPTS = 8


@dataclass(frozen=True)
class Sender:
    """Who signed a request, as far as this node knows them."""

    node_id: str
    peer: Peer | None
    document: NodeDocument | None = None


@router.post(
    "/federation/inbox",
    status_code=202,
    summary="Receive a signed activity from a peer",
    responses={
        202: {"description": "Accepted (or a duplicate, which changes nothing)."},
        400: {"description": "Not one UTF-8 JSON object, or nested too deeply."},
        401: {"description": "Missing, bad, expired or replayed signature, or wrong digest."},
        403: {"description": "Not an ally, outside the alliance's scopes, or wrong origin."},
        409: {"description": "The alliance is not in a state that allows this."},
        413: {"description": "Body over 64 KiB."},
        415: {"description": "Content-Type is not application/json (UTF-8)."},
        422: {"description": "Not a valid activity, or not one this node handles."},
        429: {"description": "An offer from this origin was just checked; retry after a minute."},
        502: {"description": "The offering node's document could not be fetched."},
        503: {
            "description": "The alliance is suspended here, or this node is checking as many "
            "offers as it can at once; retry later (Retry-After)."
        },
    },
)
async def inbox(request: Request) -> JSONResponse:
    """The protocol's one write endpoint; see FEDERATION.md."""
    runtime: FederationRuntime = request.app.state.federation
    body = await request.body()
    # What the sender must have signed as @target-uri is this node's own inbox URL, as its node
    # document publishes it, never what the Host header claims: otherwise a request signed for
    # another node's inbox could be replayed here with that node's Host header.
    query = request.url.query
    status = await receive(
        runtime,
        method=request.method,
        url=runtime.inbox_url + (f"?{query}" if query else ""),
        headers=dict(request.headers),
        body=body,
    )
    return JSONResponse({"status": status}, status_code=202)


async def receive(
    runtime: FederationRuntime, *, method: str, url: str, headers: dict[str, str], body: bytes
) -> str:
    """Check and apply one delivered activity; returns ``accepted`` or ``duplicate``."""
    if len(body) > MAX_INBOX_BYTES:
        raise BodyTooLarge()
    _check_media_type(headers.get("content-type", ""))
    if "signature" not in headers or "signature-input" not in headers:
        raise SignatureMissing()
    raw = _json_object(body)
    signer = _keyid_owner(headers["signature-input"])
    sender = await _identify_sender(runtime, signer=signer, raw=raw)
    verdict = await _verify(runtime, sender, method=method, url=url, headers=headers, body=body)
    if verdict.keyid.rsplit("#", 1)[0] != sender.node_id:
        raise OriginMismatch("The verified key is not the key named in Signature-Input.")
    activity = _parse(body)
    _check_origin(runtime, activity, sender=sender.node_id)
    async with runtime.session_maker() as session, session.begin():
        # Read the peer again inside the transaction: its state may have changed meanwhile.
        if await _already_received(session, activity.id):
            return "duplicate"  # whatever the alliance is now: it changed nothing then either
        peer = await get_peer(session, node_id=sender.node_id)
        handle = _authorize(runtime, activity, peer, sender)
        # The log keeps the activity without a person's data once it is applied, and the
        # full body only if its handler breaks and must be retried (federation.retention).
        text = body.decode()
        if not await _record_once(session, activity, redacted(text) or text):
            return "duplicate"  # a concurrent copy won the insert
        try:
            async with session.begin_nested():
                await handle(session, activity, peer)
        except FederationError:
            raise
        except Exception as exc:
            log.exception("handling %s failed; kept for retry", activity.id)
            await _mark_failed(
                session,
                activity.id,
                exc,
                body=text,
                retry_at=runtime.clock() + INBOX_RETRY_AFTER,
            )
    return "accepted"


MAX_JSON_DEPTH = 32
"""Arrays and objects nested deeper than this are refused; an activity needs about six."""


def _check_media_type(content_type: str) -> None:
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    charsets = [p.partition("=")[2].strip('"') for p in parameters if p.startswith("charset=")]
    if media_type != "application/json" or any(c != "utf-8" for c in charsets):
        raise UnsupportedMediaType()


def _json_object(body: bytes) -> dict[str, Any]:
    """The body as one JSON object, read as RFC 8259 says and no more leniently."""
    if body.startswith(b"\xef\xbb\xbf"):
        raise MalformedRequest("The body starts with a byte order mark; send UTF-8 without one.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("The body is not UTF-8.") from None
    try:
        raw = json.loads(text, object_pairs_hook=_no_repeated_names, parse_constant=_no_constant)
    except RecursionError:
        raise MalformedRequest(f"The body nests deeper than {MAX_JSON_DEPTH} levels.") from None
    except ValueError:  # the hooks' own refusals are MalformedRequest, and pass through
        raise MalformedRequest("The body is not JSON.") from None
    if not isinstance(raw, dict):
        raise MalformedRequest("The body must be a JSON object (an activity).")
    if _depth(raw) > MAX_JSON_DEPTH:
        raise MalformedRequest(f"The body nests deeper than {MAX_JSON_DEPTH} levels.")
    return raw


def _no_repeated_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        repeated = next(name for name in names if names.count(name) > 1)
        raise MalformedRequest(f"The member name {repeated!r} appears twice in one object.")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise MalformedRequest(f"{name} is not a JSON number.")


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def _keyid_owner(signature_input: str) -> str:
    """The node id in ``keyid="<node id>#<kid>"``; we never trust it before verifying."""
    try:
        parsed = http_sf.parse(signature_input.encode("ascii"), tltype="dictionary")
    except (ValueError, UnicodeEncodeError):
        raise SignatureInvalid("Signature-Input cannot be parsed.") from None
    keyids = (
        [member[1].get("keyid") for member in parsed.values() if isinstance(member, tuple)]
        if isinstance(parsed, dict)
        else []
    )
    if len(keyids) != 1 or not isinstance(keyids[0], str) or "#" not in keyids[0]:
        raise SignatureInvalid('Sign with one signature whose keyid is "<node id>#<kid>".')
    return keyids[0].rsplit("#", 1)[0]


async def _identify_sender(
    runtime: FederationRuntime, *, signer: str, raw: dict[str, Any]
) -> Sender:
    async with runtime.session_maker() as session:
        peer = await get_peer(session, node_id=signer)
    if peer is not None and peer.state is not AllianceState.ended:
        return Sender(node_id=signer, peer=peer)
    # A stranger (or a former ally) may only offer an alliance; only then do we fetch, and
    # only from the origin the offer claims, at most once a minute per origin.
    is_offer = (
        raw.get("type") == "Offer"
        and isinstance(raw.get("object"), dict)
        and (raw["object"].get("type") == "Alliance")
    )
    if not is_offer or raw.get("actor") != signer:
        raise NotAnAlly("This node has no alliance with you; only an alliance offer is heard.")
    now = runtime.clock()
    last = runtime.offer_fetches.get(signer)
    if last is not None and now - last < runtime.key_refetch_interval:
        # Transient: a forged offer naming a real node must not make that node's offer fail.
        raise OfferRateLimited()
    # Strangers' fetches have their own few connections and a short deadline: however many
    # offers arrive, the connections that reach our allies are never theirs to take.
    with runtime.offer_fetch_slot():
        _remember_offer_fetch(runtime, signer, now)
        document = await fetch_node_document(
            runtime.offer_client,
            signer,
            auth=runtime.signer(),
            deadline=runtime.offer_fetch_deadline,
        )
    return Sender(node_id=document.id, peer=peer, document=document)


MAX_REMEMBERED_OFFERS = 1024


def _remember_offer_fetch(runtime: FederationRuntime, origin: str, now: datetime) -> None:
    """Note an offer's document fetch; forget old notes so strangers cannot grow the map."""
    fetches = runtime.offer_fetches
    if len(fetches) >= MAX_REMEMBERED_OFFERS:
        for stale in [o for o, at in fetches.items() if now - at >= runtime.key_refetch_interval]:
            del fetches[stale]
        if len(fetches) >= MAX_REMEMBERED_OFFERS:
            del fetches[min(fetches, key=fetches.__getitem__)]
    fetches[origin] = now


async def _verify(
    runtime: FederationRuntime,
    sender: Sender,
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
) -> Verdict:
    if sender.document is not None:
        jwks = sender.document.keys.model_dump(mode="json")
    else:
        jwks = sender.peer.keys if sender.peer is not None else {}
    known = usable_public_keys(jwks, owner=sender.node_id, now=runtime.clock())

    def attempt() -> Verdict:
        return verify_request(
            method=method,
            url=url,
            headers=headers,
            body=body,
            resolve_key=known.get,
            replay_cache=runtime.replay_cache,
            now=runtime.clock(),
        )

    try:
        return attempt()
    except UnknownKey:
        if sender.peer is None or sender.document is not None:
            raise
        if not await _refetch_keys(runtime, sender.peer):
            raise
        async with runtime.session_maker() as session:
            peer = await get_peer(session, node_id=sender.node_id)
        known.update(
            usable_public_keys(peer.keys if peer else {}, owner=sender.node_id, now=runtime.clock())
        )
        return attempt()


async def _refetch_keys(runtime: FederationRuntime, peer: Peer) -> bool:
    """Refresh a peer's keys from its node document, at most once a minute; did we?"""
    now = runtime.clock()
    if (
        peer.keys_fetched_at is not None
        and now - peer.keys_fetched_at < runtime.key_refetch_interval
    ):
        return False
    try:
        document = await fetch_node_document(runtime.client, peer.node_id, auth=runtime.signer())
    except FederationError as exc:
        log.warning("could not refetch keys of %s: %s", peer.node_id, exc)
        async with runtime.session_maker() as session, session.begin():
            stored = await get_peer(session, node_id=peer.node_id)
            if stored is not None:
                stored.keys_fetched_at = now
        return False
    async with runtime.session_maker() as session, session.begin():
        stored = await get_peer(session, node_id=peer.node_id)
        if stored is None or document.id != stored.node_id:
            return False
        refresh_from_document(stored, document)
    return True


def _parse(body: bytes) -> Activity:
    """The activity, validated strictly: JSON types as the schema says, nothing coerced."""
    try:
        return Activity.model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise SchemaInvalid(f"Not a valid activity: {_problems(exc)}") from None


def _problems(exc: ValidationError) -> str:
    """The first few problems, each at its field's path (``object.Event.version``).

    Pydantic's own steps (``tagged-union[...]``, ``function-after[...]``) are left out of the
    path, and so is a problem at a path another problem lies under: for the activity's
    ``object`` (an object or an id), "not a string" says less than what is wrong inside."""
    found = []
    for error in exc.errors():
        parts = [str(p) for p in error["loc"] if not (isinstance(p, str) and "[" in p)]
        found.append((".".join(parts) or "activity", problem_in_words(error)))
    specific = [
        (where, message)
        for where, message in found
        if not any(other.startswith(f"{where}.") for other, _ in found)
    ]
    return "; ".join(f"{where}: {message}" for where, message in specific[:3])


def _check_origin(runtime: FederationRuntime, activity: Activity, *, sender: str) -> None:
    if activity.actor != sender:
        raise OriginMismatch("The activity's actor is not the node whose key signed it.")
    for authored in authored_ids(activity):
        if not same_origin(authored, sender):
            raise OriginMismatch(f"{authored} is not under the actor's origin.")
    if runtime.node_id not in activity.to:
        raise OriginMismatch("The activity is not addressed to this node.")


Handle = Callable[[AsyncSession, Activity, Peer | None], Awaitable[None]]
"""Applies an authorized activity; the peer is ``None`` only for a stranger's offer."""


class PeerReceiver(Protocol):
    def __call__(
        self,
        session: AsyncSession,
        runtime: FederationRuntime,
        /,
        *,
        activity: Activity,
        peer: Peer,
    ) -> Awaitable[None]: ...


def _authorize(
    runtime: FederationRuntime, activity: Activity, peer: Peer | None, sender: Sender
) -> Handle:
    """Who may send this, in the alliance's current state; returns what applies it."""
    kind = (activity.type, object_type_of(activity))
    if kind == ("Offer", "Alliance"):

        async def offer(session: AsyncSession, act: Activity, current: Peer | None) -> None:
            await alliances.receive_offer(
                session, runtime, activity=act, peer=current, document=sender.document
            )

        return offer
    if peer is None or peer.state is AllianceState.ended:
        raise NotAnAlly("This node has no alliance with you.")
    if kind in (("Accept", "Alliance"), ("Reject", "Alliance")):
        receive = alliances.receive_accept if kind[0] == "Accept" else alliances.receive_reject
        return _with_peer(runtime, receive)
    if activity.type == "Leave":
        return _with_peer(runtime, alliances.receive_leave)
    if kind == ("Update", "KeyRotation"):
        return _with_peer(runtime, _receive_key_rotation)
    if kind == ("Update", "AllianceStatus"):
        return _with_peer(runtime, alliances.receive_status)
    check_may_send(state=peer.state, scopes=peer.scopes, object_type=_shared_type(activity))
    handler = runtime.registry.handler_for(activity)
    if handler is None:
        raise SchemaInvalid(f"This node does not handle {kind[0]} of {kind[1]}.")

    async def handle(session: AsyncSession, act: Activity, current: Peer | None) -> None:
        await handler(session, act, _known(current))

    return handle


def _shared_type(activity: Activity) -> str:
    """The shared object type the activity is about (a Tombstone's former type)."""
    embedded = activity.object
    if isinstance(embedded, Tombstone):
        return embedded.former_type
    return object_type_of(activity)


def _known(peer: Peer | None) -> Peer:
    if peer is None:  # _authorize has refused strangers for everything but an offer
        raise NotAnAlly("This node has no alliance with you.")
    return peer


def _with_peer(runtime: FederationRuntime, receive: PeerReceiver) -> Handle:
    async def handle(session: AsyncSession, activity: Activity, peer: Peer | None) -> None:
        await receive(session, runtime, activity=activity, peer=_known(peer))

    return handle


async def _receive_key_rotation(
    session: AsyncSession, runtime: FederationRuntime, *, activity: Activity, peer: Peer
) -> None:
    """A peer announces its next key, signed with the key it retires: publish it for them."""
    rotation = activity.object
    if not isinstance(rotation, KeyRotation):
        raise MalformedRequest("A key rotation carries a KeyRotation object.")
    new_key = rotation.new_key.model_dump(mode="json", exclude_none=True)
    if not usable_public_keys({"keys": [new_key]}, owner=peer.node_id, now=runtime.clock()):
        raise MalformedRequest(
            "The new key is not usable: its kid must be the thumbprint of its key material, "
            "and it must not have expired."
        )
    keys = [jwk for jwk in peer.keys.get("keys", []) if jwk.get("kid") != rotation.new_key.kid]
    old = [jwk for jwk in keys if jwk.get("kid") == rotation.old_kid]
    if not old:
        raise MalformedRequest("The retiring key is not one of yours that this node knows.")
    old[0]["expires"] = rotation.old_key_expires.isoformat()
    keys.append(new_key)
    peer.keys = {"keys": keys}
    session.add(peer)


async def _already_received(session: AsyncSession, activity_id: str) -> bool:
    result = await session.execute(
        select(InboxActivity.id).where(col(InboxActivity.activity_id) == activity_id)
    )
    return result.first() is not None


async def _record_once(session: AsyncSession, activity: Activity, body: str) -> bool:
    """Insert the activity's id and ``body``; ``False`` if it was already there (a duplicate)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(InboxActivity)
        .values(
            activity_id=activity.id,
            actor=activity.actor,
            type=activity.type,
            body=body,
            received_at=utcnow(),
            state=InboxState.processed,
            attempts=1,
        )
        .on_conflict_do_nothing(index_elements=["activity_id"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _mark_failed(
    session: AsyncSession, activity_id: str, exc: Exception, *, body: str, retry_at: datetime
) -> None:
    row = (
        await session.execute(
            select(InboxActivity).where(col(InboxActivity.activity_id) == activity_id)
        )
    ).scalar_one()
    row.body = body  # all of it: the retries need it
    row.state = InboxState.failed
    row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
    row.next_attempt_at = retry_at
    session.add(row)


async def retry_failed(runtime: FederationRuntime, *, limit: int = 50) -> int:
    """Apply again the activities whose handler broke; returns how many now succeeded.

    Each gets up to ``MAX_INBOX_ATTEMPTS`` tries, a minute apart at least. The checks of
    ``_authorize`` run again: a peer that stopped being an ally meanwhile is not heard.
    """
    now = runtime.clock()
    async with runtime.session_maker() as session:
        due = (
            (
                await session.execute(
                    select(InboxActivity.id)
                    .where(col(InboxActivity.state) == InboxState.failed)
                    .where(col(InboxActivity.attempts) < MAX_INBOX_ATTEMPTS)
                    .where(
                        col(InboxActivity.next_attempt_at).is_(None)
                        | (col(InboxActivity.next_attempt_at) <= now)
                    )
                    .order_by(col(InboxActivity.id))
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
    succeeded = 0
    for row_id in due:
        async with runtime.session_maker() as session, session.begin():
            row = await session.get(InboxActivity, row_id, with_for_update=True)
            if row is None or row.state is not InboxState.failed:
                continue
            row.attempts += 1
            try:
                activity = Activity.model_validate_json(row.body, strict=True)
                peer = await get_peer(session, node_id=activity.actor)
                handle = _authorize(runtime, activity, peer, Sender(activity.actor, peer))
                async with session.begin_nested():
                    await handle(session, activity, peer)
            except TryLater as exc:
                # Not the handler's fault (the alliance is suspended): wait, spend no attempt.
                row.attempts -= 1
                row.last_error = exc.message
                row.next_attempt_at = now + timedelta(hours=1)
            except Exception as exc:  # kept, with the reason, for the admin and a later try
                row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                row.next_attempt_at = now + INBOX_RETRY_AFTER * row.attempts
            else:
                row.state = InboxState.processed
                row.last_error = None
                succeeded += 1
            if row.state is InboxState.processed or row.attempts >= MAX_INBOX_ATTEMPTS:
                row.body = redacted(row.body) or row.body  # applied, or given up: not needed
            session.add(row)
    return succeeded
