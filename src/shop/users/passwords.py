"""Argon2id password hashing, run off the event loop.

A hash costs about 0.1 s of CPU and 64 MiB (argon2-cffi's defaults, RFC 9106's second
recommendation); in a worker thread it does not stall the other requests of the process.
"""

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(_verify, password_hash, password)


async def verify_nothing(password: str) -> None:
    """Spend what a real check costs, so an unknown email answers as slowly as a known one."""
    await asyncio.to_thread(_verify_against_dummy, password)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _verify_against_dummy(password: str) -> None:
    _verify(_dummy_hash(), password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has")
