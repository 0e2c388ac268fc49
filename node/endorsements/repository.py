"""Every query of the endorsements domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Literal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from node.accounts.models import User
from node.audit.models import AuditEntry
from node.endorsements.models import (
    Endorsement,
    EndorsementBallot,
    EndorsementSealedBallot,
    EndorsementSignatureRecord,
    EndorsementState,
    EndorsementVote,
    EndorsementVoter,
)


async def get(
    session: AsyncSession, *, endorsement_id: str, for_update: bool = False
) -> Endorsement | None:
    """``for_update`` locks the row (PostgreSQL) so that concurrent answers are folded in one
    after the other: each recomputes the status from every signature committed before it."""
    return await session.get(Endorsement, endorsement_id, with_for_update=for_update)


async def get_by_object_id(
    session: AsyncSession, *, object_id: str, for_update: bool = False
) -> Endorsement | None:
    query = select(Endorsement).where(col(Endorsement.object_id) == object_id)
    if for_update:
        query = query.with_for_update()
    result = await session.execute(query)
    return result.scalar_one_or_none()


async def list_endorsements(
    session: AsyncSession, *, states: Collection[EndorsementState], limit: int = 200
) -> list[Endorsement]:
    result = await session.execute(
        select(Endorsement)
        .where(col(Endorsement.state).in_(list(states)))
        .order_by(col(Endorsement.updated_at).desc(), col(Endorsement.id))
        .limit(limit)
    )
    return list(result.scalars())


async def open_local(session: AsyncSession, *, origin: str) -> list[Endorsement]:
    """This node's endorsements that allies hold (everything but drafts)."""
    result = await session.execute(
        select(Endorsement)
        .where(col(Endorsement.origin) == origin)
        .where(col(Endorsement.state) != EndorsementState.draft)
        .order_by(col(Endorsement.created_at), col(Endorsement.id))
    )
    return list(result.scalars())


async def signatures(
    session: AsyncSession, *, endorsement_id: str
) -> list[EndorsementSignatureRecord]:
    result = await session.execute(
        select(EndorsementSignatureRecord)
        .where(col(EndorsementSignatureRecord.endorsement_id) == endorsement_id)
        .order_by(col(EndorsementSignatureRecord.signer))
    )
    return list(result.scalars())


async def clear_signatures(session: AsyncSession, *, endorsement_id: str) -> int:
    result = await session.execute(
        delete(EndorsementSignatureRecord).where(
            col(EndorsementSignatureRecord.endorsement_id) == endorsement_id
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def remove_signature(session: AsyncSession, *, endorsement_id: str, signer: str) -> int:
    result = await session.execute(
        delete(EndorsementSignatureRecord)
        .where(col(EndorsementSignatureRecord.endorsement_id) == endorsement_id)
        .where(col(EndorsementSignatureRecord.signer) == signer)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


ANSWER_ACTIONS = (
    "endorsement.sign",
    "endorsement.decline",
    "endorsement.withdraw_signature",
    "endorsement.sign_received",
    "endorsement.decline_received",
    "endorsement.signature_withdrawn",
)


async def answer_history(session: AsyncSession, *, endorsement_id: str) -> list[AuditEntry]:
    """The audit entries of answers given, received and withdrawn, oldest first: the only
    trace of a withdrawn answer, whose signature row is gone."""
    result = await session.execute(
        select(AuditEntry)
        .where(col(AuditEntry.object_type) == "endorsement")
        .where(col(AuditEntry.object_id) == endorsement_id)
        .where(col(AuditEntry.action).in_(ANSWER_ACTIONS))
        .order_by(col(AuditEntry.id))
    )
    return list(result.scalars())


# ---- member votes ---------------------------------------------------------------------------


async def vote_for(
    session: AsyncSession,
    *,
    endorsement_id: str,
    content_version: int,
    lock: Literal["share", "update"] | None = None,
) -> EndorsementVote | None:
    """``lock`` (PostgreSQL; SQLite has one writer at a time): a ballot is cast under a share
    lock and the vote closed under an update lock, so the count waits for ballots being cast
    and a ballot cast after the count sees the vote closed."""
    query = (
        select(EndorsementVote)
        .where(col(EndorsementVote.endorsement_id) == endorsement_id)
        .where(col(EndorsementVote.content_version) == content_version)
    )
    if lock is not None:
        query = query.with_for_update(read=lock == "share").execution_options(
            populate_existing=True
        )
    result = await session.execute(query)
    return result.scalar_one_or_none()


async def current_votes(
    session: AsyncSession, *, states: Collection[EndorsementState]
) -> list[tuple[Endorsement, EndorsementVote]]:
    """The member vote on the current text of each endorsement in ``states`` that has one,
    open votes first, then the latest closed."""
    result = await session.execute(
        select(Endorsement, EndorsementVote)
        .join(EndorsementVote, col(EndorsementVote.endorsement_id) == col(Endorsement.id))
        .where(col(EndorsementVote.content_version) == col(Endorsement.content_version))
        .where(col(Endorsement.state).in_(list(states)))
        .order_by(
            col(EndorsementVote.closed_at).is_not(None),
            col(EndorsementVote.closed_at).desc(),
            col(EndorsementVote.opened_at).desc(),
            col(EndorsementVote.id),
        )
    )
    return [(endorsement, vote) for endorsement, vote in result.all()]


async def active_user_ids(session: AsyncSession) -> list[int]:
    result = await session.execute(
        select(col(User.id)).where(col(User.is_active).is_(True)).order_by(col(User.id))
    )
    return [int(user_id) for user_id in result.scalars() if user_id is not None]


async def mark_voted(session: AsyncSession, *, vote_id: str, user_id: int) -> bool:
    """Mark the user as having voted; ``False`` if not eligible or voted already."""
    result = await session.execute(
        update(EndorsementVoter)
        .where(col(EndorsementVoter.vote_id) == vote_id)
        .where(col(EndorsementVoter.user_id) == user_id)
        .where(col(EndorsementVoter.has_voted).is_(False))
        .values(has_voted=True)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def voter(session: AsyncSession, *, vote_id: str, user_id: int) -> EndorsementVoter | None:
    return await session.get(EndorsementVoter, (vote_id, user_id))


async def sealed_ballots(session: AsyncSession, *, vote_id: str) -> list[bytes]:
    result = await session.execute(
        select(col(EndorsementSealedBallot.sealed)).where(
            col(EndorsementSealedBallot.vote_id) == vote_id
        )
    )
    return [bytes(sealed) for sealed in result.scalars()]


async def delete_sealed_ballots(session: AsyncSession, *, vote_id: str) -> None:
    await session.execute(
        delete(EndorsementSealedBallot).where(col(EndorsementSealedBallot.vote_id) == vote_id)
    )


async def write_ballots(session: AsyncSession, *, vote_id: str, choices: Sequence[str]) -> None:
    """Insert the ballots in the order given, in one statement (one transaction)."""
    if choices:
        await session.execute(
            insert(EndorsementBallot),
            [{"id": str(uuid.uuid4()), "vote_id": vote_id, "choice": choice} for choice in choices],
        )


async def tally(session: AsyncSession, *, vote_id: str) -> dict[str, int]:
    result = await session.execute(
        select(col(EndorsementBallot.choice), func.count())
        .where(col(EndorsementBallot.vote_id) == vote_id)
        .group_by(col(EndorsementBallot.choice))
    )
    return {str(choice): int(count) for choice, count in result.all()}
