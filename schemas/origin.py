"""Origins of URLs, compared the way the protocol requires.

An origin is ``(scheme, host, port)`` (RFC 6454). Two URLs belong to the same node exactly when
their origins are equal after normalisation:

- the scheme is ``http`` or ``https``, lowercased;
- the host is lowercased, loses one trailing dot, and is converted to its IDNA A-label form
  (UTS #46 mapping), so ``Ward12.example.``, ``ward12.example`` and ``WARD12.EXAMPLE`` agree,
  and ``bücher.example`` equals ``xn--bcher-kva.example``; IP literals are compared as
  addresses;
- a missing port is the scheme's default (80 or 443).

Origins are never compared as string prefixes: ``https://ward12.example.evil.test`` is not
``https://ward12.example`` (CVE-2023-42451 and its relatives). URLs with user information,
backslashes, whitespace or control characters have no origin here, nor hosts that end in a
number without being a dotted-decimal IPv4 address (``0177.0.0.1``, ``127.1``): their host is
read differently by different parsers, which is exactly what an impersonation needs.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple
from urllib.parse import urlsplit

import idna

DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}


class Origin(NamedTuple):
    """A normalised ``(scheme, host, port)`` triple."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        """The origin serialised as a URL, with the port only when it is not the default."""
        if DEFAULT_PORTS[self.scheme] == self.port:
            return f"{self.scheme}://{self.host}"
        return f"{self.scheme}://{self.host}:{self.port}"


def origin_of(url: str) -> Origin:
    """The normalised origin of an absolute ``http(s)`` URL.

    Raises ``ValueError`` for anything that has no unambiguous origin: another scheme, no
    host, user information, an invalid port, or a host that is neither an IP literal nor a
    valid (internationalised) domain name.
    """
    if not url.isprintable() or any(char in url for char in " \\"):
        raise ValueError("a URL must not contain whitespace, backslashes or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"only http and https URLs have an origin here, not {scheme or url!r}")
    if "@" in parts.netloc:
        raise ValueError("a URL must not carry user information")
    port = parts.port  # raises ValueError when out of range
    host = parts.hostname
    if not host:
        raise ValueError(f"{url!r} has no host")
    return Origin(scheme, _normalise_host(host), DEFAULT_PORTS[scheme] if port is None else port)


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs have the same origin; a URL without a valid origin matches nothing."""
    try:
        return origin_of(a) == origin_of(b)
    except ValueError:
        return False


def _normalise_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    name = host.removesuffix(".")
    if _ends_in_a_number(name):
        # Browsers and libraries read 0177.0.0.1, 0x7f.1 or 2130706433 as 127.0.0.1, others
        # as a name: such a host means different machines to different parsers.
        raise ValueError(
            f"{host!r} is not a valid host: write an IPv4 address in dotted decimal, "
            "such as 127.0.0.1"
        )
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"{host!r} is not a valid host name: {exc}") from exc


def _ends_in_a_number(name: str) -> bool:
    """WHATWG URL's test for a host that must be read as IPv4: its last label is a number."""
    last = name.rsplit(".", 1)[-1].lower()
    if last.startswith("0x"):
        return all(c in "0123456789abcdef" for c in last[2:])
    return last.isdigit()
