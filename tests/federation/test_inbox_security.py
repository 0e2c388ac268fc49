"""Hostile and broken messages to a real inbox: each gets the right 4xx, and no row changes.

Two allied in-process nodes (ward33 sends, ward30 receives) with real keys and databases; the
messages are crafted here, signed with real keys, and posted straight to ward30's inbox.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from federation.keys import generate_key
from federation.models import InboxActivity
from federation.outbox import build_activity, serialize
from federation.signing import SignatureAuth, sign_request
from federation.storage import utcnow
from node.accounts.models import Role
from node.events.models import Event
from tests.nodes import TestNode, ally
from tests.worlds import star

INBOX = "/federation/inbox"


def event_object(origin: str, *, version: int = 1, title: str = "Joint canvass") -> dict[str, Any]:
    return {
        "type": "Event",
        "schema_version": 1,
        "id": f"{origin}/events/0b7e4c5e-8a51-4c3e-9b1e-2f1f6f0f9a01",
        "attributed_to": origin,
        "version": version,
        "title": title,
        "start_date": "2030-03-01T15:00:00+00:00",
        "end_date": "2030-03-01T18:00:00+00:00",
        "event_type": "CANVASS",
        "status": "confirmed",
        "visibility": "coalition",
        "wards": [33],
        "created_date": "2029-12-01T12:00:00+00:00",
        "modified_date": "2029-12-01T12:00:00+00:00",
    }


def create_activity(sender: TestNode, receiver: TestNode, **event: Any) -> dict[str, Any]:
    activity = build_activity(
        node_id=sender.url,
        type="Create",
        object=event_object(sender.url, **event),  # type: ignore[arg-type]
        to=[receiver.url],
    )
    return json.loads(serialize(activity))


def signed(
    sender: TestNode,
    receiver: TestNode,
    body: dict[str, Any] | bytes,
    *,
    content_type: str = "application/json",
    url: str | None = None,
    **sign: Any,
) -> httpx.Request:
    """A request to ``receiver``'s inbox signed as ``sender`` (or with the given key/keyid),
    addressed to ``url`` instead when given (it still goes to ``receiver``'s app)."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = httpx.Request(
        "POST",
        url or f"{receiver.url}{INBOX}",
        content=content,
        headers={"Content-Type": content_type},
    )
    key = sign.get("key") or sender.runtime.keyring().active
    keyid = sign.get("keyid") or f"{sender.url}#{key.kid}"
    sign_request(request, key=key, keyid=keyid, created=sign.get("created"))
    return request


async def send(receiver: TestNode, request: httpx.Request) -> httpx.Response:
    return await receiver.client.send(request)


async def refused(
    receiver: TestNode, request: httpx.Request, status: int, code: str
) -> dict[str, Any]:
    """Send ``request``; it must get ``status`` with ``code`` and a message, and write nothing."""
    before = await counts(receiver)
    response = await send(receiver, request)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    assert await counts(receiver) == before
    return error


async def counts(node: TestNode) -> tuple[int, int]:
    async with node.session() as session:
        inbox = await session.scalar(select(func.count()).select_from(InboxActivity))
        events = await session.scalar(select(func.count()).select_from(Event))
    return int(inbox or 0), int(events or 0)


class TestAcceptedOnce:
    async def test_a_good_activity_is_applied(self, pair) -> None:
        ward33, ward30 = pair
        before = await counts(ward30)
        response = await send(ward30, signed(ward33, ward30, create_activity(ward33, ward30)))
        assert response.status_code == 202
        assert response.json() == {"status": "accepted"}
        assert await counts(ward30) == (before[0] + 1, before[1] + 1)

    async def test_a_duplicate_is_202_and_changes_nothing(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        await send(ward30, signed(ward33, ward30, activity))
        after_first = await counts(ward30)
        # The sender retries the same activity later, so with a new signature
        later = utcnow() + timedelta(seconds=30)
        again = await send(ward30, signed(ward33, ward30, activity, created=later))
        assert again.status_code == 202
        assert again.json() == {"status": "duplicate"}
        assert await counts(ward30) == after_first


class TestRefused:
    """Each case: the status, the error code, and not one row written."""

    async def test_unsigned(self, pair) -> None:
        ward33, ward30 = pair
        request = httpx.Request(
            "POST", f"{ward30.url}{INBOX}", json=create_activity(ward33, ward30)
        )
        await refused(ward30, request, 401, "signature_missing")

    async def test_replayed_byte_for_byte(self, pair) -> None:
        ward33, ward30 = pair
        request = signed(ward33, ward30, create_activity(ward33, ward30))
        assert (await send(ward30, request)).status_code == 202
        replay = httpx.Request(
            "POST", request.url, content=request.content, headers=request.headers
        )
        await refused(ward30, replay, 401, "signature_replayed")

    async def test_tampered_body(self, pair) -> None:
        ward33, ward30 = pair
        request = signed(ward33, ward30, create_activity(ward33, ward30, title="Real"))
        tampered = httpx.Request(
            "POST",
            request.url,
            content=request.content.replace(b"Real", b"Fake"),
            headers=request.headers,
        )
        await refused(ward30, tampered, 401, "digest_mismatch")

    async def test_forged_signature_with_a_key_not_the_peers(self, pair) -> None:
        ward33, ward30 = pair
        forger = generate_key()
        # Claims ward33's active kid, but signs with another key
        request = signed(
            ward33,
            ward30,
            create_activity(ward33, ward30),
            key=forger,
            keyid=f"{ward33.url}#{ward33.runtime.keyring().active.kid}",
        )
        await refused(ward30, request, 401, "signature_invalid")

    async def test_ally_speaking_for_another_node(self, pair, nodes) -> None:
        ward33, ward30 = pair
        ward35 = await nodes.start("ward35")
        await ally(ward35, ward30)
        # ward35 signs (validly) an activity whose actor is ward33
        await refused(
            ward30, signed(ward35, ward30, create_activity(ward33, ward30)), 403, "origin_mismatch"
        )

    async def test_ally_authoring_an_object_under_another_origin(self, pair, nodes) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"] = event_object("http://ward35.test")
        activity["object"]["attributed_to"] = ward33.url  # the wire model refuses this too
        error = await refused(ward30, signed(ward33, ward30, activity), 422, "schema_invalid")
        assert "origin" in error["message"]
        activity["object"] = event_object("http://ward35.test")
        await refused(ward30, signed(ward33, ward30, activity), 403, "origin_mismatch")

    async def test_stranger(self, pair, nodes) -> None:
        _, ward30 = pair
        stranger = await nodes.start("stranger")
        error = await refused(
            ward30, signed(stranger, ward30, create_activity(stranger, ward30)), 403, "not_an_ally"
        )
        assert "alliance" in error["message"]

    async def test_not_addressed_to_this_node(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["to"] = ["http://ward35.test"]
        await refused(ward30, signed(ward33, ward30, activity), 403, "origin_mismatch")

    async def test_outside_the_alliance_scopes(self, nodes) -> None:
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"), ("forums",))
        await refused(
            ward30, signed(ward33, ward30, create_activity(ward33, ward30)), 403, "out_of_scope"
        )

    async def test_oversized(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"]["description"] = "x" * (70 * 1024)
        await refused(ward30, signed(ward33, ward30, activity), 413, "payload_too_large")

    async def test_not_json(self, pair) -> None:
        ward33, ward30 = pair
        await refused(ward30, signed(ward33, ward30, b"{oops"), 400, "malformed_request")

    async def test_unknown_field(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"]["secret_note"] = "kept silently?"
        await refused(ward30, signed(ward33, ward30, activity), 422, "schema_invalid")

    async def test_unknown_kid_of_a_known_peer(self, pair) -> None:
        ward33, ward30 = pair
        other = generate_key()
        request = signed(
            ward33, ward30, create_activity(ward33, ward30), key=other,
            keyid=f"{ward33.url}#{other.kid}",
        )  # fmt: skip
        # ward30 refetches ward33's node document once; the kid is not there either
        await refused(ward30, request, 401, "unknown_key")

    @pytest.mark.parametrize(
        ("change", "to"),
        [
            (r";created=\d+", ""),
            (r";created=(\d+)", r';created="\1"'),
            (r";created=(\d+)", r";created=\1.5"),
        ],
        ids=["missing", "a string", "a decimal"],
    )
    async def test_created_missing_or_not_an_integer(self, pair, change, to) -> None:
        # FEDERATION.md 3.3 step 3: a malformed signature, not an expired one
        ward33, ward30 = pair
        request = signed(ward33, ward30, create_activity(ward33, ward30))
        request.headers["Signature-Input"] = re.sub(change, to, request.headers["Signature-Input"])
        await refused(ward30, request, 401, "signature_invalid")

    async def test_a_digest_in_an_algorithm_not_understood(self, pair) -> None:
        # FEDERATION.md 3.3 step 6: sha-256 and sha-512 only; any other is a mismatch.
        # No signing library makes such a request, so it is signed here by hand, as 3.1 says.
        ward33, ward30 = pair
        body = json.dumps(create_activity(ward33, ward30)).encode()
        sha1 = base64.b64encode(hashlib.sha1(body).digest()).decode()  # noqa: S324
        key = ward33.runtime.keyring().active
        url = f"{ward30.url}{INBOX}"
        params = (
            '("@method" "@target-uri" "content-type" "content-digest")'
            f';created={int(utcnow().timestamp())};keyid="{ward33.url}#{key.kid}"'
            ';alg="ed25519";nonce="by-hand-by-hand-by-han"'
        )
        base = (
            f'"@method": POST\n"@target-uri": {url}\n"content-type": application/json\n'
            f'"content-digest": sha-1=:{sha1}:\n"@signature-params": {params}'
        )
        signature = base64.b64encode(key.private_key.sign(base.encode())).decode()
        request = httpx.Request(
            "POST",
            url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "Content-Digest": f"sha-1=:{sha1}:",
                "Signature-Input": f"sig1={params}",
                "Signature": f"sig1=:{signature}:",
            },
        )
        await refused(ward30, request, 401, "digest_mismatch")

    async def test_a_strangers_keyid_is_not_an_ally_not_an_unknown_key(self, pair) -> None:
        # FEDERATION.md 3.3 step 4 and 5.2 step 5: who signs comes before which key
        ward33, ward30 = pair
        other = generate_key()
        request = signed(
            ward33, ward30, create_activity(ward33, ward30), key=other,
            keyid=f"http://nobody.test#{other.kid}",
        )  # fmt: skip
        await refused(ward30, request, 403, "not_an_ally")


class TestStaleAndLate:
    async def test_stale_version_is_accepted_but_not_applied(self, pair) -> None:
        ward33, ward30 = pair
        await send(ward30, signed(ward33, ward30, create_activity(ward33, ward30, version=3,
                                                                   title="v3")))  # fmt: skip
        stale = create_activity(ward33, ward30, version=2, title="v2")
        stale["type"] = "Update"
        response = await send(ward30, signed(ward33, ward30, stale))
        assert response.status_code == 202
        async with ward30.session() as session:
            [event] = (await session.execute(select(Event))).scalars().all()
        assert (event.version, event.title) == (3, "v3")

    async def test_a_late_update_does_not_resurrect_a_deleted_object(self, pair) -> None:
        ward33, ward30 = pair
        created = create_activity(ward33, ward30)
        await send(ward30, signed(ward33, ward30, created))
        # The origin deleted it at version 3; an update of version 2 arrives after that
        await send(ward30, signed(ward33, ward30, delete_activity(ward33, ward30, created, 3)))
        late = create_activity(ward33, ward30, version=2, title="Back from the dead")
        late["type"] = "Update"
        assert (await send(ward30, signed(ward33, ward30, late))).status_code == 202
        admin = await ward30.as_role(Role.admin)
        assert (await admin.get("/api/v1/events")).json()["items"] == []

    async def test_a_newer_version_after_a_deletion_is_the_object_shared_again(self, pair):
        ward33, ward30 = pair
        created = create_activity(ward33, ward30)
        await send(ward30, signed(ward33, ward30, created))
        await send(ward30, signed(ward33, ward30, delete_activity(ward33, ward30, created, 2)))
        shared_again = create_activity(ward33, ward30, version=3, title="Public again")
        shared_again["type"] = "Update"
        await send(ward30, signed(ward33, ward30, shared_again))
        admin = await ward30.as_role(Role.admin)
        items = (await admin.get("/api/v1/events")).json()["items"]
        assert [(e["title"], e["version"]) for e in items] == [("Public again", 3)]


def delete_activity(
    sender: TestNode, receiver: TestNode, created: dict[str, Any], version: int
) -> dict[str, Any]:
    tombstone = {
        "type": "Tombstone",
        "id": created["object"]["id"],
        "former_type": "Event",
        "version": version,
        "deleted": "2030-01-01T00:00:00+00:00",
    }
    activity = build_activity(
        node_id=sender.url,
        type="Delete",
        object=tombstone,  # type: ignore[arg-type]
        to=[receiver.url],
    )
    return json.loads(serialize(activity))


def test_signature_auth_names_the_owner_in_the_keyid() -> None:
    key = generate_key()
    request = httpx.Request("POST", "http://ward30.test/federation/inbox", content=b"{}",
                            headers={"Content-Type": "application/json"})  # fmt: skip
    next(SignatureAuth(key, keyid=f"http://ward33.test#{key.kid}").auth_flow(request))
    assert f'keyid="http://ward33.test#{key.kid}"' in request.headers["signature-input"]


class TestAfterTheAllianceChanged:
    async def test_a_duplicate_from_a_suspended_ally_is_still_202(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        await send(ward30, signed(ward33, ward30, activity))
        await (await ward30.as_role(Role.admin)).post(f"/api/v1/alliances/{ward33.url}/suspend")
        later = utcnow() + timedelta(seconds=30)
        again = await send(ward30, signed(ward33, ward30, activity, created=later))
        assert again.status_code == 202
        assert again.json() == {"status": "duplicate"}

    async def test_a_new_activity_from_a_suspended_ally_is_503_retry_later(self, pair) -> None:
        ward33, ward30 = pair
        await (await ward30.as_role(Role.admin)).post(f"/api/v1/alliances/{ward33.url}/suspend")
        before = await counts(ward30)
        response = await send(ward30, signed(ward33, ward30, create_activity(ward33, ward30)))
        assert response.status_code == 503
        assert response.headers["retry-after"] == "3600"
        assert response.json()["error"]["code"] == "alliance_suspended"
        assert await counts(ward30) == before

    async def test_a_deletion_outside_the_alliance_scopes_is_refused(self, nodes) -> None:
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"), ("forums",))
        created = create_activity(ward33, ward30)
        response = await send(
            ward30, signed(ward33, ward30, delete_activity(ward33, ward30, created, 2))
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "out_of_scope"


class TestOffersFromStrangers:
    async def test_a_forged_offer_cannot_make_the_real_one_fail(self, nodes) -> None:
        ward33, ward30 = await nodes.start("ward33"), await nodes.start("ward30")

        def offer() -> dict[str, Any]:
            return json.loads(serialize(build_activity(
                node_id=ward33.url, type="Offer",
                object={"type": "Alliance", "scopes": ["events"]},  # type: ignore[arg-type]
                to=[ward30.url],
            )))  # fmt: skip

        # Someone else signs an offer claiming to be ward33: ward30 fetches ward33's
        # document to check it, and refuses it
        forger = generate_key()
        forged = signed(ward33, ward30, offer(), key=forger,
                        keyid=f"{ward33.url}#{ward33.runtime.keyring().active.kid}")  # fmt: skip
        assert (await send(ward30, forged)).status_code == 401
        # ward33's real offer within the minute is asked to retry (transient), not refused
        real = await send(ward30, signed(ward33, ward30, offer()))
        assert real.status_code == 429
        assert real.headers["retry-after"] == "60"
        assert real.json()["error"]["code"] == "offer_rate_limited"
        # and goes through when retried after the minute
        ward30.runtime.clock = lambda: utcnow() + timedelta(seconds=61)
        retried = signed(ward33, ward30, offer(), created=utcnow() + timedelta(seconds=61))
        assert (await send(ward30, retried)).status_code == 202
