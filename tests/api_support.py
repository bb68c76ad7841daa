"""Helpers for the API tests: accounts inserted quickly (one argon2 hash per test process)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from functools import lru_cache

from tests.conftest import fetch
from tests.roles_support import PASSWORD


@lru_cache(maxsize=4)
def password_hash(password: str = PASSWORD) -> str:
    from app.security import hash_password

    return hash_password(password)


def insert_user(
    db_url: str, email: str, *, superuser: bool = False, hashed: str | None = None
) -> int:
    """Insert an active account with PASSWORD (or `hashed`) and a fresh stamp; its id."""
    now = datetime.now(UTC)
    fetch(
        db_url,
        "INSERT INTO users (email, hashed_password, is_active, is_superuser, created_at, "
        "updated_at, security_stamp) VALUES (:email, :hashed, true, :su, :now, :now, :stamp)",
        {
            "email": email,
            "hashed": hashed or password_hash(),
            "su": superuser,
            "now": now,
            "stamp": secrets.token_hex(16),
        },
    )
    [(user_id,)] = fetch(db_url, "SELECT id FROM users WHERE email = :e", {"e": email})
    return user_id
