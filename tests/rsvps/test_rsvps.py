"""RSVPs without an account: places and the waitlist, the private link, and the emails.

Each RSVP is made as a neighbour makes it, through the event's public page, and read back as
she and the organizers see it: the page she lands on, the emails the node queued, the rows.
"""

from __future__ import annotations

from datetime import timedelta
from html import unescape

from sqlmodel import select

from node.accounts.models import Role
from node.members.models import Member
from node.rsvps.models import RsvpState
from tests.canvass.helpers import coalition
from tests.events import EVENTS, soon
from tests.nodes import TestNode, deliver_all
from tests.rsvps import mails, private_link, public_event, rsvp, rsvps_of, text_of
from tests.web.page_client import anonymous


async def member_with(node: TestNode, email: str) -> Member | None:
    async with node.session() as session:
        result = await session.execute(select(Member).where(Member.email == email))
        return result.scalar_one_or_none()


class TestRsvpWithoutAnAccount:
    async def test_she_lands_on_her_private_page_and_gets_the_confirmation_with_the_ics(
        self, node: TestNode
    ) -> None:
        event = await public_event(node, title="Tenant rights night", capacity=20)
        client = anonymous(node)

        answer = await rsvp(client, event, phone="773-555-0101", texts_ok="true")

        assert answer.status_code == 303
        location = answer.headers["location"]
        assert location.startswith("/rsvp/rsvp_")
        page = await client.get(location)
        assert page.status_code == 200
        assert "You're going!" in unescape(page.text)
        assert "going" in page.text
        assert "Tenant rights night" in page.text
        assert page.headers["cache-control"] == "no-store"
        [row] = await rsvps_of(node, event)
        assert (row.name, row.email, row.phone, row.state) == (
            "Ana Diaz",
            "ana@example.org",
            "+17735550101",  # stored as E.164, as a member's phone is
            RsvpState.going,
        )
        assert row.texts_ok is True
        assert row.share_with_co_hosts is False
        assert row.token_hash is not None
        assert location.removeprefix("/rsvp/") not in row.token_hash  # only its hash is kept
        [mail] = await mails(node, kind="rsvp_confirmed")
        assert mail["To"] == "ana@example.org"
        assert mail["Subject"] == "You're going: Tenant rights night"
        assert private_link(mail) == location
        assert f"{node.url}/events/{event['id']}" in text_of(mail)
        [attachment] = list(mail.iter_attachments())
        assert attachment.get_content_type() == "text/calendar"
        calendar = attachment.get_content()
        calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
        assert f"UID:{event['object_id']}" in calendar
        assert "SUMMARY:Tenant rights night" in calendar

    async def test_a_new_neighbour_becomes_a_member_record_from_an_rsvp(
        self, node: TestNode
    ) -> None:
        event = await public_event(node)

        await rsvp(anonymous(node), event, name="Bea Kowalski", email="Bea@Example.org")

        member = await member_with(node, "bea@example.org")
        assert member is not None
        assert (member.given_name, member.family_name, member.source) == (
            "Bea",
            "Kowalski",
            "rsvp",
        )
        [row] = await rsvps_of(node, event)
        assert row.member_id == member.id

    async def test_a_known_member_is_linked_and_her_record_left_as_it_is(
        self, node: TestNode
    ) -> None:
        async with node.session() as session:
            session.add(Member(given_name="Ana", family_name="Diaz", email="ana@example.org"))
        event = await public_event(node)

        await rsvp(anonymous(node), event, name="Someone Else", phone="312-555-0000")

        member = await member_with(node, "ana@example.org")
        assert member is not None
        assert (member.given_name, member.phone, member.source) == ("Ana", "", "")
        [row] = await rsvps_of(node, event)
        assert row.member_id == member.id

    async def test_the_same_email_again_updates_her_rsvp_and_mails_the_link_only_to_her(
        self, node: TestNode
    ) -> None:
        event = await public_event(node)
        client = anonymous(node)
        first = await rsvp(client, event)

        again = await rsvp(client, event, name="Ana María Diaz", phone="773-555-0199")

        assert again.status_code == 303
        assert again.headers["location"] == f"/events/{event['id']}"
        landing = await client.get(again.headers["location"])
        assert "You had already RSVPed with this email" in landing.text
        [row] = await rsvps_of(node, event)
        assert (row.name, row.phone) == ("Ana María Diaz", "+17735550199")
        old, new = await mails(node, kind="rsvp_confirmed")
        assert private_link(old) == first.headers["location"]
        assert private_link(new) != private_link(old)
        # The old link no longer opens it; the new one, sent to her address, does
        assert (await client.get(first.headers["location"])).status_code == 404
        assert (await client.get(private_link(new))).status_code == 200

    async def test_bad_input_comes_back_with_the_fields_kept_and_each_error_beside_its_field(
        self, node: TestNode
    ) -> None:
        event = await public_event(node)

        answer = await rsvp(
            anonymous(node), event, name="", email="ana-at-example", phone="12", texts_ok="true"
        )

        assert answer.status_code == 422
        html = answer.text
        assert 'id="e-name"' in html
        assert "Give your name" in html
        assert 'id="e-email"' in html
        assert "Give an email address such as ana@example.org" in html
        assert 'value="ana-at-example"' in html
        assert 'id="e-phone"' in html
        assert "Check the digits: a US number has 10" in html
        assert 'name="texts_ok" value="true" checked' in html
        assert "Value error" not in html
        assert await rsvps_of(node, event) == []

    async def test_texts_need_a_phone_number(self, node: TestNode) -> None:
        event = await public_event(node)

        answer = await rsvp(anonymous(node), event, texts_ok="true")

        assert answer.status_code == 422
        assert "Give a phone number to get texts, or untick the texts box." in answer.text
        assert await rsvps_of(node, event) == []

    async def test_a_filled_honeypot_keeps_nothing_and_sends_nothing(self, node: TestNode) -> None:
        event = await public_event(node)

        answer = await rsvp(anonymous(node), event, website="http://spam.example")

        assert answer.status_code == 303
        assert answer.headers["location"] == f"/events/{event['id']}"
        assert await rsvps_of(node, event) == []
        assert await mails(node) == []

    async def test_many_rsvps_from_one_address_are_slowed_down(self, node: TestNode) -> None:
        event = await public_event(node)
        client = anonymous(node)
        answers = [
            await rsvp(client, event, email=f"n{number}@example.org") for number in range(11)
        ]

        assert [a.status_code for a in answers[:10]] == [303] * 10
        assert answers[10].status_code == 429
        assert "try again in" in answers[10].text
        assert int(answers[10].headers["retry-after"]) >= 1
        assert len(await rsvps_of(node, event)) == 10


class TestCapacityAndWaitlist:
    async def test_a_full_event_puts_her_on_the_waitlist_and_says_so(self, node: TestNode) -> None:
        event = await public_event(node, capacity=1, title="Small room")
        client = anonymous(node)
        await rsvp(client, event)

        page = await client.get(f"/events/{event['id']}")
        assert "Full. New RSVPs go on the waitlist." in page.text
        assert "Join the waitlist" in page.text
        answer = await rsvp(client, event, name="Bea", email="bea@example.org")

        landing = await client.get(answer.headers["location"])
        assert "The event is full, so you are on the waitlist." in landing.text
        assert "on the waitlist" in landing.text
        _, bea = await rsvps_of(node, event)
        assert bea.state is RsvpState.waitlisted
        [_, mail] = await mails(node, kind="rsvp_confirmed")
        assert mail["Subject"] == "You're on the waitlist: Small room"

    async def test_a_cancellation_gives_the_place_to_the_first_waiting_who_is_emailed(
        self, node: TestNode
    ) -> None:
        event = await public_event(node, capacity=1, title="Small room")
        client = anonymous(node)
        ana = await rsvp(client, event)
        await rsvp(client, event, name="Bea", email="bea@example.org")
        await rsvp(client, event, name="Cy", email="cy@example.org")

        cancelled = await client.post(ana.headers["location"] + "/cancel")

        assert cancelled.status_code == 303
        page = await client.get(cancelled.headers["location"])
        assert "Your RSVP is cancelled" in page.text
        assert "RSVP again on the event page" in page.text
        states = {r.email: r.state for r in await rsvps_of(node, event)}
        assert states == {
            "ana@example.org": RsvpState.cancelled,
            "bea@example.org": RsvpState.going,
            "cy@example.org": RsvpState.waitlisted,
        }
        [promoted] = await mails(node, kind="rsvp_promoted")
        assert promoted["To"] == "bea@example.org"
        assert "A place freed up, and it is yours" in text_of(promoted)
        assert (await client.get(private_link(promoted))).status_code == 200
        [told] = await mails(node, kind="rsvp_cancelled")
        assert told["To"] == "ana@example.org"

    async def test_a_larger_capacity_takes_people_off_the_waitlist(self, node: TestNode) -> None:
        event = await public_event(node, capacity=1)
        client = anonymous(node)
        await rsvp(client, event)
        await rsvp(client, event, name="Bea", email="bea@example.org")
        organizer = await node.as_role(Role.organizer)

        answer = await organizer.patch(f"{EVENTS}/{event['id']}", json={"capacity": 5})

        assert answer.status_code == 200
        assert [r.state for r in await rsvps_of(node, event)] == [RsvpState.going] * 2
        [promoted] = await mails(node, kind="rsvp_promoted")
        assert promoted["To"] == "bea@example.org"


class TestHerPrivateLink:
    async def test_she_changes_her_details_and_is_emailed_a_confirmation(
        self, node: TestNode
    ) -> None:
        event = await public_event(node)
        client = anonymous(node)
        link = (await rsvp(client, event)).headers["location"]

        answer = await client.post(
            link, data={"name": "Ana M. Diaz", "phone": "773-555-0102", "texts_ok": "true"}
        )

        assert answer.status_code == 303
        page = await client.get(answer.headers["location"])
        assert "Saved. We emailed you a confirmation of the change." in page.text
        assert 'value="Ana M. Diaz"' in page.text
        [row] = await rsvps_of(node, event)
        assert (row.name, row.phone, row.texts_ok) == ("Ana M. Diaz", "+17735550102", True)
        [mail] = await mails(node, kind="rsvp_changed")
        assert mail["To"] == "ana@example.org"
        assert private_link(mail) == link

    async def test_a_bad_change_comes_back_with_her_input(self, node: TestNode) -> None:
        event = await public_event(node)
        client = anonymous(node)
        link = (await rsvp(client, event)).headers["location"]

        answer = await client.post(link, data={"name": " ", "phone": "abc"})

        assert answer.status_code == 422
        assert "Give your name" in answer.text
        assert "Check the digits: a US number has 10" in answer.text
        assert 'value="abc"' in answer.text
        assert (await rsvps_of(node, event))[0].name == "Ana Diaz"

    async def test_cancelling_asks_once_more_first(self, node: TestNode) -> None:
        event = await public_event(node)
        client = anonymous(node)
        link = (await rsvp(client, event)).headers["location"]

        page = await client.get(link)

        assert '<details class="confirm">' in page.text
        assert "Yes, cancel my RSVP" in page.text
        assert f'action="{link}/cancel"' in page.text

    async def test_a_made_up_link_opens_nothing(self, node: TestNode) -> None:
        client = anonymous(node)
        answer = await client.get("/rsvp/rsvp_nothing-here")
        assert answer.status_code == 404
        assert "This RSVP link does not work" in answer.text


class TestTheEventChanges:
    async def test_everyone_coming_or_waiting_hears_that_it_moved(self, node: TestNode) -> None:
        event = await public_event(node, capacity=1, title="Block party")
        client = anonymous(node)
        ana = await rsvp(client, event)
        await rsvp(client, event, name="Bea", email="bea@example.org")
        await rsvp(client, event, name="Cy", email="cy@example.org")
        await client.post(ana.headers["location"] + "/cancel")  # Bea goes, Cy waits
        organizer = await node.as_role(Role.organizer)
        later = soon(days=14)

        answer = await organizer.patch(
            f"{EVENTS}/{event['id']}",
            json={
                "start_date": later.isoformat(),
                "end_date": (later + timedelta(hours=1)).isoformat(),
                "location": {"venue": "Horner Park", "address_lines": ["2741 W Montrose Ave"]},
            },
        )

        assert answer.status_code == 200
        told = await mails(node, kind="event_changed")
        assert sorted(m["To"] for m in told) == ["bea@example.org", "cy@example.org"]
        text = text_of(told[0])
        assert told[0]["Subject"] == "Changed: Block party"
        assert "It has moved to" in text
        assert "It is now at Horner Park, 2741 W Montrose Ave." in text
        assert list(told[0].iter_attachments())  # the new time for her calendar

    async def test_a_new_title_alone_sends_nothing(self, node: TestNode) -> None:
        event = await public_event(node)
        await rsvp(anonymous(node), event)
        organizer = await node.as_role(Role.organizer)

        await organizer.patch(f"{EVENTS}/{event['id']}", json={"title": "A better name"})

        assert await mails(node, kind="event_changed") == []

    async def test_a_cancellation_is_told_and_the_page_says_so(self, node: TestNode) -> None:
        event = await public_event(node, title="Block party")
        client = anonymous(node)
        await rsvp(client, event)
        organizer = await node.as_role(Role.organizer)

        assert (await organizer.post(f"{EVENTS}/{event['id']}/cancel")).status_code == 200

        [mail] = await mails(node, kind="event_changed")
        assert mail["Subject"] == "Cancelled: Block party"
        assert "The event is cancelled." in text_of(mail)
        page = await client.get(f"/events/{event['id']}")
        assert "This event is cancelled." in page.text
        assert 'action="/events/' not in page.text  # no RSVP form
        late = await rsvp(client, event, email="late@example.org")
        assert late.status_code == 409
        assert "This event is cancelled, so it takes no RSVPs." in late.text

    async def test_a_deleted_event_is_told_and_its_list_forgotten(self, node: TestNode) -> None:
        event = await public_event(node, title="Block party")
        await rsvp(anonymous(node), event)
        organizer = await node.as_role(Role.organizer)

        assert (await organizer.delete(f"{EVENTS}/{event['id']}")).status_code == 204

        [mail] = await mails(node, kind="event_changed")
        assert "called off" in text_of(mail)
        assert await rsvps_of(node, event) == []


class TestErasure:
    async def test_her_rsvps_go_when_she_erases_her_account(self, node: TestNode) -> None:
        event = await public_event(node, capacity=1)
        _, token = await node.add_user(role=Role.member, email="ana@example.org")
        client = anonymous(node)
        await rsvp(client, event)
        await rsvp(client, event, name="Bea", email="bea@example.org")

        answer = await node.client_with(token).delete("/api/v1/me")

        assert answer.status_code == 200, answer.text
        [bea] = await rsvps_of(node, event)
        assert (bea.email, bea.state) == ("bea@example.org", RsvpState.going)


class TestTheApiShowsCountsOnly:
    async def test_an_event_says_how_many_are_going_and_never_who(self, nodes) -> None:  # type: ignore[no-untyped-def]
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        event = await public_event(host, capacity=1)
        client = anonymous(host)
        await rsvp(client, event, phone="773-555-0101")
        await rsvp(client, event, name="Bea", email="bea@example.org")  # waiting: not counted
        await deliver_all(host, ward30)

        one = await anonymous(host).get(f"{EVENTS}/{event['id']}")
        listed = await (await host.as_role(Role.member)).get(EVENTS)
        at_the_ally = await (await ward30.as_role(Role.organizer)).get(EVENTS)

        assert one.json()["rsvp_count"] == 1
        assert [e["rsvp_count"] for e in listed.json()["items"]] == [1]
        for answer in (one, listed, at_the_ally):
            assert "ana@example.org" not in answer.text
            assert "Ana Diaz" not in answer.text
            assert "773-555-0101" not in answer.text
            assert "7735550101" not in answer.text
        [replica] = at_the_ally.json()["items"]
        assert replica["object_id"] == event["object_id"]
        assert replica["rsvp_count"] is None  # its RSVPs are on the host
