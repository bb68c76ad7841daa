"""Which shapes of value each column type takes from a seed file, before pydantic reads it.

The model's pydantic field converts a value, and in its lax mode it converts too much: digit
text or a number in a Date or DateTime column was Unix time (`20240501` became 1970-08-23,
milliseconds above about 2e10), a JSON `true` in an Integer or Float column was 1, an
integral `7.0` an integer, `["1"]` in an ARRAY(Integer) `[1]`, a bare YAML number in an
Interval column seconds. `shape_problem` lets through only the forms below, whatever the
format (YAML, JSON Lines, CSV, whose cells are text) and whatever the path (per row, staged,
direct: all convert with seed_values.column_value), and says why anything else is refused:

| column | accepted |
|---|---|
| Boolean | true / false; text: true, false, t, f, yes, no, y, n, on, off, 1, 0 (any case) |
| SmallInteger / Integer / BigInteger | an integer; text of digits 0-9, optional sign |
| Numeric / Float | an integer or a decimal number; text of digits, sign, point, exponent |
| Date | a YAML date; text YYYY-MM-DD |
| DateTime | a YAML timestamp or date; ISO 8601 text starting YYYY-MM-DD |
| Time | text HH:MM[:SS[.ffffff]] |
| Interval | ISO 8601 duration text: P1DT2H, PT0.5S, -P1D |
| Uuid | UUID text |
| LargeBinary | base64 text, a YAML !!binary value |
| Enum | the enum's value |
| String / Text | text |
| ARRAY | a list, each item as its item type takes it (an integer or boolean item not as text) |
| JSON | any JSON value: text keys only; no YAML date, timestamp or binary inside |

Number text may have spaces around it (` 12 `: nothing else can be meant); any other typed
text is read as written. Values a `seed fake` factory gives may also be the Python value
itself (a Decimal, a timedelta, a time, an enum member, ...). A project's own TypeDecorator
is left to its model field.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum as PyEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Interval,
    LargeBinary,
    Numeric,
    String,
    Time,
    TypeDecorator,
    Uuid,
)

# The number forms of a CSV cell or a quoted YAML / JSON string for a number column: ASCII
# digits, an optional sign, point and exponent (and the words the finiteness check names).
# Python would also take "1_000" and Arabic-Indic digits; no file format means those.
_PLAIN_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_PLAIN_NUMBER = re.compile(
    r"\s*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)\s*",
    re.ASCII | re.IGNORECASE,
)
# A seconds fraction with a non-zero digit past the sixth: the database keeps microseconds.
_BEYOND_MICROSECONDS = re.compile(r"[.,][0-9]{6}[0-9]*[1-9]", re.ASCII)
# ISO 8601 text: pydantic reads the rest strictly, but takes digits alone as Unix time.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}.*)?", re.ASCII)
_ISO_TIME = re.compile(  # an offset is read, then refused by column_checks
    r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?", re.ASCII
)
_ISO_DURATION = re.compile(r"[+-]?P(?=T?[0-9.,]).*", re.ASCII)
BOOLEAN_WORDS = frozenset(["true", "false", "t", "f", "yes", "no", "y", "n", "on", "off", "1", "0"])


def shape_problem(kind: Any, value: Any) -> str | None:
    """Why `value` (not None) is no form column type `kind` takes (the table above), or None."""
    if isinstance(kind, TypeDecorator) and not isinstance(kind, Interval):
        if type(kind).__name__ != "AutoString":  # SQLModel's plain str column
            return None  # a project's own type: its model field decides
        kind = kind.impl_instance
    if isinstance(kind, Boolean):
        if type(value) is bool or (type(value) is str and value.lower() in BOOLEAN_WORDS):
            return None
        return f"expected true or false, not {shown(value)}"
    if isinstance(kind, Integer):
        if isinstance(value, int) and not isinstance(value, bool):
            return None
        if type(value) is str:
            return None if _PLAIN_INTEGER.fullmatch(value) else _text_expected("an integer")
        return f"expected an integer, not {shown(value)}"
    if isinstance(kind, Numeric | Float):
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return None
        if type(value) is str:
            return None if _PLAIN_NUMBER.fullmatch(value) else _text_expected("a number")
        return f"expected a number, not {shown(value)}"
    if isinstance(kind, Date | DateTime | Time | Interval):
        return _temporal_problem(kind, value)
    if isinstance(kind, Uuid):
        if isinstance(value, str | uuid.UUID):
            return None
        return f"expected a UUID as text, not {shown(value)}"
    if isinstance(kind, LargeBinary):
        if isinstance(value, str | bytes | bytearray):
            return None
        return f"expected base64 text, not {shown(value)}"
    if isinstance(kind, Enum):
        if isinstance(value, str | PyEnum) or (
            isinstance(value, int) and not isinstance(value, bool)
        ):
            return None
        return f"expected one of the enum's values, not {shown(value)}"
    if isinstance(kind, String):
        return None if isinstance(value, str) else f"expected text, not {shown(value)}"
    if isinstance(kind, ARRAY):
        if not isinstance(value, list | tuple):
            return f"expected a list, not {shown(value)}"
        item_kind = kind.item_type
        for i, item in enumerate(value):
            if item is None:
                continue
            # An item is JSON: an integer or a boolean has its own form there, never text
            if type(item) is str and isinstance(item_kind, Integer | Boolean):
                return f"item {i}: expected a JSON {_json_kind(item_kind)}, not {shown(item)}"
            if (problem := shape_problem(item_kind, item)) is not None:
                return f"item {i}: {problem}"
        return None
    if isinstance(kind, JSON):
        return json_shape_problem(value)
    return None


def _temporal_problem(kind: Any, value: Any) -> str | None:
    if isinstance(kind, Interval):
        if isinstance(value, timedelta):
            return None
        if type(value) is str and _ISO_DURATION.fullmatch(value):
            return _fraction_problem(value)
        return (
            "expected an ISO 8601 duration such as P1DT2H or PT90S, "
            f"not {shown(value)}{_sexagesimal(value)}"
        )
    if isinstance(kind, DateTime):
        if isinstance(value, date):  # a datetime, or a YAML date: its midnight
            return None
        if type(value) is str and _ISO_DATETIME.fullmatch(value):
            return _fraction_problem(value)
        return (
            f"expected an ISO 8601 date and time such as 2024-05-01T10:00:00Z, not {shown(value)}"
        )
    if isinstance(kind, Date):
        if isinstance(value, date) and not isinstance(value, datetime):
            return None
        if type(value) is str and _ISO_DATE.fullmatch(value):
            return None
        return f"expected an ISO 8601 date such as 2024-05-01, not {shown(value)}"
    if isinstance(value, time):
        return None
    if type(value) is str and _ISO_TIME.fullmatch(value):
        return _fraction_problem(value)
    return f"expected a time of day such as 13:30:00, not {shown(value)}{_sexagesimal(value)}"


def _sexagesimal(value: Any) -> str:
    """YAML 1.1 reads an unquoted 13:30 as the number 810 (base 60): say so."""
    if isinstance(value, int) and not isinstance(value, bool):
        return " (YAML reads an unquoted 13:30 as a number: quote it)"
    return ""


def _json_kind(kind: Any) -> str:
    return "boolean" if isinstance(kind, Boolean) else "integer"


def _fraction_problem(text: str) -> str | None:
    if _BEYOND_MICROSECONDS.search(text):
        return "more than 6 fractional digits of a second (the column keeps microseconds)"
    return None


def _text_expected(what: str) -> str:
    if what == "an integer":
        return "expected an integer written with the digits 0-9"
    return "expected a number written with the digits 0-9 (and . e + -)"


def json_shape_problem(value: Any) -> str | None:
    """A value inside a JSON value that JSON has no form for (a YAML date, timestamp or
    !!binary; a mapping key that is not text): json.dumps would fail (exit 70) or turn the
    key `1` into `"1"`, so that every rerun saw a change."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key in current:
                if not isinstance(key, str):
                    return f"a JSON key must be text, not {shown(key)}; quote it"
            stack.extend(current.values())
        elif isinstance(current, list | tuple):
            stack.extend(current)
        elif current is not None and not isinstance(current, str | int | float):
            return f"{shown(current)} is not a JSON value; quote it"
    return None


def shown(value: Any) -> str:
    """A value as the error names it: its form in the file, cut short."""
    if isinstance(value, bool):
        return "the boolean " + ("true" if value else "false")
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, datetime):
        return f"the timestamp {value.isoformat()}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, int | float | Decimal):
        text = str(value)
        return "the number " + (text if len(text) <= 40 else text[:37] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bytes | bytearray):
        return "binary data"
    return f"a {type(value).__name__}"
