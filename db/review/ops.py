"""Reading a revision's `op.*` calls with `ast`: which operation, on which table, with which
arguments, inside which `with` blocks and dialect guards; and the columns the scripts create
(for renames).

`batch_op.*` calls inside `with op.batch_alter_table(T) as batch_op:` count as calls on T.
Calls to module-level helper functions (`def modify(...)` called from `upgrade()`) are
followed: their op calls are the revision's, at their own lines. Ops under a guard that only
another dialect passes (`if url.startswith("mysql"):`) are marked `postgres=False`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from db.review.scripts import ScriptFile

# Positional parameters of the op.* calls the rules read (Alembic's signatures).
_PARAMS: dict[str, list[str]] = {
    "create_table": ["table_name"],
    "drop_table": ["table_name"],
    "rename_table": ["old_table_name", "new_table_name"],
    "add_column": ["table_name", "column"],
    "drop_column": ["table_name", "column_name"],
    "alter_column": ["table_name", "column_name"],
    "create_index": ["index_name", "table_name", "columns"],
    "drop_index": ["index_name", "table_name"],
    "create_foreign_key": [
        "constraint_name",
        "source_table",
        "referent_table",
        "local_cols",
        "remote_cols",
    ],
    "create_check_constraint": ["constraint_name", "table_name", "condition"],
    "create_unique_constraint": ["constraint_name", "table_name", "columns"],
    "create_primary_key": ["constraint_name", "table_name", "columns"],
    "drop_constraint": ["constraint_name", "table_name"],
    "execute": ["sqltext"],
}
_TABLE_PARAM = {
    "create_foreign_key": "source_table",
    "rename_table": "old_table_name",
}
DIALECTS = ("postgresql", "postgres", "mysql", "mariadb", "sqlite", "mssql", "oracle")


@dataclass
class Context:
    """Where a node sits: batch tables, autocommit, dialect reach, loop values, constants."""

    batches: dict[str, str | None] = field(default_factory=dict)
    batch_labels: dict[str, str] = field(default_factory=dict)
    autocommit: bool = False
    postgres: bool = True  # reachable on PostgreSQL
    loops: dict[str, list[str]] = field(default_factory=dict)  # for x in ["a", "b"]
    consts: dict[str, ast.expr] = field(default_factory=dict)  # simple name = value


@dataclass
class OpCall:
    name: str
    node: ast.Call
    table: str | None
    args: dict[str, ast.expr]
    in_autocommit: bool
    postgres: bool = True
    table_label: str = ""  # `accounts`, `each of a, b`, or `the table named by x`
    consts: dict[str, ast.expr] = field(default_factory=dict)

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

    def string(self, key: str) -> str | None:
        return string_of(self.args.get(key), self.consts)

    def table_noun(self) -> str:
        """`table accounts`, `table each of a, b`, or `the table named by Item.__tablename__`."""
        if self.table_label.startswith("the table named by "):
            return self.table_label
        return f"table {self.table_label}"

    def column_ref(self, column: str) -> str:
        """`accounts.legacy`, or `legacy of the table named by Item.__tablename__` (a dotted
        name after a run-time expression reads as part of it)."""
        if self.table is not None:
            return f"{self.table}.{column}"
        return f"{column} of {self.table_label}"

    def named(self, key: str, what: str) -> str:
        """`foreign key fk_x`, or `an unnamed foreign key` / `a foreign key named at run time`."""
        text = self.string(key)
        return f"{what} {text}" if text is not None else self.label(key, what)

    def label(self, key: str, what: str) -> str:
        """`ix_name`, or `an unnamed index` / `an index named at run time (expr)`."""
        value = self.args.get(key)
        text = self.string(key)
        if text is not None:
            return text
        if value is None or (isinstance(value, ast.Constant) and value.value is None):
            return f"an unnamed {what}"
        article = "an" if what[0] in "aeio" else "a"  # an index, a unique constraint
        return f"{article} {what} named at run time ({ast.unparse(value)[:60]})"


def string_of(node: ast.expr | None, consts: dict[str, ast.expr] | None = None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and consts and node.id in consts:
        target = consts[node.id]
        return string_of(target) if target is not node else None
    # op.f("ix_name"), sa.text("..."): wrappers around the string
    if isinstance(node, ast.Call) and node.args and callee(node) in ("f", "text"):
        return string_of(node.args[0], consts)
    return None


def callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def keyword_arg(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _strings(node: ast.expr | None, consts: dict[str, ast.expr]) -> list[str] | None:
    if isinstance(node, ast.Name) and node.id in consts:
        node = consts[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        values = [string_of(item) for item in node.elts]
        if values and all(v is not None for v in values):
            return [str(v) for v in values]
    return None


def dialect_guard(test: ast.expr, consts: dict[str, ast.expr] | None = None) -> bool | None:
    """Whether the body of `if test:` runs on PostgreSQL; None if it is no dialect guard.
    A name assigned once in the function (`is_sqlite = bind.dialect.name == "sqlite"`) is
    read through."""
    negated = False
    for _ in range(5):
        while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            negated, test = not negated, test.operand
        if isinstance(test, ast.Name) and consts and test.id in consts:
            test = consts[test.id]
        else:
            break
    names = {
        node.value.lower()
        for node in ast.walk(test)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    mentioned = [d for d in DIALECTS if any(n == d or n.startswith(d + "+") for n in names)]
    if not mentioned:
        return None
    if isinstance(test, ast.Compare):
        for op, right in zip(test.ops, test.comparators, strict=False):
            if isinstance(op, ast.NotEq | ast.IsNot | ast.NotIn):
                negated = not negated
            if isinstance(right, ast.Constant) and right.value is False:
                negated = not negated
    postgres = any(d in ("postgresql", "postgres") for d in mentioned)
    return postgres != negated


def _module_functions(tree: ast.Module | None) -> dict[str, ast.FunctionDef]:
    if tree is None:
        return {}
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _simple_assignments(body: list[ast.stmt]) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for node in body:
        for inner in ast.walk(node):
            if (
                isinstance(inner, ast.Assign)
                and len(inner.targets) == 1
                and isinstance(inner.targets[0], ast.Name)
            ):
                found[inner.targets[0].id] = inner.value
    return found


def module_constants(tree: ast.Module | None) -> dict[str, ast.expr]:
    if tree is None:
        return {}
    return {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    }


def walk(
    function: ast.FunctionDef | None, tree: ast.Module | None = None
) -> Iterator[tuple[ast.AST, Context]]:
    """Every node of `function` (and of the module-level helpers it calls) with its context."""
    helpers = _module_functions(tree)
    base = module_constants(tree)
    seen: set[str] = set()

    def visit(node: ast.AST, ctx: Context) -> Iterator[tuple[ast.AST, Context]]:
        yield node, ctx
        if isinstance(node, ast.With):
            ctx = replace(ctx, batches=dict(ctx.batches), batch_labels=dict(ctx.batch_labels))
            for item in node.items:
                expr = item.context_expr
                if isinstance(expr, ast.Call) and callee(expr) == "autocommit_block":
                    ctx.autocommit = True
                if (
                    isinstance(expr, ast.Call)
                    and callee(expr) == "batch_alter_table"
                    and isinstance(item.optional_vars, ast.Name)
                ):
                    arg = expr.args[0] if expr.args else keyword_arg(expr, "table_name")
                    var = item.optional_vars.id
                    ctx.batches[var] = string_of(arg, ctx.consts)
                    ctx.batch_labels[var] = _table_label(arg, ctx)
        if isinstance(node, ast.If):
            reach = dialect_guard(node.test, ctx.consts)
            if reach is not None:
                yield from visit(node.test, ctx)
                for child in node.body:
                    yield from visit(child, replace(ctx, postgres=ctx.postgres and reach))
                for child in node.orelse:
                    yield from visit(child, replace(ctx, postgres=ctx.postgres and not reach))
                return
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            values = _strings(node.iter, ctx.consts)
            if values is not None:
                ctx = replace(ctx, loops={**ctx.loops, node.target.id: values})
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            helper = helpers.get(node.func.id)
            if helper is not None and helper.name not in seen | {"upgrade", "downgrade"}:
                seen.add(helper.name)
                inner = replace(ctx, consts={**base, **_simple_assignments(helper.body)})
                yield from body(helper.body, inner)
        for child in ast.iter_child_nodes(node):
            yield from visit(child, ctx)

    def body(statements: list[ast.stmt], ctx: Context) -> Iterator[tuple[ast.AST, Context]]:
        """A function body; after `if <guard>: ... return`, only the dialects that did not
        return reach the rest."""
        for statement in statements:
            yield from visit(statement, ctx)
            if isinstance(statement, ast.If) and _returns(statement.body):
                reach = dialect_guard(statement.test, ctx.consts)
                if reach is not None:
                    ctx = replace(ctx, postgres=ctx.postgres and not reach)

    if function is None:
        return
    yield from body(function.body, Context(consts={**base, **_simple_assignments(function.body)}))


def _returns(statements: list[ast.stmt]) -> bool:
    return bool(statements) and isinstance(statements[-1], ast.Return)


def _table_label(node: ast.expr | None, ctx: Context) -> str:
    text = string_of(node, ctx.consts)
    if text is not None:
        return text
    if isinstance(node, ast.Name) and node.id in ctx.loops:
        tables = ctx.loops[node.id]
        shown = ", ".join(tables[:4]) + (f", ... ({len(tables)} tables)" if len(tables) > 4 else "")
        return "each of " + shown
    shown = ast.unparse(node)[:60] if node is not None else "?"
    return f"the table named by {shown}"


def _op_call(call: ast.Call, ctx: Context) -> OpCall | None:
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return None
    receiver, name = func.value.id, func.attr
    if name not in _PARAMS or (receiver != "op" and receiver not in ctx.batches):
        return None
    params = list(_PARAMS[name])
    table_param = _TABLE_PARAM.get(name, "table_name")
    batch = receiver != "op"
    if batch and table_param in params:
        params.remove(table_param)
    args: dict[str, ast.expr] = dict(zip(params, call.args, strict=False))
    args.update({k.arg: k.value for k in call.keywords if k.arg})
    if batch:
        table, label = ctx.batches[receiver], ctx.batch_labels[receiver]
    else:
        table = string_of(args.get(table_param), ctx.consts)
        label = _table_label(args.get(table_param), ctx)
    return OpCall(name, call, table, args, ctx.autocommit, ctx.postgres, label, ctx.consts)


def op_calls(function: ast.FunctionDef | None, tree: ast.Module | None = None) -> list[OpCall]:
    """The op.* / batch_op.* calls in `function` (and its helpers), in source order."""
    found = [
        call
        for node, ctx in walk(function, tree)
        if isinstance(node, ast.Call) and (call := _op_call(node, ctx)) is not None
    ]
    unique = {id(c.node): c for c in found}
    return sorted(unique.values(), key=lambda c: (c.node.lineno, c.node.col_offset))


def script_calls(script: ScriptFile, function: str) -> list[OpCall]:
    return op_calls(script.function(function), script.tree)
