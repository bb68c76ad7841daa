"""Password hashing and the policy (app/security.py)."""

from __future__ import annotations

import bcrypt
import pytest

from app.errors import AppException
from app.security import (
    check_password_policy,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)


def test_new_hashes_are_argon2_and_do_not_need_rehash() -> None:
    hashed = hash_password("a-Long-enough-pass")
    assert hashed.startswith("$argon2id$")
    assert not needs_rehash(hashed)


def test_bcrypt_hashes_still_verify_and_report_needs_update() -> None:
    legacy = bcrypt.hashpw(b"legacy-pass-123", bcrypt.gensalt(rounds=4)).decode()
    assert verify_password("legacy-pass-123", legacy)
    assert needs_rehash(legacy)


def test_over_72_byte_password_against_bcrypt_checks_the_first_72_bytes_as_bcrypt_did() -> None:
    # Older bcrypt and passlib truncated silently; bcrypt 5 raises. Users must still get in.
    legacy = bcrypt.hashpw(b"x" * 72, bcrypt.gensalt(rounds=4)).decode()
    assert verify_password("x" * 100, legacy) is True
    assert verify_password("x" * 71 + "y" * 29, legacy) is False


def test_malformed_hash_is_a_failed_check() -> None:
    assert verify_password("whatever-pass", "not-a-hash") is False


@pytest.mark.parametrize(
    ("password", "email", "rule"),
    [
        ("tiny", None, "too short"),
        ("98765432109", None, "numeric"),
        ("Qwertyuiop", None, "common"),
        ("Jane.Doe@Example.com", "jane.doe@example.com", "email"),
        ("jane.doe.x", "jane.doe.x@example.com", "email"),
    ],
)
def test_policy_names_the_rule_that_failed(password, email, rule) -> None:
    problem = password_problem(password, min_length=10, email=email)
    assert problem is not None and rule in problem
    with pytest.raises(AppException) as raised:
        check_password_policy(password, min_length=10, email=email)
    assert raised.value.status == 422
    assert raised.value.error_code == "WEAK_PASSWORD"
    assert password not in raised.value.message


def test_a_strong_password_passes() -> None:
    assert password_problem("Tr0ub4dor&3-x", min_length=10, email="a@example.com") is None
