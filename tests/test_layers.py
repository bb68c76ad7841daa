"""The floors point one way: manage -> commands -> app -> db (../shared/STYLE.md, item 14)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("floor", "forbidden"),
    [
        ("db", ("app", "commands", "manage")),
        ("app", ("commands", "manage")),
        ("commands", ("manage.cli",)),
    ],
)
def test_no_module_imports_a_floor_above_its_own(floor: str, forbidden: tuple[str, ...]) -> None:
    offenders = sorted(
        f"{path.relative_to(REPO)} imports {name}"
        for path in (REPO / floor).rglob("*.py")
        for name in _imported_modules(path)
        if any(name == top or name.startswith(top + ".") for top in forbidden)
    )
    assert offenders == []


def test_every_database_layer_error_code_is_a_documented_error_code() -> None:
    import db.errors
    from app.errors import ErrorCode
    from db.init_lock import INIT_LOCKED
    from db.migration_lock import LOCKED_ERROR_CODE

    classes = [
        value
        for value in vars(db.errors).values()
        if isinstance(value, type) and issubclass(value, db.errors.DatabaseLayerError)
    ]
    codes = {cls.code for cls in classes} | {INIT_LOCKED, LOCKED_ERROR_CODE, "NOT_AT_HEAD"}
    assert codes <= {code.value for code in ErrorCode}
    assert len(classes) >= 5


@pytest.mark.parametrize(
    ("error", "exit_code", "status"),
    [
        ("DatabaseUnavailable", 6, 503),
        ("LockNotAcquired", 6, 503),
        ("BadRevision", 5, 422),
        ("InvalidArgument", 5, 422),
        ("NotFound", 3, 404),
        ("Conflict", 4, 409),
        ("BackfillPending", 7, 403),
    ],
)
def test_database_layer_errors_map_to_one_exit_code_and_one_http_status(
    error: str, exit_code: int, status: int
) -> None:
    import asyncio
    import json

    import db.errors
    from app.api.errors import _database_layer_error
    from db import progress
    from manage.errors import classify

    progress.reset()  # an earlier in-process command's committed steps are not this error's
    exc = getattr(db.errors, error)("what went wrong")
    failure = classify(exc)
    assert (int(failure.exit_code), failure.message, failure.error_code) == (
        exit_code,
        "what went wrong",
        exc.code,
    )
    response = asyncio.run(_database_layer_error(None, exc))  # type: ignore[arg-type]
    assert response.status_code == status
    assert json.loads(response.body)["error_code"] == exc.code


def test_a_file_error_that_escaped_its_site_is_not_called_the_database_being_unavailable(
    tmp_path,
) -> None:
    """Real errors: a file operation's OSError carries the file name (exit 5 naming it);
    a unix-socket connect that finds no server is a FileNotFoundError without one, and
    stays "database unavailable" (exit 6). Before, every OSError was exit 6, so a seed file
    removed mid-run read "database unavailable at URL: No such file or directory"."""
    import socket

    from db import progress
    from manage.errors import classify

    progress.reset()
    try:
        (tmp_path / "gone.csv").open()
    except OSError as exc:
        failure = classify(exc)
    assert (int(failure.exit_code), failure.message) == (
        5,
        f"cannot use {tmp_path / 'gone.csv'}: No such file or directory",
    )
    unix = socket.socket(socket.AF_UNIX)
    try:
        unix.connect(str(tmp_path / ".s.PGSQL.5432"))
    except OSError as exc:
        failure = classify(exc)
    finally:
        unix.close()
    assert int(failure.exit_code) == 6
    assert failure.message.startswith("database unavailable")
