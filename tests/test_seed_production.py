"""ENVIRONMENT=production: seed sets for other environments and fake users are destructive
acts (exit 7 without the flags), and every typed confirmation names what it destroys."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

from tests.conftest import MANAGE_BIN, fetch, manage_env
from tests.roles_support import create_user

PASSWORD = "correct-horse-battery-staple"
PROD = {"ENVIRONMENT": "production", "DEV_PASSWORD": PASSWORD}


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    for name in ("base", "production", "dev", "staging"):
        (tmp_path / "seeds" / name).mkdir(parents=True)
        (tmp_path / "seeds" / name / "roles.yaml").write_text(
            f"roles:\n  - name: from-{name}\n", encoding="utf-8"
        )
    return tmp_path / "seeds"


def roles(db_url: str) -> list[str]:
    return [name for (name,) in fetch(db_url, "SELECT name FROM roles ORDER BY name")]


def test_base_and_production_sets_load_in_production_without_flags(cli, db_url, seeds) -> None:
    outcome = cli(["seed", "run"], db=db_url, env=PROD)
    assert outcome.exit_code == 0, outcome.stderr
    assert roles(db_url) == ["from-base", "from-production"]


@pytest.mark.parametrize(
    "args",
    [["dev"], ["--set", "staging"], ["seeds/dev/roles.yaml"], ["base", "dev"]],
    ids=["named", "--set", "file", "base-and-dev"],
)
def test_another_environments_set_is_refused_in_production_without_yes_and_force(
    cli, db_url, seeds, args
) -> None:
    refused = cli(["seed", "run", *args], db=db_url, env=PROD)
    assert refused.exit_code == 7, refused.stderr
    assert "refusing to load seed set(s) " in refused.stderr
    assert "in production without --yes" in refused.stderr
    without_force = cli(["seed", "run", *args, "--yes"], db=db_url, env=PROD)
    assert without_force.exit_code == 7
    assert "without a terminal: add --force" in without_force.stderr
    assert roles(db_url) == []
    done = cli(["seed", "run", *args, "--yes", "--force"], db=db_url, env=PROD)
    assert done.exit_code == 0, done.stderr


def test_fake_users_are_refused_in_production_without_the_flags(cli, db_url) -> None:
    args = ["seed", "fake", "users", "--count", "3", "--seed", "1"]
    env = {"ENVIRONMENT": "production", "MANAGE_PASSWORD": PASSWORD}
    refused = cli(args, db=db_url, env=env)
    assert refused.exit_code == 7
    assert "refusing to create 3 fake users in production without --yes" in refused.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]
    done = cli([*args, "--yes", "--force"], db=db_url, env=env)
    assert done.exit_code == 0, done.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(3,)]


def test_a_fake_run_writes_one_audit_row_with_the_count_and_seed(cli, db_url) -> None:
    args = ["seed", "fake", "users", "--count", "25", "--seed", "7"]
    env = {"MANAGE_PASSWORD": PASSWORD}
    assert cli(args, db=db_url, env=env).exit_code == 0
    assert cli(args, db=db_url, env=env).exit_code == 0  # all skipped: nothing to audit
    rows = fetch(db_url, "SELECT action, target, details FROM audit_log")
    assert len(rows) == 1
    action, target, details = rows[0]
    assert (action, target) == ("seed.fake_users", "users")
    details = json.loads(details) if isinstance(details, str) else details
    assert details == {"requested": 25, "created": 25, "seed": 7, "role": None}


def on_a_terminal(args: list[str], typed: str, *, db: str, cwd: Path, env: dict[str, str]):
    """Run manage with a pseudo-terminal as stdin, type `typed`, return (code, stdout, stderr)."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [str(MANAGE_BIN), *args],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=manage_env(db, **env),
            text=True,
        )
        os.write(leader, typed.encode() + b"\n")
        out, err = process.communicate(timeout=60)
    finally:
        os.close(follower)
        os.close(leader)
    return process.returncode, out, err


def test_users_delete_on_a_production_terminal_wants_the_email_not_yes(db_url, tmp_path) -> None:
    create_user(db_url, "gone@example.com")
    args = ["users", "delete", "gone@example.com", "--yes"]
    env = {"ENVIRONMENT": "production"}
    code, out, err = on_a_terminal(args, "yes", db=db_url, cwd=tmp_path, env=env)
    assert code == 7, err
    assert "Type 'gone@example.com' to confirm" in out
    assert "delete user gone@example.com" in out
    assert fetch(db_url, "SELECT count(*) FROM users") == [(1,)]
    code, out, err = on_a_terminal(args, "gone@example.com", db=db_url, cwd=tmp_path, env=env)
    assert code == 0, err
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]


def test_roles_sync_prune_on_a_production_terminal_wants_the_role_names(
    cli, db_url, tmp_path
) -> None:
    for name in ("keeper", "legacy", "old"):  # keeper is kept: no --prune-all needed
        assert cli(["roles", "create", name], db=db_url).exit_code == 0
    (tmp_path / "roles.yaml").write_text("roles:\n  - name: keeper\n", encoding="utf-8")
    args = ["roles", "sync", "roles.yaml", "--prune", "--yes"]
    env = {"ENVIRONMENT": "production"}
    code, out, _err = on_a_terminal(args, "yes", db=db_url, cwd=tmp_path, env=env)
    assert code == 7
    assert "Type 'legacy,old' to confirm" in out
    assert roles(db_url) == ["keeper", "legacy", "old"]
    code, out, err = on_a_terminal(args, "legacy, old", db=db_url, cwd=tmp_path, env=env)
    assert code == 0, err
    assert roles(db_url) == ["keeper"]


def test_a_set_on_a_production_terminal_is_confirmed_by_typing_its_name(
    db_url, seeds, tmp_path
) -> None:
    args = ["seed", "run", "dev", "--yes"]
    code, out, _err = on_a_terminal(args, "yes", db=db_url, cwd=tmp_path, env=PROD)
    assert code == 7
    assert "Type 'dev' to confirm" in out
    code, out, err = on_a_terminal(args, "dev", db=db_url, cwd=tmp_path, env=PROD)
    assert code == 0, err
    assert roles(db_url) == ["from-base", "from-dev"]


@pytest.mark.parametrize("name", ["production", "base"])
def test_a_folder_named_like_a_production_set_outside_the_seeds_dir_needs_the_flags(
    cli, db_url, seeds, tmp_path, name
) -> None:
    evil = tmp_path / "elsewhere" / name / "evil.yaml"
    evil.parent.mkdir(parents=True)
    evil.write_text("roles:\n  - {name: smuggled, permissions: ['*']}\n", encoding="utf-8")
    refused = cli(["seed", "run", str(evil)], db=db_url, env=PROD)
    assert refused.exit_code == 7, refused.stderr
    assert "refusing to load seed set(s) " in refused.stderr
    assert "evil.yaml" in refused.stderr  # named by its path, not as the production set
    assert roles(db_url) == []
    done = cli(["seed", "run", str(evil), "--yes", "--force"], db=db_url, env=PROD)
    assert done.exit_code == 0, done.stderr
    assert "smuggled" in roles(db_url)


def test_a_production_set_that_is_a_symlink_out_of_the_seeds_dir_needs_the_flags(
    cli, db_url, seeds, tmp_path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "roles.yaml").write_text("roles:\n  - name: smuggled\n", encoding="utf-8")
    (seeds / "production" / "roles.yaml").unlink()
    (seeds / "production").rmdir()
    (seeds / "production").symlink_to(outside, target_is_directory=True)
    refused = cli(["seed", "run"], db=db_url, env=PROD)
    assert refused.exit_code == 7, refused.stderr
    assert roles(db_url) == []


def test_the_projects_own_production_file_named_by_path_needs_no_flags(cli, db_url, seeds) -> None:
    outcome = cli(["seed", "run", "seeds/production/roles.yaml"], db=db_url, env=PROD)
    assert outcome.exit_code == 0, outcome.stderr
    assert roles(db_url) == ["from-base", "from-production"] or roles(db_url) == ["from-production"]
