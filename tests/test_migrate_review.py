"""`manage migrate review`: each rule fires on its fixture and stays quiet on the safe variant.

Fixtures: tests/review_fixtures (one revision per rule on top of a base `accounts` table),
copied into a temporary scripts directory per test. No database: `--all` reviews the files.
"""

from __future__ import annotations

import json

import pytest

from tests.review_support import findings, rules_in, scripts_dir

# fixture -> (rule that must fire, its severity, the line it points at)
FIRES = {
    "drop_table": ("drop-table", "error", 18),
    "drop_column": ("drop-column", "error", 17),
    "rename_table": ("rename-in-disguise", "error", 18),
    "rename_column": ("rename-in-disguise", "error", 17),
    "add_not_null": ("add-not-null-column", "error", 17),
    "set_not_null": ("set-not-null", "warning", 17),
    "alter_type": ("alter-column-type", "warning", 18),
    "index_plain": ("index-not-concurrent", "warning", 16),
    "index_concurrent_in_tx": ("concurrent-index-in-transaction", "error", 16),
    "constraints": ("constraint-not-valid", "warning", 18),
    "enum": ("enum-change", "warning", 17),
    "enum_table": ("enum-change", "warning", 17),
    "empty_downgrade": ("empty-downgrade", "warning", 20),
    "notimplemented_downgrade": ("empty-downgrade", "warning", 20),
    "app_import": ("app-import", "warning", 10),
    "orphan": ("missing-down-revision", "error", 11),
    "data_update": ("backfill", "warning", 16),
}
# safe variant -> the rule that must stay quiet on it
QUIET = {
    "drop_table_safe": "drop-table",
    "drop_column_safe": "drop-column",
    "rename_table_safe": "rename-in-disguise",
    "rename_column_safe": "rename-in-disguise",
    "add_not_null_safe": "add-not-null-column",
    "set_not_null_safe": "set-not-null",
    "alter_type_safe": "alter-column-type",
    "index_safe": "index-not-concurrent",
    "constraints_safe": "constraint-not-valid",
    "enum_safe": "enum-change",
    "clean": "empty-downgrade",
    "app_import_safe": "app-import",
    "data_update_safe": "backfill",
}


@pytest.fixture
def review(cli, tmp_path):
    def run(*fixtures: str, args: tuple[str, ...] = ("--all", "--no-sql-lint", "--json"), **kw):
        env = scripts_dir(tmp_path, *fixtures, **kw)
        return cli(["migrate", "review", *args], env=env)

    return run


@pytest.mark.parametrize("fixture", sorted(FIRES))
def test_each_rule_fires_on_its_fixture_with_file_line_and_advice(review, fixture) -> None:
    rule, severity, line = FIRES[fixture]
    outcome = review(fixture)
    hits = [f for f in findings(outcome) if f["rule"] == rule and fixture in f["path"]]
    assert hits, outcome.stdout
    assert {(f["severity"], f["line"]) for f in hits} >= {(severity, line)}
    assert all(f["why"] and f["fix"] and f["message"] for f in hits)
    assert hits[0]["path"].endswith(f"versions/{fixture}.py")
    assert outcome.exit_code == (1 if severity == "error" else 0), outcome.stdout


@pytest.mark.parametrize("fixture", sorted(QUIET))
def test_each_rule_stays_quiet_on_its_safe_variant(review, fixture) -> None:
    outcome = review(fixture)
    assert QUIET[fixture] not in rules_in(outcome, fixture)
    # An explicit rename is no rename in disguise, but it breaks the running release: `rename`.
    renames = fixture.startswith("rename_")
    assert rules_in(outcome, fixture) == ({"rename"} if renames else set()), outcome.stdout
    assert outcome.exit_code == (1 if renames else 0), outcome.stdout


def test_the_clean_revision_has_zero_findings_squawk_included(review) -> None:
    outcome = review("clean", args=("--all",))
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert "reviewed 2 revisions: no findings" in outcome.stdout
    data = json.loads(review("clean", args=("--all", "--json")).stdout)["data"]
    assert data["findings"] == [] and data["errors"] == data["warnings"] == 0
    assert data["sql_lint"] == "ran"


def test_the_shipped_migrations_review_clean(cli) -> None:
    outcome = cli(["migrate", "review", "--all", "--strict", "--json"])
    data = json.loads(outcome.stdout)["data"]
    assert outcome.exit_code == 0, data["findings"]
    assert data["findings"] == [] and len(data["revisions"]) >= 2
    assert data["sql_lint"] == "ran"


def test_a_finding_reads_file_line_rule_severity_why_and_fix(review) -> None:
    outcome = review("drop_column", args=("--all", "--no-sql-lint"))
    assert outcome.exit_code == 1
    lines = outcome.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "[drop-column]" in line)
    assert lines[at].startswith("migrations/versions/drop_column.py:17: error [drop-column]")
    assert "drops column accounts.legacy" in lines[at]
    assert lines[at + 1].lstrip().startswith("why: ") and lines[at + 2].lstrip().startswith("fix: ")
    assert "reviewed 2 revisions: 1 error, 0 warnings" in outcome.stdout
    assert outcome.stderr.strip() == "error: review failed: 1 error, 0 warnings"


def test_warnings_pass_unless_strict(review) -> None:
    assert review("set_not_null").exit_code == 0
    outcome = review("set_not_null", args=("--all", "--no-sql-lint", "--strict", "--json"))
    assert outcome.exit_code == 1
    document = json.loads(outcome.stdout)
    assert document["success"] is False and document["error_code"] == "REVIEW_FINDINGS"
    assert document["data"]["warnings"] == 1


def test_an_allow_comment_silences_but_all_findings_still_lists_it(review) -> None:
    outcome = review("drop_table_safe")
    assert outcome.exit_code == 0 and findings(outcome) == []
    assert json.loads(outcome.stdout)["data"]["silenced"] == 1
    listed = review("drop_table_safe", args=("--all", "--no-sql-lint", "--all-findings", "--json"))
    [item] = findings(listed, silenced=True)
    assert item["rule"] == "drop-table" and item["silenced"] is True
    assert item["reason"] == "retired in release 41, backed up"
    assert listed.exit_code == 0
    human = review("drop_table_safe", args=("--all", "--no-sql-lint", "--all-findings"))
    assert "(allowed: retired in release 41, backed up)" in human.stdout


def test_two_heads_are_an_error_on_each_head(review) -> None:
    outcome = review("clean", "second_head")
    heads = [f for f in findings(outcome) if f["rule"] == "multiple-heads"]
    assert {f["revision"] for f in heads} == {"clean_nickname", "second_head"}
    assert outcome.exit_code == 1


def test_json_shape(review) -> None:
    outcome = review("set_not_null")
    document = json.loads(outcome.stdout)
    assert document["success"] is True
    data = document["data"]
    assert set(data) == {
        "scope", "revisions", "findings", "errors", "warnings", "silenced", "sql_lint",
        "roundtrip", "notes",
    }  # fmt: skip
    assert data["scope"] == "all" and data["sql_lint"] == "disabled"
    assert data["roundtrip"] is False
    assert {r["revision"] for r in data["revisions"]} == {"r0accounts", "fire_set_not_null"}
    assert set(data["findings"][0]) == {
        "rule", "severity", "path", "line", "revision", "message", "why", "fix", "source",
        "silenced", "reason", "table", "table_rows", "table_bytes", "also",
    }  # fmt: skip


def test_squawk_flags_a_raw_add_column_not_null_on_its_op_execute_line(review) -> None:
    outcome = review("raw_not_null", args=("--all", "--json"))
    [hit] = [f for f in findings(outcome) if f["rule"] == "squawk:adding-required-field"]
    assert hit["path"].endswith("versions/raw_not_null.py") and hit["line"] == 16
    assert hit["source"] == "squawk" and hit["revision"] == "fire_raw_sql"
    assert "ALTER TABLE accounts ADD COLUMN age integer NOT NULL" in hit["message"]
    # the static rules alone do not see raw SQL
    assert "squawk:adding-required-field" not in rules_in(review("raw_not_null"))


def test_squawk_exclusions_come_from_pyproject(review) -> None:
    excluded = ["adding-required-field", "prefer-bigint-over-int", "require-lock-timeout"]
    outcome = review("raw_not_null", args=("--all", "--json"), exclude=excluded)
    rules = rules_in(outcome)
    assert "squawk:adding-required-field" not in rules
    assert "squawk:require-statement-timeout" in rules  # not excluded this time


def test_without_squawk_says_so_once_and_goes_on(cli, tmp_path) -> None:
    env = scripts_dir(tmp_path, "raw_not_null", "clean")
    env["MANAGE_SQUAWK"] = str(tmp_path / "no-such-squawk")  # as if not installed
    outcome = cli(["migrate", "review", "--all"], env=env)
    assert outcome.stderr.count("squawk is not installed") == 1, outcome.stderr
    assert "[multiple-heads]" in outcome.stdout  # the rules still ran
    assert outcome.exit_code == 1
    data = json.loads(cli(["migrate", "review", "--all", "--json"], env=env).stdout)["data"]
    assert data["sql_lint"] == "unavailable"
    assert not any(f["source"] == "squawk" for f in data["findings"])


def test_range_and_all_together_is_exit_5(review) -> None:
    outcome = review(args=("r0accounts:", "--all"))
    assert outcome.exit_code == 5
    assert outcome.stderr.startswith("error: ") and len(outcome.stderr.splitlines()) == 1


def test_a_range_reviews_only_its_revisions(review) -> None:
    outcome = review("drop_column", args=("fire_drop_column:", "--no-sql-lint", "--json"))
    data = json.loads(outcome.stdout)["data"]
    assert data["scope"] == "range"
    assert [r["revision"] for r in data["revisions"]] == ["fire_drop_column"]
    bad = review("drop_column", args=("nope:", "--no-sql-lint"))
    assert bad.exit_code == 5 and "Traceback" not in bad.stderr


def test_an_allow_comment_without_a_reason_silences_nothing(cli, tmp_path) -> None:
    env = scripts_dir(tmp_path, "drop_column")
    path = tmp_path / "migrations" / "versions" / "drop_column.py"
    text = path.read_text().replace(
        'op.drop_column("accounts", "legacy")',
        'op.drop_column("accounts", "legacy")  # manage: allow drop-column',
    )
    path.write_text(text)
    outcome = cli(["migrate", "review", "--all", "--no-sql-lint", "--json"], env=env)
    assert "drop-column" in rules_in(outcome) and outcome.exit_code == 1


def test_a_broken_chain_is_reported_by_all_and_refused_by_a_range(review) -> None:
    assert "missing-down-revision" in rules_in(review("orphan"))
    outcome = review("orphan", args=("r0accounts:", "--no-sql-lint"))
    assert outcome.exit_code == 5
    assert len(outcome.stderr.strip().splitlines()) == 1 and "Traceback" not in outcome.stderr


def test_review_is_listed_in_the_migrate_help(cli) -> None:
    outcome = cli(["migrate", "--help"])
    assert outcome.exit_code == 0 and "review" in outcome.stdout
    help_text = cli(["migrate", "review", "--help"]).stdout
    assert "[RANGE]" in help_text and "--roundtrip" in help_text and "Examples:" in help_text
