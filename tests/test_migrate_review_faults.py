"""Each known fault of issue 13 as a test (its example, and other members of its kind):
dialect guards, NOT NULL already, new columns and tables, renames by meaning and explicit
renames, merge revisions, messages without `None`, enum variables and the recommended fix,
backfills, primary keys and unique constraints. Rules only (`--no-sql-lint`), no database.
"""

from __future__ import annotations

import json

import pytest

from tests.review_support import revision_source, write_scripts

BASE = revision_source(
    "base1",
    None,
    'op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True),\n'
    '    sa.Column("name", sa.Text(), nullable=True),\n'
    '    sa.Column("nick", sa.VARCHAR(length=255), nullable=True))',
    'op.drop_table("accounts")',
)


@pytest.fixture
def review(cli, tmp_path):
    def run(upgrade: str, downgrade: str = "pass", *, header: str = "", sql: bool = False):
        source = revision_source("rev1", "base1", upgrade, downgrade)
        source = source.replace("from alembic import op\n", f"from alembic import op\n{header}")
        env = write_scripts(tmp_path, {"1_base.py": BASE, "2_rev.py": source})
        args = ["migrate", "review", "--all", "--json"]
        outcome = cli([*args] if sql else [*args, "--no-sql-lint"], env=env)
        assert outcome.exit_code in (0, 1), outcome.stdout + outcome.stderr
        data = json.loads(outcome.stdout)["data"]
        hits = [f for f in data["findings"] if f["path"].endswith("2_rev.py")]
        return hits, outcome

    return run


def rules(hits: list[dict]) -> list[str]:
    return sorted(f["rule"] for f in hits if f["rule"] != "empty-downgrade")


# Dialect guards -------------------------------------------------------------------------------


def test_ops_under_a_mysql_guard_are_not_judged_for_postgresql(review) -> None:
    hits, _ = review(
        'if op.get_bind().dialect.name == "mysql":\n'
        '    op.create_index("ix_a_name", "accounts", ["name"])\n'
        '    op.drop_column("accounts", "nick")\n'
        "else:\n"
        '    op.create_foreign_key(None, "accounts", "accounts", ["id"], ["id"])'
    )
    assert rules(hits) == ["constraint-not-valid"]
    assert hits[0]["line"] == 17  # the else branch: PostgreSQL runs it


@pytest.mark.parametrize(
    "guard",
    [
        'if str(op.get_bind().engine.url).startswith("sqlite") is False:',
        'if op.get_bind().dialect.name != "sqlite":',
        'if op.get_bind().dialect.name in ("postgresql",):',
        'if not op.get_bind().dialect.name == "mysql":',
    ],
)
def test_ops_under_a_guard_postgresql_passes_are_judged(review, guard) -> None:
    hits, _ = review(f'{guard}\n    op.create_index("ix_a_name", "accounts", ["name"])')
    assert rules(hits) == ["index-not-concurrent"]


def test_a_postgresql_guard_elses_branch_is_not_judged(review) -> None:
    hits, _ = review(
        'if op.get_bind().dialect.name == "postgresql":\n'
        "    pass\n"
        "else:\n"
        '    op.drop_column("accounts", "nick")'
    )
    assert rules(hits) == []


# NOT NULL, new columns and tables -------------------------------------------------------------


def test_existing_nullable_false_is_not_set_not_null(review) -> None:
    hits, _ = review(
        'op.alter_column("accounts", "name", existing_type=sa.Text(), '
        "existing_nullable=False, nullable=False)"
    )
    assert rules(hits) == []
    hits, _ = review('op.alter_column("accounts", "name", nullable=False)')
    assert rules(hits) == ["set-not-null"]


def test_a_type_change_that_also_sets_not_null_is_one_finding(review) -> None:
    hits, _ = review('op.alter_column("accounts", "name", type_=sa.Integer(), nullable=False)')
    assert rules(hits) == ["alter-column-type"]
    assert "and sets it NOT NULL" in hits[0]["message"]


@pytest.mark.parametrize(
    ("old", "new", "rewrites"),
    [
        ("sa.String(500)", "sa.String(6000)", False),
        ("sa.String(length=1000)", "sa.Text()", False),
        ("sa.VARCHAR(255)", "sqlmodel.sql.sqltypes.AutoString()", False),
        ("sa.String()", "sa.String(length=255)", True),
        ("sa.String(255)", "sa.String(100)", True),
        ("sa.Text()", "postgresql.JSONB()", True),
        (None, "sa.String(6000)", True),  # no existing_type: cannot tell
    ],
)
def test_type_changes_postgresql_makes_without_a_rewrite_are_not_flagged(
    review, old, new, rewrites
) -> None:
    existing = f"existing_type={old}, " if old else ""
    hits, _ = review(f'op.alter_column("accounts", "nick", {existing}type_={new})')
    assert rules(hits) == (["alter-column-type"] if rewrites else [])


def test_a_column_or_table_made_earlier_in_the_upgrade_is_no_risk(review) -> None:
    hits, _ = review(
        'op.add_column("accounts", sa.Column("tmp", sa.Integer(), nullable=True))\n'
        'op.alter_column("accounts", "tmp", nullable=False)\n'
        'op.alter_column("accounts", "tmp", new_column_name="tmp2")\n'
        'op.drop_column("accounts", "tmp2")\n'
        'op.create_table("scratch", sa.Column("id", sa.Integer(), primary_key=True))\n'
        'op.create_index("ix_scratch_id", "scratch", ["id"])\n'
        'op.create_unique_constraint("uq_scratch", "scratch", ["id"])\n'
        'op.drop_table("scratch")'
    )
    # Only SET NOT NULL stays: the new column lives in an existing table, and PostgreSQL
    # scans all of that table's rows under ACCESS EXCLUSIVE (tests/test_migrate_review_attack.py).
    assert rules(hits) == ["set-not-null"]


# Renames --------------------------------------------------------------------------------------


def test_drop_and_add_of_the_same_type_by_meaning_is_a_rename_in_disguise(review) -> None:
    """Autogenerate: AutoString(length=255) added, VARCHAR(length=255) re-added by downgrade."""
    hits, _ = review(
        'op.add_column("accounts", sa.Column("nickname", '
        "sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))\n"
        'op.drop_column("accounts", "nick")',
        'op.add_column("accounts", sa.Column("nick", sa.VARCHAR(length=255), nullable=True))\n'
        'op.drop_column("accounts", "nickname")',
        header="import sqlmodel\n",
    )
    assert rules(hits) == ["rename-in-disguise"]
    assert "nick" in hits[0]["message"] and "nickname" in hits[0]["message"]


def test_drop_and_add_of_different_types_is_no_rename(review) -> None:
    hits, _ = review(
        'op.add_column("accounts", sa.Column("nickname", sa.Integer(), nullable=True))\n'
        'op.drop_column("accounts", "nick")',
        'op.add_column("accounts", sa.Column("nick", sa.VARCHAR(length=255), nullable=True))',
    )
    assert rules(hits) == ["drop-column"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            'op.alter_column("accounts", "name", new_column_name="full_name")',
            "renames column accounts.name to full_name",
        ),
        ('op.rename_table("accounts", "users")', "renames table accounts to users"),
        (
            'with op.batch_alter_table("accounts") as b:\n'
            '    b.alter_column("name", new_column_name="full_name")',
            "renames column accounts.name to full_name",
        ),
    ],
)
def test_explicit_renames_have_a_rule_of_their_own(review, call, message) -> None:
    hits, outcome = review(call)
    assert rules(hits) == ["rename"]
    assert hits[0]["message"] == message and hits[0]["severity"] == "error"
    assert outcome.exit_code == 1


# Merges, messages -----------------------------------------------------------------------------


def test_a_merge_revision_is_not_an_empty_downgrade(cli, tmp_path) -> None:
    other = revision_source("other1", "base1", "pass", "pass")
    merge = revision_source("merge1", ("rev1", "other1"), "pass", "pass")
    rev = revision_source(
        "rev1", "base1", 'op.add_column("accounts", sa.Column("x", sa.Text()))', "pass"
    )
    env = write_scripts(tmp_path, {"1.py": BASE, "2.py": rev, "3.py": other, "4_merge.py": merge})
    outcome = cli(["migrate", "review", "--all", "--no-sql-lint", "--json"], env=env)
    found = json.loads(outcome.stdout)["data"]["findings"]
    assert [(f["rule"], f["revision"]) for f in found] == [("empty-downgrade", "rev1")]


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            'op.create_foreign_key(None, "accounts", "accounts", ["id"], ["id"])',
            "adds an unnamed foreign key on accounts",
        ),
        (
            'op.create_index(op.f("ix_a"), TABLE, ["name"])',
            "creates ix_a on accounts",
        ),
        (
            'for table in ["accounts", "orders"]:\n'
            '    op.create_index(f"ix_{table}_name", table, ["name"])',
            "creates an index named at run time (f'ix_{table}_name') on each of accounts, orders",
        ),
        (
            'op.create_unique_constraint(None, Model.__tablename__, ["name"])',
            "on the table named by Model.__tablename__",
        ),
    ],
)
def test_messages_never_say_none(review, call, expected) -> None:
    hits, _ = review(call, header='TABLE = "accounts"\n')
    assert hits, call
    message = hits[0]["message"]
    assert expected in message
    assert "None" not in message and "a constraint" not in message
    assert "an index on None" not in message


# enum-change --------------------------------------------------------------------------------


def test_enum_held_in_a_variable_is_seen(review) -> None:
    hits, _ = review(
        'mood = sa.Enum("happy", "sad", name="mood")\n'
        'op.add_column("accounts", sa.Column("mood", mood, nullable=True))'
    )
    assert rules(hits) == ["enum-change"]


def test_enum_change_does_not_flag_the_fix_it_recommends(review) -> None:
    hits, _ = review(
        'mood = postgresql.ENUM("happy", "sad", name="mood")\n'
        "mood.create(op.get_bind())\n"
        'op.add_column("accounts", sa.Column("mood", mood, nullable=True))\n'
        "with op.get_context().autocommit_block():\n"
        "    op.execute(\"ALTER TYPE mood ADD VALUE 'meh'\")\n"
        'op.create_table("moods", sa.Column("id", sa.Integer(), primary_key=True),\n'
        '    sa.Column("m", sa.Enum("a", "b", name="m"), nullable=True))',
        'op.drop_table("moods")\nsa.Enum(name="m").drop(op.get_bind())\n'
        'op.drop_column("accounts", "mood")\nmood = postgresql.ENUM(name="mood")\n'
        "mood.drop(op.get_bind())",
        header="from sqlalchemy.dialects import postgresql\n",
    )
    assert rules(hits) == []
    hits, _ = review("op.execute(\"ALTER TYPE mood ADD VALUE 'meh'\")")
    assert rules(hits) == ["enum-change"]


# Backfills, primary keys, unique constraints ---------------------------------------------------


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("op.execute(\"UPDATE accounts SET name = 'x'\")", 13),
        ('op.get_bind().execute(sa.text("DELETE FROM accounts WHERE name IS NULL"))', 13),
        (
            't = sa.table("accounts", sa.column("name"))\n'
            "op.execute(t.update().values(name='x'))",
            14,
        ),
        (
            "conn = op.get_bind()\n"
            'for row in conn.execute(sa.text("SELECT id FROM accounts")):\n'
            '    conn.execute(sa.text("UPDATE accounts SET name = :n WHERE id = :id"), '
            '{"n": "x", "id": row.id})',
            14,
        ),
        (
            "session = sa.orm.Session(bind=op.get_bind())\n"
            "for account in session.query(Account).all():\n"
            "    session.merge(account)",
            14,
        ),
        (
            "session = sa.orm.Session(bind=op.get_bind())\n"
            "for account in session.query(Account).all():\n"
            "    account.name = account.name.strip()\n"
            "session.commit()",
            14,
        ),
    ],
)
def test_unbatched_backfills_are_findings(review, code, line) -> None:
    hits, _ = review(code)
    assert rules(hits) == ["backfill"], hits
    assert hits[0]["line"] == line
    assert "accounts" in hits[0]["message"] or "a table" in hits[0]["message"]
    assert "batches" in hits[0]["fix"]


@pytest.mark.parametrize(
    "code",
    [
        'op.execute("UPDATE accounts SET name = :n WHERE id = :id")',
        "op.execute(\"UPDATE accounts SET name = 'x' WHERE id BETWEEN :lo AND :hi\")",
        't = sa.table("accounts", sa.column("id"))\n'
        "op.execute(t.update().where(t.c.id == 1).values(id=2))",
        'for name in ["a", "b"]:\n'
        "    op.execute(f\"UPDATE accounts SET name = '{name}' WHERE id = :id\")",
        "op.execute(\"INSERT INTO accounts (name) VALUES ('x')\")",
    ],
)
def test_one_row_writes_and_batches_are_no_backfill(review, code) -> None:
    hits, _ = review(code)
    assert rules(hits) == []


def test_primary_key_rebuild_and_unique_constraint_are_findings(review) -> None:
    hits, _ = review(
        'op.drop_constraint("accounts_pkey", "accounts", type_="primary")\n'
        'op.create_primary_key("accounts_pkey", "accounts", ["id", "name"])\n'
        'op.create_unique_constraint("uq_accounts_name", "accounts", ["name"])'
    )
    assert rules(hits) == ["primary-key-rebuild", "unique-constraint"]
    assert all("concurrently" in f["fix"].lower() for f in hits if f["rule"] != "empty-downgrade")


def test_unique_through_a_concurrent_index_is_not_flagged(review) -> None:
    hits, _ = review(
        "with op.get_context().autocommit_block():\n"
        '    op.create_index("uq_accounts_name", "accounts", ["name"], unique=True,\n'
        "        postgresql_concurrently=True)\n"
        'op.execute("ALTER TABLE accounts ADD CONSTRAINT uq_accounts_name UNIQUE USING INDEX '
        'uq_accounts_name")'
    )
    assert rules(hits) == []


# Duplicates: a rule and squawk on one statement ----------------------------------------------


def test_a_rule_and_squawk_on_one_statement_are_one_finding(review) -> None:
    hits, _ = review(
        'op.add_column("accounts", sa.Column("plan", sa.Text(), nullable=False))',
        sql=True,
    )
    assert [f["rule"] for f in hits if f["line"] == 13] == ["add-not-null-column"]
    assert hits[0]["also"] == ["squawk:adding-required-field"]
    assert not any(f["rule"] == "squawk:adding-required-field" for f in hits)
    assert not any(f["line"] == 12 for f in hits)  # nothing left on `def upgrade()`


def test_squawk_findings_point_at_the_op_line_with_its_table(review) -> None:
    hits, _ = review('op.drop_index("ix_accounts_name", table_name="accounts")', sql=True)
    [hit] = [f for f in hits if f["source"] == "squawk"]
    assert hit["line"] == 13 and hit["table"] == "accounts"


def test_allowing_the_squawk_rule_silences_the_merged_finding(review) -> None:
    hits, _ = review(
        'op.add_column("accounts", sa.Column("plan", sa.Text(), nullable=False))'
        "  # manage: allow squawk:adding-required-field table is empty in every deployment",
        sql=True,
    )
    assert [f["rule"] for f in hits if f["line"] == 13] == []


# SQLite check ---------------------------------------------------------------------------------


def _sqlite_review(cli, tmp_path, files: dict[str, str]) -> dict:
    env = write_scripts(tmp_path, files)
    outcome = cli(["migrate", "review", "--all", "--json"], env={**env, "MANAGE_SQUAWK": "none"})
    assert outcome.exit_code in (0, 1), outcome.stdout + outcome.stderr
    return json.loads(outcome.stdout)["data"]


def test_an_unguarded_autocommit_block_reads_as_advice(cli, tmp_path) -> None:
    rev = revision_source(
        "rev1",
        "base1",
        "with op.get_context().autocommit_block():\n"
        '    op.create_index("ix_a_name", "accounts", ["name"], postgresql_concurrently=True)',
        'op.drop_index("ix_a_name", table_name="accounts")',
    )
    data = _sqlite_review(cli, tmp_path, {"1.py": BASE, "2.py": rev})
    [hit] = [f for f in data["findings"] if f["rule"] == "sqlite-incompatible"]
    assert "AssertionError" not in hit["message"]
    assert 'if op.get_bind().dialect.name == "postgresql":' in hit["message"]


def test_a_table_no_revision_creates_is_a_note_not_a_finding(cli, tmp_path) -> None:
    """The chain relies on a table made outside it: `no such table` is the harness's."""
    rev = revision_source(
        "rev1",
        "base1",
        'op.add_column("dag", sa.Column("note", sa.Text(), nullable=True))',
        'op.drop_column("dag", "note")',
    )
    data = _sqlite_review(cli, tmp_path, {"1.py": BASE, "2.py": rev})
    assert not [f for f in data["findings"] if f["rule"] == "sqlite-incompatible"]
    assert any("no revision creates table dag" in note for note in data["notes"])


def test_the_sqlite_check_reports_rows_a_real_upgrade_loses(cli, tmp_path) -> None:
    """A batch rebuild of a parent table on SQLite: whether its children's rows survive
    depends on how `migrate upgrade` runs SQLite migrations (foreign keys on: ON DELETE
    CASCADE fires on the DROP). The review must say exactly what the real upgrade does."""
    from tests.conftest import fetch

    base = revision_source(
        "base1",
        None,
        'op.create_table("owners", sa.Column("id", sa.Integer(), primary_key=True))\n'
        'op.create_table("pets", sa.Column("id", sa.Integer(), primary_key=True),\n'
        '    sa.Column("owner_id", sa.Integer(),\n'
        '        sa.ForeignKey("owners.id", ondelete="CASCADE"), nullable=False))',
        'op.drop_table("pets")\nop.drop_table("owners")',
    )
    rebuild = revision_source(
        "rebuild1",
        "base1",
        'with op.batch_alter_table("owners", recreate="always") as b:\n'
        '    b.add_column(sa.Column("nick", sa.Text(), nullable=True))',
        'with op.batch_alter_table("owners", recreate="always") as b:\n    b.drop_column("nick")',
    )
    files = {"1.py": base, "2.py": rebuild}
    env = write_scripts(tmp_path, files)
    url = f"sqlite+aiosqlite:///{tmp_path}/real.db"
    assert cli(["migrate", "upgrade", "base1"], db=url, env=env).exit_code == 0
    fetch(url, "INSERT INTO owners (id) VALUES (1)")
    fetch(url, "INSERT INTO pets (id, owner_id) VALUES (1, 1)")
    assert cli(["migrate", "upgrade", "head"], db=url, env=env).exit_code == 0
    real_loss = fetch(url, "SELECT count(*) FROM pets")[0][0] == 0

    data = _sqlite_review(cli, tmp_path / "review", files)
    reported = [
        f
        for f in data["findings"]
        if f["rule"] == "sqlite-incompatible" and "loses rows" in f["message"]
    ]
    assert bool(reported) == real_loss, (real_loss, data["findings"])
    if reported:
        assert "pets: 1 row(s) -> 0" in reported[0]["message"]
        assert reported[0]["revision"] == "rebuild1"


def test_a_guard_read_through_a_variable_counts(review) -> None:
    hits, _ = review(
        'is_sqlite = op.get_bind().dialect.name == "sqlite"\n'
        "if not is_sqlite:\n"
        '    op.create_index("ix_a_name", "accounts", ["name"])\n'
        "if is_sqlite:\n"
        '    op.drop_column("accounts", "nick")'
    )
    assert rules(hits) == ["index-not-concurrent"]


@pytest.mark.parametrize(
    "code",
    [
        't = sa.table("accounts", sa.column("name"))\nop.execute(sa.update(t).values(name="x"))',
        "op.get_bind().exec_driver_sql(\"UPDATE accounts SET name = 'x'\")",
    ],
)
def test_other_spellings_of_a_full_table_update_are_backfills(review, code) -> None:
    hits, _ = review(code)
    assert rules(hits) == ["backfill"]
    assert "accounts" in hits[0]["message"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("ALTER TABLE accounts RENAME COLUMN name TO full_name", "column accounts.name"),
        ("ALTER TABLE accounts RENAME TO users", "table accounts to users"),
    ],
)
def test_renames_in_raw_sql_are_seen_without_squawk(review, sql, message) -> None:
    hits, _ = review(f'op.execute("{sql}")')
    assert rules(hits) == ["rename"]
    assert message in hits[0]["message"]


def test_a_raw_rename_is_one_finding_with_squawk(review) -> None:
    hits, _ = review('op.execute("ALTER TABLE accounts RENAME COLUMN name TO full_name")', sql=True)
    assert [f["rule"] for f in hits if f["line"] == 13] == ["rename"]
    assert hits[0]["also"] == ["squawk:renaming-column"]


def test_after_a_guard_that_returns_on_postgresql_nothing_is_judged(review) -> None:
    hits, _ = review(
        'if op.get_bind().dialect.name == "postgresql":\n'
        "    return\n"
        'op.drop_column("accounts", "nick")'
    )
    assert rules(hits) == []
    hits, _ = review(
        'if op.get_bind().dialect.name != "postgresql":\n'
        "    return\n"
        'op.drop_column("accounts", "nick")'
    )
    assert rules(hits) == ["drop-column"]


def test_reflecting_a_table_no_revision_creates_is_a_note_too(cli, tmp_path) -> None:
    rev = revision_source(
        "rev1",
        "base1",
        'dag = sa.Table("dag", sa.MetaData(), autoload_with=op.get_bind())\n'
        "op.execute(dag.update().where(dag.c.id == 1).values(id=2))",
        "pass",
    )
    data = _sqlite_review(cli, tmp_path, {"1.py": BASE, "2.py": rev})
    assert not [f for f in data["findings"] if f["rule"] == "sqlite-incompatible"]
    assert any("no revision creates table dag" in note for note in data["notes"])


def test_one_revision_that_cannot_render_offline_does_not_stop_the_others_lint(
    cli, tmp_path
) -> None:
    raw = revision_source(
        "raw1", "base1", 'op.execute("ALTER TABLE accounts ADD COLUMN plan TEXT NOT NULL")', "pass"
    )
    live = revision_source(
        "live1",
        "raw1",
        'if op.get_bind().execute(sa.text("SELECT 1")).scalar():\n    pass',
        "pass",
    )
    env = write_scripts(tmp_path, {"1.py": BASE, "2.py": raw, "3.py": live})
    outcome = cli(["migrate", "review", "--all", "--json"], env=env)
    data = json.loads(outcome.stdout)["data"]
    assert any("SQL lint skipped for live1" in note for note in data["notes"]), data["notes"]
    hits = [f for f in data["findings"] if f["revision"] == "raw1"]
    assert any(f["rule"] == "squawk:adding-required-field" and f["line"] == 13 for f in hits)


def test_names_built_at_run_time_read_as_such(review) -> None:
    hits, _ = review(
        'for table in ["a1", "a2", "a3", "a4", "a5", "a6"]:\n'
        "    with op.batch_alter_table(table) as b:\n"
        '        b.alter_column(f"{table}_x", new_column_name="y")'
    )
    [hit] = [f for f in hits if f["rule"] == "rename"]
    assert hit["message"] == (
        "renames a column named at run time (f'{table}_x') of each of a1, a2, a3, a4, ... "
        "(6 tables) to y"
    )


def test_an_orm_loop_names_its_model_table(review) -> None:
    hits, _ = review(
        "session = sa.orm.Session(bind=op.get_bind())\n"
        "for run in session.query(SqlRun).all():\n"
        "    run.user_id = None",
        header='class SqlRun:\n    __tablename__ = "runs"\n',
    )
    assert rules(hits) == ["backfill"]
    assert hits[0]["message"].startswith("backfills runs ")


def test_a_drop_after_copying_its_data_over_is_a_drop_not_a_rename_in_disguise(review) -> None:
    """No row is lost (the data moves first), but running code still reads `nick`."""
    hits, _ = review(
        'op.add_column("accounts", sa.Column("nickname", sa.VARCHAR(255), nullable=True))\n'
        'op.execute("UPDATE accounts SET nickname = nick")\n'
        'op.drop_column("accounts", "nick")',
        'op.add_column("accounts", sa.Column("nick", sa.VARCHAR(length=255), nullable=True))',
    )
    assert rules(hits) == ["backfill", "drop-column"]


def test_rows_a_revision_leaves_pointing_nowhere_on_sqlite_are_a_finding(cli, tmp_path) -> None:
    """`migrate upgrade` runs SQLite revisions with foreign keys off and rolls back a run that
    leaves orphans (PRAGMA foreign_key_check); the review says which revision does it."""
    from tests.conftest import fetch

    base = revision_source(
        "base1",
        None,
        'op.create_table("owners", sa.Column("id", sa.Integer(), primary_key=True))\n'
        'op.create_table("pets", sa.Column("id", sa.Integer(), primary_key=True),\n'
        '    sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id"), nullable=False))',
        'op.drop_table("pets")\nop.drop_table("owners")',
    )
    purge = revision_source("purge1", "base1", 'op.execute("DELETE FROM owners")', "pass")
    files = {"1.py": base, "2.py": purge}
    env = write_scripts(tmp_path, files)
    url = f"sqlite+aiosqlite:///{tmp_path}/real.db"
    assert cli(["migrate", "upgrade", "base1"], db=url, env=env).exit_code == 0
    fetch(url, "INSERT INTO owners (id) VALUES (1)")
    fetch(url, "INSERT INTO pets (id, owner_id) VALUES (1, 1)")
    assert cli(["migrate", "upgrade", "head"], db=url, env=env).exit_code != 0  # rolled back

    data = _sqlite_review(cli, tmp_path / "review", files)
    [hit] = [f for f in data["findings"] if f["rule"] == "sqlite-incompatible"]
    assert hit["revision"] == "purge1"
    assert "pointing nowhere" in hit["message"] and "pets" in hit["message"]
