"""Endorsements across the coalition: the wire mapping, the proposer's side, the replicas.

On the wire::

    proposer --Create/Update JointEndorsement--> each required signer (not itself)
    signer   --Create EndorsementSignature-----> proposer   (sign or decline)
    signer   --Undo EndorsementSignature-------> proposer   (take it back)

The proposer verifies every answer (a required signer, the current content version, a JWS
that holds against the signer's stored keys), folds it in, recomputes the status, bumps
``version`` and re-broadcasts, all in the inbox's transaction.

Verify, don't trust: a replica is applied only after this node has checked every signature
it carries against the keys it knows for that signer (its own keyring for itself, the peer
table for others). A signature that fails rejects the whole replica (422, nothing stored,
logged). A signer this node has no keys for (not its ally) is kept marked unverified: it
cannot be checked here, and it says so (``verified: false``). A ``ratified`` claim that the
signatures carried do not meet is rejected as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from federation.errors import OriginMismatch
from federation.handlers import AllianceChange, HandlerRegistry
from federation.keys import Keyring, KeyringHolder
from federation.models import Peer
from federation.outbox import allies_sharing, build_activity, enqueue
from federation.peers import get_peer
from federation.replicas import is_buried, is_newer, lift
from federation.storage import utcnow
from node.audit.service import Actor, record
from node.config import Settings
from node.endorsements import repository
from node.endorsements.errors import (
    EndorsementClosed,
    EndorsementNotFound,
    NotARequiredSigner,
    NotTheProposer,
    SignatureRefused,
    WrongContentVersion,
)
from node.endorsements.models import (
    Endorsement,
    EndorsementSignatureRecord,
    EndorsementState,
    PublicStatus,
)
from node.endorsements.signing import SignatureCheckFailed, verify_signature
from node.webhooks import triggers as webhooks
from schemas import endorsement as wire
from schemas.activity import Activity, ActivityType

log = logging.getLogger(__name__)

SCOPE = "endorsements"
CHICAGO = ZoneInfo("America/Chicago")
ANSWERABLE = (EndorsementState.collecting, EndorsementState.ratified)


def is_past(endorsement: Endorsement, now: datetime) -> bool:
    """Past the signing deadline, or election day is over (in Chicago)."""
    if endorsement.deadline is not None and now > endorsement.deadline:
        return True
    return now.astimezone(CHICAGO).date() > endorsement.election_date


def status_of(endorsement: Endorsement, now: datetime) -> PublicStatus:
    """The status shown. ``expired`` is computed on every read, on every node, from the same
    signed dates (no sweep needed): collecting past the deadline or the election. A ratified
    endorsement stays ratified (a record of what was agreed)."""
    if endorsement.state is EndorsementState.collecting and is_past(endorsement, now):
        return "expired"
    return endorsement.state.value


def to_wire(
    endorsement: Endorsement, signatures: Sequence[EndorsementSignatureRecord], *, now: datetime
) -> wire.JointEndorsement:
    status = status_of(endorsement, now)
    if status == "draft":
        raise EndorsementClosed("A draft is not shared.")
    return wire.JointEndorsement(
        type="JointEndorsement",
        schema_version=1,
        id=endorsement.object_id,
        attributed_to=endorsement.origin,
        version=endorsement.version,
        content_version=endorsement.content_version,
        race=race_of(endorsement),
        candidate=candidate_of(endorsement),
        position=position_of(endorsement),
        statement=endorsement.statement,
        tier=endorsement.tier,
        required_signers=list(endorsement.required_signers),
        rule=endorsement.rule,
        deadline=endorsement.deadline,
        status=status,
        signatures=[signature_to_wire(endorsement, record) for record in signatures],
    )


def race_of(endorsement: Endorsement) -> wire.Race:
    return wire.Race(
        office=endorsement.office,
        district=endorsement.district,
        election_date=endorsement.election_date,
        election_type=endorsement.election_type,
    )


def candidate_of(endorsement: Endorsement) -> wire.Candidate | None:
    if endorsement.candidate_name is None:
        return None
    return wire.Candidate(name=endorsement.candidate_name, campaign_url=endorsement.candidate_url)


def position_of(endorsement: Endorsement) -> wire.ReferendumPosition | None:
    if endorsement.measure is None:
        return None
    return wire.ReferendumPosition(measure=endorsement.measure, stance=endorsement.stance)


def signature_to_wire(
    endorsement: Endorsement, record: EndorsementSignatureRecord
) -> wire.EndorsementSignature:
    return wire.EndorsementSignature(
        type="EndorsementSignature",
        id=record.signature_id,
        endorsement=endorsement.object_id,
        content_version=record.content_version,
        signer=record.signer,
        decision=record.decision,
        vote_summary=(
            wire.VoteSummary.model_validate(record.vote_summary) if record.vote_summary else None
        ),
        jws=record.jws,
    )


def content_columns(
    *,
    race: wire.Race,
    candidate: wire.Candidate | None,
    position: wire.ReferendumPosition | None,
    statement: str,
    tier: str,
    required_signers: Sequence[str],
    rule: wire.DecisionRule,
    deadline: datetime | None,
) -> dict[str, Any]:
    """The content fields as the table holds them."""
    return {
        "office": race.office,
        "district": race.district,
        "election_date": race.election_date,
        "election_type": race.election_type,
        "candidate_name": candidate.name if candidate else None,
        "candidate_url": candidate.campaign_url if candidate else None,
        "measure": position.measure if position else None,
        "stance": position.stance if position else None,
        "statement": statement,
        "tier": tier,
        "required_signers": list(required_signers),
        "rule_kind": rule.kind,
        "rule_threshold": rule.threshold,
        "deadline": deadline,
    }


def signed_count(endorsement: Endorsement, records: Sequence[EndorsementSignatureRecord]) -> int:
    """Signatures (not declines) from required signers at the current content version."""
    return sum(
        1
        for record in records
        if record.decision == "sign"
        and record.content_version == endorsement.content_version
        and record.signer in endorsement.required_signers
    )


# ---- the proposer's side --------------------------------------------------------------------


async def broadcast(
    session: AsyncSession, *, endorsement: Endorsement, verb: ActivityType, settings: Settings
) -> None:
    """Send the endorsement as it is now to every required signer that is an ally in scope."""
    records = await repository.signatures(session, endorsement_id=endorsement.id)
    recipients = [
        peer
        for peer in await allies_sharing(session, scope=SCOPE)
        if peer.node_id in endorsement.required_signers
    ]
    if not recipients:
        return
    activity = build_activity(
        node_id=settings.public_url,
        type=verb,
        object=to_wire(endorsement, records, now=utcnow()),
        to=[peer.node_id for peer in recipients],
    )
    await enqueue(session, activity=activity, recipients=recipients)


async def restate(
    session: AsyncSession, *, endorsement: Endorsement, actor: Actor, settings: Settings
) -> None:
    """After the signatures changed: recompute the status, bump the version, tell signers."""
    records = await repository.signatures(session, endorsement_id=endorsement.id)
    before = endorsement.state
    if before in ANSWERABLE:
        met = signed_count(endorsement, records) >= endorsement.needed
        endorsement.state = EndorsementState.ratified if met else EndorsementState.collecting
    endorsement.version += 1
    endorsement.updated_at = utcnow()
    session.add(endorsement)
    await session.flush()
    if endorsement.state is not before:
        await record(
            session,
            actor=actor,
            action="endorsement.status",
            object_type="endorsement",
            object_id=endorsement.id,
            detail={"from": before.value, "to": endorsement.state.value,
                    "version": endorsement.version},
        )  # fmt: skip
    await broadcast(session, endorsement=endorsement, verb="Update", settings=settings)
    await webhooks.endorsement_changed(session, endorsement=endorsement, before=before)


async def fold_in(
    session: AsyncSession,
    *,
    endorsement: Endorsement,
    signature: wire.EndorsementSignature,
    jwks: dict[str, Any] | None,
    actor: Actor,
    settings: Settings,
) -> None:
    """The proposer takes one answer in: checked, stored (replacing the signer's previous
    answer), then the status recomputed and the new version broadcast.

    ``jwks`` is the signer's published key set; ``None`` for this node's own answer, made
    just now with its own key.
    """
    if endorsement.origin != settings.public_url:
        raise NotTheProposer("Answers go to the node that proposed the endorsement.")
    if endorsement.state not in ANSWERABLE or is_past(endorsement, utcnow()):
        raise EndorsementClosed(f"The endorsement is {status_of(endorsement, utcnow())}.")
    if signature.signer not in endorsement.required_signers:
        raise NotARequiredSigner(f"{signature.signer} is not a required signer.")
    if signature.content_version != endorsement.content_version:
        raise WrongContentVersion(
            f"The answer is for content version {signature.content_version}; "
            f"the endorsement is at {endorsement.content_version}."
        )
    if jwks is not None:
        records = await repository.signatures(session, endorsement_id=endorsement.id)
        current = to_wire(endorsement, records, now=utcnow())
        try:
            verify_signature(current, signature, jwks=jwks, now=utcnow())
        except SignatureCheckFailed as exc:
            log.warning(
                "refused endorsement answer %s from %s: %s", signature.id, signature.signer, exc
            )
            raise SignatureRefused(f"The signature does not verify: {exc}.") from None
    await repository.remove_signature(
        session, endorsement_id=endorsement.id, signer=signature.signer
    )
    session.add(
        EndorsementSignatureRecord(
            endorsement_id=endorsement.id,
            signature_id=signature.id,
            signer=signature.signer,
            decision=signature.decision,
            content_version=signature.content_version,
            jws=signature.jws,
            vote_summary=(
                signature.vote_summary.model_dump(mode="json") if signature.vote_summary else None
            ),
            is_verified=True,
        )
    )
    await session.flush()
    await record(
        session,
        actor=actor,
        action=f"endorsement.{signature.decision}_received",
        object_type="endorsement",
        object_id=endorsement.id,
        detail={"signer": signature.signer, "signature": signature.id,
                "content_version": signature.content_version},
    )  # fmt: skip
    await restate(session, endorsement=endorsement, actor=actor, settings=settings)


async def take_back(
    session: AsyncSession,
    *,
    endorsement: Endorsement,
    signature: wire.EndorsementSignature,
    actor: Actor,
    settings: Settings,
) -> None:
    """The proposer drops a signer's answer it withdrew (``Undo``); a no-op if not held."""
    if endorsement.origin != settings.public_url:
        raise NotTheProposer("Withdrawals go to the node that proposed the endorsement.")
    held = [
        held
        for held in await repository.signatures(session, endorsement_id=endorsement.id)
        if held.signer == signature.signer and held.signature_id == signature.id
    ]
    if not held or endorsement.state not in ANSWERABLE:
        return
    await repository.remove_signature(
        session, endorsement_id=endorsement.id, signer=signature.signer
    )
    await record(
        session,
        actor=actor,
        action="endorsement.signature_withdrawn",
        object_type="endorsement",
        object_id=endorsement.id,
        detail={"signer": signature.signer, "signature": signature.id},
    )
    await restate(session, endorsement=endorsement, actor=actor, settings=settings)


# ---- inbox handlers -------------------------------------------------------------------------


def register(registry: HandlerRegistry, *, settings: Settings) -> None:
    """Install the endorsement handlers and the backfill of open endorsements."""
    own_keys = KeyringHolder(settings.keys_dir)

    async def apply_replica(session: AsyncSession, activity: Activity, peer: Peer) -> None:
        await apply_endorsement(session, activity, peer, settings=settings, own_keys=own_keys)

    async def answer(session: AsyncSession, activity: Activity, peer: Peer) -> None:
        await receive_answer(session, activity, peer, settings=settings)

    registry.handle("Create", "JointEndorsement")(apply_replica)
    registry.handle("Update", "JointEndorsement")(apply_replica)
    registry.handle("Create", "EndorsementSignature")(answer)
    registry.handle("Undo", "EndorsementSignature")(answer)

    @registry.on_alliance_change
    async def backfill(session: AsyncSession, change: AllianceChange) -> None:
        if not change.began or SCOPE not in change.peer.scopes:
            return
        for endorsement in await repository.open_local(session, origin=settings.public_url):
            if change.peer.node_id not in endorsement.required_signers:
                continue
            records = await repository.signatures(session, endorsement_id=endorsement.id)
            activity = build_activity(
                node_id=settings.public_url,
                type="Create",
                object=to_wire(endorsement, records, now=utcnow()),
                to=[change.peer.node_id],
            )
            await enqueue(session, activity=activity, recipients=[change.peer])


async def receive_answer(
    session: AsyncSession, activity: Activity, peer: Peer, *, settings: Settings
) -> None:
    """A signer's ``Create`` (sign or decline) or ``Undo`` of its answer, on the proposer."""
    signature = activity.object
    if not isinstance(signature, wire.EndorsementSignature):
        return
    if signature.signer != peer.node_id:
        raise OriginMismatch("A node can only answer for itself.")
    endorsement = await repository.get_by_object_id(
        session, object_id=signature.endorsement, for_update=True
    )
    if endorsement is None:
        raise EndorsementNotFound(f"No endorsement {signature.endorsement} on this node.")
    actor = Actor(kind="peer", label=peer.node_id)
    if activity.type == "Undo":
        await take_back(
            session, endorsement=endorsement, signature=signature, actor=actor, settings=settings
        )
        return
    await fold_in(
        session,
        endorsement=endorsement,
        signature=signature,
        jwks=peer.keys,
        actor=actor,
        settings=settings,
    )


async def apply_endorsement(
    session: AsyncSession,
    activity: Activity,
    peer: Peer,
    *,
    settings: Settings,
    own_keys: Callable[[], Keyring],
) -> None:
    """Keep an ally's endorsement, after verifying every signature it carries."""
    incoming = activity.object
    if not isinstance(incoming, wire.JointEndorsement):
        return
    if incoming.attributed_to != peer.node_id:
        raise OriginMismatch("An endorsement can only come from the node that proposed it.")
    if await is_buried(session, object_id=incoming.id, version=incoming.version):
        return
    replica = await repository.get_by_object_id(session, object_id=incoming.id, for_update=True)
    if replica is not None:
        if replica.origin != peer.node_id:
            raise OriginMismatch("That endorsement belongs to another node.")
        if not is_newer(incoming.version, replica.version):
            return
    verified = await _verify_replica(session, incoming, settings=settings, own_keys=own_keys)
    fields = content_columns(
        race=incoming.race,
        candidate=incoming.candidate,
        position=incoming.position,
        statement=incoming.statement,
        tier=incoming.tier,
        required_signers=incoming.required_signers,
        rule=incoming.rule,
        deadline=incoming.deadline,
    )
    # A proposer's "expired" is recomputed here from the same dates.
    state = EndorsementState("collecting" if incoming.status == "expired" else incoming.status)
    before = replica.state if replica is not None else None
    now = utcnow()
    if replica is None:
        replica = Endorsement(
            object_id=incoming.id, origin=peer.node_id, state=state, created_at=now, **fields
        )
    else:
        for name, value in fields.items():
            setattr(replica, name, value)
        replica.state = state
    replica.version = incoming.version
    replica.content_version = incoming.content_version
    replica.updated_at = now
    session.add(replica)
    await lift(session, object_id=incoming.id)
    await session.flush()
    await repository.clear_signatures(session, endorsement_id=replica.id)
    for signature in incoming.signatures:
        session.add(
            EndorsementSignatureRecord(
                endorsement_id=replica.id,
                signature_id=signature.id,
                signer=signature.signer,
                decision=signature.decision,
                content_version=signature.content_version,
                jws=signature.jws,
                vote_summary=(
                    signature.vote_summary.model_dump(mode="json")
                    if signature.vote_summary
                    else None
                ),
                is_verified=signature.id in verified,
            )
        )
    await session.flush()
    await webhooks.endorsement_changed(session, endorsement=replica, before=before)
    if before is not state:
        await record(
            session,
            actor=Actor(kind="peer", label=peer.node_id),
            action="endorsement.status",
            object_type="endorsement",
            object_id=replica.id,
            detail={"from": before.value if before else None, "to": state.value,
                    "version": incoming.version},
        )  # fmt: skip


async def _verify_replica(
    session: AsyncSession,
    incoming: wire.JointEndorsement,
    *,
    settings: Settings,
    own_keys: Callable[[], Keyring],
) -> set[str]:
    """Check every signature of ``incoming``; the ids of those verified here.

    Raises ``SignatureRefused`` (logged) on any signature that fails, or that is not from a
    required signer at the current content version, or on a ``ratified`` claim the
    signatures do not meet.
    """
    verified: set[str] = set()
    signers: set[str] = set()
    for signature in incoming.signatures:
        problem = None
        if signature.signer not in incoming.required_signers:
            problem = f"{signature.signer} is not a required signer"
        elif signature.signer in signers:
            problem = f"{signature.signer} answers twice"
        elif signature.endorsement != incoming.id:
            problem = "a signature is for another endorsement"
        signers.add(signature.signer)
        jwks = await _keys_of(session, signature.signer, settings=settings, own_keys=own_keys)
        if problem is None and jwks is not None:
            try:
                verify_signature(incoming, signature, jwks=jwks, now=utcnow())
            except SignatureCheckFailed as exc:
                problem = str(exc)
            else:
                verified.add(signature.id)
        elif problem is None and signature.content_version != incoming.content_version:
            problem = "a signature is for another content version"
        if problem is not None:
            log.warning(
                "rejected endorsement %s v%s from %s: signature %s: %s",
                incoming.id, incoming.version, incoming.attributed_to, signature.id, problem,
            )  # fmt: skip
            raise SignatureRefused(f"Signature {signature.id} does not hold: {problem}.")
    signed = sum(1 for signature in incoming.signatures if signature.decision == "sign")
    if incoming.status == "ratified" and signed < incoming.rule.needed(
        len(incoming.required_signers)
    ):
        log.warning("rejected endorsement %s: ratified without the signatures", incoming.id)
        raise SignatureRefused("The endorsement claims ratified without enough signatures.")
    return verified


async def _keys_of(
    session: AsyncSession,
    node_id: str,
    *,
    settings: Settings,
    own_keys: Callable[[], Keyring],
) -> dict[str, Any] | None:
    """The published keys this node holds for ``node_id``: its own, or a peer's."""
    if node_id == settings.public_url:
        return own_keys().jwks()
    peer = await get_peer(session, node_id=node_id)
    return None if peer is None else peer.keys
