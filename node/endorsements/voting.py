"""The member vote: how a group decides, on its own node, before its admin signs.

An admin opens a vote on the content version the group will sign; every active user of this
node (members, organizers and admins alike) is eligible, fixed when the vote opens. Each
eligible user votes once: yes, no or abstain. It is a secret ballot: the choice goes into
``endorsement_ballot`` (no user, no time, a random id) and the fact of voting into
``endorsement_voter`` (no choice, no time), so no row links a person to a choice. Counts stay
hidden until the admin closes the vote. It passes when yes reaches the threshold (default 2/3)
of the yes and no votes cast (abstentions count as cast, not in the ratio).

Nothing here leaves the node; only the optional summary {eligible, cast, yes, no}, inside a
signature the admin chooses to attach it to.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage import utcnow
from node.audit.service import Actor, record
from node.config import Settings
from node.endorsements import repository, sharing
from node.endorsements.errors import (
    EndorsementClosed,
    EndorsementNotFound,
    NotARequiredSigner,
    VoteConflict,
)
from node.endorsements.models import (
    Endorsement,
    EndorsementBallot,
    EndorsementVote,
    EndorsementVoter,
    VoteOpen,
    VotePublic,
    VoteState,
)
from node.errors import PermissionDenied
from schemas.endorsement import VoteSummary


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


async def _current_vote(session: AsyncSession, endorsement: Endorsement) -> EndorsementVote | None:
    return await repository.vote_for(
        session, endorsement_id=endorsement.id, content_version=endorsement.content_version
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
    vote = await _current_vote(session, endorsement)
    if vote is None or vote.state is not VoteState.open:
        raise VoteConflict("No member vote is open on this endorsement.")
    if not await repository.mark_voted(session, vote_id=vote.id, user_id=user_id):
        if await repository.voter(session, vote_id=vote.id, user_id=user_id) is None:
            raise PermissionDenied("You were not a member when this vote opened.")
        raise VoteConflict("You have already voted.")
    session.add(EndorsementBallot(vote_id=vote.id, choice=choice))


async def close_vote(
    session: AsyncSession, *, endorsement_id: str, actor: Actor, settings: Settings
) -> EndorsementVote:
    endorsement = await _endorsement(session, endorsement_id, settings)
    vote = await _current_vote(session, endorsement)
    if vote is None or vote.state is not VoteState.open:
        raise VoteConflict("No member vote is open on this endorsement.")
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
    )
