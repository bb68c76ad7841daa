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
| Boolean | true / false, 1 / 0; text: true, false, t, f, yes, no, y, n, on, off, 1, 0 |
| SmallInteger / Integer / BigInteger | an integer, 7.0; text of digits 0-9, sign, `.0` |
| Numeric / Float | an integer or a decimal number; text of digits, sign, point, exponent |
| Date | a YAML date; text YYYY-MM-DD (also at exact midnight: YYYY-MM-DD 00:00:00) |
| DateTime | a YAML timestamp or date; ISO 8601 text: YYYY-MM-DD[(T| )HH:MM[:SS[.f]][offset]] |
| Time | text HH:MM[:SS[.ffffff]][offset] (an offset is then refused by column_checks) |
| Interval | ISO 8601 duration text: P1DT2H, PT0.5S, -P1D, no months or years |
| Uuid | UUID text |
| LargeBinary | base64 text, PostgreSQL's hex text \\x00ff, a YAML !!binary value |
| Enum | the enum's value; the member's name where no member has it as value |
| String / Text | text |
| ARRAY | a list, each item as its item type takes it (an integer or boolean item not as text) |
| JSON | any JSON value: text keys only; no YAML date, timestamp or binary inside |

An offset is Z, +HH:MM, +HHMM or +HH. Number and boolean text may have spaces around it
(` 12 `: nothing else can be meant); any other typed text is read as written. Values a
`seed fake` factory gives may also be the Python value itself (a Decimal, a timedelta, a
time, an enum member, ...). A project's own TypeDecorator is left to its model field.
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

from app.services.column_checks import InexactFloat

# The number forms of a CSV cell or a quoted YAML / JSON string for a number column: ASCII
# digits, an optional sign, point and exponent (and the words the finiteness check names).
# Python would also take "1_000" and Arabic-Indic digits; no file format means those. An
# integer may end in a zero fraction (`7.0`: pandas writes an integer column with gaps so).
_PLAIN_INTEGER = re.compile(r"\s*([+-]?[0-9]+)(?:\.0*)?\s*", re.ASCII)
_PLAIN_NUMBER = re.compile(
    r"\s*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)\s*",
    re.ASCII | re.IGNORECASE,
)
# A seconds fraction with a non-zero digit past the sixth: the database keeps microseconds.
_BEYOND_MICROSECONDS = re.compile(r"[.,][0-9]{6}[0-9]*[1-9]", re.ASCII)
# ISO 8601 text as exporters write it: `T` or a space, seconds and a fraction optional, `Z`,
# `+HH:MM`, `+HHMM` or PostgreSQL's `+HH` (psql, COPY, pg_dump). Pydantic reads the rest, but
# takes digits alone as Unix time and refuses `+HH`: that offset is given its minutes.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_CLOCK = r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
_OFFSET = r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)"
_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_ISO_DATETIME = re.compile(rf"{_DAY}(?:[Tt ]{_CLOCK}{_OFFSET}?)?", re.ASCII)
_ISO_TIME = re.compile(rf"{_CLOCK}{_OFFSET}?", re.ASCII)  # an offset: column_checks refuses
_HOUR_OFFSET = re.compile(rf"(?:^|[Tt ]){_CLOCK}[+-][0-9]{{2}}\Z", re.ASCII)
# A date written as a timestamp at exact midnight, no offset (pandas, Excel, a DATETIME export)
_MIDNIGHT_DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]00:00(?::00(?:[.,]0*)?)?", re.ASCII)
_ISO_DURATION = re.compile(r"[+-]?P(?=T?[0-9.,]).*", re.ASCII)
# Months and years before the `T` (after it, M is minutes)
_CALENDAR_DURATION = re.compile(r"[+-]?P[^T]*[YyMm]", re.ASCII)
BOOLEAN_WORDS = frozenset(["true", "false", "t", "f", "yes", "no", "y", "n", "on", "off", "1", "0"])
DATETIME_EXPECTED = "expected an ISO 8601 date and time such as 2024-05-01T08:00:00+02:00"


def shape_problem(kind: Any, value: Any) -> str | None:
    """Why `value` (not None) is no form column type `kind` takes (the table above), or None."""
    if isinstance(kind, TypeDecorator) and not isinstance(kind, Interval):
        if type(kind).__name__ != "AutoString":  # SQLModel's plain str column
            return None  # a project's own type: its model field decides
        kind = kind.impl_instance
    if isinstance(kind, Boolean):
        if type(value) is bool or (type(value) is int and value in (0, 1)):
            return None  # JSON 0 / 1: MySQL's tinyint(1), pandas
        if type(value) is str and value.strip().lower() in BOOLEAN_WORDS:
            return None
        return f"expected true or false (or 1 / 0), not {shown(value)}"
    if isinstance(kind, Integer):
        if isinstance(value, int) and not isinstance(value, bool):
            return None
        if isinstance(value, float) and value.is_integer():
            return None  # JSON 7.0; a double that changed the number: column_value says so
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
            if isinstance(item, InexactFloat) and not isinstance(item_kind, Float):
                return f"item {i}: {item.problem()}"
        return None
    if isinstance(kind, JSON):
        return json_shape_problem(value)
    return None


def _temporal_problem(kind: Any, value: Any) -> str | None:
    if isinstance(kind, Interval):
        if isinstance(value, timedelta):
            return None
        if type(value) is str and _ISO_DURATION.fullmatch(value):
            if _CALENDAR_DURATION.match(value):
                return (
                    "months and years have no fixed length in a timedelta: write days, "
                    f"e.g. P30D, not {shown(value)}"
                )
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
        return f"{DATETIME_EXPECTED}, not {shown(value)}"
    if isinstance(kind, Date):
        if isinstance(value, date) and not isinstance(value, datetime):
            return None
        if isinstance(value, datetime) and value.tzinfo is None and value.time() == time():
            return None  # an unquoted YAML 2024-05-01 00:00:00
        if type(value) is str and (_ISO_DATE.fullmatch(value) or _MIDNIGHT_DATE.fullmatch(value)):
            return None
        timestamp = isinstance(value, datetime) or (
            type(value) is str and _ISO_DATETIME.fullmatch(value) is not None
        )
        hint = " (a time only as exact midnight with no offset)" if timestamp else ""
        return f"expected an ISO 8601 date such as 2024-05-01, not {shown(value)}{hint}"
    if isinstance(value, time):
        return None
    if type(value) is str and _ISO_TIME.fullmatch(value):
        return _fraction_problem(value)
    return f"expected a time of day such as 13:30:00, not {shown(value)}{_sexagesimal(value)}"


def normal_form(kind: Any, value: Any) -> Any:
    """`value` (shape_problem found no problem) in the form the model's pydantic field reads
    as meant: a boolean's spaces cut, an integral 7.0 the integer, a date at midnight the
    date, an enum's stored name its member, a `+HH` offset `+HH:00`."""
    if isinstance(kind, TypeDecorator) and not isinstance(kind, Interval):
        return value
    if isinstance(kind, Boolean):
        if type(value) is int:
            return bool(value)
        return value.strip() if type(value) is str else value
    if isinstance(kind, Integer):
        if isinstance(value, float):
            return int(value)
        if type(value) is str:
            found = _PLAIN_INTEGER.fullmatch(value)
            return found.group(1) if found else value
        return value
    if isinstance(kind, DateTime):
        return _minutes_offset(value) if type(value) is str else value
    if isinstance(kind, Date):
        if isinstance(value, datetime):
            return value.date()
        if type(value) is str and (found := _MIDNIGHT_DATE.fullmatch(value)):
            return found.group(1)
        return value
    if isinstance(kind, Time):
        return _minutes_offset(value) if type(value) is str else value
    if isinstance(kind, Enum) and type(value) is str:
        return _enum_member(kind, value)
    if isinstance(kind, ARRAY) and isinstance(value, list | tuple):
        return [None if item is None else normal_form(kind.item_type, item) for item in value]
    return value


def _minutes_offset(text: str) -> str:
    """PostgreSQL's hour-only offset `+02` written `+02:00`, which pydantic reads."""
    return text + ":00" if _HOUR_OFFSET.search(text) else text


def _enum_member(kind: Any, text: str) -> Any:
    """SQLAlchemy stores an enum member by NAME, so a PostgreSQL export holds `happy` where
    the seed's form is the value 'HAPPY-1': the name is taken when no member has it as its
    value (then it would mean that member)."""
    enum_class = getattr(kind, "enum_class", None)
    if enum_class is None:
        return text
    members = enum_class.__members__
    if text in members and not any(text == str(m.value) for m in enum_class):
        return members[text]
    return text


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
