"""Privacy, proven: planted personal data never leaves its node, except a consenting
volunteer's contact, which reaches the host of her shift and nobody else.

Every node gets members and volunteers whose names, phones, emails and addresses carry unique
markers. The coalition then runs its flows (shared events, a forum co-hosted by three wards,
a canvass call relayed by three wards, sign-ups with consent on and off, a waitlist, a
withdrawal, a cancellation, a report), and the test scans:

- every activity body stored on every node (``outbox_activity``, ``inbox_activity``): once
  delivered and applied, none carries anything personal, not even a consented contact,
- every request body that crosses the in-process network, with its destination,
- every response the allies' users get from their own nodes' canvass, forum and event APIs,
- every webhook message queued for a partner subscribed to every event type on every node.

Then a volunteer withdraws, and another erases her account: afterwards no row of any table of
either node (activity logs included) names them.
"""

from __future__ import annotations

import logging
import re
import typing
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from federation.models import InboxActivity, OutboxActivity
from federation.storage import utcnow
from node import tables  # noqa: F401 -- every table, for the scans of whole databases
from node.accounts.models import Role
from node.canvass.models import CanvassShift
from node.mail.models import MailMessage
from node.members.models import Member, normalized_phone
from node.webhooks.models import WebhookDelivery, WebhookEventType
from tests.canvass.helpers import coalition, my_signups, post_call, relay, replica, sign_up
from tests.forums.test_lifecycle import forum_body, plan_on
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.partners.helpers import ALL_SCOPES, partner_client
from tests.web.page_client import anonymous, page_client

WARDS = ("ward33", "ward30", "ward35", "ward40")


@dataclass
class Person:
    """One planted person: every field that identifies her carries her marker."""

    node: str
    tag: str
    index: int

    @property
    def given_name(self) -> str:
        return f"Given{self.tag}"

    @property
    def family_name(self) -> str:
        return f"Family{self.tag}"

    @property
    def email(self) -> str:
        return f"{self.tag.lower()}@mail.example"

    @property
    def phone(self) -> str:
        return f"312-867-{self.index:04d}"

    @property
    def address(self) -> str:
        return f"{self.index} {self.tag} Avenue"

    @property
    def stored_phone(self) -> str:
        """The phone as a node stores a member's: E.164, ``+13128670001``."""
        return normalized_phone(self.phone)

    def markers(self) -> list[str]:
        # Both forms of the phone: as typed (a form, a sign-up) and as a member's is stored.
        return [self.given_name, self.family_name, self.email, self.phone, self.stored_phone,
                self.address]  # fmt: skip


@dataclass
class Leaks:
    """Where each marker was seen, outside its home node."""

    people: list[Person] = field(default_factory=list)

    def person(self, node: TestNode, kind: str) -> Person:
        person = Person(node=node.name, tag=f"PII{kind}{node.name}X", index=len(self.people) + 1)
        self.people.append(person)
        return person

    def hits(self, text: str) -> list[tuple[Person, str]]:
        return [
            (person, marker)
            for person in self.people
            for marker in person.markers()
            if re.search(re.escape(marker), text, re.IGNORECASE)
        ]


async def plant(node: TestNode, person: Person, *, login: bool) -> httpx.AsyncClient | None:
    async with node.session() as session:
        session.add(
            Member(
                given_name=person.given_name,
                family_name=person.family_name,
                email=person.email,
                phone=person.phone,
                postal_code="60625",
                notes=f"home: {person.address}",
                share_contact_with_hosts=True,  # her standing preference; sign-ups still ask
            )
        )
    if not login:
        return None
    _, token = await node.add_user(role=Role.member, email=person.email)
    return node.client_with(token)


def record_traffic(nodes: NodeFactory) -> list[tuple[str, str]]:
    """Wrap the network: every request's destination host and body."""
    seen: list[tuple[str, str]] = []
    network = nodes.network
    forward = network.handle_async_request

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.content.decode("utf-8", "replace")))
        return await forward(request)

    network.handle_async_request = handle  # type: ignore[method-assign]
    return seen


async def activity_bodies(node: TestNode) -> list[tuple[str, str]]:
    """Each activity ``node`` keeps, sent (``outbox_activity``) or received (``inbox_activity``),
    with the log it is in."""
    async with node.session() as session:
        sent = (await session.execute(select(OutboxActivity))).scalars().all()
        received = (await session.execute(select(InboxActivity))).scalars().all()
    return [("outbox", row.body) for row in sent] + [("inbox", row.body) for row in received]


async def stored_rows(node: TestNode) -> list[tuple[str, str]]:
    """Every row of every table of ``node``'s database, as text, with its table's name."""
    found = []
    async with node.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in await session.execute(sa.select(table)):
                found.append((table.name, " ".join(str(value) for value in row)))
    return found


def named(people: list[Person], rows: list[tuple[str, str]]) -> list[str]:
    """Where any of these people's markers appear in ``rows``."""
    leaks = Leaks(people=people)
    return [f"{marker} in {where}" for where, text in rows for _, marker in leaks.hits(text)]


async def webhook_payloads(node: TestNode) -> list[str]:
    """The body of each webhook message ``node`` ever queued for a partner."""
    async with node.session() as session:
        rows = (await session.execute(select(WebhookDelivery))).scalars().all()
    return [str(row.payload) for row in rows]


async def subscribe_to_everything(node: TestNode) -> None:
    """A union subscribed to every webhook event type on ``node``."""
    union = await partner_client(node, ALL_SCOPES)
    answer = await union.post(
        "/api/v1/partner/webhooks",
        json={
            "url": "https://hooks.local73.example/ipo",
            "event_types": list(typing.get_args(WebhookEventType)),
        },
    )
    assert answer.status_code == 201, answer.text


class TestNothingPersonalLeaves:
    async def test_markers_stay_home_except_consented_contact_to_the_host(self, nodes):
        traffic = record_traffic(nodes)
        host, ward30, ward35, ward40 = await coalition(nodes, *WARDS)
        everyone = (host, ward30, ward35, ward40)
        leaks = Leaks()
        # Given members on every node (never volunteers) and volunteers on every node, and a
        # union subscribed to every webhook on every node
        for node in everyone:
            await subscribe_to_everything(node)
            await plant(node, leaks.person(node, "member"), login=False)
            organizer = await node.as_role(Role.organizer)
            response = await organizer.post(
                "/api/v1/events",
                json={
                    "title": f"Meeting at {node.name}",
                    "start_date": (utcnow() + timedelta(days=9)).isoformat(),
                    "end_date": (utcnow() + timedelta(days=9, hours=1)).isoformat(),
                    "event_type": "MEETING",
                    "visibility": "coalition",
                },
            )
            assert response.status_code == 201
        # When the host posts a call with one full-able shift and a waitlist
        call = await post_call(host, capacity=2, waitlist_limit=2, shifts=2)
        await deliver_all(*everyone)
        consenting = leaks.person(ward30, "consents")
        declining = leaks.person(ward35, "declines")
        waiting = leaks.person(ward40, "waits")
        local_host = leaks.person(host, "hostvol")
        clients = {}
        for person, node in (
            (consenting, ward30),
            (declining, ward35),
            (waiting, ward40),
            (local_host, host),
        ):
            clients[person.tag] = await plant(node, person, login=True)
        relayed = {node.name: await relay(node, call) for node in (ward30, ward35, ward40)}
        # ... a volunteer who consents to share her first name and contact with the host,
        assert (
            await sign_up(
                clients[consenting.tag],
                relayed["ward30"],
                share_first_name=True,
                share_contact=True,
            )
        ).status_code == 201
        # ... one who does not (her standing member preference does not count for a sign-up),
        assert (await sign_up(clients[declining.tag], relayed["ward35"])).status_code == 201
        await deliver_all(*everyone)
        # ... one who lands on the waitlist, and a host-ward volunteer who consents on the host
        assert (
            await sign_up(clients[waiting.tag], relayed["ward40"], share_first_name=True)
        ).status_code == 201
        assert (
            await sign_up(clients[local_host.tag], call, shift=1, share_contact=True)
        ).status_code == 201
        await deliver_all(*everyone)
        [mine] = await my_signups(clients[declining.tag])
        await clients[declining.tag].post(f"/api/v1/canvass-signups/{mine['id']}/withdraw")
        await deliver_all(*everyone)
        organizer = await host.as_role(Role.organizer)
        await organizer.post(
            f"/api/v1/canvass-calls/{call['id']}/shifts/{call['shifts'][1]['id']}/cancel"
        )
        async with host.session() as session:
            shift = await session.get(CanvassShift, call["shifts"][0]["id"])
            shift.start_date = utcnow() - timedelta(hours=3)
            shift.end_date = utcnow() - timedelta(hours=1)
        report = await organizer.post(
            f"/api/v1/canvass-calls/{call['id']}/reports",
            json={
                "shift_id": call["shifts"][0]["id"],
                "precincts": [{"precinct": "7", "doors_knocked": 40, "conversations": 2}],
            },
        )
        assert report.status_code == 201
        await deliver_all(*everyone)
        # ... and a forum co-hosted by the three allies: accepted, a question, a task done
        forum = await organizer.post(
            "/api/v1/forums", json=forum_body([ward30.url, ward35.url, ward40.url], host.url)
        )
        assert forum.status_code == 201, forum.text
        await deliver_all(*everyone)
        held = await plan_on(ward30, forum.json()["object_id"])
        admin30 = await ward30.as_role(Role.admin)
        assert (await admin30.post(f"/api/v1/forums/{held['id']}/accept")).status_code == 202
        await deliver_all(*everyone)
        childcare = next(t for t in held["tasks"] if t["title"] == "Childcare")
        for path, body in (
            ("/questions", {"text": "Will you fund the CTA?"}),
            (f"/tasks/{childcare['id']}/done", None),
        ):
            answer = await admin30.post(f"/api/v1/forums/{held['id']}{path}", json=body)
            assert answer.status_code == 202, answer.text
        await deliver_all(*everyone)
        assert len((await plan_on(ward35, held["object_id"]))["question_submissions"]) == 1

        # Then the flows did happen (so the scan below is not vacuous)
        assert [s["state"] for s in await my_signups(clients[consenting.tag])] == ["committed"]
        assert [s["state"] for s in await my_signups(clients[waiting.tag])] == ["committed"]
        assert len([host_name for host_name, _ in traffic if host_name == "ward33.test"]) > 5

        # What each volunteer allowed, and to whom: everything else is a leak
        consented = {
            consenting.given_name: "ward33.test",
            consenting.email: "ward33.test",
            consenting.phone: "ward33.test",
            waiting.given_name: "ward33.test",
        }
        problems: list[str] = []

        def check(text: str, *, where: str, destination: str | None) -> None:
            for person, marker in leaks.hits(text):
                if destination and f"{person.node}.test" == destination:
                    continue  # a node's own data, back at its own node
                if destination is not None and consented.get(marker) == destination:
                    continue
                problems.append(f"{marker} of {person.node} in {where}")

        # Every request on the wire, by destination
        for destination, body in traffic:
            check(body, where=f"a request to {destination}", destination=destination)
        # Every activity body either log keeps: all delivered and applied, so none carries
        # anything personal, not even the contact the host was allowed to receive
        for node in everyone:
            for log, body in await activity_bodies(node):
                check(body, where=f"{node.name}'s {log}", destination=None)
        # Every webhook message for the union, on every node: nothing personal at all
        webhook_messages = 0
        for node in everyone:
            for payload in await webhook_payloads(node):
                webhook_messages += 1
                check(payload, where=f"{node.name}'s webhook message", destination=None)
        assert webhook_messages > 10  # events, the canvass call and shift, the forum: not vacuous
        # Every response the allies' users get
        for node in (ward30, ward35, ward40):
            for role in (Role.member, Role.organizer, Role.admin):
                client = await node.as_role(role)
                for path in (
                    "/api/v1/canvass-calls",
                    "/api/v1/events",
                    "/api/v1/canvass-signups",
                    "/api/v1/forums",
                ):
                    answer = await client.get(path)
                    check(
                        answer.text,
                        where=f"{node.name} GET {path}",
                        destination=f"{node.name}.test",
                    )
            local = await replica(node, call["object_id"])
            answer = await (await node.as_role(Role.organizer)).get(
                f"/api/v1/canvass-calls/{local['id']}/reports"
            )
            check(answer.text, where=f"{node.name} reports", destination=f"{node.name}.test")
        assert problems == []

        # And consent is honoured both ways: the host's roster has exactly what was shared
        roster = await organizer.get(
            f"/api/v1/canvass-calls/{call['id']}/shifts/{call['shifts'][0]['id']}/commitments"
        )
        rows = {row["home_node"]: row for row in roster.json()}
        assert (
            rows[ward30.url]["given_name"],
            rows[ward30.url]["email"],
            rows[ward30.url]["phone"],
        ) == (consenting.given_name, consenting.email, consenting.phone)
        assert (
            rows[ward35.url]["given_name"],
            rows[ward35.url]["email"],
            rows[ward35.url]["phone"],
        ) == (None, None, None)
        assert (rows[ward40.url]["given_name"], rows[ward40.url]["email"]) == (
            waiting.given_name,
            None,
        )
        # And the consenting volunteer's contact went to the host, and to no other node
        carried = [dest for dest, body in traffic if consenting.phone in body]
        assert carried
        assert set(carried) == {"ward33.test"}


async def roster_of(host: TestNode, call: dict[str, typing.Any], shift: int = 0) -> list[dict]:
    organizer = await host.as_role(Role.organizer)
    shift_id = call["shifts"][shift]["id"]
    answer = await organizer.get(
        f"/api/v1/canvass-calls/{call['id']}/shifts/{shift_id}/commitments"
    )
    assert answer.status_code == 200, answer.text
    rows: list[dict] = answer.json()
    return rows


async def roster_page(host: TestNode, call: dict[str, typing.Any]) -> str:
    organizer = await page_client(host, role=Role.organizer)
    page = await organizer.get(f"/canvass/{call['id']}")
    assert page.status_code == 200
    return page.text


async def host_with_a_relayed_call(
    nodes: NodeFactory,
) -> tuple[TestNode, TestNode, dict[str, typing.Any], dict[str, typing.Any]]:
    """ward33 posting a call with two shifts, which its ally ward30 relayed to its members."""
    host, ward30 = await coalition(nodes, "ward33", "ward30")
    call = await post_call(host, capacity=3, shifts=2)
    await deliver_all(host, ward30)
    return host, ward30, call, await relay(ward30, call)


CONSENTS = {"share_first_name": True, "share_contact": True}


class TestActivityLogsForgetHerOnceDone:
    async def test_a_delivered_join_keeps_her_contact_in_neither_log(self, nodes):
        host, ward30, call, relayed = await host_with_a_relayed_call(nodes)
        ana = Leaks().person(ward30, "delivered")
        client = await plant(ward30, ana, login=True)
        # When she signs up sharing her first name and contact, and the host applies it
        assert (await sign_up(client, relayed, **CONSENTS)).status_code == 201
        await deliver_all(host, ward30)
        # Then the host's roster has them, as she allowed
        [row] = await roster_of(host, call)
        assert (row["given_name"], row["email"], row["phone"]) == (
            ana.given_name,
            ana.email,
            ana.phone,
        )
        # But neither node's activity log keeps them: only what dedup and audit need
        for node in (host, ward30):
            assert named([ana], await activity_bodies(node)) == []
        [(_, join)] = [(log, body) for log, body in await activity_bodies(host) if '"Join"' in body]
        assert row["handle"] in join
        assert relayed["shifts"][0]["object_id"] in join

    async def test_a_join_that_expired_or_whose_alliance_ended_keeps_no_contact(self, nodes):
        host, ward30, call, relayed = await host_with_a_relayed_call(nodes)
        leaks = Leaks()
        late, dropped = leaks.person(ward30, "expired"), leaks.person(ward30, "dropped")
        # Given a Join that could not go out before its shift started
        assert (
            await sign_up(await plant(ward30, late, login=True), relayed, **CONSENTS)
        ).status_code == 201
        ward30.worker.clock = lambda: utcnow() + timedelta(days=30)
        await deliver_all(ward30)
        ward30.worker.clock = utcnow
        # ... and one still queued when ward30 ended the alliance
        assert (
            await sign_up(await plant(ward30, dropped, login=True), relayed, shift=1, **CONSENTS)
        ).status_code == 201
        admin = await ward30.as_role(Role.admin)
        assert (await admin.post(f"/api/v1/alliances/{host.url}/end")).status_code == 200
        await deliver_all(host, ward30)
        # Then neither reached the host, and ward30's log no longer holds their contacts
        assert await roster_of(host, call) == []
        assert await roster_of(host, call, shift=1) == []
        assert named(leaks.people, await activity_bodies(ward30)) == []
        assert len([b for _, b in await activity_bodies(ward30) if '"Join"' in b]) == 2


class TestWithdrawalForgetsHer:
    async def test_the_host_keeps_nothing_of_her_and_her_node_no_activity_naming_her(self, nodes):
        host, ward30, call, relayed = await host_with_a_relayed_call(nodes)
        ana = Leaks().person(ward30, "withdraws")
        client = await plant(ward30, ana, login=True)
        assert (await sign_up(client, relayed, **CONSENTS)).status_code == 201
        await deliver_all(host, ward30)
        [held] = await roster_of(host, call)
        assert held["email"] == ana.email  # the host had her contact: the scans are not vacuous
        assert ana.given_name in await roster_page(host, call)
        # When she withdraws
        [mine] = await my_signups(client)
        withdrawn = await client.post(f"/api/v1/canvass-signups/{mine['id']}/withdraw")
        assert withdrawn.status_code == 200, withdrawn.text
        await deliver_all(host, ward30)
        # Then no row of any table on the host names her
        assert named([ana], await stored_rows(host)) == []
        # ... its roster no longer lists her (the API keeps her handle, marked withdrawn)
        page = await roster_page(host, call)
        assert ana.given_name not in page
        assert held["handle"] not in page
        [row] = await roster_of(host, call)
        assert (row["state"], row["given_name"], row["email"], row["phone"]) == (
            "withdrawn",
            None,
            None,
            None,
        )
        # And her own node keeps her member record (she only withdrew), but no activity names her
        assert named([ana], await activity_bodies(ward30)) == []


class TestErasureForgetsHerEverywhere:
    async def test_no_row_of_either_node_names_her_and_no_roster_lists_her(self, nodes):
        host, ward30, call, relayed = await host_with_a_relayed_call(nodes)
        leaks = Leaks()
        ana, bea = leaks.person(ward30, "erased"), leaks.person(host, "erasedhost")
        ana_client = await plant(ward30, ana, login=True)
        bea_client = await plant(host, bea, login=True)
        # Given Ana holds a place on the host's first shift, with her name and contact shared,
        assert (await sign_up(ana_client, relayed, **CONSENTS)).status_code == 201
        await deliver_all(host, ward30)
        # ... has signed up for the second, not yet sent to the host,
        assert (await sign_up(ana_client, relayed, shift=1, **CONSENTS)).status_code == 201
        # ... and Bea, a member of the host ward, holds a place there too
        assert (await sign_up(bea_client, call, **CONSENTS)).status_code == 201
        assert {row["email"] for row in await roster_of(host, call)} == {ana.email, bea.email}
        # When both erase their accounts
        receipt = await ana_client.delete("/api/v1/me")
        assert (await bea_client.delete("/api/v1/me")).status_code == 200
        await deliver_all(host, ward30)
        # Then no row of any table, activity logs included, on either node names either of them
        for node in (host, ward30):
            assert named(leaks.people, await stored_rows(node)) == []
        # ... Ana's receipt names each sign-up withdrawn, and the host as told
        assert receipt.status_code == 200, receipt.text
        assert [
            (w["shift_object_id"], w["host"], w["host_told"])
            for w in receipt.json()["canvass_signups_withdrawn"]
        ] == [(shift["object_id"], host.url, True) for shift in relayed["shifts"]]
        # ... and the host's roster lists nobody: every place is free again
        page = await roster_page(host, call)
        for shift in (0, 1):
            rows = await roster_of(host, call, shift=shift)
            assert {row["state"] for row in rows} <= {"withdrawn"}
            assert not any(row["handle"] in page for row in rows)
        assert [s["committed"] for s in (await replica(ward30, call["object_id"]))["shifts"]] == [
            0,
            0,
        ]

    async def test_a_host_that_is_no_longer_an_ally_is_not_written_to(self, nodes):
        host, ward30, _, relayed = await host_with_a_relayed_call(nodes)
        ana = Leaks().person(ward30, "formerally")
        client = await plant(ward30, ana, login=True)
        assert (await sign_up(client, relayed, **CONSENTS)).status_code == 201
        await deliver_all(host, ward30)
        admin = await ward30.as_role(Role.admin)
        assert (await admin.post(f"/api/v1/alliances/{host.url}/end")).status_code == 200
        await deliver_all(host, ward30)
        # When she erases her account after her node ended the alliance with the host
        receipt = await client.delete("/api/v1/me")
        # Then the receipt says the host was not told, nothing is queued for it, and her node
        # keeps nothing of her
        assert receipt.status_code == 200, receipt.text
        assert [
            (w["host"], w["host_told"]) for w in receipt.json()["canvass_signups_withdrawn"]
        ] == [(host.url, False)]
        assert await deliver_all(host, ward30) == 0
        assert named([ana], await stored_rows(ward30)) == []


class TestRsvpsStayHome:
    """An RSVP is personal data like a member record: it stays on the host node. Allies hold
    the event, partners and webhooks hear of it, and none of them gets a name, an email or a
    phone of anyone who RSVPed, not even of one who agreed to share with co-hosts."""

    async def test_no_rsvp_reaches_an_ally_a_partner_a_webhook_or_a_log_line(
        self, nodes: NodeFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(
            logging.INFO
        )  # what a node logs at (`log_level`); DEBUG is the drivers' own
        traffic = record_traffic(nodes)
        host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
        leaks = Leaks()
        for node in (host, ward30, ward35):
            await subscribe_to_everything(node)
        organizer = await host.as_role(Role.organizer)
        # Given a public event, shared with the ally, and a forum co-hosted with it
        start = utcnow() + timedelta(days=9)
        created = await organizer.post(
            "/api/v1/events",
            json={
                "title": "Block party",
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(hours=2)).isoformat(),
                "event_type": "SOCIAL",
                "visibility": "public",
                "capacity": 2,
            },
        )
        assert created.status_code == 201, created.text
        event = created.json()
        forum = await organizer.post(
            "/api/v1/forums",
            json=forum_body([ward30.url, ward35.url], host.url, visibility="public"),
        )
        assert forum.status_code == 201, forum.text
        await deliver_all(host, ward30, ward35)
        # When neighbours RSVP without accounts: one sharing with co-hosts, one on the
        # waitlist, one who changes her details, one who cancels, and a walk-in
        people = [leaks.person(host, kind) for kind in ("shares", "keeps", "waits", "walks")]
        sharer, keeper, waiter, walker = people
        neighbour = anonymous(host)
        links = {}
        for person, target in ((sharer, event), (keeper, event), (waiter, event)):
            answer = await neighbour.post(
                f"/events/{target['id']}/rsvp",
                data={
                    "name": f"{person.given_name} {person.family_name}",
                    "email": person.email,
                    "phone": person.phone,
                    "texts_ok": "true",
                    "share_with_co_hosts": "true" if person is sharer else "",
                },
            )
            assert answer.status_code == 303, answer.text
            links[person.tag] = answer.headers["location"]
        forum_rsvp = await neighbour.post(
            f"/events/{forum.json()['event_id']}/rsvp",
            data={
                "name": sharer.given_name,
                "email": sharer.email,
                "phone": sharer.phone,
                "share_with_co_hosts": "true",
            },
        )
        assert forum_rsvp.status_code == 303
        await neighbour.post(links[sharer.tag], data={"name": sharer.given_name})
        await neighbour.post(links[keeper.tag] + "/cancel")  # the waiter takes her place
        door = await page_client(host, role=Role.organizer)
        walked = await door.post(
            f"/events/{event['id']}/attendees/walk-in",
            {"name": walker.given_name, "email": walker.email, "phone": walker.phone},
        )
        assert walked.status_code == 303
        # ... and the event moves, then is cancelled: allies, partners and webhooks hear of it
        later = start + timedelta(days=1)
        moved = await organizer.patch(
            f"/api/v1/events/{event['id']}",
            json={
                "start_date": later.isoformat(),
                "end_date": (later + timedelta(hours=2)).isoformat(),
            },
        )
        assert moved.status_code == 200
        assert (await organizer.post(f"/api/v1/events/{event['id']}/cancel")).status_code == 200
        await deliver_all(host, ward30, ward35)
        await host.app.state.mail.run_once()

        # Then the flows did happen: the host's organizers see everyone, the mail went out
        attendees = await door.get(f"/events/{event['id']}/attendees")
        for person in (sharer, waiter, walker):  # the keeper cancelled
            assert person.given_name in attendees.text
        async with host.session() as session:
            sent = (await session.execute(select(MailMessage))).scalars().all()
        assert {row.kind for row in sent} >= {"rsvp_confirmed", "rsvp_promoted", "event_changed"}
        assert len([1 for destination, _ in traffic if destination == "ward30.test"]) >= 3

        # But nothing of any of them left the host
        problems = named(people, [("a request to " + d, body) for d, body in traffic])
        for node in (host, ward30, ward35):
            problems += named(people, await activity_bodies(node))
            problems += named(people, [("a webhook", p) for p in await webhook_payloads(node)])
        for ally in (ward30, ward35):
            problems += named(people, await stored_rows(ally))
        partner = await partner_client(host, ALL_SCOPES)
        for path in (
            "/api/v1/partner/events",
            f"/api/v1/partner/events/{event['id']}",
            "/api/v1/partner/forums",
        ):
            answer = await partner.get(path)
            assert answer.status_code == 200, answer.text
            problems += named(people, [(f"partner GET {path}", answer.text)])
        for node in (host, ward30, ward35):
            for role in (Role.member, Role.organizer, Role.admin):
                client = await node.as_role(role)
                for path in ("/api/v1/events", "/api/v1/forums"):
                    answer = await client.get(path)
                    problems += named(people, [(f"{node.name} GET {path}", answer.text)])
        # ... and no log line of the node names them (nor holds a private link's secret);
        # httpx's lines are the test clients' own, the neighbour's browser as it were
        lines = [
            record.getMessage() + " " + str(record.__dict__)
            for record in caplog.records
            if record.name != "httpx"
        ]
        assert any("/rsvp/[redacted]" in line for line in lines)  # request lines are there
        problems += named(people, [("a log line", line) for line in lines])
        secrets_in_logs = [
            line for line in lines for link in links.values() if link.split("/")[-1] in line
        ]
        assert problems == []
        assert secrets_in_logs == []
        # ... and the public page shows counts, never names
        public = await anonymous(host).get(f"/events/{event['id']}")
        assert named(people, [("the public page", public.text)]) == []
