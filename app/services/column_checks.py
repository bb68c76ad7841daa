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
- **Floats** in JSON: NaN and Infinity are not JSON (PostgreSQL's json refuses them); in a
  Float column: NaN never compares equal (a rerun would rewrite it forever) and an overflow
  such as 1e400 is not the value written.
- **Lone surrogates** (U+D800 to U+DFFF, a JSON `"\\ud800"`) in any string, JSON string or
  key: not Unicode text, so no database can store them as UTF-8.
- **Dates and timestamps at the calendar's ends**: 0001-01-01 and 9999-12-31, and the
  instants 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, are what the PostgreSQL
  driver (asyncpg) sends as -infinity / infinity.
- **JSON numbers a double changes** (an `InexactFloat` from `json_number`): in a JSON
  value, or for a Numeric or Integer column.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Time,
)

INTEGER_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))  # most specific first
# PostgreSQL's numeric keeps up to 131,072 digits before the point and 16,383 after
NUMERIC_WHOLE_DIGITS, NUMERIC_PLACES = 131_072, 16_383
# asyncpg sends these as -infinity / infinity (the UTC wall clock, for a timestamptz)
INFINITE_DATES = {date.min: "-infinity", date.max: "infinity"}
INFINITE_INSTANTS = {datetime.min: "-infinity", datetime.max: "infinity"}


class InexactFloat(float):
    """A JSON number whose text a double does not keep (0.1234567890123456789, 1e400):
    json_number's result, refused where the exact number would be stored."""

    text: str

    def problem(self) -> str:
        shown = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        return (
            f"the JSON number {shown} would be stored as {float(self)!r} (a double); "
            "write it as a string"
        )


def json_number(text: str) -> float:
    """json.loads's parse_float: the float, marked InexactFloat when it is not the number
    written (a string kept as a string stays exact)."""
    value = float(text)
    if repr(value) != text and (not math.isfinite(value) or Decimal(text) != Decimal(repr(value))):
        inexact = InexactFloat(value)
        inexact.text = text
        return inexact
    return value


def surrogate_problem(text: str) -> str | None:
    """A lone surrogate in `text` (valid in JSON's \\u escapes, never UTF-8), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"contains a lone surrogate (\\u{ord(text[exc.start]):04x}), which is not Unicode text"
        )
    return None


def value_problem(column: Any, value: Any) -> str | None:
    """Why `value` (as column_value made it) cannot be stored in `column`, or None."""
    if value is None:
        return None
    kind = column.type
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character (\\x00), which the database cannot store"
        if not value.isascii() and (problem := surrogate_problem(value)) is not None:
            return problem
        length = getattr(kind, "length", None)
        if isinstance(kind, String) and length is not None and len(value) > length:
            return f"longer than {length} characters"
        return None
    if isinstance(kind, Numeric | Float) and not isinstance(kind, Integer):
        return _numeric_problem(kind, value)
    if isinstance(kind, Integer) and isinstance(value, int) and not isinstance(value, bool):
        bits = next(b for t, b in INTEGER_BITS if isinstance(kind, t))
        if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            return f"out of range for a {bits}-bit integer column"
        return None
    if isinstance(kind, DateTime) and isinstance(value, datetime):
        infinite = INFINITE_INSTANTS.get(value.replace(tzinfo=None))
        if infinite is not None:
            return f"{value.isoformat()} is sent as {infinite} by the PostgreSQL driver"
        return None
    if isinstance(kind, Date) and type(value) is date and value in INFINITE_DATES:
        return f"{value.isoformat()} is sent as {INFINITE_DATES[value]} by the PostgreSQL driver"
    if isinstance(kind, Time) and isinstance(value, time) and value.tzinfo is not None:
        return "a time of day with a UTC offset is not stored; write it without the offset"
    if isinstance(kind, JSON) or isinstance(value, list | dict):
        return json_problem(value)
    return None


def _numeric_problem(kind: Numeric | Float, value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number"
    if isinstance(kind, Float):
        return None  # a binary precision, not decimal digits
    if not isinstance(value, Decimal | int | float):
        return None
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return "not a finite number"
    precision, scale = kind.precision, kind.scale
    # Counted from the digits, never by int() or quantize(): "1e999999999" must not build a
    # billion-digit integer, and quantize() fails past the context's 28 digits.
    shape = number.as_tuple()
    assert isinstance(shape.exponent, int)
    digits = "".join(map(str, shape.digits)).rstrip("0")
    places = max(0, -(shape.exponent + len(shape.digits) - len(digits))) if digits else 0
    whole = max(0, number.adjusted() + 1) if digits else 0
    if scale is not None and places > scale:
        return f"more than {scale} decimal places for Numeric({precision}, {scale})"
    if precision is not None and whole > precision - (scale or 0):
        return f"out of range for Numeric({precision}, {scale or 0})"
    if whole > NUMERIC_WHOLE_DIGITS or places > NUMERIC_PLACES:
        return "out of range for PostgreSQL's numeric type"
    return None


def json_problem(value: Any) -> str | None:
    """A NUL character or a non-finite float anywhere in a JSON value (iterative walk)."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if "\x00" in current:
                return "contains a NUL character (\\x00), which the database cannot store"
            if not current.isascii() and (problem := surrogate_problem(current)) is not None:
                return problem
        if isinstance(current, float) and not math.isfinite(current):
            return "NaN and Infinity are not JSON numbers"
        if isinstance(current, InexactFloat):
            return current.problem()
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
