"""Moving between revisions: relative targets, round trips, stamp, --sql, the guard.

Runs on the five-revision test chain (tests/migrations_fixtures/markers) on SQLite and
PostgreSQL; each revision leaves a marker row, so the rows show what really ran.
"""

from __future__ import annotations

import json

import pytest

from tests.migrations_fixtures import CHAIN, CHAIN_ENV, CHAIN_HEAD, markers, version


@pytest.fixture
def chain(cli, blank_db_url):
    """`manage ARGS` against this test's empty database, on the test chain."""

    def run(*args: str, env: dict[str, str] | None = None):
        return cli(list(args), db=blank_db_url, env={**CHAIN_ENV, **(env or {})})

    run.url = blank_db_url
    return run


def test_relative_upgrades_and_downgrades_then_round_trip(chain) -> None:
    url = chain.url
    assert chain("migrate", "upgrade", "+2").exit_code == 0
    assert markers(url) == CHAIN[:2] and version(url) == [CHAIN[1]]

    outcome = chain("migrate", "upgrade", "+1", "--json")
    assert json.loads(outcome.stdout)["data"]["applied"] == [CHAIN[2]]

    outcome = chain("migrate", "downgrade", "-2", "--yes")
    assert outcome.exit_code == 0, outcome.stderr
    assert "reverted 2 revisions; now at m1a00001" in outcome.stdout
    assert markers(url) == CHAIN[:1]

    outcome = chain("migrate", "upgrade")
    assert f"applied 4 revisions; now at {CHAIN_HEAD}" in outcome.stdout
    assert markers(url) == CHAIN

    outcome = chain("migrate", "downgrade", "base", "--yes", "--json")
    assert json.loads(outcome.stdout)["data"]["reverted"] == CHAIN[::-1]
    assert markers(url) is None and version(url) == []

    assert chain("migrate", "upgrade", "head").exit_code == 0
    assert markers(url) == CHAIN and version(url) == [CHAIN_HEAD]


def test_upgrade_to_a_revision_id_and_down_past_base_fails_cleanly(chain) -> None:
    assert chain("migrate", "upgrade", CHAIN[2]).exit_code == 0
    assert version(chain.url) == [CHAIN[2]]
    outcome = chain("migrate", "downgrade", "-4", "--yes")
    assert outcome.exit_code == 5
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert "Traceback" not in outcome.stderr
    assert markers(chain.url) == CHAIN[:3]  # nothing ran


@pytest.mark.parametrize(
    "args",
    [
        ["migrate", "upgrade", "deadbeef"],
        ["migrate", "downgrade", "nonsense", "--yes"],
        ["migrate", "stamp", "nonsense", "--yes"],
        ["migrate", "history", "-r", "nonsense"],
        ["migrate", "upgrade", "deadbeef", "--sql"],
    ],
)
def test_bad_revision_is_one_line_and_exit_5(chain, args) -> None:
    outcome = chain(*args)
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.startswith("error: ")
    assert len(outcome.stderr.strip().splitlines()) == 1


def test_stamp_records_a_revision_without_running_it(chain) -> None:
    chain("migrate", "upgrade", "+1")
    outcome = chain("migrate", "stamp", "head", "--yes")
    assert outcome.exit_code == 0, outcome.stderr
    assert f"stamped {CHAIN_HEAD} (was {CHAIN[0]}); no migration ran" in outcome.stdout
    assert version(chain.url) == [CHAIN_HEAD]
    assert markers(chain.url) == CHAIN[:1]


def test_sql_prints_what_would_run_from_the_current_revision_and_changes_nothing(
    chain, backend
) -> None:
    chain("migrate", "upgrade", "+2")
    up = chain("migrate", "upgrade", "--sql")
    assert up.exit_code == 0, up.stderr
    assert f"Running upgrade {CHAIN[1]} -> {CHAIN[2]}" in up.stdout
    assert f"VALUES ('{CHAIN_HEAD}'" in up.stdout
    assert f"VALUES ('{CHAIN[0]}'" not in up.stdout  # already applied: not repeated
    # Each dialect renders its own SQL: the chain records the backend pid on PostgreSQL.
    assert ("pg_backend_pid()" in up.stdout) is (backend == "postgresql")

    relative = chain("migrate", "upgrade", "+1", "--sql", "--json")
    data = json.loads(relative.stdout)["data"]
    assert data["range"] == f"{CHAIN[1]}:+1" and data["dialect"] == backend
    assert f"VALUES ('{CHAIN[2]}'" in data["sql"] and f"'{CHAIN[3]}'" not in data["sql"]

    down = chain("migrate", "downgrade", "-1", "--sql")
    assert down.exit_code == 0, down.stderr
    assert f"Running downgrade {CHAIN[1]} -> {CHAIN[0]}" in down.stdout
    assert f"DELETE FROM markers WHERE revision = '{CHAIN[1]}'" in down.stdout

    stamp = chain("migrate", "stamp", "head", "--sql")
    assert f"UPDATE alembic_version SET version_num='{CHAIN_HEAD}'" in stamp.stdout

    assert version(chain.url) == [CHAIN[1]] and markers(chain.url) == CHAIN[:2]


def test_sql_for_a_range_needs_no_database(cli, tmp_path) -> None:
    nowhere = f"sqlite+aiosqlite:///{tmp_path}/missing/dir/app.db"
    for dialect, marker in (("postgresql", "pg_backend_pid()"), ("sqlite", "'m2b00002', NULL")):
        outcome = cli(
            ["migrate", "sql", f"{CHAIN[0]}:{CHAIN[2]}", "--dialect", dialect],
            db=nowhere,
            env=CHAIN_ENV,
        )
        assert outcome.exit_code == 0, outcome.stderr
        assert marker in outcome.stdout
        assert f"Running upgrade {CHAIN[1]} -> {CHAIN[2]}" in outcome.stdout
        assert f"VALUES ('{CHAIN[0]}'" not in outcome.stdout  # FROM is excluded
    down = cli(
        ["migrate", "sql", f"{CHAIN_HEAD}:{CHAIN[2]}", "--downgrade", "--dialect", "sqlite"],
        db=nowhere,
        env=CHAIN_ENV,
    )
    assert f"DELETE FROM markers WHERE revision = '{CHAIN_HEAD}'" in down.stdout
    bad = cli(["migrate", "sql", "head", "--dialect", "oracle"], db=nowhere, env=CHAIN_ENV)
    assert bad.exit_code == 5 and "unknown dialect" in bad.stderr


def test_status_check_is_a_deploy_gate(chain) -> None:
    outcome = chain("migrate", "status", "--check", "--json")
    assert outcome.exit_code == 1
    envelope = json.loads(outcome.stdout)
    assert envelope["success"] is False and envelope["error_code"] == "PENDING_MIGRATIONS"
    assert [rev["revision"] for rev in envelope["data"]["revisions"]] == CHAIN
    assert "5 pending revisions" in outcome.stderr

    chain("migrate", "upgrade", "+3")
    outcome = chain("migrate", "status", "--check")
    assert outcome.exit_code == 1 and "2 pending revisions" in outcome.stderr
    assert "pending (head)" in outcome.stdout

    chain("migrate", "upgrade")
    outcome = chain("migrate", "status", "--check")
    assert outcome.exit_code == 0 and "up to date" in outcome.stdout


def test_current_heads_and_history(chain) -> None:
    chain("migrate", "upgrade", "+2")
    current = json.loads(chain("migrate", "current", "--json").stdout)["data"]
    assert current == {"current": [CHAIN[1]], "heads": [CHAIN_HEAD], "at_head": False}
    assert f"{CHAIN[1]}; head is {CHAIN_HEAD}" in chain("migrate", "current").stdout

    heads = json.loads(chain("migrate", "heads", "--json").stdout)["data"]
    assert [(h["revision"], h["down_revision"], h["message"]) for h in heads] == [
        (CHAIN_HEAD, [CHAIN[3]], "marker 5")
    ]

    history = json.loads(chain("migrate", "history", "-r", f"{CHAIN[1]}:", "--json").stdout)
    assert [rev["revision"] for rev in history["data"]] == CHAIN[:0:-1]  # newest first
    text = chain("migrate", "history").stdout.splitlines()
    assert text[0].startswith(f"{CHAIN[3]} -> {CHAIN_HEAD} (head), marker 5")
    assert text[-1].startswith(f"<base> -> {CHAIN[0]}, marker 1")


def test_downgrade_and_stamp_ask_first(chain) -> None:
    chain("migrate", "upgrade")
    for args in (["downgrade", "-1"], ["stamp", "base"]):
        outcome = chain("migrate", *args)  # no --yes and no terminal: refused
        assert outcome.exit_code == 7, outcome.stderr
        assert "without --yes" in outcome.stderr
    assert version(chain.url) == [CHAIN_HEAD] and markers(chain.url) == CHAIN


def test_production_needs_yes_and_force_without_a_terminal(chain) -> None:
    chain("migrate", "upgrade")
    production = {"ENVIRONMENT": "production"}
    outcome = chain("migrate", "downgrade", "-1", "--yes", env=production)
    assert outcome.exit_code == 7
    assert "in production without a terminal: add --force" in outcome.stderr
    outcome = chain("migrate", "stamp", "base", "--yes", "--json", env=production)
    assert outcome.exit_code == 7
    assert json.loads(outcome.stdout)["error_code"] == "REFUSED"
    assert version(chain.url) == [CHAIN_HEAD]

    outcome = chain("migrate", "downgrade", "-1", "--yes", "--force", env=production)
    assert outcome.exit_code == 0, outcome.stderr
    assert markers(chain.url) == CHAIN[:-1]
    # Printing SQL changes nothing: no confirmation needed.
    assert chain("migrate", "downgrade", "-1", "--sql", env=production).exit_code == 0


def test_db_migration_url_is_used_for_migrations(cli, blank_db_url, tmp_path) -> None:
    # DATABASE_URL points nowhere: only DB_MIGRATION_URL can make this work.
    env = {
        **CHAIN_ENV,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/missing/dir/app.db",
        "DB_MIGRATION_URL": blank_db_url,
    }
    outcome = cli(["migrate", "upgrade"], env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert markers(blank_db_url) == CHAIN
    assert cli(["migrate", "status", "--check"], env=env).exit_code == 0


def _on_a_terminal(args: list[str], url: str, typed: str) -> tuple[int, str]:
    """Run `manage ARGS` with a terminal on stdin, type `typed`, return (exit code, stderr)."""
    import os
    import pty
    import subprocess

    from tests.conftest import MANAGE_BIN, manage_env

    master, slave = pty.openpty()
    env = manage_env(url, ENVIRONMENT="production", **CHAIN_ENV)
    proc = subprocess.Popen(
        [str(MANAGE_BIN), *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    os.close(slave)
    try:
        os.write(master, typed.encode() + b"\n")
        _, stderr = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return proc.returncode, stderr


def test_production_on_a_terminal_needs_the_database_name_typed(chain, backend) -> None:
    chain("migrate", "upgrade")
    url = chain.url
    name = url.rsplit("/", 1)[1]  # the PostgreSQL database, or the SQLite file name
    code, stderr = _on_a_terminal(["migrate", "downgrade", "-1", "--yes"], url, "wrong")
    assert code == 7 and "confirmation did not match" in stderr
    assert markers(url) == CHAIN
    code, stderr = _on_a_terminal(["migrate", "downgrade", "-1", "--yes"], url, name)
    assert code == 0, stderr
    assert markers(url) == CHAIN[:-1]


def test_branch_heads_are_targets_and_plain_head_is_refused(cli, blank_db_url) -> None:
    from tests.migrations_fixtures import BRANCHES_ENV

    def run(*args: str):
        return cli(list(args), db=blank_db_url, env=BRANCHES_ENV)

    heads = json.loads(run("migrate", "heads", "--json").stdout)["data"]
    assert sorted(h["revision"] for h in heads) == ["a2000000", "c1000000"]

    outcome = run("migrate", "upgrade", "alpha@head", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    assert json.loads(outcome.stdout)["data"]["applied"] == ["b0000000", "a1000000", "a2000000"]

    ambiguous = run("migrate", "upgrade")  # head: which one?
    assert ambiguous.exit_code == 5
    assert "Multiple head" in ambiguous.stderr
    assert len(ambiguous.stderr.strip().splitlines()) == 1

    assert run("migrate", "upgrade", "heads").exit_code == 0
    assert markers(blank_db_url) == ["a1000000", "a2000000", "b0000000", "c1000000"]
    assert run("migrate", "status", "--check").exit_code == 0
