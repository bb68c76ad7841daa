"""Permission strings and wildcards: what is valid and what grants what (no database)."""

from __future__ import annotations

import pytest

from app.errors import AppException
from app.permissions import check_permissions, check_role_name, covers, grants


@pytest.mark.parametrize(
    ("held", "wanted", "expected"),
    [
        ("roles:read", "roles:read", True),
        ("roles:read", "roles:write", False),
        ("roles:*", "roles:read", True),
        ("roles:*", "roles:*", True),
        ("roles:*", "rolesx:read", False),
        ("roles:*", "users:read", False),
        ("roles:*", "*", False),
        ("*", "users:delete", True),
        ("*", "*", True),
        ("roles:read", "roles:*", False),
    ],
)
def test_a_held_permission_covers_exactly_what_its_wildcard_says(held, wanted, expected) -> None:
    assert covers(held, wanted) is expected


def test_any_held_permission_is_enough() -> None:
    assert grants(["users:read", "roles:*"], "roles:write")
    assert not grants([], "roles:read")


@pytest.mark.parametrize("bad", ["Roles:Read", "roles", "roles:", ":read", "*:read", "a b:c", ""])
def test_invalid_permissions_are_a_422_naming_the_value(bad) -> None:
    with pytest.raises(AppException) as caught:
        check_permissions(["roles:read", bad])
    assert caught.value.status == 422
    assert repr(bad) in caught.value.message


def test_permissions_are_sorted_and_deduplicated() -> None:
    assert check_permissions(["b:x", "a:*", "b:x", "*"]) == ["*", "a:*", "b:x"]


@pytest.mark.parametrize("bad", ["a", "Auditor", "1st", "-x", "has space", "x" * 64, "ünï"])
def test_invalid_role_names_are_a_422_naming_the_value(bad) -> None:
    with pytest.raises(AppException) as caught:
        check_role_name(bad)
    assert caught.value.status == 422
    assert repr(bad) in caught.value.message


@pytest.mark.parametrize("good", ["ab", "auditor", "support-tier_2", "x" * 63])
def test_valid_role_names_pass(good) -> None:
    assert check_role_name(good) == good
