"""What a review reports: findings, the rule catalogue, and `# manage: allow` comments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
Source = Literal["rules", "squawk", "roundtrip", "sqlite"]

# Rules whose cost grows with the table: `table_rows` is looked up for them, and a warning
# on a table of at least `large_table_rows` rows becomes an error.
LOCK_RULES = frozenset(
    {
        "add-not-null-column",
        "set-not-null",
        "alter-column-type",
        "index-not-concurrent",
        "constraint-not-valid",
        "unique-constraint",
        "primary-key-rebuild",
        "backfill",
        "truncate",
    }
)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    why: str  # why it hurts
    fix: str  # the safer way


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "truncate",
            "error",
            "TRUNCATE deletes every row at once, under an ACCESS EXCLUSIVE lock; no downgrade "
            "brings the rows back",
            "delete only what must go (in batches, with a WHERE), or back the table up first "
            "(and allow the finding with a reason)",
        ),
        Rule(
            "drop-table",
            "error",
            "the table and every row in it are gone; a deploy that still reads it breaks",
            "stop using the table in one release, back it up, drop it in a later release "
            "(and allow the finding with a reason)",
        ),
        Rule(
            "drop-column",
            "error",
            "the column's data is gone, and running code that still selects it fails",
            "stop reading and writing the column first, drop it in a later release "
            "(and allow the finding with a reason)",
        ),
        Rule(
            "rename-in-disguise",
            "error",
            "autogenerate writes a rename as drop + create: every row of the old one is lost",
            "use op.rename_table(old, new) or op.alter_column(table, old, new_column_name=new)",
        ),
        Rule(
            "add-not-null-column",
            "error",
            "adding a NOT NULL column without a default fails on a table that has rows",
            "give it a server_default, or add it nullable, declare a Backfill (manage migrate "
            "backfill), then SET NOT NULL in a revision that calls require_backfill()",
        ),
        Rule(
            "set-not-null",
            "warning",
            "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock",
            "on PostgreSQL 12+: add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then "
            "SET NOT NULL (no scan), then drop the check",
        ),
        Rule(
            "alter-column-type",
            "warning",
            "changing a column's type usually rewrites the table under an ACCESS EXCLUSIVE lock",
            "add a new column, fill it with a declared Backfill (manage migrate backfill), "
            "switch reads, drop the old one later",
        ),
        Rule(
            "index-not-concurrent",
            "warning",
            "CREATE INDEX blocks writes to the table until the index is built",
            "create_index(..., postgresql_concurrently=True) inside "
            "`with op.get_context().autocommit_block():`",
        ),
        Rule(
            "concurrent-index-in-transaction",
            "error",
            "CREATE INDEX CONCURRENTLY cannot run inside a transaction: the migration fails",
            "wrap it in `with op.get_context().autocommit_block():`",
        ),
        Rule(
            "constraint-not-valid",
            "warning",
            "adding a foreign key or check constraint validates every row under a lock",
            "add it with postgresql_not_valid=True, then VALIDATE CONSTRAINT in a later "
            "revision (a weaker lock)",
        ),
        Rule(
            "rename",
            "error",
            "the running release still reads and writes the old name: every query of it fails "
            "from the moment the rename commits until the new release is out",
            "expand and contract: add the new column (or a view for a table), write both, "
            "backfill, switch reads, drop the old name in a later release",
        ),
        Rule(
            "unique-constraint",
            "warning",
            "ADD CONSTRAINT ... UNIQUE builds its index while holding an ACCESS EXCLUSIVE lock: "
            "no reads or writes of the table until the index is built",
            "create the unique index first with create_index(..., unique=True, "
            "postgresql_concurrently=True) inside autocommit_block(), then "
            "ALTER TABLE ... ADD CONSTRAINT name UNIQUE USING INDEX name",
        ),
        Rule(
            "primary-key-rebuild",
            "warning",
            "adding a primary key builds its unique index (and checks NOT NULL) under an ACCESS "
            "EXCLUSIVE lock; with a batch_alter_table copy it rewrites the whole table",
            "build a unique index CONCURRENTLY in autocommit_block(), then "
            "ALTER TABLE ... ADD CONSTRAINT name PRIMARY KEY USING INDEX name",
        ),
        Rule(
            "backfill",
            "warning",
            "rewriting rows inside the revision holds their row locks (and the DDL's table "
            "locks) until the whole migration commits, and writes all of it to WAL at once",
            "declare it as a Backfill (from db.backfill import Backfill; .declare() in "
            "upgrade()) and run `manage migrate backfill`: batches by key range (WHERE id "
            "BETWEEN :lo AND :hi), each committed with its progress, resumable, throttled "
            '(docs/migrations.md, "Backfills")',
        ),
        Rule(
            "enum-change",
            "warning",
            "autogenerate misses PostgreSQL enum type changes: new labels are not added and "
            "the type is not created or dropped for you",
            "write the ALTER TYPE ... ADD VALUE (outside a transaction: autocommit_block) or "
            "CREATE/DROP TYPE yourself, and check the downgrade",
        ),
        Rule(
            "empty-downgrade",
            "warning",
            "the revision cannot be rolled back: `migrate downgrade` stops here",
            "write the inverse operations (autogenerate drafts them) or document why not",
        ),
        Rule(
            "app-import",
            "warning",
            "the app's models change later; an old migration importing them then breaks or "
            "does something else",
            "use sa.table()/sa.column() or copy the definitions the migration needs",
        ),
        Rule(
            "multiple-heads",
            "error",
            "`migrate upgrade head` refuses to run with more than one head",
            "merge them: alembic merge heads (or manage migrate make after fixing down_revision)",
        ),
        Rule(
            "broken-revision-file",
            "error",
            "a revision file cannot be loaded: every migrate command refuses the chain (exit 5)",
            "fix the file named (syntax, imports, revision/down_revision, upgrade/downgrade)",
        ),
        Rule(
            "missing-down-revision",
            "error",
            "down_revision names a revision that does not exist: Alembic cannot build the chain",
            "point down_revision at an existing revision (see `manage migrate heads`)",
        ),
        Rule(
            "unloadable-chain",
            "error",
            "Alembic cannot load the scripts directory: `migrate upgrade` (and the SQL lint, "
            "SQLite check and roundtrip, which run the chain) fail before any revision runs",
            "fix the file the message names (a branch label used twice, a file without "
            "`revision`, a missing env.py)",
        ),
        Rule(
            "roundtrip",
            "error",
            "upgrade, downgrade one step and upgrade again did not give back the same schema",
            "make downgrade() undo exactly what upgrade() does",
        ),
        Rule(
            "sqlite-incompatible",
            "warning",
            "SQLite, the embedded default every developer runs, cannot run this revision: "
            "`migrate upgrade` fails there",
            "use `with op.batch_alter_table(T) as batch_op:` (Alembic copies the table on "
            'SQLite), `sa.X().with_variant(postgresql.Y(), "postgresql")` for a '
            "PostgreSQL-only type, or guard PostgreSQL-only code with "
            '`if op.get_bind().dialect.name == "postgresql":`',
        ),
        Rule(
            "sql-lint",
            "warning",
            "squawk flagged the PostgreSQL SQL this revision runs",
            "see the squawk rule's documentation",
        ),
    )
}


@dataclass
class Finding:
    rule: str
    severity: Severity
    path: str
    line: int | None
    revision: str | None
    message: str  # what is wrong
    why: str
    fix: str
    source: Source = "rules"
    silenced: bool = False
    reason: str | None = None  # the allow comment's reason when silenced
    table: str | None = None  # the table a lock rule is about
    table_rows: int | None = None  # PostgreSQL's estimate (pg_class.reltuples), when known
    table_bytes: int | None = None  # pg_relation_size, when known
    also: list[str] = field(default_factory=list)  # squawk rules that said the same (merged)


def finding(
    rule_id: str,
    *,
    path: str,
    line: int | None,
    revision: str | None,
    message: str,
    table: str | None = None,
) -> Finding:
    rule = RULES[rule_id]
    return Finding(
        rule=rule_id,
        severity=rule.severity,
        path=path,
        line=line,
        revision=revision,
        message=message,
        why=rule.why,
        fix=rule.fix,
        table=table if rule_id in LOCK_RULES else None,
    )


# `# manage: allow RULE-ID reason` (the reason is required: a bare allow silences nothing).
_ALLOW = re.compile(r"#\s*manage:\s*allow\s+([\w:.-]+)\s+(\S.*)$")


@dataclass
class Allowances:
    """Allow comments of one file: line number -> {rule id: reason}."""

    by_line: dict[int, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, source: str) -> Allowances:
        by_line: dict[int, dict[str, str]] = {}
        for number, text in enumerate(source.splitlines(), start=1):
            match = _ALLOW.search(text)
            if match:
                by_line.setdefault(number, {})[match.group(1)] = match.group(2).strip()
        return cls(by_line)

    def reason(self, rule_id: str, lines: range) -> str | None:
        for number in lines:
            reason = self.by_line.get(number, {}).get(rule_id)
            if reason is not None:
                return reason
        return None


def apply_allowances(
    findings: list[Finding], allowances: Allowances, spans: dict[int, range]
) -> None:
    """Silence each finding whose line (or the statement spanning it) carries an allow."""
    for item in findings:
        if item.line is None:
            continue
        span = spans.get(item.line, range(item.line, item.line + 1))
        reason = next(
            (r for rule in (item.rule, *item.also) if (r := allowances.reason(rule, span))),
            None,
        )
        if reason is not None:
            item.silenced, item.reason = True, reason
