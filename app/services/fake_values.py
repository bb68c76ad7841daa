"""Fake column values for any table model, drawn in batches (Faker is called per pool, not per row).

`column_plan(model, ...)` decides, for each column, how a fake row gets its value:

- the autoincrement primary key and columns only the server fills: left to the database;
- a column with a Python default (not None) or default factory: that default, once per run
  (a UUID primary key with a factory is drawn from the seeded generator instead, so --seed
  gives the same keys);
- a foreign key: a random existing row of the referenced table (`parents`);
- an Enum: one of its values; a Boolean, number (Integer, Numeric within its precision and
  scale, Float), date, time, interval, UUID, JSON, ARRAY (items of its item type), binary:
  a random value of that type;
- a string: a pool of Faker values chosen by the column's name (`email`, `name`, `title`,
  `url`, ...; `word` otherwise), cut to the column's length;
- a unique column: the row's index is part of every value (`word.17`, `first.last.17@...`,
  `17` for an integer), so values are unique in the run and the same for the same seed.

A factory (see `app/services/fake_factories.py`) overrides any column: a Faker provider name,
a list to choose from, or a constant. A type we cannot draw (a project's own type that is
none of these) without a factory entry is a ValueError naming the column.
"""

from __future__ import annotations

import enum
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import (
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
    Uuid,
)
from sqlalchemy.types import ARRAY, TypeDecorator

POOL_SIZE = 512
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 5 * 365 * 24 * 3600

# Column name (or its last word) -> the Faker provider that fits it.
NAMED_PROVIDERS = {
    "email": "email",
    "name": "name",
    "full_name": "name",
    "first_name": "first_name",
    "last_name": "last_name",
    "username": "user_name",
    "title": "sentence",
    "description": "paragraph",
    "body": "paragraph",
    "text": "paragraph",
    "content": "paragraph",
    "bio": "paragraph",
    "summary": "sentence",
    "url": "url",
    "website": "url",
    "city": "city",
    "country": "country",
    "address": "address",
    "phone": "phone_number",
    "company": "company",
    "slug": "slug",
    "code": "bothify",
}

# draw(rng, start, size) -> `size` values for rows start .. start+size-1
Draw = Callable[[random.Random, int, int], list[Any]]


@dataclass
class ColumnPlan:
    name: str
    draw: Draw


def provider_pool(faker: Any, provider: str, size: int = POOL_SIZE, **kwargs: Any) -> list[Any]:
    """`size` values of one Faker provider (AttributeError if Faker has no such provider)."""
    method = getattr(faker, provider)
    values = [method(**kwargs) for _ in range(size)]
    if provider == "sentence":
        values = [str(v).rstrip(".") for v in values]
    return values


def _fit(value: str, length: int | None, suffix: str = "") -> str:
    if length is None:
        return value + suffix
    if len(suffix) > length:
        raise ValueError(
            f"a unique value needs {len(suffix)} characters; the column holds {length}"
        )
    return value[: length - len(suffix)] + suffix


def _unique_text(value: str, index: int, length: int | None) -> str:
    """The row index inside the value: `x.17`, or `local.17@domain` for an email."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return _fit(local, (length - len(domain) - 1) if length else None, f".{index}") + (
            "@" + domain
        )
    return _fit(value, length, f".{index}")


def pooled(pool: list[Any], *, unique: bool = False, length: int | None = None) -> Draw:
    def draw(rng: random.Random, start: int, size: int) -> list[Any]:
        picks = rng.choices(pool, k=size)
        if not unique:
            return [_fit(v, length) if isinstance(v, str) else v for v in picks]
        return [_unique_text(str(v), index, length) for index, v in enumerate(picks, start)]

    return draw


def constant(value: Any) -> Draw:
    return lambda rng, start, size: [value] * size


def _numeric_draw(column: Any, unique: bool) -> Draw:
    kind = column_type(column)
    if isinstance(kind, Integer):
        if unique or column.primary_key:
            return lambda rng, start, size: list(range(start + 1, start + size + 1))
        return lambda rng, start, size: [rng.randrange(10_000) for _ in range(size)]
    if isinstance(kind, Float):
        # Whole numbers below 2**24 are exact in a REAL too: a unique column stays unique.
        if unique:
            return lambda rng, start, size: [float(i + 1) for i in range(start, start + size)]
        if kind.asdecimal:
            return lambda rng, start, size: [
                Decimal(rng.randint(0, 999_999)).scaleb(-3) for _ in range(size)
            ]
        return lambda rng, start, size: [round(rng.uniform(0, 1000), 3) for _ in range(size)]
    scale = kind.scale if kind.scale is not None else 2
    whole = (kind.precision - scale) if kind.precision is not None else 6
    top = 10 ** (min(whole, 6) + scale) - 1
    quantum = Decimal(1).scaleb(-scale)
    if unique:
        return lambda rng, start, size: [
            (Decimal(i + 1) * quantum) for i in range(start, start + size)
        ]
    return lambda rng, start, size: [Decimal(rng.randint(0, top)) * quantum for _ in range(size)]


def _temporal_draw(column: Any) -> Draw:
    kind = column_type(column)
    if isinstance(kind, DateTime):
        aware = bool(kind.timezone)

        def moment(rng: random.Random) -> datetime:
            value = EPOCH + timedelta(seconds=rng.randrange(SPAN_SECONDS))
            return value if aware else value.replace(tzinfo=None)

        return lambda rng, start, size: [moment(rng) for _ in range(size)]
    if isinstance(kind, Date):
        return lambda rng, start, size: [
            EPOCH.date() + timedelta(days=rng.randrange(5 * 365)) for _ in range(size)
        ]
    return lambda rng, start, size: [
        time(rng.randrange(24), rng.randrange(60), rng.randrange(60)) for _ in range(size)
    ]


def enum_values(column: Any) -> list[str]:
    """The strings the database stores for an Enum column (names, or values if so mapped)."""
    return list(column.type.enums)


def enum_stored(column: Any, value: Any) -> Any:
    """A factory's value for an Enum column (the member, its value or its name) as stored."""
    kind = column.type
    if kind.enum_class is not None:
        members = dict(zip(kind.enum_class.__members__.values(), kind.enums, strict=False))
        for member, stored in members.items():
            if value is member or value == member.value or value == member.name:
                return stored
    if value in kind.enums:
        return value
    raise ValueError(f"{value!r} is not one of {', '.join(map(str, kind.enums))}")


def column_type(column: Any) -> Any:
    """The SQL type under a TypeDecorator (SQLModel's AutoString wraps a String). Not for
    an Interval: SQLAlchemy makes it a TypeDecorator over DateTime (SQLite's storage), but
    its values are timedeltas."""
    kind = column.type
    if isinstance(kind, TypeDecorator) and not isinstance(kind, Interval):
        return kind.impl
    return kind


def type_draw(column: Any, faker: Any, *, unique: bool) -> Draw:
    """How to draw values for `column` from its type (ValueError if no rule fits)."""
    kind = column_type(column)
    if isinstance(kind, Enum):
        return pooled(enum_values(column))
    if isinstance(kind, Boolean):
        return lambda rng, start, size: [rng.random() < 0.5 for _ in range(size)]
    # Float is no Numeric in SQLAlchemy 2.x (both are NumericCommon): name it on its own
    if isinstance(kind, Integer | Numeric | Float):
        return _numeric_draw(column, unique)
    if isinstance(kind, DateTime | Date | Time):
        return _temporal_draw(column)
    if isinstance(kind, Interval):
        return lambda rng, start, size: [
            timedelta(seconds=rng.randrange(30 * 24 * 3600)) for _ in range(size)
        ]
    if isinstance(kind, Uuid):
        return lambda rng, start, size: [
            uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(size)
        ]
    if isinstance(kind, LargeBinary):
        return lambda rng, start, size: [rng.randbytes(16) for _ in range(size)]
    if isinstance(kind, ARRAY):
        return _array_draw(column, kind, faker)
    if isinstance(kind, JSON):
        return lambda rng, start, size: [{"n": rng.randrange(1000)} for _ in range(size)]
    if isinstance(kind, String):
        name = column.name.lower()
        provider = NAMED_PROVIDERS.get(name) or NAMED_PROVIDERS.get(name.rsplit("_", 1)[-1])
        length = getattr(kind, "length", None)
        if provider == "paragraph" and length is not None and length < 60:
            provider = "sentence"
        pool = provider_pool(faker, provider or "word")
        return pooled([str(v) for v in pool], unique=unique, length=length)
    raise ValueError(f"cannot draw fake values of type {kind}; give {column.name} in a factory")


def _array_draw(column: Any, kind: Any, faker: Any) -> Draw:
    """Three items a row, each drawn as a column of the array's item type would be (an
    ARRAY(Integer) of words was a driver error, exit 70)."""
    from sqlalchemy import Column

    item = type_draw(Column(column.name, kind.item_type), faker, unique=False)

    def draw(rng: random.Random, start: int, size: int) -> list[Any]:
        items = item(rng, start, size * 3)
        return [items[i : i + 3] for i in range(0, size * 3, 3)]

    return draw


def python_default(model: Any, column: Any) -> Callable[[], Any] | None:
    """The model's own default for a new row, or None when it has none (or it is None)."""
    field = model.model_fields.get(column.name)
    if field is None:
        return None
    if field.default_factory is not None:
        return field.default_factory  # type: ignore[return-value]
    if field.default is PydanticUndefined or field.default is None:
        return None
    return lambda value=field.default: value


def stored_default(column: Any, value: Any) -> Any:
    if isinstance(value, enum.Enum) and isinstance(column.type, Enum):
        return enum_stored(column, value)
    return value


def copy_encoder(column: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """What a drawn value goes through before asyncpg's binary COPY: a project's own
    TypeDecorator its process_bind_param and its impl's processor (as an INSERT binds it:
    seed_values.copy_processor; the value was drawn for the impl's type), JSON its text;
    every other drawn value goes as is (a Decimal stays a Decimal)."""
    from app.services.seed_values import copy_processor

    if isinstance(column.type, TypeDecorator):
        return copy_processor(column, dialect)
    if isinstance(column.type, JSON):
        return lambda value: None if value is None else json.dumps(value)
    return None
