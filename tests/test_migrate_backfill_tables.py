# ruff: noqa: F811 (the fixtures imported below are parameters of the tests)
"""A backfill whose table a later revision renamed or dropped.

Nothing can run it any more: `migrate status` and `db check` must say so (not "partial, run
manage migrate backfill X" forever), and `migrate backfill --all` (a cron job) must not fail on
it every time, keeping every other backfill from running. Naming it is exit 5 with that reason.

Fixtures and the test chain: tests/test_migrate_backfill.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_migrate_backfill import (  # noqa: F401 (fixtures)
    declared,
    envelope,
    scripts,
)

RENAME = '''"""rename bf_items

Revision ID: bf000008
Revises: bf000002
Create Date: 2026-11-30 15:08:00.000000

"""
from alembic import op

revision = "bf000008"
down_revision = "bf000002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table("bf_items", "bf_items_old")


def downgrade() -> None:
    op.rename_table("bf_items_old", "bf_items")
'''


def test_a_backfill_whose_table_was_renamed_is_reported_missing_and_does_not_block_all(
    cli, declared: str, scripts: dict[str, str]
) -> None:
    args = ["migrate", "backfill", "bf_total", "--pause", "300", "--max-seconds", "0.5"]
    assert cli(args, db=declared, env=scripts).exit_code == 0
    versions = Path(scripts["MANAGE_MIGRATIONS_DIR"]) / "versions"
    (versions / "2026_11_30_1508-bf000008_rename.py").write_text(RENAME)
    assert cli(["migrate", "upgrade", "bf000008"], db=declared, env=scripts).exit_code == 0

    status = cli(["migrate", "status", "--json"], db=declared, env=scripts)
    listed = {b["name"]: b["state"] for b in envelope(status.stdout)["data"]["backfills"]}
    assert listed == {"bf_total": "missing", "bf_label": "missing"}, status.stdout
    text = cli(["migrate", "status"], db=declared, env=scripts)
    assert "bf_items.id (its table or key) no longer exists" in text.stderr, text.stderr
    assert "run `manage migrate backfill bf_total`" not in text.stderr

    every = cli(["migrate", "backfill", "--all"], db=declared, env=scripts)
    assert every.exit_code == 0, every.stderr
    assert "no longer exists" in every.stdout + every.stderr

    named = cli(["migrate", "backfill", "bf_total"], db=declared, env=scripts)
    assert named.exit_code == 5
    assert "bf_items" in named.stderr and "later revision" in named.stderr, named.stderr
