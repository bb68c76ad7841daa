"""A rerun whose files and tables are as the last run left them reads no rows, and answers
exactly what reading them would: created 0, updated 0, every row unchanged.

Which way a run went shows in seed_history: a recognised run carries the fingerprint of the
run it relies on (the same `run` token); a run that read its rows records a new one (or none,
when it cannot vouch for what it left). Every case where the shortcut could say "unchanged"
while reading the rows would write something is here, with the full run's answer expected.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import fetch

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2VlZHNlZWQ$2fGz1cQe3k0yq2m4b7m1pQ"

ROLES_CSV = """\
# {model: Role, key: name}
name,description
r1,one
r2,two
r3,three
"""
PERMISSIONS_YAML = """\
model: RolePermission
key: [role_id, permission]
rows:
  - {role_id: {name: r1}, permission: "users:read"}
  - {role_id: {name: r2}, permission: "audit:read"}
"""
USERS_CSV = f"""\
# {{model: User, key: email}}
email,full_name,hashed_password
a@example.com,A,"{HASH}"
b@example.com,B,"{HASH}"
c@example.com,C,"{HASH}"
"""


def seed_files(tmp_path: Path, **files: str) -> Path:
    """seeds/base/<name> in the working directory (`a_perms_yaml` -> `a_perms.yaml`)."""
    directory = tmp_path / "seeds" / "base"
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        stem, suffix = name.rsplit("_", 1)
        (directory / f"{stem}.{suffix}").write_text(dedent(content), encoding="utf-8")
    return directory


def run(cli, db_url: str, *args: str) -> tuple[int, dict | None, str]:
    outcome = cli(["seed", "run", *args, "--json"], db=db_url)
    envelope = json.loads(outcome.stdout) if outcome.stdout else {}
    return outcome.exit_code, envelope.get("data"), outcome.stderr + (envelope.get("message") or "")


def counts(data: dict) -> dict[str, tuple[int, int, int]]:
    return {m["model"]: (m["created"], m["updated"], m["unchanged"]) for m in data["models"]}


def runs(db_url: str) -> list[tuple[str, str | None]]:
    """(file, the fingerprint's run token or None) of every seed_history row, oldest first."""
    rows = fetch(db_url, "SELECT file, fingerprint FROM seed_history ORDER BY id")
    return [(file, json.loads(found)["run"] if found else None) for file, found in rows]


def last_run_was_recognised(db_url: str, files: int = 1) -> bool:
    """The last run's rows carry the token of a run before it (it read no rows)."""
    tokens = [token for _, token in runs(db_url)]
    last, before = tokens[-files:], tokens[:-files]
    return None not in last and set(last) <= set(before)


def test_a_recognised_rerun_answers_what_reading_every_row_answers(cli, db_url) -> None:
    """Same JSON as a rerun with --recheck, models in the same order (roles before the
    permissions naming them, whatever the file order), same history and audit rows; a dry
    run answers the same and records nothing."""
    seed_files(Path.cwd(), a_perms_yaml=PERMISSIONS_YAML, b_roles_csv=ROLES_CSV)
    code, first, _ = run(cli, db_url)
    assert code == 0
    assert counts(first) == {"Role": (3, 0, 0), "RolePermission": (2, 0, 0)}
    code, recognised, _ = run(cli, db_url)
    assert code == 0
    assert last_run_was_recognised(db_url, files=2)
    code, reread, _ = run(cli, db_url, "--recheck")
    assert code == 0
    assert not last_run_was_recognised(db_url, files=2)
    assert recognised == reread
    assert [m["model"] for m in recognised["models"]] == ["Role", "RolePermission"]
    assert counts(recognised) == {"Role": (0, 0, 3), "RolePermission": (0, 0, 2)}
    assert recognised["changes"] == []
    audit = fetch(db_url, "SELECT details FROM audit_log WHERE action = 'seed.run' ORDER BY id")
    details = [json.loads(d) if isinstance(d, str) else d for (d,) in audit]
    assert len(details) == 3 and details[1] == details[2]
    code, dry, _ = run(cli, db_url, "--dry-run")
    assert code == 0
    assert counts(dry) == counts(recognised) and dry["dry_run"] is True
    assert len(runs(db_url)) == 6
    assert fetch(db_url, "SELECT name, description FROM roles ORDER BY name") == [
        ("r1", "one"),
        ("r2", "two"),
        ("r3", "three"),
    ]


EDITS = {
    "edited": ["UPDATE users SET full_name = 'Edited' WHERE email = 'b@example.com'"],
    "deleted": ["DELETE FROM users WHERE email = 'b@example.com'"],
    "deleted and inserted again with other values": [
        "DELETE FROM users WHERE email = 'b@example.com'",
        "INSERT INTO users (email, full_name, hashed_password, is_active, is_superuser, "
        "created_at, updated_at) VALUES ('b@example.com', 'Other', 'x', true, false, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    ],
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_seeded_row_changed_by_anyone_is_put_back_by_the_rerun(cli, db_url, edit) -> None:
    seed_files(Path.cwd(), users_csv=USERS_CSV)
    assert run(cli, db_url)[0] == 0
    ((stamp,),) = fetch(db_url, "SELECT security_stamp FROM users WHERE email = 'b@example.com'")
    for statement in EDITS[edit]:
        fetch(db_url, statement)
    code, data, _ = run(cli, db_url)
    assert code == 0
    assert not last_run_was_recognised(db_url)
    expected = (1, 0, 2) if edit == "deleted" else (0, 1, 2)
    assert counts(data) == {"User": expected}
    rows = fetch(
        db_url,
        "SELECT full_name, hashed_password, security_stamp FROM users "
        "WHERE email = 'b@example.com'",
    )
    assert [(name, hashed) for name, hashed, _ in rows] == [("B", HASH)]
    if edit == "deleted":  # a new row: the defaults of a new row, not the old row's
        assert rows[0][2] is not None and rows[0][2] != stamp
    assert run(cli, db_url)[1] is not None and last_run_was_recognised(db_url)


def test_a_referenced_row_renamed_makes_the_natural_key_resolve_again(cli, db_url) -> None:
    """role_id: {name: r1} names another row once r1 is renamed and a new r1 made: a full
    run links the new one; the roles table is referenced, not written, by the file."""
    fetch(
        db_url,
        "INSERT INTO roles (name, description, created_at) VALUES "
        "('r1', '', CURRENT_TIMESTAMP), ('r2', '', CURRENT_TIMESTAMP)",
    )
    seed_files(Path.cwd(), perms_yaml=PERMISSIONS_YAML)
    assert counts(run(cli, db_url)[1]) == {"RolePermission": (2, 0, 0)}
    assert counts(run(cli, db_url)[1]) == {"RolePermission": (0, 0, 2)}
    assert last_run_was_recognised(db_url)
    fetch(db_url, "UPDATE roles SET name = 'r1-old' WHERE name = 'r1'")
    fetch(
        db_url,
        "INSERT INTO roles (name, description, created_at) VALUES ('r1', '', CURRENT_TIMESTAMP)",
    )
    code, data, _ = run(cli, db_url)
    assert code == 0
    assert counts(data) == {"RolePermission": (1, 0, 1)}
    assert fetch(
        db_url,
        "SELECT r.name, p.permission FROM role_permissions p JOIN roles r ON r.id = p.role_id "
        "ORDER BY r.name",
    ) == [("r1", "users:read"), ("r1-old", "users:read"), ("r2", "audit:read")]


def test_an_edited_sidecar_changes_the_file(cli, db_url) -> None:
    """The sidecar names the key: keyed by description, two rows declare the same key."""
    directory = seed_files(Path.cwd(), roles_csv="name,description\nr1,same\nr2,same\n")
    (directory / "roles.csv.yaml").write_text("{model: Role, key: name}\n", encoding="utf-8")
    assert counts(run(cli, db_url)[1]) == {"Role": (2, 0, 0)}
    assert counts(run(cli, db_url)[1]) == {"Role": (0, 0, 2)}
    (directory / "roles.csv.yaml").write_text("{model: Role, key: description}\n", "utf-8")
    code, _, message = run(cli, db_url)
    assert code == 5
    assert "roles row description='same' is already declared at" in message


def test_files_applied_by_different_runs_are_checked_against_each_other(cli, db_url) -> None:
    """a.csv and b.csv each declare r1; each alone is fine, both in one run are refused,
    although each file and the table are as their last runs left them."""
    seed_files(Path.cwd(), a_csv=ROLES_CSV, b_csv=ROLES_CSV.replace("r2,two\nr3,three\n", ""))
    assert counts(run(cli, db_url, "seeds/base/a.csv")[1]) == {"Role": (3, 0, 0)}
    assert counts(run(cli, db_url, "seeds/base/b.csv")[1]) == {"Role": (0, 0, 1)}
    code, _, message = run(cli, db_url)
    assert code == 5
    assert "roles row name='r1' is already declared at seeds/base/a.csv:3" in message


def test_one_changed_file_of_a_set_makes_the_run_read_every_file(cli, db_url) -> None:
    directory = seed_files(Path.cwd(), a_perms_yaml=PERMISSIONS_YAML, b_roles_csv=ROLES_CSV)
    assert run(cli, db_url)[0] == 0
    extra = '  - {role_id: {name: r3}, permission: "roles:read"}\n'
    (directory / "a_perms.yaml").write_text(PERMISSIONS_YAML + extra, encoding="utf-8")
    code, data, _ = run(cli, db_url)
    assert code == 0
    assert counts(data) == {"Role": (0, 0, 3), "RolePermission": (1, 0, 2)}
    assert not last_run_was_recognised(db_url, files=2)
    assert fetch(db_url, "SELECT count(*) FROM role_permissions") == [(3,)]


def test_a_renamed_file_is_read_again_under_its_new_name(cli, db_url) -> None:
    directory = seed_files(Path.cwd(), roles_csv=ROLES_CSV)
    assert run(cli, db_url)[0] == 0
    (directory / "roles.csv").rename(directory / "all_roles.csv")
    code, data, _ = run(cli, db_url)
    assert code == 0
    assert counts(data) == {"Role": (0, 0, 3)}
    assert not last_run_was_recognised(db_url)
    assert runs(db_url)[-1][0] == "base/all_roles.csv"
    assert run(cli, db_url)[0] == 0 and last_run_was_recognised(db_url)


def test_a_new_migration_makes_the_rerun_read_every_row(cli, db_url, tmp_path) -> None:
    """Widening roles.description changes no row, only the schema the rows are read into."""
    from tests.migrations_fixtures.extra_revisions import WIDEN_ROLE_DESCRIPTION, shipped_copy

    seed_files(Path.cwd(), roles_csv=ROLES_CSV)
    assert run(cli, db_url)[0] == 0
    copy = shipped_copy(tmp_path, ("w0000001", WIDEN_ROLE_DESCRIPTION))
    scripts = {"MANAGE_MIGRATIONS_DIR": str(copy)}
    assert cli(["migrate", "upgrade"], db=db_url, env=scripts).exit_code == 0
    code, data, _ = run(cli, db_url)
    assert code == 0
    assert counts(data) == {"Role": (0, 0, 3)}
    assert not last_run_was_recognised(db_url)


def test_sections_that_overwrite_each_other_are_never_recognised(cli, db_url) -> None:
    """Keyed by name, r1 says `one`; keyed by id, the same row says `uno`: every run writes
    both, so none may be skipped."""
    seed_files(
        Path.cwd(),
        roles_yaml="""\
        models:
          - {model: Role, key: name, rows: [{name: r1, description: one}]}
          - {model: Role, key: id, rows: [{id: 1, description: uno}]}
        """,
    )
    assert counts(run(cli, db_url)[1]) == {"Role": (1, 1, 0)}
    for _ in range(2):
        code, data, _ = run(cli, db_url)
        assert code == 0
        assert counts(data) == {"Role": (0, 2, 0)}
    assert [token for _, token in runs(db_url)] == [None, None, None]


MODULE = """\
from sqlalchemy import select

from app.models import Role


async def seed(db):
    found = await db.exec(select(Role).where(Role.name == "from-module"))
    if found.first() is None:
        db.add(Role(name="from-module"))
"""


@pytest.mark.parametrize(
    "other",
    [
        ("z_module.py", MODULE),
        ("z_roles.yaml", "roles:\n  - {name: from-module}\n"),
        ("z_users.yaml", f"users:\n  - {{email: u@example.com, password_hash: '{HASH}'}}\n"),
    ],
    ids=["module", "roles section", "users section"],
)
def test_runs_with_modules_roles_or_users_sections_read_every_row(cli, db_url, other) -> None:
    """A module runs every time; roles and users sections are not recognised either."""
    directory = seed_files(Path.cwd(), roles_csv=ROLES_CSV)
    (directory / other[0]).write_text(other[1], encoding="utf-8")
    assert run(cli, db_url)[0] == 0
    fetch(db_url, "DELETE FROM roles WHERE name = 'from-module'")
    code, data, _ = run(cli, db_url)
    assert code == 0
    assert counts(data)["Role"][2] == 3
    assert [token for _, token in runs(db_url)] == [None] * 4
    if other[0].endswith(".py"):
        assert fetch(db_url, "SELECT count(*) FROM roles WHERE name = 'from-module'") == [(1,)]


def test_recheck_reads_every_row_and_vouches_for_the_next_run(cli, db_url) -> None:
    seed_files(Path.cwd(), roles_csv=ROLES_CSV)
    assert run(cli, db_url)[0] == 0
    code, data, _ = run(cli, db_url, "--recheck")
    assert code == 0 and counts(data) == {"Role": (0, 0, 3)}
    assert not last_run_was_recognised(db_url)
    assert run(cli, db_url)[0] == 0 and last_run_was_recognised(db_url)


@pytest.mark.parametrize("analyzed", [False, True], ids=["counted", "estimated"])
def test_a_few_rows_naming_a_large_table_are_read_again_rather_than_digest_it(
    cli, db_url, backend, analyzed
) -> None:
    """Two permissions pointing into 20,000 roles: digesting the roles table on every run
    would cost more than reading two rows, so no fingerprint is recorded (PostgreSQL: known
    from the planner's estimate before counting, once the table is analyzed)."""
    if backend == "postgresql":
        numbers = "SELECT g AS n FROM generate_series(1, 20000) AS g"
    else:
        numbers = (
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000) "
            "SELECT n FROM s"
        )
    fetch(
        db_url,
        "INSERT INTO roles (name, description, created_at) "
        f"SELECT 'role' || CAST(n AS text), '', CURRENT_TIMESTAMP FROM ({numbers}) AS numbers",
    )
    fetch(
        db_url,
        "UPDATE roles SET name = 'r' || substr(name, 5) WHERE name IN ('role1', 'role2')",
    )
    if analyzed:
        fetch(db_url, "ANALYZE roles")
    seed_files(Path.cwd(), perms_yaml=PERMISSIONS_YAML)
    assert counts(run(cli, db_url)[1]) == {"RolePermission": (2, 0, 0)}
    assert counts(run(cli, db_url)[1]) == {"RolePermission": (0, 0, 2)}
    assert [token for _, token in runs(db_url)] == [None, None]


def test_a_section_naming_rows_a_later_section_writes_is_never_recognised(cli, db_url) -> None:
    """Permissions name role r1; a YAML file over 4 MiB (streamed, so it runs last) renames
    role 1 and makes a new r1: each run links the r1 of before its own renames, so the next
    run links another row. Such a run cannot vouch for its end state."""
    fetch(
        db_url,
        "INSERT INTO roles (id, name, description, created_at) "
        "VALUES (1, 'r1', '', CURRENT_TIMESTAMP)",
    )
    big = (
        "model: Role\nkey: id\nrows:\n  - {id: 1, name: r1-renamed}\n  - {id: 2, name: r1}\n"
        + "#" * (4 * 1024 * 1024 + 10)
        + "\n"
    )
    perms = "model: RolePermission\nkey: [role_id, permission]\nrows:\n"
    perms += '  - {role_id: {name: r1}, permission: "users:read"}\n'
    seed_files(Path.cwd(), a_perms_yaml=perms, b_roles_yaml=big)
    first = run(cli, db_url)[1]
    assert counts(first) == {"RolePermission": (1, 0, 0), "Role": (1, 1, 0)}
    code, data, _ = run(cli, db_url)
    assert code == 0
    assert counts(data) == {"RolePermission": (1, 0, 0), "Role": (0, 0, 2)}
    assert [token for _, token in runs(db_url)] == [None] * 4


def test_two_files_of_one_name_from_two_directories_are_both_read(cli, db_url, tmp_path) -> None:
    """Both are `base/roles.csv` in the history; run together they declare r1 twice."""
    for folder in ("one", "two"):
        (tmp_path / folder / "base").mkdir(parents=True)
        (tmp_path / folder / "base" / "roles.csv").write_text(ROLES_CSV, encoding="utf-8")
    assert counts(run(cli, db_url, "one/base/roles.csv")[1]) == {"Role": (3, 0, 0)}
    assert counts(run(cli, db_url, "one/base/roles.csv")[1]) == {"Role": (0, 0, 3)}
    code, _, message = run(cli, db_url, "one/base/roles.csv", "two/base/roles.csv")
    assert code == 5
    assert "roles row name='r1' is already declared at one/base/roles.csv:3" in message
