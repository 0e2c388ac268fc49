"""The self-contained bundle of an endorsement, and its offline check (``ipo-node verify``).

A bundle is one JSON document::

    {"type": "EndorsementBundle", "bundle_version": 1, "exported_at": "...",
     "exported_by": "<node id>",
     "endorsement": <the JointEndorsement, as on the wire>,
     "keys": {"<signer node id>": <that node's JWKS, as published>, ...}}

Whoever holds it can check every signature without a network and without trusting the node
that exported it, provided they obtain or confirm the signers' key fingerprints (kids) out of
band: the keys in the bundle are only as trustworthy as that comparison.

The check passes (exit 0) only when every signature in the bundle holds and the signatures
meet the endorsement's rule. Keys are checked as a record: an ``expires`` that has passed since
does not void a signature made while the key was current.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.keys import Keyring
from federation.peers import get_peer
from federation.storage import utcnow
from node.config import Settings
from node.endorsements import repository, sharing
from node.endorsements.models import Endorsement
from node.endorsements.signing import SignatureCheckFailed, verify_signature
from schemas.endorsement import JointEndorsement

BUNDLE_TYPE = "EndorsementBundle"


class BundleError(Exception):
    """The file is not a bundle that can be checked at all."""


async def build_bundle(
    session: AsyncSession, *, endorsement: Endorsement, settings: Settings, keyring: Keyring
) -> dict[str, Any]:
    records = await repository.signatures(session, endorsement_id=endorsement.id)
    wire = sharing.to_wire(endorsement, records, now=utcnow())
    keys: dict[str, Any] = {}
    for signer in wire.required_signers:
        if signer == settings.public_url:
            keys[signer] = keyring.jwks()
            continue
        peer = await get_peer(session, node_id=signer)
        if peer is not None:
            keys[signer] = peer.keys
    return {
        "type": BUNDLE_TYPE,
        "bundle_version": 1,
        "exported_at": utcnow().isoformat(),
        "exported_by": settings.public_url,
        "endorsement": wire.model_dump(mode="json", exclude_none=True),
        "keys": keys,
    }


@dataclass
class BundleReport:
    """What the check found, one line per required signer."""

    endorsement_id: str
    status: str
    needed: int
    lines: list[str] = field(default_factory=list)
    valid: int = 0
    failed: int = 0

    @property
    def ok(self) -> bool:
        """Every signature holds and the holding ones meet the rule: decided here, never
        taken from the bundle's ``status``."""
        return self.failed == 0 and self.valid >= self.needed

    def render(self) -> str:
        verdict = (
            "OK: the rule is met and every signature holds"
            if self.ok
            else "FAILED: " + (
                f"{self.failed} signature(s) do not hold" if self.failed
                else f"only {self.valid} of the {self.needed} signatures needed hold"
            )
        )  # fmt: skip
        head = [
            f"endorsement {self.endorsement_id}",
            f"  status as the exporting node states it (not signed): {self.status}",
        ]
        return "\n".join([*head, *self.lines, verdict])


def check_bundle(data: Any) -> BundleReport:
    """Check every signature of a bundle (already parsed JSON) against the keys it carries."""
    if not isinstance(data, dict) or data.get("type") != BUNDLE_TYPE:
        raise BundleError("this is not an endorsement bundle (type EndorsementBundle)")
    try:
        endorsement = JointEndorsement.model_validate(data.get("endorsement"))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "endorsement"
        raise BundleError(f"the endorsement is not valid: {where}: {problem['msg']}") from None
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise BundleError("the bundle has no keys object")
    report = BundleReport(
        endorsement_id=endorsement.id,
        status=endorsement.status,
        needed=endorsement.rule.needed(len(endorsement.required_signers)),
    )
    by_signer = {signature.signer: signature for signature in endorsement.signatures}
    for signature in endorsement.signatures:
        if signature.signer not in endorsement.required_signers:
            report.failed += 1
            report.lines.append(f"  {signature.signer}: NOT A REQUIRED SIGNER")
    for signer in endorsement.required_signers:
        found = by_signer.get(signer)
        if found is None:
            report.lines.append(f"  {signer}: no answer")
            continue
        signature = found
        jwks = keys.get(signer)
        if not isinstance(jwks, dict):
            report.failed += 1
            report.lines.append(f"  {signer}: {signature.decision} FAILS: missing key (no JWKS)")
            continue
        try:
            verify_signature(endorsement, signature, jwks=jwks)
        except SignatureCheckFailed as exc:
            report.failed += 1
            report.lines.append(f"  {signer}: {signature.decision} FAILS: {exc}")
            continue
        if signature.decision == "sign":
            report.valid += 1
            vote = signature.vote_summary
            suffix = (
                f" (member vote: {vote.yes} yes, {vote.no} no, {vote.cast} cast of {vote.eligible})"
                if vote
                else ""
            )
            report.lines.append(f"  {signer}: signed, signature holds{suffix}")
        else:
            report.lines.append(f"  {signer}: declined, signature holds")
    return report


def check_file(path: Path) -> BundleReport:
    """Read and check a bundle file."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BundleError(f"{path} is not JSON: {exc}") from None
    return check_bundle(data)
