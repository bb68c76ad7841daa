"""Rows of a self-referencing table in dependency order, across the sections and files of a run.

A `categories` row may name its parent by natural key (`parent_id: {name: tools}`); the parent
must be written first, wherever it appears in the run. The sections of one table with the same
key are merged into one (at the place of the first; a key is declared once per run, see
seed_files) and its rows ordered so that each comes after the rows it references (a stable
Kahn sort: otherwise the order of the files). A row referencing a row not in the run is looked
up in the database as before. A real cycle (a row that is its own ancestor) is a 422 naming the
rows.
"""

from __future__ import annotations

from typing import Any

from app.services.seed_rows import ModelSection, Row, invalid


def self_columns(model: Any) -> list[str]:
    table = model.__table__
    return [c.name for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]


def in_dependency_order(sections: list[ModelSection]) -> list[ModelSection]:
    """`sections` with each self-referencing table's rows merged and ordered (see above)."""
    merged: list[ModelSection] = []
    first: dict[tuple[str, tuple[str, ...]], ModelSection] = {}
    for section in sections:
        columns = self_columns(section.model)
        ident = (section.model.__tablename__, tuple(section.key))
        if not columns:
            merged.append(section)
        elif ident in first:
            first[ident].rows.extend(section.rows)
        else:
            first[ident] = ModelSection(
                model=section.model, key=section.key, rows=list(section.rows)
            )
            merged.append(first[ident])
    for section in first.values():
        section.rows = _ordered(section.rows, self_columns(section.model))
    return merged


def _ordered(rows: list[Row], columns: list[str]) -> list[Row]:
    """A stable topological order (heap by position): O(rows x log rows) plus the references."""
    import heapq

    index: dict[str, dict[str, set[int]]] = {}

    def having(column: str, value: Any) -> set[int]:
        if column not in index:
            index[column] = {}
            for i, row in enumerate(rows):
                if column in row.data and not isinstance(row.data[column], dict | list):
                    index[column].setdefault(str(row.data[column]), set()).add(i)
        return index[column].get(str(value), set())

    waiting = [0] * len(rows)
    children: list[list[int]] = [[] for _ in rows]
    for i, row in enumerate(rows):
        for column in columns:
            wanted = row.data.get(column)
            if not isinstance(wanted, dict) or not wanted:
                continue
            sets = [having(str(k), v) for k, v in wanted.items()]
            for parent in set.intersection(*sets):  # itself included: a cycle
                children[parent].append(i)
                waiting[i] += 1
    ready = [i for i in range(len(rows)) if waiting[i] == 0]
    heapq.heapify(ready)
    ordered: list[Row] = []
    while ready:
        i = heapq.heappop(ready)
        ordered.append(rows[i])
        for child in children[i]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    if len(ordered) < len(rows):
        caught = [rows[i] for i in range(len(rows)) if waiting[i] > 0]
        shown = ", ".join(f"{r.source}:{r.line}" for r in caught[:5])
        raise invalid(caught[0].where(), f"rows reference each other in a cycle ({shown})")
    return ordered
