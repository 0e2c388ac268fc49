"""A joint endorsement between five real ``ipo-node`` processes (issue 4, end-to-end case).

33rd Ward Working Families proposes a mayoral endorsement to four allies (30th United, United
Neighbors of the 35th Ward, 39th Ward Neighbors United, United Northwest Side); each signer's
admin reads the exact text through its own node's API and signs; ``ratified`` shows on all
five nodes; a bundle downloaded from a signer verifies offline with ``ipo-node verify`` and a
flipped byte does not; an edit on the proposer voids every signature everywhere.

Topology: a full mesh. The proposer offers its four alliances with ``ipo-node ally`` (and the
signers accept with ``ipo-node allies accept``), as ``tests/e2e/test_real_nodes.py`` does; the
six signer-to-signer alliances are made through the admin API (``POST /api/v1/alliances`` and
``.../accept``), which is quicker than six more CLI round trips on a small machine. The mesh is
needed for what is checked here: ``node/endorsements/sharing.py`` keeps a signature from a
signer this node is not allied with as ``verified: false``, and a bundle carries only the keys
its exporting node holds, so in a star a signer's bundle would lack the other signers' keys and
``ipo-node verify`` would fail it ("missing key").

The five nodes are started once for the module; the tests run in order on one endorsement.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import NodeMaker
from tests.e2e.realnode import (
    RealNode,
    ally_through_api,
    eventually,
    init_nodes,
    run_command,
    serve_nodes,
)

pytestmark = pytest.mark.e2e

ENDORSEMENTS = "/api/v1/endorsements"
STATEMENT = "We endorse Ada Organizer for mayor: housing, transit, schools."
EDITED = "We endorse Ada Organizer for mayor: housing, transit, schools, and clean air."


def draft_body(signers: list[RealNode]) -> dict[str, Any]:
    return {
        "race": {
            "office": "mayor",
            "district": "citywide",
            "election_date": "2031-02-25",
            "election_type": "primary",
        },
        "candidate": {"name": "Ada Organizer", "campaign_url": "https://ada.example/"},
        "statement": STATEMENT,
        "tier": "endorse",
        "required_signers": [node.url for node in signers],
        "rule": {"kind": "all"},
    }


@dataclass
class Coalition:
    ward33: RealNode
    signers: list[RealNode]
    state: dict[str, Any] = field(default_factory=dict)
    """What earlier tests left for later ones: the endorsement's global id."""

    @property
    def everyone(self) -> list[RealNode]:
        return [self.ward33, *self.signers]


@pytest.fixture(scope="module")
def coalition(module_nodes: NodeMaker) -> Coalition:
    """Five nodes, each its own ``serve`` process and database, allied in a full mesh."""
    ward33 = module_nodes("33rd Ward Working Families", "ward33", 33)
    signers = [
        module_nodes("30th United", "ward30", 30),
        module_nodes("United Neighbors of the 35th Ward", "ward35", 35),
        module_nodes("39th Ward Neighbors United", "ward39", 39),
        module_nodes("United Northwest Side", "nwside", 45),
    ]
    everyone = [ward33, *signers]
    init_nodes(everyone)
    serve_nodes(everyone)
    with ThreadPoolExecutor(max_workers=len(everyone)) as pool:
        # Each admin's bearer token (``ipo-node token``), fetched side by side
        list(pool.map(lambda node: node.api, everyone))
    # Alliances through the admins' API (the CLI handshake has its own test, test_real_nodes):
    # ward33 with each signer, then the signers with each other, in three rounds of two
    # disjoint pairs
    for signer in signers:
        ally_through_api(ward33, signer)
    a, b, c, d = signers
    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_ in (((a, b), (c, d)), ((a, c), (b, d)), ((a, d), (b, c))):
            list(pool.map(lambda pair: ally_through_api(*pair), round_))
    for node in everyone:
        states = {url: alliance["state"] for url, alliance in node.alliances().items()}
        assert states == {other.url: "active" for other in everyone if other is not node}
    return Coalition(ward33, signers)


def held(node: RealNode, object_id: str) -> dict[str, Any] | None:
    """``node``'s copy of the endorsement with this global id, read through its own API."""
    listed = node.api.get(ENDORSEMENTS)
    assert listed.status_code == 200, listed.text
    found = [item for item in listed.json()["items"] if item["object_id"] == object_id]
    return found[0] if found else None


def wait_for(
    node: RealNode, object_id: str, *, status: str, content_version: int, signed: int | None
) -> dict[str, Any]:
    """Wait until ``node`` holds the endorsement in this state; ``signed=None``: any count."""
    found = eventually(
        lambda: held(node, object_id),
        lambda item: (
            item is not None
            and (item["status"], item["content_version"]) == (status, content_version)
            and (signed is None or item["signed"] == signed)
        ),
        what=f"{node.slug} to show {status} at content version {content_version}, "
        f"{'any number' if signed is None else signed} signed",
    )
    assert found is not None
    return found


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    """``ipo-node verify FILE`` as anyone holding the bundle runs it, offline."""
    return run_command("verify", str(path), timeout=60)


class TestFourAlliesSign:
    def test_the_text_reaches_every_signer_which_signs_and_all_five_show_ratified(
        self, coalition: Coalition
    ) -> None:
        ward33, signers = coalition.ward33, coalition.signers

        # Given 33WF's organizer drafts a mayoral endorsement needing all four allies, and opens it
        created = ward33.api.post(ENDORSEMENTS, json=draft_body(signers))
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "draft"
        opened = ward33.api.post(f"{ENDORSEMENTS}/{created.json()['id']}/open")
        assert opened.status_code == 200, opened.text
        assert opened.json()["status"] == "collecting"
        object_id = opened.json()["object_id"]
        coalition.state["object_id"] = object_id

        # When each signer's admin reads the exact text on its own node, then signs that version
        # (a later signer may already hold earlier signers' signatures: any count will do)
        for signer in signers:
            seen = wait_for(signer, object_id, status="collecting", content_version=1, signed=None)
            shown = signer.api.get(f"{ENDORSEMENTS}/{seen['id']}")
            assert shown.status_code == 200, shown.text
            text = shown.json()
            assert text["origin"] == ward33.url
            assert text["statement"] == STATEMENT
            assert text["candidate"]["name"] == "Ada Organizer"
            assert text["race"]["office"] == "mayor"
            assert text["required_signers"] == [node.url for node in signers]
            signed = signer.api.post(
                f"{ENDORSEMENTS}/{seen['id']}/sign",
                json={"content_version": text["content_version"]},
            )
            assert signed.status_code == 200, signed.text

        # Then all five nodes show it ratified, with four signatures each node verified itself
        for node in coalition.everyone:
            found = wait_for(node, object_id, status="ratified", content_version=1, signed=4)
            assert found["needed"] == 4
            answers = {s["signer"]: (s["decision"], s["verified"]) for s in found["signatures"]}
            assert answers == {signer.url: ("sign", True) for signer in signers}, node.slug


class TestTheBundle:
    def test_a_signers_bundle_verifies_offline_and_a_flipped_byte_does_not(
        self, coalition: Coalition, tmp_path: Path
    ) -> None:
        object_id = coalition.state.get("object_id")
        if object_id is None:
            pytest.skip("the endorsement was not ratified")
        signers = coalition.signers
        exporter = signers[2]

        # Given the bundle downloaded from one signer's node (39th Ward Neighbors United)
        found = held(exporter, object_id)
        assert found is not None
        assert found["status"] == "ratified"
        response = exporter.api.get(f"{ENDORSEMENTS}/{found['id']}/bundle")
        assert response.status_code == 200, response.text
        good = tmp_path / "bundle.json"
        good.write_bytes(response.content)
        data = json.loads(response.content)
        assert data["exported_by"] == exporter.url
        assert set(data["keys"]) == {signer.url for signer in signers}

        # When anyone runs `ipo-node verify` on it
        checked = verify(good)

        # Then it exits 0 and names every signer's signature as holding
        assert checked.returncode == 0, f"{checked.stdout}\n{checked.stderr}"
        for signer in signers:
            assert f"  {signer.url}: signed, signature holds" in checked.stdout, checked.stdout
        assert "OK: the rule is met and every signature holds" in checked.stdout

        # When one byte of the statement is flipped in a copy
        raw = bytearray(response.content)
        where = raw.find(b"housing")
        assert where > 0
        assert raw.count(b"housing") == 1
        raw[where] ^= 0x01  # "housing" -> "iousing"
        tampered = tmp_path / "tampered.json"
        tampered.write_bytes(bytes(raw))
        assert json.loads(raw)["endorsement"]["statement"] != STATEMENT

        # Then `ipo-node verify` exits non-zero and no signature holds
        refused = verify(tampered)
        assert refused.returncode != 0, refused.stdout
        assert "signature holds" not in refused.stdout, refused.stdout
        for signer in signers:
            assert f"  {signer.url}: sign FAILS" in refused.stdout, refused.stdout
        assert "the bundle does not verify" in refused.stderr


class TestAnEditVoids:
    def test_an_edit_on_the_proposer_returns_it_to_collecting_on_every_node(
        self, coalition: Coalition
    ) -> None:
        object_id = coalition.state.get("object_id")
        if object_id is None:
            pytest.skip("the endorsement was not ratified")
        ward33 = coalition.ward33
        for node in coalition.everyone:
            wait_for(node, object_id, status="ratified", content_version=1, signed=4)

        # When 33WF's organizer changes the statement of the ratified endorsement
        own = held(ward33, object_id)
        assert own is not None
        edited = ward33.api.patch(f"{ENDORSEMENTS}/{own['id']}", json={"statement": EDITED})
        assert edited.status_code == 200, edited.text

        # Then every node shows it collecting again at content version 2, the new text, and no
        # signature counting
        for node in coalition.everyone:
            found = wait_for(node, object_id, status="collecting", content_version=2, signed=0)
            assert found["statement"] == EDITED, node.slug
            assert all(s["decision"] != "sign" or s["content_version"] == 2
                       for s in found["signatures"]), node.slug  # fmt: skip
