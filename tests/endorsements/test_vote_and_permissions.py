"""The member vote (secret, hidden until closed, once each, a threshold) and who may do what."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import SQLModel

from federation.models import OutboxActivity
from node.accounts.models import Role
from node.endorsements.models import EndorsementBallot, EndorsementVoter
from tests.endorsements import (
    ENDORSEMENTS,
    answer,
    body,
    coalition,
    find,
    propose,
    settle,
)


async def received(nodes):
    """ward30 holding an open endorsement from ward33 (33 proposes, 30 signs)."""
    ward33, ward30 = await coalition(nodes, ("ward33", "ward30"))
    proposed = await propose(ward33, [ward30.url])
    await settle([ward33, ward30])
    held = await find(ward30, proposed["object_id"])
    return ward33, ward30, held


class TestSecretBallot:
    def test_no_table_links_a_person_to_a_choice(self):
        ballot = set(SQLModel.metadata.tables["endorsement_ballot"].columns.keys())
        voter = set(SQLModel.metadata.tables["endorsement_voter"].columns.keys())
        assert ballot == {"id", "vote_id", "choice"}  # no user, no time
        assert voter == {"vote_id", "user_id", "has_voted"}  # no choice, no time
        assert EndorsementBallot.__table__.c.id.type.length == 36  # random uuid, not a sequence
        assert EndorsementVoter is not None

    async def test_a_vote_passes_at_two_thirds_and_its_summary_is_signed(self, nodes):
        ward33, ward30, held = await received(nodes)
        admin = await ward30.as_role(Role.admin)
        members = [await ward30.add_user(role=Role.member) for _ in range(4)]
        vote_url = f"{ENDORSEMENTS}/{held['id']}/vote"
        opened = await admin.post(vote_url, json={})
        assert opened.status_code == 201, opened.text
        assert opened.json()["eligible"] == 5  # the admin and four members
        # While open, signing is refused: the group has not decided
        assert (await answer(ward30, held["object_id"])).status_code == 409
        choices = ["yes", "yes", "no", "abstain"]
        for (_, token), choice in zip(members, choices, strict=True):
            voter = ward30.client_with(token)
            cast = await voter.post(f"{vote_url}/ballot", json={"choice": choice})
            assert cast.status_code == 204, cast.text
            # Results stay hidden until the vote closes
            seen = (await voter.get(vote_url)).json()
            assert (seen["yes"], seen["no"], seen["cast"], seen["you_voted"]) == (
                None, None, None, True,
            )  # fmt: skip
        # One vote each
        again = await ward30.client_with(members[0][1]).post(
            f"{vote_url}/ballot", json={"choice": "no"}
        )
        assert again.status_code == 409
        closed = await admin.post(f"{vote_url}/close")
        assert closed.status_code == 200
        result = closed.json()
        assert (result["yes"], result["no"], result["abstain"], result["cast"]) == (2, 1, 1, 4)
        assert result["passed"] is True  # 2 of 3 yes/no votes: exactly two thirds
        # The admin signs with the summary; the proposer verifies it and shows it
        signed = await answer(ward30, held["object_id"], attach_vote=True)
        assert signed.status_code == 200, signed.text
        await settle([ward33, ward30])
        [signature] = (await find(ward33, held["object_id"]))["signatures"]
        assert signature["vote_summary"] == {"eligible": 5, "cast": 4, "yes": 2, "no": 1}
        assert (await find(ward33, held["object_id"]))["status"] == "ratified"
        # And no member identity or ballot left the node: only the four counts
        async with ward30.session() as session:
            bodies = (await session.execute(sa.select(OutboxActivity.body))).scalars().all()
        emails = [user.email for user, _ in members]
        assert emails
        for sent in bodies:
            assert not any(email in sent for email in emails)
            assert '"choice"' not in sent
            assert "ballot" not in sent
        assert any(json.loads(b)["object"].get("vote_summary") for b in bodies)

    async def test_a_vote_below_threshold_cannot_back_a_signature(self, nodes):
        _, ward30, held = await received(nodes)
        admin = await ward30.as_role(Role.admin)
        vote_url = f"{ENDORSEMENTS}/{held['id']}/vote"
        await admin.post(vote_url, json={})
        for choice in ("yes", "no"):
            _, token = await ward30.add_user(role=Role.member)
            await ward30.client_with(token).post(f"{vote_url}/ballot", json={"choice": choice})
        result = (await admin.post(f"{vote_url}/close")).json()
        assert result["passed"] is False
        refused = await answer(ward30, held["object_id"], attach_vote=True)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "vote_conflict"
        # Declining with the summary is allowed
        assert (
            await answer(ward30, held["object_id"], "decline", attach_vote=True)
        ).status_code == 200

    async def test_a_user_added_after_opening_cannot_vote(self, nodes):
        _, ward30, held = await received(nodes)
        admin = await ward30.as_role(Role.admin)
        vote_url = f"{ENDORSEMENTS}/{held['id']}/vote"
        await admin.post(vote_url, json={})
        _, late = await ward30.add_user(role=Role.member)
        response = await ward30.client_with(late).post(f"{vote_url}/ballot", json={"choice": "yes"})
        assert response.status_code == 403


class TestPermissions:
    async def test_members_cannot_propose_and_anonymous_sees_nothing(self, nodes):
        ward33, ward30 = await coalition(nodes, ("ward33", "ward30"))
        member = await ward33.as_role(Role.member)
        response = await member.post(ENDORSEMENTS, json=body([ward30.url]))
        assert response.status_code == 403
        assert (await ward33.client.get(ENDORSEMENTS)).status_code == 401
        proposed = await propose(ward33, [ward30.url])
        assert (await ward33.client.get(f"{ENDORSEMENTS}/{proposed['id']}")).status_code == 401
        assert (
            await ward33.client.get(f"{ENDORSEMENTS}/{proposed['id']}/bundle")
        ).status_code == 401

    async def test_members_do_not_see_drafts(self, nodes):
        ward33, ward30 = await coalition(nodes, ("ward33", "ward30"))
        organizer = await ward33.as_role(Role.organizer)
        draft = (await organizer.post(ENDORSEMENTS, json=body([ward30.url]))).json()
        member = await ward33.as_role(Role.member)
        assert (await member.get(f"{ENDORSEMENTS}/{draft['id']}")).status_code == 404
        assert (await member.get(ENDORSEMENTS)).json()["items"] == []
        # and a draft never leaves the node
        assert await settle([ward33, ward30]) is None
        assert (await (await ward30.as_role(Role.admin)).get(ENDORSEMENTS)).json()["items"] == []

    async def test_only_admins_sign_decline_withdraw_and_run_votes(self, nodes):
        _, ward30, held = await received(nodes)
        for role in (Role.organizer, Role.member):
            client = await ward30.as_role(role)
            base = f"{ENDORSEMENTS}/{held['id']}"
            for path, payload in (
                ("sign", {"content_version": 1}),
                ("decline", {"content_version": 1}),
                ("signature/withdraw", None),
                ("vote", {}),
                ("vote/close", None),
            ):
                response = await client.post(f"{base}/{path}", json=payload)
                assert response.status_code == 403, (role, path)

    async def test_only_the_proposer_edits_and_only_required_signers_sign(self, nodes):
        ward33, ward30, held = await received(nodes)
        organizer = await ward30.as_role(Role.organizer)
        response = await organizer.patch(
            f"{ENDORSEMENTS}/{held['id']}", json={"statement": "Hijacked."}
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "endorsement_not_local"
        # ward33 is not among its own required signers here
        refused = await answer(ward33, held["object_id"])
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "not_a_required_signer"

    async def test_required_signers_must_be_active_allies_in_scope(self, nodes):
        ward33, ward30 = await coalition(nodes, ("ward33", "ward30"))
        organizer = await ward33.as_role(Role.organizer)
        stranger = await organizer.post(ENDORSEMENTS, json=body(["http://ward99.test"]))
        assert stranger.status_code == 422
        assert stranger.json()["error"]["code"] == "invalid_endorsement"
        too_many = await organizer.post(
            ENDORSEMENTS,
            json=body([ward30.url], rule={"kind": "at_least", "threshold": 2}),
        )
        assert too_many.status_code == 422
