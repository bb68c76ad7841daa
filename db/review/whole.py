"""The rules that look at a revision as a whole rather than at one op call: renames in
disguise (drop + add of the same thing), empty downgrades, and imports of the app.
Split from rules.py (they share its `_Review`).
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from db.review.columns import column_of, table_columns

if TYPE_CHECKING:
    from db.review.rules import _Review

_SCHEMA_OPS = frozenset(
    {
        "create_table",
        "drop_table",
        "rename_table",
        "add_column",
        "drop_column",
        "alter_column",
        "create_index",
        "drop_index",
        "create_foreign_key",
        "create_check_constraint",
        "create_unique_constraint",
        "create_primary_key",
        "drop_constraint",
    }
)
_DDL = re.compile(r"\b(CREATE|ALTER|DROP)\s+(TABLE|INDEX|TYPE|VIEW|SEQUENCE)\b", re.I)


def renames(self: _Review) -> set[int]:
    """Lines of drops that are renames in disguise (reported as rename-in-disguise)."""
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
    added_before: set[tuple[str, str]] = set()
    for drop in self.calls:
        if drop.name == "add_column" and drop.table:
            column = column_of(drop.args.get("column"), drop.consts)
            if column is not None:
                added_before.add((drop.table, column.name))
        if drop.name != "drop_column" or not drop.table:
            continue
        old_name = drop.string("column_name")
        if (drop.table, str(old_name)) in added_before:
            continue  # a temporary column of this upgrade
        adds = [c for c in self.calls if c.name == "add_column" and c.table == drop.table]
        columns = [column_of(c.args.get("column"), c.consts) for c in adds]
        if any(c is not None and c.name == old_name for c in columns):
            continue  # dropped and added again under its name: a type change, not a rename
        old_type = self.before.tables.get(str(drop.table), {}).get(str(old_name))
        for column in columns:
            if old_type and column and column.name != old_name and column.key == old_type:
                if _copied(self, str(old_name), column.name):
                    continue  # the data moves over first: a drop (drop-column), not a loss
                self.add(
                    "rename-in-disguise",
                    drop,
                    drop.line,
                    f"drops column {drop.table}.{old_name} and adds {column.name} of the "
                    f"same type ({old_type}): looks like a rename; use op.alter_column("
                    f"{drop.table!r}, {old_name!r}, new_column_name={column.name!r})",
                )
                lines.add(drop.line)
                break
    return lines


def _copied(self: _Review, old: str, new: str) -> bool:
    """Whether an execute() in the upgrade mentions both columns (`SET new = old`)."""
    both = re.compile(rf"\b{re.escape(new)}\b[\s\S]*\b{re.escape(old)}\b", re.I)
    for call in self.calls:
        if call.name != "execute":
            continue
        text = call.string("sqltext") or ast.unparse(call.node)
        if both.search(text):
            return True
    return False


def empty_downgrade(self: _Review) -> None:
    """A downgrade that undoes nothing although upgrade() changes the schema (merges: none)."""
    if len(self.script.down_revisions) > 1 and not self.calls:
        return  # a merge revision: nothing to undo
    function = self.script.function("downgrade")
    schema_changes = any(c.name in _SCHEMA_OPS for c in self.calls) or any(
        c.name == "execute" and _DDL.search(c.string("sqltext") or "") for c in self.calls
    )
    if function is None:
        if schema_changes:
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
    if raises or (not body and schema_changes):
        what = "raises NotImplementedError" if raises else "does nothing"
        self.add(
            "empty-downgrade",
            None,
            function.lineno,
            f"downgrade() {what}, but upgrade() changes the schema"
            if not raises
            else f"downgrade() {what}",
        )
        # An allow comment anywhere in the function (e.g. on its `pass`) counts.
        self.spans[function.lineno] = range(
            function.lineno, (function.end_lineno or function.lineno) + 1
        )


def app_imports(self: _Review) -> None:
    """Imports of this project's `app` package anywhere in the file."""
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
