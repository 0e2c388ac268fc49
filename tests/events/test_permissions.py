"""Who may change events, and who sees which ones."""

from __future__ import annotations

import pytest

from tests.events import EVENTS, count_event_rows, create_event, event_body, list_all


class TestOnlyOrganizersChangeEvents:
    async def test_anonymous_cannot_create(self, node):
        response = await node.client.post(EVENTS, json=event_body())
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
        assert await count_event_rows(node) == 0

    async def test_member_cannot_create(self, node, member):
        response = await member.post(EVENTS, json=event_body())
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert await count_event_rows(node) == 0

    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("PATCH", "", {"title": "Hijacked"}),
            ("POST", "/cancel", None),
            ("DELETE", "", None),
        ],
    )
    async def test_anonymous_and_member_cannot_change(
        self, node, organizer, member, method, suffix, body
    ):
        event = await create_event(organizer)
        url = f"{EVENTS}/{event['id']}{suffix}"
        for client, status in ((node.client, 401), (member, 403)):
            response = await client.request(method, url, json=body)
            assert response.status_code == status, response.text
        after = (await organizer.get(f"{EVENTS}/{event['id']}")).json()
        assert after == event

    async def test_admin_can_change(self, admin):
        event = await create_event(admin)
        response = await admin.patch(f"{EVENTS}/{event['id']}", json={"title": "Renamed"})
        assert response.status_code == 200
        assert response.json()["title"] == "Renamed"


@pytest.fixture
async def one_of_each(organizer):
    return {
        visibility: await create_event(
            organizer, title=f"A {visibility} event", visibility=visibility
        )
        for visibility in ("public", "coalition", "private")
    }


class TestVisibility:
    async def test_anonymous_lists_only_public_events(self, node, one_of_each):
        titles = [e["title"] for e in await list_all(node.client)]
        assert titles == ["A public event"]

    async def test_member_lists_public_and_coalition_events(self, member, one_of_each):
        titles = sorted(e["title"] for e in await list_all(member))
        assert titles == ["A coalition event", "A public event"]

    async def test_organizer_lists_everything(self, organizer, one_of_each):
        assert len(await list_all(organizer)) == 3

    async def test_visibility_filter_cannot_widen_what_a_member_sees(self, member, one_of_each):
        assert await list_all(member, visibility="private") == []

    async def test_anonymous_cannot_get_a_coalition_or_private_event(self, node, one_of_each):
        public = await node.client.get(f"{EVENTS}/{one_of_each['public']['id']}")
        assert public.status_code == 200
        for hidden in ("coalition", "private"):
            response = await node.client.get(f"{EVENTS}/{one_of_each[hidden]['id']}")
            assert response.status_code == 404, hidden

    async def test_a_private_event_looks_exactly_like_a_missing_one_to_a_member(
        self, member, one_of_each
    ):
        private_id = one_of_each["private"]["id"]
        missing_id = "00000000-0000-4000-8000-000000000000"
        hidden = await member.get(f"{EVENTS}/{private_id}")
        missing = await member.get(f"{EVENTS}/{missing_id}")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == {
            "error": {**missing.json()["error"], "message": f"No event {private_id} on this node."}
        }
        assert missing.json()["error"]["code"] == "event_not_found"

    async def test_member_gets_a_coalition_event(self, member, one_of_each):
        response = await member.get(f"{EVENTS}/{one_of_each['coalition']['id']}")
        assert response.status_code == 200
        assert response.json()["visibility"] == "coalition"

    async def test_visibility_defaults_to_coalition(self, node, organizer):
        body = event_body()
        del body["visibility"]
        response = await organizer.post(EVENTS, json=body)
        assert response.status_code == 201
        event = response.json()
        assert event["visibility"] == "coalition"
        assert (await node.client.get(f"{EVENTS}/{event['id']}")).status_code == 404
