"""Importing and exporting members as CSV: all rows or none, with a report a person can act on."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from node.accounts.models import Role
from node.members.models import Member

IMPORT = "/api/v1/members/import"

ACTION_NETWORK_EXPORT = (
    "uuid,first_name,last_name,email,zip_code,can2_phone,can2_user_tags,"
    "can2_subscription_status,Address,city,state,can2_sms_status,language\r\n"
    'a1b2,Ana,Diaz,Ana.Diaz@Example.org,60614,(773) 555-0100,"volunteer, host",subscribed,'
    '"2145 N Halsted St, Apt 2",Chicago,IL,subscribed,es\r\n'
    "c3d4,Bo,Chen,bo@example.org,60657,,donor,unsubscribed,,Chicago,IL,,\r\n"
    '"e5f6","José","Núñez","jose@example.org","60618-1234","773.555.0111","","subscribed",'
    '"","Chicago","IL","",""\r\n'
)


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


async def post_csv(client, text: str | bytes, **params):
    data = text.encode() if isinstance(text, str) else text
    return await client.post(
        IMPORT, content=data, headers={"Content-Type": "text/csv"}, params=params
    )


async def all_members(node) -> list[Member]:
    async with node.session() as session:
        return list((await session.execute(select(Member).order_by(Member.id))).scalars())


async def member_count(node) -> int:
    async with node.session() as session:
        return int((await session.execute(select(func.count()).select_from(Member))).scalar_one())


class TestActionNetworkExport:
    async def test_imports_mapped_columns_and_reports_the_others(self, node, organizer):
        response = await post_csv(organizer, ACTION_NETWORK_EXPORT)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["created"] == 3
        assert result["updated"] == 0
        assert result["dry_run"] is False
        assert result["ignored_columns"] == [
            "uuid",
            "can2_user_tags",
            "can2_subscription_status",
            "can2_sms_status",
            "language",
        ]
        assert result["ignored_column_count"] == 5

        ana, bo, jose = await all_members(node)
        assert (ana.given_name, ana.family_name, ana.email) == (
            "Ana",
            "Diaz",
            "ana.diaz@example.org",
        )
        assert (ana.postal_code, ana.phone) == ("60614", "+17735550100")
        assert (ana.street_address, ana.city, ana.state) == (
            "2145 N Halsted St, Apt 2",
            "Chicago",
            "IL",
        )
        assert ana.tags == []  # can2_user_tags is not ours to interpret
        assert bo.phone == ""
        assert (jose.given_name, jose.family_name, jose.postal_code) == (
            "José",
            "Núñez",
            "60618-1234",
        )

    async def test_as_a_multipart_upload(self, node, organizer):
        response = await organizer.post(
            IMPORT, files={"file": ("people.csv", ACTION_NETWORK_EXPORT.encode(), "text/csv")}
        )
        assert response.status_code == 200, response.text
        assert response.json()["created"] == 3
        assert await member_count(node) == 3


class TestAllOrNothing:
    async def test_three_bad_rows_among_ten_are_listed_and_nothing_is_imported(
        self, node, organizer
    ):
        rows = [[f"Person{i}", f"p{i}@example.org", "33", ""] for i in range(10)]
        rows[2][1] = "not-an-email"  # file row 4
        rows[5][2] = "51"  # file row 7
        rows[8][3] = "call me"  # file row 10
        text = csv_text(["first_name", "email", "ward", "can2_phone"], rows)

        response = await post_csv(organizer, text)

        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "import_rejected"
        assert "nothing was imported" in error["message"]
        where = [(d["loc"][1], d["loc"][2]) for d in error["details"]]
        assert where == [(4, "email"), (7, "ward"), (10, "can2_phone")]
        assert all(d["msg"] for d in error["details"])
        assert "1 to 50" in error["details"][1]["msg"]
        assert await member_count(node) == 0

    async def test_duplicate_email_in_the_file_is_a_row_error(self, node, organizer):
        text = csv_text(
            ["given_name", "email"],
            [["Ana", "ana@example.org"], ["Bo", "bo@example.org"], ["Ana2", "ANA@example.org"]],
        )
        response = await post_csv(organizer, text)
        assert response.status_code == 422
        (detail,) = response.json()["error"]["details"]
        assert detail["loc"] == ["row", 4, "email"]
        assert "row 2" in detail["msg"]
        assert await member_count(node) == 0

    async def test_row_without_name_or_email_is_a_row_error(self, node, organizer):
        text = csv_text(["first_name", "email", "zip_code"], [["Ana", "", ""], ["", "", "60614"]])
        response = await post_csv(organizer, text)
        assert response.status_code == 422
        (detail,) = response.json()["error"]["details"]
        assert detail["loc"][1] == 3
        assert await member_count(node) == 0

    async def test_too_many_cells_is_a_row_error(self, node, organizer):
        response = await post_csv(organizer, "first_name,email\nAna,a@example.org,extra\n")
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["loc"][1] == 2
        assert await member_count(node) == 0


class TestDryRun:
    async def test_reports_counts_and_writes_nothing(self, node, organizer):
        await organizer.post(
            "/api/v1/members", json={"given_name": "Bo", "email": "bo@example.org"}
        )
        response = await post_csv(organizer, ACTION_NETWORK_EXPORT, dry_run="true")
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["dry_run"], result["created"], result["updated"]) == (True, 2, 1)
        assert await member_count(node) == 1
        (bo,) = await all_members(node)
        assert bo.family_name == ""

    async def test_still_reports_bad_rows(self, node, organizer):
        response = await post_csv(organizer, "first_name,email\nAna,nope\n", dry_run="true")
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["loc"] == ["row", 2, "email"]


class TestUpdateByEmail:
    async def test_fills_in_non_empty_cells_and_keeps_the_rest(self, node, organizer):
        created = await organizer.post(
            "/api/v1/members",
            json={
                "given_name": "Ana",
                "family_name": "Diaz",
                "email": "ana@example.org",
                "phone": "773 555 0100",
                "ward": 33,
                "tags": ["host"],
            },
        )
        assert created.status_code == 201
        text = csv_text(
            ["email", "first_name", "last_name", "can2_phone", "ward"],
            [["ANA@example.org", "Ana María", "", "", "32"]],
        )
        response = await post_csv(organizer, text)
        assert response.status_code == 200, response.text
        assert (response.json()["created"], response.json()["updated"]) == (0, 1)
        (ana,) = await all_members(node)
        assert ana.given_name == "Ana María"
        assert ana.family_name == "Diaz"
        assert ana.phone == "+17735550100"
        assert ana.ward == 32
        assert ana.tags == ["host"]


class TestFileShape:
    async def test_bom_crlf_quotes_and_empty_lines(self, node, organizer):
        text = (
            "\ufefffirst_name,last_name,email,notes\r\n"
            "\r\n"
            'Ana,Diaz,ana@example.org,"Likes ""door"" knocking, mornings"\r\n'
            ",,,\r\n"
            'Bo,Chen,bo@example.org,"two\r\nlines"\r\n'
        )
        response = await post_csv(organizer, text)
        assert response.status_code == 200, response.text
        assert response.json()["rows"] == 2
        assert response.json()["ignored_columns"] == []
        ana, bo = await all_members(node)
        assert ana.given_name == "Ana"  # not "\ufeffAna": the BOM is not part of the header
        assert ana.notes == 'Likes "door" knocking, mornings'
        assert bo.notes == "two\r\nlines"

    async def test_row_numbers_count_empty_lines(self, organizer):
        response = await post_csv(organizer, "first_name,email\n\nAna,bad\n")
        assert response.json()["error"]["details"][0]["loc"] == ["row", 3, "email"]

    async def test_not_utf8_is_a_clear_422(self, node, organizer):
        latin1 = "first_name,email\nJosé,jose@example.org\n".encode("latin-1")
        response = await post_csv(organizer, latin1)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "csv_invalid"
        assert "UTF-8" in error["message"]
        assert await member_count(node) == 0

    async def test_header_without_name_or_email_is_a_clear_422(self, node, organizer):
        response = await post_csv(organizer, "zip_code,can2_phone\n60614,7735550100\n")
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "csv_invalid"
        assert "no name or email column" in error["message"]
        assert await member_count(node) == 0

    async def test_empty_file_is_422(self, organizer):
        response = await post_csv(organizer, "")
        assert response.status_code == 422

    async def test_other_content_types_are_415(self, organizer):
        response = await organizer.post(IMPORT, json={"first_name": "Ana"})
        assert response.status_code == 415
        assert response.json()["error"]["code"] == "unsupported_media_type"

    async def test_multipart_without_file_field_is_422(self, organizer):
        response = await organizer.post(IMPORT, files={"upload": ("a.csv", b"email\n", "text/csv")})
        assert response.status_code == 422


class TestExport:
    async def test_round_trips_through_import(self, nodes, node, organizer):
        members = [
            {
                "given_name": "Ana",
                "family_name": "Diaz",
                "email": "ana@example.org",
                "phone": "+1 773 555 0100",
                "postal_code": "60614",
                "ward": 33,
                "precinct": "12",
                "languages": ["es", "en"],
                "tags": ["volunteer", "host"],
                "sms_opt_in": True,
                "share_contact_with_hosts": False,
                "joined_date": "2024-02-29",
                "notes": 'Said "call after 6", prefers texts',
            },
            {"given_name": '=HYPERLINK("x")', "family_name": "Chen"},
        ]
        for body in members:
            assert (await organizer.post("/api/v1/members", json=body)).status_code == 201

        response = await organizer.get("/api/v1/members/export.csv")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0]["email"] == "ana@example.org"
        assert rows[0]["phone"] == "'+17735550100"  # never run as a formula
        assert rows[1]["given_name"].startswith("'=")

        other = await nodes.start("ward32", wards=[32])
        other_organizer = await other.as_role(Role.organizer)
        imported = await post_csv(other_organizer, response.content)
        assert imported.status_code == 200, imported.text
        assert imported.json()["ignored_columns"] == []

        def comparable(m: Member) -> dict:
            return m.model_dump(exclude={"id", "created_at", "updated_at"})

        assert [comparable(m) for m in await all_members(other)] == [
            comparable(m) for m in await all_members(node)
        ]
