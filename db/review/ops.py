"""Reading a revision's `op.*` calls with `ast`: which operation, on which table, with which
arguments, inside which `with` blocks; and the columns the scripts create (for renames).

`batch_op.*` calls inside `with op.batch_alter_table(T) as batch_op:` count as calls on T.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from db.review.scripts import ScriptFile

# Positional parameters of the op.* calls the rules read (Alembic's signatures).
_PARAMS: dict[str, list[str]] = {
    "create_table": ["table_name"],
    "drop_table": ["table_name"],
    "add_column": ["table_name", "column"],
    "drop_column": ["table_name", "column_name"],
    "alter_column": ["table_name", "column_name"],
    "create_index": ["index_name", "table_name", "columns"],
    "create_foreign_key": [
        "constraint_name",
        "source_table",
        "referent_table",
        "local_cols",
        "remote_cols",
    ],
    "create_check_constraint": ["constraint_name", "table_name", "condition"],
    "execute": ["sqltext"],
}
_TABLE_PARAM = {"create_foreign_key": "source_table"}
_PREFIXES = re.compile(r"\b(sa|sqlalchemy|sqlmodel\.sql\.sqltypes|postgresql|types)\.")
ENUM_CALL = re.compile(r"\b(Enum|ENUM)\(")


@dataclass
class OpCall:
    name: str
    node: ast.Call
    table: str | None
    args: dict[str, ast.expr]
    in_autocommit: bool

    @property
    def line(self) -> int:
        return self.node.lineno

    @property
    def span(self) -> range:
        return range(self.node.lineno, (self.node.end_lineno or self.node.lineno) + 1)

    def const(self, key: str) -> object:
        value = self.args.get(key)
        return value.value if isinstance(value, ast.Constant) else None

    def given(self, key: str) -> bool:
        value = self.args.get(key)
        return value is not None and not (isinstance(value, ast.Constant) and value.value is None)


def string_of(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    # op.f("ix_name"): the naming-convention wrapper
    if isinstance(node, ast.Call) and node.args and _callee(node) == "f":
        return string_of(node.args[0])
    return None


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _is_autocommit(item: ast.withitem) -> bool:
    expr = item.context_expr
    return isinstance(expr, ast.Call) and _callee(expr) == "autocommit_block"


def _batch_table(item: ast.withitem) -> tuple[str, str] | None:
    expr = item.context_expr
    if (
        isinstance(expr, ast.Call)
        and _callee(expr) == "batch_alter_table"
        and isinstance(item.optional_vars, ast.Name)
    ):
        table = string_of(expr.args[0]) if expr.args else string_of(_kw(expr, "table_name"))
        if table is not None:
            return item.optional_vars.id, table
    return None


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _op_call(call: ast.Call, batches: dict[str, str], autocommit: bool) -> OpCall | None:
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return None
    receiver, name = func.value.id, func.attr
    if name not in _PARAMS or (receiver != "op" and receiver not in batches):
        return None
    params = list(_PARAMS[name])
    table_param = _TABLE_PARAM.get(name, "table_name")
    batch_table = batches.get(receiver) if receiver != "op" else None
    if batch_table is not None and table_param in params:
        params.remove(table_param)
    args: dict[str, ast.expr] = dict(zip(params, call.args, strict=False))
    args.update({k.arg: k.value for k in call.keywords if k.arg})
    table = batch_table or string_of(args.get(table_param))
    return OpCall(name, call, table, args, autocommit)


def op_calls(function: ast.FunctionDef | None) -> list[OpCall]:
    """The op.* / batch_op.* calls in `function`, in source order, with their context."""
    found: list[OpCall] = []

    def walk(node: ast.AST, batches: dict[str, str], autocommit: bool) -> None:
        if isinstance(node, ast.With):
            batches = dict(batches)
            for item in node.items:
                autocommit = autocommit or _is_autocommit(item)
                bound = _batch_table(item)
                if bound:
                    batches[bound[0]] = bound[1]
        if isinstance(node, ast.Call):
            call = _op_call(node, batches, autocommit)
            if call is not None:
                found.append(call)
        for child in ast.iter_child_nodes(node):
            walk(child, batches, autocommit)

    if function is not None:
        for statement in function.body:
            walk(statement, {}, False)
    return sorted(found, key=lambda c: (c.node.lineno, c.node.col_offset))


def type_text(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    text = _PREFIXES.sub("", ast.unparse(node)).replace("length=", "")
    return text[:-2] if text.endswith("()") else text


@dataclass
class Column:
    name: str
    type: str | None
    nullable: object = True  # the literal value, or None when not a constant
    server_default: bool = False
    enum: bool = False


def column_of(node: ast.expr | None) -> Column | None:
    if not (isinstance(node, ast.Call) and _callee(node) == "Column" and node.args):
        return None
    name = string_of(node.args[0])
    if name is None:
        return None
    type_node = node.args[1] if len(node.args) > 1 else _kw(node, "type_")
    if isinstance(type_node, ast.Call) and _callee(type_node) == "ForeignKey":
        type_node = None
    nullable = _kw(node, "nullable")
    primary = _kw(node, "primary_key")
    default = _kw(node, "server_default")
    is_primary = isinstance(primary, ast.Constant) and primary.value is True
    return Column(
        name=name,
        type=type_text(type_node),
        nullable=(nullable.value if isinstance(nullable, ast.Constant) else None)
        if nullable is not None
        else not is_primary,
        server_default=default is not None
        and not (isinstance(default, ast.Constant) and default.value is None),
        enum=type_node is not None and bool(ENUM_CALL.search(ast.unparse(type_node))),
    )


def table_columns(call: OpCall) -> dict[str, str | None]:
    columns = (column_of(arg) for arg in call.node.args[1:])
    return {c.name: c.type for c in columns if c is not None}


@dataclass
class Schema:
    """Tables and column types as the scripts create them (to recognise renames)."""

    tables: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def learn(self, calls: list[OpCall]) -> None:
        for call in calls:
            if call.name == "create_table" and call.table:
                self.tables[call.table] = table_columns(call)
            elif call.name == "add_column" and call.table:
                column = column_of(call.args.get("column"))
                if column is not None:
                    self.tables.setdefault(call.table, {})[column.name] = column.type

    def learn_script(self, script: ScriptFile) -> None:
        self.learn(op_calls(script.function("upgrade")))
