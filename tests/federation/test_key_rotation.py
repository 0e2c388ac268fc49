"""Key rotation between in-process nodes: announced, accepted, and the old key retired."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from federation.keys import load_keyring, rotate_keyring
from federation.models import Peer
from federation.rotation import announce_rotation
from federation.storage import utcnow
from tests.federation.test_inbox_security import create_activity, send, signed
from tests.nodes import TestNode, deliver_all
from tests.worlds import star


async def rotate(node: TestNode, *, grace: timedelta = timedelta(days=7)) -> tuple[str, str]:
    old, new = rotate_keyring(node.settings.keys_dir, grace=grace)
    async with node.session() as session:
        await announce_rotation(session, node_id=node.url, old=old, new=new)
    return old.kid, new.kid


async def keys_known_by(node: TestNode, of: TestNode) -> dict[str, dict[str, object]]:
    async with node.session() as session:
        peer = (await session.execute(select(Peer).where(Peer.node_id == of.url))).scalar_one()
    return {jwk["kid"]: jwk for jwk in peer.keys["keys"]}


class TestRotation:
    async def test_peers_learn_the_new_key_from_the_announcement(self, nodes):
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
        old_kid, new_kid = await rotate(ward33)
        await deliver_all(ward33, ward30)
        known = await keys_known_by(ward30, ward33)
        assert set(known) == {old_kid, new_kid}
        assert known[old_kid]["expires"]  # the grace period's end, from the announcement
        # ward33 now signs with the new key, and ward30 accepts it without fetching anything
        fetches = len(nodes.network.log)
        response = await send(ward30, signed(ward33, ward30, create_activity(ward33, ward30)))
        assert response.status_code == 202
        assert not [entry for entry in nodes.network.log[fetches:] if entry[0] == "GET"]
        assert load_keyring(ward33.settings.keys_dir).active.kid == new_kid

    async def test_the_node_document_publishes_both_keys_during_the_grace_period(self, nodes):
        ward33 = await nodes.start("ward33")
        old_kid, new_kid = await rotate(ward33)
        document = (await ward33.client.get("/.well-known/coalition-node")).json()
        assert {key["kid"] for key in document["keys"]["keys"]} == {old_kid, new_kid}

    async def test_the_old_key_stops_working_when_its_grace_period_ends(self, nodes):
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
        old_keyring = load_keyring(ward33.settings.keys_dir)
        await rotate(ward33, grace=timedelta(days=7))
        await deliver_all(ward33, ward30)
        old_key = old_keyring.active
        # Within the grace period a request signed with the old key is accepted
        ok = await send(
            ward30, signed(ward33, ward30, create_activity(ward33, ward30), key=old_key)
        )
        assert ok.status_code == 202
        # Eight days later it is not (ward30's clock moves; no refetch makes it valid again)
        ward30.runtime.clock = lambda: utcnow() + timedelta(days=8)
        request = signed(
            ward33, ward30, create_activity(ward33, ward30, title="late"), key=old_key,
            created=utcnow() + timedelta(days=8),
        )  # fmt: skip
        late = await send(ward30, request)
        assert late.status_code == 401
        assert late.json()["error"]["code"] == "unknown_key"


class TestUnknownKid:
    async def test_an_unknown_kid_is_refetched_at_most_once_a_minute(self, nodes):
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
        # ward33 rotates but the announcement is lost: ward30 must learn from the document
        rotate_keyring(ward33.settings.keys_dir, grace=timedelta(days=7))
        async with ward30.session() as session:
            peer = (await session.execute(select(Peer))).scalar_one()
            peer.keys_fetched_at = utcnow() - timedelta(minutes=2)
            session.add(peer)
        gets = len([e for e in nodes.network.log if e[0] == "GET"])
        first = await send(ward30, signed(ward33, ward30, create_activity(ward33, ward30)))
        assert first.status_code == 202
        assert len([e for e in nodes.network.log if e[0] == "GET"]) == gets + 1
        # A second unknown kid within the minute: no second fetch, and a clear 401
        rotate_keyring(ward33.settings.keys_dir, grace=timedelta(days=7))
        second = await send(
            ward30, signed(ward33, ward30, create_activity(ward33, ward30, title="again"))
        )
        assert second.status_code == 401
        assert second.json()["error"]["code"] == "unknown_key"
        assert len([e for e in nodes.network.log if e[0] == "GET"]) == gets + 1


class TestFingerprints:
    async def test_a_key_whose_kid_is_not_its_thumbprint_is_not_trusted(self, nodes):
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
        async with ward30.session() as session:
            peer = (await session.execute(select(Peer))).scalar_one()
            lying = json.loads(json.dumps(peer.keys))
            lying["keys"][0]["kid"] = "a-fingerprint-the-admin-compared"
            peer.keys = lying
            peer.keys_fetched_at = utcnow()
            session.add(peer)
        key = ward33.runtime.keyring().active
        request = signed(
            ward33, ward30, create_activity(ward33, ward30), key=key,
            keyid=f"{ward33.url}#a-fingerprint-the-admin-compared",
        )  # fmt: skip
        response = await send(ward30, request)
        assert response.status_code == 401
