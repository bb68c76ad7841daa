"""Seeding a project's own models: foreign-key order, mixed row shapes, every column type.

The models live in tests/seed_models (their own registry, created per test database), the
way a project adds a model after the fact.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import fetch
from tests.seed_models import create_tables

PASSWORD = "correct-horse-battery-staple"
ENV = {"DEV_PASSWORD": PASSWORD}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def models_db(db_url: str) -> str:
    create_tables(db_url)
    return db_url


def run(cli, db_url: str, *args: str):
    outcome = cli(["seed", "run", *args, "--json"], db=db_url, env=ENV)
    data = json.loads(outcome.stdout)["data"] if outcome.stdout else None
    return outcome, data


def counts(data: dict) -> dict[str, tuple[int, int, int]]:
    return {m["model"]: (m["created"], m["updated"], m["unchanged"]) for m in data["models"]}


ITEMS = """
    models:
      - model: Item
        key: [name]
        rows:
          - {name: lamp, description: A desk lamp, owner_id: {email: alice@example.com}}
          - {name: chair, owner_id: {email: bob@example.com}}
    """
USERS = """
    users:
      - email: alice@example.com
        password_env: DEV_PASSWORD
      - email: bob@example.com
        password_env: DEV_PASSWORD
    """


def test_items_owned_by_users_of_the_same_run_load_in_one_file_whatever_the_section_order(
    cli, models_db, tmp_path
) -> None:
    write(tmp_path / "seeds" / "base" / "all.yaml", ITEMS + dedent(USERS))
    outcome, data = run(cli, models_db)
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data) == {"User": (2, 0, 0), "Item": (2, 0, 0)}
    rows = fetch(
        models_db,
        "SELECT i.name, i.description, u.email FROM items i JOIN users u ON u.id = i.owner_id "
        "ORDER BY i.name",
    )
    assert rows == [
        ("chair", None, "bob@example.com"),
        ("lamp", "A desk lamp", "alice@example.com"),
    ]


def test_items_in_a_file_that_sorts_before_the_users_file_load_too(
    cli, models_db, tmp_path
) -> None:
    write(tmp_path / "seeds" / "base" / "a_items.yaml", ITEMS)
    write(tmp_path / "seeds" / "base" / "b_users.yaml", USERS)
    outcome, data = run(cli, models_db)
    assert outcome.exit_code == 0, outcome.stderr
    _again, data = run(cli, models_db)
    assert counts(data) == {"User": (0, 0, 2), "Item": (0, 0, 2)}


def test_a_user_role_link_by_email_and_name_loads_after_both_sections(
    cli, models_db, tmp_path
) -> None:
    write(
        tmp_path / "seeds" / "base" / "a_links.yaml",
        """
        models:
          - model: UserRole
            key: [user_id, role_id]
            rows:
              - {user_id: {email: alice@example.com}, role_id: {name: editor}}
        """,
    )
    write(tmp_path / "seeds" / "base" / "b_users.yaml", USERS)
    write(tmp_path / "seeds" / "base" / "c_roles.yaml", "roles:\n  - name: editor\n")
    outcome, _ = run(cli, models_db)
    assert outcome.exit_code == 0, outcome.stderr
    assert fetch(models_db, "SELECT count(*) FROM user_roles") == [(1,)]
    assert run(cli, models_db)[0].exit_code == 0  # unchanged: no second grant row
    grants = "SELECT action, target FROM audit_log WHERE action = 'role.grant'"
    assert fetch(models_db, grants) == [("role.grant", "alice@example.com")]


def test_the_uuid_item_story_dumps_and_loads_into_a_fresh_database_with_zero_changes(
    cli, models_db, backend, scratch, tmp_path
) -> None:
    write(tmp_path / "seeds" / "base" / "a_items.yaml", ITEMS)
    write(tmp_path / "seeds" / "base" / "b_users.yaml", USERS)
    assert run(cli, models_db)[0].exit_code == 0
    dump = cli(["seed", "dump", "items", "users", "--include-secrets"], db=models_db)
    assert dump.exit_code == 0, dump.stderr
    (tmp_path / "dump.yaml").write_text(dump.stdout, encoding="utf-8")

    fresh = scratch.migrated(backend)
    create_tables(fresh)
    first, data = run(cli, fresh, "dump.yaml")
    assert first.exit_code == 0, first.stderr
    assert counts(data) == {"User": (2, 0, 0), "Item": (2, 0, 0)}
    _second, data = run(cli, fresh, "dump.yaml")
    assert counts(data) == {"User": (0, 0, 2), "Item": (0, 0, 2)}
    assert not data["changes"]
    query = "SELECT i.id, i.name, u.email FROM items i JOIN users u ON u.id = i.owner_id ORDER BY 2"
    assert fetch(fresh, query) == fetch(models_db, query)


def test_rows_of_one_section_may_give_different_columns(cli, models_db, tmp_path) -> None:
    write(tmp_path / "users.yaml", USERS)
    assert run(cli, models_db, "users.yaml")[0].exit_code == 0
    write(
        tmp_path / "items.yaml",
        """
        models:
          - model: Item
            key: name
            rows:
              - {name: chair, owner_id: {email: bob@example.com}}
              - {name: lamp, description: A desk lamp, owner_id: {email: alice@example.com}}
              - {owner_id: {email: bob@example.com}, name: desk, description: null}
        """,
    )
    outcome, data = run(cli, models_db, "items.yaml")
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data) == {"Item": (3, 0, 0)}
    # A left-out field is left alone on update.
    write(
        tmp_path / "items.yaml",
        """
        models:
          - model: Item
            key: name
            rows:
              - {name: lamp}
              - {name: chair, description: Oak}
        """,
    )
    outcome, data = run(cli, models_db, "items.yaml")
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data) == {"Item": (0, 1, 1)}
    assert fetch(models_db, "SELECT name, description FROM items ORDER BY name") == [
        ("chair", "Oak"),
        ("desk", None),
        ("lamp", "A desk lamp"),
    ]


HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"


def test_a_user_model_section_with_full_name_on_one_row_only(cli, db_url, tmp_path) -> None:
    write(
        tmp_path / "users.yaml",
        f"""
        models:
          - model: User
            key: [email]
            rows:
              - {{email: ann@example.com, hashed_password: "{HASH}", full_name: Ann}}
              - {{email: ben@example.com, hashed_password: "{HASH}"}}
        """,
    )
    outcome, data = run(cli, db_url, "users.yaml")
    assert outcome.exit_code == 0, outcome.stderr
    assert counts(data) == {"User": (2, 0, 0)}
    rows = fetch(db_url, "SELECT email, full_name, is_active FROM users ORDER BY email")
    assert [(e, n, bool(a)) for e, n, a in rows] == [
        ("ann@example.com", "Ann", True),
        ("ben@example.com", None, True),
    ]
    _again, data = run(cli, db_url, "users.yaml", "--recheck")  # compare every row
    assert counts(data) == {"User": (0, 0, 2)}
    audit = fetch(
        db_url, "SELECT action, target FROM audit_log WHERE action LIKE 'user.%' ORDER BY 2"
    )
    assert audit == [("user.create", "ann@example.com"), ("user.create", "ben@example.com")]


def test_a_new_row_without_a_required_field_is_exit_5_naming_the_row(cli, db_url, tmp_path) -> None:
    write(
        tmp_path / "users.yaml",
        """
        models:
          - model: User
            key: [email]
            rows:
              - {email: ann@example.com, full_name: Ann}
        """,
    )
    outcome, _ = run(cli, db_url, "users.yaml")
    assert outcome.exit_code == 5
    assert "users.yaml:5: models[0].rows[0]: a new users row needs hashed_password" in (
        outcome.stderr
    )
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]


def test_users_a_seed_creates_or_changes_are_audited_once_each(cli, db_url, tmp_path) -> None:
    write(tmp_path / "users.yaml", USERS)
    assert run(cli, db_url, "users.yaml")[0].exit_code == 0
    assert run(cli, db_url, "users.yaml")[0].exit_code == 0  # no changes, no rows
    write(
        tmp_path / "users.yaml",
        USERS.replace("bob@example.com\n", "bob@example.com\n        full_name: Bob\n"),
    )
    assert run(cli, db_url, "users.yaml")[0].exit_code == 0
    rows = fetch(
        db_url,
        "SELECT action, target FROM audit_log WHERE action LIKE 'user.%' ORDER BY id",
    )
    assert rows == [
        ("user.create", "alice@example.com"),
        ("user.create", "bob@example.com"),
        ("user.update", "bob@example.com"),
    ]
    assert PASSWORD not in str(fetch(db_url, "SELECT details FROM audit_log"))


SAMPLES = """
    models:
      - model: Sample
        key: [code]
        rows:
          - code: full
            ref: 7d0f5d3e-8c1a-4f0e-9a57-0b7e2c9d1a11
            price: "12.50"
            day: 2024-05-01
            at_time: "13:30:05"
            aware: 2024-05-01T10:00:00+02:00
            naive: 2024-05-01T10:00:00
            blob: aGVsbG8gd29ybGQ=
            mood: busy
            doc: {nested: {list: [1, 2.5, "three", null, true]}, empty: {}}
            tags: [red, green]
          - code: sparse
            aware: 2024-12-31T23:30:00-05:00
            naive: 2024-05-01T10:00:00+02:00
          - {code: empty}
    """


def test_every_column_type_reruns_with_zero_changes(cli, models_db, tmp_path) -> None:
    write(tmp_path / "samples.yaml", SAMPLES)
    first, data = run(cli, models_db, "samples.yaml")
    assert first.exit_code == 0, first.stderr
    assert counts(data) == {"Sample": (3, 0, 0)}
    _again, data = run(cli, models_db, "samples.yaml", "--recheck")  # compare every row
    assert counts(data) == {"Sample": (0, 0, 3)}, data["changes"]


def test_a_timestamp_with_an_offset_is_stored_as_the_same_instant_on_both_backends(
    cli, models_db, backend, tmp_path
) -> None:
    write(tmp_path / "samples.yaml", SAMPLES)
    assert run(cli, models_db, "samples.yaml")[0].exit_code == 0
    if backend == "postgresql":
        query = (
            "SELECT to_char(aware AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), "
            "to_char(naive, 'YYYY-MM-DD HH24:MI') FROM samples WHERE code = 'sparse'"
        )
    else:
        query = (
            "SELECT substr(aware, 1, 16), substr(naive, 1, 16) FROM samples WHERE code = 'sparse'"
        )
    # 23:30 at -05:00 is 04:30 UTC the next day; a naive column keeps the UTC wall clock.
    assert fetch(models_db, query) == [("2025-01-01 04:30", "2024-05-01 08:00")]


@pytest.mark.parametrize("form", ["yaml", "json"])
def test_every_column_type_round_trips_through_dump_into_a_fresh_database(
    cli, models_db, backend, scratch, tmp_path, form
) -> None:
    write(tmp_path / "samples.yaml", SAMPLES)
    assert run(cli, models_db, "samples.yaml")[0].exit_code == 0
    args = ["seed", "dump", "samples", *(["--json"] * (form == "json"))]
    dumped = cli(args, db=models_db)
    assert dumped.exit_code == 0, dumped.stderr
    text = dumped.stdout
    if form == "json":  # the envelope's data is the seed document; JSON is YAML
        text = json.dumps(json.loads(text)["data"])
    (tmp_path / "dump.yaml").write_text(text, encoding="utf-8")

    again, data = run(cli, models_db, "dump.yaml")
    assert again.exit_code == 0, again.stderr
    assert counts(data) == {"Sample": (0, 0, 3)}, data["changes"]

    fresh = scratch.migrated(backend)
    create_tables(fresh)
    assert counts(run(cli, fresh, "dump.yaml")[1]) == {"Sample": (3, 0, 0)}
    assert counts(run(cli, fresh, "dump.yaml", "--recheck")[1]) == {"Sample": (0, 0, 3)}
    redumped = cli(args, db=fresh)
    assert redumped.stdout == dumped.stdout
    if form == "yaml":
        assert "ref: 7d0f5d3e-8c1a-4f0e-9a57-0b7e2c9d1a11" in text
        assert "aware: '2024-05-01T08:00:00+00:00'" in text
        assert "blob: aGVsbG8gd29ybGQ=" in text
        assert "mood: busy" in text


CATEGORIES = """
    models:
      - model: Category
        key: [name]
        rows:
          - {name: root}
          - {name: lamps, parent_id: {name: root}}
          - {name: desk-lamps, parent_id: {name: lamps}}
          - {name: chairs, parent_id: {name: root}}
    """


def test_a_row_may_name_a_parent_created_above_it_in_the_same_section(
    cli, models_db, backend, scratch, tmp_path
) -> None:
    write(tmp_path / "categories.yaml", CATEGORIES)
    first, data = run(cli, models_db, "categories.yaml")
    assert first.exit_code == 0, first.stderr
    assert counts(data) == {"Category": (4, 0, 0)}
    query = (
        "SELECT c.name, p.name FROM categories c LEFT JOIN categories p ON p.id = c.parent_id "
        "ORDER BY c.name"
    )
    tree = [("chairs", "root"), ("desk-lamps", "lamps"), ("lamps", "root"), ("root", None)]
    assert fetch(models_db, query) == tree
    assert counts(run(cli, models_db, "categories.yaml")[1]) == {"Category": (0, 0, 4)}

    # The dump lists parents first (not by name), so it loads into a fresh database.
    dumped = cli(["seed", "dump", "categories"], db=models_db)
    assert dumped.exit_code == 0, dumped.stderr
    (tmp_path / "dump.yaml").write_text(dumped.stdout, encoding="utf-8")
    fresh = scratch.migrated(backend)
    create_tables(fresh)
    loaded, data = run(cli, fresh, "dump.yaml")
    assert loaded.exit_code == 0, loaded.stderr
    assert fetch(fresh, query) == tree
    assert counts(run(cli, fresh, "dump.yaml")[1]) == {"Category": (0, 0, 4)}
