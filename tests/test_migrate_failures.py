"""A revision that fails says which one, why, and where the database is now (exit 8).

And the checksums of the revisions that committed before it (PostgreSQL: one transaction per
revision) are recorded, after a failure as after an interrupt. SQLite runs the whole upgrade
in one transaction: a failure leaves the database where it started, checksums included.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.conftest import MANAGE_BIN, fetch, manage_env
from tests.migrations_fixtures.extra_revisions import SHIPPED_HEAD, shipped_copy

TABLE = "manage_revision_checksums"


def _creates(table: str) -> str:
    return f"""
def upgrade() -> None:
    op.create_table({table!r}, sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table({table!r})
"""


MISSING_TABLE = """
def upgrade() -> None:
    op.execute("UPDATE no_such_table SET id = 1")


def downgrade() -> None:
    pass
"""

PYTHON_ERROR = """
def upgrade() -> None:
    op.add_column("users", sa.Column("nickname", sa.String(50), nulable=True))


def downgrade() -> None:
    pass
"""

BROKEN_DOWNGRADE = """
def upgrade() -> None:
    pass


def downgrade() -> None:
    op.drop_table("never_created")
"""

AUTOCOMMIT_UNGUARDED = """
def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index("ix_users_full_name", "users", ["full_name"])


def downgrade() -> None:
    op.drop_index("ix_users_full_name", table_name="users")
"""

SLOW = """
def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SELECT pg_sleep(60)")
    else:  # a statement (cancellable, as a SIGTERM cancels it), not time.sleep in Python
        op.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000)"
            " SELECT count(*) FROM c"
        )


def downgrade() -> None:
    pass
"""


def _checksums(url: str) -> set[str]:
    try:
        return {row[0] for row in fetch(url, f"SELECT revision FROM {TABLE}")}
    except Exception as exc:
        if TABLE in str(exc):
            return set()
        raise


def _version(url: str) -> list[str]:
    return [row[0] for row in fetch(url, "SELECT version_num FROM alembic_version")]


@pytest.fixture
def chain(cli, blank_db_url, tmp_path):
    """Build a copy of the shipped chain plus `revisions`, upgraded to the shipped head."""

    def build(*revisions: tuple[str, str]) -> dict[str, str]:
        env = {"MANAGE_MIGRATIONS_DIR": str(shipped_copy(tmp_path, *revisions))}
        assert cli(["migrate", "upgrade", SHIPPED_HEAD], db=blank_db_url, env=env).exit_code == 0
        return env

    return build


def test_a_failing_revision_is_exit_8_naming_it_the_reason_and_where_the_database_is(
    cli, blank_db_url, chain, backend
) -> None:
    env = chain(
        ("f0000001", _creates("t1")), ("f0000002", _creates("t2")), ("f0000003", MISSING_TABLE)
    )
    outcome = cli(["migrate", "upgrade"], db=blank_db_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    (line,) = outcome.stderr.strip().splitlines()
    assert line.startswith("error: revision f0000003 (f0000003) failed: ")
    reason = "no such table: no_such_table" if backend == "sqlite" else 'relation "no_such_table"'
    assert reason in line
    assert "manage migrate upgrade` first" not in line and "--verbose" not in line
    if backend == "sqlite":  # one transaction for the whole run: nothing of it stays
        assert line.endswith(f"the database is at {SHIPPED_HEAD}")
        assert _version(blank_db_url) == [SHIPPED_HEAD]
        assert "f0000001" not in _checksums(blank_db_url)
    else:  # one transaction per revision: the first two stay, with their checksums
        assert line.endswith("the database is at f0000002")
        assert _version(blank_db_url) == ["f0000002"]
        assert {"f0000001", "f0000002"} <= _checksums(blank_db_url)

    document = json.loads(cli(["migrate", "upgrade", "--json"], db=blank_db_url, env=env).stdout)
    assert document["success"] is False and document["error_code"] == "MIGRATION_FAILED"
    assert document["message"].startswith("revision f0000003 (f0000003) failed")


def test_a_python_error_in_a_revision_is_exit_8_not_a_bug_in_manage(
    cli, blank_db_url, chain
) -> None:
    env = chain(("p0000001", PYTHON_ERROR))
    outcome = cli(["migrate", "upgrade"], db=blank_db_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    assert "revision p0000001 (p0000001) failed: TypeError: " in outcome.stderr
    assert "nulable" in outcome.stderr
    assert f"the database is at {SHIPPED_HEAD}" in outcome.stderr


def test_a_failing_downgrade_names_the_revision_it_was_reverting(cli, blank_db_url, chain) -> None:
    env = chain(("d0000001", BROKEN_DOWNGRADE))
    assert cli(["migrate", "upgrade"], db=blank_db_url, env=env).exit_code == 0
    outcome = cli(["migrate", "downgrade", "-1", "--yes"], db=blank_db_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    assert outcome.stderr.startswith("error: downgrade of revision d0000001 (d0000001) failed: ")
    assert "never_created" in outcome.stderr
    assert outcome.stderr.strip().endswith("the database is at d0000001")
    assert _version(blank_db_url) == ["d0000001"]
    assert "d0000001" in _checksums(blank_db_url)


def test_autocommit_block_on_sqlite_says_to_guard_it_by_dialect(
    cli, blank_db_url, chain, backend
) -> None:
    env = chain(("a0000001", AUTOCOMMIT_UNGUARDED))
    outcome = cli(["migrate", "upgrade"], db=blank_db_url, env=env)
    if backend == "postgresql":
        assert outcome.exit_code == 0, outcome.stderr
        return
    assert outcome.exit_code == 8, outcome.stderr
    assert "autocommit_block() cannot run on SQLite" in outcome.stderr
    assert 'dialect.name == "postgresql"' in outcome.stderr
    assert "AssertionError" not in outcome.stderr


def test_checksums_of_revisions_committed_before_an_interrupt_are_recorded(
    blank_db_url, chain, backend
) -> None:
    env = chain(("i0000001", _creates("t1")), ("i0000002", _creates("t2")), ("i0000003", SLOW))
    proc = subprocess.Popen(
        [str(MANAGE_BIN), "migrate", "upgrade"],
        env=manage_env(blank_db_url, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        if backend == "postgresql":  # wait until the slow revision runs, the others committed
            while time.monotonic() < deadline and _version(blank_db_url) != ["i0000002"]:
                time.sleep(0.2)
        else:  # the SQLite file is locked for the run: nothing to watch
            time.sleep(5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    if backend == "postgresql":
        assert _version(blank_db_url) == ["i0000002"]
        assert {"i0000001", "i0000002"} <= _checksums(blank_db_url)
        assert "i0000003" not in _checksums(blank_db_url)
    else:
        assert _version(blank_db_url) == [SHIPPED_HEAD]
        assert not {"i0000001", "i0000002"} & _checksums(blank_db_url)


DROP_MISSING_CONSTRAINT = """
def upgrade() -> None:
    with op.batch_alter_table("user_roles") as batch_op:
        batch_op.drop_constraint("no_such_constraint", type_="foreignkey")


def downgrade() -> None:
    pass
"""


def test_a_batch_operation_that_fails_names_its_revision(cli, blank_db_url, chain) -> None:
    env = chain(("k0000001", DROP_MISSING_CONSTRAINT))
    outcome = cli(["migrate", "upgrade", "--json"], db=blank_db_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["error_code"] == "MIGRATION_FAILED"
    assert document["message"].startswith("revision k0000001 (k0000001) failed: ")
    assert "no_such_constraint" in document["message"]
    assert document["message"].endswith(f"the database is at {SHIPPED_HEAD}")
    assert _version(blank_db_url) == [SHIPPED_HEAD]


def test_a_failing_revision_as_a_real_process_is_one_line_and_exit_8(
    manage_proc, blank_db_url, chain
) -> None:
    env = chain(("f0000001", _creates("t1")), ("f0000003", MISSING_TABLE))
    outcome = manage_proc(["migrate", "upgrade"], db=blank_db_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    (line,) = outcome.stderr.strip().splitlines()
    assert line.startswith("error: revision f0000003 (f0000003) failed: ")
    assert "Traceback" not in outcome.stderr and "UPDATE no_such_table" not in outcome.stderr
    verbose = manage_proc(["--verbose", "migrate", "upgrade"], db=blank_db_url, env=env)
    assert verbose.exit_code == 8 and "Traceback" in verbose.stderr


def _failing(statement: str) -> str:
    return f"""
def upgrade() -> None:
    op.execute({statement!r})


def downgrade() -> None:
    pass
"""


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        (
            "INSERT INTO roles (id, name, description, created_at) VALUES "
            "(1, 'a', '', '2026-01-01'), (2, 'a', '', '2026-01-01')",
            "unique",
        ),
        ("INSERT INTO roles (id, description, created_at) VALUES (1, '', '2026-01-01')", "null"),
        ("SELECT )", "syntax"),
        ("INSERT INTO user_roles (user_id, role_id) VALUES (1, 1)", "foreign key"),
    ],
    ids=["unique", "not-null", "syntax", "foreign-key"],
)
def test_every_kind_of_database_error_in_a_revision_is_exit_8_naming_it(
    cli, blank_db_url, chain, statement, reason
) -> None:
    env = chain(("e0000001", _failing(statement)))
    outcome = cli(["migrate", "upgrade", "--json"], db=blank_db_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["error_code"] in ("MIGRATION_FAILED", "FOREIGN_KEY_VIOLATION")
    assert "e0000001" in document["message"] or "user_roles" in document["message"]
    assert reason in document["message"].lower()
    assert "2026-01-01" not in document["message"]  # the statement's values never show
    assert _version(blank_db_url) == [SHIPPED_HEAD]


def _freeze_version_table(url: str, backend: str) -> None:
    """A trigger that refuses every change to alembic_version, with its own message."""
    if backend == "sqlite":
        for event in ("INSERT", "UPDATE", "DELETE"):
            fetch(
                url,
                f"CREATE TRIGGER frozen_{event.lower()} BEFORE {event} ON alembic_version "
                "BEGIN SELECT RAISE(ABORT, 'alembic_version is frozen'); END",
            )
        return
    fetch(
        url,
        "CREATE FUNCTION frozen() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'alembic_version is frozen'; END $$",
    )
    fetch(
        url,
        "CREATE TRIGGER frozen BEFORE INSERT OR UPDATE OR DELETE ON alembic_version "
        "FOR EACH ROW EXECUTE FUNCTION frozen()",
    )


def test_a_failing_stamp_is_exit_8_with_the_reason_and_where_the_database_is(
    cli, blank_db_url, chain, backend
) -> None:
    env = chain(("s0000001", _creates("t1")))
    _freeze_version_table(blank_db_url, backend)
    outcome = cli(["migrate", "stamp", "s0000001", "--yes"], db=blank_db_url, env=env)
    assert outcome.exit_code == 8, outcome.stderr
    (line,) = outcome.stderr.strip().splitlines()
    assert line.startswith("error: stamp failed: ")
    assert "alembic_version is frozen" in line
    assert line.endswith(f"the database is at {SHIPPED_HEAD}")
    assert _version(blank_db_url) == [SHIPPED_HEAD]
