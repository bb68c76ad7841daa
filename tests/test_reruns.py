"""Reruns do not nag: `make run` and the documented container step, run again once the
superuser exists, read no password and check none against today's policy."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import MANAGE_BIN, REPO, ScratchDatabases, fetch, manage_env


@pytest.fixture
def sqlite_url(scratch: ScratchDatabases) -> str:
    return scratch.migrated("sqlite")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_again_asks_for_no_password_even_when_it_is_weak_today(sqlite_url) -> None:
    def make_run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            # -o: the virtualenv is this one; never rebuild it from the test.
            [
                "make",
                "--no-print-directory",
                "-o",
                str(MANAGE_BIN),
                "run",
                f"BIN={MANAGE_BIN.parent}",
                "EMAIL=ops@example.com",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            timeout=300,
            env=manage_env(sqlite_url, **env),
        )

    first = make_run(MANAGE_PASSWORD="Correct-Horse-9")
    assert first.returncode == 0, first.stderr
    hashes = fetch(sqlite_url, "SELECT hashed_password FROM users")

    for env in ({}, {"MANAGE_PASSWORD": "short", "PASSWORD_MIN_LENGTH": "40"}):
        again = make_run(**env)
        assert again.returncode == 0, again.stderr
        assert "left unchanged (--if-exists skip)" in again.stdout
        assert "password" not in again.stderr.lower()
    assert fetch(sqlite_url, "SELECT hashed_password FROM users") == hashes


def test_the_container_step_reruns_with_a_password_file_weak_under_todays_policy(
    sqlite_url, tmp_path
) -> None:
    secret = tmp_path / "admin_password"
    secret.write_text("Correct-Horse-9\n")
    step = [
        str(MANAGE_BIN),
        "users",
        "create-superuser",
        "--email",
        "ops@example.com",
        "--password-file",
        str(secret),
        "--if-exists",
        "skip",
    ]
    first = subprocess.run(
        step,
        capture_output=True,
        text=True,
        env=manage_env(sqlite_url),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr

    # The policy got stricter, and the secret was rotated to something it refuses.
    secret.write_text("short\n")
    again = subprocess.run(
        step,
        capture_output=True,
        text=True,
        env=manage_env(sqlite_url, PASSWORD_MIN_LENGTH="40"),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert "left unchanged" in again.stdout and again.stderr == ""


@pytest.mark.parametrize("json_output", [False, True])
def test_a_first_run_whose_password_file_is_missing_says_nothing_was_committed(
    sqlite_url, tmp_path, json_output
) -> None:
    # --if-exists skip looks the account up in a session of its own before reading the
    # password; that lookup wrote nothing, so the error must not say something committed.
    step = [
        str(MANAGE_BIN),
        "users",
        "create-superuser",
        "--email",
        "ops@example.com",
        "--password-file",
        str(tmp_path / "absent"),
        "--if-exists",
        "skip",
        *(["--json"] if json_output else []),
    ]
    result = subprocess.run(
        step,
        capture_output=True,
        text=True,
        env=manage_env(sqlite_url),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 5, result.stderr
    shown = result.stdout if json_output else result.stderr
    assert "absent" in shown and "No such file" in shown
    assert "committed" not in shown, shown
    assert fetch(sqlite_url, "SELECT count(*) FROM users") == [(0,)]
