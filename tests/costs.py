"""Test-only cost settings: cheap password hashing and SQLite without fsync.

The production defaults (Argon2id as RFC 9106's low-memory profile, about 200 ms of CPU per
hash; ``synchronous=FULL``, an fsync per commit) protect real accounts and real data, and cost a
test suite a third of its time. The harness sets these through the ordinary settings, for
in-process nodes and for every real ``ipo-node`` process a test starts; nothing else does.
``tests/test_costs.py`` fails if the defaults, or what a fresh ``ipo-node init`` writes and
uses, are ever these.
"""

from __future__ import annotations

TEST_COSTS = {
    "IPO_PASSWORD_HASH_TIME_COST": "1",
    "IPO_PASSWORD_HASH_MEMORY_KIB": "8",
    "IPO_PASSWORD_HASH_PARALLELISM": "1",
    "IPO_SQLITE_SYNCHRONOUS": "OFF",
}
