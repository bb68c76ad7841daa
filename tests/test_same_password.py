"""`create-superuser --if-exists update` with a legacy bcrypt hash (issue 15, finding 7).

bcrypt only ever saw a password's first 72 bytes, so "is this the same password?" must never
say yes for a longer one: it is a new password, stored as argon2, and it ends the tokens.
"""

from __future__ import annotations

import json

import bcrypt
import pytest

from tests.api_support import insert_user
from tests.conftest import fetch

PREFIX = "Legacy-bcrypt-passw0rd-" + "x" * 49  # exactly 72 bytes
assert len(PREFIX.encode()) == 72


def legacy(password: str) -> str:
    # What bcrypt < 4.1 / passlib did: hash the first 72 bytes, silently.
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds=4)).decode()


def update_superuser(manage_proc, db_url: str, password: str) -> dict:
    outcome = manage_proc(
        [
            *("users", "create-superuser", "--email", "root@example.com"),
            *("--password-stdin", "--if-exists", "update", "--json"),
        ],
        input=password + "\n",
        db=db_url,
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert password not in outcome.stdout + outcome.stderr
    return json.loads(outcome.stdout)["data"]


def stored(db_url: str) -> tuple[str, str]:
    [(hashed, stamp)] = fetch(
        db_url, "SELECT hashed_password, security_stamp FROM users WHERE email = 'root@example.com'"
    )
    return hashed, stamp


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (PREFIX + "-first-suffix", PREFIX + "-another-suffix"),  # same first 72 bytes
        (PREFIX + "-same-long-password", PREFIX + "-same-long-password"),  # never provable
        (PREFIX + "é" * 10, PREFIX + "é" * 11),  # multi-byte text beyond the limit
    ],
)
def test_a_password_beyond_72_bytes_is_never_the_same_as_a_bcrypt_hash(
    manage_proc, db_url, old, new
) -> None:
    from app.security import verify_password

    insert_user(db_url, "root@example.com", superuser=True, hashed=legacy(old))
    _, stamp_before = stored(db_url)

    data = update_superuser(manage_proc, db_url, new)

    assert data["outcome"] == "updated"
    hashed, stamp_after = stored(db_url)
    assert hashed.startswith("$argon2")
    assert verify_password(new, hashed)
    assert stamp_after != stamp_before  # every earlier token ends
    if old != new:
        assert not verify_password(old, hashed)
    [(details,)] = fetch(db_url, "SELECT details FROM audit_log WHERE action = 'user.update'")
    assert "password_changed" in str(details) and new not in str(details)


def test_the_same_short_password_on_a_bcrypt_hash_is_unchanged(manage_proc, db_url) -> None:
    insert_user(db_url, "root@example.com", superuser=True, hashed=legacy("Short-Passw0rd-42"))
    before = stored(db_url)

    data = update_superuser(manage_proc, db_url, "Short-Passw0rd-42")

    assert data["outcome"] == "unchanged"
    assert stored(db_url) == before


def test_is_same_password_is_exact_for_both_schemes() -> None:
    from app.security import hash_password, is_same_password

    long_password = PREFIX + "-tail"
    assert not is_same_password(long_password, legacy(long_password))
    assert not is_same_password(PREFIX + "-other", legacy(long_password))
    assert is_same_password(PREFIX, legacy(PREFIX))  # 72 bytes: bcrypt saw all of it
    argon = hash_password(long_password)
    assert is_same_password(long_password, argon)
    assert not is_same_password(PREFIX + "-other", argon)
