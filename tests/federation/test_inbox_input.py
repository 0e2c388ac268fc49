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

from federation.signing import sign_request
from schemas.base import MAX_WIRE_INTEGER
from schemas.export import JSON_DIR
from tests.federation.test_inbox_security import (
    INBOX,
    counts,
    create_activity,
    pair,
    send,
    signed,
)
from tests.nodes import TestNode

__all__ = ["pair"]  # the fixture, shared with test_inbox_security


async def refused(
    receiver: TestNode, request: httpx.Request, status: int, code: str
) -> dict[str, Any]:
    before = await counts(receiver)
    response = await send(receiver, request)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    assert await counts(receiver) == before
    return error


def stock_validator_says(event: dict[str, Any]) -> bool:
    """Whether an independent JSON Schema validator (Rust's) finds ``event`` valid."""
    schema = json.loads((JSON_DIR / "event.json").read_text())
    return bool(jsonschema_rs.validator_for(schema).is_valid(event))


def signed_as(sender: TestNode, receiver: TestNode, content: bytes, content_type: str):
    """A request signed as ``sender`` carrying ``content`` with its own Content-Type."""
    request = httpx.Request(
        "POST", f"{receiver.url}{INBOX}", content=content, headers={"Content-Type": content_type}
    )
    key = sender.runtime.keyring().active
    sign_request(request, key=key, keyid=f"{sender.url}#{key.kid}")
    return request


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
        activity = create_activity(ward33, ward30)
        assert stock_validator_says(activity["object"])
        activity["object"][field] = value
        assert not stock_validator_says(activity["object"])
        error = await refused(ward30, signed(ward33, ward30, activity), 422, "schema_invalid")
        # the message names the field by its path, not by pydantic's inner steps
        assert f"object.Event.{field}" in error["message"], error["message"]
        assert "[" not in error["message"]

    async def test_an_integer_written_with_a_fraction_is_422(self, pair) -> None:
        # JSON Schema counts 2.0 as an integer; FEDERATION.md 4.3 adds that integers are
        # written without a fraction or exponent, a rule a schema cannot express
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"]["version"] = 2.0
        error = await refused(ward30, signed(ward33, ward30, activity), 422, "schema_invalid")
        assert "version" in error["message"]

    async def test_a_ward_listed_twice_is_422(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"]["wards"] = [30, 30]
        assert not stock_validator_says(activity["object"])
        error = await refused(ward30, signed(ward33, ward30, activity), 422, "schema_invalid")
        assert "each ward is listed once" in error["message"]


class TestValuesAreBounded:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("version", MAX_WIRE_INTEGER + 1),  # past what RFC 8785 can sign
            ("capacity", 2**63),  # past a database's BIGINT
            ("start_date", "0001-01-01T00:00:00+01:00"),  # year 0 in UTC
            ("end_date", "9999-12-31T23:59:59-01:00"),  # year 10000 in UTC
            ("start_date", "2030-03-01T15:00:00.1234567Z"),  # finer than microseconds
        ],
    )
    async def test_an_out_of_range_value_is_422(self, pair, field, value) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"][field] = value
        assert not stock_validator_says(activity["object"])
        error = await refused(ward30, signed(ward33, ward30, activity), 422, "schema_invalid")
        assert field in error["message"]

    async def test_the_largest_version_is_taken(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30, version=MAX_WIRE_INTEGER)
        assert stock_validator_says(activity["object"])
        response = await send(ward30, signed(ward33, ward30, activity))
        assert response.status_code == 202, response.text


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
        body = json.dumps(create_activity(ward33, ward30)).encode()
        request = signed_as(ward33, ward30, body, content_type)
        await refused(ward30, request, 415, "unsupported_media_type")

    async def test_json_with_a_utf8_charset_is_taken(self, pair) -> None:
        ward33, ward30 = pair
        body = json.dumps(create_activity(ward33, ward30)).encode()
        request = signed_as(ward33, ward30, body, "application/json; charset=UTF-8")
        response = await send(ward30, request)
        assert response.status_code == 202, response.text


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
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"][field] = value
        assert not stock_validator_says(activity["object"])
        error = await refused(ward30, signed(ward33, ward30, activity), 422, "schema_invalid")
        assert field in error["message"]

    async def test_line_breaks_and_tabs_in_a_description_are_taken(self, pair) -> None:
        ward33, ward30 = pair
        activity = create_activity(ward33, ward30)
        activity["object"]["description"] = "Meet at the office.\n\tBring water.\r\n"
        assert stock_validator_says(activity["object"])
        response = await send(ward30, signed(ward33, ward30, activity))
        assert response.status_code == 202, response.text


class TestTheTargetIsThisNodesOwnInbox:
    async def test_a_request_signed_for_another_inbox_is_401_even_with_its_host(self, pair) -> None:
        # An activity addressed to two nodes, signed for the other node's inbox, replayed here
        # with the other node's Host header: it once verified, since the URL came from Host
        ward33, ward30 = pair
        elsewhere = "http://ward35.test"
        activity = create_activity(ward33, ward30)
        activity["to"] = [elsewhere, ward30.url]
        request = httpx.Request(
            "POST",
            f"{elsewhere}{INBOX}",
            content=json.dumps(activity).encode(),
            headers={"Content-Type": "application/json"},
        )
        key = ward33.runtime.keyring().active
        sign_request(request, key=key, keyid=f"{ward33.url}#{key.kid}")
        await refused(ward30, request, 401, "signature_invalid")
