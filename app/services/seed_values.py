"""Column values to and from seed files: the same value whatever the backend.

`column_value` turns what YAML (or the JSON of `seed dump --json`) gives into the value the
column stores; `plain_value` turns a stored value back into plain YAML/JSON data, so
`seed dump` followed by `seed run` changes nothing:

| column type | in the file | stored as |
|---|---|---|
| Uuid | "7d0f...-..." | uuid.UUID |
| Numeric | "12.50" (a string: no float rounding) or a number | Decimal |
| Date / Time | "2024-05-01" / "13:30:00" | date / time |
| DateTime(timezone=True) | ISO 8601; no offset means UTC | the same instant, UTC |
| DateTime (naive) | ISO 8601; an offset is converted to UTC | naive UTC wall clock |
| LargeBinary | base64 text (or a YAML !!binary value) | bytes |
| Interval | ISO 8601 duration text ("P1DT2H"), no months or years | timedelta |
| Enum | the enum's value (or its name, if no member's value) | the enum member |
| JSON, ARRAY | any YAML mapping / list | as given |

Only the forms seed_value_shapes lists get that far (no Unix time in a Date, no boolean in
a number column); the model's own pydantic field (type and constraints such as max_length)
then validates each given value; a value that does not fit raises ValueError with a short
reason.
"""

from __future__ import annotations

import base64
import binascii
import enum
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import DateTime, Float, LargeBinary

from app.services.column_checks import InexactFloat, surrogate_problem
from app.services.seed_value_shapes import normal_form, shape_problem


@lru_cache(maxsize=512)
def _adapter(model: Any, name: str) -> TypeAdapter | None:
    field = model.model_fields.get(name)
    if field is None:
        return None
    annotation = field.annotation
    if field.metadata:
        annotation = Annotated[(annotation, *field.metadata)]  # type: ignore[assignment]
    return TypeAdapter(annotation)


@lru_cache(maxsize=512)
def plain_text_limits(model: Any, name: str) -> tuple[int, int] | None:
    """For a String column whose pydantic field is a plain `str` (optionally with max_length
    and nothing else): (the field's max_length, the column's length), 0 for none; else None.
    Such a column takes a string as is, so the value needs only pydantic's length test and
    column_checks' NUL and length test, done here without a TypeAdapter call (the profile of
    a 20,000-row seed spent half its time validating plain strings)."""
    from annotated_types import MaxLen
    from sqlalchemy import String
    from sqlmodel.sql.sqltypes import AutoString

    column = model.__table__.c[name]
    field = model.model_fields.get(name)
    if field is None or type(column.type) not in (String, AutoString):
        return None
    if field.annotation not in (str, str | None):
        return None
    # sqlmodel's own FieldInfoMetadata carries column options, no validation
    checks = [m for m in field.metadata if type(m).__name__ != "FieldInfoMetadata"]
    limits = [m.max_length for m in checks if type(m) is MaxLen]
    if len(checks) > 1 or len(limits) != len(checks):
        return None
    return (limits[0] if limits else 0) or 0, column.type.length or 0


def column_value(model: Any, name: str, value: Any) -> Any:
    """`value` from a seed file as column `name` of `model` stores it; ValueError if unfit.

    A user's email is lower-cased, as the users service and `users:` sections store it (the
    users table refuses anything else): a `model: User` row or a `{email: ...}` reference
    with capitals is the same user, not a constraint violation or "no users row"."""
    if type(value) is str and name == "email" and model.__tablename__ == "users":
        value = value.lower()
    if type(value) is str:
        limits = plain_text_limits(model, name)
        if limits is not None:
            field_limit, column_limit = limits
            if field_limit and len(value) > field_limit:
                raise ValueError(f"String should have at most {field_limit} characters")
            if "\x00" in value:
                raise ValueError(
                    "contains a NUL character (\\x00), which the database cannot store"
                )
            if not value.isascii() and (problem := surrogate_problem(value)) is not None:
                raise ValueError(problem)
            if column_limit and len(value) > column_limit:
                raise ValueError(f"longer than {column_limit} characters")
            return value
    column = model.__table__.c[name]
    if value is None:
        if not column.nullable and not column.primary_key:
            raise ValueError("may not be null")
        return None
    if (problem := shape_problem(column.type, value)) is not None:
        raise ValueError(problem)
    if isinstance(value, InexactFloat) and not isinstance(column.type, Float):
        raise ValueError(value.problem())
    written, value = value, normal_form(column.type, value)
    if isinstance(column.type, LargeBinary) and isinstance(value, str):
        value = _binary(value)
    adapter = _adapter(model, name)
    if adapter is not None:
        try:
            value = adapter.validate_python(value)
        except ValidationError as exc:
            error = exc.errors(include_input=False, include_url=False)[0]
            raise ValueError(error["msg"]) from None
    if isinstance(column.type, Float) and value == 0 and (problem := _underflow(written)):
        raise ValueError(problem)
    if isinstance(column.type, DateTime) and isinstance(value, datetime):
        value = _instant(value, aware=bool(column.type.timezone))
    from app.services.column_checks import value_problem

    if (problem := value_problem(column, value)) is not None:
        raise ValueError(problem)
    return value


def _binary(text: str) -> bytes:
    """Base64 text, or PostgreSQL's own bytea text `\\x00ff` (psql, COPY, pg_dump): a
    backslash is no base64 character, so the two cannot be confused."""
    try:
        if text.startswith("\\x") and text[2:].isalnum():
            return bytes.fromhex(text[2:])
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "expected base64 text (or PostgreSQL's hex form \\x00ff) for a binary column"
        ) from None


def _underflow(written: Any) -> str | None:
    """A non-zero number too small for a double (1e-400) that the column would keep as 0."""
    text = getattr(written, "text", written)  # an InexactFloat: the JSON number's text
    if not isinstance(text, str):
        return None
    try:
        exact = Decimal(text.strip())
    except ArithmeticError:
        return None
    if exact.is_finite() and exact != 0:
        return f"{text.strip()} is too small for a double: it would be stored as 0"
    return None


def _instant(value: datetime, *, aware: bool) -> datetime:
    """UTC, as the column keeps it: aware for timestamptz, naive UTC wall clock otherwise.

    SQLite keeps neither zone nor offset; storing the UTC wall clock makes both backends hold
    the same instant (and a rerun compare equal)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC) if aware else value
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("outside the years 1 to 9999 once converted to UTC") from None
    return value if aware else value.replace(tzinfo=None)


def same(column: Any, current: Any, wanted: Any) -> bool:
    """Whether the stored `current` already equals `wanted` (column_value's result)."""
    if isinstance(current, datetime) and isinstance(wanted, datetime):
        # SQLite hands timestamptz values back without a zone; they were written in UTC.
        if current.tzinfo is None and wanted.tzinfo is not None:
            current = current.replace(tzinfo=UTC)
        if wanted.tzinfo is None and current.tzinfo is not None:
            current = current.astimezone(UTC).replace(tzinfo=None)
    if isinstance(current, memoryview):
        current = current.tobytes()
    if isinstance(current, timedelta) and abs(current.days) >= 30:
        # asyncpg reads a stored '1 mon' as 30 days and '1 year' as 365, which PostgreSQL
        # itself calls 30 and 360 days: the database decides (seed_models._stored_differs)
        return False
    return json_same(current, wanted)


def json_same(current: Any, wanted: Any) -> bool:
    """`==`, except that inside lists and mappings a boolean equals only a boolean: Python's
    `True == 1` would call `{"on": 1}` to `{"on": true}` no change and never write it (jsonb,
    which the bulk path compares with, calls them different). Numbers compare by value
    (`1 == 1.0`, as jsonb), mapping keys in any order."""
    if isinstance(current, bool) or isinstance(wanted, bool):
        return type(current) is type(wanted) and current == wanted
    if isinstance(current, dict) and isinstance(wanted, dict):
        return current.keys() == wanted.keys() and all(
            json_same(current[k], wanted[k]) for k in current
        )
    if isinstance(current, list | tuple) and isinstance(wanted, list | tuple):
        return len(current) == len(wanted) and all(
            json_same(a, b) for a, b in zip(current, wanted, strict=True)
        )
    return current == wanted


def copy_processor(column: Any, dialect: Any) -> Any:
    """The function turning `column`'s values into what `dialect`'s driver is sent, or None:
    the processor of the dialect's own type, exactly as SQLAlchemy binds an INSERT.

    Not `column.type.bind_processor(dialect)`: on asyncpg the generic Numeric and Float
    processor is `to_float` (12345678901234567890.123 became 12345678901234567168) and the
    generic Interval one turns a timedelta into a datetime; asyncpg's own types take the
    Decimal and the timedelta as they are. A TypeDecorator's dialect_impl runs its
    process_bind_param and then its impl's processor."""
    from sqlalchemy import Boolean

    impl = column.type.dialect_impl(dialect)
    if dialect.supports_native_boolean and isinstance(impl, Boolean):
        return None  # a native boolean's processor would only turn True into True
    return impl.bind_processor(dialect)


def json_null_columns(table: Any, dialect: Any) -> list[str]:
    """Columns of `table` whose type, on `dialect`, writes Python None as the JSON text
    `null` rather than SQL NULL (SQLAlchemy's JSON without none_as_null)."""
    from sqlalchemy import JSON

    found = []
    for column in table.columns:
        impl = column.type.dialect_impl(dialect)
        if isinstance(impl, JSON) and not impl.none_as_null:
            found.append(column.name)
    return found


def sql_nulls(params: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """`params` with None in the columns `names` (json_null_columns) made SQL NULL.

    A seed's null (a YAML `null`, a JSON Lines null, an empty CSV cell) is SQL NULL in
    every column, whichever way it is written: an executemany would otherwise store the
    JSON text `null` where a COPY stores SQL NULL, so `WHERE doc IS NULL` found different
    rows depending on how many rows a file had."""
    from sqlalchemy import null

    if not any(params.get(n, 0) is None for n in names):
        return params
    return {k: null() if v is None and k in names else v for k, v in params.items()}


def plain_value(column: Any, value: Any) -> Any:
    """A stored value as plain YAML/JSON data that `column_value` reads back unchanged."""
    if value is None:
        return None
    if isinstance(value, datetime):
        timezone = column is not None and isinstance(column.type, DateTime) and column.type.timezone
        if timezone and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, enum.Enum):
        return plain_value(column, value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): plain_value(None, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(None, v) for v in value]
    return value


def iso_duration(value: timedelta) -> str:
    """An interval as ISO 8601 duration text (`P1DT2H`, `-PT1S`): what `seed dump --json`
    writes (pydantic's form) and what an Interval column reads back. YAML has no interval
    scalar, so the YAML dump needs the text too (safe_dump refused a timedelta: exit 70)."""
    return _durations().dump_python(value, mode="json")


@lru_cache(maxsize=1)
def _durations() -> TypeAdapter:
    return TypeAdapter(timedelta)
