"""Password hashing (argon2id) and the password policy (ASVS 6.2: length, no common passwords)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

from ils.errors import ValidationFailed

MIN_LENGTH = 10
MAX_LENGTH = 128
# A short offline list of the passwords most often seen in breaches, plus local favourites.
COMMON_PASSWORDS = frozenset("""
123456 123456789 12345678 1234567890 password password1 qwerty qwerty123 111111 123123
abc123 1q2w3e4r 000000 iloveyou admin admin123 administrator welcome welcome1 letmein
passw0rd p@ssw0rd sayang sayang123 indonesia indonesia1 bismillah bismillah123 rahasia
rahasia123 perpustakaan perpus123 bontang bontang123 kaltim123 samarinda 1234512345
qwertyuiop asdfghjkl 1qaz2wsx zaq12wsx password123 sandi12345 katasandi
""".split())

_PRODUCTION = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
# Same algorithm with minimal cost: only for the test suite (TestingConfig.ILS_ARGON2_FAST).
_FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _hasher() -> PasswordHasher:
    return _FAST if current_app.config.get("ILS_ARGON2_FAST") else _PRODUCTION


def check_policy(password: str, *, username: str = "") -> None:
    """Raise ValidationFailed when the password is too short, too long or too common."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(_l("The password must be at least %(n)s characters long.", n=MIN_LENGTH),
                               field="password")
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(_l("The password may be at most %(n)s characters long.", n=MAX_LENGTH),
                               field="password")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or (username and username.lower() in lowered):
        raise ValidationFailed(_l("This password is too easy to guess. Choose another one."),
                               field="password")


def hash_password(password: str) -> str:
    """Hash with argon2id."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if the password matches; never raises on a bad hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash uses weaker parameters than the current policy."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
