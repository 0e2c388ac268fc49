"""Issue 14 for members: phone numbers checked and kept as E.164, a street address, search by
ZIP code and by tag, and a deletion that takes what the record lent to canvass sign-ups."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from federation.models import OutboxActivity
from node.accounts.models import Role
from node.audit.models import AuditEntry
from node.canvass.models import CanvassCommitment
from tests.canvass.helpers import coalition, post_call, relay, sign_up
from tests.members.test_csv import all_members, post_csv
from tests.nodes import TestNode, deliver_all


async def add(client: Any, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/members", json={"given_name": "Ana", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def names(client: Any, **params: str) -> list[str]:
    response = await client.get("/api/v1/members", params=params)
    assert response.status_code == 200, response.text
    return [item["given_name"] for item in response.json()["items"]]


class TestPhoneNumbers:
    async def test_every_way_of_writing_a_number_is_kept_as_e164(self, organizer):
        for written in ("773-555-0100", "(773) 555-0100", "773.555.0100", "+1 773 555 0100",
                        "1 773 555 0100"):  # fmt: skip
            member = await add(organizer, phone=written)
            assert member["phone"] == "+17735550100", written
        abroad = await add(organizer, phone="+52 55 1234 5678")
        assert abroad["phone"] == "+525512345678"

    async def test_a_number_that_cannot_exist_is_refused_in_plain_words(self, organizer):
        for bad in ("12345", "call me", "773-555-01000", "+1 123 456 7890"):
            response = await organizer.post(
                "/api/v1/members", json={"given_name": "Ana", "phone": bad}
            )
            assert response.status_code == 422, bad
            [detail] = response.json()["error"]["details"]
            assert detail["loc"][-1] == "phone"
            assert "a US number has 10 (like 773-555-0100)" in detail["msg"], detail
        assert await names(organizer) == []

    async def test_a_csv_import_checks_and_normalizes_phones(self, node, organizer):
        ok = await post_csv(
            organizer, "given_name,phone\nAna,(773) 555-0100\nBo,+44 20 7946 0958\n"
        )
        assert ok.status_code == 200, ok.text
        assert [m.phone for m in await all_members(node)] == ["+17735550100", "+442079460958"]
        bad = await post_csv(organizer, "given_name,phone\nCy,555\n")
        assert bad.status_code == 422
        [detail] = bad.json()["error"]["details"]
        assert detail["loc"] == ["row", 2, "phone"]
        assert "This is not a phone number" in detail["msg"] or "does not exist" in detail["msg"]

    async def test_search_finds_a_phone_however_it_is_typed(self, organizer):
        await add(organizer, phone="773-555-0100")
        await add(organizer, given_name="Bo", phone="312-555-0123")
        assert await names(organizer, q="(773) 555-0100") == ["Ana"]
        assert await names(organizer, q="555-0123") == ["Bo"]


class TestStreetAddress:
    async def test_an_address_is_kept_and_the_state_code_checked(self, organizer):
        member = await add(
            organizer, street_address=" 3500 W Lawrence Ave Apt 2 ", city="Chicago", state="il"
        )
        assert (member["street_address"], member["city"], member["state"]) == (
            "3500 W Lawrence Ave Apt 2", "Chicago", "IL",
        )  # fmt: skip
        bad = await organizer.post("/api/v1/members", json={"given_name": "Bo", "state": "ZZ"})
        assert bad.status_code == 422
        assert "two-letter code of a US state" in bad.text
        changed = await organizer.patch(
            f"/api/v1/members/{member['id']}", json={"street_address": "", "city": "Evanston"}
        )
        assert (changed.json()["street_address"], changed.json()["city"]) == ("", "Evanston")

    async def test_the_export_carries_the_address_and_imports_back_unchanged(self, node, organizer):
        await add(organizer, email="ana@example.org", phone="773-555-0100",
                  street_address="2145 N Halsted St, Apt 2", city="Chicago", state="IL",
                  postal_code="60614")  # fmt: skip
        exported = await organizer.get("/api/v1/members/export.csv")
        header = exported.text.removeprefix("\ufeff").splitlines()[0].split(",")
        assert header[3:8] == ["phone", "street_address", "city", "state", "postal_code"]
        assert '"2145 N Halsted St, Apt 2",Chicago,IL,60614' in exported.text
        before = [m.model_dump(exclude={"updated_at"}) for m in await all_members(node)]
        again = await post_csv(organizer, exported.content)
        assert (again.status_code, again.json()["updated"]) == (200, 1)
        assert [m.model_dump(exclude={"updated_at"}) for m in await all_members(node)] == before


class TestSearchByZipAndTag:
    async def test_a_zip_finds_its_zip_plus_4_and_a_tag_is_found_in_any_case(self, organizer):
        await add(organizer, given_name="Ana", postal_code="60625", tags=["Volunteer"])
        await add(organizer, given_name="Bo", postal_code="60625-1234", tags=["donor"])
        await add(organizer, given_name="Cy", postal_code="60626", tags=["volunteer", "host"])
        assert await names(organizer, postal_code="60625") == ["Ana", "Bo"]
        assert await names(organizer, postal_code="60625-1234") == ["Bo"]
        assert await names(organizer, tag="volunteer") == ["Ana", "Cy"]
        assert await names(organizer, tag="volunteer", postal_code="60626") == ["Cy"]
        assert await names(organizer, tag="volunt") == []
        bad = await organizer.get("/api/v1/members", params={"postal_code": "606"})
        assert bad.status_code == 422


class TestDeletingAMember:
    async def test_the_record_goes_and_the_audit_log_keeps_only_its_id(self, node, organizer):
        member = await add(organizer, family_name="Diaz", email="ana@example.org",
                           phone="773-555-0100")  # fmt: skip
        deleted = await organizer.delete(f"/api/v1/members/{member['id']}")
        assert deleted.status_code == 204
        assert (await organizer.get(f"/api/v1/members/{member['id']}")).status_code == 404
        async with node.session() as session:
            entries = (await session.execute(select(AuditEntry))).scalars().all()
        logged = " ".join(str(entry.model_dump()) for entry in entries)
        assert "member.delete" in logged
        for personal in ("Diaz", "ana@example.org", "7735550100"):
            assert personal not in logged

    async def test_what_the_record_lent_a_sign_up_is_forgotten_here_and_on_the_way(self, nodes):
        # Given a volunteer of ward30 with a login and a member record, who signs up for
        # ward33's shift sharing her first name and contact, before anything is delivered
        host, other = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, capacity=5)
        await deliver_all(host, other)
        relayed = await relay(other, call)
        organizer = await other.as_role(Role.organizer)
        record = await add(organizer, given_name="Marisol", email="marisol@ward30.example",
                           phone="773-555-0142")  # fmt: skip
        client = await _login_for(other, "marisol@ward30.example")
        assert (
            await sign_up(client, relayed, share_first_name=True, share_contact=True)
        ).is_success
        # When ward30's organizer deletes her member record
        assert (await organizer.delete(f"/api/v1/members/{record['id']}")).status_code == 204
        # Then the Join still waiting to go no longer carries her name or phone
        async with other.session() as session:
            bodies = [a.body for a in (await session.execute(select(OutboxActivity))).scalars()]
        assert not [body for body in bodies if "Marisol" in body or "7735550142" in body]
        # And once delivered, the host holds her commitment under a handle only
        await deliver_all(host, other)
        async with host.session() as session:
            [row] = (await session.execute(select(CanvassCommitment))).scalars().all()
        assert (row.given_name, row.phone) == (None, None)
        assert row.state.value == "committed"

    async def test_on_its_own_call_the_host_roster_forgets_the_record_too(self, node, organizer):
        call = await post_call(node, capacity=5)
        record = await add(organizer, given_name="Marisol", email="marisol@ward33.example",
                           phone="773-555-0142")  # fmt: skip
        client = await _login_for(node, "marisol@ward33.example")
        assert (await sign_up(client, call, share_first_name=True, share_contact=True)).is_success
        async with node.session() as session:
            [row] = (await session.execute(select(CanvassCommitment))).scalars().all()
            assert (row.given_name, row.phone) == ("Marisol", "+17735550142")
        assert (await organizer.delete(f"/api/v1/members/{record['id']}")).status_code == 204
        async with node.session() as session:
            [row] = (await session.execute(select(CanvassCommitment))).scalars().all()
        assert (row.given_name, row.phone) == (None, None)
        assert row.state.value == "committed"  # her place stays: she still has her login


async def _login_for(node: TestNode, email: str) -> Any:
    _, token = await node.add_user(role=Role.member, email=email)
    return node.client_with(token)
