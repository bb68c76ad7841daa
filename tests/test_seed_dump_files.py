"""`seed dump --output`: a file with password hashes is owner-only, never written through a
symlink, and never made more readable than it was."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.roles_support import create_user


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def dump(cli, db_url: str, path: Path, *extra: str):
    return cli(["seed", "dump", "users", "-o", str(path), *extra], db=db_url)


@pytest.fixture
def user_db(db_url: str) -> str:
    create_user(db_url, "ann@example.com")
    return db_url


def test_a_dump_with_secrets_is_written_owner_only(cli, user_db, tmp_path) -> None:
    old = os.umask(0o022)
    try:
        outcome = dump(cli, user_db, tmp_path / "secrets.yaml", "--include-secrets")
        plain = dump(cli, user_db, tmp_path / "plain.yaml")
    finally:
        os.umask(old)
    assert outcome.exit_code == 0, outcome.stderr
    assert "password_hash: $argon2" in (tmp_path / "secrets.yaml").read_text()
    assert mode(tmp_path / "secrets.yaml") == 0o600
    assert plain.exit_code == 0
    assert mode(tmp_path / "plain.yaml") == 0o644


@pytest.mark.parametrize("secrets", [True, False], ids=["include-secrets", "plain"])
def test_a_symlink_at_the_output_path_is_refused_and_its_target_untouched(
    cli, user_db, tmp_path, secrets
) -> None:
    target = tmp_path / "authorized_keys"
    target.write_text("ssh-ed25519 AAAA keep-me\n")
    link = tmp_path / "dump.yaml"
    link.symlink_to(target)
    outcome = dump(cli, user_db, link, *(["--include-secrets"] * secrets))
    assert outcome.exit_code == 5
    assert outcome.stderr.strip() == (
        f"error: {link}: is a symbolic link; refusing to write through it"
    )
    assert target.read_text() == "ssh-ed25519 AAAA keep-me\n"
    assert link.is_symlink()


@pytest.mark.parametrize(
    ("before", "secrets", "after"),
    [(0o644, True, 0o600), (0o640, True, 0o600), (0o400, True, 0o400), (0o600, False, 0o600)],
)
def test_an_existing_file_is_never_made_more_readable(
    cli, user_db, tmp_path, before, secrets, after
) -> None:
    path = tmp_path / "dump.yaml"
    path.write_text("old\n")
    path.chmod(before)
    outcome = dump(cli, user_db, path, *(["--include-secrets"] * secrets))
    assert outcome.exit_code == 0, outcome.stderr
    assert mode(path) == after
    assert "ann@example.com" in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["dump.yaml"]  # no temporary left behind


def test_a_directory_at_the_output_path_is_exit_5(cli, user_db, tmp_path) -> None:
    (tmp_path / "out.yaml").mkdir()
    outcome = dump(cli, user_db, tmp_path / "out.yaml", "--include-secrets")
    assert outcome.exit_code in (2, 5)
    assert (tmp_path / "out.yaml").is_dir()


def _hash(db_url: str) -> str:
    from tests.conftest import fetch

    [(hashed,)] = fetch(db_url, "SELECT hashed_password FROM users")
    return hashed


@pytest.mark.parametrize("secrets", [True, False], ids=["secrets", "no_secrets"])
def test_dump_to_a_file_with_json_reports_only_the_path_tables_and_counts(
    manage_proc, user_db, tmp_path, secrets
) -> None:
    import json

    path = tmp_path / "dump.yaml"
    args = ["seed", "dump", "users", "roles", "--output", str(path), "--json"]
    outcome = manage_proc([*args, *(["--include-secrets"] * secrets)], db=user_db)
    assert outcome.exit_code == 0, outcome.stderr
    hashed = _hash(user_db)
    assert hashed not in outcome.stdout and hashed not in outcome.stderr
    assert "ann@example.com" not in outcome.stdout  # no rows at all, only counts
    data = json.loads(outcome.stdout)["data"]
    assert data["output"] == str(path)
    assert data["tables"]["users"] == 1
    assert set(data) == {"output", "tables"}
    assert all(isinstance(n, int) for n in data["tables"].values())
    assert (hashed in path.read_text(encoding="utf-8")) is secrets


def test_dump_to_a_file_prints_counts_not_rows(cli, user_db, tmp_path) -> None:
    outcome = dump(cli, user_db, tmp_path / "dump.yaml", "--include-secrets")
    assert outcome.exit_code == 0, outcome.stderr
    assert _hash(user_db) not in outcome.stdout
    assert "users (1)" in outcome.stdout


def test_secrets_reach_stdout_only_without_output_and_with_include_secrets(
    manage_proc, user_db
) -> None:
    hashed = _hash(user_db)
    shown = manage_proc(["seed", "dump", "users", "--include-secrets", "--json"], db=user_db)
    assert shown.exit_code == 0, shown.stderr
    assert hashed in shown.stdout
    assert "warning" not in shown.stderr  # not a terminal: a pipe asked for it
    hidden = manage_proc(["seed", "dump", "users", "--json"], db=user_db)
    assert hidden.exit_code == 0, hidden.stderr
    assert hashed not in hidden.stdout
