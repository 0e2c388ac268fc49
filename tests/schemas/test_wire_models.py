"""The wire models refuse what the protocol forbids, and the committed JSON Schemas match them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from pydantic import TypeAdapter, ValidationError

from federation.keys import generate_key
from schemas.activity import Activity, AllianceOffer, EmbeddedObject, Tombstone, authored_ids
from schemas.base import NodeId, ObjectId
from schemas.endorsement import JointEndorsement, Race
from schemas.event import Event
from schemas.export import JSON_DIR, TOP_LEVEL_MODELS, render_all
from schemas.node_document import NodeDocument, PublicJwk
from schemas.origin import same_origin

WARD33 = "https://ward33.example"
WARD35 = "https://ward35.example"


def event_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "Event",
        "schema_version": 1,
        "id": f"{WARD33}/events/7",
        "attributed_to": WARD33,
        "version": 1,
        "title": "Saturday canvass for the referendum",
        "description": "Meet at the office; we go out in pairs.",
        "start_date": "2026-03-07T10:00:00-06:00",
        "end_date": "2026-03-07T13:00:00-06:00",
        "location": {
            "venue": "33WF office",
            "address_lines": ["3358 W Montrose Ave"],
            "locality": "Chicago",
            "region": "IL",
            "postal_code": "60618",
            "location": {"latitude": 41.961, "longitude": -87.711},
        },
        "event_type": "CANVASS",
        "status": "confirmed",
        "visibility": "coalition",
        "capacity": 40,
        "wards": [33],
        "precincts": ["33-12"],
        "created_date": "2026-02-20T09:00:00Z",
        "modified_date": "2026-02-21T09:00:00Z",
    }
    data.update(changes)
    return data


def activity_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "Create",
        "id": f"{WARD33}/activities/1",
        "actor": WARD33,
        "object": event_data(),
        "published": "2026-02-21T09:00:01Z",
        "to": [WARD35],
    }
    data.update(changes)
    return data


def node_document_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": WARD33,
        "name": "33rd Ward Working Families",
        "kind": "ipo",
        "wards": [33],
        "inbox": f"{WARD33}/federation/inbox",
        "keys": {"keys": [generate_key().public_jwk()]},
        "protocol": "1",
        "software": {"name": "ipo-node", "version": "0.1.0"},
    }
    data.update(changes)
    return data


class TestUnknownFieldsAreRejected:
    def test_on_an_event(self) -> None:
        with pytest.raises(ValidationError, match="extra_forbidden"):
            Event.model_validate(event_data(organizer_phone="773-555-0100"))

    def test_on_a_nested_location(self) -> None:
        location = event_data()["location"] | {"host_home": True}
        with pytest.raises(ValidationError, match="extra_forbidden"):
            Event.model_validate(event_data(location=location))

    def test_on_an_activity(self) -> None:
        with pytest.raises(ValidationError, match="extra_forbidden"):
            Activity.model_validate(activity_data(**{"@context": "https://www.w3.org/ns/as"}))

    def test_on_a_node_document_key(self) -> None:
        document = node_document_data()
        document["keys"]["keys"][0]["d"] = "a private key must never be published"
        with pytest.raises(ValidationError, match="extra_forbidden"):
            NodeDocument.model_validate(document)


class TestEvent:
    def test_a_complete_event_parses_and_defaults_to_chicago_time(self) -> None:
        event = Event.model_validate(event_data())
        assert event.timezone == "America/Chicago"
        assert event.location is not None
        assert event.location.address_lines == ["3358 W Montrose Ave"]

    def test_private_visibility_cannot_cross_the_wire(self) -> None:
        with pytest.raises(ValidationError, match=r"visibility\n.*literal_error"):
            Event.model_validate(event_data(visibility="private"))

    def test_end_before_start_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="end_date must not be before start_date"):
            Event.model_validate(event_data(end_date="2026-03-07T09:59:59-06:00"))

    @pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "America/chicago ", "../etc/passwd", ""])
    def test_a_timezone_that_is_not_an_iana_zone_is_rejected(self, zone: str) -> None:
        with pytest.raises(ValidationError, match=r"timezone\n.*(IANA|string_too_short)"):
            Event.model_validate(event_data(timezone=zone))

    def test_another_iana_zone_is_accepted(self) -> None:
        assert Event.model_validate(event_data(timezone="Europe/Warsaw")).timezone == (
            "Europe/Warsaw"
        )

    def test_naive_timestamps_are_rejected(self) -> None:
        with pytest.raises(ValidationError, match=r"start_date\n.*with a T and an offset"):
            Event.model_validate(event_data(start_date="2026-03-07T10:00:00"))
        naive = datetime(2026, 3, 7, 10)  # a naive datetime given in Python, not as text
        with pytest.raises(ValidationError, match=r"start_date\n.*timezone_aware"):
            Event.model_validate(event_data(start_date=naive))

    def test_an_id_outside_the_attributed_origin_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="id must be under the origin"):
            Event.model_validate(event_data(id=f"{WARD35}/events/7"))

    @pytest.mark.parametrize("wards", [[0], [51], [33, -1]])
    def test_wards_outside_1_to_50_are_rejected(self, wards: list[int]) -> None:
        with pytest.raises(ValidationError, match=r"wards\.\d+\n.*(less|greater)_than_equal"):
            Event.model_validate(event_data(wards=wards))

    def test_a_blank_title_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match=r"title\n.*string_pattern_mismatch"):
            Event.model_validate(event_data(title="   "))

    def test_timestamps_keep_the_offset_they_were_sent_with(self) -> None:
        event = Event.model_validate(event_data())
        assert event.start_date == datetime(2026, 3, 7, 16, 0, tzinfo=UTC)
        assert event.start_date.utcoffset() == timedelta(hours=-6)

    def test_parsed_models_are_immutable(self) -> None:
        event = Event.model_validate(event_data())
        with pytest.raises(ValidationError, match="frozen"):
            event.title = "Changed after parsing"  # type: ignore[misc]


class TestNodeDocument:
    def test_a_node_keys_published_jwk_is_a_valid_wire_key(self) -> None:
        key = generate_key()
        jwk = PublicJwk.model_validate(key.public_jwk())
        assert jwk.kid == key.kid

    def test_a_complete_document_parses(self) -> None:
        document = NodeDocument.model_validate(node_document_data())
        assert document.kind == "ipo"
        assert len(document.keys.keys) == 1

    def test_an_inbox_on_another_origin_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="inbox must be under the node's own origin"):
            NodeDocument.model_validate(node_document_data(inbox=f"{WARD35}/federation/inbox"))

    def test_two_keys_with_one_kid_are_rejected(self) -> None:
        jwk = generate_key().public_jwk()
        with pytest.raises(ValidationError, match="every key in the set needs its own kid"):
            NodeDocument.model_validate(node_document_data(keys={"keys": [jwk, jwk]}))

    def test_a_key_that_is_not_32_bytes_is_rejected(self) -> None:
        jwk = generate_key().public_jwk() | {"x": "AAAA"}
        with pytest.raises(ValidationError, match=r"x\n.*string_pattern_mismatch"):
            PublicJwk.model_validate(jwk)


class TestActivity:
    def test_an_embedded_object_is_parsed_by_its_type(self) -> None:
        activity = Activity.model_validate(activity_data())
        assert isinstance(activity.object, Event)

    def test_an_object_may_be_referenced_by_url(self) -> None:
        activity = Activity.model_validate(
            activity_data(type="Accept", object=f"{WARD35}/activities/9")
        )
        assert activity.object == f"{WARD35}/activities/9"

    def test_an_object_of_unknown_type_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="union_tag_invalid"):
            Activity.model_validate(activity_data(object={"type": "Note", "content": "hi"}))

    def test_an_activity_must_be_addressed_to_someone(self) -> None:
        with pytest.raises(ValidationError, match=r"to\n.*too_short"):
            Activity.model_validate(activity_data(to=[]))

    def test_a_verb_outside_the_protocol_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match=r"type\n.*literal_error"):
            Activity.model_validate(activity_data(type="Like"))

    def test_an_alliance_offer_needs_a_scope(self) -> None:
        with pytest.raises(ValidationError, match=r"scopes\n.*too_short"):
            AllianceOffer.model_validate({"type": "Alliance", "scopes": []})


class TestAuthoredIds:
    def test_a_create_claims_the_activity_and_the_event(self) -> None:
        activity = Activity.model_validate(activity_data())
        assert authored_ids(activity) == [f"{WARD33}/activities/1", f"{WARD33}/events/7"]

    def test_a_create_of_another_nodes_event_is_caught_by_the_origin_check(self) -> None:
        # ward35 sends a Create of an event that lives on ward33.
        activity = Activity.model_validate(activity_data(id=f"{WARD35}/activities/1", actor=WARD35))
        foreign = [i for i in authored_ids(activity) if not same_origin(i, activity.actor)]
        assert foreign == [f"{WARD33}/events/7"]

    def test_a_delete_claims_the_tombstone(self) -> None:
        tombstone = {
            "type": "Tombstone",
            "id": f"{WARD33}/events/7",
            "former_type": "Event",
            "version": 3,
            "deleted": "2026-02-22T09:00:00Z",
        }
        activity = Activity.model_validate(activity_data(type="Delete", object=tombstone))
        assert isinstance(activity.object, Tombstone)
        assert authored_ids(activity) == [f"{WARD33}/activities/1", f"{WARD33}/events/7"]

    def test_an_announce_relays_without_claiming_the_object(self) -> None:
        activity = Activity.model_validate(
            activity_data(type="Announce", id=f"{WARD35}/activities/4", actor=WARD35)
        )
        assert authored_ids(activity) == [f"{WARD35}/activities/4"]

    def test_a_referenced_object_is_not_claimed(self) -> None:
        activity = Activity.model_validate(
            activity_data(type="Accept", object=f"{WARD35}/activities/9")
        )
        assert authored_ids(activity) == [f"{WARD33}/activities/1"]


class TestSameOrigin:
    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ("https://ward12.example/inbox", "https://ward12.example", True),
            ("https://Ward12.example./events/1", "https://ward12.example", True),
            ("https://WARD12.EXAMPLE", "https://ward12.example", True),
            ("https://ward12.example:443/x", "https://ward12.example", True),
            ("http://ward12.example:80/x", "http://ward12.example", True),
            ("https://ward12.example:8443", "https://ward12.example", False),
            ("https://ward12.example.evil.test", "https://ward12.example", False),
            ("https://ward12.example@evil.test/x", "https://ward12.example", False),
            ("https://evil.test\\@ward12.example/x", "https://ward12.example", False),
            ("https://evilward12.example", "https://ward12.example", False),
            ("http://ward12.example", "https://ward12.example", False),
            ("https://ward12.example:80", "http://ward12.example", False),
            ("https://bücher.example/e/1", "https://xn--bcher-kva.example", True),
            ("https://BÜCHER.example", "https://bücher.example", True),
            # A look-alike: U+0430, the Cyrillic small a, in place of the Latin "a".
            ("https://w\u0430rd12.example", "https://ward12.example", False),
            ("https://127.0.0.1:8001/x", "http://127.0.0.1:8001", False),
            ("http://[::1]:8001/x", "http://[0:0:0:0:0:0:0:1]:8001", True),
            ("ftp://ward12.example", "ftp://ward12.example", False),
            ("not a url", "not a url", False),
            ("https://ward12.example:99999", "https://ward12.example:99999", False),
        ],
    )
    def test_origins_are_compared_after_normalisation(self, a: str, b: str, expected: bool) -> None:
        assert same_origin(a, b) is expected
        assert same_origin(b, a) is expected


class TestIdentifiers:
    @pytest.mark.parametrize(
        "value",
        [
            "https://ward33.example",
            "http://127.0.0.1:8001",
            "https://xn--bcher-kva.example",
        ],
    )
    def test_node_ids_are_absolute_http_urls(self, value: str) -> None:
        assert TypeAdapter(NodeId).validate_python(value) == value

    @pytest.mark.parametrize(
        "value",
        [
            "ward33.example",
            "/federation/inbox",
            "ftp://ward33.example",
            "https://admin@ward33.example",
            "https://bücher.example",
            "https://ward33.example/#me",
            "https://ward33.example/?page=2",
            "https://ward33.example:99999",
            "HTTPS://ward33.example",
            "http://0177.0.0.1:8001",
            "http://10.0.0.0x1",
            "https://example.org/ward33",  # an origin: no path (FEDERATION.md 1)
            "https://ward33.example/",
        ],
    )
    def test_anything_else_is_not_a_node_id(self, value: str) -> None:
        with pytest.raises(ValidationError):
            TypeAdapter(NodeId).validate_python(value)

    def test_object_ids_may_carry_a_query(self) -> None:
        url = "https://ward33.example/events?id=7"
        assert TypeAdapter(ObjectId).validate_python(url) == url


class TestExportedSchemas:
    def test_committed_files_match_the_models(self) -> None:
        committed = {
            path.name: path.read_text(encoding="utf-8") for path in JSON_DIR.glob("*.json")
        }
        assert committed == render_all(), "run `python -m schemas.export` and commit the result"

    def test_rendering_is_deterministic(self) -> None:
        assert render_all() == render_all()

    def test_every_top_level_model_has_a_file(self) -> None:
        assert {"activity.json", "event.json", "node-document.json"} <= set(render_all())
        # Every versioned object an activity can carry is documented by a file of its own
        embeddable = get_args(get_args(EmbeddedObject)[0])
        versioned = {m for m in embeddable if "schema_version" in m.model_fields}
        assert {Event, JointEndorsement} <= versioned
        assert versioned <= set(TOP_LEVEL_MODELS.values())

    def test_the_files_use_json_schema_keywords_only(self) -> None:
        # A peer's stock validator must read what we publish; OpenAPI's `discriminator`, which
        # pydantic writes for tagged unions, is not JSON Schema (FEDERATION.md 4)
        foreign = {
            (name, keyword)
            for name, text in render_all().items()
            for keyword in _keywords(json.loads(text))
            if keyword not in _JSON_SCHEMA_2020_12
        }
        assert foreign == set()

    def test_the_event_schema_forbids_unknown_fields_and_private_visibility(self) -> None:
        schema = TypeAdapter(dict[str, Any]).validate_json(render_all()["event.json"])
        assert schema["additionalProperties"] is False
        assert schema["properties"]["visibility"]["enum"] == ["public", "coalition"]


class TestBounds:
    """Dates and integers stay where every implementation can hold them (FEDERATION.md 4.3)."""

    @pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
    def test_an_election_day_outside_1900_to_2999_is_refused(self, day: str) -> None:
        race = {"office": "mayor", "district": "citywide", "election_type": "general"}
        with pytest.raises(ValidationError, match="election_date"):
            Race.model_validate_json(json.dumps({**race, "election_date": day}), strict=True)
        assert (
            Race.model_validate_json(
                json.dumps({**race, "election_date": "2027-02-28"}), strict=True
            ).election_date.year
            == 2027
        )

    @pytest.mark.parametrize("moment", ["1899-12-31T23:59:59Z", "3000-01-01T00:00:00Z"])
    def test_a_timestamp_outside_1900_to_2999_is_refused(self, moment: str) -> None:
        with pytest.raises(ValidationError, match="start_date"):
            Event.model_validate(event_data(start_date=moment))


_JSON_SCHEMA_2020_12 = {
    "$schema", "$id", "$ref", "$defs", "$comment", "title", "description", "default",
    "examples", "deprecated", "readOnly", "writeOnly", "type", "enum", "const", "format",
    "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
    "minProperties", "maxProperties", "items", "prefixItems", "contains", "minItems",
    "maxItems", "uniqueItems", "minLength", "maxLength", "pattern", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "anyOf", "oneOf", "allOf", "not",
    "if", "then", "else", "dependentRequired", "dependentSchemas", "unevaluatedProperties",
    "unevaluatedItems", "contentEncoding", "contentMediaType",
}  # fmt: skip
_NAMED_SUBSCHEMAS = {"properties", "$defs", "patternProperties", "dependentSchemas"}


def _keywords(schema: Any) -> list[str]:
    """Every keyword used in ``schema`` and its subschemas (property names aside)."""
    if not isinstance(schema, dict):
        return []
    found = list(schema)
    for keyword, value in schema.items():
        if keyword in _NAMED_SUBSCHEMAS:
            found += [k for sub in value.values() for k in _keywords(sub)]
        elif isinstance(value, list) and keyword in {"anyOf", "oneOf", "allOf", "prefixItems"}:
            found += [k for sub in value for k in _keywords(sub)]
        elif isinstance(value, dict) and keyword not in {"default", "const", "examples"}:
            found += _keywords(value)
    return found
