"""Alembic environment, async, shared by `manage migrate` and plain `alembic`.

`config.attributes["connection"]` decides where migrations run:
- a sync Connection: what `manage` passes (it owns the connection and the migration lock);
- an Engine or AsyncEngine: what pytest-alembic and other tools pass;
- nothing: plain `alembic` builds its own engine from DATABASE_URL / DB_MIGRATION_URL.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from db import sqlite_foreign_keys
from db.migrations import target_metadata as _target_metadata
from db.revision_checksums import include_name
from db.type_render import render_item

config = context.config
# The models' MetaData (app.models registers every table on it), or MANAGE_TARGET_METADATA.
target_metadata = _target_metadata()

if config.config_file_name is not None and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _naming_convention_on() -> bool:
    """MIGRATION_NAMING_CONVENTION (default true): `manage` passes the setting it loaded;
    plain `alembic` reads it from the environment / .env."""
    given = config.attributes.get("naming_convention")
    if given is not None:
        return bool(given)
    from app.config import get_settings

    return get_settings().db.migration_naming_convention


def _autogenerating() -> bool:
    return bool(
        config.attributes.get("autogenerate") or getattr(config.cmd_opts, "autogenerate", False)
    )


def _configure_options(dialect_name: str) -> dict:
    # Alembic names the constraints that `op` calls create without a name by the target
    # MetaData's naming convention. An adopted history that refers to them later by the
    # database's default names (orders_user_id_fkey) needs it off: then running revisions get
    # no target metadata (autogenerate still compares with the models).
    adopted = not _autogenerating() and not _naming_convention_on()
    return {
        "target_metadata": None if adopted else target_metadata,
        "compare_type": True,
        "compare_server_default": True,
        # `manage`'s own bookkeeping table (revision checksums): never compared, never dropped.
        "include_name": include_name,
        "render_as_batch": dialect_name == "sqlite",
        # Dialect types module-qualified on any dialect (JSONB on SQLite: db/type_render.py).
        "render_item": render_item,
        # One transaction per revision: a failure keeps every earlier revision applied and
        # recorded, and `autocommit_block()` (CREATE INDEX CONCURRENTLY) can work.
        "transaction_per_migration": True,
        # Our SQLite engine issues real BEGIN/COMMIT (db/engine.py), so its DDL is
        # transactional too: a failing revision rolls back instead of staying half-applied.
        "transactional_ddl": True,
        # `manage` passes a callback to report each revision as it is applied (on a TTY).
        "on_version_apply": config.attributes.get("on_version_apply"),
    }


def _run_on_connection(connection: Connection) -> None:
    context.configure(connection=connection, **_configure_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def _run_on_own_connection(connection: Connection) -> None:
    """A connection env.py opened itself (plain `alembic`, pytest-alembic). On SQLite: foreign
    keys off, one transaction, `PRAGMA foreign_key_check`, commit, foreign keys on, exactly as
    `manage` runs it (db/sqlite_foreign_keys.py): a table rebuild must not fire ON DELETE."""
    if connection.dialect.name == "sqlite" and not context.is_offline_mode():
        sqlite_foreign_keys.run_checked(connection, _run_on_connection)
    else:
        _run_on_connection(connection)


async def _run_on_async_engine(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.run_sync(_run_on_own_connection)
        await connection.commit()


def _own_engine() -> AsyncEngine:
    from app.config import get_settings
    from db.engine import create_engine

    settings = get_settings().db
    return create_engine(settings, url=settings.db_migration_url, pooled=False)


def run_migrations_offline() -> None:
    from sqlalchemy.engine import make_url

    from app.config import get_settings

    settings = get_settings().db
    url = config.get_main_option("sqlalchemy.url") or (
        settings.db_migration_url or settings.database_url
    )
    dialect_name = make_url(url).get_backend_name()
    options = _configure_options(dialect_name)
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **options)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run_on_connection(given)
    elif isinstance(given, AsyncEngine):
        asyncio.run(_run_on_async_engine(given))
    elif isinstance(given, Engine):
        with given.connect() as connection:
            _run_on_own_connection(connection)
            connection.commit()
    else:
        engine = _own_engine()

        async def run() -> None:
            try:
                await _run_on_async_engine(engine)
            finally:
                await engine.dispose()

        asyncio.run(run())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
