"""Static rules on a revision's `op.*` calls, read with `ast` (nothing is imported or run).

Rules look at upgrade() (dropping in downgrade() is its job), except the empty-downgrade
rule. Operations on a table created in the same revision are not flagged for locks: the
table is empty and nobody uses it yet.
"""

from __future__ import annotations

import ast
import re

from db.review.findings import Finding, finding
from db.review.ops import (
    ENUM_CALL,
    OpCall,
    Schema,
    column_of,
    op_calls,
    string_of,
    table_columns,
    type_text,
)
from db.review.scripts import ScriptFile


class _Review:
    def __init__(self, script: ScriptFile, schema: Schema) -> None:
        self.script = script
        self.findings: list[Finding] = []
        self.spans: dict[int, range] = {}
        self.calls = op_calls(script.function("upgrade"))
        self.created = {c.table for c in self.calls if c.name == "create_table"}
        # What the downgrade recreates is what upgrade dropped.
        self.before = Schema(tables={k: dict(v) for k, v in schema.tables.items()})
        self.before.learn(op_calls(script.function("downgrade")))

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

    def run(self) -> list[Finding]:
        renamed = self._renames()
        for call in self.calls:
            if call.line in renamed:
                continue
            getattr(self, f"_{call.name}", lambda _call: None)(call)
        self._downgrade()
        self._imports()
        return self.findings

    def _renames(self) -> set[int]:
        lines: set[int] = set()
        drops = [c for c in self.calls if c.name == "drop_table" and c.table]
        creates = [c for c in self.calls if c.name == "create_table" and c.table]
        for drop in drops:
            old = self.before.tables.get(str(drop.table))
            for create in creates:
                new = table_columns(create)
                if old and create.table != drop.table and set(old) == set(new):
                    self.add(
                        "rename-in-disguise",
                        drop,
                        drop.line,
                        f"drops table {drop.table} and creates {create.table} with the same "
                        f"columns ({', '.join(sorted(new))}): looks like a rename; use "
                        f"op.rename_table({drop.table!r}, {create.table!r})",
                    )
                    lines.add(drop.line)
        for drop in (c for c in self.calls if c.name == "drop_column" and c.table):
            old_name = string_of(drop.args.get("column_name"))
            old_type = self.before.tables.get(str(drop.table), {}).get(str(old_name))
            for add in (c for c in self.calls if c.name == "add_column" and c.table == drop.table):
                column = column_of(add.args.get("column"))
                if old_type and column and column.name != old_name and column.type == old_type:
                    self.add(
                        "rename-in-disguise",
                        drop,
                        drop.line,
                        f"drops column {drop.table}.{old_name} and adds {column.name} of the "
                        f"same type ({old_type}): looks like a rename; use op.alter_column("
                        f"{drop.table!r}, {old_name!r}, new_column_name={column.name!r})",
                    )
                    lines.add(drop.line)
        return lines

    def _create_table(self, call: OpCall) -> None:
        for arg in call.node.args[1:]:
            column = column_of(arg)
            if column is not None and column.enum:
                self.add(
                    "enum-change",
                    call,
                    call.line,
                    f"creates {call.table} with enum column {column.name}: drop_table in the "
                    "downgrade leaves the PostgreSQL type behind",
                )

    def _drop_table(self, call: OpCall) -> None:
        self.add("drop-table", call, call.line, f"drops table {call.table}")

    def _drop_column(self, call: OpCall) -> None:
        name = string_of(call.args.get("column_name"))
        self.add("drop-column", call, call.line, f"drops column {call.table}.{name}")

    def _add_column(self, call: OpCall) -> None:
        column = column_of(call.args.get("column"))
        if column is None:
            return
        if column.enum:
            self.add(
                "enum-change",
                call,
                call.line,
                f"adds enum column {call.table}.{column.name}: the PostgreSQL type must exist",
            )
        if call.table in self.created:
            return
        if column.nullable is False and not column.server_default:
            self.add(
                "add-not-null-column",
                call,
                call.line,
                f"adds {call.table}.{column.name} NOT NULL without a server_default",
            )

    def _alter_column(self, call: OpCall) -> None:
        name = string_of(call.args.get("column_name"))
        type_node = call.args.get("type_")
        if type_node is not None and ENUM_CALL.search(ast.unparse(type_node)):
            self.add(
                "enum-change",
                call,
                call.line,
                f"changes {call.table}.{name} to an enum type: labels and the type itself "
                "are not migrated by autogenerate",
            )
        if call.table in self.created:
            return
        if call.const("nullable") is False:
            self.add("set-not-null", call, call.line, f"sets {call.table}.{name} NOT NULL")
        if type_node is not None:
            self.add(
                "alter-column-type",
                call,
                call.line,
                f"changes the type of {call.table}.{name} to {type_text(type_node)}",
            )

    def _create_index(self, call: OpCall) -> None:
        name = string_of(call.args.get("index_name")) or "an index"
        if call.const("postgresql_concurrently") is True:
            if not call.in_autocommit:
                self.add(
                    "concurrent-index-in-transaction",
                    call,
                    call.line,
                    f"creates {name} CONCURRENTLY inside the revision's transaction",
                )
        elif call.table not in self.created:
            self.add(
                "index-not-concurrent",
                call,
                call.line,
                f"creates {name} on {call.table} without postgresql_concurrently=True",
            )

    def _constraint(self, call: OpCall, kind: str) -> None:
        if call.table in self.created or call.const("postgresql_not_valid") is True:
            return
        name = string_of(call.args.get("constraint_name")) or "a constraint"
        self.add(
            "constraint-not-valid",
            call,
            call.line,
            f"adds {kind} {name} on {call.table} without postgresql_not_valid=True",
        )

    def _create_foreign_key(self, call: OpCall) -> None:
        self._constraint(call, "foreign key")

    def _create_check_constraint(self, call: OpCall) -> None:
        self._constraint(call, "check constraint")

    def _execute(self, call: OpCall) -> None:
        text = string_of(call.args.get("sqltext")) or ""
        if re.search(r"\b(ALTER|CREATE|DROP)\s+TYPE\b", text, re.IGNORECASE):
            self.add("enum-change", call, call.line, "changes a PostgreSQL type in raw SQL")
        data = re.match(r"\s*(UPDATE|DELETE\s+FROM)\s+(\S+)", text, re.IGNORECASE)
        if data:
            verb, table = data.group(1).split()[0].upper(), data.group(2)
            self.add("data-in-revision", call, call.line, f"runs {verb} on {table} in the revision")

    def _downgrade(self) -> None:
        function = self.script.function("downgrade")
        if function is None:
            self.add("empty-downgrade", None, 1, "no downgrade() function")
            return
        body = [
            s
            for s in function.body
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
            and not isinstance(s, ast.Pass)
        ]
        raises = any(
            isinstance(node, ast.Raise)
            and node.exc is not None
            and "NotImplementedError" in ast.unparse(node.exc)
            for node in ast.walk(function)
        )
        if not body or raises:
            what = "raises NotImplementedError" if raises else "does nothing"
            self.add("empty-downgrade", None, function.lineno, f"downgrade() {what}")
            # An allow comment anywhere in the function (e.g. on its `pass`) counts.
            self.spans[function.lineno] = range(
                function.lineno, (function.end_lineno or function.lineno) + 1
            )

    def _imports(self) -> None:
        for node in ast.walk(self.script.tree):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            for module in modules:
                if module == "app" or module.startswith("app."):
                    self.add(
                        "app-import",
                        None,
                        node.lineno,
                        f"imports {module} (the app's code) inside a migration",
                    )


def review_script(script: ScriptFile, schema: Schema) -> tuple[list[Finding], dict[int, range]]:
    """Findings for one revision file, and the statement span of each finding's line."""
    review = _Review(script, schema)
    return review.run(), review.spans
