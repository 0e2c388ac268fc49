"""Signed requests verify; anything tampered, stale, replayed or under-covered is refused."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.errors import (
    DigestMismatch,
    NotAnAlly,
    SignatureError,
    SignatureExpired,
    SignatureInvalid,
    SignatureMissing,
    SignatureReplayed,
    UnknownKey,
)
from federation.keys import NodeKey, generate_key
from federation.signing import (
    MemoryReplayCache,
    SignatureAuth,
    Verdict,
    content_digest,
    sign_request,
    verify_request,
    verify_signature,
)

NOW = datetime(2026, 3, 7, 16, 0, tzinfo=UTC)
INBOX = "https://ward35.example/federation/inbox"
ACTIVITY = json.dumps({"type": "Create", "id": "https://ward33.example/activities/1"}).encode()
BODY_COVERAGE = ("@method", "@target-uri", "content-type", "content-digest")

# The sender's key, made once: generating keys is the slow part of these tests.
SENDER = generate_key()


def resolver_for(*keys: NodeKey) -> Callable[[str], Ed25519PublicKey | None]:
    public = {key.kid: key.private_key.public_key() for key in keys}
    return public.get


def signed(
    *,
    method: str = "POST",
    url: str = INBOX,
    body: bytes | None = ACTIVITY,
    created: datetime = NOW,
    key: NodeKey = SENDER,
) -> httpx.Request:
    headers = {"Content-Type": "application/activity+json"} if body else {}
    request = httpx.Request(method, url, content=body, headers=headers)
    sign_request(request, key=key, created=created)
    return request


def verify(
    request: httpx.Request,
    *,
    method: str | None = None,
    url: str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    replay_cache: MemoryReplayCache | None = None,
    **options: Any,
) -> Verdict:
    """Verify as the receiving inbox would, optionally with parts of the request swapped."""
    return verify_request(
        method=request.method if method is None else method,
        url=str(request.url) if url is None else url,
        headers=dict(request.headers) if headers is None else headers,
        body=request.content if body is None else body,
        resolve_key=options.pop("resolve_key", resolver_for(SENDER)),
        replay_cache=MemoryReplayCache(clock=lambda: NOW) if replay_cache is None else replay_cache,
        now=options.pop("now", NOW),
        **options,
    )


class TestRfc9421TestVector:
    """RFC 9421 Appendix B.2.6, "Signing a Request Using ed25519", with the B.1.4 test key."""

    PUBLIC_KEY = load_pem_public_key(
        b"-----BEGIN PUBLIC KEY-----\n"
        b"MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
        b"-----END PUBLIC KEY-----\n"
    )
    URL = "https://example.com/foo?param=Value&Pet=dog"
    BODY = b'{"hello": "world"}'
    HEADERS = {
        "Host": "example.com",
        "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
        "Content-Type": "application/json",
        "Content-Digest": (
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7B"
            "NNyealdVLvRwEmTHWXvJwew==:"
        ),
        "Content-Length": "18",
        "Signature-Input": (
            'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
            ';created=1618884473;keyid="test-key-ed25519"'
        ),
        "Signature": (
            "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1"
            "u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
        ),
    }
    COVERED = ("date", "@method", "@path", "@authority", "content-type", "content-length")
    CREATED = datetime.fromtimestamp(1618884473, UTC)

    def resolve(self, keyid: str) -> Ed25519PublicKey | None:
        assert isinstance(self.PUBLIC_KEY, Ed25519PublicKey)
        return self.PUBLIC_KEY if keyid == "test-key-ed25519" else None

    def verify_vector(self, headers: dict[str, str]) -> Verdict:
        return verify_signature(
            method="POST",
            url=self.URL,
            headers=headers,
            body=self.BODY,
            resolve_key=self.resolve,
            required_components=self.COVERED,
            now=self.CREATED,
        )

    def test_our_verifier_accepts_the_rfc_example(self) -> None:
        verdict = self.verify_vector(self.HEADERS)
        assert verdict == Verdict(
            keyid="test-key-ed25519", created=self.CREATED, covered=self.COVERED
        )

    def test_the_example_with_another_date_is_refused(self) -> None:
        headers = self.HEADERS | {"Date": "Tue, 20 Apr 2021 02:07:56 GMT"}
        with pytest.raises(SignatureInvalid):
            self.verify_vector(headers)

    def test_the_example_does_not_satisfy_our_protocol(self) -> None:
        # It covers neither @target-uri nor content-digest, so an inbox must refuse it.
        with pytest.raises(SignatureInvalid, match="@target-uri"):
            verify_request(
                method="POST",
                url=self.URL,
                headers=self.HEADERS,
                body=self.BODY,
                resolve_key=self.resolve,
                replay_cache=MemoryReplayCache(),
                now=self.CREATED,
            )


class TestContentDigest:
    def test_matches_the_rfc_9530_example(self) -> None:
        assert content_digest(b'{"hello": "world"}') == (
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        )


class TestSigning:
    def test_a_post_through_an_httpx_client_verifies_at_the_receiver(self) -> None:
        received: list[Verdict] = []

        def inbox(request: httpx.Request) -> httpx.Response:
            received.append(verify(request))
            return httpx.Response(202)

        auth = SignatureAuth(SENDER, clock=lambda: NOW)
        with httpx.Client(transport=httpx.MockTransport(inbox), auth=auth) as client:
            response = client.post(INBOX, json={"type": "Create"})

        assert response.status_code == 202
        assert received == [Verdict(keyid=SENDER.kid, created=NOW, covered=BODY_COVERAGE)]

    async def test_an_async_client_signs_too(self) -> None:
        received: list[Verdict] = []

        def inbox(request: httpx.Request) -> httpx.Response:
            received.append(verify(request))
            return httpx.Response(202)

        auth = SignatureAuth(SENDER, clock=lambda: NOW)
        async with httpx.AsyncClient(transport=httpx.MockTransport(inbox), auth=auth) as client:
            await client.post(INBOX, json={"type": "Create"})

        assert [verdict.keyid for verdict in received] == [SENDER.kid]

    def test_a_get_is_signed_without_a_digest(self) -> None:
        request = signed(method="GET", url="https://ward35.example/events/7", body=None)
        assert "content-digest" not in request.headers
        assert verify(request).covered == ("@method", "@target-uri")

    def test_the_digest_header_is_computed_from_the_body(self) -> None:
        request = httpx.Request(
            "POST",
            INBOX,
            content=ACTIVITY,
            headers={"Content-Type": "application/json", "Content-Digest": "sha-256=:AAAA:"},
        )
        sign_request(request, key=SENDER, created=NOW)
        expected = base64.b64encode(hashlib.sha256(ACTIVITY).digest()).decode()
        assert request.headers["content-digest"] == f"sha-256=:{expected}:"

    def test_a_body_without_a_content_type_cannot_be_signed(self) -> None:
        request = httpx.Request("POST", INBOX, content=ACTIVITY)
        with pytest.raises(ValueError, match="Content-Type"):
            sign_request(request, key=SENDER, created=NOW)


class TestRefusals:
    def test_a_tampered_body_is_a_digest_mismatch(self) -> None:
        request = signed()
        with pytest.raises(DigestMismatch):
            verify(request, body=ACTIVITY.replace(b"Create", b"Delete"))

    def test_a_digest_rewritten_to_match_a_tampered_body_breaks_the_signature(self) -> None:
        request = signed()
        tampered = ACTIVITY.replace(b"Create", b"Delete")
        headers = dict(request.headers) | {"content-digest": content_digest(tampered)}
        with pytest.raises(SignatureInvalid):
            verify(request, body=tampered, headers=headers)

    def test_an_emptied_body_is_a_digest_mismatch(self) -> None:
        with pytest.raises(DigestMismatch):
            verify(signed(), body=b"")

    @pytest.mark.parametrize(
        ("method", "url"),
        [
            ("PUT", INBOX),
            ("POST", "https://ward35.example/federation/inbox/"),
            ("POST", "https://ward36.example/federation/inbox"),
            ("POST", "http://ward35.example/federation/inbox"),
            ("POST", "https://ward35.example:8443/federation/inbox"),
            ("POST", "https://ward35.example/federation/inbox?x=1"),
        ],
    )
    def test_another_method_or_url_breaks_the_signature(self, method: str, url: str) -> None:
        with pytest.raises(SignatureInvalid):
            verify(signed(), method=method, url=url)

    def test_an_unsigned_request_is_refused(self) -> None:
        request = httpx.Request("POST", INBOX, content=ACTIVITY)
        with pytest.raises(SignatureMissing):
            verify(request)

    def test_a_signature_input_without_a_signature_is_refused(self) -> None:
        headers = dict(signed().headers)
        del headers["signature"]
        with pytest.raises(SignatureMissing):
            verify(signed(), headers=headers)

    @pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
    def test_a_signature_created_more_than_five_minutes_away_has_expired(
        self, offset: timedelta
    ) -> None:
        with pytest.raises(SignatureExpired):
            verify(signed(created=NOW + offset))

    @pytest.mark.parametrize("offset", [timedelta(minutes=-4), timedelta(minutes=4)])
    def test_a_signature_within_five_minutes_is_accepted(self, offset: timedelta) -> None:
        assert verify(signed(created=NOW + offset)).created == NOW + offset

    def test_a_replayed_request_is_refused(self) -> None:
        request = signed()
        cache = MemoryReplayCache(clock=lambda: NOW)
        verify(request, replay_cache=cache)
        with pytest.raises(SignatureReplayed):
            verify(request, replay_cache=cache)

    def test_the_same_content_signed_again_is_not_a_replay(self) -> None:
        cache = MemoryReplayCache(clock=lambda: NOW)
        verify(signed(), replay_cache=cache)
        later = NOW + timedelta(seconds=1)
        assert verify(signed(created=later), replay_cache=cache).created == later

    def test_an_unknown_keyid_is_refused(self) -> None:
        with pytest.raises(UnknownKey):
            verify(signed(), resolve_key=resolver_for())

    def test_a_signature_by_another_key_under_a_known_keyid_is_invalid(self) -> None:
        impostor = generate_key()
        forged = NodeKey(kid=SENDER.kid, jwk=impostor.jwk, created_at=NOW)
        with pytest.raises(SignatureInvalid):
            verify(signed(key=forged))

    def test_a_refusal_raised_by_the_key_resolver_is_kept(self) -> None:
        def not_an_ally(keyid: str) -> Ed25519PublicKey | None:
            raise NotAnAlly()

        with pytest.raises(NotAnAlly):
            verify(signed(), resolve_key=not_an_ally)

    def test_a_body_whose_digest_is_not_covered_is_refused(self) -> None:
        request = self.signed_by_package(("@method", "@target-uri", "content-type"))
        with pytest.raises(SignatureInvalid, match="content-digest"):
            verify(request)

    def test_a_body_whose_content_type_is_not_covered_is_refused(self) -> None:
        request = self.signed_by_package(("@method", "@target-uri", "content-digest"))
        with pytest.raises(SignatureInvalid, match="content-type"):
            verify(request)

    def test_a_body_added_to_a_signed_get_is_refused(self) -> None:
        request = signed(method="GET", body=None)
        with pytest.raises(SignatureInvalid, match="was not covered"):
            verify(request, body=ACTIVITY)

    def test_an_algorithm_other_than_ed25519_is_refused(self) -> None:
        request = httpx.Request(
            "POST", INBOX, content=ACTIVITY, headers={"Content-Type": "application/json"}
        )
        HTTPMessageSigner(
            signature_algorithm=algorithms.HMAC_SHA256,
            key_resolver=MappingKeyResolver(public_keys={}, private_keys={SENDER.kid: b"s" * 32}),
        ).sign(
            request,
            key_id=SENDER.kid,
            created=NOW,
            covered_component_ids=BODY_COVERAGE,
            body=ACTIVITY,
        )
        with pytest.raises(SignatureInvalid, match="algorithm"):
            verify(request)

    @staticmethod
    def signed_by_package(covered: tuple[str, ...]) -> httpx.Request:
        """A request signed directly with the package, covering less than we require."""
        request = httpx.Request(
            "POST",
            INBOX,
            content=ACTIVITY,
            headers={
                "Content-Type": "application/json",
                "Content-Digest": content_digest(ACTIVITY),
            },
        )
        HTTPMessageSigner(
            signature_algorithm=algorithms.ED25519,
            key_resolver=MappingKeyResolver(
                public_keys={}, private_keys={SENDER.kid: SENDER.private_key}
            ),
        ).sign(
            request,
            key_id=SENDER.kid,
            created=NOW,
            label="sig1",
            covered_component_ids=covered,
            use_existing_digest=True,
        )
        return request


class TestTamperingProperty:
    """Every part of the request the receiver acts on is covered by the signature."""

    @settings(max_examples=200, deadline=None, database=None)
    @given(data=st.data())
    def test_flipping_any_byte_of_the_body_is_detected(self, data: st.DataObject) -> None:
        request = signed()
        index = data.draw(st.integers(min_value=0, max_value=len(ACTIVITY) - 1), label="index")
        mask = data.draw(st.integers(min_value=1, max_value=255), label="mask")
        tampered = bytearray(ACTIVITY)
        tampered[index] ^= mask
        with pytest.raises(DigestMismatch):
            verify(request, body=bytes(tampered))

    @settings(max_examples=200, deadline=None, database=None)
    @given(data=st.data())
    def test_changing_any_covered_part_is_detected(self, data: st.DataObject) -> None:
        request = signed()
        headers = dict(request.headers)
        method, url = request.method, str(request.url)
        part = data.draw(st.sampled_from(BODY_COVERAGE), label="part")
        if part == "@method":
            method = data.draw(st.sampled_from(["PUT", "PATCH", "DELETE", "GET"]))
        elif part == "@target-uri":
            path = data.draw(st.from_regex(r"/[a-z0-9/_.~-]{0,30}", fullmatch=True))
            url = data.draw(st.sampled_from(["https://ward35.example", "https://ward36.example"]))
            url += path
        elif part == "content-type":
            headers["content-type"] = data.draw(st.from_regex(r"[a-z]+/[a-z+.-]+", fullmatch=True))
        else:
            digest = data.draw(st.binary(min_size=32, max_size=32))
            headers["content-digest"] = f"sha-256=:{base64.b64encode(digest).decode()}:"
        changed = (method, url, headers) != (
            request.method,
            str(request.url),
            dict(request.headers),
        )
        if changed:
            with pytest.raises(SignatureError):
                verify(request, method=method, url=url, headers=headers)
        else:
            assert verify(request, method=method, url=url, headers=headers).keyid == SENDER.kid

    def test_a_header_outside_the_coverage_may_change(self) -> None:
        # The control for the property above: only covered parts are protected.
        request = signed()
        headers = dict(request.headers) | {"user-agent": "something else"}
        assert verify(request, headers=headers).keyid == SENDER.kid


class TestMemoryReplayCache:
    def test_remembers_a_pair_for_the_window_and_then_forgets_it(self) -> None:
        clock = [NOW]
        cache = MemoryReplayCache(window=timedelta(minutes=5), clock=lambda: clock[0])

        assert cache.seen_before("k1", b"sig", NOW) is False
        assert cache.seen_before("k1", b"sig", NOW) is True
        clock[0] = NOW + timedelta(minutes=5, seconds=1)
        assert cache.seen_before("k2", b"other", clock[0]) is False
        assert len(cache) == 1

    def test_the_same_signature_bytes_under_another_keyid_are_distinct(self) -> None:
        cache = MemoryReplayCache(clock=lambda: NOW)
        assert cache.seen_before("k1", b"sig", NOW) is False
        assert cache.seen_before("k2", b"sig", NOW) is False
