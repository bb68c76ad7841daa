"""A model module in a folder under app/models that has no __init__.py cannot be imported by
the package walk: `make` and `check` warn about it instead of silently missing its tables."""

from __future__ import annotations

from pathlib import Path

import pytest

GADGET_MODULE = """
from sqlalchemy import Column, Integer, Table

from db.metadata import metadata

hidden_gadgets = Table("hidden_gadgets", metadata, Column("id", Integer, primary_key=True))
"""


@pytest.fixture
def model_in_a_plain_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import app.models

    extra = tmp_path / "extra_models"
    (extra / "inventory").mkdir(parents=True)
    module = extra / "inventory" / "gadget.py"
    module.write_text(GADGET_MODULE)
    monkeypatch.setattr(app.models, "__path__", [*app.models.__path__, str(extra)])
    return module


@pytest.mark.parametrize("command", [["migrate", "check"], ["migrate", "make", "-m", "x"]])
def test_a_model_in_a_folder_without_init_is_warned_about(
    cli, scratch, tmp_path, model_in_a_plain_folder, command
) -> None:
    import shutil

    from tests.conftest import REPO

    copy = tmp_path / "migrations_copy"
    shutil.copytree(REPO / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    outcome = cli(command, db=scratch.migrated("sqlite"), env={"MANAGE_MIGRATIONS_DIR": str(copy)})
    assert outcome.exit_code == 0, outcome.stderr
    assert f"warning: {model_in_a_plain_folder} is not imported: its folder has no __init__.py" in (
        outcome.stderr
    )
