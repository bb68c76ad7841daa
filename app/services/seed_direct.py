"""The direct path of a large streamed section on PostgreSQL: COPY straight into the table.

The common first load (a CSV of 100,000 users into an empty table) needs none of the staged
path's work (app/services/seed_bulk.py): no key exists yet, none is given twice, so every row
is created. The database can tell us that cheaply: when a unique index covers the key, a key
that already exists or is given twice is a unique violation of the COPY itself.

When (`sole_tables` and `direct_index` decide; otherwise the staged path as before):
- the section is the only one of its table in the run: no other section of that table
  (no `users:` section for users, no `roles:` for roles), no streamed YAML file (whose
  sections are known only when read), and no row read before the run declares a key of it;
- the table has a unique index that is immediate (not deferrable), valid, not partial, on
  plain columns, all of them key columns; and every row gives a non-null value for each;
- every row gives the same columns (a CSV always does), none lacks a column with no
  default, and the key columns are text, integers or UUIDs (the change lines then name the
  keys exactly as the staged path reads them back).

How: under a SAVEPOINT, per chunk of rows, one binary COPY into the table (the same values
the staged path would COPY into its stage and INSERT from there: defaults filled in the
same way, each value through its column type's bind processor; ids in file order), then
for `users` one INSERT ... SELECT of the chunk's `user.create` audit rows (details as
seed_bulk._audit_users builds them). Created = the rows copied; the change lines list the
first rows in file order. A table in a schema of its own, or with rules, takes the staged
path.

Any data or constraint error of the database (SQLSTATE classes 22 and 23: a key that exists
or is given twice, a foreign key, a check, NOT NULL; also 42 and 0A, e.g. a table COPY
cannot write) rolls the savepoint back and the section takes the staged path from its
first row, which reports the same file:line error, or applies the rows, exactly as it
always has. A cancellation, a timeout, a lost connection or a deadlock is not ours to
retry: it ends the run as before.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.seed_rows import ModelSection, Row
from app.services.seed_upsert import Tally
from db.errors import sqlstate

SAVEPOINT = "seed_direct"
# SQLSTATE classes after which the staged path decides (see the module docstring)
FALL_BACK = ("22", "23", "42", "0A")


def sole_tables(loaded: Any) -> set[str]:
    """The tables whose one section of the run is a streamed one (CSV, JSON Lines) and
    whose keys no other part of the run declares (see the module docstring)."""
    if loaded is None or loaded.streams:
        return set()
    sections: dict[str, list[Any]] = {}
    for section in loaded.models:
        sections.setdefault(section.model.__tablename__, []).append(section)
    taken = {name for name, _, _ in loaded.declared}
    if loaded.roles:
        taken |= {"roles", "role_permissions"}
    if loaded.users:
        taken |= {"users", "user_roles"}
    return {
        name
        for name, found in sections.items()
        if len(found) == 1 and found[0].stream is not None and name not in taken
    }


def _plain_key(table: Any, key: list[str]) -> bool:
    """Key values whose text is the same as the staged path's read-back (str() of a text,
    an integer or a UUID), so the change lines are identical."""
    from sqlalchemy.types import TypeDecorator

    for name in key:
        column_type = table.c[name].type
        if isinstance(column_type, TypeDecorator):  # sqlmodel's AutoString: a String
            column_type = column_type.impl_instance
        try:
            kind = column_type.python_type
        except NotImplementedError:
            return False
        if kind not in (str, int, uuid.UUID):
            return False
    return True


async def direct_index(
    db: AsyncSession, table: Any, key: list[str]
) -> tuple[list[str], bool] | None:
    """(columns, nullable) of a unique index of `table` that makes the direct path safe for
    `key` (see the module docstring), read from the database itself (the model may declare
    a constraint a migration never made); None when there is none."""
    if table.schema is not None or not _plain_key(table, key):
        return None  # a table in a schema of its own: the staged path names it in full
    query = text(
        "SELECT array_agg(a.attname::text ORDER BY a.attnum), bool_or(NOT a.attnotnull) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = to_regclass(quote_ident(:table)) AND i.indisunique "
        "AND i.indimmediate AND i.indisvalid AND i.indisready AND i.indpred IS NULL "
        "AND i.indexprs IS NULL AND NOT c.relhasrules "
        "GROUP BY i.indexrelid ORDER BY count(*), i.indexrelid"
    )
    for columns, nullable in (await db.exec(query, params={"table": table.name})).all():
        if columns and set(columns) <= set(key):
            return list(columns), bool(nullable)
    return None


class Fallback(Exception):
    """The direct path gave way: the staged path takes the section from its first row."""


async def load_direct(
    db: AsyncSession,
    section: ModelSection,
    rows: Iterable[Row],
    plan: Any,
    index: Any,
    tally: Tally,
    actor: str,
    max_listed: int,
) -> bool:
    """The section's rows COPYed straight into its table (see the module docstring); raises
    Fallback when it gives way. True when the rows gave ids and the id sequence was moved
    past them. At most `max_listed` change lines in all (the run's tally counts them)."""
    from app.services.seed_stage import Source, section_chunks

    table = plan.table
    async with section_chunks(db, section, rows, plan, Source(), extra=False) as chunks:
        given = await copy_direct(
            db,
            table=table,
            model_name=section.model.__name__,
            key=section.key,
            index=index,
            chunks=chunks,
            tally=tally,
            actor=actor,
            listed=max(max_listed - len(tally.changes), 0),
        )
    serial = table.autoincrement_column
    if serial is not None and given & plan.bits[serial.name]:
        from app.services.seed_models import _advance_sequence

        await _advance_sequence(db, table, [{serial.name: 1}])
        return True
    return False


async def copy_direct(
    db: AsyncSession,
    *,
    table: Any,
    model_name: str,
    key: list[str],
    index: tuple[list[str], bool],
    chunks: AsyncIterator[Any],
    tally: Tally,
    actor: str,
    listed: int,
) -> int:
    """COPY every chunk's records (seed_convert.Chunk) into `table`, the rows counted as
    created; returns the mask of the columns the rows give. Raises Fallback (the savepoint
    rolled back) when the staged path must decide."""
    import asyncpg

    from app.services.fake_copy import copy_rows
    from app.services.seed_convert import convert_ahead

    connection = await db.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    unique, nullable = index
    audit = _UserAudit(actor) if table.name == "users" else None
    first: tuple[list[str], int] | None = None
    keys: list[str] = []
    total = 0
    await raw.execute(f"SAVEPOINT {SAVEPOINT}")
    try:
        try:
            async for chunk in chunks:
                columns, records = chunk.columns, chunk.records
                given, lacks = chunk.uniform()
                if given is None or lacks is not None:
                    raise Fallback  # rows giving different columns, or lacking one
                if first is None:
                    first = (columns, given)
                    positions = [columns.index(c) for c in unique]
                    key_positions = [columns.index(k) for k in key]
                if columns != first[0] or given != first[1]:
                    raise Fallback  # rows giving other columns than the first chunk's
                if audit is not None and not total:
                    audit.given(columns, given_columns(given, table))
                if nullable and any(r[p] is None for r in records for p in positions):
                    raise Fallback  # a NULL in the unique index: it would not conflict
                rows = chunk.values()
                if audit is None:
                    convert_ahead(chunks)
                await copy_rows(raw, table.name, rows, columns)
                if audit is not None:
                    convert_ahead(chunks)  # while the server writes the audit rows
                    await audit.write(raw, rows)
                for row in rows[: max(listed - len(keys), 0)]:
                    keys.append(",".join(f"{k}={row[p]}" for k, p in zip(key, key_positions)))  # noqa: B905
                total += len(rows)
        except asyncpg.PostgresError as exc:
            if not (sqlstate(exc) or "").startswith(FALL_BACK):
                raise
            raise Fallback from None
    except Fallback:
        await raw.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        await raw.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
        raise
    await raw.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
    counts = tally.count(model_name)
    for shown in keys:
        tally.created(model_name, shown)
    counts.created += total - len(keys)
    return first[1] if first is not None else 0


def given_columns(mask: int, table: Any) -> list[str]:
    """The columns of `table` (in its order) that a row with this mask gives."""
    return [c.name for i, c in enumerate(table.columns) if mask >> i & 1]


class _UserAudit:
    """The `user.create` rows seed_bulk._audit_users writes for new users: target the email,
    details the fields given (never the password: `password_changed` instead), the flags
    each row gives, `"via": "seed"`; one `at` for the section. Written per chunk by one
    INSERT ... SELECT over the chunk's emails in file order; each distinct details value is
    sent once (a parameter), not built or parsed per row."""

    # The chunk's emails and the index of each row's details travel as two JSON arrays (one
    # text parameter each): asyncpg's array encoder costs a Python isinstance per element.
    SQL = (
        "INSERT INTO audit_log (at, actor, action, target, details) "
        "SELECT $1::timestamptz, $2::text, 'user.create', substr(t.email, 1, 320), "
        "($3::jsonb[])[t.kind::int] "
        "FROM ROWS FROM (json_array_elements_text($4::text::json), "
        "json_array_elements_text($5::text::json)) WITH ORDINALITY AS t(email, kind, n) "
        "ORDER BY t.n"
    )

    def __init__(self, actor: str) -> None:
        from app.models._columns import utcnow

        self._at = utcnow()
        self._actor = actor
        self._kinds: dict[tuple, int] = {}  # flag values -> 1-based index into _details

    def given(self, columns: list[str], given: list[str]) -> None:
        self._fields = sorted(c for c in given if c != "hashed_password")
        self._password = "hashed_password" in given
        self._flags = [(f, columns.index(f)) for f in ("is_active", "is_superuser") if f in given]
        self._email = columns.index("email")
        self._details: list[str] = []

    def _kind(self, flags: tuple) -> int:
        found = self._kinds.get(flags)
        if found is None:
            details: dict[str, Any] = {"fields": self._fields}
            details.update(zip((f for f, _ in self._flags), flags))  # noqa: B905
            details["via"] = "seed"
            if self._password:
                details["password_changed"] = True
            self._details.append(json.dumps(details))
            found = self._kinds[flags] = len(self._details)
        return found

    async def write(self, raw: Any, rows: list[tuple]) -> None:
        email = self._email
        emails = [r[email] for r in rows]
        if self._flags:
            positions = [p for _, p in self._flags]
            kinds = [self._kind(tuple(r[p] for p in positions)) for r in rows]
        else:
            kinds = [self._kind(())] * len(rows)
        await raw.execute(
            self.SQL,
            self._at,
            self._actor,
            self._details,
            json.dumps(emails, ensure_ascii=False),
            json.dumps(kinds),
        )
