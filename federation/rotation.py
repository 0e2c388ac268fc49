"""Announcing a new key to peers, signed with the key it replaces.

``ipo-node rotate-key`` makes a new active key (``federation.keys.rotate_keyring``) and calls
``announce_rotation``: every peer we still have a relationship with receives
``Update {type: KeyRotation, new_key, old_kid}`` signed with the old key, which it already
trusts. Until the old key's grace period ends it stays in our node document, so a peer that
missed the announcement still verifies us, and a peer seeing an unknown kid refetches our
node document (at most once a minute).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.keys import NodeKey
from federation.models import AllianceState, Peer
from federation.outbox import build_activity, enqueue
from schemas.activity import KeyRotation
from schemas.node_document import PublicJwk


async def announce_rotation(
    session: AsyncSession, *, node_id: str, old: NodeKey, new: NodeKey
) -> int:
    """Enqueue the announcement to every peer not ended; returns how many will receive it."""
    result = await session.execute(
        select(Peer).where(col(Peer.state) != AllianceState.ended).order_by(col(Peer.id))
    )
    peers = list(result.scalars())
    if not peers:
        return 0
    if old.expires_at is None:
        raise ValueError("the retiring key needs the end of its grace period")
    rotation = KeyRotation(
        type="KeyRotation",
        new_key=PublicJwk.model_validate(new.public_jwk()),
        old_kid=old.kid,
        old_key_expires=old.expires_at,
    )
    activity = build_activity(
        node_id=node_id, type="Update", object=rotation, to=[peer.node_id for peer in peers]
    )
    await enqueue(session, activity=activity, recipients=peers, signing_kid=old.kid)
    return len(peers)
