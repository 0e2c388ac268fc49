"""Privacy, proven: planted personal data never leaves its node, except a consenting
volunteer's contact, which reaches the host of her shift and nobody else.

Every node gets members and volunteers whose names, phones, emails and addresses carry unique
markers. The coalition then runs its flows (shared events, a forum co-hosted by three wards,
a canvass call relayed by three wards, sign-ups with consent on and off, a waitlist, a
withdrawal, a cancellation, a report), and the test scans:

- every ``outbox_activity.body`` on every node,
- every request body that crosses the in-process network, with its destination,
- every response the allies' users get from their own nodes' canvass, forum and event APIs,
- every webhook message queued for a partner subscribed to every event type on every node.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlmodel import select

from federation.models import OutboxActivity
from federation.storage import utcnow
from node.accounts.models import Role
from node.canvass.models import CanvassShift
from node.members.models import Member
from node.webhooks.models import WebhookDelivery, WebhookEventType
from tests.canvass.helpers import coalition, my_signups, post_call, relay, replica, sign_up
from tests.forums.test_lifecycle import forum_body, plan_on
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.partners.helpers import ALL_SCOPES, partner_client

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

    def markers(self) -> list[str]:
        return [self.given_name, self.family_name, self.email, self.phone, self.address]


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


async def outbox_bodies(node: TestNode) -> list[str]:
    """The body of each activity ``node`` ever queued for its allies."""
    async with node.session() as session:
        rows = (await session.execute(select(OutboxActivity))).scalars().all()
    return [row.body for row in rows]


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
        # Every outbox body: an activity from ward30 to the host may carry the consented
        # contact; nothing else may carry anything
        for node in everyone:
            for body in await outbox_bodies(node):
                to_host_only = '"to":["http://ward33.test"]' in body
                check(
                    body,
                    where=f"{node.name}'s outbox",
                    destination="ward33.test" if to_host_only else None,
                )
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
