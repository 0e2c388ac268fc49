"""The bundle and ``ipo-node verify``: offline checks that trust nobody who shows the file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.keys import generate_key
from node.accounts.models import Role
from node.cli import main
from node.endorsements.bundle import check_bundle
from node.endorsements.signing import SignatureCheckFailed, sign_digest, verify_signature
from schemas.endorsement import (
    CONTENT_FIELDS,
    EndorsementSignature,
    JointEndorsement,
    content_of,
    signed_digest,
    signed_document,
)
from tests.endorsements import ENDORSEMENTS, answer, coalition, propose, settle


@pytest.fixture
async def ratified_bundle(nodes) -> dict[str, Any]:
    ward33, ward30, ward35 = await coalition(nodes, ("ward33", "ward30", "ward35"))
    three = [ward33, ward30, ward35]
    proposed = await propose(ward33, [ward33.url, ward30.url, ward35.url])
    await settle(three)
    for node in three:
        assert (await answer(node, proposed["object_id"])).status_code == 200
        await settle(three)
    # Exported by a signer (not the proposer): any holder's copy verifies the same
    member = await ward30.as_role(Role.member)
    listed = (await member.get(ENDORSEMENTS)).json()["items"]
    response = await member.get(f"{ENDORSEMENTS}/{listed[0]['id']}/bundle")
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["endorsement"]["status"] == "ratified"
    return bundle


def run_verify(tmp_path: Path, bundle: dict[str, Any] | bytes, capsys) -> tuple[int, str]:
    path = tmp_path / "bundle.json"
    path.write_bytes(bundle if isinstance(bundle, bytes) else json.dumps(bundle).encode())
    code = main(["verify", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


class TestVerifyCommand:
    async def test_a_good_bundle_verifies(self, ratified_bundle, tmp_path, capsys):
        code, out = run_verify(tmp_path, ratified_bundle, capsys)
        assert code == 0, out
        assert out.count("signed, signature holds") == 3
        assert "OK" in out

    async def test_a_flipped_byte_in_the_text_fails(self, ratified_bundle, tmp_path, capsys):
        raw = json.dumps(ratified_bundle).encode()
        statement = ratified_bundle["endorsement"]["statement"].encode()
        at = raw.index(statement) + 3
        flipped = raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]
        code, out = run_verify(tmp_path, flipped, capsys)
        assert code == 2
        assert out.count("FAILS: the JWS does not verify") == 3

    async def test_a_flipped_byte_in_one_signature_fails_that_signer(
        self, ratified_bundle, tmp_path, capsys
    ):
        signature = ratified_bundle["endorsement"]["signatures"][1]
        jws = signature["jws"]
        signature["jws"] = jws[:-5] + ("A" if jws[-5] != "A" else "B") + jws[-4:]
        code, out = run_verify(tmp_path, ratified_bundle, capsys)
        assert code == 2
        assert out.count("signed, signature holds") == 2
        assert f"{signature['signer']}: sign FAILS" in out

    async def test_a_missing_key_fails_clearly(self, ratified_bundle, tmp_path, capsys):
        signer = ratified_bundle["endorsement"]["signatures"][0]["signer"]
        del ratified_bundle["keys"][signer]
        code, out = run_verify(tmp_path, ratified_bundle, capsys)
        assert code == 2
        assert f"{signer}: sign FAILS: missing key" in out

    async def test_a_wrong_version_fails_clearly(self, ratified_bundle, tmp_path, capsys):
        ratified_bundle["endorsement"]["content_version"] += 1
        code, out = run_verify(tmp_path, ratified_bundle, capsys)
        assert code == 2
        assert "signed content version 1, the endorsement is at 2" in out

    async def test_a_key_swapped_for_another_fails(self, ratified_bundle, tmp_path, capsys):
        signer = ratified_bundle["endorsement"]["signatures"][0]["signer"]
        ratified_bundle["keys"][signer] = {"keys": [generate_key().public_jwk()]}
        code, out = run_verify(tmp_path, ratified_bundle, capsys)
        assert code == 2
        assert "no published key" in out

    def test_not_a_bundle_is_a_clear_error(self, tmp_path, capsys):
        code, out = run_verify(tmp_path, b"{not json", capsys)
        assert code == 2
        assert "is not JSON" in out


# ---- property: any content change after signing breaks the signature -------------------------

KEY = generate_key()
BASE = JointEndorsement.model_validate(
    {
        "type": "JointEndorsement",
        "schema_version": 1,
        "id": "http://ward33.test/endorsements/e1",
        "attributed_to": "http://ward33.test",
        "version": 3,
        "content_version": 1,
        "race": {"office": "alderperson", "district": "ward 33",
                 "election_date": "2031-02-25", "election_type": "general"},
        "candidate": {"name": "Rossana", "campaign_url": "https://r.example/"},
        "statement": "Endorsed.",
        "tier": "endorse",
        "required_signers": ["http://ward30.test", "http://ward35.test"],
        "rule": {"kind": "all"},
        "deadline": "2031-01-01T00:00:00Z",
        "status": "collecting",
    }
)  # fmt: skip


def _signature(endorsement: JointEndorsement) -> EndorsementSignature:
    document = signed_document(
        content_of(endorsement),
        endorsement_id=endorsement.id,
        content_version=endorsement.content_version,
        decision="sign",
        vote_summary=None,
    )
    return EndorsementSignature(
        type="EndorsementSignature",
        id="http://ward30.test/endorsement-signatures/s1",
        endorsement=endorsement.id,
        content_version=endorsement.content_version,
        signer="http://ward30.test",
        decision="sign",
        jws=sign_digest(signed_digest(document), key=KEY),
    )


SIGNATURE = _signature(BASE)
JWKS = {"keys": [KEY.public_jwk()]}

WIRE_TEXT = st.characters(blacklist_categories=("Cc", "Cs"))
"""Any character the wire's text fields take (FEDERATION.md 4.3: no control characters)."""

changes = st.one_of(
    st.text(WIRE_TEXT, min_size=1, max_size=50).filter(str.strip).map(
        lambda t: {"statement": "x" + t}
    ),
    st.sampled_from([{"tier": "recommend"}]),
    st.text(WIRE_TEXT, min_size=1, max_size=30).filter(str.strip).map(
        lambda t: {"candidate": {"name": "N" + t}}
    ),
    st.sampled_from(["mayor", "committeeperson", "state_representative"]).map(
        lambda o: {"race": {**BASE.race.model_dump(mode="json"), "office": o}}
    ),
    st.integers(min_value=1, max_value=50).map(
        lambda n: {"race": {**BASE.race.model_dump(mode="json"), "district": f"ward {n}x"}}
    ),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)).map(
        lambda d: {"race": {**BASE.race.model_dump(mode="json"), "election_date": d.isoformat()}}
    ).filter(lambda c: c["race"]["election_date"] != "2031-02-25"),
    st.sampled_from([{"rule": {"kind": "at_least", "threshold": 1}},
                     {"required_signers": ["http://ward30.test"]},
                     {"required_signers": ["http://ward30.test", "http://ward39.test"]},
                     {"deadline": None}, {"deadline": "2031-01-01T00:00:01Z"},
                     {"attributed_to": "http://ward33.test:8080"}]),
)  # fmt: skip


class TestAnyContentChangeBreaksTheSignature:
    def test_the_unchanged_endorsement_verifies(self):
        verify_signature(BASE, SIGNATURE, jwks=JWKS)

    def test_every_content_field_is_covered(self):
        assert set(CONTENT_FIELDS) == {
            "attributed_to", "race", "candidate", "position", "statement", "tier",
            "required_signers", "rule", "deadline",
        }  # fmt: skip

    @settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(change=changes)
    def test_a_changed_content_field_fails(self, change):
        data = BASE.model_dump(mode="json", exclude_none=True)
        data.update(change)
        if data.get("deadline") is None:
            data.pop("deadline", None)
        if data["attributed_to"] != BASE.attributed_to:
            data["id"] = data["attributed_to"] + "/endorsements/e1"
        changed = JointEndorsement.model_validate(data)
        assert content_of(changed) != content_of(BASE)
        # The signature object names the (possibly moved) endorsement it is checked against
        signature = SIGNATURE.model_copy(update={"endorsement": changed.id})
        with pytest.raises(SignatureCheckFailed):
            verify_signature(changed, signature, jwks=JWKS)

    def test_check_bundle_refuses_garbage(self):
        from node.endorsements.bundle import BundleError

        with pytest.raises(BundleError):
            check_bundle({"type": "Something"})


class TestBundlesThatTryToMislead:
    async def test_a_forged_answer_hidden_behind_a_good_one_is_refused(
        self, ratified_bundle, tmp_path, capsys
    ):
        signatures = ratified_bundle["endorsement"]["signatures"]
        forged = dict(signatures[1])
        forged["jws"] = forged["jws"][:-4] + ("AAAA" if forged["jws"][-4:] != "AAAA" else "BBBB")
        signatures.insert(0, forged)  # the same signer twice: forged first, real one after
        code, out = run_verify(tmp_path, ratified_bundle, capsys)
        assert code == 2
        assert "one answer per signer" in out

    async def test_the_claimed_status_is_not_believed(self, ratified_bundle, tmp_path, capsys):
        # Still says "ratified", but one of the three required signatures is gone
        ratified_bundle["endorsement"]["signatures"].pop()
        code, out = run_verify(tmp_path, ratified_bundle, capsys)
        assert code == 2
        assert "status as the exporting node states it (not signed): ratified" in out
        assert "FAILED: only 2 of the 3 signatures needed hold" in out
