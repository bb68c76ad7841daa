"""Property tests for issue 11: arbitrary bytes to every password source, arbitrary text to
every free-text field. The answer is always a documented exit code with one stderr line, a
stored password is exactly what the documented rules say, and a table never carries a
control character to the terminal. SQLite only (the reading and rendering code is the same
for PostgreSQL); example counts stay modest so CI stays fast.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.security import verify_password
from tests.conftest import fetch

BOM = b"\xef\xbb\xbf"
GOOD = "Corr3ct-Horse-Batt3ry"
# Any C0/C1 control except the newlines that separate table lines, and bidi/format marks.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

secret_bytes = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(lambda t, end: BOM + t.encode("utf-8", "surrogatepass") + end,
              st.text(min_size=8, max_size=30), st.sampled_from([b"", b"\n", b"\r\n", b"\n\n"])),
    st.builds(lambda n: b"x" * n, st.integers(4000, 4200)),
)  # fmt: skip
# What argv and the environment can carry: no NUL, no lone surrogates.
free_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=60,
)

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def sqlite_db(scratch) -> str:
    return scratch.migrated("sqlite")


def _expected(secret: bytes, source: str) -> str | None:
    """The password the documented rules make of `secret`, or None if it must be refused."""
    if source == "stdin":
        secret = secret.split(b"\n", 1)[0] + (b"\n" if b"\n" in secret else b"")
    try:
        text = secret.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text.removeprefix("\ufeff").removesuffix("\n").removesuffix("\r") or None


def _one_error_line(outcome) -> None:
    assert "Traceback" not in outcome.stderr
    assert outcome.stderr.startswith("error: "), outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1, outcome.stderr
    assert not CONTROL.search(outcome.stderr), outcome.stderr


@PROPERTY
@given(secret=secret_bytes, source=st.sampled_from(["stdin", "file", "env"]))
@example(secret=BOM + GOOD.encode() + b"\r\n", source="file")
@example(secret=b"\xff\xfe" + GOOD.encode(), source="stdin")
@example(secret=b"x" * 4097, source="env")
def test_any_bytes_from_any_password_source(cli, sqlite_db, tmp_path, secret, source) -> None:
    if source == "env" and b"\x00" in secret:
        secret = secret.replace(b"\x00", b"")  # the environment cannot carry NUL
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    args, env, stdin = ["users", "create", "--email", email], {}, None
    if source == "stdin":
        args.append("--password-stdin")
        stdin = secret
    elif source == "file":
        path = tmp_path / f"secret-{uuid.uuid4().hex}"
        path.write_bytes(secret)
        args += ["--password-file", str(path)]
    else:
        # Exactly what Python makes of undecodable bytes in a real environment variable.
        env["MANAGE_PASSWORD"] = os.fsdecode(secret)
    outcome = cli(args, input=stdin, env=env, db=sqlite_db)
    assert outcome.exit_code in (0, 5), (outcome.exit_code, outcome.stderr)
    rows = fetch(sqlite_db, "SELECT hashed_password FROM users WHERE email = :e", {"e": email})
    if outcome.exit_code == 5:
        _one_error_line(outcome)
        assert rows == []
        return
    expected = _expected(secret, source)
    assert expected is not None and not expected.startswith("\ufeff")
    assert verify_password(expected, rows[0][0])


def _table_is_plain(outcome) -> None:
    assert outcome.exit_code == 0, outcome.stderr
    assert "\x1b" not in outcome.stdout
    assert not CONTROL.search(outcome.stdout), repr(outcome.stdout)


@PROPERTY
@given(name=free_text)
@example(name="[/]")
@example(name="\x1b]8;;https://evil.example\x07x\x1b]8;;\x07")
def test_any_full_name_is_listed_as_plain_text(cli, sqlite_db, name) -> None:
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    created = cli(
        ["users", "create", "--email", email, "--full-name", name, "--password-stdin"],
        input=GOOD + "\n",
        db=sqlite_db,
    )
    if created.exit_code != 0:  # e.g. longer than the column: refused, one line
        assert created.exit_code == 5
        _one_error_line(created)
        return
    _table_is_plain(cli(["users", "list"], db=sqlite_db))
    _table_is_plain(cli(["users", "show", email], db=sqlite_db))


@PROPERTY
@given(description=free_text)
@example(description="[bold]x[/]\x9b2J")
def test_any_role_description_is_listed_as_plain_text(cli, sqlite_db, description) -> None:
    name = f"r{uuid.uuid4().hex[:10]}"
    created = cli(["roles", "create", name, "--description", description], db=sqlite_db)
    if created.exit_code != 0:
        assert created.exit_code == 5
        _one_error_line(created)
        return
    _table_is_plain(cli(["roles", "list"], db=sqlite_db))
    _table_is_plain(cli(["roles", "show", name], db=sqlite_db))


@PROPERTY
@given(actor=free_text)
@example(actor="[/]\x1b[2J")
def test_any_audit_actor_is_listed_as_plain_text(cli, sqlite_db, actor) -> None:
    name = f"r{uuid.uuid4().hex[:10]}"
    created = cli(["roles", "create", name], env={"MANAGE_ACTOR": actor}, db=sqlite_db)
    if created.exit_code != 0:
        assert created.exit_code == 5
        _one_error_line(created)
        return
    _table_is_plain(cli(["audit", "list", "--limit", "5"], db=sqlite_db))
