"""Foreign keys by natural key (`owner_id: {email: ...}`), resolved for a whole section at once.

One query per chunk of distinct looked-up values of the same shape instead of one per row:
a 100,000-row section naming 1,000 owners costs one query, not 1,000 (or 100,000).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.seed_rows import ModelSection
from app.services.seed_upsert import _chunks
from app.services.seed_values import column_value


def lookup_key(column: str, value: dict[str, Any]) -> tuple[str, tuple]:
    return (column, tuple(sorted((str(k), str(v)) for k, v in value.items())))


async def prefetch_references(db: AsyncSession, section: ModelSection) -> dict[tuple, Any]:
    """Every `{email: ...}` foreign key of the section resolved set-based: one query per
    chunk of distinct values of the same shape, not one per row. Values that match no row
    or several are left out (the per-row lookup then names the row and the problem)."""
    from sqlalchemy import tuple_

    from app.services.seed_rows import table_models

    table = section.model.__table__
    wanted: dict[tuple[str, tuple[str, ...]], dict[tuple, tuple]] = {}
    for row in section.rows:
        for column, value in row.data.items():
            if not isinstance(value, dict) or not value or not table.c[column].foreign_keys:
                continue
            target = next(iter(table.c[column].foreign_keys)).column
            names = tuple(sorted(str(k) for k in value))
            if target.table is table or not set(names) <= set(target.table.c.keys()):
                continue
            ref_model = table_models().get(target.table.name)
            try:
                typed = tuple(
                    column_value(ref_model, k, value[k]) if ref_model is not None else value[k]
                    for k in names
                )
            except (ValueError, KeyError):
                continue
            wanted.setdefault((column, names), {})[lookup_key(column, value)] = typed
    cache: dict[tuple, Any] = {}
    for (column, names), lookups in wanted.items():
        target = next(iter(table.c[column].foreign_keys)).column
        ref_columns = [target.table.c[n] for n in names]
        by_value: dict[tuple, list[Any]] = {}
        distinct = list(dict.fromkeys(lookups.values()))
        for chunk in _chunks(distinct, 2000):
            condition = (
                ref_columns[0].in_([v[0] for v in chunk])
                if len(ref_columns) == 1
                else tuple_(*ref_columns).in_(list(chunk))
            )
            query = select(target, *ref_columns).where(condition)
            for found in (await db.exec(query)).all():
                by_value.setdefault(tuple(found[1:]), []).append(found[0])
        for lookup, typed in lookups.items():
            matches = by_value.get(typed, [])
            if len(matches) == 1:
                cache[lookup] = matches[0]
    return cache
