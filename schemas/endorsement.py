"""Joint endorsements: proposed by one node, co-signed by allies, verifiable by anyone.

A ``JointEndorsement`` has one origin (the proposer), its only writer. It carries two counters:

``version``
    the replica counter, bumped by the proposer on *every* change (a signature folded in, a
    withdrawal, an edit); receivers apply only a higher one, as for every shared object.
``content_version``
    bumped only when a content field changes. Signatures cover it, so an edit voids every
    signature at once, while folding a signature in (which bumps ``version``) voids none.

Life on the proposer::

    draft (local only) --open--> collecting --rule met--> ratified
                                   ^   |                      |
                                   |   +-- edit: content_version + 1, signatures voided
                                   +------ a signer withdraws (Undo) and the rule fails
    collecting | ratified --proposer withdraws--> withdrawn
    collecting --deadline or election date passed--> expired (computed on read, every node)

A signer answers with an ``EndorsementSignature`` (``decision`` ``sign`` or ``decline``) in a
``Create`` addressed to the proposer, and takes a signature back with ``Undo`` of the same
object. Every answer is a detached JWS (RFC 7515 appendix F, ``alg`` ``Ed25519`` of RFC 9864,
``kid`` = the signer's key thumbprint) whose payload is the 32-byte SHA-256 of the RFC 8785
canonical JSON of :func:`signed_document`: the content fields, the endorsement ``id``, the
``content_version``, the ``decision`` and the signer's optional ``vote_summary``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal, Self

import rfc8785
from pydantic import Field, model_validator

from schemas.base import (
    AbsoluteUrl,
    CalendarDate,
    Count,
    NodeId,
    NonBlankLine,
    NonBlankText,
    ObjectId,
    Timestamp,
    Version,
    WireModel,
)
from schemas.origin import same_origin

Office = Literal[
    "alderperson",
    "mayor",
    "city_clerk",
    "city_treasurer",
    "committeeperson",
    "state_representative",
    "state_senator",
    "county_commissioner",
    "congress",
    "judge",
    "referendum",
    "other",
]
"""The office a race is for (``referendum`` for a ballot question)."""

ElectionType = Literal["primary", "general", "runoff", "special"]
"""Which election of the cycle."""

Tier = Literal["endorse", "recommend"]
"""``endorse``: field work, fundraising, turnout. ``recommend``: vocal support only."""

EndorsementStatus = Literal["collecting", "ratified", "withdrawn", "expired"]
"""The status on the wire (a draft never leaves its node)."""

Decision = Literal["sign", "decline"]
"""A signer's answer."""

MAX_SIGNERS = 50

# The JWS algorithm: Ed25519 as RFC 9864 names it ("EdDSA" is deprecated there).
JWS_ALG = "Ed25519"


class Race(WireModel):
    """The contest: which office, where, and which election."""

    office: Office
    """The office, or ``referendum``."""
    district: NonBlankLine = Field(min_length=1, max_length=100)
    """Where: ``ward 33``, ``citywide``, ``19th state house district``."""
    election_date: CalendarDate
    """Election day (a calendar date in Chicago)."""
    election_type: ElectionType
    """Primary, general, runoff or special."""


class Candidate(WireModel):
    """Who is endorsed."""

    name: NonBlankLine = Field(min_length=1, max_length=200)
    """The candidate's name as on the ballot."""
    campaign_url: AbsoluteUrl | None = None
    """The campaign's web site."""


class ReferendumPosition(WireModel):
    """The stance on a ballot question."""

    measure: NonBlankLine = Field(min_length=1, max_length=500)
    """The question, as on the ballot or as commonly named."""
    stance: Literal["yes", "no"]
    """How to vote."""


class DecisionRule(WireModel):
    """When the endorsement is ratified: every required signer, or at least ``threshold``."""

    kind: Literal["all", "at_least"]
    """``all`` required signers, or ``at_least`` ``threshold`` of them."""
    threshold: int | None = Field(default=None, ge=1, le=MAX_SIGNERS)
    """For ``at_least``: how many signatures are needed. Absent for ``all``."""

    @model_validator(mode="after")
    def _threshold_matches_kind(self) -> Self:
        if (self.kind == "at_least") != (self.threshold is not None):
            raise ValueError("a threshold is given exactly when the rule is at_least")
        return self

    def needed(self, signer_count: int) -> int:
        """How many signatures ratify, among ``signer_count`` required signers."""
        return signer_count if self.threshold is None else self.threshold


class VoteSummary(WireModel):
    """How a signer's members voted, signed with the signature (no ballot leaves its node)."""

    eligible: Count
    """Members eligible to vote."""
    cast: Count
    """Ballots cast, abstentions included."""
    yes: Count
    """Yes votes."""
    no: Count
    """No votes."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.yes + self.no > self.cast or self.cast > self.eligible:
            raise ValueError("need yes + no <= cast <= eligible")
        return self


class EndorsementSignature(WireModel):
    """A signer's answer to one content version of an endorsement.

    ``id`` is under the signer's origin (the receiver's origin check enforces it). ``jws`` is
    the detached compact JWS (``header..signature``) over :func:`signed_digest`.
    """

    type: Literal["EndorsementSignature"]
    """The object type."""
    id: ObjectId
    """The answer's URL on the signer's node."""
    endorsement: ObjectId
    """The endorsement answered."""
    content_version: Version
    """The content version signed."""
    signer: NodeId
    """The signing node."""
    decision: Decision
    """``sign`` or ``decline``."""
    vote_summary: VoteSummary | None = None
    """How the signer's members voted, when it held a vote; covered by the JWS."""
    jws: str = Field(min_length=10, max_length=1000, pattern=r"^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$")
    """Detached compact JWS: protected header, empty payload, signature."""

    @model_validator(mode="after")
    def _signer_owns_id(self) -> Self:
        if not same_origin(self.id, self.signer):
            raise ValueError("a signature's id must be under its signer's origin")
        return self


class JointEndorsement(WireModel):
    """An endorsement proposed by ``attributed_to`` and co-signed by ``required_signers``.

    Rules a JSON Schema cannot express, which receivers enforce: exactly one of
    ``candidate`` and ``position`` (``position`` for a referendum); ``required_signers``
    distinct; an ``at_least`` threshold no larger than the number of signers; every signature
    from a required signer, at ``content_version``, one per signer, with a JWS that verifies
    against that signer's published keys; ``ratified`` exactly when the rule is met.
    """

    type: Literal["JointEndorsement"]
    """The object type."""
    schema_version: Literal[1]
    """The version of this object's schema."""
    id: ObjectId
    """The endorsement's URL on the proposer's node."""
    attributed_to: NodeId
    """The proposer: the only writer."""
    version: Version
    """Bumped on every change; receivers keep the highest."""
    content_version: Version
    """Bumped on every content change; what signatures sign."""
    race: Race
    """The contest."""
    candidate: Candidate | None = None
    """Who is endorsed (absent for a referendum)."""
    position: ReferendumPosition | None = None
    """The stance on a referendum (absent for a candidate)."""
    statement: NonBlankText = Field(min_length=1, max_length=10_000)
    """The public text of the endorsement."""
    tier: Tier
    """``endorse`` or ``recommend``."""
    required_signers: list[NodeId] = Field(min_length=1, max_length=MAX_SIGNERS)
    """Node ids invited to co-sign (the proposer may be one)."""
    rule: DecisionRule
    """When it is ratified."""
    deadline: Timestamp | None = None
    """Signatures are collected until then; it expires if not ratified by then."""
    status: EndorsementStatus
    """As the proposer states it; receivers check ``ratified`` against the signatures."""
    signatures: list[EndorsementSignature] = Field(default_factory=list, max_length=MAX_SIGNERS)
    """The answers at ``content_version``, one per signer at most."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.candidate is None) == (self.position is None):
            raise ValueError("give either a candidate or a referendum position")
        if (self.position is not None) != (self.race.office == "referendum"):
            raise ValueError("a referendum position goes with office referendum, only")
        if len(set(self.required_signers)) != len(self.required_signers):
            raise ValueError("required_signers must be distinct")
        signers = [signature.signer for signature in self.signatures]
        if len(set(signers)) != len(signers):
            # One answer per signer: a duplicate could hide a forged answer behind a good one.
            raise ValueError("signatures must hold at most one answer per signer")
        if self.rule.needed(len(self.required_signers)) > len(self.required_signers):
            raise ValueError("the threshold is larger than the number of required signers")
        if not same_origin(self.id, self.attributed_to):
            raise ValueError("an endorsement's id must be under its proposer's origin")
        return self


CONTENT_FIELDS: tuple[str, ...] = (
    "attributed_to",
    "race",
    "candidate",
    "position",
    "statement",
    "tier",
    "required_signers",
    "rule",
    "deadline",
)
"""The fields whose change bumps ``content_version`` and voids the signatures."""


def content_of(endorsement: JointEndorsement) -> dict[str, Any]:
    """The content fields as JSON values (absent fields left out, as on the wire)."""
    dumped = endorsement.model_dump(mode="json", exclude_none=True, include=set(CONTENT_FIELDS))
    return dumped


def signed_document(
    content: dict[str, Any],
    *,
    endorsement_id: str,
    content_version: int,
    decision: Decision,
    vote_summary: VoteSummary | None,
) -> dict[str, Any]:
    """What a signer signs: the content, the id, the content version, its answer and summary."""
    document: dict[str, Any] = {
        **content,
        "id": endorsement_id,
        "content_version": content_version,
        "decision": decision,
    }
    if vote_summary is not None:
        document["vote_summary"] = vote_summary.model_dump(mode="json")
    return document


def signed_digest(document: dict[str, Any]) -> bytes:
    """SHA-256 of the RFC 8785 canonical JSON of ``document``: the JWS payload."""
    return hashlib.sha256(rfc8785.dumps(document)).digest()
