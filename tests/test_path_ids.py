"""A row id in an address (API or page) that no INTEGER column holds is a 4xx, never a 500."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from node.accounts.models import Role
from tests.nodes import TestNode
from tests.web.page_client import page_client


def integer_routes(node: TestNode, value: int) -> list[tuple[str, str]]:
    """(method, path) of every route with an integer path parameter, each set to ``value``."""
    routes = []
    for route in node.app.routes:
        if not isinstance(route, APIRoute):
            continue
        integers = {p.name for p in route.dependant.path_params if p.field_info.annotation is int}
        if not integers:
            continue
        path = re.sub(
            r"\{([a-z_]+)(:[a-z]+)?\}",
            lambda m, names=integers: str(value) if m.group(1) in names else "x",
            route.path,
        )
        routes += [(method, path) for method in sorted(route.methods) if method != "HEAD"]
    return routes


@pytest.mark.parametrize(
    "value", [2**31, 2**63, 2**64], ids=["past int32", "past int64", "past 64 bits"]
)
async def test_an_id_no_integer_column_holds_is_refused_on_every_route(nodes, value) -> None:
    node: TestNode = await nodes.start("ward33")
    clients = {
        "API": await node.as_role(Role.admin),
        "browser": (await page_client(node, role=Role.admin)).client,
    }
    routes = integer_routes(node, value)
    assert len(routes) >= 10, routes  # users, tokens, members, imports, alliance pages
    answers = {
        f"{who} {method} {path}": (await client.request(method, path, json={})).status_code
        for who, client in clients.items()
        for method, path in routes
    }
    assert {route: status for route, status in answers.items() if not 400 <= status < 500} == {}
