"""Columns and tables as the scripts create them: a `sa.Column(...)` read with `ast` (name, type
by meaning, nullability, server default, enum), and the schema the revisions build up (to
recognise a rename in disguise).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from db.review.ops import OpCall, callee, keyword_arg, script_calls, string_of
from db.review.scripts import ScriptFile
from db.review.types import type_key, type_text


@dataclass
class Column:
    name: str
    type: str | None
    nullable: object = True  # the literal value, or None when not a constant
    server_default: bool = False
    enum: ast.expr | None = None  # the Enum type expression, when the column is one
    key: str | None = None  # the type's meaning (types.type_key)


def enum_of(node: ast.expr | None, consts: dict[str, ast.expr]) -> ast.expr | None:
    """The `sa.Enum(...)` / `postgresql.ENUM(...)` call `node` is (or names), else None."""
    if isinstance(node, ast.Name) and node.id in consts:
        node = consts[node.id]
    if isinstance(node, ast.Call) and callee(node) in ("Enum", "ENUM"):
        create = keyword_arg(node, "create_type")
        if isinstance(create, ast.Constant) and create.value is False:
            return None  # the type is managed by hand
        return node
    return None


def column_of(node: ast.expr | None, consts: dict[str, ast.expr] | None = None) -> Column | None:
    consts = consts or {}
    if not (isinstance(node, ast.Call) and callee(node) == "Column" and node.args):
        return None
    name = string_of(node.args[0], consts)
    if name is None:
        return None
    type_node = node.args[1] if len(node.args) > 1 else keyword_arg(node, "type_")
    if isinstance(type_node, ast.Call) and callee(type_node) == "ForeignKey":
        type_node = None
    nullable = keyword_arg(node, "nullable")
    primary = keyword_arg(node, "primary_key")
    default = keyword_arg(node, "server_default")
    is_primary = isinstance(primary, ast.Constant) and primary.value is True
    return Column(
        name=name,
        type=type_text(type_node),
        nullable=(nullable.value if isinstance(nullable, ast.Constant) else None)
        if nullable is not None
        else not is_primary,
        server_default=default is not None
        and not (isinstance(default, ast.Constant) and default.value is None),
        enum=enum_of(type_node, consts),
        key=type_key(type_node),
    )


def table_columns(call: OpCall) -> dict[str, str | None]:
    columns = (column_of(arg, call.consts) for arg in call.node.args[1:])
    return {c.name: c.key for c in columns if c is not None}


@dataclass
class Schema:
    """Tables and column types (by meaning) as the scripts create them (to recognise renames)."""

    tables: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def learn(self, calls: list[OpCall]) -> None:
        for call in calls:
            if call.name == "create_table" and call.table:
                self.tables[call.table] = table_columns(call)
            elif call.name == "add_column" and call.table:
                column = column_of(call.args.get("column"), call.consts)
                if column is not None:
                    self.tables.setdefault(call.table, {})[column.name] = column.key

    def learn_script(self, script: ScriptFile) -> None:
        self.learn(script_calls(script, "upgrade"))
