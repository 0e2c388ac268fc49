"""Schemathesis against the partner OpenAPI document: no 5xx, every answer as documented.

Bounded and repeatable: 20 derandomized examples per read operation, sent in-process with a
token that holds every read scope, over the real coalition of ``test_resources``.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.partners.helpers import partner_client
from tests.partners.test_resources import API, build_world

READ_SCOPES = [
    "events:read",
    "forums:read",
    "endorsements:read",
    "canvass:read",
    "organizations:read",
]
MINE = (
    "/organizations", "/events", "/forums", "/endorsements", "/canvass_calls", "/deleted",
)  # fmt: skip
EXAMPLES_PER_OPERATION = 20


def cases_for(operation: Any) -> list[Any]:
    """Draw the examples first (Hypothesis runs synchronously); they are sent afterwards."""
    drawn: list[Any] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def collect(case: Any) -> None:
        drawn.append(case)

    collect()
    return drawn


async def test_partner_schema_holds_for_generated_requests(nodes):
    world = await build_world(nodes, partner_rate_burst=100_000)
    client = await partner_client(world.home, READ_SCOPES)
    document = (await world.home.client.get(f"{API}/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_dict(document)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().method.upper() == "GET"
        and result.ok().path.startswith(tuple(API + p for p in MINE))
    ]
    assert len(operations) == 11
    statuses: list[int] = []
    for operation in operations:
        for case in cases_for(operation):
            response = await client.request(
                case.method,
                case.formatted_path,
                params=case.query or None,
                headers={k: str(v) for k, v in (case.headers or {}).items()},
            )
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
            statuses.append(response.status_code)
    assert len(statuses) >= len(operations) * 5
    assert statuses.count(200) > len(statuses) // 4  # mostly real answers, not just 4xx
