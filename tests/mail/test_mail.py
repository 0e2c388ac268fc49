"""Email: queued with the change, sent by the worker's round, never lost.

With no SMTP server set, a message is written to the mail folder and shown to admins on
``/mail``; with one set, a real SMTP server on loopback (aiosmtpd) receives it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from federation.storage import utcnow
from node.accounts.models import Role
from node.mail.dispatcher import MailDispatcher
from node.mail.models import MailMessage
from node.mail.service import Attachment, queue_mail
from tests.nodes import NodeFactory, TestNode
from tests.smtp import smtp_server
from tests.web.page_client import page_client

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


async def queue(node: TestNode, *, to: str = "ana@example.org", subject: str = "You're in") -> int:
    async with node.session() as session:
        row = await queue_mail(
            session,
            node.settings,
            kind="test",
            to=to,
            subject=subject,
            text="See you Tuesday.\nChange your RSVP: https://x.test/r/secret",
            attachments=[Attachment("event.ics", "text/calendar; method=PUBLISH", ICS)],
        )
        assert row.id is not None
        return row.id


async def stored(node: TestNode, message_id: int) -> MailMessage:
    async with node.session() as session:
        row = await session.get(MailMessage, message_id)
        assert row is not None
        return row


def dispatcher(node: TestNode) -> MailDispatcher:
    mail: MailDispatcher = node.app.state.mail
    return mail


class TestWithoutAServer:
    async def test_a_message_is_written_to_the_mail_folder_and_shown_to_admins(
        self, node: TestNode
    ) -> None:
        message_id = await queue(node)

        assert await dispatcher(node).run_once() == 1

        row = await stored(node, message_id)
        assert row.state == "sent"
        assert row.folder_file
        saved = (node.settings.mail_folder / row.folder_file).read_text()
        assert "Subject: You're in" in saved
        assert "To: ana@example.org" in saved
        admin = await page_client(node, role=Role.admin)
        listing = await admin.get("/mail")
        assert listing.status_code == 200
        assert "No mail server is set" in listing.text
        assert f'href="/mail/{message_id}"' in listing.text
        assert "written to the folder" in listing.text
        page = await admin.get(f"/mail/{message_id}")
        assert "See you Tuesday." in page.text
        assert "event.ics" in page.text
        attachment = await admin.get(f"/mail/{message_id}/attachments/0")
        assert attachment.status_code == 200
        assert attachment.headers["content-type"].startswith("text/calendar")
        assert attachment.content == ICS

    async def test_the_mail_pages_are_for_admins_only(self, node: TestNode) -> None:
        message_id = await queue(node)
        organizer = await page_client(node, role=Role.organizer)

        assert (await organizer.get("/mail")).status_code == 403
        assert (await organizer.get(f"/mail/{message_id}")).status_code == 403
        anonymous = node.client_with()
        assert (await anonymous.get("/mail")).status_code == 303

    async def test_an_unknown_message_is_a_404_page(self, node: TestNode) -> None:
        admin = await page_client(node, role=Role.admin)
        missing = await admin.get("/mail/999")
        assert missing.status_code == 404
        assert "no such message" in missing.text


class TestThroughSmtp:
    async def test_the_server_receives_the_message_with_its_attachment(
        self, nodes: NodeFactory
    ) -> None:
        with smtp_server() as mailbox:
            node = await nodes.start("ward33", **mailbox.settings(), display_name="33rd Ward")
            message_id = await queue(node)

            await dispatcher(node).run_once()

            [received] = mailbox.messages
        assert received["Subject"] == "You're in"
        assert received["To"] == "ana@example.org"
        assert received["From"] == "33rd Ward <no-reply@ward33.test>"
        body = received.get_body(preferencelist=("plain",))
        assert body is not None
        assert "See you Tuesday." in body.get_content()
        [ics] = list(received.iter_attachments())
        assert ics.get_content_type() == "text/calendar"
        assert ics.get_param("method") == "PUBLISH"
        assert ics.get_content().encode() == ICS
        row = await stored(node, message_id)
        assert row.state == "sent"
        assert row.raw is None  # its private link is not kept once sent

    async def test_a_message_waits_while_the_server_is_down_and_goes_out_later(
        self, nodes: NodeFactory
    ) -> None:
        with smtp_server() as mailbox:
            port = mailbox.port
        node = await nodes.start(
            "ward33", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
        )
        message_id = await queue(node)

        await dispatcher(node).run_once()

        waiting = await stored(node, message_id)
        assert waiting.state == "queued"
        assert waiting.last_error == "Could not reach the mail server."
        assert waiting.next_attempt_at is not None
        assert await dispatcher(node).run_once() == 0  # backing off, not hammering
        with smtp_server(port) as mailbox:
            later = waiting.next_attempt_at + timedelta(seconds=1)
            dispatcher(node).clock = lambda: later
            await dispatcher(node).run_once()
            [received] = mailbox.messages
        assert received["Subject"] == "You're in"
        assert (await stored(node, message_id)).state == "sent"

    async def test_an_address_the_server_refuses_is_given_up_and_said_so(
        self, nodes: NodeFactory
    ) -> None:
        with smtp_server() as mailbox:
            mailbox.refuse.add("nobody@example.org")
            node = await nodes.start("ward33", **mailbox.settings())
            refused = await queue(node, to="nobody@example.org")
            fine = await queue(node, to="ana@example.org", subject="Second")

            await dispatcher(node).run_once()

            [received] = mailbox.messages
        assert received["Subject"] == "Second"
        row = await stored(node, refused)
        assert row.state == "failed"
        assert row.last_error == "The mail server refused the address."
        assert (await stored(node, fine)).state == "sent"
        admin = await page_client(node, role=Role.admin)
        listing = await admin.get("/mail")
        assert "not sent" in listing.text
        assert "The mail server refused the address." in listing.text
        assert "Messages go out through the mail server" in listing.text


class TestExpiry:
    async def test_a_message_unsent_for_a_week_is_given_up(self, nodes: NodeFactory) -> None:
        with smtp_server() as mailbox:
            port = mailbox.port
        node = await nodes.start(
            "ward33", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
        )
        message_id = await queue(node)
        dispatcher(node).clock = lambda: utcnow() + timedelta(days=8)

        await dispatcher(node).run_once()

        row = await stored(node, message_id)
        assert row.state == "failed"
        assert "7 days" in (row.last_error or "")
        async with node.session() as session:
            queued = (await session.execute(select(MailMessage))).scalars().all()
        assert len(queued) == 1
