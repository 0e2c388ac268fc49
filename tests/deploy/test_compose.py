"""The compose file and the Dockerfile, checked without a Docker engine."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from node.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
NODE_SERVICES = ("migrate", "node", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return dict(compose["services"])


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = (REPO / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _args(dockerfile: list[tuple[str, str]], keyword: str) -> list[str]:
    return [rest for kw, rest in dockerfile if kw == keyword]


class TestComposeFile:
    def test_has_the_services(self, services: dict[str, Any]) -> None:
        assert set(services) == {"db", "migrate", "node", "worker", "caddy"}

    @pytest.mark.parametrize("service", NODE_SERVICES)
    def test_every_command_is_an_ipo_node_subcommand(
        self, services: dict[str, Any], service: str
    ) -> None:
        command = services[service]["command"]
        args = build_parser().parse_args(command)  # SystemExit (a failure) if it is not
        assert args.command == {"node": "serve"}.get(service, service)
        assert args.data_dir == Path("/data")

    def test_node_services_run_the_one_image_built_from_the_dockerfile(
        self, services: dict[str, Any]
    ) -> None:
        images = {services[name]["image"] for name in NODE_SERVICES}
        assert len(images) == 1
        for name in NODE_SERVICES:
            assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
            assert (REPO / services[name]["build"]["context"] / "deploy/Dockerfile").exists()

    def test_database_has_a_volume_and_a_health_check(self, services: dict[str, Any]) -> None:
        db = services["db"]
        assert db["image"].startswith("postgres:")
        assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
        assert "pg_isready" in " ".join(db["healthcheck"]["test"])

    def test_migrate_is_one_shot_after_the_database_is_healthy(
        self, services: dict[str, Any]
    ) -> None:
        migrate = services["migrate"]
        assert migrate["restart"] == "no"
        assert migrate["depends_on"]["db"]["condition"] == "service_healthy"

    @pytest.mark.parametrize("service", ["node", "worker"])
    def test_node_and_worker_start_only_after_migrate_completed(
        self, services: dict[str, Any], service: str
    ) -> None:
        depends = services[service]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert services[service]["restart"] == "unless-stopped"

    @pytest.mark.parametrize("service", NODE_SERVICES)
    def test_data_volume_is_mounted_with_the_same_database(
        self, compose: dict[str, Any], services: dict[str, Any], service: str
    ) -> None:
        assert "node-data:/data" in services[service]["volumes"]
        assert "node-data" in compose["volumes"]
        env = services[service]["environment"]
        assert env["IPO_DATA_DIR"] == "/data"
        assert env["DATABASE_URL"].startswith("postgresql://ipo:")
        assert env["DATABASE_URL"].endswith("@db:5432/ipo")

    def test_only_the_worker_service_delivers(self, services: dict[str, Any]) -> None:
        assert services["node"]["environment"]["IPO_EMBEDDED_WORKER"] == "false"
        assert "IPO_EMBEDDED_WORKER" not in services["worker"]["environment"]

    def test_node_is_health_checked_and_caddy_waits_for_it(
        self, services: dict[str, Any], dockerfile: list[tuple[str, str]]
    ) -> None:
        assert "healthcheck" not in services["node"]  # the image's HEALTHCHECK applies
        assert "/readyz" in _args(dockerfile, "HEALTHCHECK")[0]
        assert services["caddy"]["depends_on"]["node"]["condition"] == "service_healthy"
        # the image's check is an HTTP one: it is switched off where nothing listens
        for service in ("migrate", "worker"):
            assert services[service]["healthcheck"] == {"disable": True}

    def test_caddy_terminates_tls_for_the_host_from_env(self, services: dict[str, Any]) -> None:
        caddy = services["caddy"]
        assert caddy["image"].startswith("caddy:")
        assert {"80:80", "443:443"} <= set(caddy["ports"])
        assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
        assert any(v.endswith(":/data") for v in caddy["volumes"])  # certificates persist
        assert caddy["environment"]["IPO_UPSTREAM"] == "node:8000"
        caddyfile = (REPO / "deploy" / "Caddyfile").read_text()
        assert "{$IPO_HOSTNAME} {" in caddyfile
        assert "reverse_proxy {$IPO_UPSTREAM" in caddyfile

    def test_node_port_is_not_published_past_caddy(self, services: dict[str, Any]) -> None:
        for service in NODE_SERVICES:
            assert "ports" not in services[service]

    def test_every_variable_is_documented_in_env_example(self) -> None:
        used = set(re.findall(r"\$\{(\w+)", (REPO / "docker-compose.yml").read_text()))
        example = (REPO / "deploy" / "env.example").read_text()
        documented = set(re.findall(r"^#?\s*(\w+)=", example, flags=re.MULTILINE))
        assert used <= documented, used - documented


class TestDockerfile:
    def test_runs_as_a_non_root_user(self, dockerfile: list[tuple[str, str]]) -> None:
        users = _args(dockerfile, "USER")
        assert users
        assert users[-1] not in ("root", "0")

    def test_has_a_health_check(self, dockerfile: list[tuple[str, str]]) -> None:
        [check] = _args(dockerfile, "HEALTHCHECK")
        assert "CMD" in check

    def test_entrypoint_is_ipo_node_and_default_command_serves(
        self, dockerfile: list[tuple[str, str]]
    ) -> None:
        assert _args(dockerfile, "ENTRYPOINT") == ['["ipo-node"]']
        [cmd] = _args(dockerfile, "CMD")
        args = build_parser().parse_args(yaml.safe_load(cmd))
        assert args.command == "serve"

    def test_installs_the_package_and_bakes_in_no_node_data(
        self, dockerfile: list[tuple[str, str]]
    ) -> None:
        assert _args(dockerfile, "FROM")[0].startswith("python:3.11-slim")
        assert any("pip install ." in run for run in _args(dockerfile, "RUN"))
        copied = {shlex.split(args)[0] for args in _args(dockerfile, "COPY")}
        assert copied <= {"pyproject.toml", "node", "federation", "schemas"}
        ignore = (REPO / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
        assert ignore[1] == "*"  # everything is excluded unless named
        for secret in ("**/*.pem", "**/node.toml", "**/*.db"):
            assert secret in ignore
        assert "/data" in " ".join(_args(dockerfile, "VOLUME"))


class TestSystemdUnits:
    @pytest.mark.parametrize(
        ("unit", "command"),
        [
            ("ipo-node.service", "serve"),
            ("ipo-node-worker.service", "worker"),
            ("ipo-node-migrate.service", "migrate"),
            ("ipo-node-backup.service", "backup"),
        ],
    )
    def test_runs_an_ipo_node_command_hardened(self, unit: str, command: str) -> None:
        text = (REPO / "deploy" / "systemd" / unit).read_text()
        settings = dict(
            line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#"
        )
        argv = shlex.split(settings["ExecStart"])
        assert argv[0].endswith("/bin/ipo-node")
        assert build_parser().parse_args(argv[1:]).command == command
        assert settings["User"] == "ipo"
        assert settings["EnvironmentFile"] == "/etc/ipo-node/env"
        assert settings["NoNewPrivileges"] == "yes"
        assert settings["ProtectSystem"] == "strict"
        assert "/var/lib/ipo-node" in settings["ReadWritePaths"].split()
        if command in ("serve", "worker"):
            assert settings["Restart"] == "on-failure"
            assert "ipo-node-migrate.service" in settings["After"]
