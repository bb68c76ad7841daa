"""The three stories, as scripts with no terminal (stdin closed), the way pipelines run them.

1. Ops bootstrap: `db init` with a password file, then `db check` exits 0.
2. A developer's loop: change a model, `migrate make`, `migrate review`, `migrate upgrade`,
   `migrate check` exits 0.
3. Scripted seeding: `seed run`, `seed fake users --count 10000`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import MANAGE_BIN, REPO, fetch, manage_env


def _script(body: str, *, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    script = 'set -u\nmanage() { "$MANAGE" "$@"; }\n' + body
    return subprocess.run(
        ["bash", "-c", script],
        env={**env, "MANAGE": str(MANAGE_BIN)},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ops_bootstrap(blank_db_url, tmp_path) -> None:
    secret = tmp_path / "admin_password"
    secret.write_text("Ops-Bootstrap-Passw0rd\n")
    env = manage_env(
        blank_db_url,
        FIRST_SUPERUSER_EMAIL="ops@example.com",
        FIRST_SUPERUSER_PASSWORD_FILE=str(secret),
    )
    result = _script(
        "manage db init --wait 30 || exit 10\n"
        "manage db init --wait 30 || exit 11   # every container start runs it again\n"
        "manage db check || exit 12\n",
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "first superuser: created ops@example.com" in result.stdout
    assert "ops@example.com exists; left unchanged" in result.stdout
    assert "ready: database at head" in result.stdout
    assert "Ops-Bootstrap-Passw0rd" not in result.stdout + result.stderr


def test_a_developers_loop(blank_db_url, tmp_path, backend) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(REPO / "migrations", migrations, ignore=shutil.ignore_patterns("__pycache__"))
    env = manage_env(
        blank_db_url,
        MANAGE_MIGRATIONS_DIR=str(migrations),
        PYTHONPATH=str(REPO),
    )
    changed = {"MANAGE_TARGET_METADATA": "tests.migrations_fixtures.drift_models:with_nickname"}
    result = _script(
        "manage migrate upgrade || exit 10\n"
        "manage migrate check && exit 11            # the model changed: drift, exit 1\n"
        "manage migrate make -m 'add nickname' || exit 12\n"
        'manage migrate review --strict; echo "review exit $?"\n'
        "manage migrate upgrade || exit 14\n"
        "manage migrate check || exit 15\n"
        "manage migrate status --check || exit 16\n",
        env={**env, **changed},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    written = list((migrations / "versions").glob("*add_nickname.py"))
    assert len(written) == 1
    review_exit = int(result.stdout.split("review exit ")[1].split()[0])
    assert review_exit in (0, 1)  # findings are a verdict, never a crash
    if backend == "postgresql":  # the index is created without CONCURRENTLY: a warning
        assert review_exit == 1
        assert "index-not-concurrent" in result.stdout + result.stderr
    columns = fetch(blank_db_url, "SELECT nickname FROM users")
    assert columns == []

    # Then users.full_name grows. On SQLite `make` writes a rebuild of users (batch mode),
    # and the memberships already in the database must all survive it.
    _members(blank_db_url)
    wider = {
        "MANAGE_TARGET_METADATA": "tests.migrations_fixtures.drift_models:with_wider_full_name"
    }
    result = _script(
        "manage migrate check && exit 20\n"
        "manage migrate make -m 'wider full name' || exit 21\n"
        "manage migrate upgrade || exit 22\n"
        "manage migrate check || exit 23\n",
        env={**env, **wider},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (written,) = (migrations / "versions").glob("*wider_full_name.py")
    if backend == "sqlite":
        assert "batch_alter_table('users'" in written.read_text()
    assert fetch(blank_db_url, "SELECT user_id, role_id FROM user_roles ORDER BY user_id") == [
        (1, 1),
        (2, 1),
    ]
    assert fetch(blank_db_url, "SELECT count(*) FROM role_permissions") == [(1,)]
    fetch(blank_db_url, "DELETE FROM users WHERE id = 1")  # foreign keys enforced again
    assert fetch(blank_db_url, "SELECT user_id FROM user_roles") == [(2,)]


def _members(url: str) -> None:
    """Two users, one role with a permission, both users members of it."""
    now = "'2026-01-01 00:00:00'"
    for user_id in (1, 2):
        fetch(
            url,
            "INSERT INTO users (id, email, hashed_password, created_at, updated_at) "
            f"VALUES ({user_id}, 'dev{user_id}@example.com', 'x', {now}, {now})",
        )
    fetch(
        url, f"INSERT INTO roles (id, name, description, created_at) VALUES (1, 'dev', '', {now})"
    )
    fetch(url, "INSERT INTO role_permissions (role_id, permission) VALUES (1, 'users:read')")
    fetch(url, "INSERT INTO user_roles (user_id, role_id) VALUES (1, 1), (2, 1)")


def test_scripted_seeding(db_url, tmp_path) -> None:
    seeds = tmp_path / "seeds"
    (seeds / "base").mkdir(parents=True)
    (seeds / "base" / "roles.yaml").write_text(
        "roles:\n  - name: viewer\n    description: Reads\n    permissions: ['users:read']\n"
    )
    (tmp_path / "pw").write_text("Fake-Users-Passw0rd\n")
    result = _script(
        "manage seed run || exit 10\n"
        "manage seed run | grep -q 'unchanged' || exit 11\n"
        "manage seed fake users --count 10000 --seed 7 --role viewer --password-file pw "
        "|| exit 12\n"
        "manage seed fake users --count 10000 --seed 7 --password-file pw || exit 13\n",
        env=manage_env(db_url),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(10000,)]
    assert fetch(db_url, "SELECT count(*) FROM user_roles") == [(10000,)]
