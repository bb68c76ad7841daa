"""Squawk findings (issue 13 follow-up, items 7 and 8): each points at the op that rendered its
statement, exactly (an op on `owners` never takes a statement on `pets`); raw SQL in
`op.execute` carries its table; a raw primary key or unique constraint is our rule, once, with
squawk's rules in `also` and no NOT VALID advice. Needs squawk (a dev dependency).
"""

from __future__ import annotations

import json

import pytest

from db.review.settings import squawk_binary
from db.review.sql_lint import sql_table
from tests.review_support import revision_source, write_scripts

pytestmark = pytest.mark.skipif(squawk_binary() is None, reason="squawk is not installed")

BASE = revision_source(
    "base1",
    None,
    'op.create_table("owners", sa.Column("id", sa.Integer(), primary_key=True))\n'
    'op.create_table("pets", sa.Column("id", sa.Integer(), primary_key=True))',
    "pass",
)


def _review(cli, tmp_path, upgrade: str) -> list[dict]:
    env = write_scripts(
        tmp_path,
        {"1_base.py": BASE, "2_rev.py": revision_source("rev1", "base1", upgrade, "pass")},
    )
    outcome = cli(["migrate", "review", "--all", "--json"], env=env)
    assert outcome.exit_code in (0, 1), outcome.stdout + outcome.stderr
    found = json.loads(outcome.stdout)["data"]["findings"]
    return [f for f in found if f["path"].endswith("2_rev.py") and f["source"] == "squawk"]


def test_each_squawk_finding_points_at_its_own_op(cli, tmp_path) -> None:
    hits = _review(
        cli,
        tmp_path,
        'op.add_column("owners", sa.Column("pets", sa.Integer(), nullable=True))\n'
        'op.add_column("pets", sa.Column("owners_id", sa.Integer(), '
        'server_default=sa.text("random()")))\n'
        'op.drop_index("ix_owners_pets", table_name="owners")\n'
        'op.drop_index("ix_pets", table_name="pets")',
    )
    where = sorted((f["line"], f["rule"], f["table"]) for f in hits)
    assert where == [
        (14, "squawk:adding-field-with-default", "pets"),
        (15, "squawk:require-concurrent-index-deletion", "owners"),
        (16, "squawk:require-concurrent-index-deletion", "pets"),
    ]


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("ALTER TABLE pets ADD PRIMARY KEY (id)", "primary-key-rebuild"),
        ("ALTER TABLE pets ADD CONSTRAINT pets_pkey PRIMARY KEY (id)", "primary-key-rebuild"),
        ("ALTER TABLE pets ADD CONSTRAINT uq_pets_id UNIQUE (id)", "unique-constraint"),
    ],
)
def test_a_raw_key_constraint_is_one_finding_of_our_rule(cli, tmp_path, sql, rule) -> None:
    hits = _review(cli, tmp_path, f'op.execute("{sql}")')
    assert [(f["rule"], f["line"], f["table"]) for f in hits] == [(rule, 13, "pets")], hits
    assert all(a.startswith("squawk:") for a in hits[0]["also"]) and hits[0]["also"]
    assert "NOT VALID" not in hits[0]["fix"].upper()
    assert "using index" in hits[0]["fix"].lower()


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE pets ALTER COLUMN id SET NOT NULL",
        "CREATE INDEX ix_raw ON pets (id)",
        "ALTER TABLE pets ALTER COLUMN id TYPE bigint",
    ],
)
def test_raw_sql_findings_carry_their_table_once_per_statement(cli, tmp_path, sql) -> None:
    hits = _review(cli, tmp_path, f'op.execute("{sql}")')
    assert len(hits) == 1, hits  # several squawk rules on one statement: one finding
    assert hits[0]["table"] == "pets" and hits[0]["line"] == 13


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("ALTER TABLE IF EXISTS ONLY public.pets ADD COLUMN x int", "pets"),
        ('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "ix" ON "Pets" (a)', "pets"),
        ("CREATE INDEX ON pets (a)", "pets"),
        ("TRUNCATE TABLE pets", "pets"),
        ("SELECT 1", None),
    ],
)
def test_the_table_of_a_statement(statement, table) -> None:
    assert sql_table(statement) == table
