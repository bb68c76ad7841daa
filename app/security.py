"""Password hashing (passlib's CryptContext from the `libpass` distribution) and the policy."""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import cache, lru_cache
from importlib import resources

from passlib.context import CryptContext

from app.errors import AppException, ErrorCode


@lru_cache(maxsize=1)
def pwd_context() -> CryptContext:
    # argon2 for new hashes; bcrypt hashes from older systems still verify and report
    # needs_update() so the login path can rehash them.
    return CryptContext(schemes=["argon2", "bcrypt"], deprecated="auto")


def hash_password(password: str) -> str:
    return pwd_context().hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """True when `password` matches `hashed`; a malformed hash: False.

    bcrypt hashes are checked against the password's first 72 bytes (UTF-8), as the bcrypt and
    passlib releases that made them did (they truncated silently; bcrypt 5 raises instead), so
    accounts with longer passwords keep working until the login rehashes them with argon2,
    which keeps the whole password.
    """
    if hashed.startswith(_BCRYPT_PREFIXES):
        return _verify_bcrypt(password, hashed)
    try:
        return pwd_context().verify(password, hashed)
    except (ValueError, TypeError):
        # passlib refuses unknown hash formats: a failed check, not a crash in the login path.
        return False


# Modular-crypt prefixes of bcrypt (2a: most libraries until 2014, 2b: since, 2y: PHP).
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
BCRYPT_MAX_BYTES = 72


def _verify_bcrypt(password: str, hashed: str) -> bool:
    import bcrypt

    try:
        return bcrypt.checkpw(password.encode("utf-8")[:BCRYPT_MAX_BYTES], hashed.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False


def is_same_password(password: str, hashed: str) -> bool:
    """True only when `hashed` is a hash of exactly `password` (for "is this a change?").

    Unlike verify_password (a login, which accepts what old bcrypt libraries truncated), a
    bcrypt hash never counts as the same as a password longer than 72 UTF-8 bytes: bcrypt only
    saw the first 72, so the bytes after them were never checked and the password is new.
    """
    if hashed.startswith(_BCRYPT_PREFIXES):
        try:
            if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
                return False
        except UnicodeEncodeError:
            return False
    return verify_password(password, hashed)


def default_hash_workers() -> int:
    """Half the CPUs (at least 1): argon2 itself runs 4 lanes, so this leaves the event loop a
    core while logins hash."""
    return max(1, (os.cpu_count() or 2) // 2)


@cache
def hashing_pool(workers: int) -> ThreadPoolExecutor:
    """The bounded thread pool that hashes and verifies for async callers (one per size)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password-hash")


async def verify_password_async(password: str, hashed: str, *, workers: int | None = None) -> bool:
    """verify_password in the hashing pool, so a login never stalls the event loop.

    argon2-cffi and bcrypt release the GIL while hashing, so the loop keeps serving requests.
    """
    pool = hashing_pool(workers or default_hash_workers())
    return await asyncio.get_running_loop().run_in_executor(pool, verify_password, password, hashed)


async def hash_password_async(password: str, *, workers: int | None = None) -> str:
    """hash_password in the hashing pool (see verify_password_async)."""
    pool = hashing_pool(workers or default_hash_workers())
    return await asyncio.get_running_loop().run_in_executor(pool, hash_password, password)


def needs_rehash(hashed: str) -> bool:
    try:
        return pwd_context().needs_update(hashed)
    except ValueError:
        return True


def generate_password(length: int = 24) -> str:
    return secrets.token_urlsafe(length)[:length]


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("app").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def max_password_bytes(context: CryptContext | None = None) -> int:
    """The longest password, in UTF-8 bytes, the default scheme hashes in full.

    bcrypt: 72 (its handler's truncate_size; longer input is refused, not hashed). argon2:
    passlib's MAX_PASSWORD_SIZE (4096 unless PASSLIB_MAX_PASSWORD_SIZE says otherwise),
    beyond which passlib raises PasswordSizeError.
    """
    from passlib.utils import MAX_PASSWORD_SIZE

    handler = (context or pwd_context()).handler()
    return getattr(handler, "truncate_size", None) or MAX_PASSWORD_SIZE


def password_size_problem(password: str) -> str | None:
    """Why `password` cannot be hashed at all (not UTF-8, over the hasher's limit), or None."""
    try:
        size = len(password.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates: undecodable bytes in an env var, JSON "\ud800"
        return "password is not valid UTF-8 text"
    limit = max_password_bytes()
    if size > limit:
        return f"password is too long: at most {limit} bytes (UTF-8) are accepted"
    if password.startswith("\ufeff"):
        return "password starts with a byte-order mark (U+FEFF), an editor's artefact; remove it"
    return None


def password_problem(password: str, *, min_length: int, email: str | None = None) -> str | None:
    """Return which policy rule `password` breaks, or None when it passes.

    The message names the rule, never the password. A password the hasher cannot take
    (password_size_problem) is refused first.
    """
    if problem := password_size_problem(password):
        return problem
    if len(password) < min_length:
        return f"password is too short: at least {min_length} characters are required"
    if password.isdigit():
        return "password is entirely numeric"
    lowered = password.strip().lower()
    if lowered in common_passwords():
        return "password is too common"
    if email:
        address = email.strip().lower()
        local_part = address.partition("@")[0]
        if lowered in {address, local_part}:
            return "password is the same as the email address"
    return None


def check_password_policy(password: str, *, min_length: int, email: str | None = None) -> None:
    problem = password_problem(password, min_length=min_length, email=email)
    if problem is not None:
        raise AppException(422, problem, ErrorCode.WEAK_PASSWORD)
