"""Offline SQL on revisions that read the database, several heads, and clean output.

- `--sql` on a revision that reads the database is exit 5 naming it (offline has no database);
- `downgrade -1` with two heads is refused (exit 5) naming the heads and the forms that work;
- Alembic's Python warnings become one `warning:` line;
- print() in a revision goes to stderr: a --json document on stdout stays one JSON document.
"""

from __future__ import annotations

import json

import pytest

from tests.migrations_fixtures import BRANCHES_ENV, version
from tests.migrations_fixtures.extra_revisions import (
    SHIPPED_HEAD,
    WIDEN_FULL_NAME,
    add_revision,
    shipped_copy,
)

BIND_READ = """
def upgrade() -> None:
    count = op.get_bind().execute(sa.text("SELECT count(*) FROM users")).scalar()
    if count:
        op.execute("UPDATE users SET full_name = email WHERE full_name IS NULL")


def downgrade() -> None:
    pass
"""

INSPECTOR_READ = """
def upgrade() -> None:
    columns = [c["name"] for c in sa.inspect(op.get_bind()).get_columns("users")]
    if "nickname" not in columns:
        op.add_column("users", sa.Column("nickname", sa.String(50), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "nickname")
"""

GUARDED_READ = """
from alembic import context


def upgrade() -> None:
    if not context.is_offline_mode():
        op.get_bind().execute(sa.text("SELECT count(*) FROM users")).scalar()
    op.execute("UPDATE users SET full_name = email WHERE full_name IS NULL")


def downgrade() -> None:
    pass
"""

PRINTS = """
def upgrade() -> None:
    print("hello from the revision")
    op.execute("UPDATE users SET full_name = email WHERE full_name IS NULL")


def downgrade() -> None:
    print("bye from the revision")
"""


@pytest.mark.parametrize("body", [BIND_READ, INSPECTOR_READ], ids=["bind", "inspector"])
@pytest.mark.parametrize(
    "args",
    [
        ["migrate", "sql", f"{SHIPPED_HEAD}:head", "--dialect", "postgresql"],
        ["migrate", "sql", f"{SHIPPED_HEAD}:head", "--dialect", "sqlite", "--json"],
        ["migrate", "upgrade", "--sql"],
    ],
    ids=["sql-pg", "sql-sqlite-json", "upgrade-sql"],
)
def test_offline_sql_of_a_revision_that_reads_the_database_is_exit_5_naming_it(
    cli, db_url, tmp_path, body, args
) -> None:
    env = {"MANAGE_MIGRATIONS_DIR": str(shipped_copy(tmp_path, ("r0000001", body)))}
    outcome = cli(args, db=db_url, env=env)
    assert outcome.exit_code == 5, outcome.stderr
    (line,) = outcome.stderr.strip().splitlines()
    assert line.startswith("error: revision r0000001 cannot be rendered as offline SQL")
    assert "context.is_offline_mode()" in line
    if "--json" in args:
        assert json.loads(outcome.stdout)["error_code"] == "OFFLINE_READ"


def test_a_guarded_read_renders_offline(cli, db_url, tmp_path) -> None:
    env = {"MANAGE_MIGRATIONS_DIR": str(shipped_copy(tmp_path, ("r0000001", GUARDED_READ)))}
    outcome = cli(["migrate", "upgrade", "--sql"], db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert "UPDATE users SET full_name = email" in outcome.stdout


def test_downgrade_minus_one_from_two_heads_is_refused_naming_them(cli, blank_db_url) -> None:
    def run(*args: str):
        return cli(["migrate", *args], db=blank_db_url, env=BRANCHES_ENV)

    assert run("upgrade", "heads").exit_code == 0
    before = sorted(version(blank_db_url))
    assert before == ["a2000000", "c1000000"]

    outcome = run("downgrade", "-1", "--yes")
    assert outcome.exit_code == 5, outcome.stderr
    (line,) = outcome.stderr.strip().splitlines()
    assert "2 heads (a2000000, c1000000)" in line
    assert "`a2000000@-1`" in line and "`c1000000@-1`" in line
    assert "Warning" not in outcome.stderr
    assert sorted(version(blank_db_url)) == before  # nothing reverted

    outcome = run("downgrade", "a2000000@-1", "--yes", "--json")  # the suggested form works
    assert outcome.exit_code == 0, outcome.stderr
    assert json.loads(outcome.stdout)["data"]["reverted"] == ["a2000000"]
    assert sorted(version(blank_db_url)) == ["a1000000", "c1000000"]


def test_an_alembic_warning_is_one_warning_line(cli, tmp_path) -> None:
    copy = shipped_copy(tmp_path, ("x0000001", PRINTS))
    # The same revision id in a second file: Alembic warns "present more than once".
    add_revision(copy, "x0000001", PRINTS, down=SHIPPED_HEAD, minute=30)
    outcome = cli(["migrate", "heads"], env={"MANAGE_MIGRATIONS_DIR": str(copy)})
    assert "warning: Revision x0000001 is present more than once" in outcome.stderr
    assert "UserWarning" not in outcome.stderr and "util.warn" not in outcome.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["migrate", "upgrade", "--json"],
        ["migrate", "upgrade", "--sql", "--json"],
        ["migrate", "sql", f"{SHIPPED_HEAD}:head", "--dialect", "sqlite", "--json"],
    ],
    ids=["upgrade", "upgrade-sql", "sql"],
)
def test_print_in_a_revision_never_corrupts_json(cli, db_url, tmp_path, args) -> None:
    env = {"MANAGE_MIGRATIONS_DIR": str(shipped_copy(tmp_path, ("x0000001", PRINTS)))}
    outcome = cli(args, db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    document = json.loads(outcome.stdout)  # exactly one JSON document
    assert document["success"] is True
    assert "hello from the revision" in outcome.stderr
    if args[1] == "upgrade" and "--sql" not in args:
        down = cli(["migrate", "downgrade", "-1", "--yes", "--json"], db=db_url, env=env)
        assert json.loads(down.stdout)["data"]["reverted"] == ["x0000001"]
        assert "bye from the revision" in down.stderr


def test_print_in_a_revision_never_corrupts_the_process_json(manage_proc, db_url, tmp_path) -> None:
    env = {"MANAGE_MIGRATIONS_DIR": str(shipped_copy(tmp_path, ("x0000001", PRINTS)))}
    outcome = manage_proc(["migrate", "upgrade", "--json"], db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert json.loads(outcome.stdout)["data"]["applied"] == ["x0000001"]
    assert "hello from the revision" in outcome.stderr


def test_offline_sqlite_sql_of_a_table_rebuild_names_the_revision(cli, tmp_path) -> None:
    copy = shipped_copy(tmp_path, ("w0000001", WIDEN_FULL_NAME))
    outcome = cli(
        ["migrate", "sql", f"{SHIPPED_HEAD}:head", "--dialect", "sqlite"],
        env={"MANAGE_MIGRATIONS_DIR": str(copy)},
    )
    assert outcome.exit_code == 5, outcome.stderr
    (line,) = outcome.stderr.strip().splitlines()
    assert line.startswith("error: revision w0000001 cannot be rendered as offline SQL")
    assert "batch mode" in line and "reflection" in line and "copy_from=" in line
    assert "is_offline_mode" not in line  # guarding a read is not the fix for a rebuild
    # The same range renders for PostgreSQL (an ALTER in place, no reflection needed).
    outcome = cli(
        ["migrate", "sql", f"{SHIPPED_HEAD}:head", "--dialect", "postgresql"],
        env={"MANAGE_MIGRATIONS_DIR": str(copy)},
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert "ALTER TABLE users ALTER COLUMN full_name TYPE VARCHAR(400)" in outcome.stdout


def test_print_in_a_revision_never_corrupts_review_json(cli, db_url, tmp_path) -> None:
    env = {"MANAGE_MIGRATIONS_DIR": str(shipped_copy(tmp_path, ("x0000001", PRINTS)))}
    outcome = cli(["migrate", "review", "--json", "--no-sql-lint"], db=db_url, env=env)
    assert outcome.exit_code in (0, 1), outcome.stderr
    json.loads(outcome.stdout)  # exactly one JSON document
    assert "hello from the revision" not in outcome.stdout


LOUD_MODULE = """
print("loading the loud revision")


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
"""


@pytest.mark.parametrize(
    "args",
    [
        ["migrate", "status", "--json"],
        ["migrate", "heads", "--json"],
        ["migrate", "history", "--json"],
        ["migrate", "current", "--json"],
        ["migrate", "check", "--json"],
        ["migrate", "upgrade", "--json"],
    ],
    ids=lambda args: args[1],
)
def test_a_revision_file_printing_when_loaded_never_corrupts_json(
    cli, db_url, tmp_path, args
) -> None:
    env = {"MANAGE_MIGRATIONS_DIR": str(shipped_copy(tmp_path, ("l0000001", LOUD_MODULE)))}
    outcome = cli(args, db=db_url, env=env)
    json.loads(outcome.stdout)  # exactly one JSON document, whatever the exit code
    assert "loading the loud revision" not in outcome.stdout
