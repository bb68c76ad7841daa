"""Keys a run's large seed sections declare twice, found in the database: within a staged
section, across two staged sections of one table, against rows read before the run, and a
small section's rows against a large one's stage (app/services/seed_bulk.py).

Each is a 422 naming the later row's file:line and where the key was first declared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, and_, func, literal_column, or_, select, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.seed_rows import ModelSection, Row, invalid

if TYPE_CHECKING:
    from app.services.seed_bulk import Staged


def where_in(source: str, columned: bool) -> Any:
    def where(line: int, index: int) -> str:
        return f"{source}:{line}{':1' if columned else ''}: rows[{index}]"

    return where


def match_key(table: Table, other: Table, key: list[str]) -> Any:
    """`other`'s row has the key of `table`'s. A NULL in a nullable key column matches a
    NULL, as the per-row path's `column == None` (IS NULL) does: with `=` a row keyed
    (code, NULL) was new on every run (a duplicate row, or a unique violation)."""
    return and_(*(same_key(table.c[k], other.c[k], table.c[k].nullable) for k in key))


def same_key(a: Any, b: Any, nullable: bool) -> Any:
    return a.is_not_distinct_from(b) if nullable else a == b


def key_in(columns: list[Any], values: list[tuple]) -> Any:
    """The key `columns` take one of `values` (tuples; None matches NULL, see _match)."""
    plain = [v for v in values if None not in v]
    nulled = [v for v in values if None in v]
    parts = [tuple_(*columns).in_(plain)] if plain else []
    parts += [
        and_(*(c.is_(None) if x is None else c == x for c, x in zip(columns, v, strict=True)))
        for v in nulled
    ]
    return or_(*parts) if parts else literal_column("1 = 0")


def shown(key: list[str], values: Iterable[Any]) -> str:
    from app import yaml_loader

    return ", ".join(f"{k}={yaml_loader.fragment(v)}" for k, v in zip(key, values, strict=True))


async def check_duplicates(
    db: AsyncSession,
    stage: Table,
    table: Table,
    key: list[str],
    where: Any,
    declared: dict[tuple[Any, ...], str],
    staged: Staged,
) -> None:
    """A key given twice: within the section, in an earlier streamed section of the same
    table and key, or in a row read before the run (seed_files' declared keys)."""
    key_columns = [stage.c[k] for k in key]
    first_line = func.min(stage.c.seed_line_)
    query = (
        select(*key_columns)
        .group_by(*key_columns)
        .having(func.count() > 1)
        .order_by(first_line)
        .limit(1)
    )
    found = (await db.exec(query)).first()
    if found is not None:
        lines = (
            await db.exec(
                select(stage.c.seed_line_, stage.c.seed_index_)
                .where(and_(*(c == v for c, v in zip(key_columns, found, strict=True))))
                .order_by(stage.c.seed_line_)
                .limit(2)
            )
        ).all()
        first, second = lines[0], lines[1]
        raise invalid(
            where(second[0], second[1]),
            f"{table.name} row {shown(key, found)} is already declared at "
            f"{declared_at(where, first)}",
        )
    ordered = sorted(key)
    for other, other_key, _ in staged.tables.get(table.name, []):
        if sorted(other_key) != ordered:
            continue
        query = (
            select(stage.c.seed_line_, stage.c.seed_index_, other.c.seed_line_, other.c.seed_index_)
            .select_from(
                stage.join(
                    other,
                    and_(*(same_key(stage.c[k], other.c[k], table.c[k].nullable) for k in key)),
                )
            )
            .order_by(stage.c.seed_line_)
            .limit(1)
        )
        hit = (await db.exec(query)).first()
        if hit is not None:
            raise invalid(
                where(hit[0], hit[1]),
                f"{table.name} row is already declared in another file of this run",
            )
    staged.tables.setdefault(table.name, []).append((stage, key, ""))
    earlier = [
        (values, at)
        for (name, cols, values), at in declared.items()
        if name == table.name and list(cols) == ordered
    ]
    from app.services.seed_upsert import _chunks as batches

    lowered = table.name == "users"
    for chunk in batches(earlier, 500):
        compare = [
            func.lower(stage.c[c]) if lowered and c == "email" else stage.c[c] for c in ordered
        ]
        condition = key_in(compare, [tuple(v) for v, _ in chunk])
        query = (
            select(stage.c.seed_line_, stage.c.seed_index_, *compare)
            .where(condition)
            .order_by(stage.c.seed_line_)
            .limit(1)
        )
        hit = (await db.exec(query)).first()
        if hit is not None:
            at = dict(chunk)[tuple(hit[2:])]
            raise invalid(
                where(hit[0], hit[1]),
                f"{table.name} row {shown(ordered, hit[2:])} is already declared at {at}",
            )


def declared_at(where: Any, found: Any) -> str:
    """`file:line` of a staged row, as other messages name the first declaration."""
    text_ = where(found[0], found[1])
    place = text_.split(": rows[")[0]
    return place[:-2] if place.endswith(":1") and place.count(":") > 1 else place


async def check_against_stages(db: AsyncSession, section: ModelSection, staged: Staged) -> None:
    """A row of a small streamed section whose key a large section of this run already staged."""
    from app.services.seed_files import _identities
    from app.services.seed_upsert import _chunks as batches

    table = section.model.__table__
    ordered = tuple(sorted(section.key))
    wanted: dict[tuple, Row] = {}
    for row in section.rows:
        for _table, columns, values in _identities(section, row):
            if columns == ordered:
                wanted.setdefault(tuple(values), row)
    for stage, key, _ in staged.tables.get(table.name, []):
        if tuple(sorted(key)) != ordered:
            continue
        compare = [
            func.lower(stage.c[c]) if table.name == "users" and c == "email" else stage.c[c]
            for c in ordered
        ]
        for chunk in batches(list(wanted), 500):
            query = select(stage.c.seed_line_, *compare).where(key_in(compare, list(chunk)))
            hit = (await db.exec(query.limit(1))).first()
            if hit is not None:
                row = wanted[tuple(hit[1:])]
                raise invalid(
                    row.where(),
                    f"{table.name} row {shown(list(ordered), hit[1:])} is already declared "
                    "by a large section of this run",
                )
