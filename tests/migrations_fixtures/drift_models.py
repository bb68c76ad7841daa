"""Model metadata that differs from the shipped models, for `migrate check` and `make` tests.

Each MetaData here is a copy of the shipped one (never the shared object itself), changed the
way a developer would change a model. Point MANAGE_TARGET_METADATA at one of them:
`tests.migrations_fixtures.drift_models:with_nickname`.
"""

from sqlalchemy import (
    JSON,
    Column,
    Enum,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.mysql import LONGTEXT
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSONB

import app.models  # noqa: F401  (registers the shipped tables)
from db.metadata import NAMING_CONVENTION
from db.metadata import metadata as shipped


def _copy() -> MetaData:
    copy = MetaData(naming_convention=NAMING_CONVENTION)
    for table in shipped.sorted_tables:
        table.to_metadata(copy)
    return copy


# The User model gains a column with an index, and an index on an existing column.
with_nickname = _copy()
_users = with_nickname.tables["users"]
_users.append_column(Column("nickname", String(50), nullable=True))
Index("ix_users_nickname", _users.c.nickname)
Index("ix_users_full_name", _users.c.full_name)

# A model whose PostgreSQL enum has a label the database does not have yet.
MOOD_LABELS = ("happy", "sad", "meh")
with_mood = _copy()
Table(
    "moods",
    with_mood,
    Column("id", Integer, primary_key=True),
    Column("mood", Enum(*MOOD_LABELS, name="mood"), nullable=False),
)

# A users column of the audit log's own type: JSON, JSONB on PostgreSQL.
with_preferences = _copy()
with_preferences.tables["users"].append_column(
    Column("preferences", JSON().with_variant(JSONB(), "postgresql"), nullable=True)
)

# A mixed-case enum type whose model gains labels at the front and in the middle (one with a
# quote in it), and one whose model drops and reorders labels (a manual revision).
FEELING_LABELS = ("calm", "happy", "it's fine", "sad")
with_feelings = _copy()
Table(
    "feelings",
    with_feelings,
    Column("id", Integer, primary_key=True),
    Column("feeling", Enum(*FEELING_LABELS, name="FeelingKind"), nullable=False),
)
with_fewer_feelings = _copy()
Table(
    "feelings",
    with_fewer_feelings,
    Column("id", Integer, primary_key=True),
    Column("feeling", Enum("sad", "calm", name="FeelingKind"), nullable=False),
)


class Slug(TypeDecorator):
    """A project's own column type: autogenerate renders it by module path, never imported."""

    impl = String(80)
    cache_ok = True


with_custom_type = _copy()
with_custom_type.tables["users"].append_column(Column("slug", Slug(), nullable=True))

# with_nickname, then users.full_name widened: on SQLite `make` writes a rebuild of users.
with_wider_full_name = MetaData(naming_convention=NAMING_CONVENTION)
for _table in with_nickname.sorted_tables:
    _table.to_metadata(with_wider_full_name)
with_wider_full_name.tables["users"].c.full_name.type = String(400)

# An enum label that would become code if a generated file wrote it raw into a comment or a
# string: a newline, a statement, a triple quote, a backslash.
HOSTILE_LABEL = 'x\nop.execute("DROP TABLE users")  # """ \\ \''
with_hostile_feelings = _copy()
Table(
    "feelings",
    with_hostile_feelings,
    Column("id", Integer, primary_key=True),
    Column("feeling", Enum("happy", HOSTILE_LABEL, "sad", name="FeelingKind"), nullable=False),
)

# Variants of dialect types, nested types inside them, on every side of with_variant: `make`
# must render every name module-qualified, on either dialect.
with_variants = _copy()
Table(
    "variant_things",
    with_variants,
    Column("id", Integer, primary_key=True),
    Column("tags", ARRAY(String(20)).with_variant(JSON(), "sqlite"), nullable=True),
    Column("nested", JSON().with_variant(ARRAY(JSONB()), "postgresql"), nullable=True),
    Column("numbers", JSON().with_variant(ARRAY(Integer()), "postgresql"), nullable=True),
    Column("text", Text().with_variant(LONGTEXT(charset="utf8mb4"), "mysql"), nullable=True),
    Column("address", String(50).with_variant(INET(), "postgresql"), nullable=True),
)

# Names, a comment and a server default that would become code if written raw into the file.
HOSTILE_TEXT = 'x"""\nimport os; os.system("echo pwned")  # \\ \''
with_hostile_names = _copy()
Table(
    "odd_things",
    with_hostile_names,
    Column("id", Integer, primary_key=True),
    Column(
        "note",
        String(50),
        nullable=True,
        comment=HOSTILE_TEXT,
        server_default=HOSTILE_TEXT.replace("'", "''")[:40],
    ),
    comment=HOSTILE_TEXT,
)
