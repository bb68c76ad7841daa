"""Build a scripts directory from tests/review_fixtures for `manage migrate review` tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "review_fixtures"
REPO = FIXTURES.parent.parent
# The project's own exclusions (pyproject.toml [tool.manage.review]).
PROJECT_EXCLUDE = [
    "require-lock-timeout",
    "require-statement-timeout",
    "prefer-bigint-over-int",
    "prefer-identity",
    "prefer-text-field",
]


def scripts_dir(root: Path, *names: str, exclude: list[str] | None = None) -> dict[str, str]:
    """root/migrations with env.py, the base revision and the named fixtures (no .py);
    a pyproject.toml with squawk exclusions. Returns the env pointing `manage` at it."""
    directory = root / "migrations"
    versions = directory / "versions"
    shutil.rmtree(versions, ignore_errors=True)  # a test may build it twice
    versions.mkdir(parents=True)
    shutil.copy(FIXTURES / "env.py", directory / "env.py")
    shutil.copy(REPO / "migrations" / "script.py.mako", directory / "script.py.mako")
    for name in ("0_base", *names):
        shutil.copy(FIXTURES / f"{name}.py", versions / f"{name}.py")
    rules = ", ".join(f'"{rule}"' for rule in (PROJECT_EXCLUDE if exclude is None else exclude))
    (directory / "pyproject.toml").write_text(
        f"[tool.manage.review]\nsquawk_exclude = [{rules}]\n", encoding="utf-8"
    )
    return {"MANAGE_MIGRATIONS_DIR": str(directory)}


def findings(outcome: Any, *, silenced: bool = False) -> list[dict]:
    """The findings of a `--json` run (unsilenced only, unless silenced=True)."""
    data = json.loads(outcome.stdout)["data"]
    return [f for f in data["findings"] if silenced or not f["silenced"]]


def rules_in(outcome: Any, path_part: str = "") -> set[str]:
    return {f["rule"] for f in findings(outcome) if path_part in f["path"]}


def revision_source(
    revision: str, down: str | tuple[str, ...] | None, upgrade: str, downgrade: str
) -> str:
    """A revision file: `upgrade` / `downgrade` are the bodies (indented by 4)."""

    def body(text: str) -> str:
        return "\n".join("    " + line for line in text.strip().splitlines())

    return (
        f'"""{revision}"""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f"revision = {revision!r}\ndown_revision = {down!r}\nbranch_labels = None\n"
        f"depends_on = None\n\n\ndef upgrade() -> None:\n{body(upgrade)}\n\n\n"
        f"def downgrade() -> None:\n{body(downgrade)}\n"
    )


def write_scripts(root: Path, files: dict[str, str]) -> dict[str, str]:
    """root/migrations with env.py and exactly `files` (name -> source) in versions/."""
    directory = root / "migrations"
    versions = directory / "versions"
    shutil.rmtree(versions, ignore_errors=True)
    versions.mkdir(parents=True)
    shutil.copy(FIXTURES / "env.py", directory / "env.py")
    shutil.copy(REPO / "migrations" / "script.py.mako", directory / "script.py.mako")
    for name, source in files.items():
        (versions / name).write_text(source, encoding="utf-8")
    rules = ", ".join(f'"{rule}"' for rule in PROJECT_EXCLUDE)
    (directory / "pyproject.toml").write_text(
        f"[tool.manage.review]\nsquawk_exclude = [{rules}]\n", encoding="utf-8"
    )
    return {"MANAGE_MIGRATIONS_DIR": str(directory)}
