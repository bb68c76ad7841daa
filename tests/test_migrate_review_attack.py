"""What an attacker found in issue 13's review (follow-up), each kind with several members:
backfills by key literal, by SET parameter, in a CTE, with an f-string table, TRUNCATE; new
objects (filled, renamed, dropped) versus a new column on an existing table set NOT NULL.
Rules only (`--no-sql-lint`), no database.
"""

from __future__ import annotations

import json

import pytest

from tests.review_support import revision_source, write_scripts

BASE = revision_source(
    "base1",
    None,
    'op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True),\n'
    '    sa.Column("name", sa.Text(), nullable=True))',
    'op.drop_table("accounts")',
)


@pytest.fixture
def review(cli, tmp_path):
    def run(upgrade: str, downgrade: str = "pass"):
        source = revision_source("rev1", "base1", upgrade, downgrade)
        env = write_scripts(tmp_path, {"1_base.py": BASE, "2_rev.py": source})
        outcome = cli(["migrate", "review", "--all", "--json", "--no-sql-lint"], env=env)
        assert outcome.exit_code in (0, 1), outcome.stdout + outcome.stderr
        data = json.loads(outcome.stdout)["data"]
        return [f for f in data["findings"] if f["path"].endswith("2_rev.py")]

    return run


def rules(hits: list[dict]) -> list[str]:
    return sorted(f["rule"] for f in hits if f["rule"] != "empty-downgrade")


@pytest.mark.parametrize(
    "code",
    [
        "op.execute(\"UPDATE accounts SET name = 'x' WHERE id = 5\")",
        "op.execute(\"UPDATE accounts SET name = 'x' WHERE account_id = 'k1'\")",
        'op.execute("DELETE FROM accounts WHERE id = 7")',
        'op.execute(sa.text("UPDATE accounts SET name = :n WHERE id = :id"))',
    ],
)
def test_one_row_by_key_literal_or_parameter_is_no_backfill(review, code) -> None:
    assert rules(review(code)) == []


@pytest.mark.parametrize(
    "code",
    [
        'conn = op.get_bind()\nconn.execute(sa.text("UPDATE accounts SET name = :p"), {"p": 1})',
        'op.execute(sa.text("UPDATE accounts SET name = :p WHERE name IS NULL"))',
        "op.execute(\"UPDATE accounts SET name = 'x' WHERE id = 5 OR id > 0\")",
        "op.execute(\"UPDATE accounts SET name = 'x' WHERE id IN (SELECT id FROM accounts)\")",
        "op.execute(\"WITH s AS (SELECT id FROM accounts) UPDATE accounts SET name = 'x'\")",
        'op.execute("""WITH s AS (\n    SELECT id FROM accounts\n)\nDELETE FROM accounts""")',
        'table = "accounts"\nop.execute(f"UPDATE {table} SET name = \'x\'")',
        'op.execute(sa.text(f"DELETE FROM {TABLE}"))',
    ],
)
def test_full_table_writes_in_any_spelling_are_backfills(review, code) -> None:
    hits = review(code)
    assert rules(hits) == ["backfill"], hits
    assert "None" not in hits[0]["message"]


def test_an_f_string_table_is_named_by_its_expression(review) -> None:
    hits = review('op.execute(f"UPDATE {Item.__tablename__} SET name = 1")')
    assert [f["message"] for f in hits if f["rule"] == "backfill"] == [
        "backfills the table named by Item.__tablename__ in the revision's transaction: "
        "one UPDATE of every row, in one statement"
    ]


@pytest.mark.parametrize(
    "code",
    [
        'op.execute("TRUNCATE accounts")',
        'op.execute("TRUNCATE TABLE ONLY accounts CASCADE")',
        'op.execute(sa.text("truncate table accounts"))',
        "op.execute(\"UPDATE accounts SET name = 'x' WHERE id = 1; TRUNCATE accounts\")",
    ],
)
def test_truncate_is_data_loss(review, code) -> None:
    hits = review(code)
    assert rules(hits) == ["truncate"], hits
    assert hits[0]["severity"] == "error"
    assert hits[0]["message"].startswith("truncates accounts")


def test_filling_a_table_created_earlier_in_the_upgrade_is_no_backfill(review) -> None:
    hits = review(
        'op.create_table("fresh", sa.Column("id", sa.Integer(), primary_key=True),\n'
        '    sa.Column("v", sa.Text()))\n'
        "op.execute(\"UPDATE fresh SET v = 'x'\")\n"
        'op.execute("DELETE FROM fresh")'
    )
    assert rules(hits) == []


def test_an_update_before_its_table_is_created_is_still_a_backfill(review) -> None:
    hits = review(
        "op.execute(\"UPDATE accounts SET name = 'x'\")\n"
        'op.create_table("other", sa.Column("id", sa.Integer(), primary_key=True))'
    )
    assert rules(hits) == ["backfill"]


def test_a_table_created_renamed_and_dropped_is_no_drop_danger(review) -> None:
    hits = review(
        'op.create_table("tmp", sa.Column("id", sa.Integer(), primary_key=True))\n'
        'op.rename_table("tmp", "tmp2")\n'
        'op.add_column("tmp2", sa.Column("x", sa.Text(), nullable=False))\n'
        'op.drop_column("tmp2", "x")\n'
        'op.drop_table("tmp2")'
    )
    assert rules(hits) == []


@pytest.mark.parametrize(
    "code",
    [
        'op.add_column("accounts", sa.Column("flag", sa.Boolean(), nullable=True))\n'
        'op.execute("UPDATE accounts SET flag = false WHERE id = 1")\n'
        'op.alter_column("accounts", "flag", nullable=False)',
        'op.add_column("accounts", sa.Column("flag", sa.Boolean()))\n'
        'op.alter_column("accounts", "flag", existing_type=sa.Boolean(), nullable=False)',
    ],
)
def test_set_not_null_on_a_new_column_of_an_existing_table_is_a_finding(review, code) -> None:
    hits = review(code)
    assert rules(hits) == ["set-not-null"], hits
    assert hits[0]["message"] == "sets accounts.flag NOT NULL"


def test_set_not_null_on_a_new_column_of_a_new_table_is_not(review) -> None:
    hits = review(
        'op.create_table("fresh", sa.Column("id", sa.Integer(), primary_key=True))\n'
        'op.add_column("fresh", sa.Column("flag", sa.Boolean()))\n'
        'op.alter_column("fresh", "flag", nullable=False)'
    )
    assert rules(hits) == []


def _enum_review(cli, tmp_path, header: str, upgrade: str) -> list[dict]:
    source = revision_source("rev1", "base1", upgrade, "pass").replace(
        "from alembic import op\n", f"from alembic import op\n{header}"
    )
    env = write_scripts(tmp_path, {"1_base.py": BASE, "2_rev.py": source})
    outcome = cli(["migrate", "review", "--all", "--json", "--no-sql-lint"], env=env)
    data = json.loads(outcome.stdout)["data"]
    return [f for f in data["findings"] if f["rule"] == "enum-change"]


ENUMS = (
    "from sqlalchemy.dialects import postgresql\n"
    'mood = postgresql.ENUM("a", "b", name="mood", create_type=False)\n'
    'status = sa.Enum("x", "y", name="status")\n'
)


def test_creating_one_enum_does_not_silence_another(cli, tmp_path) -> None:
    hits = _enum_review(
        cli,
        tmp_path,
        ENUMS,
        "mood.create(op.get_bind(), checkfirst=True)\n"
        'op.add_column("accounts", sa.Column("m", mood, nullable=True))\n'
        'op.add_column("accounts", sa.Column("s", status, nullable=True))',
    )
    assert len(hits) == 1, hits  # `s` (status, never created), not `m` (mood, created)
    assert hits[0]["message"].startswith("adds enum column accounts.s:")


@pytest.mark.parametrize(
    "create",
    [
        "status.create(op.get_bind())",
        "op.execute(\"CREATE TYPE status AS ENUM ('x', 'y')\")",
        'sa.Enum("x", "y", name="status").create(op.get_bind())',
    ],
)
def test_creating_the_enum_itself_is_the_fix(cli, tmp_path, create) -> None:
    hits = _enum_review(
        cli, tmp_path, ENUMS, f'{create}\nop.add_column("accounts", sa.Column("s", status))'
    )
    assert hits == []


def test_an_enum_in_a_local_variable_as_alter_column_type_is_an_enum_change(cli, tmp_path) -> None:
    hits = _enum_review(
        cli,
        tmp_path,
        "",
        'kind = sa.Enum("k1", "k2", name="kind")\n'
        'op.alter_column("accounts", "name", type_=kind, existing_type=sa.Text())',
    )
    assert len(hits) == 1, hits
    assert hits[0]["message"].startswith("changes accounts.name to an enum type")


@pytest.mark.parametrize(
    "doc", ["adds nothing (see\nthe ticket", "multi\n\nline (title) with (\nparens"]
)
def test_a_failed_roundtrip_step_keeps_the_database_reason_and_says_it_failed(
    cli, tmp_path, doc
) -> None:
    failing = revision_source(
        "rev1", "base1", 'op.execute("UPDATE nowhere SET x = 1 WHERE id = 1")', "pass"
    ).replace('"""rev1"""', f'"""{doc}"""')
    env = write_scripts(tmp_path, {"1_base.py": BASE, "2_rev.py": failing})
    outcome = cli(
        ["migrate", "review", "--all", "--roundtrip", "--no-sql-lint", "--json"],
        env=env,
        db=f"sqlite+aiosqlite:///{tmp_path}/app.db",
    )
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    found = [
        f for f in json.loads(outcome.stdout)["data"]["findings"] if f["source"] == "roundtrip"
    ]
    assert len(found) == 1, found
    assert found[0]["message"] == "upgrade to rev1 failed: no such table: nowhere"
    assert "failed" in found[0]["why"] and "same schema" not in found[0]["why"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            'op.drop_column(Item.__tablename__, "legacy")',
            "drops column legacy of the table named by Item.__tablename__",
        ),
        ("op.drop_table(Item.__tablename__)", "drops the table named by Item.__tablename__"),
        (
            'op.add_column(Item.__tablename__, sa.Column("c", sa.Text(), nullable=False))',
            "adds c of the table named by Item.__tablename__ NOT NULL without a server_default",
        ),
        (
            'op.alter_column(TABLES[0], "c", nullable=False)',
            "sets c of the table named by TABLES[0] NOT NULL",
        ),
    ],
)
def test_run_time_table_names_read_as_sentences(review, code, expected) -> None:
    hits = review(code)
    assert [f["message"] for f in hits if f["rule"] != "empty-downgrade"] == [expected]
