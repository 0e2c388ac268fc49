"""An unknown path answers a page to a browser and JSON to everything else."""

from __future__ import annotations

import pytest

from tests.nodes import TestNode

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class TestUnknownPaths:
    async def test_a_browser_gets_the_html_error_page(self, node: TestNode) -> None:
        response = await node.client.get("/no-such-page", headers={"Accept": BROWSER})
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert '<html lang="en">' in response.text
        assert "Page not found" in response.text

    async def test_a_wrong_method_in_a_browser_is_a_page_too(self, node: TestNode) -> None:
        response = await node.client.delete("/login", headers={"Accept": BROWSER})
        assert response.status_code == 405
        assert response.headers["content-type"].startswith("text/html")

    @pytest.mark.parametrize(
        "path", ["/api/v1/nothing", "/federation/nothing", "/oauth/nothing", "/.well-known/x"]
    )
    async def test_machine_paths_answer_json_even_to_a_browser(
        self, node: TestNode, path: str
    ) -> None:
        response = await node.client.get(path, headers={"Accept": BROWSER})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    @pytest.mark.parametrize("accept", [None, "application/json", "application/json, text/html"])
    async def test_clients_that_do_not_prefer_html_get_json(
        self, node: TestNode, accept: str | None
    ) -> None:
        headers = {"Accept": accept} if accept else {}
        response = await node.client.get("/no-such-page", headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "Nothing here: check the path."
