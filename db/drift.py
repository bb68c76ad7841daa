"""Drift between the models and the database: what a new migration would have to do.

Alembic's autogenerate comparison (types and server defaults included) lists each
difference as an operation; we add what it is blind to: PostgreSQL enum labels (never
compared, alembic#868). Index changes on existing columns come from autogenerate, which
compares them in current Alembic; they are reported like every other difference.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alembic.autogenerate import produce_migrations, render_python_code
from alembic.operations import Operations, ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db import enum_labels
from db.migrations import current_heads, on_connection, script_directory, target_metadata
from db.revision_checksums import include_name

if TYPE_CHECKING:
    from sqlalchemy import Column, MetaData


@dataclass
class Difference:
    operation: str  # add_column, remove_index, modify_type, enum_labels, ...
    table: str | None
    name: str | None  # the column, index, constraint or enum type concerned
    description: str  # one readable line: "add column users.nickname VARCHAR(50) NULL"


@dataclass
class DriftReport:
    differences: list[Difference] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    sql: str | None = None

    @property
    def clean(self) -> bool:
        return not self.differences


def _type(column: Column, connection: Connection) -> str:
    try:
        return str(column.type.compile(dialect=connection.dialect))
    except Exception:  # a type this dialect cannot render: still say what it is
        return repr(column.type)


def _columns(item: Any) -> str:
    return ", ".join(str(getattr(c, "name", c)) for c in item.columns)


_CONSTRAINT_WORDS = {
    "UniqueConstraint": "unique constraint",
    "CheckConstraint": "check constraint",
    "ForeignKeyConstraint": "foreign key",
    "PrimaryKeyConstraint": "primary key",
}


def describe_difference(diff: Any, connection: Connection) -> Difference:
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        verb = "create" if kind == "add_table" else "drop"
        return Difference(kind, diff[1].name, None, f"{verb} table {diff[1].name}")
    if kind in ("add_column", "remove_column"):
        column = diff[3]
        verb = "add" if kind == "add_column" else "drop"
        null = "NULL" if column.nullable else "NOT NULL"
        return Difference(
            kind,
            diff[2],
            column.name,
            f"{verb} column {diff[2]}.{column.name} {_type(column, connection)} {null}",
        )
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        verb = "add" if kind == "add_index" else "drop"
        unique = "unique " if index.unique else ""
        return Difference(
            kind,
            index.table.name,
            index.name,
            f"{verb} {unique}index {index.name} on {index.table.name} ({_columns(index)})",
        )
    if kind in ("add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        constraint = diff[1]
        verb = "add" if kind.startswith("add") else "drop"
        what = _CONSTRAINT_WORDS.get(type(constraint).__name__, type(constraint).__name__)
        table = constraint.table.name if constraint.table is not None else None
        return Difference(
            kind,
            table,
            constraint.name,
            f"{verb} {what} {constraint.name or '(unnamed)'} on {table} ({_columns(constraint)})",
        )
    if kind.startswith("modify_"):
        # ("modify_type", schema, table, column, existing_kw, old, new)
        _, _, table, column, _, old, new = diff
        what = {"default": "server default"}.get(kind.removeprefix("modify_"), kind[7:])
        return Difference(
            kind,
            table,
            column,
            f"change {what} of {table}.{column}: {_value(old, connection)} -> "
            f"{_value(new, connection)} (database -> models)",
        )
    return Difference(str(kind), None, None, f"{kind}: {diff[1:]!r}")


def _value(value: Any, connection: Connection) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "NULL" if value else "NOT NULL"
    if hasattr(value, "compile") and hasattr(value, "python_type"):
        return str(value.compile(dialect=connection.dialect))
    argument = getattr(value, "arg", value)  # a server default
    return str(getattr(argument, "text", argument))


def flat_diffs(upgrade_ops: ops.UpgradeOps) -> Iterator[Any]:
    for diff in upgrade_ops.as_diffs():
        # modify_* come grouped as a list of tuples per column
        yield from diff if isinstance(diff, list) else [diff]


def _flat_ops(container: ops.OpContainer) -> Iterator[ops.MigrateOperation]:
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps):
            yield from op.ops
        else:
            yield op


# Changes SQLite's ALTER TABLE cannot make: `make` writes them as a batch rebuild.
_SQLITE_REBUILDS = (ops.AlterColumnOp, ops.AddConstraintOp, ops.DropConstraintOp)


def _batch_note(op: ops.MigrateOperation) -> str:
    """What `make` writes for a change SQLite cannot ALTER: the batch op, as SQL comments (its
    SQL depends on the table's reflected definition: a rebuild, not one statement)."""
    table = getattr(op, "table_name", None) or "?"
    code = render_python_code(
        ops.UpgradeOps(ops=[ops.ModifyTableOps(table, [op])]), render_as_batch=True
    )
    body = [
        line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    return "\n".join(
        [
            f"-- SQLite cannot ALTER this in place: `migrate make` writes a batch rebuild of "
            f"{table} (create a copy, copy the rows, drop the original, rename the copy):",
            *(f"--   {line}" for line in body),
        ]
    )


def _ops_sql(upgrade_ops: ops.UpgradeOps, dialect_name: str) -> list[str]:
    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name=dialect_name,
        opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True},
    )
    operations = Operations(context)
    lines = []
    for op in _flat_ops(upgrade_ops):
        if dialect_name == "sqlite" and isinstance(op, _SQLITE_REBUILDS):
            lines.append(_batch_note(op))
            continue
        buffer.seek(0)
        buffer.truncate()
        try:
            operations.invoke(op)
            lines.append(buffer.getvalue().strip())
        except Exception as exc:  # e.g. ALTER COLUMN on SQLite: needs a batch rebuild
            lines.append(f"-- {type(op).__name__}: not expressible as plain SQL here ({exc})")
    return lines


def _enum_drift(connection: Connection, metadata: MetaData) -> tuple[list[Difference], list[str]]:
    differences, sql = [], []
    for change in enum_labels.changes(connection, metadata):
        differences.append(
            Difference("enum_labels", change.table, change.name, enum_labels.describe(change))
        )
        sql += [f"{statement};" for statement in change.statements]
        if change.manual:
            sql.append(f"-- {enum_labels.manual_note(change)}")
    return differences, sql


def _drift(connection: Connection, with_sql: bool) -> DriftReport:
    metadata = target_metadata()
    current = current_heads(connection)
    context = MigrationContext.configure(
        connection,
        opts={
            "target_metadata": metadata,
            "compare_type": True,
            "compare_server_default": True,
            "include_name": include_name,  # our bookkeeping table is not drift
        },
    )
    upgrade_ops = produce_migrations(context, metadata).upgrade_ops
    assert upgrade_ops is not None
    differences = [describe_difference(diff, connection) for diff in flat_diffs(upgrade_ops)]
    enum_differences, enum_sql = _enum_drift(connection, metadata)
    report = DriftReport(
        differences=differences + enum_differences,
        current=current,
        heads=list(script_directory().get_heads()),
    )
    if with_sql:
        report.sql = "\n".join(_ops_sql(upgrade_ops, connection.dialect.name) + enum_sql)
    return report


async def drift(engine: AsyncEngine, *, with_sql: bool = False) -> DriftReport:
    """Compare the models with the database `engine` points at; nothing is changed."""
    return await on_connection(engine, _drift, with_sql)
