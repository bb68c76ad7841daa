"""Static rules on a revision's `op.*` calls, read with `ast` (nothing is imported or run).

Rules look at upgrade() (dropping in downgrade() is its job), except the empty-downgrade
rule. A table created, or a column added, earlier in the same upgrade is not a lock or
data-loss risk when altered, indexed or dropped later in it: it is new and nobody uses it yet.
Ops that only another dialect reaches (`if dialect == "mysql":`) are not judged.
"""

from __future__ import annotations

import ast
import re

from db.review import backfill
from db.review.columns import Schema, column_of
from db.review.findings import Finding, finding
from db.review.ops import OpCall, keyword_arg, script_calls, string_of
from db.review.scripts import ScriptFile
from db.review.types import cheap_change, type_text
from db.review.whole import app_imports, empty_downgrade, renames

# ALTER TABLE t RENAME [COLUMN] a TO b / ALTER TABLE t RENAME TO u (not RENAME CONSTRAINT)
_RAW_RENAME = re.compile(
    r"ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?\"?(\w+)\"?\s+RENAME\s+"
    r"(?!CONSTRAINT\b)(?:COLUMN\s+)?(?:\"?(?!TO\b)(\w+)\"?\s+)?TO\s+\"?(\w+)\"?",
    re.IGNORECASE,
)


class _Review:
    def __init__(self, script: ScriptFile, schema: Schema) -> None:
        self.script = script
        self.findings: list[Finding] = []
        self.spans: dict[int, range] = {}
        every = script_calls(script, "upgrade")
        self.calls = [c for c in every if c.postgres]
        self.down_calls = script_calls(script, "downgrade")
        # What exists only since earlier in this upgrade (new, empty, unused).
        self.new_tables: set[str] = set()
        self.new_columns: set[tuple[str, str]] = set()
        self.created_at: dict[str, int] = {}  # new table -> line of its create_table
        # What the downgrade recreates is what upgrade dropped.
        self.before = Schema(tables={k: dict(v) for k, v in schema.tables.items()})
        self.before.learn(self.down_calls)

    def add(self, rule: str, call: OpCall | None, line: int | None, message: str) -> None:
        self.findings.append(
            finding(
                rule,
                path=self.script.display,
                line=line,
                revision=self.script.revision,
                message=message,
                table=call.table if call is not None else None,
            )
        )
        if call is not None and line is not None:
            self.spans[line] = call.span

    def is_new(self, call: OpCall, column: str | None = None) -> bool:
        if call.table is None:
            return False
        return call.table in self.new_tables or (call.table, str(column)) in self.new_columns

    def run(self) -> list[Finding]:
        renamed = renames(self)
        for call in self.calls:
            if call.line not in renamed:
                getattr(self, f"_{call.name}", lambda _call: None)(call)
            self._learn(call)
        self._backfills()
        empty_downgrade(self)
        app_imports(self)
        return self.findings

    def _learn(self, call: OpCall) -> None:
        if call.name == "create_table" and call.table:
            self.new_tables.add(call.table)
            self.created_at.setdefault(call.table, call.line)
        elif call.name == "rename_table" and call.table in self.new_tables:
            new = call.string("new_table_name")
            if new is not None:  # still the table built in this upgrade, under a new name
                self.new_tables.add(new)
                self.created_at.setdefault(new, call.line)
        elif call.name == "add_column" and call.table:
            column = column_of(call.args.get("column"), call.consts)
            if column is not None:
                self.new_columns.add((call.table, column.name))
        elif (
            call.name == "alter_column"
            and call.table
            and call.string("new_column_name")
            and (call.table, str(call.string("column_name"))) in self.new_columns
        ):
            self.new_columns.add((call.table, str(call.string("new_column_name"))))

    def _create_table(self, call: OpCall) -> None:
        for arg in call.node.args[1:]:
            column = column_of(arg, call.consts)
            if column is not None and column.enum is not None and not self._drops_type():
                self.add(
                    "enum-change",
                    call,
                    call.line,
                    f"creates {call.table_label} with enum column {column.name}: drop_table in "
                    "the downgrade leaves the PostgreSQL type behind",
                )

    def _drops_type(self) -> bool:
        """Whether the downgrade drops an enum type itself (`.drop(bind)` or DROP TYPE)."""
        function = self.script.function("downgrade")
        text = ast.unparse(function) if function is not None else ""
        return bool(re.search(r"\.drop\(|DROP\s+TYPE", text, re.I))

    def _drop_table(self, call: OpCall) -> None:
        if not self.is_new(call):
            self.add("drop-table", call, call.line, f"drops {call.table_noun()}")

    def _drop_column(self, call: OpCall) -> None:
        name = call.string("column_name")
        if not self.is_new(call, name):
            what = (
                f"column {call.column_ref(name)}"
                if name is not None
                else f"{call.label('column_name', 'column')} of {call.table_label}"
            )
            self.add("drop-column", call, call.line, f"drops {what}")

    def _rename_table(self, call: OpCall) -> None:
        if self.is_new(call):
            return
        new = call.label("new_table_name", "table")
        self.add("rename", call, call.line, f"renames {call.table_noun()} to {new}")

    def _add_column(self, call: OpCall) -> None:
        column = column_of(call.args.get("column"), call.consts)
        if column is None:
            return
        if column.enum is not None and not self._creates_type(column.enum, call):
            self.add(
                "enum-change",
                call,
                call.line,
                f"adds enum column {call.column_ref(column.name)}: the PostgreSQL type must exist",
            )
        if self.is_new(call):
            return
        if column.nullable is False and not column.server_default:
            self.add(
                "add-not-null-column",
                call,
                call.line,
                f"adds {call.column_ref(column.name)} NOT NULL without a server_default",
            )

    def _creates_type(self, enum: ast.expr, call: OpCall) -> bool:
        """Whether the upgrade creates THIS enum's type: `var.create(bind)` for the variable
        the column uses, `CREATE TYPE name`, or `sa.Enum(..., name="name").create(bind)`.
        Creating another enum does not count."""
        function = self.script.function("upgrade")
        text = ast.unparse(function) if function is not None else ""
        column = call.args.get("column")
        given = column.args[1] if isinstance(column, ast.Call) and len(column.args) > 1 else None
        var = given.id if isinstance(given, ast.Name) else None
        name = string_of(keyword_arg(enum, "name")) if isinstance(enum, ast.Call) else None
        if var is None and name is None:  # nothing to tell them apart by
            return bool(re.search(r"\.create\(|CREATE\s+TYPE", text, re.I))
        patterns = []
        if var is not None:
            patterns.append(rf"\b{re.escape(var)}\.create\(")
        if name is not None:
            quoted = re.escape(name)
            patterns.append(rf"CREATE\s+TYPE\s+(IF\s+NOT\s+EXISTS\s+)?\"?{quoted}\b")
            patterns.append(rf"name=['\"]{quoted}['\"][^()]*\)\.create\(")
        return any(re.search(p, text, re.I) for p in patterns)

    def _alter_column(self, call: OpCall) -> None:
        name = call.string("column_name")
        where = (
            call.column_ref(name)
            if name is not None
            else f"{call.label('column_name', 'column')} of {call.table_label}"
        )
        type_node = call.args.get("type_")
        shown = call.consts.get(type_node.id) if isinstance(type_node, ast.Name) else type_node
        if shown is not None and re.search(r"\b(Enum|ENUM)\(", ast.unparse(shown)):
            self.add(
                "enum-change",
                call,
                call.line,
                f"changes {where} to an enum type: labels and the type itself are not "
                "migrated by autogenerate",
            )
        new_name = call.string("new_column_name") or (
            call.label("new_column_name", "column") if call.given("new_column_name") else None
        )
        if call.table is not None and call.table in self.new_tables:
            return  # a table created in this upgrade: empty, unused
        sets_not_null = (
            call.const("nullable") is False and call.const("existing_nullable") is not False
        )
        if (call.table, str(name)) in self.new_columns:
            # A column added in this upgrade to an existing table: renaming or retyping it is
            # free, but SET NOT NULL still scans every existing row under ACCESS EXCLUSIVE.
            if sets_not_null:
                self.add("set-not-null", call, call.line, f"sets {where} NOT NULL")
            return
        if new_name is not None:
            subject = f"column {where}" if name is not None else where
            self.add("rename", call, call.line, f"renames {subject} to {new_name}")
        if type_node is not None and not cheap_change(call.args.get("existing_type"), type_node):
            more = " and sets it NOT NULL" if sets_not_null else ""
            self.add(
                "alter-column-type",
                call,
                call.line,
                f"changes the type of {where} to {type_text(type_node)}{more}",
            )
        elif sets_not_null:
            self.add("set-not-null", call, call.line, f"sets {where} NOT NULL")

    def _create_index(self, call: OpCall) -> None:
        name = call.label("index_name", "index")
        if call.const("postgresql_concurrently") is True:
            if not call.in_autocommit:
                self.add(
                    "concurrent-index-in-transaction",
                    call,
                    call.line,
                    f"creates {name} CONCURRENTLY inside the revision's transaction",
                )
        elif not self.is_new(call):
            self.add(
                "index-not-concurrent",
                call,
                call.line,
                f"creates {name} on {call.table_label} without postgresql_concurrently=True",
            )

    def _constraint(self, call: OpCall, kind: str) -> None:
        if self.is_new(call) or call.const("postgresql_not_valid") is True:
            return
        self.add(
            "constraint-not-valid",
            call,
            call.line,
            f"adds {call.named('constraint_name', kind)} on {call.table_label} without "
            "postgresql_not_valid=True",
        )

    def _create_foreign_key(self, call: OpCall) -> None:
        self._constraint(call, "foreign key")

    def _create_check_constraint(self, call: OpCall) -> None:
        self._constraint(call, "check constraint")

    def _create_unique_constraint(self, call: OpCall) -> None:
        if self.is_new(call) or call.given("postgresql_using_index"):
            return
        self.add(
            "unique-constraint",
            call,
            call.line,
            f"adds {call.named('constraint_name', 'unique constraint')} on {call.table_label} "
            "by building its index under the lock",
        )

    def _create_primary_key(self, call: OpCall) -> None:
        if self.is_new(call):
            return
        self.add(
            "primary-key-rebuild",
            call,
            call.line,
            f"(re)builds {call.named('constraint_name', 'primary key')} on {call.table_label} "
            "under an ACCESS EXCLUSIVE lock",
        )

    def _execute(self, call: OpCall) -> None:
        text = call.string("sqltext") or ""
        for match in _RAW_RENAME.finditer(text):
            table, column, new = match.group(1), match.group(2), match.group(3)
            if call.table is None and table not in self.new_tables:
                what = f"column {table}.{column}" if column else f"table {table}"
                self.add("rename", call, call.line, f"renames {what} to {new} (raw SQL)")
        if re.search(r"\bALTER\s+TYPE\b", text, re.I) and not call.in_autocommit:
            self.add(
                "enum-change",
                call,
                call.line,
                "ALTER TYPE in the revision's transaction: a label added by ADD VALUE cannot "
                "be used before it commits (and fails in a transaction before PostgreSQL 12)",
            )

    def _backfills(self) -> None:
        for item in backfill.find(self.script):
            made = self.created_at.get(str(item.table))
            if made is not None and made < item.line:
                continue  # filling a table built earlier in this upgrade: nobody else uses it
            table = item.table or item.label or "a table named at run time"
            if item.kind == "truncate":
                self.findings.append(
                    finding(
                        "truncate",
                        path=self.script.display,
                        line=item.line,
                        revision=self.script.revision,
                        message=f"truncates {table}: {item.what}",
                        table=item.table,
                    )
                )
                self.spans[item.line] = item.span
                continue
            self.findings.append(
                finding(
                    "backfill",
                    path=self.script.display,
                    line=item.line,
                    revision=self.script.revision,
                    message=f"backfills {table} in the revision's transaction: {item.what}",
                    table=item.table,
                )
            )
            self.spans[item.line] = item.span


def review_script(script: ScriptFile, schema: Schema) -> tuple[list[Finding], dict[int, range]]:
    """Findings for one revision file, and the statement span of each finding's line."""
    review = _Review(script, schema)
    return review.run(), review.spans
