"""An event's own page, its calendar file, and the attendees page with check-in at the door.

The event page is public for public events and hidden (404, like a missing event) from whoever
may not see the event; the attendees page is for organizers of this node's own events.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import vobject

from node.accounts.models import Role
from node.events.models import Event
from node.rsvps.models import RsvpState
from tests.canvass.helpers import coalition
from tests.events import EVENTS, create_event
from tests.forums.test_lifecycle import forum_body
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.rsvps import public_event, rsvp, rsvps_of
from tests.web.page_client import anonymous, page_client

PLACE = {
    "venue": "Horner Park field house",
    "address_lines": ["2741 W Montrose Ave"],
    "locality": "Chicago",
    "region": "IL",
    "postal_code": "60618",
}
# Thursday 12 December 2030, 18:00 to 20:00 in Chicago (UTC-6).
START = datetime(2030, 12, 13, 0, 0, tzinfo=UTC)


async def neighbours_event(node: TestNode, **overrides: object) -> dict:
    return await public_event(
        node,
        title="Tenant rights night",
        description="Bring your lease.\nSpanish interpretation.",
        start=START,
        location=PLACE,
        capacity=30,
        **overrides,
    )


class TestThePublicPage:
    async def test_a_neighbour_sees_what_when_where_and_how_to_come(self, node: TestNode) -> None:
        event = await neighbours_event(node)

        page = await anonymous(node).get(f"/events/{event['id']}")

        assert page.status_code == 200
        html = unescape(page.text)
        assert "<h1>Tenant rights night</h1>" in html
        assert "Thu, Dec 12, 2030, 6:00\u20138:00 pm CST" in html
        assert "Horner Park field house, 2741 W Montrose Ave, Chicago, IL 60618" in html
        assert (
            "https://www.openstreetmap.org/search?query=2741+W+Montrose+Ave%2C+Chicago%2C+IL%2C+60618"
            in html
        )
        assert "Bring your lease.\nSpanish interpretation." in html
        assert "Hosted by Test ward33" in html
        assert "30 of 30 places left" in html
        assert f'href="/events/{event["id"]}/calendar.ics"' in html
        assert 'name="email"' in html
        assert 'name="website"' in html  # the honeypot
        assert "Edit this event" not in html
        assert "/attendees" not in html

    async def test_a_point_on_the_map_links_to_it(self, node: TestNode) -> None:
        place = {**PLACE, "location": {"latitude": 41.96, "longitude": -87.69}}
        event = await public_event(node, location=place)

        page = await anonymous(node).get(f"/events/{event['id']}")

        assert "https://www.openstreetmap.org/?mlat=41.96&amp;mlon=-87.69" in page.text

    async def test_a_shared_link_previews_with_open_graph_and_twitter_tags(
        self, node: TestNode
    ) -> None:
        event = await neighbours_event(node)

        html = (await anonymous(node).get(f"/events/{event['id']}")).text

        assert '<meta property="og:title" content="Tenant rights night">' in html
        assert '<meta property="og:description" content="Bring your lease. Spanish' in html
        assert f'<meta property="og:url" content="{node.url}/events/{event["id"]}">' in html
        assert '<meta name="twitter:card" content="summary">' in html
        assert "noindex" not in html

    async def test_nothing_is_loaded_from_outside_the_node(self, node: TestNode) -> None:
        event = await neighbours_event(node)

        html = (await anonymous(node).get(f"/events/{event['id']}")).text

        loaded = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="([^"]+)"', html)
        assert all(
            url.startswith("/") or url == f"{node.url}/events/{event['id']}" for url in loaded
        ), loaded

    async def test_the_feed_links_of_events_now_lead_to_their_pages(self, node: TestNode) -> None:
        event = await neighbours_event(node)
        feed = vobject.readOne((await node.client.get("/calendar.ics")).text)
        [vevent] = feed.contents["vevent"]
        path = vevent.uid.value.removeprefix(node.url)

        assert (await anonymous(node).get(path)).status_code == 200
        assert path == f"/events/{event['id']}"

    async def test_the_calendar_file_holds_the_one_event(self, node: TestNode) -> None:
        event = await neighbours_event(node)

        answer = await anonymous(node).get(f"/events/{event['id']}/calendar.ics")

        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
        [vevent] = vobject.readOne(answer.text).contents["vevent"]
        assert vevent.uid.value == event["object_id"]
        assert vevent.summary.value == "Tenant rights night"

    async def test_an_event_that_is_over_takes_no_rsvps(self, node: TestNode) -> None:
        event = await public_event(node, start=datetime(2025, 1, 10, 18, tzinfo=UTC))

        page = await anonymous(node).get(f"/events/{event['id']}")

        assert "This event is over." in page.text
        assert 'name="email"' not in page.text


class TestWhoSeesWhich:
    async def test_a_coalition_event_is_hidden_from_the_public_and_shown_to_members(
        self, node: TestNode
    ) -> None:
        event = await public_event(node, visibility="coalition")
        member = await page_client(node, role=Role.member)

        hidden = await anonymous(node).get(f"/events/{event['id']}")
        shown = await member.get(f"/events/{event['id']}")

        assert hidden.status_code == 404
        assert "Ward 33 general meeting" not in hidden.text
        assert (await anonymous(node).get(f"/events/{event['id']}/calendar.ics")).status_code == (
            404
        )
        assert shown.status_code == 200
        assert "members and allies only" in shown.text
        assert "noindex" in shown.text

    async def test_a_private_event_is_for_organizers_only(self, node: TestNode) -> None:
        event = await public_event(node, visibility="private")
        member = await page_client(node, role=Role.member)
        organizer = await page_client(node, role=Role.organizer)

        assert (await member.get(f"/events/{event['id']}")).status_code == 404
        assert (await organizer.get(f"/events/{event['id']}")).status_code == 200

    async def test_a_logged_in_member_rsvps_to_a_coalition_event_with_her_csrf_token(
        self, node: TestNode
    ) -> None:
        event = await public_event(node, visibility="coalition")
        member = await page_client(node, role=Role.member)
        form = {"name": "Ana Diaz", "email": "ana@example.org", "website": ""}

        forged = await member.post(f"/events/{event['id']}/rsvp", form, csrf=False)
        answer = await member.post(f"/events/{event['id']}/rsvp", form)

        assert forged.status_code == 403
        assert answer.status_code == 303
        assert [r.email for r in await rsvps_of(node, event)] == ["ana@example.org"]

    async def test_an_rsvp_to_a_hidden_event_is_refused_like_a_missing_one(
        self, node: TestNode
    ) -> None:
        event = await public_event(node, visibility="coalition")

        answer = await rsvp(anonymous(node), event)

        assert answer.status_code == 404
        assert await rsvps_of(node, event) == []

    async def test_organizers_get_links_to_edit_and_to_the_attendees(self, node: TestNode) -> None:
        event = await public_event(node)
        organizer = await page_client(node, role=Role.organizer)

        html = (await organizer.get(f"/events/{event['id']}")).text

        assert f'href="/events/{event["id"]}/edit"' in html
        assert f'href="/events/{event["id"]}/attendees"' in html

    async def test_a_missing_or_deleted_event_says_so(self, node: TestNode) -> None:
        event = await public_event(node)
        organizer = await node.as_role(Role.organizer)
        await organizer.delete(f"{EVENTS}/{event['id']}")

        assert (await anonymous(node).get("/events/no-such-event")).status_code == 404
        assert (await anonymous(node).get(f"/events/{event['id']}")).status_code == 410


class TestAlliesEvents:
    async def test_an_allys_event_is_shown_hosted_by_it_with_its_rsvp_on_its_own_page(
        self, nodes: NodeFactory
    ) -> None:
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        event = await create_event(
            await ward30.as_role(Role.organizer), title="30th Ward cleanup", visibility="public"
        )
        await deliver_all(host, ward30)
        async with host.session() as session:
            replica = (
                await session.execute(
                    Event.__table__.select().where(Event.object_id == event["object_id"])  # type: ignore[attr-defined]
                )
            ).one()

        page = await anonymous(host).get(f"/events/{replica.id}")

        assert page.status_code == 200
        html = unescape(page.text)
        assert "30th Ward cleanup" in html
        assert "Hosted by " in html
        assert "ward30" in html.lower()
        assert f'href="{event["object_id"]}"' in html
        assert 'name="email"' not in html  # RSVPs stay with the group that hosts it
        assert (await rsvp(anonymous(host), {"id": replica.id})).status_code == 409

    async def test_a_forums_event_names_the_co_hosts_that_accepted_and_offers_sharing(
        self, nodes: NodeFactory
    ) -> None:
        host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
        organizer = await host.as_role(Role.organizer)
        body = forum_body([ward30.url, ward35.url], host.url, visibility="public")
        forum = (await organizer.post("/api/v1/forums", json=body)).json()
        await deliver_all(host, ward30, ward35)
        held = next(
            f
            for f in (await (await ward30.as_role(Role.admin)).get("/api/v1/forums")).json()
            if f["object_id"] == forum["object_id"]
        )
        accepted = await (await ward30.as_role(Role.admin)).post(
            f"/api/v1/forums/{held['id']}/accept"
        )
        assert accepted.status_code == 202
        await deliver_all(host, ward30, ward35)

        html = unescape((await anonymous(host).get(f"/events/{forum['event_id']}")).text)

        assert "Mayoral candidate forum" in html
        co_hosts = re.search(r"<dt>Hosts</dt><dd>([^<]*)</dd>", html)
        assert co_hosts is not None
        assert co_hosts.group(1).count(",") == 1  # the host and ward30; ward35 has not accepted
        assert 'name="share_with_co_hosts"' in html


async def attendees_of(node: TestNode, event: dict, role: Role = Role.organizer):  # type: ignore[no-untyped-def]
    client = await page_client(node, role=role)
    return client, await client.get(f"/events/{event['id']}/attendees")


class TestAttendees:
    async def test_organizers_see_the_list_with_each_choice_and_the_waitlist(
        self, node: TestNode
    ) -> None:
        event = await public_event(node, capacity=1)
        neighbour = anonymous(node)
        await rsvp(neighbour, event, phone="773-555-0101", texts_ok="true")
        await rsvp(neighbour, event, name="Bea Kowalski", email="bea@example.org")

        _, page = await attendees_of(node, event)

        assert page.status_code == 200
        html = unescape(page.text)
        assert "1 going · 0 checked in · 1 on the waitlist · 0 places left" in html
        assert "ana@example.org · (773) 555-0101" in html
        assert "Texts: yes · Share with co-hosts: no" in html
        assert re.search(r"<ol class=\"waitlist\">\s*<li[^>]*><strong>Bea Kowalski", html)
        assert "Tap to check in" in html

    async def test_the_page_is_for_organizers_only(self, node: TestNode) -> None:
        event = await public_event(node)

        _, as_member = await attendees_of(node, event, role=Role.member)
        as_nobody = await anonymous(node).get(f"/events/{event['id']}/attendees")

        assert as_member.status_code == 403
        assert as_nobody.status_code == 303
        assert as_nobody.headers["location"].startswith("/login")

    async def test_one_tap_checks_her_in_and_comes_back_to_her_row(self, node: TestNode) -> None:
        event = await public_event(node)
        await rsvp(anonymous(node), event)
        [ana] = await rsvps_of(node, event)
        organizer, _ = await attendees_of(node, event)

        tapped = await organizer.post(f"/events/{event['id']}/attendees/{ana.id}/check-in")

        assert tapped.status_code == 303
        assert tapped.headers["location"] == f"/events/{event['id']}/attendees#rsvp-{ana.id}"
        page = unescape((await organizer.get(f"/events/{event['id']}/attendees")).text)
        assert "Ana Diaz checked in." in page
        assert "1 going · 1 checked in" in page
        assert "Checked in ✓ (tap to undo)" in page
        [row] = await rsvps_of(node, event)
        assert row.checked_in_at is not None
        # A wrong tap is undone by the next one
        await organizer.post(f"/events/{event['id']}/attendees/{ana.id}/check-in")
        assert (await rsvps_of(node, event))[0].checked_in_at is None

    async def test_a_tap_without_the_csrf_token_is_refused(self, node: TestNode) -> None:
        event = await public_event(node)
        await rsvp(anonymous(node), event)
        [ana] = await rsvps_of(node, event)
        organizer, _ = await attendees_of(node, event)

        answer = await organizer.post(
            f"/events/{event['id']}/attendees/{ana.id}/check-in", csrf=False
        )

        assert answer.status_code == 403
        assert (await rsvps_of(node, event))[0].checked_in_at is None

    async def test_a_walk_in_is_added_checked_in_even_when_full(self, node: TestNode) -> None:
        event = await public_event(node, capacity=1)
        await rsvp(anonymous(node), event)
        organizer, _ = await attendees_of(node, event)

        added = await organizer.post(
            f"/events/{event['id']}/attendees/walk-in", {"name": "Cy Walker", "email": ""}
        )

        assert added.status_code == 303
        _, walker = await rsvps_of(node, event)
        assert (walker.name, walker.email, walker.state, walker.is_walk_in) == (
            "Cy Walker",
            None,
            RsvpState.going,
            True,
        )
        assert walker.checked_in_at is not None
        page = unescape((await organizer.get(added.headers["location"])).text)
        assert "Cy Walker added and checked in." in page
        assert "no email · walk-in" in page

    async def test_a_walk_in_with_a_bad_email_comes_back_with_the_form_kept(
        self, node: TestNode
    ) -> None:
        event = await public_event(node)
        organizer, _ = await attendees_of(node, event)

        answer = await organizer.post(
            f"/events/{event['id']}/attendees/walk-in", {"name": "Cy", "email": "cy-at-home"}
        )

        assert answer.status_code == 422
        assert "Give an email address such as ana@example.org, or leave it empty." in answer.text
        assert 'value="cy-at-home"' in answer.text
        assert await rsvps_of(node, event) == []

    async def test_the_list_downloads_as_csv_without_formulas(self, node: TestNode) -> None:
        event = await public_event(node)
        await rsvp(anonymous(node), event, name="=HYPERLINK(1)", share_with_co_hosts="true")
        organizer, _ = await attendees_of(node, event)

        answer = await organizer.get(f"/events/{event['id']}/attendees/export.csv")

        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        lines = answer.text.lstrip("\ufeff").splitlines()
        assert lines[0] == (
            "name,email,phone,state,checked_in,texts_ok,share_with_co_hosts,walk_in,rsvped_at"
        )
        assert lines[1].startswith("'=HYPERLINK(1),ana@example.org,,going,no,no,yes,no,")

    async def test_an_allys_event_has_no_attendees_here(self, nodes: NodeFactory) -> None:
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        event = await create_event(await ward30.as_role(Role.organizer), visibility="public")
        await deliver_all(host, ward30)
        async with host.session() as session:
            replica = (
                await session.execute(
                    Event.__table__.select().where(Event.object_id == event["object_id"])  # type: ignore[attr-defined]
                )
            ).one()

        _, page = await attendees_of(host, {"id": replica.id})

        assert page.status_code == 404


class TestForCoHosts:
    async def test_only_names_of_people_who_agreed_are_listed_for_co_hosts(
        self, node: TestNode
    ) -> None:
        event = await public_event(node)
        await rsvp(anonymous(node), event, name="Ana Shares", share_with_co_hosts="true")
        await rsvp(anonymous(node), event, name="Bea Keeps", email="bea@example.org")

        _, page = await attendees_of(node, event)

        section = unescape(page.text).split("<h2>For co-hosts</h2>")[1]
        assert "Ana Shares" in section
        assert "Bea Keeps" not in section
