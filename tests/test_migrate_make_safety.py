"""`migrate make` never writes a file that breaks the chain, whatever the user or the models
put in it.

- the message goes into the docstring escaped (backslash, quotes, triple quotes, control
  characters, a very long one): the file loads and every later command works;
- any failure while Alembic writes or loads the new file removes it: exit 5, REVISION_BROKEN;
- values from the models (enum labels) are rendered as literals: the generated file's syntax
  tree holds only the statements `make` meant to write.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, fetch
from tests.migrations_fixtures import DRIFT_MODELS
from tests.migrations_fixtures.drift_models import HOSTILE_LABEL


@pytest.fixture
def scripts(tmp_path: Path) -> dict[str, str]:
    copy = tmp_path / "migrations_copy"
    shutil.copytree(REPO / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    return {"MANAGE_MIGRATIONS_DIR": str(copy)}


def _versions(scripts: dict[str, str]) -> set[Path]:
    return set((Path(scripts["MANAGE_MIGRATIONS_DIR"]) / "versions").glob("*.py"))


MESSAGES = {
    "backslash": ("fix C:\\Users path", "fix C:\\Users path"),
    "triple quote": ('say """hi""" now', 'say """hi""" now'),
    "ends in quote": ('rename "x"', 'rename "x"'),
    "ends in backslash": ("path\\", "path\\"),
    "control characters": ("one\ntwo\r\tthree\x1b[31m\x00", "one two three [31m"),
    "unicode escape text": ("\\N{BULLET} \\x41 \\u0041", "\\N{BULLET} \\x41 \\u0041"),
    "very long": ("word " * 2000, ("word " * 2000).strip()),
}


@pytest.mark.parametrize("name", list(MESSAGES))
def test_make_escapes_any_message_and_the_chain_still_loads(cli, db_url, scripts, name) -> None:
    message, shown = MESSAGES[name]
    before = _versions(scripts)
    outcome = cli(["migrate", "make", "--empty", "-m", message, "--json"], db=db_url, env=scripts)
    assert outcome.exit_code == 0, outcome.stderr
    data = json.loads(outcome.stdout)["data"]
    assert data["message"] == shown
    (path,) = _versions(scripts) - before
    assert Path(data["path"]) == path
    assert len(path.name) < 100
    assert ast.get_docstring(ast.parse(path.read_text())).splitlines()[0] == shown
    heads = cli(["migrate", "heads", "--json"], db=db_url, env=scripts)
    assert heads.exit_code == 0, heads.stderr
    assert json.loads(heads.stdout)["data"][0]["message"] == shown
    assert cli(["migrate", "upgrade"], db=db_url, env=scripts).exit_code == 0


def test_make_refuses_a_message_with_nothing_printable(cli, db_url, scripts) -> None:
    before = _versions(scripts)
    outcome = cli(["migrate", "make", "--empty", "-m", "\n\t "], db=db_url, env=scripts)
    assert outcome.exit_code == 5
    assert outcome.stderr.startswith("error: the revision message is empty")
    assert _versions(scripts) == before


@pytest.mark.parametrize(
    "template",
    [
        "def upgrade(:\n",  # a syntax error
        "import no_such_module_anywhere\n",  # an import error
        "raise SystemExit(3)\n",  # exits at import
        "revision = ${repr(up_revision)}\ndown_revision = 'nope'\n",  # points nowhere
    ],
)
def test_make_removes_a_file_that_fails_while_alembic_writes_it(
    cli, db_url, scripts, template
) -> None:
    directory = Path(scripts["MANAGE_MIGRATIONS_DIR"])
    (directory / "script.py.mako").write_text(template)
    before = _versions(scripts)
    outcome = cli(["migrate", "make", "--empty", "-m", "broken", "--json"], db=db_url, env=scripts)
    assert outcome.exit_code == 5, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["error_code"] == "REVISION_BROKEN"
    assert "removed it" in document["message"]
    assert _versions(scripts) == before
    assert cli(["migrate", "heads"], db=db_url, env=scripts).exit_code == 0


def _calls(node: ast.AST) -> list[str]:
    return [ast.unparse(call.func) for call in ast.walk(node) if isinstance(call, ast.Call)]


@pytest.mark.postgres_only
def test_make_renders_a_hostile_enum_label_as_a_literal_only(cli, pg_db_url, scripts) -> None:
    fetch(pg_db_url, "CREATE TYPE \"FeelingKind\" AS ENUM ('happy', 'sad')")
    fetch(
        pg_db_url,
        'CREATE TABLE feelings (id serial, feeling "FeelingKind" NOT NULL, '
        "CONSTRAINT pk_feelings PRIMARY KEY (id))",
    )
    env = {**scripts, "MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_hostile_feelings"}
    outcome = cli(["migrate", "make", "-m", "hostile", "--json"], db=pg_db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    tree = ast.parse(Path(json.loads(outcome.stdout)["data"]["path"]).read_text())
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert set(functions) == {"upgrade", "downgrade"}
    assert [ast.unparse(node) for node in functions["downgrade"].body] == ["pass"]
    expected = ["op.get_context", "op.get_context().autocommit_block", "op.get_context"]
    assert sorted(_calls(functions["upgrade"])) == sorted([*expected, "op.execute", "sa.text"])
    # The one statement: the label as one SQL literal, reaching the database intact.
    (text_call,) = [
        call
        for call in ast.walk(functions["upgrade"])
        if isinstance(call, ast.Call) and ast.unparse(call.func) == "sa.text"
    ]
    statement = text_call.args[0].value
    assert statement.startswith('ALTER TYPE "FeelingKind" ADD VALUE ')
    outcome = cli(["migrate", "upgrade"], db=pg_db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    labels = fetch(
        pg_db_url,
        "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
        "WHERE t.typname = 'FeelingKind' ORDER BY e.enumsortorder",
    )
    assert [row[0] for row in labels] == ["happy", HOSTILE_LABEL, "sad"]
    assert fetch(pg_db_url, "SELECT count(*) FROM users") == [(0,)]


def test_make_renders_hostile_comments_and_defaults_as_literals(cli, db_url, scripts) -> None:
    env = {**scripts, "MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_hostile_names"}
    outcome = cli(["migrate", "make", "-m", "odd", "--json"], db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    source = Path(json.loads(outcome.stdout)["data"]["path"]).read_text()
    tree = ast.parse(source)
    top = [type(node).__name__ for node in tree.body]
    assert set(top) <= {"Expr", "ImportFrom", "Import", "AnnAssign", "Assign", "FunctionDef"}
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == [
        "upgrade",
        "downgrade",
    ]
    assert not any(
        isinstance(node, ast.Import | ast.ImportFrom)
        for f in tree.body
        if isinstance(f, ast.FunctionDef)
        for node in ast.walk(f)
    )
    assert "os.system" not in {
        ast.unparse(c.func) for c in ast.walk(tree) if isinstance(c, ast.Call)
    }
    outcome = cli(["migrate", "upgrade"], db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
