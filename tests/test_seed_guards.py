"""Rules no seed row can break: the last active superuser, and append-only history tables."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import fetch
from tests.roles_support import create_user

PASSWORD = "correct-horse-battery-staple"


def write(path: Path, text: str) -> Path:
    path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return path


def superusers(db_url: str) -> list[tuple]:
    return fetch(
        db_url,
        "SELECT email FROM users WHERE is_superuser AND is_active ORDER BY email",
    )


LAST_SUPERUSER_ROWS = {
    "users section demotes": """
        users:
          - email: new@example.com
            password_env: DEV_PASSWORD
          - email: root@example.com
            is_superuser: false
        """,
    "users section deactivates": """
        users:
          - email: root@example.com
            is_active: false
        """,
    "User model section demotes": """
        models:
          - model: User
            key: [email]
            rows:
              - {email: root@example.com, is_superuser: false}
        """,
    "users model section by table name deactivates": """
        models:
          - model: users
            key: email
            rows:
              - {email: root@example.com, is_active: false}
        """,
}


@pytest.mark.parametrize("case", sorted(LAST_SUPERUSER_ROWS))
@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
def test_a_seed_that_leaves_no_active_superuser_is_exit_4_and_writes_nothing(
    cli, db_url, tmp_path, case, dry_run
) -> None:
    create_user(db_url, "root@example.com", superuser=True)
    before = fetch(db_url, "SELECT count(*) FROM audit_log")
    write(tmp_path / "users.yaml", LAST_SUPERUSER_ROWS[case])
    args = ["seed", "run", "users.yaml", *(["--dry-run"] * dry_run)]
    outcome = cli(args, db=db_url, env={"DEV_PASSWORD": PASSWORD})
    assert outcome.exit_code == 4, outcome.stderr
    assert "would leave no active superuser" in outcome.stderr
    assert "users.yaml:" in outcome.stderr  # names the row
    assert superusers(db_url) == [("root@example.com",)]
    assert fetch(db_url, "SELECT email FROM users ORDER BY email") == [("root@example.com",)]
    assert fetch(db_url, "SELECT count(*) FROM audit_log") == before
    assert fetch(db_url, "SELECT count(*) FROM seed_history") == [(0,)]


def test_demoting_one_of_two_superusers_or_promoting_another_first_is_allowed(
    cli, db_url, tmp_path
) -> None:
    create_user(db_url, "root@example.com", superuser=True)
    write(
        tmp_path / "users.yaml",
        """
        users:
          - email: root@example.com
            is_superuser: false
          - email: heir@example.com
            password_env: DEV_PASSWORD
            is_superuser: true
        """,
    )
    outcome = cli(["seed", "run", "users.yaml"], db=db_url, env={"DEV_PASSWORD": PASSWORD})
    assert outcome.exit_code == 0, outcome.stderr
    assert superusers(db_url) == [("heir@example.com",)]


def test_a_database_without_superusers_can_still_be_seeded_with_plain_users(
    cli, db_url, tmp_path
) -> None:
    write(
        tmp_path / "users.yaml",
        """
        users:
          - email: plain@example.com
            password_env: DEV_PASSWORD
        """,
    )
    outcome = cli(["seed", "run", "users.yaml"], db=db_url, env={"DEV_PASSWORD": PASSWORD})
    assert outcome.exit_code == 0, outcome.stderr


@pytest.mark.parametrize("model", ["AuditLog", "audit_log", "SeedHistory", "seed_history"])
def test_a_models_section_on_an_append_only_table_is_exit_5(cli, db_url, tmp_path, model) -> None:
    write(
        tmp_path / "history.yaml",
        f"""
        models:
          - model: {model}
            key: [id]
            rows:
              - {{id: 1}}
        """,
    )
    outcome = cli(["seed", "run", "history.yaml"], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert "history.yaml:2: models[0].model: " in outcome.stderr
    assert "is append-only history; seeds cannot write it" in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM audit_log") == [(0,)]


@pytest.mark.parametrize("table", ["audit_log", "seed_history"])
def test_dump_refuses_append_only_tables(cli, db_url, table) -> None:
    outcome = cli(["seed", "dump", table], db=db_url)
    assert outcome.exit_code == 5
    assert f"{table} is append-only history" in outcome.stderr


def test_a_python_seed_module_that_demotes_the_last_superuser_is_exit_4(
    cli, db_url, tmp_path
) -> None:
    create_user(db_url, "root@example.com", superuser=True)
    (tmp_path / "seeds" / "base").mkdir(parents=True)
    (tmp_path / "seeds" / "base" / "demote.py").write_text(
        "from sqlalchemy import text\n\n\n"
        "async def seed(db):\n"
        '    await db.exec(text("UPDATE users SET is_superuser = false"))\n',
        encoding="utf-8",
    )
    outcome = cli(["seed", "run"], db=db_url)
    assert outcome.exit_code == 4, outcome.stderr
    assert "would leave no active superuser" in outcome.stderr
    assert superusers(db_url) == [("root@example.com",)]
