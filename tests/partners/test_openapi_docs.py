"""The partner API's OpenAPI document and docs page: every operation described, every answer
with an example in the shape the node really sends.

Read from ``/api/v1/partner/openapi.json`` as a partner (or a code generator) would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from node.errors import ErrorResponse
from node.partners.models import PartnerWhoami
from node.partners.oauth import OAuthErrorResponse, TokenResponse
from node.webhooks.models import (
    WebhookDeliveryPublic,
    WebhookSubscriptionCreated,
    WebhookSubscriptionDetail,
    WebhookSubscriptionList,
    WebhookSubscriptionPublic,
)
from tests.nodes import TestNode

DOCUMENT = "/api/v1/partner/openapi.json"
TOKEN = "/oauth/token"
NO_BODY = {"204", "304"}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# The shapes whose examples are checked against the model the node answers with.
MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (
        ErrorResponse,
        OAuthErrorResponse,
        TokenResponse,
        PartnerWhoami,
        WebhookDeliveryPublic,
        WebhookSubscriptionCreated,
        WebhookSubscriptionDetail,
        WebhookSubscriptionList,
        WebhookSubscriptionPublic,
    )
}

Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture
async def document(node: TestNode) -> dict[str, Any]:
    response = await node.client.get(DOCUMENT)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", path, operation


def examples_of(response: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(media type's schema name, example) for every example of a documented response."""
    for media in response.get("content", {}).values():
        name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
        if "example" in media:
            yield name, media["example"]
        for example in media.get("examples", {}).values():
            yield name, example["value"]


def test_the_document_covers_every_partner_operation(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    names = {name for name, _, _ in operations(document)}
    assert {
        "POST /oauth/token",
        "GET /api/v1/partner/whoami",
        "GET /api/v1/partner/webhooks",
        "POST /api/v1/partner/webhooks",
        "GET /api/v1/partner/webhooks/{subscription_id}",
        "DELETE /api/v1/partner/webhooks/{subscription_id}",
        "POST /api/v1/partner/webhooks/{subscription_id}/test",
        "POST /api/v1/partner/webhooks/{subscription_id}/enable",
        "GET /api/v1/partner/events",
    } <= names
    assert all(n.split()[1].startswith(("/api/v1/partner/", TOKEN)) for n in names), names


def test_every_operation_has_a_summary_and_a_description(document: dict[str, Any]) -> None:
    missing = [
        f"{name}: {field}"
        for name, _, operation in operations(document)
        for field in ("summary", "description")
        if not str(operation.get(field, "")).strip()
    ]
    assert missing == []


def test_every_answer_with_a_body_has_an_example(document: dict[str, Any]) -> None:
    missing = [
        f"{name} {status}"
        for name, _, operation in operations(document)
        for status, response in operation["responses"].items()
        if status not in NO_BODY and not list(examples_of(response))
    ]
    assert missing == []


def test_every_error_is_in_the_shape_the_endpoint_answers(document: dict[str, Any]) -> None:
    wrong = []
    for name, path, operation in operations(document):
        shape = "OAuthErrorResponse" if path == TOKEN else "ErrorResponse"
        for status, response in operation["responses"].items():
            if not status.startswith("4"):
                continue
            refs = {
                media.get("schema", {}).get("$ref", "")
                for media in response.get("content", {}).values()
            }
            if refs != {f"#/components/schemas/{shape}"}:
                wrong.append(f"{name} {status}: {sorted(refs)}")
    assert wrong == []
    assert {"ErrorResponse", "OAuthErrorResponse"} <= set(document["components"]["schemas"])


def test_examples_fit_the_models_the_node_answers_with(document: dict[str, Any]) -> None:
    checked, wrong = set(), []
    for name, _, operation in operations(document):
        for status, response in operation["responses"].items():
            for schema, example in examples_of(response):
                model = MODELS.get(schema)
                if model is None:
                    continue
                checked.add(schema)
                extra = set(example) - set(model.model_fields)
                try:
                    model.model_validate(example)
                except ValueError as exc:
                    wrong.append(f"{name} {status}: {exc}")
                if extra:
                    wrong.append(f"{name} {status}: fields not in {schema}: {sorted(extra)}")
    assert wrong == []
    assert checked == set(MODELS)


def test_operations_document_only_errors_they_can_answer(document: dict[str, Any]) -> None:
    statuses = {name: set(op["responses"]) for name, _, op in operations(document)}
    assert statuses["POST /oauth/token"] == {"200", "400", "401"}
    assert "413" in statuses["POST /api/v1/partner/webhooks"]
    assert "422" in statuses["GET /api/v1/partner/events"]
    bodiless = [name for name, statuses in statuses.items() if "413" in statuses]
    assert bodiless == ["POST /api/v1/partner/webhooks"]
    for name in (
        "GET /api/v1/partner/webhooks",
        "DELETE /api/v1/partner/webhooks/{subscription_id}",
    ):
        assert "422" not in statuses[name], name
    test_send = statuses["POST /api/v1/partner/webhooks/{subscription_id}/test"]
    assert {"202", "401", "403", "404", "409", "429"} == test_send


async def test_the_node_documents_the_error_codes_it_answers(
    node: TestNode, document: dict[str, Any]
) -> None:
    """Two errors answered for real carry the code and shape their examples show."""
    paths = document["paths"]
    unknown = await node.client.post(TOKEN, data={"grant_type": "client_credentials"})
    token_401 = paths[TOKEN]["post"]["responses"]["401"]
    assert unknown.status_code == 401
    assert unknown.json()["error"] in {example["error"] for _, example in examples_of(token_401)}
    anonymous = await node.client.get("/api/v1/partner/webhooks")
    documented = paths["/api/v1/partner/webhooks"]["get"]["responses"]["401"]
    assert anonymous.status_code == 401
    assert [anonymous.json()] == [example for _, example in examples_of(documented)]


async def test_the_docs_page_renders_the_partner_document(node: TestNode) -> None:
    response = await node.client.get("/api/v1/partner/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert DOCUMENT in response.text
    assert "<redoc" in response.text.lower()
