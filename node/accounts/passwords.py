"""Password hashing: Argon2id, with the cost taken from the node's settings.

Production uses RFC 9106's low-memory profile (time cost 3, 64 MiB, 4 lanes): about 200 ms of
CPU per hash on a small VPS, which is the point. The test harness lowers the cost through the
same settings, because a suite that hashes hundreds of passwords would otherwise spend a third
of its time here. A node that runs below production cost says so loudly at start.

The hasher is process-wide: ``configure_password_hashing(settings)`` is called by the app
factory and by the CLI commands that hash, and until then the production profile applies. Every
node in one process shares its settings in practice (tests start several in one process, all
with the same cost).
"""

from __future__ import annotations

import logging
from functools import cache

from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY as PRODUCTION

from node.config import Settings

log = logging.getLogger("ipo_node.accounts")

_hasher = PasswordHasher.from_parameters(PRODUCTION)


def configure_password_hashing(settings: Settings) -> None:
    """Hash and verify with the cost ``settings`` name from now on; warn when it is weak."""
    global _hasher
    _hasher = _hasher_for(
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )
    if is_below_production(settings):
        log.warning(
            "PASSWORD HASHING IS BELOW PRODUCTION STRENGTH (time cost %d, %d KiB, %d lanes): "
            "a test-only setting. Remove IPO_PASSWORD_HASH_* from the environment and "
            "node.toml before this node holds real accounts.",
            settings.password_hash_time_cost,
            settings.password_hash_memory_kib,
            settings.password_hash_parallelism,
        )


def is_below_production(settings: Settings) -> bool:
    return (
        settings.password_hash_time_cost < PRODUCTION.time_cost
        or settings.password_hash_memory_kib < PRODUCTION.memory_cost
        or settings.password_hash_parallelism < PRODUCTION.parallelism
    )


@cache
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=PRODUCTION.hash_len,
        salt_len=PRODUCTION.salt_len,
    )


def password_hasher() -> PasswordHasher:
    """The hasher in force in this process."""
    return _hasher
