"""A revision file that cannot be loaded is exit 5 (REVISION_BROKEN) naming the file and the
reason, the same on every command that reads the scripts; `review` reports it as an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.migrations_fixtures.extra_revisions import SHIPPED_HEAD, shipped_copy

FUNCTIONS = "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
BROKEN = {
    "syntax error": (
        "revision = 'x1'\ndown_revision = {down!r}\ndef upgrade(:\n",
        "SyntaxError",
    ),
    "import error": (
        "import no_such_module_anywhere\nrevision = 'x1'\ndown_revision = {down!r}\n" + FUNCTIONS,
        "ModuleNotFoundError",
    ),
    "exits at import": ("raise SystemExit(0)\n", "SystemExit"),
    "no revision": ("down_revision = {down!r}\n" + FUNCTIONS, "no `revision"),
    "integer revision": (
        "revision = 123\ndown_revision = {down!r}\n" + FUNCTIONS,
        "revision 123 is not a string",
    ),
    "unknown down_revision": (
        "revision = 'x1'\ndown_revision = 'deadbeef'\n" + FUNCTIONS,
        "down_revision 'deadbeef' is not a revision",
    ),
    "cycle": ("revision = 'x1'\ndown_revision = 'x1'\n" + FUNCTIONS, "its own ancestor"),
    "no upgrade": ("revision = 'x1'\ndown_revision = {down!r}\n", "no upgrade() function"),
}
COMMANDS = [
    ["migrate", "heads"],
    ["migrate", "history"],
    ["migrate", "status"],
    ["migrate", "upgrade"],
    ["migrate", "sql", "head", "--dialect", "sqlite"],
    ["migrate", "make", "--empty", "-m", "next"],
]


@pytest.fixture(params=list(BROKEN))
def broken(request, tmp_path) -> tuple[dict[str, str], str]:
    source, reason = BROKEN[request.param]
    copy = shipped_copy(tmp_path)
    (copy / "versions" / "zz_broken.py").write_text(
        '"""broken"""\n' + source.replace("{down!r}", repr(SHIPPED_HEAD))
    )
    return {"MANAGE_MIGRATIONS_DIR": str(copy)}, reason


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[1:3]))
def test_every_command_names_the_broken_file(cli, scratch, broken, command) -> None:
    env, reason = broken
    url = scratch.migrated("sqlite")
    before = set((Path(env["MANAGE_MIGRATIONS_DIR"]) / "versions").glob("*.py"))
    outcome = cli([*command, "--json"], db=url, env=env)
    assert outcome.exit_code == 5, (outcome.stdout, outcome.stderr)
    document = json.loads(outcome.stdout)
    assert document["error_code"] == "REVISION_BROKEN"
    assert "zz_broken.py" in document["message"] and reason in document["message"]
    assert "Traceback" not in outcome.stderr
    assert set((Path(env["MANAGE_MIGRATIONS_DIR"]) / "versions").glob("*.py")) == before


def test_review_reports_the_broken_file_as_an_error(cli, scratch, broken) -> None:
    env, _reason = broken
    outcome = cli(
        ["migrate", "review", "--all", "--no-sql-lint", "--json"],
        db=scratch.migrated("sqlite"),
        env=env,
    )
    if "not valid Python" in outcome.stdout:
        # A file that does not even parse stops the review like every other command: exit 5
        # naming the file and line (tests/test_migrate_review_unreadable.py).
        assert outcome.exit_code == 5, (outcome.stdout, outcome.stderr)
        assert "zz_broken.py:" in json.loads(outcome.stdout)["message"]
        return
    assert outcome.exit_code == 1, (outcome.stdout, outcome.stderr)
    findings = json.loads(outcome.stdout)["data"]["findings"]
    # The chain that cannot load is reported against the broken file.
    assert any(
        f["rule"] in {"broken-revision-file", "unloadable-chain", "missing-down-revision"}
        and "zz_broken.py" in f["path"]
        for f in findings
    ), findings
