"""``ipo-node partners add|list|revoke``, as a node's admin runs them."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from node.cli import main
from node.config import load_settings
from node.main import create_app
from tests.test_cli import init


async def call(data_dir: Path, method: str, path: str, **kwargs: object) -> httpx.Response:
    app = create_app(load_settings(data_dir))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:9"
        ) as client,
    ):
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


def token_status(data_dir: Path, client_id: str, secret: str) -> int:
    response = asyncio.run(
        call(
            data_dir,
            "POST",
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
    )
    return response.status_code


def partners(data_dir: Path, *args: str) -> int:
    return main(["partners", "--data-dir", str(data_dir), *args])


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> Path:
    directory = tmp_path / "ward30"
    assert init(directory, database_url, "--admin-password", "a long passphrase") == 0
    capsys.readouterr()
    return directory


class TestPartnersCommand:
    def test_add_list_revoke(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert (
            partners(
                data_dir,
                "add",
                "--name", "SEIU Local 73",
                "--contact", "it@local73.example",
                "--scope", "events:read",
                "--scope", "canvass:read",
                "--expires-days", "30",
            )
            == 0
        )  # fmt: skip
        out = capsys.readouterr().out
        client_id = re.search(r"client_id:\s+(pc_\S+)", out)
        secret = re.search(r"client_secret:\s+(pcs_\S+)", out)
        assert client_id, out
        assert secret, out
        assert "shown this once" in out
        assert token_status(data_dir, client_id[1], secret[1]) == 200

        assert partners(data_dir, "list") == 0
        listing = capsys.readouterr().out
        assert client_id[1] in listing
        assert "active" in listing
        assert "canvass:read events:read" in listing
        assert "expires" in listing
        assert secret[1] not in listing

        assert partners(data_dir, "revoke", client_id[1]) == 0
        assert "revoked" in capsys.readouterr().out
        assert token_status(data_dir, client_id[1], secret[1]) == 401
        assert partners(data_dir, "list") == 0
        assert "revoked" in capsys.readouterr().out

    def test_changes_are_audited_as_the_command_line(
        self, data_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        partners(
            data_dir,
            "add",
            "--name",
            "Local 1",
            "--contact",
            "a@b.example",
            "--scope",
            "events:read",
        )
        client_id = re.search(r"client_id:\s+(pc_\S+)", capsys.readouterr().out)
        assert client_id
        assert partners(data_dir, "revoke", client_id[1]) == 0
        capsys.readouterr()
        assert main(["token", "--data-dir", str(data_dir), "--email", "chair@ward30.example"]) == 0
        token = capsys.readouterr().out.strip()
        audit = asyncio.run(
            call(data_dir, "GET", "/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
        ).json()["items"]
        assert {
            (entry["action"], entry["actor_kind"])
            for entry in audit
            if entry["object_id"] == client_id[1]
        } == {("partner_client.create", "cli"), ("partner_client.revoke", "cli")}

    def test_empty_list(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert partners(data_dir, "list") == 0
        assert "No partner clients yet." in capsys.readouterr().out

    def test_bad_input_is_one_sentence_and_changes_nothing(
        self, data_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        base = ["add", "--name", "Local 1", "--scope", "events:read"]
        assert partners(data_dir, *base, "--contact", "not an email") == 2
        assert "contact" in capsys.readouterr().err
        assert partners(data_dir, *base, "--contact", "a@b.example", "--expires-days", "0") == 2
        assert "--expires-days" in capsys.readouterr().err
        assert partners(data_dir, "revoke", "pc_nobody") == 2
        assert "No partner client pc_nobody" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            partners(
                data_dir,
                "add",
                "--name",
                "x",
                "--contact",
                "a@b.example",
                "--scope",
                "members:read",
            )
        capsys.readouterr()
        assert partners(data_dir, "list") == 0
        assert "No partner clients yet." in capsys.readouterr().out
