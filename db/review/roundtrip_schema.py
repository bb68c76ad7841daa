"""The schema the roundtrip compares: reflected tables, columns (type, nullability), primary
keys, indexes, unique constraints and foreign keys; and their differences, readably.
"""

from __future__ import annotations

from typing import Any

from db.revision_checksums import TABLE as CHECKSUM_TABLE

Schema = dict[str, dict[str, Any]]
# Bookkeeping of the migration runner, not of the revisions: not compared.
BOOKKEEPING = frozenset({"alembic_version", CHECKSUM_TABLE})


def reflect(connection: Any) -> Schema:
    """Tables, columns (type, nullability), primary keys, indexes, unique and foreign keys."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    schema: Schema = {}
    for table in sorted(inspector.get_table_names()):
        if table in BOOKKEEPING:
            continue
        schema[table] = {
            "column": {
                c["name"]: f"{c['type']!s} {'NULL' if c['nullable'] else 'NOT NULL'}"
                for c in inspector.get_columns(table)
            },
            "primary key": {
                "": ", ".join(inspector.get_pk_constraint(table)["constrained_columns"])
            },
            "index": {
                str(i["name"]): f"({', '.join(map(str, i['column_names']))})"
                + (" unique" if i["unique"] else "")
                for i in inspector.get_indexes(table)
            },
            "unique constraint": {
                str(u["name"]): ", ".join(u["column_names"])
                for u in inspector.get_unique_constraints(table)
            },
            "foreign key": {
                str(f["name"]): f"({', '.join(f['constrained_columns'])}) -> "
                f"{f['referred_table']}({', '.join(f['referred_columns'])})"
                for f in inspector.get_foreign_keys(table)
            },
        }
    return schema


def differences(before: Schema, after: Schema) -> list[str]:
    """Readable differences: `index t.ix_name: (email) -> missing`."""
    found = []
    for table in sorted(set(before) | set(after)):
        if table not in after:
            found.append(f"table {table} is missing")
            continue
        if table not in before:
            found.append(f"table {table} is left over")
            continue
        for kind, old in before[table].items():
            new = after[table][kind]
            for name in sorted(set(old) | set(new)):
                label = f"{kind} {table}.{name}" if name else f"{kind} of {table}"
                if name not in new:
                    found.append(f"{label} is missing")
                elif name not in old:
                    found.append(f"{label} {new[name]} is left over")
                elif old[name] != new[name]:
                    found.append(f"{label} changed: {old[name]} -> {new[name]}")
    return found
