"""Creating, reading, changing and erasing members, and refusing bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from node.members.models import Member

FULL = {
    "given_name": "Ana",
    "family_name": "Diaz",
    "email": "Ana.Diaz@Example.org",
    "phone": "(773) 555-0100",
    "postal_code": "60614",
    "ward": 33,
    "precinct": "12",
    "languages": ["es", "en"],
    "tags": ["volunteer", "canvasser"],
    "sms_opt_in": True,
    "share_contact_with_hosts": True,
    "joined_date": "2025-06-01",
    "notes": "Met at the block party.",
}


async def member_count(node) -> int:
    async with node.session() as session:
        return int((await session.execute(select(func.count()).select_from(Member))).scalar_one())


async def create(client, **fields):
    body = {"given_name": "Ana", "family_name": "Diaz"} | fields
    response = await client.post("/api/v1/members", json=body)
    assert response.status_code == 201, response.text
    return response.json()


class TestCreate:
    async def test_stores_every_field_and_lowercases_email(self, organizer):
        created = await create(organizer, **FULL)
        fetched = (await organizer.get(f"/api/v1/members/{created['id']}")).json()
        assert fetched == created
        assert fetched["email"] == "ana.diaz@example.org"
        assert fetched["languages"] == ["es", "en"]
        assert fetched["tags"] == ["volunteer", "canvasser"]
        assert fetched["ward"] == 33
        assert fetched["joined_date"] == "2025-06-01"
        assert fetched["created_at"].endswith(("Z", "+00:00"))

    async def test_defaults(self, organizer):
        created = await create(organizer, given_name="Bo", family_name="")
        assert created["sms_opt_in"] is False
        assert created["share_contact_with_hosts"] is False
        assert created["email"] is None
        assert created["tags"] == []
        assert abs(date.fromisoformat(created["joined_date"]) - date.today()) <= timedelta(days=1)

    async def test_many_members_without_email(self, node, organizer):
        await create(organizer, given_name="One")
        await create(organizer, given_name="Two")
        assert await member_count(node) == 2


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"given_name": "Ana", "ward": 51}, "ward"),
            ({"given_name": "Ana", "ward": 0}, "ward"),
            ({"given_name": "Ana", "email": "not-an-email"}, "email"),
            ({"given_name": "Ana", "phone": "call me"}, "phone"),
            ({"given_name": "Ana", "phone": "12345"}, "phone"),
            ({"given_name": "Ana", "postal_code": "ABCDE"}, "postal_code"),
            ({"given_name": "A" * 121}, "given_name"),
            ({"given_name": "Ana", "favourite_colour": "red"}, "favourite_colour"),
            ({"given_name": "Ana", "tags": "volunteer"}, "tags"),
        ],
    )
    async def test_invalid_field_is_422_naming_it_and_writes_nothing(
        self, node, organizer, body, field
    ):
        response = await organizer.post("/api/v1/members", json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert any(field in detail["loc"] for detail in error["details"]), error
        assert await member_count(node) == 0

    async def test_nobody_no_name_no_email_is_422(self, node, organizer):
        response = await organizer.post("/api/v1/members", json={"phone": "773 555 0100"})
        assert response.status_code == 422
        assert "name or an email" in response.text
        assert await member_count(node) == 0

    async def test_duplicate_email_is_409_on_email_whatever_its_case(self, node, organizer):
        await create(organizer, email="ana@example.org")
        response = await organizer.post(
            "/api/v1/members", json={"given_name": "Other", "email": "ANA@example.org"}
        )
        assert response.status_code == 409, response.text
        assert response.json()["error"]["details"][0]["loc"] == ["body", "email"]
        assert await member_count(node) == 1

    async def test_patch_to_a_taken_email_is_409_and_keeps_the_old_one(self, organizer):
        await create(organizer, email="ana@example.org")
        bo = await create(organizer, given_name="Bo", email="bo@example.org")
        response = await organizer.patch(
            f"/api/v1/members/{bo['id']}", json={"email": "ana@example.org"}
        )
        assert response.status_code == 409
        fetched = (await organizer.get(f"/api/v1/members/{bo['id']}")).json()
        assert fetched["email"] == "bo@example.org"

    async def test_patch_with_unknown_field_or_bad_ward_changes_nothing(self, organizer):
        ana = await create(organizer, ward=33)
        for body in ({"ward": 51}, {"nickname": "A"}, {"given_name": None}):
            response = await organizer.patch(f"/api/v1/members/{ana['id']}", json=body)
            assert response.status_code == 422, (body, response.text)
        fetched = (await organizer.get(f"/api/v1/members/{ana['id']}")).json()
        assert fetched == ana

    async def test_unknown_member_is_404(self, organizer):
        for method in ("GET", "PATCH", "DELETE"):
            kwargs = {"json": {"notes": "x"}} if method == "PATCH" else {}
            response = await organizer.request(method, "/api/v1/members/999", **kwargs)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "member_not_found"


class TestUpdate:
    async def test_changes_only_the_fields_sent(self, organizer):
        ana = await create(organizer, **FULL)
        response = await organizer.patch(
            f"/api/v1/members/{ana['id']}", json={"ward": 32, "tags": ["host"], "email": None}
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["ward"] == 32
        assert updated["tags"] == ["host"]
        assert updated["email"] is None
        assert updated["phone"] == "+17735550100"  # stored as E.164
        assert updated["languages"] == FULL["languages"]
        assert updated["updated_at"] > ana["updated_at"]


class TestDelete:
    async def test_erases_the_row(self, node, organizer):
        ana = await create(organizer, email="ana@example.org")
        response = await organizer.delete(f"/api/v1/members/{ana['id']}")
        assert response.status_code == 204
        assert (await organizer.get(f"/api/v1/members/{ana['id']}")).status_code == 404
        assert await member_count(node) == 0
        # The email is free again: the record is gone, not hidden.
        await create(organizer, email="ana@example.org")


class TestSearchAndFilters:
    @pytest.fixture
    async def people(self, organizer):
        return {
            "ana": await create(
                organizer,
                given_name="Ana",
                family_name="Diaz",
                email="ana@example.org",
                ward=33,
                precinct="12",
                tags=["volunteer", "host"],
                languages=["es"],
                sms_opt_in=True,
            ),
            "bo": await create(
                organizer,
                given_name="Bo",
                family_name="Chen",
                phone="773-555-0199",
                ward=33,
                precinct="7",
                tags=["volunteer_lead"],
                languages=["zh", "en"],
            ),
            "cy": await create(
                organizer,
                given_name="Cy",
                family_name="Anaya",
                email="cy@example.org",
                ward=32,
                tags=["host"],
            ),
        }

    async def names(self, client, **params):
        response = await client.get("/api/v1/members", params=params)
        assert response.status_code == 200, response.text
        return sorted(m["given_name"] for m in response.json()["items"])

    async def test_q_matches_names_email_phone_case_insensitively(self, organizer, people):
        assert await self.names(organizer, q="ANA") == ["Ana", "Cy"]
        assert await self.names(organizer, q="cy@EXAMPLE") == ["Cy"]
        assert await self.names(organizer, q="555-0199") == ["Bo"]
        assert await self.names(organizer, q="ana diaz") == ["Ana"]
        assert await self.names(organizer, q="nobody") == []

    async def test_q_treats_like_wildcards_literally(self, organizer, people):
        assert await self.names(organizer, q="%") == []
        assert await self.names(organizer, q="_") == []

    async def test_tag_filter_matches_whole_tags_only(self, organizer, people):
        assert await self.names(organizer, tag="host") == ["Ana", "Cy"]
        assert await self.names(organizer, tag="volunteer") == ["Ana"]
        assert await self.names(organizer, tag="volunteer_lead") == ["Bo"]
        assert await self.names(organizer, tag="vol") == []

    async def test_language_ward_precinct_sms(self, organizer, people):
        assert await self.names(organizer, language="en") == ["Bo"]
        assert await self.names(organizer, ward=33) == ["Ana", "Bo"]
        assert await self.names(organizer, ward=33, precinct="7") == ["Bo"]
        assert await self.names(organizer, sms_opt_in=True) == ["Ana"]
        assert await self.names(organizer, sms_opt_in=False) == ["Bo", "Cy"]
        assert await self.names(organizer, ward=32, tag="host") == ["Cy"]

    async def test_updated_since(self, organizer, people):
        marker = datetime.now(UTC)
        await organizer.patch(f"/api/v1/members/{people['bo']['id']}", json={"notes": "called"})
        assert await self.names(organizer, updated_since=marker.isoformat()) == ["Bo"]
        earlier = (marker - timedelta(hours=1)).isoformat()
        assert await self.names(organizer, updated_since=earlier) == ["Ana", "Bo", "Cy"]

    async def test_updated_since_without_time_zone_is_422(self, organizer, people):
        response = await organizer.get(
            "/api/v1/members", params={"updated_since": "2026-01-01T00:00:00"}
        )
        assert response.status_code == 422
        assert "time zone" in response.json()["error"]["message"]

    async def test_ward_out_of_range_is_422(self, organizer, people):
        response = await organizer.get("/api/v1/members", params={"ward": 51})
        assert response.status_code == 422


class TestPagination:
    async def test_walking_next_cursor_sees_each_member_once(self, node, organizer):
        async with node.session() as session:
            session.add_all(Member(given_name=f"Person {i:02}") for i in range(23))
        seen: list[int] = []
        params: dict[str, str | int] = {"limit": 5}
        pages = 0
        while True:
            response = await organizer.get("/api/v1/members", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= 5
            seen.extend(m["id"] for m in page["items"])
            pages += 1
            if page["next_cursor"] is None:
                assert page["next"] is None
                break
            assert "cursor=" in page["next"]
            params = {"limit": 5, "cursor": page["next_cursor"]}
        assert pages == 5
        assert len(seen) == 23
        assert seen == sorted(set(seen))

    async def test_bad_cursor_is_422(self, organizer):
        response = await organizer.get("/api/v1/members", params={"cursor": "garbage!"})
        assert response.status_code == 422
