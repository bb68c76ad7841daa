"""Revision files and chains the review cannot read (issue 13 follow-up, items 3 and 11):
a file that is not Python or not in its encoding is exit 5 naming the file and line in every
mode; a chain Alembic cannot load is one `unloadable-chain` finding naming the file, never
findings against the innocent revisions. Real subprocesses for the exit codes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.review_support import revision_source, write_scripts

GOOD = revision_source(
    "good1",
    None,
    'op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True))',
    'op.drop_table("t")',
)
CHILD = revision_source(
    "child1", "good1", 'op.add_column("t", sa.Column("n", sa.Text()))', 'op.drop_column("t", "n")'
)

BROKEN = {
    "syntax": ("2_bad.py", CHILD.replace("def upgrade() -> None:", "def upgrade(:").encode(), 12),
    "indent": ("2_bad.py", CHILD.replace("    op.add_column", "op.add_column").encode(), 13),
    "latin1": ("2_bad.py", CHILD.replace('"""child1"""', '"""caf\xe9"""').encode("latin-1"), 1),
    "nul": ("2_bad.py", CHILD.encode() + b"\x00", None),
}
MODES = [
    ["--all"],
    ["--all", "--no-sql-lint"],
    ["--all", "--roundtrip", "--no-sql-lint"],
    ["good1:"],
    [],
]


@pytest.mark.parametrize("kind", sorted(BROKEN))
@pytest.mark.parametrize("mode", MODES, ids=lambda m: " ".join(m) or "pending")
def test_an_unreadable_revision_file_is_exit_5_naming_file_and_line(
    manage_proc, tmp_path, kind, mode
) -> None:
    name, data, line = BROKEN[kind]
    env = write_scripts(tmp_path, {"1_good.py": GOOD})
    (Path(env["MANAGE_MIGRATIONS_DIR"]) / "versions" / name).write_bytes(data)
    db = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    outcome = manage_proc(["migrate", "review", *mode], env=env, db=db)
    assert outcome.exit_code == 5, outcome.stdout + outcome.stderr
    first = outcome.stderr.strip().splitlines()
    assert len(first) == 1 and first[0].startswith("error: "), outcome.stderr
    assert f"{name}:{line}:" in first[0] if line else name in first[0]
    assert "Traceback" not in outcome.stderr


def test_a_coding_cookie_is_honoured(cli, tmp_path) -> None:
    source = "# -*- coding: latin-1 -*-\n" + CHILD.replace('"""child1"""', '"""caf\xe9"""')
    env = write_scripts(tmp_path, {"1_good.py": GOOD})
    (Path(env["MANAGE_MIGRATIONS_DIR"]) / "versions" / "2_c.py").write_bytes(
        source.encode("latin-1")
    )
    outcome = cli(["migrate", "review", "--all", "--no-sql-lint", "--json"], env=env)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    revisions = json.loads(outcome.stdout)["data"]["revisions"]
    assert {"revision": "child1", "path": revisions[1]["path"], "message": "caf\xe9"} in revisions


def _labelled(revision: str, down, label: str) -> str:
    return revision_source(revision, down, "pass", "pass").replace(
        "branch_labels = None", f"branch_labels = ({label!r},)"
    )


CHAINS = {
    "label-twice": (
        {
            "1_a.py": _labelled("aaa1", None, "x"),
            "2_b.py": _labelled("bbb1", None, "x"),
            "3_m.py": revision_source("mmm1", ("aaa1", "bbb1"), "pass", "pass"),
        },
        "Branch name 'x'",
    ),
    "no-revision": (
        {"1_a.py": GOOD, "2_b.py": CHILD, "3_stray.py": '"""not a revision"""\nX = 1\n'},
        "3_stray.py",
    ),
}


@pytest.mark.parametrize("mode", [[], ["--no-sql-lint"], ["--roundtrip"]], ids=str)
@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_a_chain_alembic_cannot_load_is_one_finding_not_blame(cli, tmp_path, chain, mode) -> None:
    files, reason = CHAINS[chain]
    env = write_scripts(tmp_path, files)
    db = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    outcome = cli(["migrate", "review", "--all", "--json", *mode], env=env, db=db)
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    found = json.loads(outcome.stdout)["data"]["findings"]
    assert [f["rule"] for f in found] == ["unloadable-chain"], found
    assert found[0]["message"].startswith("the chain cannot be loaded: ")
    assert reason in found[0]["message"]


def test_a_missing_env_py_is_one_finding_naming_it(cli, tmp_path) -> None:
    env = write_scripts(tmp_path, {"1_a.py": GOOD, "2_b.py": CHILD})
    (Path(env["MANAGE_MIGRATIONS_DIR"]) / "env.py").unlink()
    db = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    outcome = cli(["migrate", "review", "--all", "--json", "--roundtrip"], env=env, db=db)
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    found = json.loads(outcome.stdout)["data"]["findings"]
    assert [(f["rule"], Path(f["path"]).name) for f in found] == [("unloadable-chain", "env.py")]
