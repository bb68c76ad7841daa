"""`make` renders every type module-qualified, nested types and both sides of a variant
included, on either dialect: the written file imports, applies, and `check` is clean after."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.migrations_fixtures import DRIFT_MODELS


@pytest.fixture
def scripts(tmp_path: Path) -> dict[str, str]:
    copy = tmp_path / "migrations_copy"
    shutil.copytree(REPO / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    return {"MANAGE_MIGRATIONS_DIR": str(copy)}


def _unqualified_calls(source: str) -> list[str]:
    """Called bare names in upgrade()/downgrade(): every type must be `module.Name(...)`."""
    tree = ast.parse(source)
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                    names.append(call.func.id)
    return names


def test_make_qualifies_nested_and_variant_types(cli, db_url, scripts) -> None:
    env = {**scripts, "MANAGE_TARGET_METADATA": f"{DRIFT_MODELS}:with_variants"}
    outcome = cli(["migrate", "make", "-m", "variants", "--json"], db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    source = Path(json.loads(outcome.stdout)["data"]["path"]).read_text()
    assert _unqualified_calls(source) == []
    assert "postgresql.ARRAY(sa.String(length=20))" in source
    outcome = cli(["migrate", "upgrade"], db=db_url, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    check = cli(["migrate", "check"], db=db_url, env=env)
    assert check.exit_code == 0, check.stdout
