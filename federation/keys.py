"""Node identity: the Ed25519 keys a node signs with.

A node's keys live in ``DATA_DIR/keys/``, outside the database, so that a database dump never
carries a private key. The directory is ``0700`` and every private key file ``0600``.

    keys/
      keyring.json      which keys exist: kid, created, expires, status
      <kid>.pem         PKCS#8 private key, one per key

A key's ``kid`` is its RFC 7638 JWK thumbprint, so the kid *is* the fingerprint an admin
compares when accepting an alliance. Key states::

    active  --rotate-->  grace  --grace period over-->  retired

Exactly one key is ``active`` (it signs). ``grace`` keys are still published and accepted by
peers; ``retired`` keys are neither.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc.jwk import OKPKey

from federation.storage import utcnow

KeyStatus = Literal["active", "grace", "retired"]

KEYRING_FILE = "keyring.json"


class KeyringError(Exception):
    """The key directory is missing, unreadable, or not in the expected shape."""


@dataclass(frozen=True)
class NodeKey:
    """One Ed25519 key of this node."""

    kid: str
    jwk: OKPKey = field(repr=False)
    created_at: datetime
    status: KeyStatus = "active"
    expires_at: datetime | None = None

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The key as a ``cryptography`` object, for signing."""
        key = self.jwk.private_key
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyringError(f"key {self.kid} is not an Ed25519 private key")
        return key

    def public_jwk(self) -> dict[str, Any]:
        """The public key as published in the node document (a JWK with our metadata)."""
        public: dict[str, Any] = dict(self.jwk.as_dict(private=False))
        public.update(kid=self.kid, alg="EdDSA", use="sig", created=self.created_at.isoformat())
        if self.expires_at is not None:
            public["expires"] = self.expires_at.isoformat()
        return public


@dataclass(frozen=True)
class Keyring:
    """All keys of this node, loaded from its key directory."""

    directory: Path
    keys: tuple[NodeKey, ...]

    @property
    def active(self) -> NodeKey:
        """The key that signs everything this node sends now."""
        for key in self.keys:
            if key.status == "active":
                return key
        raise KeyringError(f"no active key in {self.directory}")

    def published(self, *, now: datetime | None = None) -> list[NodeKey]:
        """Keys peers may verify with: the active key and any still in their grace period."""
        now = now or utcnow()
        return [
            key
            for key in self.keys
            if key.status == "active"
            or (key.status == "grace" and (key.expires_at is None or key.expires_at > now))
        ]

    def jwks(self) -> dict[str, Any]:
        """The JWKS of published public keys, for the node document."""
        return {"keys": [key.public_jwk() for key in self.published()]}


def generate_key() -> NodeKey:
    """A fresh Ed25519 key, named by its thumbprint."""
    jwk = OKPKey.generate_key("Ed25519")
    return NodeKey(kid=jwk.thumbprint(), jwk=jwk, created_at=utcnow())


def create_keyring(directory: Path) -> Keyring:
    """Create the key directory with one new active key.

    Refuses to touch a directory that already holds a keyring: overwriting a node's key would
    silently break every alliance it has.
    """
    if (directory / KEYRING_FILE).exists():
        raise KeyringError(f"{directory} already holds a keyring; refusing to overwrite it")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    key = generate_key()
    _write_private_key(directory, key)
    keyring = Keyring(directory=directory, keys=(key,))
    _write_index(keyring)
    return keyring


def rotate_keyring(directory: Path, *, grace: timedelta) -> tuple[NodeKey, NodeKey]:
    """Make a new active key; the old one stays published for ``grace``, then retires.

    Returns ``(old, new)``. Keys whose grace period is over are marked retired now. The
    caller announces the new key to peers, signed with the old one.
    """
    keyring = load_keyring(directory)
    now = utcnow()
    old = replace(keyring.active, status="grace", expires_at=now + grace)
    new = generate_key()
    kept: list[NodeKey] = []
    for key in keyring.keys:
        if key.kid == old.kid:
            kept.append(old)
        elif key.status == "grace" and key.expires_at is not None and key.expires_at <= now:
            kept.append(replace(key, status="retired"))
        else:
            kept.append(key)
    _write_private_key(directory, new)
    _write_index(Keyring(directory=directory, keys=(*kept, new)))
    return old, new


def load_keyring(directory: Path) -> Keyring:
    """Load every key listed in ``keyring.json``; fail loudly on anything unexpected."""
    index_path = directory / KEYRING_FILE
    try:
        index = json.loads(index_path.read_text())
    except FileNotFoundError as exc:
        raise KeyringError(f"no keyring at {index_path}; run `ipo-node init` first") from exc
    except (OSError, ValueError) as exc:
        raise KeyringError(f"cannot read {index_path}: {exc}") from exc
    keys: list[NodeKey] = []
    for entry in index.get("keys", []):
        kid = entry["kid"]
        pem_path = directory / f"{kid}.pem"
        try:
            jwk = OKPKey.import_key(pem_path.read_bytes())
        except OSError as exc:
            raise KeyringError(f"cannot read private key {pem_path}: {exc}") from exc
        if jwk.thumbprint() != kid:
            raise KeyringError(f"{pem_path} does not hold the key its name says ({kid})")
        expires = entry.get("expires")
        keys.append(
            NodeKey(
                kid=kid,
                jwk=jwk,
                created_at=datetime.fromisoformat(entry["created"]),
                status=entry.get("status", "active"),
                expires_at=datetime.fromisoformat(expires) if expires else None,
            )
        )
    keyring = Keyring(directory=directory, keys=tuple(keys))
    keyring.active  # noqa: B018 -- validates that exactly one key signs
    return keyring


def _write_private_key(directory: Path, key: NodeKey) -> None:
    path = directory / f"{key.kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.jwk.as_pem(private=True))


def _write_index(keyring: Keyring) -> None:
    entries = [
        {
            "kid": key.kid,
            "created": key.created_at.isoformat(),
            "expires": key.expires_at.isoformat() if key.expires_at else None,
            "status": key.status,
        }
        for key in keyring.keys
    ]
    path = keyring.directory / KEYRING_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"keys": entries}, handle, indent=2)
    os.replace(tmp, path)


class KeyringHolder:
    """The current keyring of a running node, reloaded when ``keyring.json`` changes.

    ``ipo-node rotate-key`` rewrites the key directory while ``serve`` and ``worker`` run;
    a stat per call is all it costs to notice.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._mtime_ns = -1
        self._keyring: Keyring | None = None

    def __call__(self) -> Keyring:
        """The keyring as it is on disk now."""
        mtime_ns = (self.directory / KEYRING_FILE).stat().st_mtime_ns
        if self._keyring is None or mtime_ns != self._mtime_ns:
            self._keyring = load_keyring(self.directory)
            self._mtime_ns = mtime_ns
        return self._keyring


def usable_public_keys(
    jwks: dict[str, Any], *, owner: str, now: datetime
) -> dict[str, Ed25519PublicKey]:
    """A peer's keys this node will verify with, by keyid ``<owner>#<kid>``.

    A key is skipped if its ``kid`` is not the RFC 7638 thumbprint of its key material (the
    fingerprint an admin compared must be the key that verifies) or its ``expires`` has
    passed (a rotated-out key stops working when its grace period ends).
    """
    usable: dict[str, Ed25519PublicKey] = {}
    for entry in jwks.get("keys", []):
        if not isinstance(entry, dict):
            continue
        try:
            jwk = OKPKey.import_key({k: entry[k] for k in ("kty", "crv", "x")})
        except (KeyError, ValueError, TypeError):
            continue
        expires = entry.get("expires")
        if expires and datetime.fromisoformat(expires) <= now:
            continue
        public = jwk.public_key
        if entry.get("kid") == jwk.thumbprint() and isinstance(public, Ed25519PublicKey):
            usable[f"{owner}#{entry['kid']}"] = public
    return usable
