"""Issue 11, item 4: every password source refuses what cannot be a password with exit 5 and one
line, before hashing, and never stores a byte-order mark (app/secret_files.py has the rules)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from app.security import verify_password
from tests.conftest import MANAGE_BIN, fetch, manage_env

PASSWORD = "Corr3ct-Horse-Batt3ry"
EMAIL = "jo@example.com"


def run(args: list[str], *, db: str, stdin: bytes = b"", env: dict | None = None, cwd: Path):
    """The real console script, with raw bytes on stdin and in the environment."""
    full_env: dict = manage_env(db)
    full_env.update(env or {})
    return subprocess.run(
        [str(MANAGE_BIN), *args], input=stdin, env=full_env, cwd=cwd, capture_output=True,
        timeout=60,
    )  # fmt: skip


def create_with(source: str, secret: bytes, *, db: str, tmp_path: Path):
    """`users create` with `secret` given through `source`: stdin, file or env."""
    args = ["users", "create", "--email", EMAIL]
    if source == "stdin":
        return run([*args, "--password-stdin"], db=db, stdin=secret, cwd=tmp_path)
    if source == "file":
        path = tmp_path / "secret"
        path.write_bytes(secret)
        return run([*args, "--password-file", str(path)], db=db, cwd=tmp_path)
    return run(args, db=db, env={b"MANAGE_PASSWORD": secret}, cwd=tmp_path)


def assert_refused(proc, db_url: str, *, reason: str) -> None:
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 5, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert reason in stderr
    assert "Traceback" not in stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]


def stored_hash(db_url: str) -> str:
    return fetch(db_url, "SELECT hashed_password FROM users")[0][0]


SOURCES = ["stdin", "file", "env"]


@pytest.mark.parametrize("source", SOURCES)
def test_a_password_over_the_hashers_limit_is_exit_5_before_hashing(
    db_url, tmp_path, source
) -> None:
    # argon2 through passlib takes at most 4096 bytes; 2049 "é" are 4098 bytes in 2049 chars.
    for secret in ("x" * 5000, "é" * 2049):
        proc = create_with(source, secret.encode(), db=db_url, tmp_path=tmp_path)
        assert_refused(proc, db_url, reason="too long: at most 4096 bytes")


@pytest.mark.parametrize("source", SOURCES)
def test_non_utf8_bytes_are_exit_5_naming_the_source_not_the_bytes(
    db_url, tmp_path, source
) -> None:
    proc = create_with(source, b"Passw\xffrd-\xfe-long-enough", db=db_url, tmp_path=tmp_path)
    assert_refused(proc, db_url, reason="UTF-8")
    assert b"Passw" not in proc.stderr and b"long-enough" not in proc.stderr


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n"])
def test_a_byte_order_mark_is_removed_never_stored(db_url, tmp_path, source, ending) -> None:
    secret = b"\xef\xbb\xbf" + PASSWORD.encode() + ending
    proc = create_with(source, secret, db=db_url, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    hashed = stored_hash(db_url)
    assert verify_password(PASSWORD, hashed)
    assert not verify_password("\ufeff" + PASSWORD, hashed)


def test_ten_megabytes_on_stdin_is_exit_5_at_once(db_url, tmp_path) -> None:
    started = time.monotonic()
    proc = create_with("stdin", b"A" * 10_000_000, db=db_url, tmp_path=tmp_path)
    assert_refused(proc, db_url, reason="larger than 64 KiB")
    assert time.monotonic() - started < 30
    assert b"AAAA" not in proc.stderr


def test_only_the_first_line_of_stdin_counts(db_url, tmp_path) -> None:
    proc = create_with(
        "stdin", PASSWORD.encode() + b"\nsecond line\n", db=db_url, tmp_path=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert verify_password(PASSWORD, stored_hash(db_url))


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def _directory(tmp_path: Path) -> Path:
    path = tmp_path / "dir"
    path.mkdir()
    return path


def _huge(tmp_path: Path) -> Path:
    path = tmp_path / "huge"
    path.write_bytes(b"B" * (64 * 1024 + 1))
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_fifo, "not a regular file"),
        (lambda _tmp: Path("/dev/zero"), "not a regular file"),
        (lambda _tmp: Path("/dev/stdin"), "not a regular file"),
        (_directory, "directory"),
        (_huge, "larger than 64 KiB"),
        (lambda tmp: tmp / "missing", "No such file"),
    ],
    ids=["fifo", "dev-zero", "dev-stdin", "directory", "over-64KiB", "missing"],
)
def test_a_password_file_that_is_not_a_small_regular_file_is_exit_5(
    db_url, tmp_path, make, reason
) -> None:
    path = make(tmp_path)
    started = time.monotonic()
    proc = run(
        ["users", "create", "--email", EMAIL, "--password-file", str(path)],
        db=db_url,
        stdin=b"piped-Passw0rd-1234\n",
        cwd=tmp_path,
    )
    assert_refused(proc, db_url, reason=reason)
    assert time.monotonic() - started < 30  # a FIFO with no writer never hangs
    assert b"BBBB" not in proc.stderr


def test_a_kubernetes_style_symlinked_secret_is_read(db_url, tmp_path) -> None:
    # Kubernetes mounts secret/..data -> ..2024_01_01/ and secret/password -> ..data/password.
    real = tmp_path / "..2024_01_01"
    real.mkdir()
    (real / "password").write_text(PASSWORD + "\n")
    (tmp_path / "..data").symlink_to(real.name)
    (tmp_path / "password").symlink_to("..data/password")
    proc = run(
        ["users", "create", "--email", EMAIL, "--password-file", str(tmp_path / "password")],
        db=db_url,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert verify_password(PASSWORD, stored_hash(db_url))


def test_first_superuser_password_file_follows_the_same_rules(db_url, tmp_path) -> None:
    proc = run(
        ["db", "init"],
        db=db_url,
        env={"FIRST_SUPERUSER_EMAIL": EMAIL, "FIRST_SUPERUSER_PASSWORD_FILE": "/dev/zero"},
        cwd=tmp_path,
    )
    assert_refused(proc, db_url, reason="FIRST_SUPERUSER_PASSWORD_FILE /dev/zero: not a regular")
    bom = tmp_path / "pw"
    bom.write_bytes(b"\xef\xbb\xbf" + PASSWORD.encode() + b"\r\n")
    proc = run(
        ["db", "init"],
        db=db_url,
        env={"FIRST_SUPERUSER_EMAIL": EMAIL, "FIRST_SUPERUSER_PASSWORD_FILE": str(bom)},
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert verify_password(PASSWORD, stored_hash(db_url))


def test_first_superuser_password_variable_follows_the_same_rules(db_url, tmp_path) -> None:
    env = {b"FIRST_SUPERUSER_EMAIL": EMAIL.encode()}
    for secret, reason in [(b"Passw\xffrd-long-enough", "UTF-8"), (b"y" * 5000, "too long")]:
        proc = run(["db", "init"], db=db_url, env={**env, b"FIRST_SUPERUSER_PASSWORD": secret},
                   cwd=tmp_path)  # fmt: skip
        assert_refused(proc, db_url, reason=reason)
    bom = b"\xef\xbb\xbf" + PASSWORD.encode()
    proc = run(
        ["db", "init"], db=db_url, env={**env, b"FIRST_SUPERUSER_PASSWORD": bom}, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert verify_password(PASSWORD, stored_hash(db_url))


def test_the_policy_knows_each_hashers_limit() -> None:
    from passlib.context import CryptContext

    from app.security import max_password_bytes, password_problem

    assert max_password_bytes() == 4096  # argon2, the default scheme
    assert max_password_bytes(CryptContext(schemes=["bcrypt"])) == 72
    assert "too long" in (password_problem("x" * 4097, min_length=10) or "")
    assert password_problem("x" * 4096, min_length=10) is None
    assert "UTF-8" in (password_problem("Passw\udcffrd-long-enough", min_length=10) or "")
    assert "byte-order mark" in (password_problem("\ufeff" + PASSWORD, min_length=10) or "")


def test_a_seed_password_file_follows_the_same_rules(cli, db_url, tmp_path) -> None:
    (tmp_path / "bom").write_bytes(b"\xef\xbb\xbf" + PASSWORD.encode() + b"\r\n")
    os.mkfifo(tmp_path / "fifo")
    for name, secret in [("zero", "/dev/zero"), ("fifo", "fifo"), ("bom", "bom")]:
        (tmp_path / f"{name}.yaml").write_text(
            f"users:\n  - email: {name}@example.com\n    password_file: {secret}\n"
        )
    for name in ("zero", "fifo"):
        outcome = cli(["seed", "run", str(tmp_path / f"{name}.yaml")], db=db_url)
        assert outcome.exit_code == 5, outcome.stderr
        assert outcome.stderr.count("\n") == 1
        assert f"{name}.yaml:3: users[0].password_file" in outcome.stderr
        assert "not a regular file" in outcome.stderr
    outcome = cli(["seed", "run", str(tmp_path / "bom.yaml")], db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert fetch(db_url, "SELECT email FROM users") == [("bom@example.com",)]
    assert verify_password(PASSWORD, stored_hash(db_url))


def test_non_utf8_bytes_typed_at_the_prompt_are_explained_and_asked_again(db_url) -> None:
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        str(MANAGE_BIN),
        ["users", "create-superuser", "--email", EMAIL],
        env=manage_env(db_url),
        timeout=30,
    )
    child.expect(b"Password: ")
    child.send(b"Abc\xff\xfe-long-enough\r")
    child.expect(b"not UTF-8 text; try again")
    child.expect(b"Password: ")
    child.sendline(PASSWORD.encode())
    child.expect(rb"Password \(again\): ")
    child.sendline(PASSWORD.encode())
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert verify_password(PASSWORD, stored_hash(db_url))
