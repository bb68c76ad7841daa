"""`manage seed fake MODEL`: fake rows for any table model, by its columns and constraints.

`Post` (tests/seed_models) has a foreign key to users, a unique slug (40 characters), a
title (80), an enum status, an integer and a nullable date.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import fetch
from tests.seed_models import create_tables

PASSWORD = "correct-horse-battery-staple"
POST_ROWS = "SELECT slug, title, status, score, published_on, author_id FROM posts ORDER BY slug"


@pytest.fixture
def posts_db(cli, db_url: str) -> str:
    create_tables(db_url)
    users = cli(
        ["seed", "fake", "users", "--count", "40", "--seed", "1"],
        db=db_url,
        env={"MANAGE_PASSWORD": PASSWORD},
    )
    assert users.exit_code == 0, users.stderr
    return db_url


def fake(cli, db_url: str, *args: str):
    outcome = cli(["seed", "fake", *args, "--json"], db=db_url)
    data = json.loads(outcome.stdout)["data"] if outcome.stdout else None
    return outcome, data


def test_fake_posts_respect_the_foreign_key_the_unique_slug_the_enum_and_the_lengths(
    cli, posts_db
) -> None:
    outcome, data = fake(cli, posts_db, "Post", "--count", "3000", "--seed", "7")
    assert outcome.exit_code == 0, outcome.stderr
    assert (data["model"], data["requested"], data["created"], data["skipped"]) == (
        "Post",
        3000,
        3000,
        0,
    )
    assert fetch(posts_db, "SELECT count(*), count(DISTINCT slug) FROM posts") == [(3000, 3000)]
    orphans = (
        "SELECT count(*) FROM posts p LEFT JOIN users u ON u.id = p.author_id WHERE u.id IS NULL"
    )
    assert fetch(posts_db, orphans) == [(0,)]
    # The posts spread over the parents, not all on one.
    assert fetch(posts_db, "SELECT count(DISTINCT author_id) FROM posts")[0][0] > 30
    statuses = {s for (s,) in fetch(posts_db, "SELECT DISTINCT status FROM posts")}
    assert statuses == {"draft", "published", "archived"}
    longest = fetch(posts_db, "SELECT max(length(slug)), max(length(title)) FROM posts")[0]
    assert longest[0] <= 40 and longest[1] <= 80
    nulls = "SELECT count(*) FROM posts WHERE title IS NULL OR status IS NULL OR score IS NULL"
    assert fetch(posts_db, nulls) == [(0,)]
    audit = fetch(posts_db, "SELECT target, details FROM audit_log WHERE action = 'seed.fake'")
    assert len(audit) == 1 and audit[0][0] == "posts"


def test_the_same_seed_gives_the_same_rows_and_a_rerun_skips_them(
    cli, posts_db, backend, scratch
) -> None:
    assert fake(cli, posts_db, "posts", "--count", "500", "--seed", "11")[0].exit_code == 0
    rows = fetch(posts_db, POST_ROWS)

    rerun, data = fake(cli, posts_db, "posts", "--count", "500", "--seed", "11")
    assert rerun.exit_code == 0, rerun.stderr
    assert (data["created"], data["skipped"]) == (0, 500)
    assert fetch(posts_db, POST_ROWS) == rows

    elsewhere = scratch.migrated(backend)
    create_tables(elsewhere)
    cli(
        ["seed", "fake", "users", "--count", "40", "--seed", "1"],
        db=elsewhere,
        env={"MANAGE_PASSWORD": PASSWORD},
    )
    assert fake(cli, elsewhere, "posts", "--count", "500", "--seed", "11")[0].exit_code == 0
    assert fetch(elsewhere, POST_ROWS) == rows

    other, _ = fake(cli, posts_db, "posts", "--count", "500", "--seed", "12")
    assert other.exit_code == 0
    assert fetch(posts_db, "SELECT count(*) FROM posts")[0][0] > 500


def write(path: Path, text: str) -> Path:
    path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return path


def test_a_factory_overrides_columns_with_a_provider_a_list_and_a_constant(
    cli, posts_db, tmp_path
) -> None:
    factory = write(
        tmp_path / "post-factory.yaml",
        """
        title: catch_phrase
        status: [draft, published]
        score: 5
        """,
    )
    outcome, data = fake(
        cli, posts_db, "Post", "-n", "400", "--seed", "3", "--factory", str(factory)
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert data["created"] == 400
    assert {s for (s,) in fetch(posts_db, "SELECT DISTINCT status FROM posts")} == {
        "draft",
        "published",
    }
    assert fetch(posts_db, "SELECT DISTINCT score FROM posts") == [(5,)]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("title: no_such_provider", "post-factory.yaml:2: title: no Faker provider"),
        ("status: [draft, gone]", "post-factory.yaml:2: status: 'gone' is not one of"),
        ("colour: [red]", "post-factory.yaml:2: colour: posts has no such column"),
        ("score: [1, lots]", "post-factory.yaml:2: score:"),
    ],
)
def test_a_bad_factory_entry_is_exit_5_naming_file_line_column_and_writes_nothing(
    cli, posts_db, tmp_path, entry, expected
) -> None:
    factory = write(tmp_path / "post-factory.yaml", f"slug: slug\n{entry}\n")
    outcome, _ = fake(cli, posts_db, "Post", "-n", "10", "--factory", str(factory))
    assert outcome.exit_code == 5, outcome.stderr
    assert expected in outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert fetch(posts_db, "SELECT count(*) FROM posts") == [(0,)]


def test_a_required_foreign_key_with_no_parent_rows_is_exit_5_and_writes_nothing(
    cli, db_url
) -> None:
    create_tables(db_url)
    outcome, _ = fake(cli, db_url, "Post", "--count", "10")
    assert outcome.exit_code == 5
    assert "posts.author_id: no users rows to point at" in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM posts") == [(0,)]


def test_an_unknown_model_is_exit_3_and_user_options_elsewhere_are_exit_2(cli, posts_db) -> None:
    unknown, _ = fake(cli, posts_db, "Nope", "--count", "1")
    assert unknown.exit_code == 3
    assert "no table model 'Nope'" in unknown.stderr
    outcome = cli(["seed", "fake", "Post", "--count", "1", "--role", "admin"], db=posts_db)
    assert outcome.exit_code == 2
    assert fetch(posts_db, "SELECT count(*) FROM posts") == [(0,)]


def test_append_only_tables_are_refused(cli, db_url) -> None:
    outcome, _ = fake(cli, db_url, "audit_log", "--count", "5")
    assert outcome.exit_code == 5
    assert fetch(db_url, "SELECT count(*) FROM audit_log") == [(0,)]


def test_fake_rows_of_a_real_model_as_a_process_point_at_existing_parents(
    manage_proc, db_url
) -> None:
    for name in ("viewer", "editor"):
        assert manage_proc(["roles", "create", name], db=db_url).exit_code == 0
    outcome = manage_proc(
        ["seed", "fake", "role_permissions", "--count", "300", "--seed", "4"], db=db_url
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert "created" in outcome.stdout and "role_permissions" in outcome.stdout
    total, bad = fetch(
        db_url,
        "SELECT count(*), count(*) FILTER (WHERE r.id IS NULL) FROM role_permissions rp "
        "LEFT JOIN roles r ON r.id = rp.role_id",
    )[0]
    assert 0 < total <= 300 and bad == 0


def test_a_unique_column_too_short_for_the_count_is_exit_5_and_writes_nothing(cli, db_url) -> None:
    create_tables(db_url)
    fits, _ = fake(cli, db_url, "Tag", "--count", "200", "--seed", "1")
    assert fits.exit_code == 0, fits.stderr
    assert fetch(db_url, "SELECT count(DISTINCT code), max(length(code)) FROM tags") == [(200, 4)]
    outcome, _ = fake(cli, db_url, "Tag", "--count", "2000", "--seed", "2")
    assert outcome.exit_code == 5, outcome.stderr
    assert "tags.code: a unique value needs 5 characters; the column holds 4" in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM tags") == [(200,)]


def test_fake_rows_are_refused_in_production_without_the_flags(cli, posts_db) -> None:
    args = ["seed", "fake", "Post", "--count", "3", "--seed", "1"]
    refused = cli(args, db=posts_db, env={"ENVIRONMENT": "production"})
    assert refused.exit_code == 7
    assert "refusing to create 3 fake Post in production without --yes" in refused.stderr
    assert fetch(posts_db, "SELECT count(*) FROM posts") == [(0,)]
    done = cli([*args, "--yes", "--force"], db=posts_db, env={"ENVIRONMENT": "production"})
    assert done.exit_code == 0, done.stderr
    assert fetch(posts_db, "SELECT count(*) FROM posts") == [(3,)]


def test_a_type_decorator_column_is_bound_as_an_insert_binds_it(cli, db_url) -> None:
    """`Label.text` is a TypeDecorator that upper-cases what it stores (an encrypting type
    works the same way): fake values drawn for its String go through process_bind_param on
    every backend; PostgreSQL's COPY sent them raw, lower-case Faker words."""
    create_tables(db_url)
    outcome, data = fake(cli, db_url, "Label", "--count", "300", "--seed", "3")
    assert outcome.exit_code == 0, outcome.stderr
    assert data["created"] == 300
    assert fetch(db_url, "SELECT count(*) FROM labels WHERE text <> upper(text)") == [(0,)]
    assert fetch(db_url, "SELECT count(*) FROM labels WHERE text <> lower(text)") == [(300,)]


def test_every_column_type_is_drawn_without_a_factory(cli, db_url) -> None:
    """`EveryType` has a column of each type the docs list as drawn: REAL, Float(24) and
    Float too (in SQLAlchemy 2.1 Float is no Numeric subclass, and every Float column was
    exit 5 "cannot draw fake values of type FLOAT"), an interval, and an ARRAY(Integer)
    (it was drawn as words: a driver error, exit 70)."""
    from tests.seed_models import EveryType

    create_tables(db_url)
    outcome, data = fake(cli, db_url, "EveryType", "--count", "300", "--seed", "5")
    assert outcome.exit_code == 0, outcome.stderr
    assert data["created"] == 300
    columns = [c.name for c in EveryType.__table__.columns if c.name != "code"]
    filled = ", ".join(f"count({c})" for c in columns)
    assert fetch(db_url, f"SELECT {filled} FROM every_types") == [tuple([300] * len(columns))]
    assert fetch(db_url, "SELECT count(*) FROM every_types WHERE real < 0 OR ratio > 1000") == [
        (0,)
    ]
