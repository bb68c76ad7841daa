"""Models a project adds after the fact, for the seed tests: not in app/models.

They live in their own SQLAlchemy registry and MetaData, so the shared metadata (what
migrations and drift checks compare) never sees them; `create_tables(url)` makes them in
one test's database. `Item` is the issue's example: a UUID key, an owner in `users` by a
foreign key, an optional description. `Sample` has a column of every type a seed file
must round-trip.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from app.models import User
from tests.conftest import run_async

metadata = MetaData()


class SeedTestBase(SQLModel, registry=registry(metadata=metadata)):
    pass


class Item(SeedTestBase, table=True):
    __tablename__ = "items"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=100)
    description: str | None = Field(default=None, max_length=500)
    owner_id: int = Field(
        sa_column=Column(Integer, ForeignKey(User.__table__.c.id), nullable=False)
    )


class Category(SeedTestBase, table=True):
    """A tree: each category may name its parent (a foreign key into its own table)."""

    __tablename__ = "categories"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50, unique=True)
    parent_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("categories.id"), nullable=True)
    )


class Mood(enum.Enum):
    calm = "calm"
    busy = "busy"


class Status(enum.Enum):
    draft = "draft"
    published = "published"
    archived = "archived"


class Post(SeedTestBase, table=True):
    """For `seed fake MODEL`: a foreign key, a unique column, an enum and a few types."""

    __tablename__ = "posts"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True)
    title: str = Field(max_length=80)
    status: Status
    score: int
    published_on: date | None = None
    author_id: int = Field(
        sa_column=Column(Integer, ForeignKey(User.__table__.c.id), nullable=False)
    )


class Feeling(enum.Enum):
    """Values unlike the names SQLAlchemy stores (a PostgreSQL export holds `happy`), and
    one value that is another member's name."""

    happy = "HAPPY-1"
    glad = "GLAD-1"
    content = "happy"


class Feelings(SeedTestBase, table=True):
    """An enum column whose stored names differ from the values a seed writes."""

    __tablename__ = "feelings"

    code: str = Field(primary_key=True, max_length=20)
    feeling: Feeling | None = None


class Tag(SeedTestBase, table=True):
    """A unique column too short for many distinct fake values."""

    __tablename__ = "tags"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=4, unique=True)


class Sample(SeedTestBase, table=True):
    __tablename__ = "samples"

    code: str = Field(primary_key=True, max_length=20)
    ref: uuid.UUID | None = None
    price: Decimal | None = Field(default=None, sa_column=Column(Numeric(10, 2)))
    day: date | None = None
    at_time: time | None = None
    aware: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    naive: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    blob: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    mood: Mood | None = None
    doc: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    tags: list[str] | None = Field(
        default=None, sa_column=Column(ARRAY(String).with_variant(JSON(), "sqlite"))
    )


class Badge(SeedTestBase, table=True):
    """For the direct path of large sections (app/services/seed_direct.py): a nullable
    unique key, a unique column that is not the key, a check constraint, a foreign key."""

    __tablename__ = "badges"
    __table_args__ = (CheckConstraint("points >= 0", name="badges_points_check"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str | None = Field(default=None, max_length=20, unique=True)
    label: str = Field(max_length=40, unique=True)
    points: int = 0
    owner_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey(User.__table__.c.id), nullable=True)
    )


class Money(TypeDecorator):
    """A project's own column type over Numeric: its values are bound by the dialect's
    Numeric after process_bind_param, as any TypeDecorator's are."""

    impl = Numeric(24, 4)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else Decimal(value)


class Shout(TypeDecorator):
    """A project's own column type that changes what it stores (as an encrypting or
    normalising type does): every value is stored upper-cased."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else value.upper()


class Label(SeedTestBase, table=True):
    """A column of a TypeDecorator: `seed fake` must bind it as an INSERT does."""

    __tablename__ = "labels"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_column=Column(Shout(), nullable=False))


class Typed(SeedTestBase, table=True):
    """One column of every type a seed binds, for the value-binding parity tests
    (tests/test_seed_value_binding.py): each path must store the values exactly."""

    __tablename__ = "typed_values"

    code: str = Field(primary_key=True, max_length=20)
    big: Decimal | None = Field(default=None, sa_column=Column(Numeric(30, 3)))
    fine: Decimal | None = Field(default=None, sa_column=Column(Numeric(40, 34)))
    free: Decimal | None = Field(default=None, sa_column=Column(Numeric()))
    money: Decimal | None = Field(default=None, sa_column=Column(Money()))
    ratio: float | None = Field(default=None, sa_column=Column(Float))
    took: timedelta | None = Field(default=None, sa_column=Column(Interval))
    mood: Mood | None = None
    ref: uuid.UUID | None = None
    day: date | None = None
    at_time: time | None = None
    aware: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    naive: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    blob: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    doc: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    docb: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB().with_variant(JSON(), "sqlite"))
    )
    tags: list[str] | None = Field(
        default=None, sa_column=Column(ARRAY(String).with_variant(JSON(), "sqlite"))
    )


class EveryType(SeedTestBase, table=True):
    """A column of every type a seed file can fill, `seed fake` draws and `seed dump`
    writes, the single-precision floats and a normalising TypeDecorator included: for the
    value-shape, convergence, fake and dump round-trip tests
    (tests/test_seed_value_shapes.py)."""

    __tablename__ = "every_types"

    code: str = Field(primary_key=True, max_length=20)
    flag: bool | None = Field(default=None, sa_column=Column(Boolean))
    small: int | None = Field(default=None, sa_column=Column(SmallInteger))
    whole: int | None = Field(default=None, sa_column=Column(Integer))
    big: int | None = Field(default=None, sa_column=Column(BigInteger))
    real: float | None = Field(default=None, sa_column=Column(REAL))
    f24: float | None = Field(default=None, sa_column=Column(Float(precision=24)))
    ratio: float | None = Field(default=None, sa_column=Column(Float))
    price: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 4)))
    day: date | None = None
    at_time: time | None = None
    aware: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    naive: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    took: timedelta | None = Field(default=None, sa_column=Column(Interval))
    blob: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    ref: uuid.UUID | None = None
    mood: Mood | None = None
    doc: Any | None = Field(default=None, sa_column=Column(JSON))
    docb: Any | None = Field(default=None, sa_column=Column(JSONB().with_variant(JSON(), "sqlite")))
    nums: list[int] | None = Field(
        default=None, sa_column=Column(ARRAY(Integer).with_variant(JSON(), "sqlite"))
    )
    shout: str | None = Field(default=None, sa_column=Column(Shout()))
    body: str | None = Field(default=None, sa_column=Column(Text))


def create_tables(url: str) -> None:
    from db.config import DatabaseSettings
    from db.engine import create_engine

    async def go() -> None:
        engine = create_engine(DatabaseSettings(database_url=url), pooled=False)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all)
        finally:
            await engine.dispose()

    run_async(go())
