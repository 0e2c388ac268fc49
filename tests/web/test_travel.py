"""The host's page says how far its latest change has got to allies, not a stale state.

"Sent to 0 of 2 allies; 2 still on the way" until the delivery worker has sent it, "Sent to all 2
allies." once both have it, and "could not be reached" for a delivery given up.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select, update

from federation.models import Delivery, DeliveryState, OutboxActivity
from node.accounts.models import Role
from tests.canvass.helpers import coalition, post_call, replica
from tests.nodes import NodeFactory, deliver_all
from tests.web.page_client import page_client

EVENT = {
    "title": "Ward night",
    "event_type": "MEETING",
    "visibility": "public",
    "start_date": "2030-12-08T18:00:00-06:00",
    "end_date": "2030-12-08T20:00:00-06:00",
}


class TestTravelOnTheHostsPage:
    async def test_a_new_call_is_on_its_way_then_with_every_ally(self, nodes: NodeFactory) -> None:
        host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
        call = await post_call(host)
        organizer = await page_client(host, role=Role.organizer)

        before = await organizer.get(f"/canvass/{call['id']}")
        assert "Sent to 0 of 2 allies; 2 still on the way" in before.text

        await deliver_all(host, ward30, ward35)
        after = await organizer.get(f"/canvass/{call['id']}")
        assert "Sent to all 2 allies." in after.text
        assert "still on the way" not in after.text

    async def test_a_delivery_given_up_is_said_to_be_unreached(self, nodes: NodeFactory) -> None:
        host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
        call = await post_call(host)
        async with host.session() as session:  # one ally's copy given up, as after 7 days
            first = (
                await session.execute(
                    select(func.min(Delivery.id))
                    .join(OutboxActivity, col(OutboxActivity.id) == col(Delivery.activity_pk))
                    .where(col(OutboxActivity.object_id) == call["object_id"])
                )
            ).scalar_one()
            await session.execute(
                update(Delivery).where(col(Delivery.id) == first).values(state=DeliveryState.failed)
            )
        await deliver_all(host, ward30, ward35)
        organizer = await page_client(host, role=Role.organizer)

        page = await organizer.get(f"/canvass/{call['id']}")
        assert "Sent to 1 of 2 allies; 1 could not be reached." in page.text

    async def test_an_allys_page_says_nothing_of_travel(self, nodes: NodeFactory) -> None:
        host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
        call = await post_call(host)
        await deliver_all(host, ward30, ward35)
        held = await replica(ward30, call["object_id"])
        organizer = await page_client(ward30, role=Role.organizer)

        page = await organizer.get(f"/canvass/{held['id']}")
        assert page.status_code == 200
        assert "Sent to" not in page.text


class TestTravelOnTheEventPage:
    async def test_an_organizer_sees_an_edit_on_its_way_then_arrived(
        self, nodes: NodeFactory
    ) -> None:
        host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
        api = await host.as_role(Role.organizer)
        made = await api.post("/api/v1/events", json=EVENT)
        assert made.status_code == 201, made.text
        organizer = await page_client(host, role=Role.organizer)
        path = f"/events/{made.json()['id']}"

        assert "Sent to 0 of 2 allies; 2 still on the way" in (await organizer.get(path)).text
        await deliver_all(host, ward30, ward35)
        assert "Sent to all 2 allies." in (await organizer.get(path)).text
        neighbour = await host.client_with().get(path)
        assert neighbour.status_code == 200
        assert "Sent to" not in neighbour.text
