"""Federation between real ``ipo-node`` processes on loopback ports.

Everything here is done the way a ward group's volunteer does it: ``ipo-node init``, ``serve``,
``worker``, ``ally``, ``allies``, ``deliveries`` and ``token`` on the command line, and the
REST API over HTTP with an admin's bearer token. Nothing is mocked: real signatures, real
databases (SQLite or PostgreSQL, one per node), real retries. The only look behind the API is
the receiving node's ``inbox_activity`` table, to count what arrived and in which order.

Three nodes (33rd Ward Working Families, 30th United, United Neighbors of the 35th Ward) are
started once for the module and allied through the CLI; the worker-crash test runs its own pair
of nodes, because it stops and kills processes the others must not lose.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from federation.keys import generate_key
from federation.signing import SignatureAuth
from schemas.activity import Activity
from tests.e2e.conftest import NodeMaker
from tests.e2e.realnode import (
    RealNode,
    ally_through_cli,
    eventually,
    free_port,
    init_nodes,
    serve_nodes,
)

pytestmark = pytest.mark.e2e

EVENTS = "/api/v1/events"
INBOX = "/federation/inbox"


def soon(days: int = 14) -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=days)


def event_body(title: str, *, visibility: str = "coalition", days: int = 14) -> dict[str, Any]:
    start = soon(days)
    return {
        "title": title,
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(hours=2)).isoformat(),
        "event_type": "RALLY",
        "visibility": visibility,
        "wards": [33],
    }


def create_event(node: RealNode, title: str, *, visibility: str = "coalition") -> dict[str, Any]:
    response = node.api.post(EVENTS, json=event_body(title, visibility=visibility))
    assert response.status_code == 201, response.text
    return response.json()


def update_title(node: RealNode, event: dict[str, Any], title: str) -> dict[str, Any]:
    response = node.api.patch(f"{EVENTS}/{event['id']}", json={"title": title})
    assert response.status_code == 200, response.text
    return response.json()


def replica(node: RealNode, origin: RealNode, object_id: str) -> dict[str, Any] | None:
    return node.events_from(origin).get(object_id)


def wait_for_replica(
    node: RealNode, origin: RealNode, object_id: str, *, version: int
) -> dict[str, Any]:
    found = eventually(
        lambda: replica(node, origin, object_id),
        lambda event: event is not None and event["version"] >= version,
        what=f"{node.slug} to hold {object_id} at version {version}",
    )
    assert found is not None
    return found


@dataclass
class Coalition:
    ward33: RealNode
    ward30: RealNode
    ward35: RealNode
    offers_seen: dict[str, str]
    """What ``ipo-node allies`` printed on ward30 and ward35 while 33WF's offer was pending."""


@pytest.fixture(scope="module")
def coalition(module_nodes: NodeMaker) -> Coalition:
    """Three nodes, each its own processes and database, allied through the CLI by 33WF."""
    ward33 = module_nodes("33rd Ward Working Families", "ward33", 33)
    ward30 = module_nodes("30th United", "ward30", 30)
    ward35 = module_nodes("United Neighbors of the 35th Ward", "ward35", 35)
    init_nodes([ward33, ward30, ward35])
    serve_nodes([ward33, ward30, ward35])
    offers_seen = ally_through_cli(ward33, ward30, ward35)
    return Coalition(ward33, ward30, ward35, offers_seen)


class TestAllianceThroughTheCli:
    def test_allies_saw_name_and_fingerprint_accepted_and_every_side_is_active(
        self, coalition: Coalition
    ) -> None:
        # Given ward33 ran `ipo-node ally <url>` for ward30 and ward35 (in the fixture)
        ward33, ward30, ward35 = coalition.ward33, coalition.ward30, coalition.ward35

        # Then each admin's `ipo-node allies` showed a pending offer naming 33WF, its URL and
        # the key fingerprint 33WF's `ipo-node init` printed, before they accepted it
        for slug in ("ward30", "ward35"):
            listing = coalition.offers_seen[slug]
            assert "pending" in listing, listing
            assert "33rd Ward Working Families" in listing, listing
            assert f"<{ward33.url}>" in listing, listing
            assert f"key: {ward33.fingerprint}" in listing, listing

        # And after `ipo-node allies accept <ward33 url>`, every node's API says active
        on33 = ward33.alliances()
        assert {url: a["state"] for url, a in on33.items()} == {
            ward30.url: "active",
            ward35.url: "active",
        }
        assert on33[ward30.url]["key_fingerprints"] == [ward30.fingerprint]
        for ally in (ward30, ward35):
            seen = ally.alliances()
            assert list(seen) == [ward33.url], seen  # ward30 and ward35 are not allied
            assert seen[ward33.url]["state"] == "active"
            assert seen[ward33.url]["name"] == "33rd Ward Working Families"
            assert seen[ward33.url]["key_fingerprints"] == [ward33.fingerprint]


class TestEventsAcrossTheCoalition:
    def test_create_update_delete_reach_every_ally(self, coalition: Coalition) -> None:
        ward33, allies = coalition.ward33, (coalition.ward30, coalition.ward35)

        # When 33WF's admin creates a coalition event
        event = create_event(ward33, "Rally for the Elected School Board")
        object_id = event["object_id"]

        # Then both allies list it, owned by 33WF, at version 1
        for ally in allies:
            seen = wait_for_replica(ally, ward33, object_id, version=1)
            assert seen["origin"] == ward33.url
            assert seen["version"] == 1
            assert seen["title"] == "Rally for the Elected School Board"
            assert seen["visibility"] == "coalition"

        # When 33WF renames it
        update_title(ward33, event, "Rally for an Elected School Board, 2nd edition")

        # Then both allies hold version 2 with the new title
        for ally in allies:
            seen = wait_for_replica(ally, ward33, object_id, version=2)
            assert seen["version"] == 2
            assert seen["title"] == "Rally for an Elected School Board, 2nd edition"

        # When 33WF deletes it
        response = ward33.api.delete(f"{EVENTS}/{event['id']}")
        assert response.status_code == 204, response.text

        # Then it leaves both allies' lists
        for ally in allies:
            eventually(
                lambda ally=ally: replica(ally, ward33, object_id),
                lambda found: found is None,
                what=f"{ally.slug} to drop the deleted event",
            )

    def test_a_private_event_never_leaves_its_node(self, coalition: Coalition) -> None:
        ward33, allies = coalition.ward33, (coalition.ward30, coalition.ward35)

        # Given a private event on 33WF, then a coalition event created after it
        private = create_event(ward33, "Steering committee: budget", visibility="private")
        after = create_event(ward33, "Canvass kickoff")

        # When the later event has reached both allies (each peer's queue is sent in order,
        # so anything queued before it would have arrived first)
        for ally in allies:
            wait_for_replica(ally, ward33, after["object_id"], version=1)

        # Then the private one is on neither, and no activity ever named it
        for ally in allies:
            assert replica(ally, ward33, private["object_id"]) is None
            assert all(private["object_id"] not in json.dumps(r.body) for r in ally.inbox_rows())


class TestPeerDownThenBack:
    def test_a_stopped_ally_gets_every_update_once_in_order_when_it_returns(
        self, coalition: Coalition
    ) -> None:
        ward33, ward35 = coalition.ward33, coalition.ward35

        # Given an event that ward35 holds at version 1
        event = create_event(ward33, "Tenant union meeting")
        object_id = event["object_id"]
        wait_for_replica(ward35, ward33, object_id, version=1)

        # When ward35's `serve` is stopped (SIGTERM) and 33WF changes the event three times
        ward35.stop_serving()
        for version in (2, 3, 4):
            changed = update_title(ward33, event, f"Tenant union meeting, draft {version}")
            assert changed["version"] == version

        # Then 33WF's delivery health shows ward35 failing, with the three updates queued
        health = eventually(
            lambda: ward33.deliveries()[ward35.url],
            lambda h: h["consecutive_failures"] >= 1 and h["queued"] == 3,
            what="33WF to record a failed delivery to ward35",
        )
        assert health["last_error"], health
        assert health["next_attempt_at"] is not None, health  # backing off (30 s first)
        # while ward30, still up, got the final version
        assert wait_for_replica(coalition.ward30, ward33, object_id, version=4)["version"] == 4

        # When ward35 starts again (same data dir and port) and 33WF's admin lifts the backoff
        ward35.serve()
        out = ward33.cli("deliveries", "--retry")
        assert "backoff lifted" in out, out

        # Then ward35 catches up to the final version
        seen = wait_for_replica(ward35, ward33, object_id, version=4)
        assert seen["title"] == "Tenant union meeting, draft 4"
        eventually(
            lambda: ward33.deliveries()[ward35.url],
            lambda h: h["queued"] == 0 and h["consecutive_failures"] == 0,
            what="33WF's queue to ward35 to drain",
        )

        # And it received each update exactly once, in version order
        updates = [
            row
            for row in ward35.inbox_rows()
            if row.type == "Update" and row.object_id == object_id
        ]
        assert [row.object_version for row in updates] == [2, 3, 4]
        assert len({row.activity_id for row in updates}) == 3


class TestWorkerKilledMidDelivery:
    """A worker process crashes (SIGKILL: no cleanup, no lease release) while sending.

    What survives is what was committed: on SQLite the WAL keeps every committed transaction,
    on PostgreSQL the server does. A delivery that reached the peer but whose "delivered" mark
    was not committed is sent again; the peer's unique activity id makes that copy harmless.
    """

    EVENTS_TO_SEND = 150

    def test_a_new_worker_finishes_the_job_and_nothing_arrives_twice(
        self, fresh_nodes: NodeMaker
    ) -> None:
        # Given 33WF running as in production, `serve` without the embedded worker and a
        # separate `ipo-node worker`, allied with 30th United
        ward33 = fresh_nodes("33rd Ward Working Families", "ward33-split", 33)
        ward30 = fresh_nodes("30th United", "ward30-peer", 30)
        init_nodes([ward33, ward30])
        serve_nodes([ward30])
        serve_nodes([ward33], IPO_EMBEDDED_WORKER="false")
        first_worker = ward33.start_worker()
        ally_through_cli(ward33, ward30)

        # And while the worker is stopped, organizers post many coalition events
        assert first_worker.stop() == 0, ward33.log_tail()  # its own handler: a clean exit
        created = {
            create_event(ward33, f"Door knock #{n}")["object_id"]
            for n in range(self.EVENTS_TO_SEND)
        }
        assert ward33.deliveries()[ward30.url]["queued"] == self.EVENTS_TO_SEND

        # When a new worker starts and is killed with SIGKILL once the first events arrived
        doomed = ward33.start_worker(wait=False)
        arrived = eventually(
            lambda: len(ward30.events_from(ward33)),
            lambda count: count > 0,
            what="the first events to reach ward30",
            interval=0.02,
        )
        doomed.stop(sig=signal.SIGKILL)
        # (A request already in flight may still land: one more at most, far below the total.)
        arrived = len(ward30.events_from(ward33))
        assert 0 < arrived < self.EVENTS_TO_SEND, (
            f"{arrived} of {self.EVENTS_TO_SEND} arrived before the kill: raise EVENTS_TO_SEND"
        )
        assert ward33.deliveries()[ward30.url]["queued"] > 0

        # And its lease on ward30's queue runs out (60 s of wall clock, skipped here), and a
        # new worker starts
        ward33.release_delivery_leases()
        ward33.start_worker()

        # Then ward30 eventually holds every event exactly once
        final = eventually(
            lambda: ward30.events_from(ward33),
            lambda events: len(events) >= self.EVENTS_TO_SEND,
            what=f"all {self.EVENTS_TO_SEND} events on ward30",
            timeout=180,
            interval=0.5,
        )
        assert set(final) == created
        health = ward33.deliveries()[ward30.url]
        assert (health["queued"], health["failed"]) == (0, 0), health

        # And its inbox holds one Create per event and no activity twice
        rows = [row for row in ward30.inbox_rows() if row.actor == ward33.url]
        assert not [aid for aid, n in Counter(r.activity_id for r in rows).items() if n > 1]
        creates = [row.object_id for row in rows if row.type == "Create"]
        assert len(creates) == self.EVENTS_TO_SEND
        assert set(creates) == created


class TestStrangerAtTheInbox:
    """Requests to a real node's inbox from nodes it has no alliance with."""

    @staticmethod
    def activity(origin: str, to: RealNode) -> bytes:
        now = datetime.now(UTC)
        start = soon(10)
        body = {
            "type": "Create",
            "id": f"{origin}/activities/{uuid.uuid4()}",
            "actor": origin,
            "object": {
                "type": "Event",
                "schema_version": 1,
                "id": f"{origin}/events/{uuid.uuid4()}",
                "attributed_to": origin,
                "version": 1,
                "title": "Totally legit coalition rally",
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(hours=1)).isoformat(),
                "event_type": "RALLY",
                "visibility": "coalition",
                "created_date": now.isoformat(),
                "modified_date": now.isoformat(),
            },
            "published": now.isoformat(),
            "to": [to.url],
        }
        Activity.model_validate(body)  # a well-formed activity: only who sends it is wrong
        return json.dumps(body).encode()

    def post_to_inbox(
        self, target: RealNode, body: bytes, *, auth: httpx.Auth | None = None
    ) -> httpx.Response:
        with httpx.Client(timeout=10) as client:
            return client.post(
                f"{target.url}{INBOX}",
                content=body,
                headers={"Content-Type": "application/json"},
                auth=auth,
            )

    def assert_nothing_stored(self, target: RealNode, before: int, body: bytes) -> None:
        object_id = json.loads(body)["object"]["id"]
        assert len(target.inbox_rows()) == before
        assert all(event["object_id"] != object_id for event in target.events())

    def test_unsigned_post_is_401(self, coalition: Coalition) -> None:
        # Given a node nobody allied with
        ward30, stranger = coalition.ward30, f"http://127.0.0.1:{free_port()}"
        before = len(ward30.inbox_rows())
        body = self.activity(stranger, ward30)

        # When it posts an activity without a signature
        response = self.post_to_inbox(ward30, body)

        # Then it gets a JSON 401 and nothing is stored
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["code"] == "signature_missing"
        self.assert_nothing_stored(ward30, before, body)

    def test_signed_by_an_unknown_node_is_403(self, coalition: Coalition) -> None:
        # Given a node nobody allied with, with a fresh key of its own
        ward30, stranger = coalition.ward30, f"http://127.0.0.1:{free_port()}"
        key = generate_key()
        before = len(ward30.inbox_rows())
        body = self.activity(stranger, ward30)

        # When it posts a properly signed activity (not an alliance offer)
        response = self.post_to_inbox(
            ward30, body, auth=SignatureAuth(key, keyid=f"{stranger}#{key.kid}")
        )

        # Then it gets a JSON 403 and nothing is stored
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["code"] == "not_an_ally"
        self.assert_nothing_stored(ward30, before, body)

    def test_signed_as_an_ally_with_a_key_it_never_published_is_401(
        self, coalition: Coalition
    ) -> None:
        # Given a stranger who claims to be 33WF, an ally of ward30, with a key of its own
        ward30, ward33 = coalition.ward30, coalition.ward33
        key = generate_key()
        before = len(ward30.inbox_rows())
        body = self.activity(ward33.url, ward30)

        # When it posts an activity signed as "<33WF>#<its kid>"
        response = self.post_to_inbox(
            ward30, body, auth=SignatureAuth(key, keyid=f"{ward33.url}#{key.kid}")
        )

        # Then ward30 (having refetched 33WF's real keys) refuses it with a JSON 401
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["code"] in ("unknown_key", "signature_invalid")
        self.assert_nothing_stored(ward30, before, body)
