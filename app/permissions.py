"""Role names and permission strings: what is valid, and which held permission grants which.

A permission is `resource:action`. Two wildcards exist: `*` (everything) and `resource:*`
(every action on one resource). A superuser holds every permission without any role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.errors import AppException, ErrorCode

ROLE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{1,62}$"
_ROLE_NAME = re.compile(ROLE_NAME_PATTERN)
_WORD = r"[a-z][a-z0-9_-]*"
_PERMISSION = re.compile(rf"^(\*|{_WORD}:(\*|{_WORD}))$")
PERMISSION_MAX_LENGTH = 255
WILDCARD = "*"


def role_name_problem(name: str) -> str | None:
    if _ROLE_NAME.fullmatch(name) is None:
        return (
            f"invalid role name {name!r}: use 2-63 characters, lower-case letters, digits, "
            "'-' or '_', starting with a letter"
        )
    return None


def permission_problem(permission: str) -> str | None:
    if len(permission) > PERMISSION_MAX_LENGTH or _PERMISSION.fullmatch(permission) is None:
        return (
            f"invalid permission {permission!r}: use resource:action (lower-case), resource:* or *"
        )
    return None


def check_role_name(name: str) -> str:
    """Return `name` when it is a valid role slug; raise AppException(422) naming it otherwise."""
    problem = role_name_problem(name)
    if problem is not None:
        raise AppException(422, problem, ErrorCode.INVALID_ROLE_NAME)
    return name


def check_permissions(permissions: Iterable[str]) -> list[str]:
    """Return the permissions sorted and de-duplicated; raise AppException(422) naming a bad one."""
    checked = set()
    for permission in permissions:
        problem = permission_problem(permission)
        if problem is not None:
            raise AppException(422, problem, ErrorCode.INVALID_PERMISSION)
        checked.add(permission)
    return sorted(checked)


def covers(held: str, wanted: str) -> bool:
    """True when holding `held` grants `wanted` (which may itself be a wildcard)."""
    if held in (WILDCARD, wanted):
        return True
    if held.endswith(":*"):
        resource = held[:-1]  # "roles:"
        return wanted != WILDCARD and wanted.startswith(resource)
    return False


def grants(held: Iterable[str], wanted: str) -> bool:
    return any(covers(permission, wanted) for permission in held)


def not_found(kind: str, name: str) -> AppException:
    code = ErrorCode.ROLE_NOT_FOUND if kind == "role" else ErrorCode.USER_NOT_FOUND  # user(s)
    return AppException(404, f"{kind} {name} not found", code)
