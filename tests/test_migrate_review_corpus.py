"""The review on a corpus of real revision files (tests/review_corpus): precision and recall
against an expert's labels (labels.toml), no crash, valid JSON for every project folder.

Each project folder is reviewed as its own scripts directory with `--all --no-sql-lint --json`
(the files are not importable outside their projects, so squawk and the SQLite check, which run
them, are not part of this score; neither are the graph rules: the corpus is a sample of each
chain, not the chain).
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent / "review_corpus"
LABELS = tomllib.loads((CORPUS / "labels.toml").read_text(encoding="utf-8"))
PROJECTS = sorted({name.split("/")[0] for name in LABELS})
UNSCORED = {"app-import", "multiple-heads", "missing-down-revision", "unloadable-chain"}
MIN_PRECISION, MIN_RECALL = 0.95, 0.90


def _review(cli, tmp_path: Path, project: str) -> dict:
    directory = tmp_path / project / "migrations"
    shutil.copytree(CORPUS / project, directory / "versions")
    (directory / "pyproject.toml").write_text("[tool.manage.review]\n", encoding="utf-8")
    outcome = cli(
        ["migrate", "review", "--all", "--no-sql-lint", "--json"],
        env={"MANAGE_MIGRATIONS_DIR": str(directory)},
    )
    assert outcome.exit_code in (0, 1), outcome.stdout + outcome.stderr
    document = json.loads(outcome.stdout)  # one valid JSON document, errors included
    assert "Traceback" not in outcome.stderr
    return document["data"]


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> dict[str, set[tuple[str, int, str]]]:
    from typer.testing import CliRunner

    from manage.cli import app

    runner = CliRunner()

    class Outcome:
        def __init__(self, result) -> None:
            self.exit_code, self.stdout = result.exit_code, result.stdout
            self.stderr = result.stderr

    def cli(args, env):
        return Outcome(runner.invoke(app, args, env=env))

    found: set[tuple[str, int, str]] = set()
    reviewed: set[str] = set()
    for project in PROJECTS:
        data = _review(cli, tmp_path_factory.mktemp("corpus"), project)
        reviewed |= {f"{project}/{Path(r['path']).name}" for r in data["revisions"]}
        for item in data["findings"]:
            if item["rule"] not in UNSCORED and item["source"] == "rules":
                found.add((f"{project}/{Path(item['path']).name}", item["line"], item["rule"]))
    expected = {(name, line, rule) for name, v in LABELS.items() for line, rule in v["dangers"]}
    return {"found": found, "expected": expected, "reviewed": reviewed}


def test_the_corpus_has_forty_files_from_five_projects_each_labelled() -> None:
    files = {f"{p.parent.name}/{p.name}" for p in CORPUS.glob("*/*.py")}
    assert len(files) >= 40 and len(PROJECTS) >= 5
    assert files == set(LABELS)


def test_every_corpus_file_is_reviewed_without_a_crash(scored) -> None:
    assert scored["reviewed"] == set(LABELS)


def test_precision_and_recall_on_the_corpus_meet_the_bar(scored) -> None:
    found, expected = scored["found"], scored["expected"]
    hits = found & expected
    precision = len(hits) / len(found) if found else 1.0
    recall = len(hits) / len(expected)
    report = (
        f"precision {precision:.3f} ({len(hits)}/{len(found)}), recall {recall:.3f} "
        f"({len(hits)}/{len(expected)})\nfalse positives: {sorted(found - expected)}\n"
        f"misses: {sorted(expected - found)}"
    )
    print(report)
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, report


def _cli():
    from typer.testing import CliRunner

    from manage.cli import app

    runner = CliRunner()
    return lambda args, env: runner.invoke(app, args, env=env)


@pytest.mark.parametrize("name", sorted(LABELS))
def test_each_corpus_file_alone_reviews_to_one_valid_json_document(name, tmp_path) -> None:
    directory = tmp_path / "migrations"
    (directory / "versions").mkdir(parents=True)
    shutil.copy(CORPUS / name, directory / "versions" / Path(name).name)
    result = _cli()(
        ["migrate", "review", "--all", "--no-sql-lint", "--json"],
        {"MANAGE_MIGRATIONS_DIR": str(directory)},
    )
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    data = json.loads(result.stdout)["data"]
    assert [r["path"].endswith(Path(name).name) for r in data["revisions"]] == [True]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("project", PROJECTS)
def test_the_full_review_with_squawk_and_sqlite_never_crashes_on_the_corpus(
    project, tmp_path
) -> None:
    """The files cannot run outside their projects: SQL lint and the SQLite check say so in
    notes; the rules still report, and the output is one JSON document."""
    directory = tmp_path / "migrations"
    shutil.copytree(CORPUS / project, directory / "versions")
    shutil.copy(CORPUS.parent / "review_fixtures" / "env.py", directory / "env.py")
    result = _cli()(
        ["migrate", "review", "--all", "--json"], {"MANAGE_MIGRATIONS_DIR": str(directory)}
    )
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    data = json.loads(result.stdout)["data"]
    assert data["sql_lint"] in ("ran", "unavailable")
    assert any(f["source"] == "rules" for f in data["findings"])
    assert "Traceback" not in result.stderr
