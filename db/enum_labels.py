"""PostgreSQL enum label changes: what autogenerate never compares (alembic#868).

`changes()` compares each native enum type the models declare with `pg_enum`. Labels the
models add become `ALTER TYPE ... ADD VALUE ... BEFORE/AFTER ...` (the type name quoted as
PostgreSQL needs, e.g. mixed case; labels as escaped literals), which `migrate check --sql`
prints and `migrate make` writes inside a dialect-guarded `autocommit_block()` (ADD VALUE cannot
run inside a transaction block before PostgreSQL 12, and a label added in a transaction cannot
be used before it commits). PostgreSQL cannot drop or reorder labels: such a change is reported
as needing a manual revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alembic.autogenerate import renderers
from alembic.operations import ops
from sqlalchemy import Enum, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from sqlalchemy import MetaData

_LABELS_SQL = text(
    "SELECT t.typname, e.enumlabel FROM pg_type t"
    " JOIN pg_enum e ON e.enumtypid = t.oid"
    " JOIN pg_namespace n ON n.oid = t.typnamespace"
    " WHERE n.nspname = current_schema() ORDER BY t.typname, e.enumsortorder"
)


@dataclass
class EnumChange:
    name: str  # the type's name as declared
    table: str
    database: list[str]  # labels in the database, in their sort order
    models: list[str]  # labels the models declare, in order
    statements: list[str] = field(default_factory=list)  # ADD VALUE, in the order to run them
    manual: str | None = None  # why a hand-written revision is needed (removal, reorder)

    @property
    def added(self) -> list[str]:
        return [label for label in self.models if label not in self.database]

    @property
    def removed(self) -> list[str]:
        return [label for label in self.database if label not in self.models]


def literal(value: str) -> str:
    """A SQL string literal: quotes doubled (standard_conforming_strings, the default)."""
    return "'" + value.replace("'", "''") + "'"


def _model_enums(metadata: MetaData) -> dict[str, tuple[str, list[str]]]:
    enums: dict[str, tuple[str, list[str]]] = {}
    for table in metadata.tables.values():
        for column in table.columns:
            kind = column.type
            if isinstance(kind, Enum) and kind.native_enum and kind.name:
                enums[kind.name] = (table.name, list(kind.enums))
    return enums


def _statements(connection: Connection, change: EnumChange) -> list[str]:
    quoted = connection.dialect.identifier_preparer.quote(change.name)
    present = [label for label in change.database if label in change.models]
    statements = []
    for index, label in enumerate(change.models):
        if label in present:
            continue
        before = [other for other in change.models[:index] if other in present]
        after = [other for other in change.models[index + 1 :] if other in present]
        if before:
            where = f" AFTER {literal(before[-1])}"
        elif after:
            where = f" BEFORE {literal(after[0])}"
        else:
            where = ""
        statements.append(f"ALTER TYPE {quoted} ADD VALUE {literal(label)}{where}")
        present.insert(present.index(before[-1]) + 1 if before else 0, label)
    return statements


def changes(connection: Connection, metadata: MetaData) -> list[EnumChange]:
    """Enum types whose labels differ between the models and the database (PostgreSQL only;
    a type missing from the database comes with its table's create)."""
    expected = _model_enums(metadata)
    if connection.dialect.name != "postgresql" or not expected:
        return []
    actual: dict[str, list[str]] = {}
    for name, label in connection.execute(_LABELS_SQL):
        actual.setdefault(name, []).append(label)
    found = []
    for name, (table, labels) in sorted(expected.items()):
        if name not in actual or actual[name] == labels:
            continue
        change = EnumChange(name=name, table=table, database=actual[name], models=labels)
        kept_db = [label for label in change.database if label in labels]
        kept_models = [label for label in labels if label in change.database]
        if change.removed:
            change.manual = f"labels {change.removed} removed"
        elif kept_db != kept_models:
            change.manual = "labels reordered"
        else:
            change.statements = _statements(connection, change)
        found.append(change)
    return found


def describe(change: EnumChange) -> str:
    parts = [f"add {change.added}" if change.added else ""]
    parts.append(f"remove {change.removed}" if change.removed else "")
    detail = "; ".join(p for p in parts if p) or "same labels in another order"
    return (
        f"change labels of enum type {change.name}: database {change.database} -> models "
        f"{change.models} ({detail})"
    )


def manual_note(change: EnumChange) -> str:
    return (
        f"enum type {change.name}: {change.manual}; PostgreSQL cannot drop or reorder labels: "
        "write a manual revision (create a new type, convert the column, drop the old type)"
    )


class AddEnumLabelsOp(ops.MigrateOperation):
    """`ALTER TYPE ... ADD VALUE` statements, rendered guarded by dialect and in an
    autocommit block (see the module docstring)."""

    def __init__(self, statements: list[str]) -> None:
        self.statements = statements

    def reverse(self) -> KeepEnumLabelsOp:
        return KeepEnumLabelsOp(self.statements)


class KeepEnumLabelsOp(ops.MigrateOperation):
    """The downgrade of AddEnumLabelsOp: PostgreSQL cannot drop an enum label."""

    def __init__(self, statements: list[str]) -> None:
        self.statements = statements


@renderers.dispatch_for(AddEnumLabelsOp)
def _render_add(_autogen_context: Any, op: AddEnumLabelsOp) -> str:
    lines = [
        "# ADD VALUE must run outside a transaction block (PostgreSQL only).",
        'if op.get_context().dialect.name == "postgresql":',
        "    with op.get_context().autocommit_block():",
    ]
    # text() reads ":name" as a bind parameter; "\\:" is its escape for a literal colon.
    lines += [
        f"        op.execute(sa.text({statement.replace(':', chr(92) + ':')!r}))"
        for statement in op.statements
    ]
    return "\n".join(lines)


@renderers.dispatch_for(KeepEnumLabelsOp)
def _render_keep(_autogen_context: Any, op: KeepEnumLabelsOp) -> str:
    # Each statement as a Python literal (repr): a label holding a newline or quotes can never
    # leave its comment line and become code.
    return (
        "# PostgreSQL cannot drop enum labels; these stay after a downgrade:\n"
        + "\n".join(f"#   {statement!r}" for statement in op.statements)
        + "\npass"
    )
