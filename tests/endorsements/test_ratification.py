"""Five nodes: propose to four, each signs, ratified everywhere; edits, withdrawals, rules."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from federation.storage import utcnow
from node.accounts.models import Role
from node.audit.models import AuditEntry
from node.endorsements.models import Endorsement
from tests.endorsements import ENDORSEMENTS, answer, coalition, find, propose, settle, statuses


class TestRatification:
    async def test_four_allies_sign_and_all_five_show_ratified(self, nodes):
        # Given five allied wards, 33 proposing to the other four
        five = await coalition(nodes)
        proposer, signers = five[0], five[1:]
        proposed = await propose(proposer, [node.url for node in signers])
        await settle(five)
        oid = proposed["object_id"]
        assert await statuses(signers, oid) == ["collecting"] * 4
        # When each signer's admin signs the text it holds
        for signer in signers:
            response = await answer(signer, oid)
            assert response.status_code == 200, response.text
            await settle(five)
        # Then every node shows it ratified, with four verified signatures
        assert await statuses(five, oid) == ["ratified"] * 5
        for node in five:
            held = await find(node, oid)
            assert held["signed"] == 4
            assert {s["signer"] for s in held["signatures"]} == {n.url for n in signers}
            assert all(s["verified"] for s in held["signatures"])

    async def test_an_edit_voids_every_signature(self, nodes):
        five = await coalition(nodes, ("ward33", "ward30", "ward35"))
        proposer, signers = five[0], five[1:]
        proposed = await propose(proposer, [node.url for node in signers])
        await settle(five)
        oid = proposed["object_id"]
        for signer in signers:
            await answer(signer, oid)
            await settle(five)
        assert await statuses(five, oid) == ["ratified"] * 3
        # When the proposer changes the statement
        organizer = await proposer.as_role(Role.organizer)
        edited = await organizer.patch(
            f"{ENDORSEMENTS}/{proposed['id']}", json={"statement": "A different text."}
        )
        assert edited.status_code == 200, edited.text
        await settle(five)
        # Then the signatures are void everywhere and it collects again, at content version 2
        for node in five:
            held = await find(node, oid)
            assert (held["status"], held["signed"], held["content_version"]) == (
                "collecting", 0, 2,
            )  # fmt: skip
            assert held["statement"] == "A different text."

    async def test_a_withdrawn_signature_unratifies(self, nodes):
        three = await coalition(nodes, ("ward33", "ward30", "ward35"))
        proposer, signers = three[0], three[1:]
        oid = (await propose(proposer, [node.url for node in signers]))["object_id"]
        await settle(three)
        for signer in signers:
            await answer(signer, oid)
            await settle(three)
        assert await statuses(three, oid) == ["ratified"] * 3
        admin = await signers[0].as_role(Role.admin)
        held = await find(signers[0], oid)
        response = await admin.post(f"{ENDORSEMENTS}/{held['id']}/signature/withdraw")
        assert response.status_code == 200, response.text
        await settle(three)
        assert await statuses(three, oid) == ["collecting"] * 3
        assert (await find(proposer, oid))["signed"] == 1

    async def test_k_of_n_ratifies_at_k(self, nodes):
        four = await coalition(nodes, ("ward33", "ward30", "ward35", "ward39"))
        proposer, signers = four[0], four[1:]
        oid = (
            await propose(
                proposer,
                [node.url for node in signers],
                rule={"kind": "at_least", "threshold": 2},
            )
        )["object_id"]
        await settle(four)
        await answer(signers[0], oid)
        await settle(four)
        assert await statuses(four, oid) == ["collecting"] * 4
        await answer(signers[1], oid)
        await settle(four)
        assert await statuses(four, oid) == ["ratified"] * 4

    async def test_a_decline_is_recorded_and_does_not_count(self, nodes):
        three = await coalition(nodes, ("ward33", "ward30", "ward35"))
        proposer, signers = three[0], three[1:]
        oid = (await propose(proposer, [node.url for node in signers]))["object_id"]
        await settle(three)
        assert (await answer(signers[0], oid, "decline")).status_code == 200
        await answer(signers[1], oid)
        await settle(three)
        for node in three:
            held = await find(node, oid)
            assert held["status"] == "collecting"
            decisions = {s["signer"]: s["decision"] for s in held["signatures"]}
            assert decisions == {signers[0].url: "decline", signers[1].url: "sign"}

    async def test_the_proposer_can_be_a_signer(self, nodes):
        two = await coalition(nodes, ("ward33", "ward30"))
        proposer, other = two
        oid = (await propose(proposer, [proposer.url, other.url]))["object_id"]
        await settle(two)
        assert (await answer(proposer, oid)).status_code == 200
        await settle(two)
        await answer(other, oid)
        await settle(two)
        assert await statuses(two, oid) == ["ratified"] * 2

    async def test_the_proposer_withdraws_it(self, nodes):
        two = await coalition(nodes, ("ward33", "ward30"))
        proposer, other = two
        proposed = await propose(proposer, [other.url])
        await settle(two)
        organizer = await proposer.as_role(Role.organizer)
        response = await organizer.post(f"{ENDORSEMENTS}/{proposed['id']}/withdraw")
        assert response.status_code == 200, response.text
        await settle(two)
        assert await statuses(two, proposed["object_id"]) == ["withdrawn"] * 2
        refused = await answer(other, proposed["object_id"])
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "endorsement_closed"


class TestExpiry:
    async def test_past_its_deadline_it_expires_everywhere_and_takes_no_answer(self, nodes):
        two = await coalition(nodes, ("ward33", "ward30"))
        proposer, other = two
        deadline = (utcnow() + timedelta(hours=1)).isoformat()
        proposed = await propose(proposer, [other.url], deadline=deadline)
        await settle(two)
        oid = proposed["object_id"]
        assert await statuses(two, oid) == ["collecting"] * 2
        # When the deadline passes (moved into the past in each node's database)
        for node in two:
            async with node.session() as session:
                row = (
                    await session.execute(select(Endorsement).where(Endorsement.object_id == oid))
                ).scalar_one()
                row.deadline = utcnow() - timedelta(minutes=1)
                session.add(row)
        # Then it shows expired on both nodes, and a signature is refused
        assert await statuses(two, oid) == ["expired"] * 2
        refused = await answer(other, oid)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "endorsement_closed"

    async def test_an_election_in_the_past_cannot_be_opened(self, nodes):
        two = await coalition(nodes, ("ward33", "ward30"))
        organizer = await two[0].as_role(Role.organizer)
        from tests.endorsements import body

        draft = body([two[1].url])
        draft["race"]["election_date"] = "2020-03-17"
        created = await organizer.post(ENDORSEMENTS, json=draft)
        assert created.status_code == 201
        opened = await organizer.post(f"{ENDORSEMENTS}/{created.json()['id']}/open")
        assert opened.status_code == 409
        assert (await find(two[0], created.json()["object_id"]))["status"] == "draft"


class TestAudit:
    async def test_proposal_answers_and_status_changes_are_audited(self, nodes):
        two = await coalition(nodes, ("ward33", "ward30"))
        proposer, other = two
        oid = (await propose(proposer, [other.url]))["object_id"]
        await settle(two)
        await answer(other, oid)
        await settle(two)
        async with proposer.session() as session:
            actions = [e.action for e in (await session.execute(select(AuditEntry))).scalars()]
        assert {"endorsement.propose", "endorsement.status", "endorsement.sign_received"} <= set(
            actions
        )
        async with other.session() as session:
            actions = [e.action for e in (await session.execute(select(AuditEntry))).scalars()]
        assert "endorsement.sign" in actions
