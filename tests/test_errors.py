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
