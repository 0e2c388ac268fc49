"""The backup archive: its manifest, the members it may hold, and reading one that may be hostile.

An archive is read as if an attacker wrote it, because anyone who can hand an operator a file
can. ``unpack`` reads it in one forward pass into a private working directory and refuses,
before writing the member concerned, anything but what ``ipo-node backup`` writes::

    manifest.json        first, at most 1 MiB
    node.toml            at most 1 MiB
    keys/NAME            at most 1 MiB each, NAME one plain file name; keys/keyring.json and
                         keys/<kid>.pem for every key the manifest lists
    database/node.db     (SQLite) or database/node.dump (PostgreSQL), as the manifest says,
                         no larger than the working directory's free space less 64 MiB

Every member is a regular file named exactly as the manifest lists it, once (a directory entry
``keys`` or ``database``, as ``tar`` adds them, is skipped): absolute paths,
``..``, symbolic and hard links, devices, directories and FIFOs are refused, as are members
the manifest does not list and extended headers over 1 MiB. A decompression bomb is refused
at its header, since a member's header states its size before its data.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from pathlib import Path
from typing import IO, Annotated, Final, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from node import __version__
from node.config import CONFIG_FILE
from schemas.base import problem_in_words

FORMAT: Final = "ipo-node-backup"
FORMAT_VERSION: Final = 1
MANIFEST = "manifest.json"
KEYRING_MEMBER = "keys/keyring.json"
DatabaseKind = Literal["sqlite", "postgresql"]
DATABASE_MEMBERS: dict[DatabaseKind, str] = {
    "sqlite": "database/node.db",
    "postgresql": "database/node.dump",
}
DATABASE_MAGIC: dict[DatabaseKind, bytes] = {
    "sqlite": b"SQLite format 3\x00",
    "postgresql": b"PGDMP",
}

MAX_SMALL_MEMBER_BYTES = 1_048_576
"""The manifest, node.toml, a key file, an extended tar header: each at most this."""
MAX_KEY_FILES = 1000
FREE_SPACE_RESERVE_BYTES = 64 * 1_048_576
"""Left free on the working directory's disk after the database is unpacked there."""

_KEY_FILE = re.compile(r"keys/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
Kid = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")]  # an RFC 7638 SHA-256 thumbprint
_DIRECTORIES = {"keys", "database"}
_EXTENDED_HEADERS = {
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
}
_NOT_FILES = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.DIRTYPE: "a directory",
}


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why and what to do."""


class Manifest(BaseModel):
    """What an archive says it holds; ``files`` may name only the members listed above."""

    model_config = ConfigDict(frozen=True, strict=True)

    created: AwareDatetime
    database: DatabaseKind
    alembic_revision: Annotated[str, Field(pattern=r"^[0-9A-Za-z_]{1,64}$")] | None
    node_id: str = Field(pattern=r"^https?://[!-~]{1,2000}$")  # printable: it is shown
    key_kids: list[Kid] = Field(min_length=1, max_length=MAX_KEY_FILES)
    files: list[str] = Field(max_length=MAX_KEY_FILES + 3)
    ipo_node_version: str = Field(default=__version__, pattern=r"^[!-~]{1,64}$")
    format: Literal["ipo-node-backup"] = FORMAT
    format_version: Literal[1] = FORMAT_VERSION

    @model_validator(mode="after")
    def _files_are_what_a_backup_writes(self) -> Self:
        if len(set(self.files)) != len(self.files):
            raise ValueError("files: a file is listed twice")
        unexpected = [
            name
            for name in self.files
            if name not in (CONFIG_FILE, self.database_member) and not _KEY_FILE.fullmatch(name)
        ]
        if unexpected:
            raise ValueError(f"files: not a file a backup holds: {unexpected[0]!r}")
        needed = {CONFIG_FILE, self.database_member, KEYRING_MEMBER}
        needed |= {f"keys/{kid}.pem" for kid in self.key_kids}
        if missing := sorted(needed - set(self.files)):
            raise ValueError(f"files: {missing[0]} is missing")
        return self

    @property
    def database_member(self) -> str:
        return DATABASE_MEMBERS[self.database]

    def to_json(self) -> bytes:
        return self.model_dump_json(indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """The manifest in ``data``, or ``BackupError`` saying what is wrong with it."""
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            problems = {error["type"]: error for error in exc.errors()}
            if "literal_error" in problems and problems["literal_error"]["loc"] == ("format",):
                raise BackupError(
                    "not an ipo-node backup (its manifest has another format)"
                ) from None
            if "literal_error" in problems and problems["literal_error"]["loc"] == (
                "format_version",
            ):
                raise BackupError(
                    f"backup format version {problems['literal_error']['input']!r} is not "
                    f"supported by this ipo-node (it reads version {FORMAT_VERSION}); restore it "
                    "with a newer release"
                ) from None
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "manifest"
            message = problem_in_words(error)
            raise BackupError(f"the backup's manifest is damaged: {where}: {message}") from None


class _Header(tarfile.TarInfo):
    """A tar header that refuses to be followed by an extended header too large to hold."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        header = super().frombuf(buf, encoding, errors)
        if header.type in _EXTENDED_HEADERS and header.size > MAX_SMALL_MEMBER_BYTES:
            raise BackupError(
                f"the backup has a {header.size}-byte extended tar header; refusing it"
            )
        return header


def unpack(archive: Path, work: Path) -> Manifest:
    """Extract the archive's members into the empty ``work``; refuse any it should not hold."""
    try:
        with tarfile.open(archive, mode="r|gz", tarinfo=_Header) as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise BackupError(f"the backup does not start with {MANIFEST}")
            _check_member(first, limit=MAX_SMALL_MEMBER_BYTES)
            manifest = Manifest.from_json(_read(tar, first).read())
            wanted = set(manifest.files)
            while (member := tar.next()) is not None:
                if member.isdir() and member.name in _DIRECTORIES:
                    continue  # as `tar` adds them; the restore makes its own, owner-only
                if member.name not in wanted:
                    seen = member.name in manifest.files or member.name == MANIFEST
                    raise BackupError(
                        f"the backup holds {member.name!r} "
                        + ("twice" if seen else "which its manifest does not list")
                        + "; refusing it"
                    )
                wanted.remove(member.name)
                if member.name == manifest.database_member:
                    _check_member(member, limit=_free_bytes(work))
                else:
                    _check_member(member, limit=MAX_SMALL_MEMBER_BYTES)
                _extract(tar, member, work / member.name)
    except FileNotFoundError:
        raise BackupError(f"no backup at {archive}") from None
    except (tarfile.TarError, EOFError, OSError, RecursionError) as exc:
        raise BackupError(f"cannot read the backup {archive}: {exc}") from None
    if wanted:
        raise BackupError(f"the backup is incomplete: it lacks {', '.join(sorted(wanted))}")
    kind = manifest.database
    with (work / manifest.database_member).open("rb") as database:
        if not database.read(len(DATABASE_MAGIC[kind])) == DATABASE_MAGIC[kind]:
            raise BackupError(f"{manifest.database_member} in the backup is not a {kind} backup")
    return manifest


def _check_member(member: tarfile.TarInfo, *, limit: int) -> None:
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or member.sparse is not None:
        kind = _NOT_FILES.get(member.type, "not a regular file")
        raise BackupError(f"{member.name!r} in the backup is {kind}; refusing it")
    if member.size > limit:
        raise BackupError(
            f"{member.name!r} in the backup is {member.size} bytes, more than the {limit} "
            "this restore can hold; refusing it"
        )


def _free_bytes(work: Path) -> int:
    return max(0, shutil.disk_usage(work).free - FREE_SPACE_RESERVE_BYTES)


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    reader = tar.extractfile(member)
    if reader is None:  # unreachable: _check_member let only regular files through
        raise BackupError(f"{member.name!r} in the backup is not a file")
    return reader


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    target.parent.mkdir(mode=0o700, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(target, flags, 0o600), "wb") as handle:
        shutil.copyfileobj(_read(tar, member), handle)
