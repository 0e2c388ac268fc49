"""Messages on the wire: signed, retried with the same id, given up, disabled, test-sent."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from federation.storage import utcnow
from node.accounts.models import Role
from tests.events import EVENTS, create_event
from tests.partners.helpers import partner_client
from tests.webhooks import WEBHOOKS, send_webhooks, subscribe, time_passes

EVENT_TYPES = ["event.created", "event.updated", "event.cancelled"]


async def detail(partner, subscription):  # type: ignore[no-untyped-def]
    response = await partner.get(f"{WEBHOOKS}/{subscription['id']}")
    assert response.status_code == 200, response.text
    return response.json()


class TestSignedMessages:
    async def test_an_events_life_arrives_signed_and_in_order(self, dev_node, receiver):
        # Given a partner subscribed to event changes
        partner = await partner_client(dev_node)
        await subscribe(partner, receiver, "/hooks/events", EVENT_TYPES)
        organizer = await dev_node.as_role(Role.organizer)
        # When an organizer creates, edits and cancels a public event
        event = await create_event(organizer, visibility="public")
        changed = await organizer.patch(f"{EVENTS}/{event['id']}", json={"title": "Moved"})
        assert changed.status_code == 200, changed.text
        cancelled = await organizer.post(f"{EVENTS}/{event['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert await send_webhooks(dev_node) == 3
        # Then the receiver holds three messages, each passing its own signature check
        received = receiver.at("/hooks/events")
        assert [r.verified for r in received] == [True, True, True]
        assert [r.message["type"] for r in received] == EVENT_TYPES
        assert [r.message["data"]["version"] for r in received] == [1, 2, 3]
        assert len({r.id for r in received}) == 3
        assert all(r.id.startswith("msg_") for r in received)
        data = received[0].message["data"]
        assert data == {
            "id": event["object_id"],
            "object_type": "Event",
            "version": 1,
            "origin": dev_node.url,
            "visibility": "public",
            "api_path": f"/api/v1/partner/events/{event['id']}",
        }
        stamped = datetime.fromisoformat(received[0].message["timestamp"])
        assert abs(stamped - utcnow()) < timedelta(minutes=1)
        # And nothing is sent twice
        assert await send_webhooks(dev_node) == 0

    async def test_private_events_are_never_notified(self, dev_node, receiver):
        partner = await partner_client(dev_node)
        subscription = await subscribe(partner, receiver, "/hooks/events", EVENT_TYPES)
        organizer = await dev_node.as_role(Role.organizer)
        event = await create_event(organizer, visibility="private")
        await organizer.patch(f"{EVENTS}/{event['id']}", json={"title": "Still private"})
        await organizer.post(f"{EVENTS}/{event['id']}/cancel")
        # A shared event made private: that change is not announced either
        shared = await create_event(organizer, visibility="coalition")
        await organizer.patch(f"{EVENTS}/{shared['id']}", json={"visibility": "private"})
        await send_webhooks(dev_node)
        received = receiver.at("/hooks/events")
        assert [(r.message["type"], r.message["data"]["id"]) for r in received] == [
            ("event.created", shared["object_id"])
        ]
        assert len((await detail(partner, subscription))["recent_deliveries"]) == 1

    async def test_only_subscribed_types_are_sent(self, dev_node, receiver):
        partner = await partner_client(dev_node)
        await subscribe(partner, receiver, "/hooks/cancelled", ["event.cancelled"])
        organizer = await dev_node.as_role(Role.organizer)
        event = await create_event(organizer)
        await organizer.post(f"{EVENTS}/{event['id']}/cancel")
        await send_webhooks(dev_node)
        assert [r.message["type"] for r in receiver.at("/hooks/cancelled")] == ["event.cancelled"]

    async def test_a_revoked_client_is_told_nothing_more(self, dev_node, receiver):
        from tests.partners.helpers import fetch_token, register_partner

        credentials = await register_partner(dev_node)
        token = await fetch_token(dev_node, credentials)
        partner = dev_node.client_with(token["access_token"])
        await subscribe(partner, receiver, "/hooks/events", EVENT_TYPES)
        admin = await dev_node.as_role(Role.admin)
        revoked = await admin.post(f"/api/v1/partners/{credentials.client_id}/revoke")
        assert revoked.status_code == 200, revoked.text
        await create_event(await dev_node.as_role(Role.organizer))
        assert await send_webhooks(dev_node) == 0
        assert receiver.received == []


class TestTestSend:
    async def test_a_test_message_goes_through_the_same_path(self, dev_node, receiver):
        partner = await partner_client(dev_node)
        subscription = await subscribe(partner, receiver, "/hooks/test", ["event.created"])
        queued = await partner.post(f"{WEBHOOKS}/{subscription['id']}/test")
        assert queued.status_code == 202, queued.text
        assert queued.json()["status"] == "pending"
        await send_webhooks(dev_node)
        [received] = receiver.at("/hooks/test")
        assert received.verified
        assert received.id == queued.json()["message_id"]
        assert received.message["type"] == "webhook.test"
        assert received.message["data"] == {"subscription": subscription["id"]}
        [delivery] = (await detail(partner, subscription))["recent_deliveries"]
        assert (delivery["status"], delivery["last_status"], delivery["attempts"]) == (
            "delivered",
            204,
            1,
        )


class TestRetries:
    async def test_after_a_500_the_retry_carries_the_same_id(self, dev_node, receiver):
        # Given a receiver that answers 500 once
        partner = await partner_client(dev_node)
        subscription = await subscribe(partner, receiver, "/hooks/flaky", EVENT_TYPES)
        receiver.fail_next = 1
        await create_event(await dev_node.as_role(Role.organizer))
        # When the node sends: the attempt fails and the subscription backs off
        await send_webhooks(dev_node)
        shown = await detail(partner, subscription)
        [delivery] = shown["recent_deliveries"]
        assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
            "pending",
            1,
            500,
        )
        wait = datetime.fromisoformat(delivery["next_attempt_at"]) - utcnow()
        assert timedelta(seconds=15) < wait < timedelta(seconds=40)  # 30 s +- 20 %
        assert shown["consecutive_failures"] == 1
        assert await send_webhooks(dev_node) == 0  # not before its time
        # Then, once the wait is over, the same message arrives again, with the same id
        await time_passes(dev_node)
        assert await send_webhooks(dev_node) == 1
        first, second = receiver.at("/hooks/flaky")
        assert (first.answered, second.answered) == (500, 204)
        assert first.id == second.id
        assert first.body == second.body
        assert second.verified
        shown = await detail(partner, subscription)
        assert shown["recent_deliveries"][0]["status"] == "delivered"
        assert shown["recent_deliveries"][0]["attempts"] == 2
        assert shown["consecutive_failures"] == 0

    async def test_retry_after_is_honoured(self, dev_node, receiver):
        partner = await partner_client(dev_node)
        subscription = await subscribe(partner, receiver, "/hooks/busy", EVENT_TYPES)
        receiver.fail_next, receiver.fail_status = 1, 503
        receiver.fail_headers = {"Retry-After": "3600"}
        await create_event(await dev_node.as_role(Role.organizer))
        await send_webhooks(dev_node)
        [delivery] = (await detail(partner, subscription))["recent_deliveries"]
        wait = datetime.fromisoformat(delivery["next_attempt_at"]) - utcnow()
        assert timedelta(minutes=59) < wait <= timedelta(hours=1)

    async def test_a_4xx_fails_that_message_and_the_next_goes_on(self, dev_node, receiver):
        partner = await partner_client(dev_node)
        subscription = await subscribe(partner, receiver, "/hooks/picky", EVENT_TYPES)
        receiver.fail_next, receiver.fail_status = 1, 400
        organizer = await dev_node.as_role(Role.organizer)
        await create_event(organizer, title="First")
        await create_event(organizer, title="Second")
        assert await send_webhooks(dev_node) == 2
        second, first = (await detail(partner, subscription))["recent_deliveries"]
        assert (first["status"], first["last_status"]) == ("failed", 400)
        assert first["given_up_at"] is not None
        assert second["status"] == "delivered"


class TestDisabling:
    async def test_ten_failures_in_a_row_disable_it_with_the_reason_shown(self, dev_node, receiver):
        # Given a receiver that answers 500 to everything
        partner = await partner_client(dev_node)
        subscription = await subscribe(partner, receiver, "/hooks/down", EVENT_TYPES)
        receiver.fail_next = 1000
        organizer = await dev_node.as_role(Role.organizer)
        await create_event(organizer)
        # When ten attempts fail, each after the schedule's wait
        for attempt in range(10):
            assert (await detail(partner, subscription))["is_enabled"], attempt
            assert await send_webhooks(dev_node) == 1
            await time_passes(dev_node)
        # Then the subscription is disabled, saying why, and nothing more is sent or queued
        shown = await detail(partner, subscription)
        assert shown["is_enabled"] is False
        assert shown["disabled_reason"] == (
            f"10 deliveries in a row failed; last: HTTP 500 from {receiver.url('/hooks/down')}"
        )
        assert await send_webhooks(dev_node) == 0
        await create_event(organizer, title="While disabled")
        assert len((await detail(partner, subscription))["recent_deliveries"]) == 1
        assert len(receiver.at("/hooks/down")) == 10
        # And a test-send is refused until the partner re-enables it
        refused = await partner.post(f"{WEBHOOKS}/{subscription['id']}/test")
        assert refused.status_code == 409
        # When the partner fixes the endpoint and re-enables it, the queued message goes out
        receiver.fail_next = 0
        enabled = await partner.post(f"{WEBHOOKS}/{subscription['id']}/enable")
        assert enabled.status_code == 200, enabled.text
        assert (enabled.json()["is_enabled"], enabled.json()["disabled_reason"]) == (True, None)
        assert await send_webhooks(dev_node) == 1
        [delivery] = (await detail(partner, subscription))["recent_deliveries"]
        assert (delivery["status"], delivery["attempts"]) == ("delivered", 11)
        assert len({r.id for r in receiver.at("/hooks/down")}) == 1

    async def test_410_gone_disables_at_once(self, dev_node, receiver):
        partner = await partner_client(dev_node)
        subscription = await subscribe(partner, receiver, "/hooks/gone", EVENT_TYPES)
        receiver.fail_next, receiver.fail_status = 1, 410
        organizer = await dev_node.as_role(Role.organizer)
        await create_event(organizer)
        await create_event(organizer)
        assert await send_webhooks(dev_node) == 1
        shown = await detail(partner, subscription)
        assert shown["is_enabled"] is False
        assert "410 Gone" in shown["disabled_reason"]
        assert [d["status"] for d in shown["recent_deliveries"]] == ["pending", "failed"]


class TestTheWorker:
    async def test_the_delivery_workers_loop_sends_webhooks_when_woken(self, dev_node, receiver):
        # Given the node's one delivery worker running, as `serve` and `ipo-node worker` run it
        partner = await partner_client(dev_node)
        await subscribe(partner, receiver, "/hooks/live", EVENT_TYPES)
        stop = asyncio.Event()
        loop = asyncio.create_task(dev_node.worker.run_forever(stop, idle_seconds=3600))
        try:
            # When an organizer creates an event (the request's commit wakes the worker)
            await create_event(await dev_node.as_role(Role.organizer))
            # Then the message arrives long before the worker's idle poll (in an hour) comes
            # round: generous for a loaded machine, and still nothing but the wake-up can do it
            await asyncio.wait_for(receiver.arrived.wait(), timeout=90)
        finally:
            stop.set()
            await loop
        [received] = receiver.at("/hooks/live")
        assert received.verified
        assert received.message["type"] == "event.created"


class TestWhatAFailureTellsThePartner:
    async def test_a_refused_address_is_not_named(self, node):
        # Given a subscription whose host name resolves to an address this node won't post to
        partner = await partner_client(node)
        created = await partner.post(
            WEBHOOKS, json={"url": "https://localhost:9/hooks", "event_types": ["event.created"]}
        )
        assert created.status_code == 201, created.text
        queued = await partner.post(f"{WEBHOOKS}/{created.json()['id']}/test")
        assert queued.status_code == 202, queued.text
        # When the node tries to send
        await send_webhooks(node)
        # Then the partner learns why in words, not what the name resolves to here
        [delivery] = (await detail(partner, created.json()))["recent_deliveries"]
        assert delivery["status"] == "failed"
        assert "not a public internet address" in delivery["last_error"]
        for leaked in ("127.0.0.1", "::1", "loopback", "resolves"):
            assert leaked not in delivery["last_error"], delivery["last_error"]

    async def test_a_refused_connection_says_so_without_detail(self, dev_node):
        partner = await partner_client(dev_node)
        created = await partner.post(
            WEBHOOKS,
            json={"url": "http://localhost:9/hooks", "event_types": ["event.created"]},
        )
        assert created.status_code == 201, created.text
        await partner.post(f"{WEBHOOKS}/{created.json()['id']}/test")
        await send_webhooks(dev_node)
        [delivery] = (await detail(partner, created.json()))["recent_deliveries"]
        assert delivery["last_error"] == "Could not connect to the webhook URL's host."
