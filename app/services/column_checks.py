"""Whether a value fits the column that will store it, on SQLite and PostgreSQL alike.

Checked for every value a seed file or roles file gives, before anything is written, so a
value the database would refuse (or silently change) is exit 5 naming file:line: field: reason
instead of a driver error (exit 70) or a row that never converges:

- **NUL characters** (U+0000) in any string, JSON string or JSON key: PostgreSQL's text and
  jsonb refuse them ("invalid byte sequence", "unsupported Unicode escape sequence"), SQLite
  keeps them, so they are refused on both.
- **String(n)**: at most n characters (SQLite does not enforce the length; PostgreSQL does).
- **Integers** by column type: SmallInteger 16-bit, Integer 32-bit, BigInteger 64-bit signed
  (PostgreSQL's smallint/integer/bigint; SQLite would store a 32-bit overflow and fail only
  past 64 bits).
- **Numeric(p, s)**: finite (no NaN or Infinity), at most `s` decimal places (SQLite would keep
  12.345 in Numeric(10, 2), PostgreSQL rounds it: a rerun never converges) and at most `p - s`
  digits before the point (PostgreSQL's "numeric field overflow").
- **Time without zone**: a time of day with a UTC offset is refused (SQLite drops the offset,
  PostgreSQL's `time` ignores it).
- **Floats** in JSON: NaN and Infinity are not JSON (PostgreSQL's json refuses them).
"""

from __future__ import annotations

import math
from datetime import time
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, Numeric, SmallInteger, String, Time

INTEGER_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))  # most specific first


def value_problem(column: Any, value: Any) -> str | None:
    """Why `value` (as column_value made it) cannot be stored in `column`, or None."""
    if value is None:
        return None
    kind = column.type
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character (\\x00), which the database cannot store"
        length = getattr(kind, "length", None)
        if isinstance(kind, String) and length is not None and len(value) > length:
            return f"longer than {length} characters"
        return None
    if isinstance(kind, Numeric) and not isinstance(kind, Integer):
        return _numeric_problem(kind, value)
    if isinstance(kind, Integer) and isinstance(value, int) and not isinstance(value, bool):
        bits = next(b for t, b in INTEGER_BITS if isinstance(kind, t))
        if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            return f"out of range for a {bits}-bit integer column"
        return None
    if isinstance(kind, Time) and isinstance(value, time) and value.tzinfo is not None:
        return "a time of day with a UTC offset is not stored; write it without the offset"
    if isinstance(kind, JSON) or isinstance(value, list | dict):
        return json_problem(value)
    return None


def _numeric_problem(kind: Numeric, value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number"
    if not isinstance(value, Decimal | int | float):
        return None
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return "not a finite number"
    precision, scale = kind.precision, kind.scale
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if (
        scale is not None
        and -exponent > scale
        and number != number.quantize(Decimal(1).scaleb(-scale))
    ):
        return f"more than {scale} decimal places for Numeric({precision}, {scale})"
    if precision is not None:
        whole = len(str(abs(int(number)))) if abs(number) >= 1 else 0
        if whole > precision - (scale or 0):
            return f"out of range for Numeric({precision}, {scale or 0})"
    return None


def json_problem(value: Any) -> str | None:
    """A NUL character or a non-finite float anywhere in a JSON value (iterative walk)."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str) and "\x00" in current:
            return "contains a NUL character (\\x00), which the database cannot store"
        if isinstance(current, float) and not math.isfinite(current):
            return "NaN and Infinity are not JSON numbers"
        if isinstance(current, dict):
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, list | tuple):
            stack.extend(current)
    return None


def row_problem(table: Any, values: dict[str, Any]) -> tuple[str, str] | None:
    """The first (field, reason) among `values` whose field is a column of `table`."""
    for name, value in values.items():
        if name in table.c:
            problem = value_problem(table.c[name], value)
            if problem is not None:
                return name, problem
    return None
