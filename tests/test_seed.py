"""`manage seed run / status / list`: idempotent YAML seed sets, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import fetch

PASSWORD = "correct-horse-battery-staple"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A seeds directory (in the working directory) whose permissions file sorts before the
    roles it refers to, so only foreign-key ordering makes it load."""
    root = tmp_path / "seeds"
    write(
        root / "base" / "a_permissions.yaml",
        """
        models:
          - model: RolePermission
            key: [role_id, permission]
            rows:
              - {role_id: {name: viewer}, permission: "users:read"}
              - {role_id: {name: viewer}, permission: "audit:read"}
        """,
    )
    write(
        root / "base" / "b_roles.yaml",
        """
        roles:
          - name: admin
            description: Full access
            permissions: ["*"]
          - name: viewer
            description: Reads
        """,
    )
    write(
        root / "dev" / "users.yaml",
        """
        users:
          - email: Dev@Example.com
            full_name: Dev
            password_env: DEV_PASSWORD
            roles: [admin, viewer]
          - email: ops@example.com
            password_env: DEV_PASSWORD
        """,
    )
    return root


def seed(cli, db_url: str, *args: str, **env: str):
    return cli(["seed", *args], db=db_url, env={"DEV_PASSWORD": PASSWORD, **env})


def test_a_second_run_creates_and_updates_nothing_and_says_so(cli, db_url, seeds) -> None:
    first = seed(cli, db_url, "run", "dev", "--json")
    assert first.exit_code == 0, first.stderr
    counts = {m["model"]: m for m in json.loads(first.stdout)["data"]["models"]}
    assert counts["Role"]["created"] == 2
    assert counts["RolePermission"]["created"] == 2
    assert counts["User"]["created"] == 2

    second = seed(cli, db_url, "run", "dev")
    assert second.exit_code == 0, second.stderr
    assert "Role: 0 created, 0 updated, 2 unchanged" in second.stdout
    assert "RolePermission: 0 created, 0 updated, 2 unchanged" in second.stdout
    assert "User: 0 created, 0 updated, 2 unchanged" in second.stdout
    assert "no changes" in second.stdout
    assert fetch(db_url, "SELECT count(*) FROM users") == [(2,)]
    assert PASSWORD not in first.stdout + first.stderr + second.stdout + second.stderr


def test_foreign_keys_load_in_order_whatever_the_file_order(cli, db_url, seeds) -> None:
    outcome = seed(cli, db_url, "run", "dev")
    assert outcome.exit_code == 0, outcome.stderr
    assert fetch(
        db_url,
        "SELECT r.name, p.permission FROM role_permissions p JOIN roles r ON r.id = p.role_id "
        "ORDER BY r.name, p.permission",
    ) == [("admin", "*"), ("viewer", "audit:read"), ("viewer", "users:read")]
    assert fetch(
        db_url,
        "SELECT u.email, r.name FROM user_roles ur JOIN users u ON u.id = ur.user_id "
        "JOIN roles r ON r.id = ur.role_id ORDER BY u.email, r.name",
    ) == [("dev@example.com", "admin"), ("dev@example.com", "viewer")]


def test_a_changed_file_updates_only_what_changed(cli, db_url, seeds) -> None:
    assert seed(cli, db_url, "run", "dev").exit_code == 0
    users = seeds / "dev" / "users.yaml"
    users.write_text(users.read_text().replace("full_name: Dev", "full_name: Dev Eloper"))

    status = seed(cli, db_url, "status", "--json")
    states = {s["file"]: s["state"] for s in json.loads(status.stdout)["data"]}
    assert states == {
        "base/a_permissions.yaml": "applied",
        "base/b_roles.yaml": "applied",
        "dev/users.yaml": "changed",
    }

    outcome = seed(cli, db_url, "run", "dev")
    assert outcome.exit_code == 0, outcome.stderr
    assert "~ User dev@example.com (full_name)" in outcome.stdout
    assert "User: 0 created, 1 updated, 1 unchanged" in outcome.stdout
    assert fetch(db_url, "SELECT full_name FROM users WHERE email = 'dev@example.com'") == [
        ("Dev Eloper",)
    ]
    status = seed(cli, db_url, "status")
    assert "changed" not in status.stdout
    assert status.stdout.count("applied") == 3


def test_dry_run_prints_the_plan_and_writes_nothing(cli, db_url, seeds) -> None:
    outcome = seed(cli, db_url, "run", "dev", "--dry-run")
    assert outcome.exit_code == 0, outcome.stderr
    assert "+ Role admin" in outcome.stdout
    assert "+ User dev@example.com" in outcome.stdout
    assert "User: 2 would be created" in outcome.stdout
    assert "dry run: nothing written" in outcome.stdout
    for table in ("roles", "role_permissions", "users", "user_roles", "seed_history", "audit_log"):
        assert fetch(db_url, f"SELECT count(*) FROM {table}") == [(0,)], table
    assert "never" in seed(cli, db_url, "status").stdout


def test_without_arguments_base_and_the_environment_set_load(cli, db_url, seeds) -> None:
    (seeds / "development").mkdir()
    (seeds / "dev" / "users.yaml").rename(seeds / "development" / "users.yaml")
    outcome = seed(cli, db_url, "run", ENVIRONMENT="development")
    assert outcome.exit_code == 0, outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(2,)]
    history = fetch(db_url, "SELECT seed_set, file FROM seed_history ORDER BY file")
    assert history == [
        ("base", "base/a_permissions.yaml"),
        ("base", "base/b_roles.yaml"),
        ("development", "development/users.yaml"),
    ]


def test_a_bad_row_among_10000_exits_5_naming_file_line_and_field_and_writes_nothing(
    cli, db_url, seeds, tmp_path
) -> None:
    from app.security import hash_password

    hashed = hash_password(PASSWORD)
    lines = ["users:"]
    for i in range(10_000):
        email = "broken.example.com" if i == 7_321 else f"user{i}@example.com"
        lines += [f"  - email: {email}", f"    password_hash: '{hashed}'"]
    (seeds / "dev" / "users.yaml").write_text("\n".join(lines) + "\n")

    outcome = seed(cli, db_url, "run", "dev")
    assert outcome.exit_code == 5
    line = 2 + 2 * 7_321
    assert f"seeds/dev/users.yaml:{line}: users[7321].email: value is not a valid email" in (
        outcome.stderr
    )
    assert hashed not in outcome.stderr
    for table in ("roles", "users", "seed_history"):
        assert fetch(db_url, f"SELECT count(*) FROM {table}") == [(0,)], table


def test_an_unknown_role_fails_the_whole_run(cli, db_url, seeds) -> None:
    users = seeds / "dev" / "users.yaml"
    users.write_text(users.read_text().replace("[admin, viewer]", "[admin, ghost]"))
    outcome = seed(cli, db_url, "run", "dev")
    assert outcome.exit_code == 5
    assert "seeds/dev/users.yaml:5: users[0].roles: no role 'ghost'" in outcome.stderr
    for table in ("roles", "users", "seed_history"):
        assert fetch(db_url, f"SELECT count(*) FROM {table}") == [(0,)], table


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_plain_password_warns_outside_production_and_is_refused_in_production(
    cli, db_url, seeds
) -> None:
    write(
        seeds / "dev" / "users.yaml",
        f"""
        users:
          - email: dev@example.com
            password: {PASSWORD}
        """,
    )
    refused = seed(cli, db_url, "run", "dev", "--yes", "--force", ENVIRONMENT="production")
    assert refused.exit_code == 5
    assert "seeds/dev/users.yaml:3: users[0].password: a plain password is refused" in (
        refused.stderr
    )
    allowed = seed(cli, db_url, "run", "dev")
    assert allowed.exit_code == 0, allowed.stderr
    assert "warning: seeds/dev/users.yaml:3: users[0].password: a plain password" in (
        allowed.stderr
    )
    for outcome in (refused, allowed):
        assert PASSWORD not in outcome.stdout + outcome.stderr
    assert PASSWORD not in str(fetch(db_url, "SELECT * FROM audit_log"))


def test_list_shows_each_set_and_its_files(cli, seeds) -> None:
    outcome = cli(["seed", "list"])
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.splitlines() == [
        "base: base/a_permissions.yaml, base/b_roles.yaml",
        "dev: dev/users.yaml",
    ]


TABLES = ("roles", "users", "role_permissions", "user_roles")


def test_dump_then_run_changes_nothing_and_loads_the_same_rows_elsewhere(
    cli, db_url, backend, scratch, seeds, tmp_path
) -> None:
    assert seed(cli, db_url, "run", "dev").exit_code == 0
    dump_file = tmp_path / "snapshot.yaml"
    dumped = seed(cli, db_url, "dump", *TABLES, "--include-secrets", "-o", str(dump_file))
    assert dumped.exit_code == 0, dumped.stderr

    again = seed(cli, db_url, "run", str(dump_file), "--json")
    assert again.exit_code == 0, again.stderr
    models = json.loads(again.stdout)["data"]["models"]
    assert {m["model"] for m in models} == {
        "Role",
        "User",
        "RolePermission",
        "UserRole",
    }
    assert all(m["created"] == m["updated"] == 0 for m in models), models

    # Into an empty database: the same rows come back out.
    elsewhere = scratch.migrated(backend)
    snapshot = seed(cli, db_url, "dump", *TABLES, "--include-secrets", "-o", str(dump_file))
    loaded = seed(cli, elsewhere, "run", str(dump_file))
    assert loaded.exit_code == 0, loaded.stderr
    assert snapshot.exit_code == 0, snapshot.stderr
    copy = tmp_path / "copy.yaml"
    assert (
        seed(cli, elsewhere, "dump", *TABLES, "--include-secrets", "-o", str(copy)).exit_code == 0
    )
    assert copy.read_text() == dump_file.read_text()


def test_dump_leaves_password_hashes_out_unless_asked(cli, db_url, seeds) -> None:
    assert seed(cli, db_url, "run", "dev").exit_code == 0
    [(hashed,)] = fetch(db_url, "SELECT hashed_password FROM users WHERE email = 'ops@example.com'")
    plain = seed(cli, db_url, "dump", "users")
    assert plain.exit_code == 0, plain.stderr
    assert "email: ops@example.com" in plain.stdout
    assert "password" not in plain.stdout
    assert hashed in seed(cli, db_url, "dump", "users", "--include-secrets").stdout
    unknown = seed(cli, db_url, "dump", "nope")
    assert unknown.exit_code == 3
    assert "no table or model nope" in unknown.stderr


def test_a_python_seed_module_runs_in_the_same_transaction(cli, db_url, seeds) -> None:
    write(
        seeds / "dev" / "computed.py",
        """
        from app.services.roles import create_role


        async def seed(db):
            for n in range(3):
                await create_role(db, name=f"team-{n}", actor="seed")
        """,
    )
    dry = seed(cli, db_url, "run", "dev", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert fetch(db_url, "SELECT count(*) FROM roles") == [(0,)]
    outcome = seed(cli, db_url, "run", "dev")
    assert outcome.exit_code == 0, outcome.stderr
    names = fetch(db_url, "SELECT name FROM roles WHERE name LIKE 'team-%' ORDER BY name")
    assert names == [("team-0",), ("team-1",), ("team-2",)]
    assert ("dev", "dev/computed.py") in fetch(db_url, "SELECT seed_set, file FROM seed_history")


def test_a_run_with_no_seed_files_succeeds_and_records_nothing(cli, db_url) -> None:
    outcome = cli(["seed", "run"], db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.strip() == "no seed files to run"
    assert fetch(db_url, "SELECT count(*) FROM audit_log") == [(0,)]
    missing = cli(["seed", "run", "qa"], db=db_url)
    assert missing.exit_code == 3
    assert "no seed set 'qa' in seeds" in missing.stderr
