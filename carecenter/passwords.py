"""Password hashing with argon2 (pwdlib's recommended parameters)."""

from functools import cache

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("no-such-user-placeholder")


def burn_verify_time(password: str) -> None:
    """Spend the time a real check takes, so unknown usernames cannot be told apart by timing."""
    _hasher.verify(password, _dummy_hash())
