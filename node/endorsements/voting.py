"""The member vote: how a group decides, on its own node, before its admin signs.

An admin opens a vote on the content version the group will sign; every active user of this
node (members, organizers and admins alike) is eligible, fixed when the vote opens. Each
eligible user votes once: yes, no or abstain. Counts stay hidden until the admin closes the
vote. It passes when yes reaches the threshold (default 2/3) of the yes and no votes cast
(abstentions count as cast, not in the ratio).

It is a secret ballot, against the node's admins and against anyone who reads its database::

    cast   one transaction: endorsement_voter.has_voted = true      (who; no choice, no time)
                            + endorsement_sealed_ballot (random id, seal(choice))
    close  one transaction: open every sealed ballot of the vote, write them all to
                            endorsement_ballot in the order of the choices (abstain, no, yes),
                            with random ids; delete the sealed ones; store the counts

The sealed ballot is what makes the vote both durable and unlinkable. It is written with the
voter's flag, so a vote acknowledged is never lost (a restart, a crash) and nobody votes twice;
it is sealed (AES-256-GCM, a fresh random nonce, every choice padded to the same length) with
a key derived from the vote's id and the node's ``secret_key``, which lives in ``node.toml``
(or the environment) and never in the database. The plain choices are written only at the
count, all together.

What someone with SQL access to the database (its rows, and its history: PostgreSQL's ``xmin``,
``ctid`` and WAL; SQLite's rowids, page order and WAL) can learn: who was eligible and who has
voted (on PostgreSQL, from ``xmin``, roughly in which order); how many ballots are cast while
the vote is open; after it closes, the counts. What they cannot learn is how anyone voted.
While the vote is open the only trace of a choice is its seal: all seals have the same length
and two equal choices never give equal seals, so even which ballots agree is hidden. Once it
closes, every ballot row was written by the one closing transaction, which wrote no voter's
row; its position is its choice's place among the counts, and its id is random, so neither a
transaction id, nor an id, nor an order, nor a time ties a ballot to a voter. (Batches flushed
every k ballots would have told which group of voters cast which group of choices: a batch
of all "yes" names its voters. Sealing keeps everyone who voted in one anonymity set.)

The limit: whoever holds ``secret_key`` as well as the database, or its history, from while the
vote was open (a WAL archive, a backup taken then; ``ipo-node backup`` holds both) can open
the seals and tie each to the flag written in the same transaction. That person could as well
read the running process; keep ``node.toml`` and backups away from database readers. A node
whose ``secret_key`` changed while a vote was open cannot count it: closing refuses
(``ballots_unreadable``) and changes nothing until the key is restored.

Nothing here leaves the node; only the optional summary {eligible, cast, yes, no}, inside a
signature the admin chooses to attach it to.
"""

from __future__ import annotations

import os
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage import utcnow
from node.audit.service import Actor, record
from node.config import Settings
from node.endorsements import repository, sharing
from node.endorsements.errors import (
    BallotsUnreadable,
    EndorsementClosed,
    EndorsementNotFound,
    NotARequiredSigner,
    VoteConflict,
)
from node.endorsements.models import (
    Endorsement,
    EndorsementSealedBallot,
    EndorsementState,
    EndorsementVote,
    EndorsementVoter,
    VoteOpen,
    VotePublic,
    VoteState,
)
from node.errors import PermissionDenied
from schemas.endorsement import VoteSummary

CHOICES = ("abstain", "no", "yes")  # also the order ballots are written in at the count
SEALED_WIDTH = max(len(choice) for choice in CHOICES)  # every choice is padded to this
NONCE_BYTES = 12


def _seal_key(settings: Settings, vote_id: str) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"ipo-node ballot seal v1 {vote_id}".encode(),
    ).derive(settings.secret_key.encode())
    return AESGCM(key)


def seal(choice: str, *, vote_id: str, settings: Settings) -> bytes:
    """The choice, unreadable without the node's ``secret_key``: nonce and ciphertext, the
    same length for every choice."""
    nonce = os.urandom(NONCE_BYTES)
    plain = choice.encode("ascii").ljust(SEALED_WIDTH)
    return nonce + _seal_key(settings, vote_id).encrypt(nonce, plain, None)


def unseal(sealed: bytes, *, vote_id: str, settings: Settings) -> str:
    try:
        plain = _seal_key(settings, vote_id).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], None
        )
    except InvalidTag:
        plain = b""
    choice = plain.decode("ascii", errors="replace").rstrip()
    if choice not in CHOICES:
        raise BallotsUnreadable(
            "The vote's sealed ballots do not open with this node's secret_key: it changed "
            "since the vote opened. Put back the secret_key of node.toml that was in use "
            "then, and close the vote again; nothing was counted."
        )
    return choice


def passed(vote: EndorsementVote) -> bool:
    yes, no = vote.yes or 0, vote.no or 0
    if yes + no == 0:
        return False
    return yes * vote.threshold_denominator >= vote.threshold_numerator * (yes + no)


def summary_of(vote: EndorsementVote) -> VoteSummary:
    yes, no, abstain = vote.yes or 0, vote.no or 0, vote.abstain or 0
    return VoteSummary(eligible=vote.eligible, cast=yes + no + abstain, yes=yes, no=no)


async def _endorsement(
    session: AsyncSession, endorsement_id: str, settings: Settings
) -> Endorsement:
    endorsement = await repository.get(session, endorsement_id=endorsement_id)
    if endorsement is None or endorsement.state.value == "draft":
        raise EndorsementNotFound(f"No endorsement {endorsement_id} on this node.")
    if settings.public_url not in endorsement.required_signers:
        raise NotARequiredSigner("This node is not asked to sign; there is nothing to vote on.")
    return endorsement


async def _current_vote(
    session: AsyncSession,
    endorsement: Endorsement,
    *,
    lock: Literal["share", "update"] | None = None,
) -> EndorsementVote | None:
    return await repository.vote_for(
        session,
        endorsement_id=endorsement.id,
        content_version=endorsement.content_version,
        lock=lock,
    )


async def open_vote(
    session: AsyncSession,
    *,
    endorsement_id: str,
    data: VoteOpen,
    actor: Actor,
    settings: Settings,
) -> EndorsementVote:
    endorsement = await _endorsement(session, endorsement_id, settings)
    if endorsement.state not in sharing.ANSWERABLE or sharing.is_past(endorsement, utcnow()):
        raise EndorsementClosed(f"The endorsement is {sharing.status_of(endorsement, utcnow())}.")
    if data.threshold_numerator > data.threshold_denominator:
        raise VoteConflict("The threshold cannot be more than the whole.")
    if await _current_vote(session, endorsement) is not None:
        raise VoteConflict("This version of the text already has a member vote.")
    eligible = await repository.active_user_ids(session)
    vote = EndorsementVote(
        endorsement_id=endorsement.id,
        content_version=endorsement.content_version,
        state=VoteState.open,
        threshold_numerator=data.threshold_numerator,
        threshold_denominator=data.threshold_denominator,
        eligible=len(eligible),
    )
    session.add(vote)
    await session.flush()
    session.add_all(EndorsementVoter(vote_id=vote.id, user_id=user_id) for user_id in eligible)
    await record(
        session,
        actor=actor,
        action="endorsement.vote_open",
        object_type="endorsement",
        object_id=endorsement.id,
        detail={"vote": vote.id, "eligible": len(eligible),
                "threshold": f"{data.threshold_numerator}/{data.threshold_denominator}"},
    )  # fmt: skip
    return vote


async def cast_ballot(
    session: AsyncSession, *, endorsement_id: str, user_id: int, choice: str, settings: Settings
) -> None:
    endorsement = await _endorsement(session, endorsement_id, settings)
    vote = await _current_vote(session, endorsement, lock="share")
    if vote is None or vote.state is not VoteState.open:
        raise VoteConflict("No member vote is open on this endorsement.")
    if not await repository.mark_voted(session, vote_id=vote.id, user_id=user_id):
        if await repository.voter(session, vote_id=vote.id, user_id=user_id) is None:
            raise PermissionDenied("You were not a member when this vote opened.")
        raise VoteConflict("You have already voted.")
    # Sealed, beside the flag: durable and counted once, yet unreadable (module docstring).
    session.add(
        EndorsementSealedBallot(
            vote_id=vote.id, sealed=seal(choice, vote_id=vote.id, settings=settings)
        )
    )


async def close_vote(
    session: AsyncSession, *, endorsement_id: str, actor: Actor, settings: Settings
) -> EndorsementVote:
    endorsement = await _endorsement(session, endorsement_id, settings)
    vote = await _current_vote(session, endorsement, lock="update")
    if vote is None or vote.state is not VoteState.open:
        raise VoteConflict("No member vote is open on this endorsement.")
    sealed = await repository.sealed_ballots(session, vote_id=vote.id)
    choices = [unseal(ballot, vote_id=vote.id, settings=settings) for ballot in sealed]
    # In the order of the choices, not of casting: the order says only what the counts say.
    await repository.write_ballots(
        session, vote_id=vote.id, choices=sorted(choices, key=CHOICES.index)
    )
    await repository.delete_sealed_ballots(session, vote_id=vote.id)
    counts = await repository.tally(session, vote_id=vote.id)
    vote.yes, vote.no, vote.abstain = (
        counts.get("yes", 0),
        counts.get("no", 0),
        counts.get("abstain", 0),
    )
    vote.state = VoteState.closed
    vote.closed_at = utcnow()
    session.add(vote)
    await record(
        session,
        actor=actor,
        action="endorsement.vote_close",
        object_type="endorsement",
        object_id=endorsement.id,
        detail={"vote": vote.id, **summary_of(vote).model_dump(), "passed": passed(vote)},
    )
    return vote


async def get_vote(
    session: AsyncSession, *, endorsement_id: str, user_id: int, settings: Settings
) -> EndorsementVote:
    endorsement = await _endorsement(session, endorsement_id, settings)
    vote = await _current_vote(session, endorsement)
    if vote is None:
        raise EndorsementNotFound("There is no member vote on this version of the text.")
    return vote


async def find_vote(
    session: AsyncSession, *, endorsement: Endorsement, user_id: int, settings: Settings
) -> VotePublic | None:
    """The vote on the endorsement's current text as ``user_id`` sees it, if it has one (none
    where this node is not asked to sign: there is nothing to vote on)."""
    if (
        endorsement.state is EndorsementState.draft
        or settings.public_url not in endorsement.required_signers
    ):
        return None
    vote = await _current_vote(session, endorsement)
    return await to_public(session, vote, user_id=user_id) if vote else None


def may_open(endorsement: Endorsement, *, settings: Settings) -> bool:
    """Whether :func:`open_vote` takes this endorsement now, if it has no vote yet: what the
    pages offer an admin (the service still checks, and says why not)."""
    return (
        settings.public_url in endorsement.required_signers
        and endorsement.state in sharing.ANSWERABLE
        and not sharing.is_past(endorsement, utcnow())
    )


async def list_votes(
    session: AsyncSession, *, user_id: int
) -> list[tuple[Endorsement, VotePublic]]:
    """Every member vote on the current text of an endorsement, as :func:`to_public` shows it
    to ``user_id``: open ones first, counts only once closed. Every user may read them all
    (a vote is never on a draft, the one endorsement only organizers read)."""
    states = [state for state in EndorsementState if state is not EndorsementState.draft]
    rows = await repository.current_votes(session, states=states)
    return [(e, await to_public(session, vote, user_id=user_id)) for e, vote in rows]


async def to_public(session: AsyncSession, vote: EndorsementVote, *, user_id: int) -> VotePublic:
    voter = await repository.voter(session, vote_id=vote.id, user_id=user_id)
    closed = vote.state is VoteState.closed
    summary = summary_of(vote) if closed else None
    return VotePublic(
        id=vote.id,
        content_version=vote.content_version,
        state=vote.state,
        threshold=f"{vote.threshold_numerator}/{vote.threshold_denominator}",
        eligible=vote.eligible,
        cast=summary.cast if summary else None,
        yes=vote.yes if closed else None,
        no=vote.no if closed else None,
        abstain=vote.abstain if closed else None,
        passed=passed(vote) if closed else None,
        you_voted=voter.has_voted if voter else None,
        opened_at=vote.opened_at,
        closed_at=vote.closed_at,
    )
