"""Plain CSV records straight to staged tuples: the bulk path's per-row work compiled once
per section instead of interpreted once per cell.

A plain CSV section (no JSON cells, no foreign keys by natural key: every cell a string,
an empty cell NULL) gets a `RecordConverter` made from its header. It writes, once, a small
Python function for exactly these columns (the way collections.namedtuple builds its
class): per cell the checks seed_values.column_value would make, inline for a plain text
column (a user's email lower-cased, the length limit, no NUL character, an empty cell NULL
only where the column allows it), through column_value itself for any other type (its
result remembered per distinct cell: booleans and enums repeat), each value through its
column type's bind processor; then the staged tuple in the table's column order, with the
Python-side defaults in their places (a shared timestamp, a per-row factory such as the
security stamp). No Row, no dict, no loop over columns per record. The generated code
names only positions and helpers: no value from the file is ever part of it.

It never decides anything on its own: a record it cannot take as it is (a value that does
not fit, a NULL the column refuses) is handed to seed_rows.converted_row, which returns
the same values or raises the same file:line:column error as for any other row. What is
accepted and stored is exactly what the per-row rules say (tests/test_seed_bulk_parity.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from app.services.seed_rows import Row

SLOW = object()  # this cell needs converted_row (the value or the error it gives)
MEMO_CELLS = 512  # distinct cells remembered per typed (non-text) column


class RecordConverter:
    """One plain CSV section's records (lists of strings, in header order `names`) to
    tuples of the staged columns `columns` (see the module docstring)."""

    def __init__(
        self,
        model: Any,
        key: list[str],
        names: list[str],
        *,
        columns: list[str],
        shared: dict[str, Any],
        per_row: dict[str, Callable[[], Any]],
        processors: dict[str, Callable[[Any], Any]],
    ) -> None:
        present = set(names) | set(shared) | set(per_row)
        self.columns = [c for c in columns if c in present]
        helpers: dict[str, Any] = {"SLOW": SLOW}
        # Per staged column, the expression of its value: a given cell's converted value
        # `v3`, a shared default `s5` (processed once), a factory's `p7(f7())`.
        position = {name: i for i, name in enumerate(names)}  # a name given twice: the last
        parts = []
        for j, name in enumerate(self.columns):
            process = processors.get(name)
            if name in position:
                parts.append(f"v{position[name]}")
            elif name in shared:
                value = shared[name]
                helpers[f"s{j}"] = process(value) if process and value is not None else value
                parts.append(f"s{j}")
            else:
                helpers[f"f{j}"] = per_row[name]
                if process is None:
                    parts.append(f"f{j}()")
                else:
                    helpers[f"p{j}"] = _skip_none(process)
                    parts.append(f"p{j}(f{j}())")
        built = "(" + "".join(f"{p}, " for p in parts) + ")"
        source = [f"def assemble(v):\n    {_unpack(len(names))}\n    return {built}\n"]
        # Every record goes to converted_row when a name is given twice (it keeps the last
        # value) or a key column is missing (it says so): no fast function then.
        self.fast = len(set(names)) == len(names) and set(key) <= set(names)
        if self.fast:
            lines = ["def convert(r):"]
            for i, name in enumerate(names):
                lines += _cell(model, name, i, processors.get(name), helpers)
            lines.append(f"    return {built}")
            source.append("\n".join(lines) + "\n")
        namespace = dict(helpers)
        code = compile("\n".join(source), f"<seed converter {model.__tablename__}>", "exec")
        exec(code, namespace)
        self.assemble: Callable[[list[Any]], tuple] = namespace["assemble"]
        self.convert: Callable[[list[str]], tuple | None] | None = namespace.get("convert")


def _unpack(count: int) -> str:
    if count == 0:
        return "pass"
    return ", ".join(f"v{i}" for i in range(count)) + ("," if count == 1 else "") + " = v"


def _cell(model: Any, name: str, i: int, process: Any, helpers: dict[str, Any]) -> list[str]:
    """The lines converting cell i (column `name`) into v{i}, or returning None (the slow
    way) where column_value would refuse it or needs to be asked."""
    from app.services.seed_values import plain_text_limits

    table = model.__table__
    column = table.c[name]
    lines = [f"    c = r[{i}]", '    if c == "":']
    # column_value(None): NULL where the column takes it, else "may not be null"
    lines.append(
        f"        v{i} = None" if column.nullable or column.primary_key else "        return None"
    )
    lines.append("    else:")
    limits = plain_text_limits(model, name)
    if limits is not None:  # column_value's plain-text branch, the same checks in line
        if name == "email" and table.name == "users":
            lines.append("        c = c.lower()")
        limit = min((x for x in limits if x), default=0)
        check = f"len(c) > {limit} or " if limit else ""
        lines += [
            f'        if {check}"\\x00" in c:',
            "            return None",
            f"        v{i} = c",
        ]
    else:
        helpers[f"t{i}"] = _typed(model, name)
        lines += [f"        v{i} = t{i}(c)", f"        if v{i} is SLOW:", "            return None"]
    if process is not None:
        helpers[f"q{i}"] = process
        lines.append(f"        v{i} = q{i}(v{i}) if v{i} is not None else None")
    return lines


def _skip_none(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: process(value) if value is not None else None


def _typed(model: Any, name: str) -> Callable[[str], Any]:
    """column_value itself; the result of each distinct cell remembered (column_value of a
    string depends on the string alone, and what is remembered is immutable)."""
    from app.services.seed_values import column_value

    memo: dict[str, Any] = {}

    def convert(cell: str) -> Any:
        found = memo.get(cell, SLOW)
        if found is not SLOW:
            return found
        try:
            value = column_value(model, name, cell)
        except ValueError:
            return SLOW
        if len(memo) < MEMO_CELLS and _immutable(value):
            memo[cell] = value
        return value

    return convert


def _immutable(value: Any) -> bool:
    import datetime
    import decimal
    import enum
    import uuid

    kinds = (str, int, float, bool, bytes, decimal.Decimal, uuid.UUID, enum.Enum)
    return value is None or isinstance(value, (*kinds, datetime.date, datetime.time))


def converted_records(
    records: Iterable[tuple[int, int, list[str]]],
    converter: RecordConverter,
    slow: Callable[[int, int, list[str]], list[Any]],
    size: int,
) -> Iterator[list[tuple[int, int, tuple]]]:
    """Chunks of (line, index, staged tuple); a record the converter cannot take goes
    through `slow` (converted_row: the same values, or its error)."""
    convert, assemble = converter.convert, converter.assemble
    chunk: list[tuple[int, int, tuple]] = []
    for line, index, record in records:
        values = convert(record) if convert is not None else None
        if values is None:
            values = assemble(slow(line, index, record))
        chunk.append((line, index, values))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def slow_values(
    model: Any,
    key: list[str],
    make_row: Callable[[int, int, list[str]], Row],
    names: list[str],
    processors: dict[str, Callable[[Any], Any]],
) -> Callable[[int, int, list[str]], list[Any]]:
    """converted_row for one record (raising its error): the given values in header order,
    processed like the fast ones."""
    from app.services.seed_rows import converted_row

    columns = set(model.__table__.columns.keys())

    def slow(line: int, index: int, record: list[str]) -> list[Any]:
        values = converted_row(make_row(line, index, record), model, key, columns)
        out = []
        for name in names:
            value = values.get(name)
            process = processors.get(name)
            out.append(process(value) if process is not None and value is not None else value)
        return out

    return slow
