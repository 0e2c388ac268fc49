"""Tables and API shapes of the endorsements domain.

``endorsement`` holds this node's proposals and the replicas of allies' proposals it was asked
to sign (``origin`` tells them apart, as for events). The race and candidate live in the
endorsement row: a race is only ever shared as part of an endorsement.

``endorsement_signature`` holds the answers (sign or decline) at the current content version,
one per signer. On the proposer they are folded in from signers' activities; on a replica
they are the proposer's list, each verified by this node (``is_verified``).

The member vote is a secret ballot. ``endorsement_voter`` holds who may vote and whether they
did, with no choice and no time; ``endorsement_sealed_ballot`` holds the ballots cast while the
vote is open, each sealed with a key the database never holds; ``endorsement_ballot`` holds
the choices, with no user and no time, written all at once when the vote closes. Why that
keeps a voter's row from being tied to her ballot is in ``node.endorsements.voting``.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from federation.storage import enum_column, utc_column, utcnow
from schemas.endorsement import (
    Candidate,
    Decision,
    DecisionRule,
    Race,
    ReferendumPosition,
    Tier,
    VoteSummary,
)


class EndorsementState(enum.StrEnum):
    """What is stored; ``expired`` is computed on read from the deadline and election date."""

    draft = "draft"
    collecting = "collecting"
    ratified = "ratified"
    withdrawn = "withdrawn"


PublicStatus = Literal["draft", "collecting", "ratified", "withdrawn", "expired"]


class VoteState(enum.StrEnum):
    open = "open"
    closed = "closed"


def _uuid() -> str:
    return str(uuid.uuid4())


class Endorsement(SQLModel, table=True):
    __tablename__ = "endorsement"

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    object_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    origin: str = Field(max_length=512, index=True)
    office: str = Field(max_length=32)
    district: str = Field(max_length=100)
    election_date: date
    election_type: str = Field(max_length=16)
    candidate_name: str | None = Field(default=None, max_length=200)
    candidate_url: str | None = Field(default=None, max_length=2048)
    measure: str | None = Field(default=None, max_length=500)
    stance: str | None = Field(default=None, max_length=8)
    statement: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    tier: str = Field(max_length=16)
    required_signers: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    rule_kind: str = Field(max_length=16)
    rule_threshold: int | None = Field(default=None)
    deadline: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    state: EndorsementState = Field(
        sa_column=sa.Column(enum_column(EndorsementState), nullable=False)
    )
    version: int = Field(default=1)
    content_version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
    # Null for replicas: their authors are users of another node.
    created_by: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    # This node's own choice, never sent: the text version an organizer put on this node's
    # public home. An edit bumps ``content_version``, so a new text is never public unread.
    public_content_version: int | None = Field(default=None)

    __table_args__ = (
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("content_version >= 1", name="content_version_positive"),
    )

    @property
    def is_public(self) -> bool:
        """Shown on this node's public home: ratified, and this very text marked public."""
        return (
            self.state is EndorsementState.ratified
            and self.public_content_version == self.content_version
        )

    @property
    def rule(self) -> DecisionRule:
        return DecisionRule(kind=self.rule_kind, threshold=self.rule_threshold)

    @property
    def needed(self) -> int:
        return self.rule.needed(len(self.required_signers))


class EndorsementSignatureRecord(SQLModel, table=True):
    """One signer's answer at ``content_version``."""

    __tablename__ = "endorsement_signature"
    __table_args__ = (sa.UniqueConstraint("endorsement_id", "signer"),)

    id: int | None = Field(default=None, primary_key=True)
    endorsement_id: str = Field(foreign_key="endorsement.id", max_length=36, ondelete="CASCADE")
    signature_id: str = Field(max_length=512)
    signer: str = Field(max_length=512)
    decision: str = Field(max_length=16)
    content_version: int
    jws: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    vote_summary: dict[str, Any] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON, nullable=True)
    )
    is_verified: bool = True
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class EndorsementVote(SQLModel, table=True):
    """This node's internal vote on one content version of an endorsement."""

    __tablename__ = "endorsement_vote"
    __table_args__ = (sa.UniqueConstraint("endorsement_id", "content_version"),)

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    endorsement_id: str = Field(foreign_key="endorsement.id", max_length=36, ondelete="CASCADE")
    content_version: int
    state: VoteState = Field(sa_column=sa.Column(enum_column(VoteState), nullable=False))
    threshold_numerator: int
    threshold_denominator: int
    eligible: int
    yes: int | None = None
    no: int | None = None
    abstain: int | None = None
    opened_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class EndorsementBallot(SQLModel, table=True):
    """A counted choice, with nothing that says whose it is or when it was cast: written when
    its vote closes, with the vote's other ballots, in the order of the choices."""

    __tablename__ = "endorsement_ballot"

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    vote_id: str = Field(
        foreign_key="endorsement_vote.id", max_length=36, index=True, ondelete="CASCADE"
    )
    choice: str = Field(max_length=8)


class EndorsementSealedBallot(SQLModel, table=True):
    """A ballot cast on an open vote: the choice sealed (``voting.seal``), nothing that says
    whose it is or when it was cast. Opened, counted and deleted when the vote closes."""

    __tablename__ = "endorsement_sealed_ballot"
    # No rowid on SQLite: the rows sit in the order of their random ids, not of casting.
    __table_args__ = {"sqlite_with_rowid": False}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    vote_id: str = Field(
        foreign_key="endorsement_vote.id", max_length=36, index=True, ondelete="CASCADE"
    )
    sealed: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))


class EndorsementVoter(SQLModel, table=True):
    """Who may vote and whether they have, with nothing that says how."""

    __tablename__ = "endorsement_voter"

    vote_id: str = Field(
        foreign_key="endorsement_vote.id", primary_key=True, max_length=36, ondelete="CASCADE"
    )
    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    has_voted: bool = False


# ---- API shapes -----------------------------------------------------------------------------


class EndorsementCreate(BaseModel):
    """A new proposal (a draft until opened). Give ``candidate`` or, for a referendum,
    ``position``."""

    model_config = ConfigDict(extra="forbid")

    race: Race
    candidate: Candidate | None = None
    position: ReferendumPosition | None = None
    statement: str = PydanticField(min_length=1, max_length=10_000, pattern=r"\S")
    tier: Tier = "endorse"
    required_signers: list[str] = PydanticField(min_length=1, max_length=50)
    rule: DecisionRule = DecisionRule(kind="all")
    deadline: AwareDatetime | None = None


class EndorsementUpdate(BaseModel):
    """A content change: only the fields sent change. Once open, it voids every signature."""

    model_config = ConfigDict(extra="forbid")

    race: Race | None = None
    candidate: Candidate | None = None
    position: ReferendumPosition | None = None
    statement: str | None = PydanticField(default=None, min_length=1, max_length=10_000)
    tier: Tier | None = None
    required_signers: list[str] | None = PydanticField(default=None, min_length=1, max_length=50)
    rule: DecisionRule | None = None
    deadline: AwareDatetime | None = None


class SignRequest(BaseModel):
    """An admin's answer. ``content_version`` must be the one shown (what the admin read);
    ``attach_vote`` signs the closed member vote's summary with it."""

    model_config = ConfigDict(extra="forbid")

    content_version: int = PydanticField(ge=1)
    attach_vote: bool = False


class PublicFaceChange(BaseModel):
    """Show a ratified endorsement on this node's public home, or take it off."""

    model_config = ConfigDict(extra="forbid")

    is_public: bool


class VoteOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Bounded: a group is never a thousand-fold ratio, and the columns are 32-bit integers.
    threshold_numerator: int = PydanticField(default=2, ge=1, le=1000)
    threshold_denominator: int = PydanticField(default=3, ge=1, le=1000)


class BallotCast(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choice: Literal["yes", "no", "abstain"]


class VotePublic(BaseModel):
    """A vote as callers see it: counts only once it is closed."""

    id: str
    content_version: int
    state: VoteState
    threshold: str
    eligible: int
    cast: int | None
    yes: int | None
    no: int | None
    abstain: int | None
    passed: bool | None
    you_voted: bool | None
    opened_at: datetime | None = None
    closed_at: datetime | None = None


class SignaturePublic(BaseModel):
    signature_id: str
    signer: str
    decision: Decision
    content_version: int
    vote_summary: VoteSummary | None
    verified: bool = PydanticField(
        description="Whether this node checked the JWS against the signer's published keys."
    )


class EndorsementPublic(BaseModel):
    id: str
    object_id: str
    origin: str
    race: Race
    candidate: Candidate | None
    position: ReferendumPosition | None
    statement: str
    tier: Tier
    required_signers: list[str]
    rule: DecisionRule
    deadline: datetime | None
    status: PublicStatus
    version: int
    content_version: int
    signed: int
    needed: int
    signatures: list[SignaturePublic]
    is_public: bool = PydanticField(
        description="Shown on this node's public home (this node's own choice; not shared). "
        "Only a ratified endorsement can be; an edit of the text takes it off until marked "
        "again."
    )
    created_date: datetime
    modified_date: datetime
