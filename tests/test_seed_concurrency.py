"""The deploy case: every replica runs the same declarative step at once, as real processes
(8 on PostgreSQL, 4 on SQLite). All of them exit 0, the final state is the declared one,
and nobody writes audit rows for work another process did."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import MANAGE_BIN, fetch, manage_env

PASSWORD = "correct-horse-battery-staple"


def replicas(backend: str) -> int:
    return 8 if backend == "postgresql" else 4


@contextmanager
def gate(db_url: str, tables: list[str], seconds: float = 4.0) -> Iterator[None]:
    """Hold the database back while the processes start, then let them all go at once.

    PostgreSQL: ACCESS EXCLUSIVE on `tables`, so every process queues on its first read of
    them. SQLite: a held write lock (BEGIN IMMEDIATE), so every process queues on its first
    write. Without this the processes' start-up (imports) staggers them and they rarely
    overlap at all."""
    held = threading.Event()
    failure: list[BaseException] = []

    async def hold_postgresql() -> None:
        import asyncpg

        conn = await asyncpg.connect(db_url, timeout=10)
        try:
            async with conn.transaction():
                await conn.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
                held.set()
                await asyncio.sleep(seconds)
        finally:
            await conn.close()

    def hold_sqlite() -> None:
        conn = sqlite3.connect(db_url.split(":///", 1)[1], isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(seconds)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    def target() -> None:
        try:
            if db_url.startswith("sqlite"):
                hold_sqlite()
            else:
                asyncio.run(hold_postgresql())
        except BaseException as exc:
            failure.append(exc)
            held.set()

    thread = threading.Thread(target=target)
    thread.start()
    held.wait(30)
    if failure:
        raise failure[0]
    try:
        yield
    finally:
        thread.join()


def run_at_once(
    count: int,
    args: list[str],
    *,
    db: str,
    cwd: Path,
    tables: list[str],
    env: dict[str, str] | None = None,
) -> list[tuple[int, str]]:
    full_env = manage_env(db, **(env or {}))
    with gate(db, tables):
        processes = [
            subprocess.Popen(
                [str(MANAGE_BIN), *args],
                cwd=cwd,
                env=full_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
    results = []
    for process in processes:
        _out, err = process.communicate(timeout=180)
        results.append((process.returncode, err))
    return results


def audit_actions(db_url: str) -> list[tuple]:
    return fetch(
        db_url,
        "SELECT action, target, count(*) FROM audit_log GROUP BY action, target "
        "ORDER BY action, target",
    )


def test_concurrent_seed_runs_with_a_new_role_and_user_all_exit_0_and_create_each_once(
    db_url, backend, tmp_path
) -> None:
    seeds = tmp_path / "seeds" / "base"
    seeds.mkdir(parents=True)
    (seeds / "all.yaml").write_text(
        dedent(
            """
            roles:
              - {name: deployer, description: Deploys}
            users:
              - email: ops@example.com
                password_env: OPS_PASSWORD
                roles: [deployer]
            models:
              - model: RolePermission
                key: [role_id, permission]
                rows:
                  - {role_id: {name: deployer}, permission: "audit:read"}
            """
        ),
        encoding="utf-8",
    )
    n = replicas(backend)
    results = run_at_once(
        n,
        ["seed", "run"],
        db=db_url,
        cwd=tmp_path,
        tables=["roles", "users"],
        env={"OPS_PASSWORD": PASSWORD},
    )
    assert [code for code, _ in results] == [0] * n, results
    assert fetch(db_url, "SELECT name FROM roles") == [("deployer",)]
    assert fetch(db_url, "SELECT count(*) FROM users") == [(1,)]
    assert fetch(db_url, "SELECT count(*) FROM user_roles") == [(1,)]
    assert fetch(db_url, "SELECT count(*) FROM role_permissions") == [(1,)]
    actions = audit_actions(db_url)
    assert ("role.create", "deployer", 1) in actions
    assert ("user.create", "ops@example.com", 1) in actions
    assert [row for row in actions if row[0] not in ("seed.run",) and row[2] != 1] == []
    assert fetch(db_url, "SELECT count(*) FROM seed_history") == [(n,)]


def test_concurrent_roles_syncs_all_exit_0_and_create_each_role_once(
    db_url, backend, tmp_path
) -> None:
    (tmp_path / "roles.yaml").write_text(
        "roles:\n"
        "  - {name: auditor, permissions: [audit:read]}\n"
        "  - {name: editor, permissions: ['posts:*']}\n",
        encoding="utf-8",
    )
    n = replicas(backend)
    results = run_at_once(
        n, ["roles", "sync", "roles.yaml"], db=db_url, cwd=tmp_path, tables=["roles"]
    )
    assert [code for code, _ in results] == [0] * n, results
    assert fetch(db_url, "SELECT name FROM roles ORDER BY name") == [("auditor",), ("editor",)]
    assert audit_actions(db_url) == [("role.create", "auditor", 1), ("role.create", "editor", 1)]


@pytest.mark.parametrize("if_exists", ["skip", "update"])
def test_concurrent_create_superuser_if_exists_all_exit_0_and_create_one_user(
    db_url, backend, tmp_path, if_exists
) -> None:
    n = replicas(backend)
    results = run_at_once(
        n,
        ["users", "create-superuser", "--email", "root@example.com", "--if-exists", if_exists],
        db=db_url,
        cwd=tmp_path,
        tables=["users"],
        env={"MANAGE_PASSWORD": PASSWORD},
    )
    assert [code for code, _ in results] == [0] * n, results
    rows = fetch(db_url, "SELECT email, is_superuser, is_active FROM users")
    assert [(e, bool(s), bool(a)) for e, s, a in rows] == [("root@example.com", True, True)]
    assert audit_actions(db_url) == [("user.create", "root@example.com", 1)]
