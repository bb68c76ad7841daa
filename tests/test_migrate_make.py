"""`migrate make` never writes a broken file and never contradicts `migrate check`.

- a dialect type on another dialect (the audit log's JSON/JSONB variant made on SQLite) is
  rendered module-qualified, and the revision applies;
- every written file is checked (imports, every name defined): a broken one is removed, exit 5;
- PostgreSQL enum label additions are written (ADD VALUE ... BEFORE/AFTER, quoted type name,
  escaped labels, in a dialect-guarded autocommit block); removals need a manual revision;
- a model module nobody imports is still found.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, fetch
from tests.migrations_fixtures import DRIFT_MODELS
from tests.migrations_fixtures.drift_models import FEELING_LABELS


@pytest.fixture
def scripts(tmp_path: Path) -> dict[str, str]:
    copy = tmp_path / "migrations_copy"
    shutil.copytree(REPO / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    return {"MANAGE_MIGRATIONS_DIR": str(copy)}


def _written(scripts: dict[str, str], slug: str) -> list[Path]:
    return list((Path(scripts["MANAGE_MIGRATIONS_DIR"]) / "versions").glob(f"*_{slug}.py"))


def test_make_renders_the_jsonb_variant_module_qualified_and_it_applies(
    cli, db_url, scripts
) -> None:
    env = {**scripts, "MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_preferences"}
    outcome = cli(["migrate", "make", "-m", "preferences"], db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    (path,) = _written(scripts, "preferences")
    source = path.read_text()
    assert "postgresql.JSONB(astext_type=sa.Text())" in source
    assert "from sqlalchemy.dialects import postgresql" in source
    outcome = cli(["migrate", "upgrade"], db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert cli(["migrate", "check"], db=db_url, env=env).exit_code == 0
    assert fetch(db_url, "SELECT count(*) FROM users WHERE preferences IS NULL") == [(0,)]


def test_make_removes_a_file_that_would_not_run_and_exits_5(cli, db_url, scripts) -> None:
    # A project's own TypeDecorator: autogenerate renders `tests.migrations_fixtures...Slug()`
    # without importing `tests`; upgrade would raise NameError.
    env = {**scripts, "MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_custom_type"}
    outcome = cli(["migrate", "make", "-m", "slug", "--json"], db=db_url, env=env)
    assert outcome.exit_code == 5, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["error_code"] == "REVISION_BROKEN"
    assert "undefined name tests" in document["message"] and "removed it" in document["message"]
    assert _written(scripts, "slug") == []


def _feelings(url: str, labels: str) -> None:
    fetch(url, f'CREATE TYPE "FeelingKind" AS ENUM ({labels})')
    fetch(
        url,
        'CREATE TABLE feelings (id serial, feeling "FeelingKind" NOT NULL, '
        "CONSTRAINT pk_feelings PRIMARY KEY (id))",
    )


def _labels(url: str) -> list[str]:
    rows = fetch(
        url,
        "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
        "WHERE t.typname = 'FeelingKind' ORDER BY e.enumsortorder",
    )
    return [row[0] for row in rows]


@pytest.mark.postgres_only
def test_make_writes_enum_label_additions_that_check_also_prints(cli, pg_db_url, scripts) -> None:
    _feelings(pg_db_url, "'happy', 'sad'")
    env = {**scripts, "MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_feelings"}
    expected = [
        """ALTER TYPE "FeelingKind" ADD VALUE 'calm' BEFORE 'happy'""",
        """ALTER TYPE "FeelingKind" ADD VALUE 'it''s fine' AFTER 'happy'""",
    ]
    check = cli(["migrate", "check", "--sql"], db=pg_db_url, env=env)
    assert check.exit_code == 1
    for statement in expected:
        assert f"{statement};" in check.stdout

    outcome = cli(["migrate", "make", "-m", "feelings", "--json"], db=pg_db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    data = json.loads(outcome.stdout)["data"]
    assert any("enum type FeelingKind" in line for line in data["operations"])
    source = Path(data["path"]).read_text()
    assert 'if op.get_context().dialect.name == "postgresql":' in source
    assert "autocommit_block()" in source
    for statement in expected:
        assert repr(statement) in source

    outcome = cli(["migrate", "upgrade"], db=pg_db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert _labels(pg_db_url) == list(FEELING_LABELS)
    assert cli(["migrate", "check"], db=pg_db_url, env=env).exit_code == 0


@pytest.mark.postgres_only
def test_make_reports_removed_or_reordered_labels_as_a_manual_revision(
    cli, pg_db_url, scripts
) -> None:
    _feelings(pg_db_url, "'calm', 'happy', 'sad'")
    env = {**scripts, "MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_fewer_feelings"}
    outcome = cli(["migrate", "make", "-m", "fewer"], db=pg_db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert "needs a manual revision: enum type FeelingKind: labels ['happy'] removed" in (
        outcome.stderr
    )
    assert "no changes" not in outcome.stdout
    assert _written(scripts, "fewer") == []
    check = cli(["migrate", "check", "--sql"], db=pg_db_url, env=env)
    assert check.exit_code == 1 and "write a manual revision" in check.stdout


# A table on the models' MetaData (a plain Table, not a mapped class: nothing is left in the
# ORM's registry when the test removes it again).
GADGET_MODULE = """
from sqlalchemy import Column, Integer, Table

from db.metadata import metadata

gadgets = Table("gadgets", metadata, Column("id", Integer, primary_key=True))
"""


@pytest.fixture
def unimported_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A module in app.models that app/models/__init__.py does not import."""
    import app.models
    from db.metadata import metadata

    extra = tmp_path / "extra_models"
    extra.mkdir()
    (extra / "gadget.py").write_text(GADGET_MODULE)
    monkeypatch.setattr(app.models, "__path__", [*app.models.__path__, str(extra)])
    yield
    sys.modules.pop("app.models.gadget", None)
    if "gadgets" in metadata.tables:
        metadata.remove(metadata.tables["gadgets"])


def test_make_finds_a_model_module_nobody_imports(cli, db_url, scripts, unimported_model) -> None:
    outcome = cli(["migrate", "make", "-m", "gadgets"], db=db_url, env=scripts)
    assert outcome.exit_code == 0, outcome.stderr
    assert "create table gadgets" in outcome.stdout
    (path,) = _written(scripts, "gadgets")
    assert "op.create_table('gadgets'" in path.read_text()
