"""Backfills: data rewritten inside a revision, unbatched, in the DDL transaction.

Three shapes, read with `ast` from `upgrade()` and the module-level helpers it calls:

- one statement that updates or deletes a whole table (or every row a filter matches):
  `op.execute("UPDATE t SET ...")`, `conn.execute(sa.text("DELETE FROM t WHERE ..."))`,
  `op.execute(t.update().values(...))` with no `.where(`;
- a loop over rows read from the database that writes per row (`for row in
  conn.execute(...): conn.execute(t.update().where(...))`, or an ORM session's `query()`
  results with `merge`/`add`/`delete` or an attribute set on each object): reported once, at
  the outermost such `for`;
- a call known to rewrite every row: sqlalchemy-searchable's `sync_trigger` ends with
  `UPDATE t SET col = col` (its documentation, "sync_trigger").

A statement that writes one row by key (`WHERE id = :id`, `WHERE id = 5`), or a batch
(`BETWEEN :lo AND :hi`, `< :hi`, LIMIT), is not one; `SET c = :p` with no WHERE is every row.
A CTE (`WITH ... UPDATE t`) and an f-string table name are read too. `TRUNCATE t` is found
here as kind "truncate" (rules.py reports it as data loss, like a dropped table).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from db.review.ops import Context, callee, string_of, walk
from db.review.scripts import ScriptFile

_NAME = r"\"?((?:\{[^}]*\}|[\w.])+)\"?"  # a table, or `{expr}` of an f-string
_WRITE_SQL = re.compile(rf"^\s*(UPDATE|DELETE\s+FROM|DELETE)\s+(?:ONLY\s+)?{_NAME}", re.IGNORECASE)
# `WITH x AS (...) UPDATE t ...`: the write after the last CTE's closing parenthesis
_CTE_WRITE = re.compile(
    rf"^\s*WITH\b.*\)\s*(UPDATE|DELETE\s+FROM|DELETE)\s+(?:ONLY\s+)?{_NAME}",
    re.IGNORECASE | re.DOTALL,
)
_TRUNCATE = re.compile(rf"^\s*TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?{_NAME}", re.IGNORECASE)
_PARAM = r"(?::\w+|%\(\w+\)s|\?|\$\d+)"
# A batch: `BETWEEN :lo AND :hi`, `id < :hi`, `id > :lo` (bounds the caller moves), or LIMIT.
_BATCH = re.compile(rf"\bBETWEEN\s*{_PARAM}|[<>]=?\s*{_PARAM}|\bLIMIT\b", re.IGNORECASE)
# One row by key: `id = 5`, `user_id = :id`, `"id" = 'x'`, and no OR / IN widening it.
_BY_KEY = re.compile(rf"\"?\b\w*id\"?\s*=\s*(?:{_PARAM}|-?\d+|'[^']*')", re.IGNORECASE)
_READS = {"execute", "query", "select", "scalars", "fetchall", "all"}
_ORM_WRITES = {"merge", "add", "add_all", "delete", "bulk_update_mappings", "bulk_save_objects"}
_EXECUTES = {"execute", "exec_driver_sql"}
_ROW_REWRITERS = {"sync_trigger": "sqlalchemy-searchable's sync_trigger updates every row"}


@dataclass
class Backfill:
    line: int
    span: range
    table: str | None
    what: str
    kind: str = "backfill"  # or "truncate"
    label: str | None = None  # a table named at run time: `the table named by x`


def _resolve(node: ast.expr, ctx: Context) -> ast.expr:
    seen = 0
    while isinstance(node, ast.Name) and node.id in ctx.consts and seen < 5:
        node, seen = ctx.consts[node.id], seen + 1
    return node


def _calls(node: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Call)]


def _one_row_or_batch(statement: str) -> bool:
    """Whether the WHERE clause (not the SET list: `SET c = :p` is every row) picks one row
    by key or a batch; LIMIT anywhere."""
    if re.search(r"\bLIMIT\b", statement, re.I):
        return True
    where = re.search(r"\bWHERE\b(.*)$", statement, re.I | re.S)
    if where is None:
        return False
    condition = re.split(r"\bRETURNING\b", where.group(1), flags=re.I)[0]
    if _BATCH.search(condition):
        return True
    widened = re.search(r"\bOR\b|\bIN\s*\(|\bANY\s*\(", condition, re.I)
    return bool(_BY_KEY.search(condition)) and not widened


def _sql_writes(text: str) -> list[tuple[str, str, bool]]:
    """(verb, table, filtered) of each UPDATE/DELETE/TRUNCATE in `text` that is not a one-row
    write or a batch. TRUNCATE's verb is "TRUNCATE" (never filtered)."""
    found = []
    for statement in text.split(";"):
        truncate = _TRUNCATE.match(statement)
        if truncate:
            found.append(("TRUNCATE", truncate.group(1), False))
            continue
        match = _WRITE_SQL.match(statement) or _CTE_WRITE.match(statement)
        if match and not _one_row_or_batch(statement):
            filtered = re.search(r"\bWHERE\b", statement, re.I) is not None
            found.append((match.group(1).split()[0].upper(), match.group(2), filtered))
    return found


def _sql_text(node: ast.expr, ctx: Context) -> str | None:
    """The SQL of a literal, `sa.text(...)`, a module constant, or an f-string (its
    expressions kept as `{expr}`, so a table named at run time still shows)."""
    text = string_of(node, ctx.consts)
    if text is not None:
        return text
    if isinstance(node, ast.Call) and node.args and callee(node) == "text":
        node = _resolve(node.args[0], ctx)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    return None


def _shown(table: str) -> str | None:
    """None for a table named at run time (`{expr}` of an f-string)."""
    return None if "{" in table else table


def _what(verb: str, filtered: bool) -> str:
    rows = "of every row its WHERE matches" if filtered else "of every row"
    return f"one {verb} {rows}, in one statement"


def _table_of(receiver: ast.expr, ctx: Context) -> str | None:
    """`queries` for `queries.update()` when `queries = table("queries", ...)`."""
    target = _resolve(receiver, ctx)
    if isinstance(target, ast.Call) and callee(target) in ("table", "Table") and target.args:
        return string_of(target.args[0], ctx.consts)
    return None


def _construct_write(node: ast.expr, ctx: Context) -> tuple[str, str | None, bool] | None:
    """(verb, table, filtered) for `t.update()...` / `t.delete()...` expressions."""
    node = _resolve(node, ctx)
    text = ast.unparse(node)
    for call in _calls(node):
        if callee(call) in ("update", "delete") and isinstance(call.func, ast.Attribute):
            # t.update() / sa.update(t)
            target = call.args[0] if call.args else call.func.value
            table = _table_of(target, ctx) or string_of(target, ctx.consts)
            return callee(call).upper(), table, ".where(" in text or ".filter(" in text
    return None


def _write_in(node: ast.AST, ctx: Context) -> tuple[bool, str | None]:
    """Whether `node` writes rows (and the table, when it can tell)."""
    for call in _calls(node):
        name = callee(call)
        if name in _EXECUTES and call.args:
            argument = _resolve(call.args[0], ctx)
            text = string_of(argument, ctx.consts)
            if text is not None and re.search(r"\b(UPDATE|DELETE|INSERT)\b", text, re.I):
                match = _WRITE_SQL.search(text.strip())
                return True, match.group(2) if match else None
            construct = _construct_write(argument, ctx)
            if construct is not None:
                return True, construct[1]
            if ".insert()" in ast.unparse(argument):
                return True, None
        if name in _ORM_WRITES | {"update"} and isinstance(call.func, ast.Attribute):
            receiver = ast.unparse(call.func.value)
            if name == "update" and "query(" not in receiver:
                continue
            session = "session" in receiver.lower() or "query(" in receiver
            if name in _ORM_WRITES and not session:
                continue
            return True, None
    return False, None


def _orm_assignment(loop: ast.For, ctx: Context) -> bool:
    """`for obj in session.query(M)...: obj.attr = ...`: the session writes every changed row
    at flush/commit (its unit of work), row by row."""
    if not isinstance(loop.target, ast.Name):
        return False
    source = ast.unparse(_resolve(loop.iter, ctx))
    if "query(" not in source and "scalars(" not in source:
        return False
    return any(
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == loop.target.id
        for statement in ast.walk(ast.Module(body=loop.body, type_ignores=[]))
        if isinstance(statement, ast.Assign | ast.AugAssign)
        for target in (
            statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        )
    )


def _reads_rows(node: ast.expr, ctx: Context) -> bool:
    node = _resolve(node, ctx)
    text = ast.unparse(node)
    if re.search(r"\blimit\(|\bLIMIT\b|yield_per|batch", text):
        return False
    return any(callee(call) in _READS for call in _calls(node))


def _model_tables(tree: ast.Module) -> dict[str, str]:
    """`class SqlRun(Base): __tablename__ = "runs"` in the revision file -> {"SqlRun": "runs"}."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                targets = item.targets if isinstance(item, ast.Assign) else []
                if (
                    any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in targets)
                    and (name := string_of(item.value)) is not None  # type: ignore[union-attr]
                ):
                    found[node.name] = name
    return found


def _queried_table(node: ast.expr, ctx: Context, models: dict[str, str]) -> str | None:
    """The table of `session.query(Model)` in a loop's iterable, when Model is in the file."""
    for call in _calls(_resolve(node, ctx)):
        if callee(call) == "query" and call.args:
            first = call.args[0]
            base = first.value if isinstance(first, ast.Attribute) else first
            if isinstance(base, ast.Name) and base.id in models:
                return models[base.id]
    return None


def find(script: ScriptFile) -> list[Backfill]:
    """The backfills of `script`'s upgrade, in source order."""
    found: list[Backfill] = []
    models = _model_tables(script.tree)
    covered: list[range] = []

    def inside(line: int) -> bool:
        return any(line in span for span in covered)

    for node, ctx in walk(script.function("upgrade"), script.tree):
        if not ctx.postgres or not hasattr(node, "lineno") or inside(node.lineno):
            continue
        span = range(node.lineno, (getattr(node, "end_lineno", None) or node.lineno) + 1)
        if isinstance(node, ast.For) and _reads_rows(node.iter, ctx):
            writes, table = _write_in(ast.Module(body=node.body, type_ignores=[]), ctx)
            writes = writes or _orm_assignment(node, ctx)
            table = table or _queried_table(node.iter, ctx, models)
            if writes:
                what = "a loop over its rows writes them one by one"
                found.append(Backfill(node.lineno, span, table, what))
                covered.append(span)
            continue
        if not isinstance(node, ast.Call):
            continue
        name = callee(node)
        if name in _ROW_REWRITERS:
            table = string_of(node.args[1], ctx.consts) if len(node.args) > 1 else None
            found.append(Backfill(node.lineno, span, table, _ROW_REWRITERS[name]))
            covered.append(span)
        elif name in _EXECUTES and node.args:
            argument = _resolve(node.args[0], ctx)
            text = _sql_text(argument, ctx)
            if text is not None:
                writes = _sql_writes(text)
                for verb, table, filtered in writes[:1] + [
                    w for w in writes[1:] if w[0] == "TRUNCATE"
                ]:
                    shown = _shown(table)
                    label = None if shown else f"the table named by {table.strip('{}')}"
                    if verb == "TRUNCATE":
                        what = "every row is deleted at once under an ACCESS EXCLUSIVE lock"
                        found.append(Backfill(node.lineno, span, shown, what, "truncate", label))
                    else:
                        what = _what(verb, filtered)
                        found.append(Backfill(node.lineno, span, shown, what, label=label))
                if writes:
                    covered.append(span)
                continue
            construct = _construct_write(argument, ctx)
            if construct is not None and not construct[2]:
                verb, table, _ = construct
                found.append(Backfill(node.lineno, span, table, _what(verb, False)))
                covered.append(span)
    return found
