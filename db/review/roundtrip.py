"""`--roundtrip`: upgrade to each reviewed revision, downgrade one step, upgrade again, on a
scratch database created for the review and dropped after it; the reflected schema must come
back the same. The scratch database is a SQLite file in a temporary directory, or a PostgreSQL
database `<name>_review_<random>` next to the configured one (same server and user).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from db.review.findings import Finding, finding
from db.review.scripts import ScriptFile
from db.revision_checksums import TABLE as CHECKSUM_TABLE

Schema = dict[str, dict[str, Any]]
# Bookkeeping of the migration runner, not of the revisions: not compared.
BOOKKEEPING = frozenset({"alembic_version", CHECKSUM_TABLE})


@asynccontextmanager
async def scratch_database(url: str) -> AsyncIterator[str]:
    """A new, empty database like the one at `url`; dropped (or deleted) on the way out."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    base = make_url(url)
    if base.get_backend_name() == "sqlite":
        directory = tempfile.mkdtemp(prefix="manage-review-")
        try:
            yield f"sqlite+aiosqlite:///{directory}/review.db"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    name = f"{(base.database or 'manage')[:30]}_review_{uuid.uuid4().hex[:8]}"

    async def admin(statement: str, database: str | None) -> None:
        engine = create_async_engine(
            base.set(database=database),
            isolation_level="AUTOCOMMIT",
            poolclass=NullPool,
            hide_parameters=True,  # like every engine (db/engine.py)
        )
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    async def run(statement: str) -> None:
        try:
            await admin(statement, base.database)
        except Exception as exc:  # the configured database may not exist yet
            if "does not exist" not in str(exc):
                raise
            await admin(statement, "postgres")

    await run(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def _line(script: ScriptFile, function: str) -> int | None:
    node = script.function(function)
    return node.lineno if node is not None else None


async def roundtrip(url: str, chosen: list[ScriptFile]) -> tuple[list[Finding], list[str]]:
    """Findings for revisions whose downgrade + upgrade does not give the same schema."""
    from db import migrations
    from db.config import DatabaseSettings
    from db.engine import create_engine

    findings: list[Finding] = []
    notes: list[str] = []
    async with scratch_database(url) as scratch_url:
        engine = create_engine(DatabaseSettings(database_url=scratch_url), pooled=False)
        try:
            for script in chosen:
                if len(script.down_revisions) > 1:
                    notes.append(f"roundtrip skips merge revision {script.revision}")
                    continue
                parent = script.down_revisions[0] if script.down_revisions else "base"
                rev = str(script.revision)

                def fail(function: str, message: str, script: ScriptFile = script) -> None:
                    findings.append(
                        finding(
                            "roundtrip",
                            path=script.display,
                            line=_line(script, function),
                            revision=script.revision,
                            message=message,
                        )
                    )

                step = f"upgrade to {parent}"
                try:
                    if parent != "base":
                        await migrations.upgrade(engine, parent)
                    start = await migrations.on_connection(engine, reflect)
                    step = f"upgrade to {rev}"
                    await migrations.upgrade(engine, rev)
                    upgraded = await migrations.on_connection(engine, reflect)
                    step = f"downgrade from {rev} to {parent}"
                    await migrations.downgrade(engine, parent)
                    for problem in differences(
                        start, await migrations.on_connection(engine, reflect)
                    ):
                        fail("downgrade", f"after downgrade of {rev}: {problem}")
                    step = f"upgrade to {rev} again"
                    await migrations.upgrade(engine, rev)
                    for problem in differences(
                        upgraded, await migrations.on_connection(engine, reflect)
                    ):
                        fail("upgrade", f"after upgrading {rev} again: {problem}")
                except Exception as exc:
                    text = str(getattr(exc, "message", "") or exc).strip().splitlines()
                    reason = text[0] if text else type(exc).__name__
                    fail(
                        "downgrade" if "downgrade" in step else "upgrade",
                        f"{step} failed: {reason}",
                    )
                    notes.append(
                        f"roundtrip stopped at {rev}: the scratch database is in an unknown state"
                    )
                    break
        finally:
            await engine.dispose()
    return findings, notes
