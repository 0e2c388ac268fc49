"""What an ally's body may be: strict JSON types, bounded values, plain UTF-8 JSON.

Every case was once accepted (and stored, or answered 500, which a sender retries for a week);
each must now get a final 4xx before anything is written, from a real inbox with real
signatures. A peer validating with ``schemas/json/`` and this node must agree on each.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema_rs
import pytest

from node.accounts.models import Role
from schemas.base import MAX_WIRE_INTEGER
from schemas.export import JSON_DIR
from tests.federation.test_inbox_security import INBOX, create_activity, refused, send, signed
from tests.nodes import TestNode


def stock_validator_says(event: dict[str, Any]) -> bool:
    """Whether an independent JSON Schema validator (Rust's) finds ``event`` valid."""
    schema = json.loads((JSON_DIR / "event.json").read_text())
    return bool(jsonschema_rs.validator_for(schema).is_valid(event))


async def an_event_with(pair: tuple[TestNode, TestNode], field: str, value: Any) -> str:
    """Send ward30 ward33's event with ``field`` set to ``value``, which a stock validator
    refuses too; it must be 422 and change nothing. Returns the error message."""
    ward33, ward30 = pair
    activity = create_activity(ward33, ward30)
    activity["object"][field] = value
    assert not stock_validator_says(activity["object"])
    error = await refused(ward30, signed(ward33, ward30, activity), 422, "schema_invalid")
    message: str = error["message"]
    return message


async def taken(receiver: TestNode, request: httpx.Request) -> None:
    """``receiver``'s inbox must take ``request`` (202)."""
    response = await send(receiver, request)
    assert response.status_code == 202, response.text


class TestNoValueIsCoerced:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("version", "2"),
            ("version", True),
            ("start_date", 1_800_000_000),
            ("start_date", "2030-03-01 15:00:00Z"),
            ("start_date", "2030-03-01t15:00:00z"),
            ("wards", ["30"]),
            ("capacity", "10"),
            ("event_type", 3),
        ],
    )
    async def test_a_value_of_another_json_type_is_422(self, pair, field, value) -> None:
        ward33, ward30 = pair
        assert stock_validator_says(create_activity(ward33, ward30)["object"])
        message = await an_event_with(pair, field, value)
        # the message names the field by its path, not by pydantic's inner steps
        assert f"object.Event.{field}" in message, message
        assert "[" not in message

    async def test_an_integer_written_with_a_fraction_is_422(self, pair) -> None:
        # JSON Schema counts 2.0 as an integer; FEDERATION.md 4.3 adds that integers are
        # written without a fraction or exponent, a rule a schema cannot express
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"]["version"] = 2.0
        error = await refused(ward30, signed(ward33, ward30, activity), 422, "schema_invalid")
        assert "version" in error["message"]

    async def test_a_ward_listed_twice_is_422(self, pair) -> None:
        assert "each ward is listed once" in await an_event_with(pair, "wards", [30, 30])


class TestValuesAreBounded:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("version", MAX_WIRE_INTEGER + 1),  # past a 32-bit INTEGER column
            ("capacity", MAX_WIRE_INTEGER + 1),
            ("version", 2**53),  # past what RFC 8785 can sign
            ("capacity", 2**63),  # past a database's BIGINT
            ("start_date", "0001-01-01T00:00:00+01:00"),  # year 0 in UTC
            ("end_date", "9999-12-31T23:59:59-01:00"),  # year 10000 in UTC
            ("start_date", "2030-03-01T15:00:00.1234567Z"),  # finer than microseconds
        ],
    )
    async def test_an_out_of_range_value_is_422(self, pair, field, value) -> None:
        assert field in await an_event_with(pair, field, value)

    async def test_the_largest_values_are_taken_and_stored(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30, version=MAX_WIRE_INTEGER)
        activity["object"]["capacity"] = MAX_WIRE_INTEGER
        assert stock_validator_says(activity["object"])
        await taken(ward30, signed(ward33, ward30, activity))
        organizer = await ward30.as_role(Role.organizer)
        [event] = (await organizer.get("/api/v1/events")).json()["items"]
        assert (event["version"], event["capacity"]) == (MAX_WIRE_INTEGER, MAX_WIRE_INTEGER)


class TestTheBodyIsPlainJson:
    async def test_a_member_name_given_twice_is_400(self, pair) -> None:
        ward33, ward30 = pair
        body = json.dumps(create_activity(ward33, ward30))
        twice = body.replace('"title": ', '"title": "First", "title": ', 1).encode()
        error = await refused(ward30, signed(ward33, ward30, twice), 400, "malformed_request")
        assert "'title' appears twice" in error["message"]

    async def test_deep_nesting_is_400(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        for depth in (40, 20_000):  # past the limit, and past Python's recursion limit
            activity["object"]["description"] = "PLACEHOLDER"
            deep = json.dumps(activity).replace('"PLACEHOLDER"', "[" * depth + "]" * depth)
            error = await refused(
                ward30, signed(ward33, ward30, deep.encode()), 400, "malformed_request"
            )
            assert "nests deeper than 32 levels" in error["message"]

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
    async def test_a_byte_order_mark_or_another_encoding_is_400(self, pair, encoding) -> None:
        ward33, ward30 = pair
        body = json.dumps(create_activity(ward33, ward30)).encode(encoding)
        await refused(ward30, signed(ward33, ward30, body), 400, "malformed_request")

    async def test_nan_is_400(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"]["location"] = {"location": {"latitude": float("nan"), "longitude": 0}}
        body = json.dumps(activity).encode()
        await refused(ward30, signed(ward33, ward30, body), 400, "malformed_request")

    @pytest.mark.parametrize(
        "content_type",
        ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16"],
    )
    async def test_another_media_type_is_415(self, pair, content_type) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        request = signed(ward33, ward30, activity, content_type=content_type)
        await refused(ward30, request, 415, "unsupported_media_type")

    async def test_json_with_a_utf8_charset_is_taken(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        charset = "application/json; charset=UTF-8"
        await taken(ward30, signed(ward33, ward30, activity, content_type=charset))


class TestTextCarriesNoControlCharacters:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("location", {"venue": "Hairpin\tArts Center"}),
            ("location", {"address_lines": ["2810 N Milwaukee Ave\x1b[2K"]}),
            ("location", {"locality": "Chicago\n"}),
            ("title", "Joint\tcanvass"),
            ("title", "  "),
            ("description", "Bring water\x07"),
            ("precincts", ["33-1\r"]),
        ],
    )
    async def test_a_control_character_is_422_before_it_is_stored(self, pair, field, value) -> None:
        # (once stored, a tab in a venue made every list of events answer 500)
        assert field in await an_event_with(pair, field, value)

    async def test_line_breaks_and_tabs_in_a_description_are_taken(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"]["description"] = "Meet at the office.\n\tBring water.\r\n"
        assert stock_validator_says(activity["object"])
        await taken(ward30, signed(ward33, ward30, activity))


class TestTheTargetIsThisNodesOwnInbox:
    async def test_a_request_signed_for_another_inbox_is_401_even_with_its_host(self, pair) -> None:
        # An activity addressed to two nodes, signed for the other node's inbox, replayed here
        # with the other node's Host header: it once verified, since the URL came from Host
        ward33, ward30 = pair
        elsewhere = "http://ward35.test"
        activity = create_activity(ward33, ward30)
        activity["to"] = [elsewhere, ward30.url]
        request = signed(ward33, ward30, activity, url=f"{elsewhere}{INBOX}")
        await refused(ward30, request, 401, "signature_invalid")


class TestNodeIdsAreOrigins:
    async def test_an_object_attributed_to_a_path_under_the_senders_origin_is_422(
        self, pair
    ) -> None:
        # Were node ids allowed paths, http://ward33.test/ward35 could pass for another node
        # hosted on ward33's origin; a node id is an origin (FEDERATION.md 1), so it cannot
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"]["attributed_to"] = f"{ward33.url}/ward35"
        activity["object"]["id"] = f"{ward33.url}/ward35/events/1"
        assert not stock_validator_says(activity["object"])
        error = await refused(ward30, signed(ward33, ward30, activity), 422, "schema_invalid")
        assert "attributed_to" in error["message"]
