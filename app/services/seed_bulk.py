"""Streamed seed sections (CSV, JSON Lines, large YAML files) applied set-based.

A section of at most BULK_ROWS rows goes the per-row way (app/services/seed_models.py). A
larger one is read once, row by row (memory flat in the number of rows), and:

1. each row is checked and converted (seed_rows.converted_row: a bad value is a 422 naming
   file:line(:column); a plain CSV file by a converter compiled for its header, in a worker
   thread: seed_convert, seed_records), its foreign keys by natural key resolved per chunk
   of rows (one query per chunk of distinct values, seed_references), Python-side defaults
   filled in, and the chunk written into a temporary staging table (PostgreSQL: binary
   COPY; SQLite: one executemany per chunk) with its line, index and which columns it gave;
2. in the database: a key given twice (in the section, in another streamed section or in a
   row read before the run) is a 422 naming both lines; a new row lacking a column with no
   default is a 422 naming it;
3. per set of given columns: a sample of what changes is read for the report (at most
   MAX_LISTED rows per section and kind; the counts are exact), `users` audit rows are
   written by INSERT ... SELECT, then ONE UPDATE ... FROM writes the rows that exist and
   differ (IS DISTINCT FROM; PostgreSQL compares JSON as jsonb) and ONE INSERT ... SELECT the
   new keys. Created and updated are the statements' row counts; unchanged is the rest.

On PostgreSQL the common first load skips all of that: a section that is the only one of
its table in the run, on a table whose unique index covers the key, is first COPYed straight
into the table under a savepoint (app/services/seed_direct.py); any data or constraint error
rolls that back and the section takes the staged path above from its first row.

Everything runs in the caller's transaction: an error anywhere rolls the whole run back,
so a bad row at line 900,000 leaves nothing written. Tables with a foreign key into
themselves, user_roles (per-link audit) and tables of more than 62 columns take the per-row
way whatever their size.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    JSON,
    Table,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.seed_key_checks import check_against_stages, check_duplicates, match_key, where_in
from app.services.seed_rows import ModelSection, Row, invalid
from app.services.seed_stage import (
    EXTRA,
    Source,
    close_rows,
    section_chunks,
    stage_table,
    write_stage,
)
from app.services.seed_upsert import Tally

BULK_ROWS = 1000  # more rows than this: the staged, set-based path
MAX_LISTED = 1000  # rows listed per section and kind (created / updated); counts are exact
MAX_COLUMNS = 62  # which columns a row gives is a bit mask in a bigint


class Staged:
    """The staging tables of one run, by target table (checked against each other for keys
    declared twice); SQLite's are dropped at the end, PostgreSQL's at commit."""

    def __init__(self, loaded: Any = None) -> None:
        from app.services.seed_direct import sole_tables

        self.tables: dict[str, list[tuple[Table, list[str], str]]] = {}
        self.count = 0
        # tables whose one section of the run may take the direct path (seed_direct)
        self.sole = sole_tables(loaded)
        self.sequences: set[str] = set()  # tables whose id sequence a section caught up

    async def drop(self, db: AsyncSession) -> None:
        connection = await db.connection()
        if connection.dialect.name == "postgresql":
            return
        for stages in self.tables.values():
            for stage, _, _ in stages:
                await db.exec(text(f'DROP TABLE IF EXISTS temp."{stage.name}"'))
        self.tables.clear()


async def seed_stream(
    db: AsyncSession,
    section: ModelSection,
    tally: Tally,
    *,
    actor: str,
    declared: dict[tuple[Any, ...], str],
    staged: Staged,
) -> None:
    """Apply a streamed section: per row when small (or of a kind the bulk path leaves
    alone), else staged and set-based (see the module docstring)."""
    rows = section.stream()
    head = list(itertools.islice(rows, BULK_ROWS + 1))
    if len(head) <= BULK_ROWS or not bulk_kind(section.model):
        await _per_row(db, section, itertools.chain(head, rows), tally, actor, declared, staged)
        return
    await _bulk(db, section, itertools.chain(head, rows), tally, actor, declared, staged)


def bulk_kind(model: Any) -> bool:
    """Whether a large section of `model` may take the bulk path (see the docstring)."""
    from app.services.seed_order import self_columns

    table = model.__table__
    return not (
        table.name == "user_roles" or len(table.columns) > MAX_COLUMNS or bool(self_columns(model))
    )


async def seed_read_section(
    db: AsyncSession, section: ModelSection, tally: Tally, *, actor: str, staged: Staged
) -> None:
    """A large section of a YAML file read whole (its rows already checked, its keys
    already declared at load): the bulk path."""
    rows = section.rows
    await _bulk(db, section, iter(rows), tally, actor, {}, staged)


async def _per_row(
    db: AsyncSession,
    section: ModelSection,
    rows: Iterable[Row],
    tally: Tally,
    actor: str,
    declared: dict[tuple[Any, ...], str],
    staged: Staged,
) -> None:
    from app.services.seed_audit import model_auditor
    from app.services.seed_files import _declared, _identities
    from app.services.seed_models import seed_model
    from app.services.seed_rows import check_model_row

    columns = set(section.model.__table__.columns.keys())
    small = ModelSection(model=section.model, key=section.key, rows=[])
    for row in rows:
        check_model_row(row, section.model, section.key, columns)
        for identity in _identities(small, row):
            _declared(declared, identity, row)
        small.rows.append(row)
    await check_against_stages(db, small, staged)
    await seed_model(db, small, tally, model_auditor(db, small, actor))


async def _bulk(
    db: AsyncSession,
    section: ModelSection,
    rows: Iterable[Row],
    tally: Tally,
    actor: str,
    declared: dict[tuple[Any, ...], str],
    staged: Staged,
) -> None:
    from app.services.seed_convert import SectionPlan, convert_ahead

    model, key = section.model, section.key
    table = model.__table__
    connection = await db.connection()
    plan = SectionPlan(model, key, connection.dialect)
    if table.name in staged.sole and connection.dialect.name == "postgresql":
        from app.services.seed_direct import Fallback, direct_index, load_direct

        index = await direct_index(db, table, key)
        if index is not None:
            try:
                if await load_direct(db, section, rows, plan, index, tally, actor, MAX_LISTED):
                    staged.sequences.add(table.name)
                return
            except Fallback:
                close_rows(rows)
                rows = section.stream()  # the staged path, from the first row
    staged.count += 1
    stage = await stage_table(db, table, staged.count)
    source, total = Source(), 0
    async with section_chunks(db, section, rows, plan, source, extra=True) as chunks:
        async for chunk in chunks:
            convert_ahead(chunks)
            await write_stage(db, stage, [*chunk.columns, *EXTRA], chunk.records)
            total += len(chunk.records)
    where = where_in(source.source, source.columned)
    columns, bits = plan.columns, plan.bits
    await check_duplicates(db, stage, table, key, where, declared, staged)
    await _classify(db, stage, table, key, columns, bits)
    await _check_lacking(db, stage, table, key, where)
    if await _apply(
        db, stage, table, model.__name__, key, columns, bits, plan.defaults, tally, actor, total
    ):
        staged.sequences.add(table.name)


async def _classify(
    db: AsyncSession,
    stage: Table,
    table: Table,
    key: list[str],
    columns: list[str],
    bits: dict[str, int],
) -> None:
    """Mark each staged row once: "u" (its key exists and a given column differs), "c" (a
    new key), NULL (unchanged). Every later statement reads the mark instead of joining the
    whole stage against the table again."""
    connection = await db.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        await db.exec(text(f"ANALYZE {stage.name}"))  # temporary tables are never auto-analyzed
    matched = match_key(table, stage, key)
    masks = [m for (m,) in (await db.exec(select(stage.c.seed_given_).distinct())).all()]
    for mask in masks:
        changing = [c for c in columns if mask & bits[c] and c not in key]
        if changing:
            differs = or_(*(_differs(dialect, table, stage, c) for c in changing))
            await db.exec(
                update(stage)
                .where(matched, stage.c.seed_given_ == mask, differs)
                .values(seed_op_="u")
            )
            if dialect != "postgresql":
                await _settle_json(db, stage, table, key, changing, mask)
    await db.exec(update(stage).where(~exists().where(matched)).values(seed_op_="c"))
    if dialect == "postgresql":
        await db.exec(text(f"ANALYZE {stage.name}"))


async def _check_lacking(
    db: AsyncSession, stage: Table, table: Table, key: list[str], where: Any
) -> None:
    """A new row must give every column that has no default (as the per-row path says)."""
    query = (
        select(stage.c.seed_line_, stage.c.seed_index_, stage.c.seed_lacks_)
        .where(stage.c.seed_lacks_.is_not(None), stage.c.seed_op_ == "c")
        .order_by(stage.c.seed_line_)
        .limit(1)
    )
    found = (await db.exec(query)).first()
    if found is not None:
        raise invalid(
            where(found[0], found[1]),
            f"a new {table.name} row needs {found[2]} (no default for it)",
        )


def _differs(dialect: str, table: Table, stage: Table, column: str) -> Any:
    """Whether the stored value of `column` differs from the staged one, as the per-row
    path's seed_values.same decides. JSON: a stored JSON `null` is the same as SQL NULL
    (both read back as None); on PostgreSQL as jsonb (key order and spacing are not data).
    SQLite has no such comparison: its JSON text differs more often than its values do,
    and _settle_json checks those rows again by value."""
    current, wanted = table.c[column], stage.c[column]
    if dialect == "postgresql" and isinstance(current.type, JSON):
        from sqlalchemy import cast

        null = literal_column("'null'::jsonb")
        return func.nullif(cast(current, JSONB), null).is_distinct_from(
            func.nullif(cast(wanted, JSONB), null)
        )
    if dialect != "postgresql" and _is_json(current, dialect):
        return func.nullif(current, "null").is_distinct_from(func.nullif(wanted, "null"))
    return current.is_distinct_from(wanted)


def _is_json(column: Any, dialect: Any) -> bool:
    from sqlalchemy.dialects import sqlite

    impl = column.type.dialect_impl(sqlite.dialect() if isinstance(dialect, str) else dialect)
    return isinstance(impl, JSON)


async def _settle_json(
    db: AsyncSession, stage: Table, table: Table, key: list[str], changing: list[str], mask: int
) -> None:
    """SQLite: staged rows marked "u" only because a JSON column's text differs (keys in
    another order, `1.0` for `1`) are unchanged after all when the values are the same
    (seed_values.json_same, the per-row path's rule): unmark them."""
    from app.services.seed_values import json_same

    dialect = (await db.connection()).dialect.name
    json_columns = [c for c in changing if _is_json(table.c[c], dialect)]
    if not json_columns:
        return
    others = [c for c in changing if c not in json_columns]
    query = (
        select(
            stage.c.seed_index_,
            *(table.c[c] for c in json_columns),
            *(stage.c[c] for c in json_columns),
        )
        .select_from(stage.join(table, match_key(table, stage, key)))
        .where(stage.c.seed_given_ == mask, stage.c.seed_op_ == "u")
    )
    if others:
        query = query.where(~or_(*(_differs(dialect, table, stage, c) for c in others)))
    same = []
    n = len(json_columns)
    for found in (await db.exec(query)).all():
        if all(json_same(a, b) for a, b in zip(found[1 : 1 + n], found[1 + n :], strict=True)):
            same.append(found[0])
    from app.services.seed_upsert import _chunks as batches

    for chunk in batches(same):
        await db.exec(
            update(stage).where(stage.c.seed_index_.in_(list(chunk))).values(seed_op_=None)
        )


async def _apply(
    db: AsyncSession,
    stage: Table,
    table: Table,
    name: str,
    key: list[str],
    columns: list[str],
    bits: dict[str, int],
    defaults: dict[str, Any],
    tally: Tally,
    actor: str,
    total: int,
) -> bool:
    """Update and insert from the stage; whether the rows gave explicit ids (the table's id
    sequence is then caught up, on every run)."""
    connection = await db.connection()
    dialect = connection.dialect.name
    masks = [m for (m,) in (await db.exec(select(stage.c.seed_given_).distinct())).all()]
    counts = tally.count(name)
    created = updated = 0
    id_given = False
    for mask in sorted(masks):
        given = [c for c in columns if mask & bits[c]]
        changing = [c for c in given if c not in key]
        this_mask = stage.c.seed_given_ == mask
        matched = match_key(table, stage, key)
        if table.autoincrement_column is not None and table.autoincrement_column.name in given:
            id_given = True
        if changing:
            differs = {c: _differs(dialect, table, stage, c) for c in changing}
            sample = (
                select(
                    *(stage.c[k] for k in key), *(case((d, 1), else_=0) for d in differs.values())
                )
                .select_from(stage.join(table, matched))
                .where(this_mask, stage.c.seed_op_ == "u")
                .order_by(stage.c.seed_line_)
                .limit(max(MAX_LISTED - len(tally.changes), 0))
            )
            for found in (await db.exec(sample)).all():
                fields = [c for c, flag in zip(changing, found[len(key) :], strict=True) if flag]
                tally.updated(name, _key_text(key, found[: len(key)]), fields)
                counts.updated -= 1  # counted below from the statement
            if table.name == "users":
                await _audit_users(db, stage, table, key, given, differs, mask, actor, "update")
            result = await db.exec(
                update(table)
                .where(matched, this_mask, stage.c.seed_op_ == "u")
                .values({c: stage.c[c] for c in changing})
            )
            updated += result.rowcount
        missing = stage.c.seed_op_ == "c"
        sample = (
            select(*(stage.c[k] for k in key))
            .where(this_mask, missing)
            .order_by(stage.c.seed_line_)
            .limit(max(MAX_LISTED - len(tally.changes), 0))
        )
        for found in (await db.exec(sample)).all():
            tally.created(name, _key_text(key, found))
            counts.created -= 1
        if table.name == "users":
            await _audit_users(db, stage, table, key, given, {}, mask, actor, "create")
        inserted = [c for c in columns if c in given or c in defaults]
        result = await db.exec(
            insert(table).from_select(
                inserted, select(*(stage.c[c] for c in inserted)).where(this_mask, missing)
            )
        )
        created += result.rowcount
    counts.created += created
    counts.updated += updated
    counts.unchanged += total - created - updated
    if id_given:
        from app.services.seed_models import _advance_sequence

        await _advance_sequence(db, table, [{table.autoincrement_column.name: 1}])
    return id_given


def _key_text(key: list[str], values: Iterable[Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in zip(key, values, strict=True))


async def _audit_users(
    db: AsyncSession,
    stage: Table,
    table: Table,
    key: list[str],
    given: list[str],
    differs: dict[str, Any],
    mask: int,
    actor: str,
    op: str,
) -> None:
    """The `user.create` / `user.update` rows seed_audit writes per row, by INSERT ... SELECT:
    target the email, details the fields (never a password: `password_changed` instead) and
    the flags the row gives, `"via": "seed"`."""
    from app.models import AuditLog
    from app.models._columns import utcnow

    connection = await db.connection()
    postgres = connection.dialect.name == "postgresql"
    audit = AuditLog.__table__
    flags = [f for f in ("is_active", "is_superuser") if f in given]
    matched = match_key(table, stage, key)
    this_mask = stage.c.seed_given_ == mask
    if op == "create":
        fields = sorted(c for c in given if c != "hashed_password")
        parts: list[Any] = [_const("fields"), _json__const(postgres, fields)]
        where = [this_mask, stage.c.seed_op_ == "c"]
        source = stage
        password = _const("hashed_password" in given)
    else:
        listed = sorted(c for c in differs if c != "hashed_password")
        parts = [_const("fields"), _changed_array(postgres, listed, differs)]
        where = [this_mask, stage.c.seed_op_ == "u"]
        source = stage.join(table, matched)
        password = differs.get("hashed_password", _const(False))
    for flag in flags:
        parts += [_const(flag), _json_bool(postgres, stage.c[flag])]
    parts += [_const("via"), _const("seed")]
    if postgres and op == "create" and not flags:
        # Every new row of this mask gets the same details: one constant, not a
        # jsonb_build_object per row (the slowest statement of a large first load).
        constant: dict[str, Any] = {"fields": fields, "via": "seed"}
        if "hashed_password" in given:
            constant["password_changed"] = True
        details: Any = _json__const(postgres, constant)
    elif postgres:
        details = func.jsonb_build_object(*parts)
        details = case(
            (password, details.op("||")(text("""'{"password_changed": true}'::jsonb"""))),
            else_=details,
        )
    else:
        details = func.json_object(*parts)
        details = case(
            (password, func.json_set(details, "$.password_changed", func.json("true"))),
            else_=details,
        )
    target = stage.c.email if op == "create" or "email" in given else table.c.email
    query = (
        select(
            bindparam("at", utcnow(), type_=audit.c.at.type),
            bindparam("actor", actor, type_=audit.c.actor.type),
            _const("user.create" if op == "create" else "user.update"),
            func.substr(target, 1, 320),
            details,
        )
        .select_from(source)
        .where(*where)
        .order_by(stage.c.seed_line_)
    )
    await db.exec(insert(audit).from_select(["at", "actor", "action", "target", "details"], query))


def _json__const(postgres: bool, value: Any) -> Any:
    if postgres:
        return text("'" + json.dumps(value).replace("'", "''") + "'::jsonb")
    return func.json(_const(json.dumps(value)))


def _json_bool(postgres: bool, column: Any) -> Any:
    if postgres:
        return column
    return func.json(case((column, "true"), else_="false"))


def _changed_array(postgres: bool, names: list[str], differs: dict[str, Any]) -> Any:
    """A JSON array of the names whose columns differ, in order."""
    if not names:
        return _json__const(postgres, [])
    cases = [case((differs[n], _const(n)), else_=None) for n in names]
    if postgres:
        return func.to_jsonb(func.array_remove(_pg_array(cases), None))
    values = func.json_each(func.json_array(*cases)).table_valued("value")
    return (
        select(func.json_group_array(values.c.value))
        .where(values.c.value.is_not(None))
        .scalar_subquery()
    )


def _pg_array(items: list[Any]) -> Any:
    from sqlalchemy.dialects.postgresql import array

    return array(items)


def _const(value: Any) -> Any:
    """A constant written into the statement (asyncpg cannot type a bare parameter inside
    jsonb_build_object): our own column and action names, and booleans."""
    if isinstance(value, bool):
        return literal_column("TRUE" if value else "FALSE")
    return literal_column("'" + str(value).replace("'", "''") + "'")
