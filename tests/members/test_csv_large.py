"""Large CSV imports: they do not hold up the node, they state and keep their limits, and the
web page shows an import's progress and then its report."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import sqlalchemy as sa

from federation.storage import UTCDateTime, utcnow
from node.accounts.models import Role
from node.audit.models import AuditEntry
from tests.members.test_csv import IMPORT, all_members, csv_text, member_count, post_csv
from tests.nodes import TestNode
from tests.web.test_members import cookie_client

LARGE = 20_000
# The import jobs' table, by name: what a page shows is checked through the page.
MEMBER_IMPORT = sa.table(
    "member_import", sa.column("status"), sa.column("updated_at", UTCDateTime())
)
DEADLINE_SECONDS = 300  # a generous bound for a loaded machine; never an assertion on speed


def people(count: int, *, start: int = 0, ward: int = 33) -> list[list[str]]:
    return [
        [
            f"Person{n}",
            f"Family{n}",
            f"person{n}@example.org",
            f"773-555-{n % 10000:04d}",
            str(ward),
        ]
        for n in range(start, start + count)
    ]


def people_csv(count: int, *, start: int = 0, ward: int = 33) -> str:
    header = ["given_name", "family_name", "email", "phone", "ward"]
    return csv_text(header, people(count, start=start, ward=ward))


async def until(check: Callable[[], Awaitable[bool]], *, what: str) -> None:
    """Poll ``check`` until it holds; fail with ``what`` after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.02)


async def audit_count(node: TestNode) -> int:
    async with node.session() as session:
        query = sa.select(sa.func.count()).where(AuditEntry.action == "member.import")
        return int((await session.execute(query)).scalar_one())


async def import_job_count(node: TestNode) -> int:
    async with node.session() as session:
        query = sa.select(sa.func.count()).select_from(MEMBER_IMPORT)
        return int((await session.execute(query)).scalar_one())


async def upload_page(client: httpx.AsyncClient, csrf: str, text: str) -> httpx.Response:
    return await client.post(
        "/members/import",
        data={"csrf_token": csrf},
        files={"file": ("members.csv", text.encode(), "text/csv")},
    )


class TestLargeImportThroughTheApi:
    async def test_20k_rows_are_created_and_updated_while_the_node_keeps_answering(
        self, node: TestNode, organizer: httpx.AsyncClient
    ) -> None:
        # Given 1,000 members already on the node, in ward 32
        seeded = await post_csv(organizer, people_csv(1_000, ward=32))
        assert seeded.status_code == 200, seeded.text
        # When a file of 20,000 rows arrives, the first 1,000 of them those members, now in
        # ward 33 (streamed, so the test knows when the node has the whole file)
        body_sent = asyncio.Event()

        async def body():  # type: ignore[no-untyped-def]
            yield people_csv(LARGE).encode()
            body_sent.set()

        importing = asyncio.create_task(
            organizer.post(IMPORT, content=body(), headers={"Content-Type": "text/csv"})
        )

        async def uploaded() -> bool:
            return body_sent.is_set()

        await until(uploaded, what="the upload")
        # Then /healthz, and a read that needs the database, both answer before the import
        health = await node.client.get("/healthz")
        listed = await organizer.get("/api/v1/members", params={"limit": 1})
        assert health.status_code == 200
        assert listed.status_code == 200
        assert not importing.done(), "the import finished before the node answered"
        response = await importing
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["rows"], result["created"], result["updated"]) == (LARGE, 19_000, 1_000)
        members = await all_members(node)
        assert len(members) == LARGE
        assert {m.ward for m in members} == {33}
        by_email = {m.email: m for m in members}
        assert by_email["person19999@example.org"].given_name == "Person19999"
        assert by_email["person0@example.org"].phone == "+17735550000"  # E.164

    async def test_a_matched_member_nothing_changes_for_keeps_her_updated_at(
        self, node: TestNode, organizer: httpx.AsyncClient
    ) -> None:
        assert (await post_csv(organizer, people_csv(2, ward=32))).status_code == 200
        before = {m.email: m.updated_at for m in await all_members(node)}
        changed_one = people(2, ward=32)
        changed_one[1][4] = "33"
        response = await post_csv(
            organizer, csv_text(["first_name", "last_name", "email", "phone", "ward"], changed_one)
        )
        assert response.json()["updated"] == 2
        after = {m.email: m for m in await all_members(node)}
        assert after["person0@example.org"].updated_at == before["person0@example.org"]
        assert after["person1@example.org"].updated_at > before["person1@example.org"]
        assert after["person1@example.org"].ward == 33


class PausedBody:
    """A request body sent in two parts, waiting between them until ``resume`` is set: an
    upload over a slow connection."""

    def __init__(self, first: bytes, second: bytes) -> None:
        self.parts = (first, second)
        self.paused = asyncio.Event()
        self.resume = asyncio.Event()

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield self.parts[0]
        self.paused.set()
        await self.resume.wait()
        yield self.parts[1]

    async def arrived_halfway(self) -> bool:
        return self.paused.is_set()


class TestSlowUploads:
    async def test_the_database_answers_while_an_api_upload_is_arriving(
        self, node: TestNode, organizer: httpx.AsyncClient
    ) -> None:
        body = PausedBody(b"given_name,email\n", b"Ana,ana@example.org\n")
        importing = asyncio.create_task(
            organizer.post(IMPORT, content=body, headers={"Content-Type": "text/csv"})
        )
        await until(body.arrived_halfway, what="half of the upload")
        # Then a read that needs the database answers while the file is still arriving
        listed = await organizer.get("/api/v1/members")
        assert listed.status_code == 200, listed.text
        body.resume.set()
        assert (await importing).status_code == 200
        assert await member_count(node) == 1

    async def test_the_database_answers_while_a_web_upload_is_arriving(
        self, node: TestNode, organizer: httpx.AsyncClient
    ) -> None:
        client, csrf = await cookie_client(node, Role.organizer)
        boundary = "ipo-test-boundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{csrf}\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="members.csv"\r\n'
            "Content-Type: text/csv\r\n\r\ngiven_name,email\r\n"
        )
        tail = f"Ana,ana@example.org\r\n\r\n--{boundary}--\r\n"
        body = PausedBody(head.encode(), tail.encode())
        uploading = asyncio.create_task(
            client.post(
                "/members/import",
                content=body,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
        )
        await until(body.arrived_halfway, what="half of the upload")
        listed = await organizer.get("/api/v1/members")
        assert listed.status_code == 200, listed.text
        body.resume.set()
        assert (await uploading).status_code == 303


class TestLimits:
    async def test_a_file_over_the_row_limit_is_413_naming_the_limit_and_changes_nothing(
        self, nodes
    ) -> None:
        node = await nodes.start("ward33", max_import_rows=10)
        organizer = await node.as_role(Role.organizer)
        response = await post_csv(organizer, people_csv(11))
        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == "import_too_large"
        assert "11 rows" in error["message"]
        assert "at most 10 rows" in error["message"]
        assert "max_import_rows" in error["message"]
        assert await member_count(node) == 0
        assert await audit_count(node) == 0
        # A file at the limit is imported
        assert (await post_csv(organizer, people_csv(10))).status_code == 200

    async def test_a_file_over_the_byte_limit_is_413_naming_the_limit_and_changes_nothing(
        self, nodes
    ) -> None:
        node = await nodes.start("ward33", max_import_bytes=2048)
        organizer = await node.as_role(Role.organizer)
        text = people_csv(60)
        assert len(text) > 2048
        response = await post_csv(organizer, text)
        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == "import_too_large"
        assert "up to 2 KiB" in error["message"]
        assert "max_import_bytes" in error["message"]
        assert await member_count(node) == 0

    async def test_a_body_far_over_the_byte_limit_is_cut_off_with_the_same_answer(
        self, nodes
    ) -> None:
        node = await nodes.start("ward33", max_import_bytes=2048)
        organizer = await node.as_role(Role.organizer)
        response = await post_csv(organizer, people_csv(2_000))  # about 110 KB
        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == "import_too_large"
        assert "This file is too large; this node imports files of up to 2 KiB" in error["message"]
        assert "max_import_bytes" in error["message"]
        assert await member_count(node) == 0

    async def test_the_web_page_refuses_a_file_over_the_byte_limit_with_a_page(self, nodes) -> None:
        node = await nodes.start("ward33", max_import_bytes=2048)
        client, csrf = await cookie_client(node, Role.organizer)
        client.headers["Accept"] = "text/html"
        for text in (people_csv(60), people_csv(2_000)):  # just over; far over
            response = await upload_page(client, csrf, text)
            assert response.status_code == 413
            assert response.headers["content-type"].startswith("text/html")
            assert "2 KiB" in response.text
            assert "max_import_bytes" in response.text
        assert await import_job_count(node) == 0
        assert await member_count(node) == 0

    async def test_a_file_within_the_byte_limit_is_taken_as_a_multipart_upload(self, nodes) -> None:
        # The form around the file is not counted against the file's limit.
        node = await nodes.start("ward33", max_import_bytes=2048)
        organizer = await node.as_role(Role.organizer)
        text = people_csv(36)
        assert 1900 < len(text) <= 2048
        response = await organizer.post(
            IMPORT, files={"file": ("people.csv", text.encode(), "text/csv")}
        )
        assert response.status_code == 200, response.text
        assert await member_count(node) == 36

    async def test_the_limits_are_stated_on_the_import_page(self, nodes) -> None:
        node = await nodes.start("ward33", max_import_rows=25_000)
        client, _ = await cookie_client(node, Role.organizer)
        page = await client.get("/members/import")
        assert "Up to 25,000 rows and 10 MiB per file." in page.text

    async def test_the_web_page_refuses_a_file_over_the_row_limit_and_starts_nothing(
        self, nodes
    ) -> None:
        node = await nodes.start("ward33", max_import_rows=10)
        client, csrf = await cookie_client(node, Role.organizer)
        response = await upload_page(client, csrf, people_csv(11))
        assert response.status_code == 413
        assert "this node imports at most 10 rows" in response.text
        assert await import_job_count(node) == 0
        assert await member_count(node) == 0


class TestManyBadRows:
    async def test_the_first_thousand_problems_are_listed_and_the_count_is_told(
        self, node: TestNode, organizer: httpx.AsyncClient
    ) -> None:
        rows = people(1_200)
        for row in rows:
            row[4] = "51"
        response = await post_csv(
            organizer, csv_text(["given_name", "family_name", "email", "phone", "ward"], rows)
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["message"].startswith("1,200 rows of the file cannot be imported")
        assert "The first 1,000 problems are listed." in error["message"]
        assert len(error["details"]) == 1_000
        assert error["details"][0]["loc"] == ["row", 2, "ward"]
        assert await member_count(node) == 0


class TestImportPage:
    async def test_a_large_upload_shows_its_progress_while_the_node_keeps_answering(
        self, node: TestNode
    ) -> None:
        client, csrf = await cookie_client(node, Role.organizer)
        # When an organizer uploads 20,000 rows
        response = await upload_page(client, csrf, people_csv(LARGE))
        # Then she is sent to the import's own page
        assert response.status_code == 303, response.text
        job_page = response.headers["location"]
        assert re.fullmatch(r"/members/import/\d+", job_page)
        # which shows how far the check has come, and reloads itself
        seen: list[str] = []

        async def checking() -> bool:
            page = await client.get(job_page)
            seen.append(page.text)
            return re.search(r"Checked [\d,]+ of 20,000 rows", page.text) is not None

        await until(checking, what="the page to show progress")
        assert '<meta http-equiv="refresh"' in seen[-1]
        assert "<progress" in seen[-1]
        # and while the import runs, /healthz answers
        health = await node.client.get("/healthz")
        assert health.status_code == 200
        still = await client.get(job_page)
        assert "Checked" in still.text or "Saving" in still.text, "it finished before /healthz"

        # Then the page shows the report, and stops reloading
        async def finished() -> bool:
            return "Imported 20,000 rows" in (await client.get(job_page)).text

        await until(finished, what="the import to finish")
        done = await client.get(job_page)
        assert "Imported 20,000 rows: 20,000 added, 0 updated." in done.text
        assert 'http-equiv="refresh"' not in done.text
        assert await member_count(node) == LARGE
        assert await audit_count(node) == 1

    async def test_wrong_rows_are_listed_with_their_reasons_and_nothing_is_imported(
        self, node: TestNode
    ) -> None:
        client, csrf = await cookie_client(node, Role.organizer)
        rows = people(5)
        rows[1][2] = "not-an-email"  # row 3
        rows[3][4] = "99"  # row 5
        text = csv_text(["given_name", "family_name", "email", "phone", "ward"], rows)
        job_page = (await upload_page(client, csrf, text)).headers["location"]

        async def ended() -> bool:
            return "Nothing was imported" in (await client.get(job_page)).text

        await until(ended, what="the report")
        report = (await client.get(job_page)).text
        assert "2 rows of the file cannot be imported" in report
        assert re.search(
            r"<td data-label=\"Row\">3</td>\s*<td data-label=\"Column\">email</td>", report
        )
        assert re.search(
            r"<td data-label=\"Row\">5</td>\s*<td data-label=\"Column\">ward</td>", report
        )
        assert "Upload the fixed file" in report
        assert await member_count(node) == 0

    async def test_an_import_whose_process_stopped_says_so(self, node: TestNode) -> None:
        client, csrf = await cookie_client(node, Role.organizer)
        job_page = (await upload_page(client, csrf, people_csv(3))).headers["location"]

        async def finished() -> bool:
            return "Imported 3 rows" in (await client.get(job_page)).text

        await until(finished, what="the import to finish")
        # Given an import that a restart interrupted: running, not heard from in 11 minutes
        async with node.session() as session:
            await session.execute(
                sa.update(MEMBER_IMPORT).values(
                    status="checking", updated_at=utcnow() - timedelta(minutes=11)
                )
            )
        page = await client.get(job_page)
        assert "stopped before it finished, and nothing was imported" in page.text
        assert 'http-equiv="refresh"' not in page.text

    async def test_an_unknown_import_is_a_404_page(self, node: TestNode) -> None:
        client, _ = await cookie_client(node, Role.organizer)
        response = await client.get("/members/import/12345")
        assert response.status_code == 404
        assert "No import 12345" in response.text

    async def test_a_member_cannot_see_an_import(self, node: TestNode) -> None:
        organizer, csrf = await cookie_client(node, Role.organizer)
        job_page = (await upload_page(organizer, csrf, people_csv(3))).headers["location"]
        member, _ = await cookie_client(node, Role.member)
        assert (await member.get(job_page)).status_code == 403
