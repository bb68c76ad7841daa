"""`manage migrate review --roundtrip` on chains as they really are: files not named in chain
order, branches and merges, rows that a revision loses; its findings' source and allow comments.
On SQLite and PostgreSQL (`blank_db_url`).
"""

from __future__ import annotations

import json
import os

from tests.conftest import fetch
from tests.review_support import findings, revision_source, write_scripts

ROUNDTRIP = ["migrate", "review", "--all", "--roundtrip", "--no-sql-lint", "--json"]
CREATE_T = 'op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True))'


def _roundtrip_findings(outcome) -> list[dict]:
    return [f for f in findings(outcome, silenced=True) if f["rule"] == "roundtrip"]


def own_scratch_databases(url: str) -> list[str]:
    """Scratch databases of this process (the in-process CLI) still on the server."""
    if not url.startswith("postgresql"):
        return []
    from db.review.scratch import PREFIX, host_tag

    pattern = f"{PREFIX}{host_tag()}_{os.getpid()}_%"
    rows = fetch(url, "SELECT datname FROM pg_database WHERE datname LIKE :p", {"p": pattern})
    return [row[0] for row in rows]


def test_files_named_out_of_chain_order_roundtrip_cleanly(cli, blank_db_url, tmp_path) -> None:
    """bbbb (creates t) <- aaaa (adds t.note): file-name order would run aaaa first."""
    env = write_scripts(
        tmp_path,
        {
            "bbbb_create_t.py": revision_source("bbbb", None, CREATE_T, 'op.drop_table("t")'),
            "aaaa_add_col.py": revision_source(
                "aaaa",
                "bbbb",
                'op.add_column("t", sa.Column("note", sa.Text(), nullable=True))',
                'op.drop_column("t", "note")',
            ),
        },
    )
    outcome = cli(ROUNDTRIP, db=blank_db_url, env=env)
    assert _roundtrip_findings(outcome) == [], outcome.stdout
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert json.loads(outcome.stdout)["data"]["roundtrip"] is True
    assert own_scratch_databases(blank_db_url) == []


def test_branches_and_their_merge_roundtrip_without_false_findings(
    cli, blank_db_url, tmp_path
) -> None:
    """base <- left, base <- right, merge(left, right): reverting `left` keeps `right`."""
    table = 'op.create_table("{0}", sa.Column("id", sa.Integer(), primary_key=True))'
    env = write_scripts(
        tmp_path,
        {
            "1_base.py": revision_source("base1", None, CREATE_T, 'op.drop_table("t")'),
            "2_right.py": revision_source(
                "right1", "base1", table.format("r"), 'op.drop_table("r")'
            ),
            "3_left.py": revision_source("left1", "base1", table.format("l"), 'op.drop_table("l")'),
            "4_merge.py": revision_source("merge1", ("left1", "right1"), "pass", "pass"),
        },
    )
    outcome = cli(ROUNDTRIP, db=blank_db_url, env=env)
    assert _roundtrip_findings(outcome) == [], outcome.stdout
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    data = json.loads(outcome.stdout)["data"]
    assert data["findings"] == []  # nor is the merge an empty-downgrade
    assert not any("skips merge" in note for note in data["notes"])


def test_a_wrong_branch_revision_is_blamed_and_its_sibling_is_not(
    cli, blank_db_url, tmp_path
) -> None:
    env = write_scripts(
        tmp_path,
        {
            "1_base.py": revision_source("base1", None, CREATE_T, 'op.drop_table("t")'),
            "2_good.py": revision_source(
                "good1",
                "base1",
                'op.create_table("g", sa.Column("id", sa.Integer(), primary_key=True))',
                'op.drop_table("g")',
            ),
            "3_bad.py": revision_source(
                "bad1",
                "base1",
                'op.create_table("b", sa.Column("id", sa.Integer(), primary_key=True))',
                "pass  # forgets the table",
            ),
        },
    )
    outcome = cli(ROUNDTRIP, db=blank_db_url, env=env)
    hits = _roundtrip_findings(outcome)
    assert {f["revision"] for f in hits} == {"bad1"}, outcome.stdout
    assert any("table b is left over" in f["message"] for f in hits)
    assert all(f["source"] == "roundtrip" for f in hits)
    assert outcome.exit_code == 1


def test_roundtrip_findings_can_be_silenced_with_a_reason(cli, blank_db_url, tmp_path) -> None:
    bad = revision_source(
        "bad1",
        "base1",
        'op.create_table("b", sa.Column("id", sa.Integer(), primary_key=True))',
        "pass",
    ).replace(
        "def downgrade() -> None:",
        "def downgrade() -> None:  # manage: allow roundtrip kept on purpose for the audit",
    )
    base = revision_source("base1", None, CREATE_T, 'op.drop_table("t")')
    env = write_scripts(tmp_path, {"1_base.py": base, "2_bad.py": bad})
    outcome = cli([*ROUNDTRIP, "--all-findings"], db=blank_db_url, env=env)
    hits = _roundtrip_findings(outcome)
    assert hits and all(f["silenced"] for f in hits), outcome.stdout
    assert hits[0]["reason"] == "kept on purpose for the audit"
    assert outcome.exit_code == 0


def test_a_rebuild_that_loses_rows_is_a_finding(cli, blank_db_url, tmp_path) -> None:
    """pets is rebuilt (new table, drop, rename) without copying its rows."""
    owners = (
        'op.create_table("owners", sa.Column("id", sa.Integer(), primary_key=True))\n'
        'op.create_table("pets", sa.Column("id", sa.Integer(), primary_key=True),\n'
        '    sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id"), nullable=False))'
    )
    rebuild = (
        'op.create_table("pets_new", sa.Column("id", sa.Integer(), primary_key=True),\n'
        '    sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id"), nullable=False))\n'
        'op.drop_table("pets")\n'
        'op.rename_table("pets_new", "pets")'
    )
    env = write_scripts(
        tmp_path,
        {
            "1_base.py": revision_source(
                "base1", None, owners, 'op.drop_table("pets")\nop.drop_table("owners")'
            ),
            "2_rebuild.py": revision_source("rebuild1", "base1", rebuild, "pass"),
        },
    )
    outcome = cli(ROUNDTRIP, db=blank_db_url, env=env)
    lost = [f for f in _roundtrip_findings(outcome) if "lost rows" in f["message"]]
    assert lost, outcome.stdout
    assert lost[0]["revision"] == "rebuild1"
    assert "pets: 1 row(s) -> 0" in lost[0]["message"]
    assert outcome.exit_code == 1
    assert own_scratch_databases(blank_db_url) == []
