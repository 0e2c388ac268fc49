"""Endorsements: the rules of proposing, editing, opening, answering and withdrawing.

On the proposer (organizers and admins)::

    create (draft, local) --edit--> draft --open--> collecting (Create to the signers)
    edit while collecting or ratified: content_version + 1, signatures voided, collecting
    withdraw: withdrawn (Update to the signers); final

On every required signer, this node included when it is one (admins only)::

    sign | decline  -> an EndorsementSignature to the proposer (folded in at once if the
                       proposer is this node)
    withdraw signature -> Undo of it to the proposer

Every action writes an audit entry (ids only) in the same transaction as the change.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.keys import Keyring
from federation.outbox import build_activity, enqueue
from federation.peers import get_peer
from federation.storage import utcnow
from node.accounts.models import Role
from node.audit.service import Actor, record
from node.config import Settings
from node.endorsements import repository, sharing
from node.endorsements.errors import (
    EndorsementClosed,
    EndorsementNotFound,
    InvalidEndorsement,
    NotARequiredSigner,
    NotPublishable,
    NotTheProposer,
    VoteConflict,
    WrongContentVersion,
)
from node.endorsements.models import (
    Endorsement,
    EndorsementCreate,
    EndorsementPublic,
    EndorsementState,
    EndorsementUpdate,
    SignaturePublic,
    SignRequest,
    VoteState,
)
from node.endorsements.signing import sign_digest
from node.endorsements.voting import passed, summary_of
from node.webhooks import triggers as webhooks
from schemas import endorsement as wire
from schemas.base import problem_in_words


def object_id_for(settings: Settings, endorsement_id: str) -> str:
    return f"{settings.public_url}/endorsements/{endorsement_id}"


async def get_endorsement(session: AsyncSession, *, endorsement_id: str, role: Role) -> Endorsement:
    """The endorsement if the caller may see it; drafts only for organizers and admins."""
    endorsement = await repository.get(session, endorsement_id=endorsement_id)
    if endorsement is None or (
        endorsement.state is EndorsementState.draft and not role.includes(Role.organizer)
    ):
        raise EndorsementNotFound(f"No endorsement {endorsement_id} on this node.")
    return endorsement


async def list_endorsements(session: AsyncSession, *, role: Role) -> list[Endorsement]:
    states: list[EndorsementState] = [
        s for s in EndorsementState if s is not EndorsementState.draft
    ]
    if role.includes(Role.organizer):
        states.append(EndorsementState.draft)
    return await repository.list_endorsements(session, states=states)


async def to_public(session: AsyncSession, endorsement: Endorsement) -> EndorsementPublic:
    records = await repository.signatures(session, endorsement_id=endorsement.id)
    return EndorsementPublic(
        id=endorsement.id,
        object_id=endorsement.object_id,
        origin=endorsement.origin,
        race=sharing.race_of(endorsement),
        candidate=sharing.candidate_of(endorsement),
        position=sharing.position_of(endorsement),
        statement=endorsement.statement,
        tier=endorsement.tier,
        required_signers=list(endorsement.required_signers),
        rule=endorsement.rule,
        deadline=endorsement.deadline,
        status=sharing.status_of(endorsement, utcnow()),
        version=endorsement.version,
        content_version=endorsement.content_version,
        signed=sharing.signed_count(endorsement, records),
        needed=endorsement.needed,
        is_public=endorsement.is_public,
        signatures=[
            SignaturePublic(
                signature_id=held.signature_id,
                signer=held.signer,
                decision=held.decision,
                content_version=held.content_version,
                vote_summary=(
                    wire.VoteSummary.model_validate(held.vote_summary)
                    if held.vote_summary
                    else None
                ),
                verified=held.is_verified,
            )
            for held in records
        ],
        created_date=endorsement.created_at,
        modified_date=endorsement.updated_at,
    )


async def withdrawn_signers(
    session: AsyncSession, *, endorsement: Endorsement, settings: Settings
) -> set[str]:
    """Required signers whose answer to the current text was withdrawn and not given again,
    as far as this node saw it (the proposer and the withdrawing signer do; a third node
    only sees the answer disappear)."""
    last: dict[str, tuple[str, int | None]] = {}
    for entry in await repository.answer_history(session, endorsement_id=endorsement.id):
        signer = entry.detail.get("signer", settings.public_url)
        if entry.action.endswith(("withdraw_signature", "signature_withdrawn")):
            if signer in last:
                last[signer] = ("withdrawn", last[signer][1])
        else:
            last[signer] = ("answered", entry.detail.get("content_version"))
    held = {r.signer for r in await repository.signatures(session, endorsement_id=endorsement.id)}
    return {
        signer
        for signer, (state, version) in last.items()
        if state == "withdrawn" and version == endorsement.content_version and signer not in held
    }


# ---- this node's public face ----------------------------------------------------------------


async def publishable(
    session: AsyncSession, endorsement: Endorsement, *, settings: Settings
) -> bool:
    """Whether this group may show the endorsement on its public home: ratified, and its own
    (it proposed it, or signed this very text). A group never shows what it declined."""
    if sharing.status_of(endorsement, utcnow()) != "ratified":
        return False
    me = settings.public_url
    if endorsement.origin == me:
        return True
    records = await repository.signatures(session, endorsement_id=endorsement.id)
    return any(
        r.signer == me and r.decision == "sign" and r.content_version == endorsement.content_version
        for r in records
    )


async def set_public(
    session: AsyncSession,
    *,
    endorsement_id: str,
    is_public: bool,
    role: Role,
    actor: Actor,
    settings: Settings,
) -> Endorsement:
    """Put a ratified endorsement on this node's public home, or take it off. A local choice:
    nothing is sent, and each co-signer decides for its own home."""
    endorsement = await get_endorsement(session, endorsement_id=endorsement_id, role=role)
    if is_public and not await publishable(session, endorsement, settings=settings):
        raise NotPublishable()
    wanted = endorsement.content_version if is_public else None
    if endorsement.public_content_version == wanted:
        return endorsement
    endorsement.public_content_version = wanted
    await session.flush()
    await record(
        session,
        actor=actor,
        action="endorsement.show_publicly" if is_public else "endorsement.hide_publicly",
        object_type="endorsement",
        object_id=endorsement.id,
        detail={"content_version": endorsement.content_version},
    )
    return endorsement


async def public_endorsements(session: AsyncSession) -> list[Endorsement]:
    """What the public home shows: ratified endorsements whose current text was marked
    public here, newest change first."""
    ratified = await repository.list_endorsements(session, states=[EndorsementState.ratified])
    return [endorsement for endorsement in ratified if endorsement.is_public]


# ---- the proposer ---------------------------------------------------------------------------


async def create_endorsement(
    session: AsyncSession, *, data: EndorsementCreate, actor: Actor, settings: Settings
) -> Endorsement:
    fields = data.model_dump(exclude_unset=False)
    content = await _checked_content(session, fields, settings=settings)
    now = utcnow()
    endorsement = Endorsement(
        object_id="",
        origin=settings.public_url,
        state=EndorsementState.draft,
        version=1,
        content_version=1,
        created_at=now,
        updated_at=now,
        created_by=actor.user_id,
        **content,
    )
    endorsement.object_id = object_id_for(settings, endorsement.id)
    session.add(endorsement)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="endorsement.propose",
        object_type="endorsement",
        object_id=endorsement.id,
        detail={"required_signers": endorsement.required_signers},
    )
    return endorsement


async def update_endorsement(
    session: AsyncSession,
    *,
    endorsement_id: str,
    data: EndorsementUpdate,
    actor: Actor,
    settings: Settings,
) -> Endorsement:
    """Change content fields. Once open, any change bumps ``content_version``, voids every
    signature and returns the endorsement to ``collecting``; a request that changes nothing
    changes nothing."""
    endorsement = await _local(session, endorsement_id=endorsement_id, settings=settings)
    if endorsement.state is EndorsementState.withdrawn:
        raise EndorsementClosed("A withdrawn endorsement cannot be edited.")
    current = _content_fields(endorsement)
    changes = data.model_dump(exclude_unset=True)
    merged = {**current, **changes}
    if "candidate" in changes and changes["candidate"] is not None:
        merged["position"] = None
    if "position" in changes and changes["position"] is not None:
        merged["candidate"] = None
    content = await _checked_content(session, merged, settings=settings)
    changed = sorted(name for name, value in content.items() if getattr(endorsement, name) != value)
    if not changed:
        return endorsement
    for name in changed:
        setattr(endorsement, name, content[name])
    voided = 0
    if endorsement.state is not EndorsementState.draft:
        voided = await repository.clear_signatures(session, endorsement_id=endorsement.id)
        before = endorsement.state
        endorsement.content_version += 1
        endorsement.version += 1
        endorsement.state = EndorsementState.collecting
        if before is not endorsement.state:
            await _audit_status(session, endorsement, before=before, actor=actor)
    endorsement.updated_at = utcnow()
    session.add(endorsement)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="endorsement.edit",
        object_type="endorsement",
        object_id=endorsement.id,
        detail={"fields": changed, "content_version": endorsement.content_version,
                "signatures_voided": voided},
    )  # fmt: skip
    if endorsement.state is not EndorsementState.draft:
        await sharing.broadcast(session, endorsement=endorsement, verb="Update", settings=settings)
    return endorsement


async def open_endorsement(
    session: AsyncSession, *, endorsement_id: str, actor: Actor, settings: Settings
) -> Endorsement:
    """Send a draft to its required signers for signatures."""
    endorsement = await _local(session, endorsement_id=endorsement_id, settings=settings)
    if endorsement.state is not EndorsementState.draft:
        raise EndorsementClosed(f"The endorsement is {endorsement.state.value}, not a draft.")
    if sharing.is_past(endorsement, utcnow()):
        raise EndorsementClosed("Its deadline or election day has passed; edit it first.")
    await _checked_content(session, _content_fields(endorsement), settings=settings)
    endorsement.state = EndorsementState.collecting
    endorsement.updated_at = utcnow()
    session.add(endorsement)
    await session.flush()
    await _audit_status(session, endorsement, before=EndorsementState.draft, actor=actor)
    await sharing.broadcast(session, endorsement=endorsement, verb="Create", settings=settings)
    return endorsement


async def withdraw_endorsement(
    session: AsyncSession, *, endorsement_id: str, actor: Actor, settings: Settings
) -> Endorsement:
    """The proposer takes the endorsement back; signers are told. Final."""
    endorsement = await _local(session, endorsement_id=endorsement_id, settings=settings)
    if endorsement.state not in sharing.ANSWERABLE:
        raise EndorsementClosed(f"The endorsement is {endorsement.state.value}.")
    before = endorsement.state
    endorsement.state = EndorsementState.withdrawn
    endorsement.version += 1
    endorsement.updated_at = utcnow()
    session.add(endorsement)
    await session.flush()
    await _audit_status(session, endorsement, before=before, actor=actor)
    await sharing.broadcast(session, endorsement=endorsement, verb="Update", settings=settings)
    await webhooks.endorsement_changed(session, endorsement=endorsement, before=before)
    return endorsement


# ---- a required signer ----------------------------------------------------------------------


async def answer(
    session: AsyncSession,
    *,
    endorsement_id: str,
    decision: wire.Decision,
    data: SignRequest,
    actor: Actor,
    settings: Settings,
    keyring: Keyring,
) -> Endorsement:
    """Sign or decline the content version the admin read, with this node's key."""
    endorsement = await repository.get(session, endorsement_id=endorsement_id, for_update=True)
    if endorsement is None:
        raise EndorsementNotFound(f"No endorsement {endorsement_id} on this node.")
    me = settings.public_url
    if me not in endorsement.required_signers:
        raise NotARequiredSigner("This node is not among the endorsement's required signers.")
    if endorsement.state not in sharing.ANSWERABLE or sharing.is_past(endorsement, utcnow()):
        raise EndorsementClosed(f"The endorsement is {sharing.status_of(endorsement, utcnow())}.")
    if data.content_version != endorsement.content_version:
        raise WrongContentVersion(
            f"You read content version {data.content_version}; it is now at "
            f"{endorsement.content_version}. Read it again before answering."
        )
    summary = await _vote_summary(session, endorsement, decision=decision, attach=data.attach_vote)
    signature_id = f"{me}/endorsement-signatures/{uuid.uuid4()}"
    records = await repository.signatures(session, endorsement_id=endorsement.id)
    current = sharing.to_wire(endorsement, records, now=utcnow())
    document = wire.signed_document(
        wire.content_of(current),
        endorsement_id=endorsement.object_id,
        content_version=endorsement.content_version,
        decision=decision,
        vote_summary=summary,
    )
    signature = wire.EndorsementSignature(
        type="EndorsementSignature",
        id=signature_id,
        endorsement=endorsement.object_id,
        content_version=endorsement.content_version,
        signer=me,
        decision=decision,
        vote_summary=summary,
        jws=sign_digest(wire.signed_digest(document), key=keyring.active),
    )
    await record(
        session,
        actor=actor,
        action=f"endorsement.{decision}",
        object_type="endorsement",
        object_id=endorsement.id,
        detail={"signature": signature_id, "content_version": endorsement.content_version,
                "vote_attached": summary is not None},
    )  # fmt: skip
    if endorsement.origin == me:
        await sharing.fold_in(
            session,
            endorsement=endorsement,
            signature=signature,
            jwks=None,
            actor=actor,
            settings=settings,
        )
    else:
        await _send_to_proposer(session, endorsement, verb="Create", signature=signature,
                                settings=settings)  # fmt: skip
    return endorsement


async def withdraw_signature(
    session: AsyncSession, *, endorsement_id: str, actor: Actor, settings: Settings
) -> Endorsement:
    """Take back this node's answer (``Undo``); the proposer recomputes the status."""
    endorsement = await repository.get(session, endorsement_id=endorsement_id, for_update=True)
    if endorsement is None:
        raise EndorsementNotFound(f"No endorsement {endorsement_id} on this node.")
    me = settings.public_url
    mine = [
        held
        for held in await repository.signatures(session, endorsement_id=endorsement.id)
        if held.signer == me
    ]
    if not mine:
        raise EndorsementClosed("This node has no answer on the endorsement to withdraw.")
    signature = sharing.signature_to_wire(endorsement, mine[0])
    await record(
        session,
        actor=actor,
        action="endorsement.withdraw_signature",
        object_type="endorsement",
        object_id=endorsement.id,
        detail={"signature": signature.id},
    )
    if endorsement.origin == me:
        await sharing.take_back(
            session, endorsement=endorsement, signature=signature, actor=actor, settings=settings
        )
    else:
        await _send_to_proposer(session, endorsement, verb="Undo", signature=signature,
                                settings=settings)  # fmt: skip
    return endorsement


# ---- helpers --------------------------------------------------------------------------------


async def _send_to_proposer(
    session: AsyncSession,
    endorsement: Endorsement,
    *,
    verb: Any,
    signature: wire.EndorsementSignature,
    settings: Settings,
) -> None:
    proposer = await get_peer(session, node_id=endorsement.origin)
    if proposer is None:
        raise EndorsementClosed("The proposing node is not a peer of this node any more.")
    activity = build_activity(
        node_id=settings.public_url, type=verb, object=signature, to=[proposer.node_id]
    )
    await enqueue(session, activity=activity, recipients=[proposer])


async def _vote_summary(
    session: AsyncSession, endorsement: Endorsement, *, decision: str, attach: bool
) -> wire.VoteSummary | None:
    vote = await repository.vote_for(
        session, endorsement_id=endorsement.id, content_version=endorsement.content_version
    )
    if vote is not None and vote.state is VoteState.open:
        raise VoteConflict("The member vote is still open; close it before answering.")
    if not attach:
        return None
    if vote is None:
        raise VoteConflict("There is no closed member vote on this version to attach.")
    if decision == "sign" and not passed(vote):
        raise VoteConflict("The member vote did not pass; this node cannot sign on it.")
    return summary_of(vote)


async def _local(session: AsyncSession, *, endorsement_id: str, settings: Settings) -> Endorsement:
    endorsement = await repository.get(session, endorsement_id=endorsement_id, for_update=True)
    if endorsement is None:
        raise EndorsementNotFound(f"No endorsement {endorsement_id} on this node.")
    if endorsement.origin != settings.public_url:
        raise NotTheProposer(
            f"Endorsement {endorsement_id} was proposed by {endorsement.origin}; "
            "only that node can change it."
        )
    return endorsement


def _content_fields(endorsement: Endorsement) -> dict[str, Any]:
    return {
        "race": sharing.race_of(endorsement).model_dump(),
        "candidate": (c.model_dump() if (c := sharing.candidate_of(endorsement)) else None),
        "position": (p.model_dump() if (p := sharing.position_of(endorsement)) else None),
        "statement": endorsement.statement,
        "tier": endorsement.tier,
        "required_signers": list(endorsement.required_signers),
        "rule": endorsement.rule.model_dump(),
        "deadline": endorsement.deadline,
    }


async def _checked_content(
    session: AsyncSession, fields: dict[str, Any], *, settings: Settings
) -> dict[str, Any]:
    """Validate the content as the wire will carry it; the table's column values."""
    try:
        deadline = fields.get("deadline")
        probe = wire.JointEndorsement(
            type="JointEndorsement",
            schema_version=1,
            id=f"{settings.public_url}/endorsements/probe",
            attributed_to=settings.public_url,
            version=1,
            content_version=1,
            race=fields["race"],
            candidate=fields.get("candidate"),
            position=fields.get("position"),
            statement=fields["statement"],
            tier=fields["tier"],
            required_signers=fields["required_signers"],
            rule=fields["rule"],
            # Whole seconds: the signed text must read back exactly the same from any database.
            deadline=deadline.astimezone(UTC).replace(microsecond=0) if deadline else None,
            status="collecting",
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "endorsement"
        raise InvalidEndorsement(f"{where}: {problem_in_words(problem)}") from None
    for signer in probe.required_signers:
        if signer == settings.public_url:
            continue
        peer = await get_peer(session, node_id=signer)
        if peer is None or peer.state.value != "active" or sharing.SCOPE not in peer.scopes:
            raise InvalidEndorsement(
                f"{signer} is not an active ally sharing endorsements; only those can sign."
            )
    return sharing.content_columns(
        race=probe.race,
        candidate=probe.candidate,
        position=probe.position,
        statement=probe.statement,
        tier=probe.tier,
        required_signers=probe.required_signers,
        rule=probe.rule,
        deadline=probe.deadline,
    )


async def _audit_status(
    session: AsyncSession, endorsement: Endorsement, *, before: EndorsementState, actor: Actor
) -> None:
    await record(
        session,
        actor=actor,
        action="endorsement.status",
        object_type="endorsement",
        object_id=endorsement.id,
        detail={"from": before.value, "to": endorsement.state.value,
                "version": endorsement.version},
    )  # fmt: skip
