"""What a seed fingerprint is made of (app/services/seed_fingerprint.py): a digest of a whole
table, of the seed code, the Alembic revision, and what digesting a table would cost.

A table's digest covers every row and every column its model maps. PostgreSQL: one aggregate,
each row hashed twice (`hash_record_extended`, 128 bits; strings byte for byte, types it
hashes by value as they are, anything else as text) and each hash mixed again so that a value
moving between rows changes the sum; the sums are exact, so the digest does not depend on the
order rows are read in. SQLite: the rows as stored, in primary-key order, through SHA-256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Table, bindparam, text
from sqlmodel.ext.asyncio.session import AsyncSession

# Bump when what a run writes for the same file and tables changes in a way the code digest
# cannot see (it covers the seed modules, the models' modules and the libraries' versions).
FORMAT = 1

# What decides the values a run writes for the same file: every seed module of app.services
# (found on disk, so a new one such as the CSV converter or the direct COPY cannot be left out
# of the list), and the modules they take values, defaults and checks from.
SEED_HELPERS = (
    "app.services.column_checks",
    "app.services.fake_copy",
    "app.services.convergence",
    "app.models._columns",
    "app.yaml_loader",
)


def seed_code() -> tuple[str, ...]:
    """The modules the code digest covers: app/services/seed*.py and SEED_HELPERS."""
    services = Path(__file__).resolve().parent
    found = {f"app.services.{p.stem}" for p in services.glob("seed*.py")}
    return tuple(sorted(found | set(SEED_HELPERS)))


LIBRARIES = ("sqlalchemy", "sqlmodel", "pydantic", "pydantic_core", "asyncpg", "aiosqlite")

# Digesting a row costs a few microseconds, reading, checking and comparing one about thirty
# times that: a run is fingerprinted (and recognised) only while the tables it would digest
# hold at most WORTH_FACTOR times the rows its files give, plus WORTH_BASE rows. A file of
# three admins in a table of ten million users is cheaper to read again.
WORTH_FACTOR = 10
WORTH_BASE = 10_000

_module_digests: dict[str, str | None] = {}


def worth(table_rows: int, rows_given: int) -> bool:
    return table_rows <= WORTH_FACTOR * rows_given + WORTH_BASE


async def supported(db: AsyncSession) -> bool:
    """SQLite, or PostgreSQL 14+ (hash_record_extended): elsewhere nothing is recorded or
    recognised, and every run reads every row."""
    connection = await db.connection()
    if connection.dialect.name != "postgresql":
        return True
    return (connection.dialect.server_version_info or (0,)) >= (14,)


def _module_digest(name: str) -> str | None:
    if name not in _module_digests:
        import importlib.util

        try:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
            source = Path(origin or "").read_bytes()
            _module_digests[name] = hashlib.sha256(source).hexdigest()
        except (OSError, ImportError, ValueError):
            _module_digests[name] = None
    return _module_digests[name]


def code_digest() -> str | None:
    """The seed code, the table models (their modules, class and table names) and the
    libraries converting values: any change to them and an older fingerprint no longer
    applies. None when a module's source cannot be read (then nothing is recognised)."""
    import importlib

    from app.services.seed_rows import table_models

    models = {(m.__name__, m.__tablename__, m.__module__) for m in table_models().values()}
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for name in sorted(set(seed_code()) | {module for _, _, module in models}):
        found = _module_digest(name)
        if found is None:
            return None
        digest.update(f"{name} {found}\n".encode())
    for entry in sorted(models):
        digest.update(f"model {' '.join(entry)}\n".encode())
    for library in LIBRARIES:
        try:
            version = getattr(importlib.import_module(library), "__version__", "?")
        except ImportError:
            version = "-"
        digest.update(f"{library} {version}\n".encode())
    return digest.hexdigest()[:32]


def known_tables() -> dict[str, Table]:
    """Every table a model maps or references, by name."""
    from app.services.seed_rows import table_models

    found: dict[str, Table] = {}
    for model in table_models().values():
        table = model.__table__
        found.setdefault(table.name, table)
        for fk in table.foreign_keys:
            found.setdefault(fk.column.table.name, fk.column.table)
    return found


async def revisions(db: AsyncSession) -> list[str]:
    """What alembic_version holds (empty when the database has no such table)."""
    connection = await db.connection()
    if connection.dialect.name == "postgresql":
        probe = "SELECT to_regclass('alembic_version') IS NOT NULL"
    else:
        probe = (
            "SELECT count(*) > 0 FROM sqlite_master "
            "WHERE type = 'table' AND name = 'alembic_version'"
        )
    if not (await db.exec(text(probe))).scalar():
        return []
    found = (await db.exec(text("SELECT version_num FROM alembic_version"))).scalars().all()
    return sorted(found)


async def estimate(db: AsyncSession, tables: list[Table]) -> int:
    """Rows in `tables`: PostgreSQL's planner estimate (never analyzed: 0), SQLite's count."""
    connection = await db.connection()
    quote = connection.dialect.identifier_preparer
    if not tables:
        return 0
    if connection.dialect.name == "postgresql":
        names = [quote.format_table(t) for t in tables]
        query = text(
            "SELECT coalesce(sum(greatest(reltuples, 0)), 0) FROM pg_class WHERE oid IN "
            "(SELECT to_regclass(n) FROM unnest(CAST(:names AS text[])) AS n)"
        )
        return int((await db.exec(query, params={"names": names})).scalar())
    total = 0
    for table in tables:
        count = text(f"SELECT count(*) FROM {quote.format_table(table)}")
        total += (await db.exec(count)).scalar()
    return total


async def count(db: AsyncSession, table: Table) -> int:
    connection = await db.connection()
    quoted = connection.dialect.identifier_preparer.format_table(table)
    return (await db.exec(text(f"SELECT count(*) FROM {quoted}"))).scalar()


@dataclass
class Guard:
    """PostgreSQL: which row versions another transaction wrote since the run began.

    A live row version whose xmin is neither this transaction (or one of its savepoints)
    nor visible in the snapshot taken when the run began was written by someone else
    meanwhile. xmin is 32 bits: its
    epoch is the one below the digest statement's own snapshot xmax (an older frozen row can
    only look newer, which errs on the side of not recording)."""

    snapshot: tuple[int, int, list[int]]  # xmin, xmax, in-progress xids (64-bit)
    current: int  # this transaction's 64-bit xid

    @classmethod
    async def begin(cls, db: AsyncSession) -> tuple[int, int, list[int]]:
        found = (await db.exec(text("SELECT CAST(pg_current_snapshot() AS text)"))).scalar()
        smin, smax, xip = found.split(":")
        return int(smin), int(smax), [int(x) for x in xip.split(",") if x]

    @classmethod
    async def now(cls, db: AsyncSession, snapshot: tuple[int, int, list[int]]) -> Guard:
        current = (await db.exec(text("SELECT CAST(pg_current_xact_id() AS text)"))).scalar()
        return cls(snapshot, int(current))

    def params(self) -> dict[str, Any]:
        smin, smax, xip = self.snapshot
        return {"own": self.current & 0xFFFFFFFF, "smin": smin, "smax": smax, "xip": xip}


def _hashed(column: Any, quote: Any) -> str:
    """The column as hash_record_extended takes it exactly: strings byte for byte (a
    nondeterministic collation would hash 'Admin' as 'admin'), types PostgreSQL hashes by
    value as they are, anything else (JSON, arrays, custom types) as its text."""
    from sqlalchemy import types

    name = f"t.{quote.quote(column.name)}"
    kind = column.type
    if isinstance(kind, types.Enum | types.Integer | types.Numeric | types.Float | types.Boolean):
        return name
    if isinstance(kind, types.Date | types.DateTime | types.Time | types.Interval):
        return name
    if isinstance(kind, types.LargeBinary | types.Uuid):
        return name
    if isinstance(kind, types.String) and not isinstance(kind, types.JSON | types.ARRAY):
        return f'{name} COLLATE "C"'
    return f"CAST({name} AS text)"


async def pg_digest(db: AsyncSession, table: Table, guard: Guard | None) -> tuple[str, int, int]:
    """(digest, rows, rows another transaction wrote since the run began) in one scan."""
    connection = await db.connection()
    quote = connection.dialect.identifier_preparer
    # Text casts (JSON, arrays) print floats whole: fewer digits would hide a change.
    await db.exec(text("SELECT set_config('extra_float_digits', '3', true)"))
    row = f"ROW({', '.join(_hashed(c, quote) for c in table.columns)})"
    hashes = [
        f"CAST(coalesce(sum(hashint8extended(hash_record_extended({row}, {seed}), {seed})), 0) "
        "AS text)"
        for seed in (0, 1)
    ]
    source = f"{quote.format_table(table)} AS t"
    foreign = "0"
    params: dict[str, Any] = {}
    if guard is not None:
        # Every version this statement sees has an xid below its snapshot's xmax (`top`).
        source += (
            ", (SELECT CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text) AS bigint) "
            "AS top) AS n"
        )
        x, low = "CAST(CAST(t.xmin AS text) AS bigint)", "(n.top & 4294967295)"
        full = f"(n.top - {low} + {x} - CASE WHEN {x} >= {low} THEN 4294967296 ELSE 0 END)"
        visible = f"({full} < :smin OR ({full} < :smax AND {full} <> ALL(:xip)))"
        # A version this statement sees whose writer is still in progress is this
        # transaction's own: written under a savepoint (the direct path's COPY), its xmin
        # is the subtransaction's xid, not :own. pg_xact_status says "in progress" for it
        # (and NULL for an xid too old to look up: counted as another writer's).
        xid8 = f"CAST(CAST({full} AS text) AS xid8)"
        own = f"coalesce(pg_xact_status({xid8}) = 'in progress', false)"
        foreign = (
            f"count(*) FILTER (WHERE CASE WHEN {x} = :own OR {visible} THEN false "
            f"ELSE NOT {own} END)"
        )
        params = guard.params()
    statement: Any = text(f"SELECT count(*), {hashes[0]}, {hashes[1]}, {foreign} FROM {source}")
    if guard is not None:
        statement = statement.bindparams(bindparam("xip", type_=ARRAY(BigInteger)))
    rows, first, second, others = (await db.exec(statement, params=params)).one()
    return f"{rows}:{first}:{second}", rows, others


async def sqlite_digest(db: AsyncSession, table: Table) -> str:
    """sha256 of every row's values (as SQLite stores them) in primary-key order, streamed."""
    connection = await db.connection()
    quote = connection.dialect.identifier_preparer
    order = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
    columns = ", ".join(quote.quote(c.name) for c in table.columns)
    result = await connection.stream(
        text(
            f"SELECT {columns} FROM {quote.format_table(table)} "
            f"ORDER BY {', '.join(quote.quote(c) for c in order)}"
        )
    )
    digest, rows = hashlib.sha256(), 0
    async for partition in result.partitions(5000):
        for row in partition:
            digest.update(repr(tuple(row)).encode() + b"\n")
        rows += len(partition)
    return f"{rows}:{digest.hexdigest()}"


async def digest(db: AsyncSession, table: Table) -> str:
    connection = await db.connection()
    if connection.dialect.name != "postgresql":
        return await sqlite_digest(db, table)
    return (await pg_digest(db, table, None))[0]
