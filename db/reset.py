"""Drop every table, view, enum type and sequence in the database (for `manage db reset`)."""

from __future__ import annotations

from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def _drop_all(connection: Connection) -> list[str]:
    inspector = inspect(connection)
    quote = connection.dialect.identifier_preparer.quote
    dropped: list[str] = []
    for view in inspector.get_view_names():
        connection.exec_driver_sql(f"DROP VIEW IF EXISTS {quote(view)}")
        dropped.append(view)
    if connection.dialect.name == "postgresql":
        for table in inspector.get_table_names():
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(table)} CASCADE")
            dropped.append(table)
        for enum in inspector.get_enums():
            connection.exec_driver_sql(f"DROP TYPE IF EXISTS {quote(enum['name'])} CASCADE")
        for sequence in inspector.get_sequence_names():
            connection.exec_driver_sql(f"DROP SEQUENCE IF EXISTS {quote(sequence)} CASCADE")
        return dropped
    # SQLite: reflect and drop in foreign-key order (foreign keys stay on).
    reflected = MetaData()
    reflected.reflect(connection)
    reflected.drop_all(connection)
    return dropped + [table.name for table in reversed(reflected.sorted_tables)]


async def drop_everything(engine: AsyncEngine) -> list[str]:
    """Drop everything in one transaction; return the names of the tables and views dropped."""
    async with engine.begin() as connection:
        return await connection.run_sync(_drop_all)
