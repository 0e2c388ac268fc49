"""The member vote (secret, hidden until closed, once each, a threshold) and who may do what."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import SQLModel

from federation.models import OutboxActivity
from node.accounts.models import Role
from node.endorsements.models import EndorsementBallot, EndorsementVoter
from node.main import create_app
from node.migrate import downgrade_to, upgrade_to_head
from tests.endorsements import (
    ENDORSEMENTS,
    answer,
    body,
    coalition,
    find,
    propose,
    settle,
)
from tests.nodes import NodeFactory, TestNode


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
        sealed = set(SQLModel.metadata.tables["endorsement_sealed_ballot"].columns.keys())
        assert ballot == {"id", "vote_id", "choice"}  # no user, no time
        assert voter == {"vote_id", "user_id", "has_voted"}  # no choice, no time
        assert sealed == {"id", "vote_id", "sealed"}  # no user, no time, no readable choice
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


# Cast in an order that is not the order of the choices, so that a table written in voting
# order shows it.
VOTING_ORDER = ("yes", "no", "abstain", "yes", "no", "yes")


async def raw(node: TestNode, sql: str) -> list[tuple[Any, ...]]:
    """What an attacker with SQL access to the node's database reads."""
    async with node.session() as session:
        return [tuple(row) for row in (await session.execute(sa.text(sql))).all()]


def ballots_as_written(node: TestNode) -> str:
    """The ballots in the order they were written: by heap position on PostgreSQL, by rowid
    on SQLite."""
    order = "rowid" if node.settings.is_sqlite else "ctid"
    return f"SELECT id, choice FROM endorsement_ballot ORDER BY {order}"  # noqa: S608


async def members_vote(
    node: TestNode, held: dict[str, Any], choices: tuple[str, ...]
) -> tuple[httpx.AsyncClient, str, list[str]]:
    """An admin opens a vote; one member per choice then votes, in this order. The admin's
    client, the vote's URL and the members' tokens."""
    tokens = [(await node.add_user(role=Role.member))[1] for _ in choices]
    admin = await node.as_role(Role.admin)
    vote_url = f"{ENDORSEMENTS}/{held['id']}/vote"
    opened = await admin.post(vote_url, json={})
    assert opened.status_code == 201, opened.text
    for token, choice in zip(tokens, choices, strict=True):
        cast = await node.client_with(token).post(f"{vote_url}/ballot", json={"choice": choice})
        assert cast.status_code == 204, cast.text
    return admin, vote_url, tokens


@asynccontextmanager
async def restarted(nodes: NodeFactory, node: TestNode, **changes: Any) -> AsyncIterator[TestNode]:
    """The node started again as after a restart: a new app, engine and process memory over
    the same data directory and database (with ``changes`` made to its settings)."""
    settings = node.settings.model_copy(update=changes)
    app = create_app(settings, federation_transport=nodes.network)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.public_url)
        )
        yield TestNode(name=node.name, settings=settings, app=app, client=client, stack=stack)


def counts(result: dict[str, Any]) -> tuple[int, int, int, int]:
    return result["yes"], result["no"], result["abstain"], result["cast"]


class TestBallotsCannotBeLinked:
    """An attacker reads the database with SQL (xmin and ctid on PostgreSQL, rowid on SQLite)
    and tries to tie a voter's "has voted" row to a ballot."""

    async def test_a_cast_ballot_is_sealed_until_the_count(self, nodes):
        # Given six members who have voted on ward30
        _, ward30, held = await received(nodes)
        await members_vote(ward30, held, VOTING_ORDER)
        # When the attacker reads the ballots before the vote closes
        ballots = await raw(ward30, "SELECT choice FROM endorsement_ballot")
        sealed = [
            row[0] for row in await raw(ward30, "SELECT sealed FROM endorsement_sealed_ballot")
        ]
        # Then no choice is written in the clear; the sealed ones all look alike (same length)
        # and no two are equal, so even equal choices cannot be grouped
        assert ballots == []
        assert len(sealed) == len(VOTING_ORDER)
        assert len({len(bytes(value)) for value in sealed}) == 1
        assert len({bytes(value) for value in sealed}) == len(VOTING_ORDER)
        if ward30.settings.is_sqlite:
            # And on SQLite they have no rowid: they sit in the order of their random ids
            [(schema,)] = await raw(
                ward30, "SELECT sql FROM sqlite_master WHERE name = 'endorsement_sealed_ballot'"
            )
            assert "WITHOUT ROWID" in schema

    async def test_no_ballot_shares_a_transaction_an_id_or_an_order_with_a_voter(self, nodes):
        # Given six members who voted in an order that is not the order of their choices
        _, ward30, held = await received(nodes)
        admin, vote_url, _ = await members_vote(ward30, held, VOTING_ORDER)
        # When the admin closes the vote
        closed = await admin.post(f"{vote_url}/close")
        # Then the count is exact
        assert closed.status_code == 200, closed.text
        assert counts(closed.json()) == (3, 2, 1, 6)
        # And the ballots, read in the order they were written, follow the counts, not the voters
        ballots = await raw(ward30, ballots_as_written(ward30))
        assert [choice for _, choice in ballots] == sorted(VOTING_ORDER) != list(VOTING_ORDER)
        # And their ids are random, not a sequence
        assert all(uuid.UUID(ballot_id).version == 4 for ballot_id, _ in ballots)
        # And no sealed ballot is left
        assert await raw(ward30, "SELECT id FROM endorsement_sealed_ballot") == []
        if not ward30.settings.is_sqlite:
            # And on PostgreSQL no voter's row was written by the transaction that wrote a
            # ballot: the ballots were all written by one transaction, the count
            voters = await raw(ward30, "SELECT xmin::text FROM endorsement_voter WHERE has_voted")
            written = await raw(ward30, "SELECT DISTINCT xmin::text FROM endorsement_ballot")
            assert len(voters) == len(VOTING_ORDER)
            assert len(written) == 1
            assert not {xid for (xid,) in voters} & {xid for (xid,) in written}

    async def test_ballots_cast_before_a_restart_are_counted_once(self, nodes):
        # Given three members who voted before the node restarted
        _, ward30, held = await received(nodes)
        _, vote_url, tokens = await members_vote(ward30, held, VOTING_ORDER[:3])
        async with restarted(nodes, ward30) as again:
            # When one of them tries to vote again after the restart
            twice = await again.client_with(tokens[0]).post(
                f"{vote_url}/ballot", json={"choice": "no"}
            )
            # Then she is refused
            assert twice.status_code == 409
            assert twice.json()["error"]["code"] == "vote_conflict"
            # And when the admin closes the vote on the restarted node, every ballot counts
            admin = again.client_with(ward30.tokens[Role.admin.value])
            closed = await admin.post(f"{vote_url}/close")
            assert closed.status_code == 200, closed.text
            assert counts(closed.json()) == (1, 1, 1, 3)

    async def test_a_count_without_the_node_secret_changes_nothing(self, nodes):
        # Given four members who voted
        _, ward30, held = await received(nodes)
        _, vote_url, _ = await members_vote(ward30, held, VOTING_ORDER[:4])
        admin_token = ward30.tokens[Role.admin.value]
        # When the node restarts with another secret_key and the admin closes the vote
        async with restarted(nodes, ward30, secret_key=secrets.token_urlsafe(32)) as changed:
            refused = await changed.client_with(admin_token).post(f"{vote_url}/close")
            seen = await changed.client_with(admin_token).get(vote_url)
        # Then the count is refused with a reason, and the vote is still open, nothing counted
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "ballots_unreadable"
        assert "secret_key" in refused.json()["error"]["message"]
        assert seen.json()["state"] == "open"
        assert await raw(ward30, "SELECT id FROM endorsement_ballot") == []
        # And with the secret restored, every ballot counts
        async with restarted(nodes, ward30) as restored:
            closed = await restored.client_with(admin_token).post(f"{vote_url}/close")
        assert closed.status_code == 200, closed.text
        assert counts(closed.json()) == (2, 1, 1, 4)


class TestBallotsWrittenBeforeTheUpgrade:
    async def test_are_written_again_apart_from_their_voters(self, nodes):
        # Given a closed vote whose ballots were written as the code before revision 0009 wrote
        # them: each in its voter's transaction, beside her flag, in voting order
        _, ward30, held = await received(nodes)
        admin, vote_url, _ = await members_vote(ward30, held, VOTING_ORDER)
        assert (await admin.post(f"{vote_url}/close")).status_code == 200
        database_url = ward30.settings.database_url
        await asyncio.to_thread(downgrade_to, database_url, "0008")
        [(vote_id,)] = await raw(ward30, "SELECT id FROM endorsement_vote")
        voters = await raw(
            ward30, "SELECT user_id FROM endorsement_voter WHERE has_voted ORDER BY user_id"
        )
        async with ward30.session() as session:
            await session.execute(sa.text("DELETE FROM endorsement_ballot"))
        for (user_id,), choice in zip(voters, VOTING_ORDER, strict=True):
            async with ward30.session() as session:
                await session.execute(
                    sa.text(
                        "UPDATE endorsement_voter SET has_voted = TRUE "
                        "WHERE vote_id = :vote AND user_id = :user"
                    ),
                    {"vote": vote_id, "user": user_id},
                )
                await session.execute(
                    sa.text("INSERT INTO endorsement_ballot VALUES (:id, :vote, :choice)"),
                    {"id": str(uuid.uuid4()), "vote": vote_id, "choice": choice},
                )
        before = await raw(ward30, ballots_as_written(ward30))
        assert [choice for _, choice in before] == list(VOTING_ORDER)
        # When the node's database is upgraded
        await asyncio.to_thread(upgrade_to_head, database_url)
        # Then the same ballots are there, in the order of the choices, under new random ids
        after = await raw(ward30, ballots_as_written(ward30))
        assert [choice for _, choice in after] == sorted(VOTING_ORDER)
        assert not {ballot_id for ballot_id, _ in after} & {ballot_id for ballot_id, _ in before}
        assert all(uuid.UUID(ballot_id).version == 4 for ballot_id, _ in after)
        if not ward30.settings.is_sqlite:
            # And on PostgreSQL none shares a transaction id with a voter's row any more
            flags = await raw(ward30, "SELECT xmin::text FROM endorsement_voter WHERE has_voted")
            written = await raw(ward30, "SELECT xmin::text FROM endorsement_ballot")
            assert not {xid for (xid,) in flags} & {xid for (xid,) in written}
        # And the vote reads as it did
        assert counts((await admin.get(vote_url)).json()) == (3, 2, 1, 6)


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
