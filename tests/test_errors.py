"""Every error a request can get is JSON of one shape, and bodies are capped."""

from __future__ import annotations

import json
import logging

from node.accounts.models import Role
from node.ops.logging import JsonFormatter


class TestErrorShape:
    async def test_unknown_path_and_method(self, node) -> None:
        missing = await node.client.get("/api/v1/nothing-here")
        wrong_method = await node.client.delete("/healthz")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert wrong_method.status_code == 405
        assert wrong_method.json()["error"]["code"] == "method_not_allowed"

    async def test_malformed_json(self, node) -> None:
        response = await node.client.post(
            "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_failed"


class TestBodyLimit:
    async def test_declared_oversized_body_is_413(self, node) -> None:
        admin = await node.as_role(Role.admin)
        body = b"x" * (node.settings.max_body_bytes + 1)
        response = await admin.post(
            "/api/v1/users", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"

    async def test_streamed_oversized_body_is_413(self, node) -> None:
        admin = await node.as_role(Role.admin)

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(node.settings.max_body_bytes // 65536 + 2):
                yield b"x" * 65536

        response = await admin.post(
            "/api/v1/users", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413


class TestStructuredLogs:
    def test_one_json_object_per_line_without_terminal_codes(self) -> None:
        record = logging.makeLogRecord(
            {"name": "uvicorn.error", "levelno": 20, "levelname": "INFO", "msg": "Started",
             "color_message": "\x1b[36mStarted\x1b[0m", "request_id": "abc"}
        )  # fmt: skip
        line = JsonFormatter().format(record)
        entry = json.loads(line)
        assert entry["msg"] == "Started"
        assert entry["request_id"] == "abc"
        assert "color_message" not in entry
        assert "\x1b" not in line


EVENT = {
    "title": "Ward night",
    "event_type": "MEETING",
    "start_date": "2026-12-08T18:00:00-06:00",
    "end_date": "2026-12-08T20:00:00-06:00",
}


class TestMessagesInPlainWords:
    """The API's 422 names the field first and says how to fix it, without pydantic's
    "Value error, ..." or "Input should be ..." (the JSON shape stays the same)."""

    async def post_event(self, node, **changes) -> dict:
        organizer = await node.as_role(Role.organizer)
        answer = await organizer.post("/api/v1/events", json={**EVENT, **changes})
        assert answer.status_code == 422, answer.text
        return answer.json()["error"]

    async def test_an_end_before_the_start_is_the_end_fields_problem(self, node) -> None:
        error = await self.post_event(node, end_date="2026-12-08T17:00:00-06:00")
        assert error["message"] == (
            "end_date: The end is before the start: choose an end at or after the start."
        )
        [detail] = error["details"]
        assert detail["loc"] == ["body", "end_date"]
        assert "Value error" not in json.dumps(error)

    async def test_each_kind_of_problem_says_what_to_enter(self, node) -> None:
        cases = {
            "empty": ({"title": ""}, "title: This cannot be empty."),
            "number": ({"capacity": "lots"}, "capacity: Enter a whole number, such as 12."),
            "bound": ({"capacity": -1}, "capacity: Use a number of at least 0."),
            "choice": ({"visibility": "secret"}, "visibility: Choose one of: public, coalition"),
            "offset": (
                {"start_date": "2026-12-08T18:00:00"},
                "start_date: Give the time with its offset from UTC",
            ),
            "ward": ({"wards": [51]}, "wards[0]: Use a number no larger than 50."),
            "unknown": ({"colour": "red"}, "colour: This field is not known here; leave it out."),
        }
        for name, (changes, expected) in cases.items():
            error = await self.post_event(node, **changes)
            assert error["message"].startswith(expected), (name, error["message"])
            assert "Input should be" not in error["message"], name

    async def test_a_query_parameter_is_named_as_one(self, node) -> None:
        member = await node.as_role(Role.member)
        answer = await member.get("/api/v1/events", params={"limit": "5000"})
        assert answer.status_code == 422
        assert answer.json()["error"]["message"] == (
            "limit (query): Use a number no larger than 200."
        )
