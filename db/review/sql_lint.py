"""SQL lint: the reviewed revisions' upgrades rendered offline for PostgreSQL, checked by squawk.

squawk (the `squawk-cli` package, a dev dependency) ships a binary. Each linear run of reviewed
revisions is rendered at once (one Alembic offline run), cut into one file per revision's
transaction and given to one `squawk --reporter json` run. Findings map back to the line of
the op call that rendered the flagged statement (its table too), else to `def upgrade`; one
about the same statement as a rule of ours is folded into that finding (`merge_duplicates`).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

from db.review.findings import Finding
from db.review.ops import OpCall, op_calls, string_of
from db.review.scripts import ScriptFile
from db.review.settings import LintConfig

SQUAWK_DOCS = "https://squawkhq.com/docs/"


def _normalize(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().rstrip(";").lower()


# squawk rule -> the rule of ours about the same danger (one finding, both sources)
SAME_AS = {
    "adding-required-field": "add-not-null-column",
    "adding-not-nullable-field": "set-not-null",
    "changing-column-type": "alter-column-type",
    "require-concurrent-index-creation": "index-not-concurrent",
    "ban-concurrent-index-creation-in-transaction": "concurrent-index-in-transaction",
    "adding-foreign-key-constraint": "constraint-not-valid",
    "constraint-missing-not-valid": "constraint-not-valid",
    "ban-drop-column": "drop-column",
    "ban-drop-table": "drop-table",
    "renaming-column": "rename",
    "renaming-table": "rename",
    "disallowed-unique-constraint": "unique-constraint",
    "adding-serial-primary-key-field": "primary-key-rebuild",
}
# SQL verbs -> the op calls that render them
_RENDERS = (
    (re.compile(r"^alter table .* add column", re.I), {"add_column"}),
    (re.compile(r"^alter table .* drop column", re.I), {"drop_column"}),
    (re.compile(r"^alter table .* rename to", re.I), {"rename_table"}),
    (re.compile(r"^alter table .* rename ", re.I), {"alter_column"}),
    (re.compile(r"^alter table .* alter column", re.I), {"alter_column"}),
    (
        re.compile(r"^alter table .* add constraint", re.I),
        {
            "create_foreign_key",
            "create_check_constraint",
            "create_unique_constraint",
            "create_primary_key",
        },
    ),
    (re.compile(r"^alter table .* drop constraint", re.I), {"drop_constraint"}),
    (re.compile(r"^create (unique )?index", re.I), {"create_index"}),
    (re.compile(r"^drop index", re.I), {"drop_index"}),
    (re.compile(r"^create table", re.I), {"create_table"}),
    (re.compile(r"^drop table", re.I), {"drop_table"}),
)


def _names(call: OpCall) -> set[str]:
    found = {call.table} if call.table else set()
    for value in call.args.values():
        for node in ast.walk(value):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value.lower())
    return {name.lower() for name in found if name}


_SQL_TABLE = re.compile(
    r"^(?:alter\s+table|drop\s+table|create\s+table|truncate(?:\s+table)?|"
    r"create\s+(?:unique\s+)?index(?:\s+concurrently)?(?:\s+if\s+not\s+exists)?"
    r"(?:\s+(?!on\b)\S+)?\s+on)"
    r"(?:\s+if\s+(?:not\s+)?exists)?(?:\s+only)?\s+\"?([\w.]+)\"?",
    re.IGNORECASE,
)


def sql_table(statement: str) -> str | None:
    """The table an ALTER/CREATE/DROP TABLE, CREATE INDEX ... ON or TRUNCATE statement is
    about (schema kept off), else None."""
    match = _SQL_TABLE.match(statement.strip())
    return match.group(1).split(".")[-1].lower() if match else None


def _mentions(name: str, sql: str) -> bool:
    """`name` as a whole identifier in `sql` (`owner` is not in `owners`)."""
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", sql) is not None


def op_for(script: ScriptFile, statement: str) -> OpCall | None:
    """The upgrade's op call that renders `statement`: literal SQL, else the same kind of op on
    the statement's own table (exactly: `pets` never matches an op on `owners`), then the most
    of its names the statement mentions as whole identifiers."""
    wanted = _normalize(statement)
    calls = [c for c in op_calls(script.function("upgrade"), script.tree) if c.postgres]
    for call in calls:
        text = string_of(call.args.get("sqltext"), call.consts) if call.name == "execute" else None
        if text and _normalize(text) and _normalize(text) in wanted:
            return call
    kinds = next((ops for pattern, ops in _RENDERS if pattern.search(wanted)), set())
    table = sql_table(wanted)
    scored = [
        (sum(len(n) for n in _names(c) if _mentions(n, wanted)), -i, c)
        for i, c in enumerate(calls)
        if c.name in kinds and (table is None or c.table is None or c.table.lower() == table)
    ]
    scored = [item for item in scored if item[0] > 0]
    return max(scored, key=lambda item: item[:2])[2] if scored else None


def _line_for(script: ScriptFile, statement: str) -> int | None:
    call = op_for(script, statement)
    if call is not None:
        return call.line
    upgrade = script.function("upgrade")
    return upgrade.lineno if upgrade is not None else None


def run_squawk(binary: str, sql: str, config: LintConfig, name: str) -> list[dict]:
    args = [binary, "--reporter", "json", "--stdin-filepath", name]
    if config.squawk_exclude:
        args.append("--exclude=" + ",".join(config.squawk_exclude))
    if config.pg_version:
        args.append(f"--pg-version={config.pg_version}")
    proc = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=60)
    try:
        return json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        raise RuntimeError(
            (proc.stderr.strip().splitlines() or ["squawk gave no JSON"])[0]
        ) from None


def run_squawk_files(binary: str, paths: list[str], config: LintConfig) -> list[dict]:
    """squawk on several SQL files in one run (each finding names its `file`)."""
    args = [binary, "--reporter", "json", *paths]
    if config.squawk_exclude:
        args.append("--exclude=" + ",".join(config.squawk_exclude))
    if config.pg_version:
        args.append(f"--pg-version={config.pg_version}")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    try:
        return json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        raise RuntimeError(
            (proc.stderr.strip().splitlines() or ["squawk gave no JSON"])[0]
        ) from None


def _statement(lines: list[str], first: int, last: int) -> str:
    """The whole statement around lines first..last (0-based): from after the previous `;`."""
    start = first
    while start > 0 and not lines[start - 1].rstrip().endswith(";"):
        start -= 1
    end = last
    while end < len(lines) - 1 and not lines[end].rstrip().endswith(";"):
        end += 1
    kept = (line.strip() for line in lines[start : end + 1])
    return " ".join(line for line in kept if line and not line.startswith("--"))


def _finding(script: ScriptFile, item: dict, lines: list[str]) -> Finding | None:
    made = _squawk_finding(script, item, lines)
    return made[0] if made is not None else None


def _squawk_finding(
    script: ScriptFile, item: dict, lines: list[str]
) -> tuple[Finding, str, bool] | None:
    """(finding, the whole statement, whether an op.execute's raw SQL rendered it)."""
    first, last = int(item.get("line", 0)), int(item.get("line_end", item.get("line", 0)))
    flagged = " ".join(line.strip() for line in lines[first : last + 1])
    statement = _statement(lines, first, last)
    if "alembic_version" in statement:  # Alembic's bookkeeping, not the migration
        return None
    rule = str(item.get("rule_name", "unknown"))
    call = op_for(script, statement)
    made = Finding(
        rule=f"squawk:{rule}",
        severity="error" if str(item.get("level", "")).lower() == "error" else "warning",
        path=script.display,
        line=call.line if call is not None else _line_for(script, statement),
        revision=script.revision,
        message=f"{item.get('message', '')} (SQL: {flagged[:160]})",
        why=f"squawk rule {rule}; see {SQUAWK_DOCS}{rule}",
        fix=str(item.get("help") or f"see {SQUAWK_DOCS}{rule}"),
        source="squawk",
        table=(call.table if call is not None else None) or sql_table(statement),
    )
    return made, statement, call is None or call.name == "execute"


_PRIMARY_KEY = re.compile(r"\badd\s+(?:constraint\s+\S+\s+)?primary\s+key\b", re.I)
_UNIQUE = re.compile(r"\badd\s+constraint\s+\"?(\S+?)\"?\s+unique\b", re.I)
# squawk advice PostgreSQL does not accept for a primary key or unique constraint
_NOT_VALID_RULES = {"constraint-missing-not-valid"}


def _raw_rule(statement: str, table: str | None) -> tuple[str, str] | None:
    """Our rule for a raw `ADD PRIMARY KEY` / `ADD CONSTRAINT x UNIQUE` (not USING INDEX)."""
    if re.search(r"\busing\s+index\b", statement, re.I):
        return None
    where = table or "a table named at run time"
    if _PRIMARY_KEY.search(statement):
        return "primary-key-rebuild", (
            f"(re)builds the primary key of {where} under an ACCESS EXCLUSIVE lock"
        )
    unique = _UNIQUE.search(statement)
    if unique:
        return "unique-constraint", (
            f"adds unique constraint {unique.group(1)} on {where} by building its index "
            "under the lock"
        )
    return None


def fold(found: list[tuple[Finding, str, bool]]) -> list[Finding]:
    """One finding per statement: squawk's findings on one statement become one (the others
    in `also`); a raw primary key or unique constraint becomes our rule about it (our why and
    fix, squawk's rules in `also`), and NOT VALID advice is dropped for them (PostgreSQL has
    no NOT VALID for PRIMARY KEY or UNIQUE)."""
    from db.review.findings import finding

    groups: dict[tuple[str, int | None, str], list[tuple[Finding, str, bool]]] = {}
    for entry in found:
        made, statement, _raw = entry
        groups.setdefault((made.path, made.line, _normalize(statement)), []).append(entry)
    kept: list[Finding] = []
    for entries in groups.values():
        first, statement, raw = entries[0]
        rules = [made.rule for made, _, _ in entries]
        ours = _raw_rule(statement, first.table) if raw else None
        if ours is not None:
            flagged = " ".join(statement.split())[:160]
            made = finding(
                ours[0],
                path=first.path,
                line=first.line,
                revision=first.revision,
                message=f"{ours[1]} (SQL: {flagged})",
                table=first.table,
            )
            made.source = "squawk"
            made.also = list(dict.fromkeys(rules))
            kept.append(made)
            continue
        keyed = _PRIMARY_KEY.search(statement) or _UNIQUE.search(statement)
        useful = [m for m, _, _ in entries if not (keyed and m.rule[7:] in _NOT_VALID_RULES)] or [
            first
        ]
        head = next((m for m in useful if m.rule[7:] in SAME_AS), useful[0])
        head.also = list(dict.fromkeys(r for r in rules if r != head.rule))
        kept.append(head)
    return kept


def lint(script: ScriptFile, sql: str, binary: str, config: LintConfig) -> list[Finding]:
    """squawk's findings on `sql` (this revision's upgrade) as findings on the revision file."""
    lines = sql.splitlines()
    found = (
        _squawk_finding(script, item, lines) for item in run_squawk(binary, sql, config, "r.sql")
    )
    return fold([f for f in found if f is not None])


_MARKER = re.compile(r"^-- Running upgrade (\S*)\s*->\s*(\S+)")


def _chunks(sql: str) -> list[tuple[str | None, list[str]]]:
    """The offline SQL cut at each `BEGIN;`: (the revision its `-- Running upgrade A -> B`
    marker names, its lines). Each chunk is one revision's transaction, as squawk should see
    it (one file per transaction: several in one file would read as non-transactional)."""
    chunks: list[tuple[str | None, list[str]]] = []
    for line in sql.splitlines():
        if line.strip().upper() == "BEGIN;" or not chunks:
            chunks.append((None, []))
        revision, lines = chunks[-1]
        match = _MARKER.match(line)
        chunks[-1] = (match.group(2) if match else revision, [*lines, line])
    return chunks


def lint_chain(
    scripts: list[ScriptFile], sql: str, binary: str, config: LintConfig
) -> list[Finding]:
    """Like `lint`, for the SQL of several revisions rendered at once: each revision's
    transaction goes to squawk as its own file, all in one squawk run."""
    import tempfile

    by_id = {str(s.revision): s for s in scripts}
    found: list[tuple[Finding, str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="manage-review-squawk-") as directory:
        files: dict[str, tuple[ScriptFile, list[str]]] = {}
        for index, (revision, lines) in enumerate(_chunks(sql)):
            if revision in by_id:
                path = str(Path(directory) / f"{index:04d}_{revision}.sql")
                Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
                files[path] = (by_id[revision], lines)
        if not files:
            return []
        for item in run_squawk_files(binary, list(files), config):
            script, lines = files.get(str(item.get("file")), (None, []))
            made = _squawk_finding(script, item, lines) if script is not None else None
            if made is not None:
                found.append(made)
    return fold(found)


def linear_runs(scripts: list[ScriptFile]) -> list[list[ScriptFile]]:
    """`scripts` (parents first, merges left out) cut into runs where each revision's one
    parent is the one before it: each run renders offline as one FROM:TO range."""
    runs: list[list[ScriptFile]] = []
    for script in scripts:
        if len(script.down_revisions) > 1:
            continue
        parent = script.down_revisions[0] if script.down_revisions else None
        if runs and parent is not None and str(runs[-1][-1].revision) == parent:
            runs[-1].append(script)
        else:
            runs.append([script])
    return runs


def run_range(run: list[ScriptFile]) -> str:
    first, last = run[0], str(run[-1].revision)
    return f"{first.down_revisions[0]}:{last}" if first.down_revisions else last


def merge_duplicates(findings: list[Finding]) -> list[Finding]:
    """One finding per danger: a squawk finding on the line of our rule about the same thing
    is folded into it (our text names the table and column; `also` names squawk's rule)."""
    ours = {(f.path, f.line, f.rule): f for f in findings if f.source == "rules"}
    kept = []
    for item in findings:
        if item.source == "squawk":
            named = item.rule.removeprefix("squawk:")
            same = SAME_AS.get(named) if item.rule.startswith("squawk:") else item.rule
            twin = ours.get((item.path, item.line, same)) if same else None
            if twin is None:  # or any of the squawk rules folded into it
                twin = next(
                    (
                        ours.get((item.path, item.line, SAME_AS.get(r.removeprefix("squawk:"))))
                        for r in item.also
                        if ours.get((item.path, item.line, SAME_AS.get(r.removeprefix("squawk:"))))
                    ),
                    None,
                )
            if twin is not None:
                for rule in (
                    [item.rule, *item.also] if item.rule.startswith("squawk:") else item.also
                ):
                    if rule not in twin.also:
                        twin.also.append(rule)
                continue
        kept.append(item)
    return kept
