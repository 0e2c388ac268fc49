"""Verify, don't trust: forged, replayed, misdirected and tampered signatures are refused.

Hostile activities are crafted here, signed with the sending node's real key (RFC 9421), and
posted straight to the receiver's inbox: the transport is honest, the content is not.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select

from federation.keys import generate_key
from federation.models import InboxActivity
from federation.outbox import build_activity, serialize
from node.accounts.models import Role
from node.endorsements.models import Endorsement, EndorsementSignatureRecord
from node.endorsements.signing import sign_digest
from schemas.endorsement import (
    EndorsementSignature,
    JointEndorsement,
    VoteSummary,
    content_of,
    signed_digest,
    signed_document,
)
from tests.endorsements import ENDORSEMENTS, answer, coalition, find, propose, settle
from tests.federation.test_inbox_security import send, signed
from tests.nodes import TestNode


async def wire_of(proposer: TestNode, endorsement_id: str) -> dict[str, Any]:
    admin = await proposer.as_role(Role.admin)
    response = await admin.get(f"{ENDORSEMENTS}/{endorsement_id}/bundle")
    assert response.status_code == 200, response.text
    return response.json()["endorsement"]


async def snapshot(node: TestNode) -> tuple[int, list[tuple[str, int, int, str]], int]:
    """Inbox rows, every endorsement (id, version, content_version, state), signatures."""
    async with node.session() as session:
        inbox = await session.scalar(select(func.count()).select_from(InboxActivity))
        rows = (await session.execute(select(Endorsement).order_by(Endorsement.id))).scalars()
        endorsements = [(e.object_id, e.version, e.content_version, e.state.value) for e in rows]
        sigs = await session.scalar(select(func.count()).select_from(EndorsementSignatureRecord))
    return int(inbox or 0), endorsements, int(sigs or 0)


def forged_signature(
    endorsement: dict[str, Any],
    *,
    signer: str,
    key: Any,
    decision: str = "sign",
    vote_summary: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A signature 'by' ``signer`` made with ``key`` over the endorsement as given (and over
    ``vote_summary``, unchecked, when given)."""
    model = JointEndorsement.model_validate(endorsement)
    document = signed_document(
        content_of(model),
        endorsement_id=model.id,
        content_version=model.content_version,
        decision=decision,  # type: ignore[arg-type]
        vote_summary=VoteSummary.model_construct(**vote_summary) if vote_summary else None,
    )
    return {
        "type": "EndorsementSignature",
        "id": f"{signer}/endorsement-signatures/{uuid.uuid4()}",
        "endorsement": model.id,
        "content_version": model.content_version,
        "signer": signer,
        "decision": decision,
        **({"vote_summary": vote_summary} if vote_summary else {}),
        "jws": sign_digest(signed_digest(document), key=key),
    }


def activity(sender: TestNode, receiver: TestNode, verb: str, obj: dict[str, Any]) -> dict:
    built = build_activity(node_id=sender.url, type=verb, object=obj, to=[receiver.url])  # type: ignore[arg-type]
    return json.loads(serialize(built))


class TestForgedCoSigner:
    async def test_a_proposer_cannot_forge_a_co_signature(self, nodes, caplog):
        # Given 33 proposing to 30 and 35, and 35 holding the honest replica
        ward33, ward30, ward35 = await coalition(nodes, ("ward33", "ward30", "ward35"))
        proposed = await propose(ward33, [ward30.url, ward35.url])
        await settle([ward33, ward30, ward35])
        honest = await wire_of(ward33, proposed["id"])
        before = {node.name: await snapshot(node) for node in (ward30, ward35)}
        # When 33 sends a replica claiming 30 signed, the JWS made with a key 30 never had
        # (its kid copied from 30's real key), and claims ratification besides
        impostor = generate_key()
        object.__setattr__(impostor, "kid", ward30.runtime.keyring().active.kid)
        forged = {**honest, "version": honest["version"] + 1}
        forged["signatures"] = [forged_signature(honest, signer=ward30.url, key=impostor)]
        # Then every receiver refuses it, and keeps nothing
        for receiver in (ward30, ward35):
            update = activity(ward33, receiver, "Update", forged)
            response = await send(receiver, signed(ward33, receiver, update))
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "endorsement_signature_invalid"
            assert await snapshot(receiver) == before[receiver.name]
        # And each refusal is logged, naming the endorsement
        rejected = [r for r in caplog.records if "rejected endorsement" in r.getMessage()]
        assert len(rejected) == 2
        assert all(honest["id"] in r.getMessage() for r in rejected)

    async def test_a_proposer_cannot_sign_for_another_node_with_its_own_key(self, nodes):
        ward33, ward30, ward35 = await coalition(nodes, ("ward33", "ward30", "ward35"))
        proposed = await propose(ward33, [ward30.url, ward35.url])
        await settle([ward33, ward30, ward35])
        honest = await wire_of(ward33, proposed["id"])
        before = await snapshot(ward35)
        forged = {**honest, "version": honest["version"] + 1}
        forged["signatures"] = [
            forged_signature(honest, signer=ward30.url, key=ward33.runtime.keyring().active)
        ]
        response = await send(
            ward35, signed(ward33, ward35, activity(ward33, ward35, "Update", forged))
        )
        assert response.status_code == 422
        assert await snapshot(ward35) == before

    async def test_ratified_without_signatures_is_refused(self, nodes):
        ward33, ward30 = await coalition(nodes, ("ward33", "ward30"))
        proposed = await propose(ward33, [ward30.url])
        await settle([ward33, ward30])
        honest = await wire_of(ward33, proposed["id"])
        before = await snapshot(ward30)
        claim = {**honest, "version": honest["version"] + 1, "status": "ratified"}
        response = await send(
            ward30, signed(ward33, ward30, activity(ward33, ward30, "Update", claim))
        )
        assert response.status_code == 422
        assert await snapshot(ward30) == before


class TestTampering:
    async def test_a_changed_content_field_under_old_signatures_is_refused(self, nodes):
        ward33, ward30, ward35 = await coalition(nodes, ("ward33", "ward30", "ward35"))
        three = [ward33, ward30, ward35]
        proposed = await propose(ward33, [ward30.url, ward35.url])
        await settle(three)
        await answer(ward30, proposed["object_id"])
        await settle(three)
        real = await wire_of(ward33, proposed["id"])
        assert len(real["signatures"]) == 1
        before = await snapshot(ward35)
        for field, value in (
            ("statement", "We endorse somebody else."),
            ("tier", "recommend"),
            ("candidate", {"name": "Someone Else"}),
        ):
            tampered = {**real, "version": real["version"] + 1, field: value}
            response = await send(
                ward35, signed(ward33, ward35, activity(ward33, ward35, "Update", tampered))
            )
            assert response.status_code == 422, (field, response.text)
            assert await snapshot(ward35) == before

    async def test_an_old_signature_relabelled_for_a_new_version_is_refused(self, nodes):
        ward33, ward30 = await coalition(nodes, ("ward33", "ward30"))
        proposed = await propose(ward33, [ward30.url, ward33.url])
        await settle([ward33, ward30])
        await answer(ward30, proposed["object_id"])
        await settle([ward33, ward30])
        old = await wire_of(ward33, proposed["id"])
        organizer = await ward33.as_role(Role.organizer)
        await organizer.patch(f"{ENDORSEMENTS}/{proposed['id']}", json={"tier": "recommend"})
        await settle([ward33, ward30])
        current = await wire_of(ward33, proposed["id"])
        before = await snapshot(ward30)
        relabelled = {**old["signatures"][0], "content_version": current["content_version"]}
        claim = {**current, "version": current["version"] + 1, "signatures": [relabelled]}
        response = await send(
            ward30, signed(ward33, ward30, activity(ward33, ward30, "Update", claim))
        )
        assert response.status_code == 422
        assert await snapshot(ward30) == before


class TestRefusedAnswers:
    async def test_a_signature_replayed_onto_a_new_version_is_refused(self, nodes):
        ward33, ward30 = await coalition(nodes, ("ward33", "ward30"))
        proposed = await propose(ward33, [ward30.url])
        await settle([ward33, ward30])
        await answer(ward30, proposed["object_id"])
        await settle([ward33, ward30])
        old_signature = (await wire_of(ward33, proposed["id"]))["signatures"][0]
        organizer = await ward33.as_role(Role.organizer)
        await organizer.patch(f"{ENDORSEMENTS}/{proposed['id']}", json={"statement": "New."})
        await settle([ward33, ward30])
        before = await snapshot(ward33)
        # ward30's genuine old signature, sent again in a new activity
        replay = activity(ward30, ward33, "Create", old_signature)
        response = await send(ward33, signed(ward30, ward33, replay))
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "wrong_content_version"
        assert await snapshot(ward33) == before
        assert (await find(ward33, proposed["object_id"]))["signed"] == 0

    async def test_a_signature_from_a_node_not_required_is_refused(self, nodes):
        ward33, ward30, ward39 = await coalition(nodes, ("ward33", "ward30", "ward39"))
        proposed = await propose(ward33, [ward30.url])
        await settle([ward33, ward30, ward39])
        current = await wire_of(ward33, proposed["id"])
        before = await snapshot(ward33)
        genuine = forged_signature(current, signer=ward39.url, key=ward39.runtime.keyring().active)
        response = await send(
            ward33, signed(ward39, ward33, activity(ward39, ward33, "Create", genuine))
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_a_required_signer"
        assert await snapshot(ward33) == before

    async def test_a_node_cannot_answer_for_another(self, nodes):
        ward33, ward30, ward35 = await coalition(nodes, ("ward33", "ward30", "ward35"))
        proposed = await propose(ward33, [ward30.url, ward35.url])
        await settle([ward33, ward30, ward35])
        current = await wire_of(ward33, proposed["id"])
        before = await snapshot(ward33)
        # ward35 sends a signature claiming to be ward30's (its id under ward30's origin)
        claimed = forged_signature(current, signer=ward30.url, key=ward35.runtime.keyring().active)
        response = await send(
            ward33, signed(ward35, ward33, activity(ward35, ward33, "Create", claimed))
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "origin_mismatch"
        assert await snapshot(ward33) == before

    async def test_signing_a_version_not_current_through_the_api_is_refused(self, nodes):
        ward33, ward30 = await coalition(nodes, ("ward33", "ward30"))
        proposed = await propose(ward33, [ward30.url])
        await settle([ward33, ward30])
        held = await find(ward30, proposed["object_id"])
        admin = await ward30.as_role(Role.admin)
        before = await snapshot(ward30)
        response = await admin.post(
            f"{ENDORSEMENTS}/{held['id']}/sign", json={"content_version": 7}
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "wrong_content_version"
        assert await snapshot(ward30) == before
        assert await settle([ward33, ward30]) is None
        assert (await find(ward33, proposed["object_id"]))["signed"] == 0


class TestSignatureObject:
    def test_a_signature_id_must_be_under_its_signer(self):
        import pytest
        from pydantic import ValidationError

        with pytest.raises(ValidationError):
            EndorsementSignature.model_validate(
                {
                    "type": "EndorsementSignature",
                    "id": "http://ward35.test/endorsement-signatures/1",
                    "endorsement": "http://ward33.test/endorsements/1",
                    "content_version": 1,
                    "signer": "http://ward30.test",
                    "decision": "sign",
                    "jws": "abc..def",
                }
            )


class TestVoteSummaries:
    """FEDERATION.md 7.7.8: a summary is the signer's own claim, covered by its JWS."""

    async def test_an_inconsistent_summary_is_refused_at_the_proposer(self, nodes):
        ward33, ward30, ward35 = await coalition(nodes, ("ward33", "ward30", "ward35"))
        proposed = await propose(ward33, [ward30.url, ward35.url])
        await settle([ward33, ward30, ward35])
        honest = await wire_of(ward33, proposed["id"])
        before = await snapshot(ward33)
        # ward30 signs, with its real key, a summary whose counts cannot be: 3 + 2 > 4 cast
        summary = {"eligible": 9, "cast": 4, "yes": 3, "no": 2}
        answer = forged_signature(
            honest, signer=ward30.url, key=ward30.runtime.keyring().active, vote_summary=summary
        )
        # (built without it, then given it: this node's own models would not build it)
        create = activity(ward30, ward33, "Create", {**answer, "vote_summary": None})
        create["object"]["vote_summary"] = summary
        response = await send(ward33, signed(ward30, ward33, create))
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "schema_invalid"
        assert "cast" in response.json()["error"]["message"]
        assert await snapshot(ward33) == before

    async def test_a_summary_the_signer_did_not_sign_is_refused_by_every_receiver(self, nodes):
        ward33, ward30, ward35 = await coalition(nodes, ("ward33", "ward30", "ward35"))
        proposed = await propose(ward33, [ward30.url, ward35.url])
        await settle([ward33, ward30, ward35])
        assert (await answer(ward30, proposed["object_id"])).status_code == 200
        await settle([ward33, ward30, ward35])
        honest = await wire_of(ward33, proposed["id"])
        [signature] = honest["signatures"]
        assert "vote_summary" not in signature or signature["vote_summary"] is None
        before = await snapshot(ward35)
        # The proposer adds a flattering summary to ward30's signature
        dressed = {**signature, "vote_summary": {"eligible": 40, "cast": 40, "yes": 40, "no": 0}}
        forged = {**honest, "version": honest["version"] + 1, "signatures": [dressed]}
        response = await send(
            ward35, signed(ward33, ward35, activity(ward33, ward35, "Update", forged))
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "endorsement_signature_invalid"
        assert await snapshot(ward35) == before
