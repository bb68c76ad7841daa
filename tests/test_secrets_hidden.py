"""Issue 11, item 6: secrets stay out of --verbose tracebacks and out of `db shell`'s child."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.conftest import fetch

PASSWORD = "Corr3ct-Horse-Batt3ry"
NEW_PASSWORD = "Sec0nd-Valid-Passw0rd"

_REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_{op} BEFORE {op} ON users "
        "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_{op}() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused by trigger'; END $$",
        "CREATE TRIGGER refuse_{op} BEFORE {op} ON users "
        "FOR EACH ROW EXECUTE FUNCTION refuse_{op}()",
    ],
}


def _refuse(db_url: str, backend: str, op: str) -> None:
    """A trigger that makes every {op} on users fail, like a constraint added by a DBA."""
    for statement in _REFUSE[backend]:
        fetch(db_url, statement.format(op=op))


def _assert_no_secret(outcome, *secrets: str) -> None:
    assert outcome.exit_code != 0, outcome.stderr
    # The traceback is there (so the check below means something) ...
    assert "Traceback" in outcome.stderr
    assert "users" in outcome.stderr
    # ... but no bound value: no hash, no password, no email parameter list.
    assert "$argon2" not in outcome.stderr and "$2b$" not in outcome.stderr
    assert "[parameters:" not in outcome.stderr
    for secret in secrets:
        assert secret not in outcome.stderr and secret not in outcome.stdout


def test_verbose_traceback_of_a_failed_insert_shows_no_password_hash(
    manage_proc, db_url, backend
) -> None:
    _refuse(db_url, backend, "INSERT")
    outcome = manage_proc(
        ["--verbose", "users", "create", "--email", "jo@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    _assert_no_secret(outcome, PASSWORD)
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]


def test_verbose_traceback_of_a_failed_update_shows_no_password_hash(
    manage_proc, db_url, backend
) -> None:
    created = manage_proc(
        ["users", "create", "--email", "jo@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        db=db_url,
    )
    assert created.exit_code == 0, created.stderr
    (old_hash,) = fetch(db_url, "SELECT hashed_password FROM users")[0]
    _refuse(db_url, backend, "UPDATE")
    outcome = manage_proc(
        ["--verbose", "users", "set-password", "jo@example.com", "--password-stdin"],
        input=NEW_PASSWORD + "\n",
        db=db_url,
    )
    _assert_no_secret(outcome, NEW_PASSWORD, old_hash)
    assert fetch(db_url, "SELECT hashed_password FROM users") == [(old_hash,)]


def test_verbose_traceback_hides_the_row_values_postgres_quotes(manage_proc, pg_db_url) -> None:
    """A CHECK violation's DETAIL quotes the whole row ("Failing row contains (..., <hash>,
    ...)"): with --verbose the traceback keeps the message but not the values. (SQLite's
    messages name the constraint only.)"""
    db_url = pg_db_url
    fetch(db_url, "ALTER TABLE users ADD CONSTRAINT short_name CHECK (length(full_name) < 5)")
    outcome = manage_proc(
        [
            "--verbose", "users", "create", "--email", "jo@example.com",
            "--full-name", "Too Long A Name", "--password-stdin",
        ],
        input=PASSWORD + "\n",
        db=db_url,
    )  # fmt: skip
    _assert_no_secret(outcome, PASSWORD, "Too Long A Name")
    assert "short_name" in outcome.stderr
    assert "DETAIL: (hidden" in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM users") == [(0,)]


def _recording_client(tmp_path, name: str):
    """A stand-in for psql/sqlite3 (not our code) that records its environment."""
    fake = tmp_path / "bin" / name
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(
        "#!/usr/bin/env python3\n"
        "import json, os\n"
        f"json.dump(dict(os.environ), open({str(tmp_path / 'env.json')!r}, 'w'))\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake.parent


@pytest.mark.parametrize(
    ("client", "url"),
    [
        ("psql", "postgresql://app:sh3ll-secret@db.internal:6543/appdb"),
        ("sqlite3", "sqlite+aiosqlite:///./app.db"),
    ],
)
def test_db_shell_passes_the_client_only_what_it_needs(manage_proc, tmp_path, client, url) -> None:
    bin_dir = _recording_client(tmp_path, client)
    secrets = {
        "MANAGE_PASSWORD": "manage-pw-secret",
        "FIRST_SUPERUSER_PASSWORD": "first-pw-secret",
        "SECRET_KEY": "signing-key-secret",
        "DB_MIGRATION_URL": "postgresql://m:migration-secret@db/appdb",
        "AWS_SECRET_ACCESS_KEY": "cloud-secret",
    }
    kept = {"PGSERVICE": "app", "PGSSLROOTCERT": "/ca.pem", "LC_ALL": "C.UTF-8", "TERM": "xterm"}
    outcome = manage_proc(
        ["db", "shell"],
        db=url,
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **secrets, **kept},
    )
    assert outcome.exit_code == 0, outcome.stderr
    seen = json.loads((tmp_path / "env.json").read_text())
    for name in [*secrets, "DATABASE_URL"]:
        assert name not in seen
    assert not any(value in json.dumps(seen) for value in secrets.values())
    for name, value in kept.items():
        assert seen[name] == value
    assert "PATH" in seen and "HOME" in seen
    if client == "psql":
        assert seen["PGPASSWORD"] == "sh3ll-secret"  # the URL's own password, for psql only


def test_the_apis_engine_hides_statement_parameters_too(tmp_path, monkeypatch) -> None:
    """The API builds its engine with the same factory: a failing statement's error names
    the SQL, never the values bound to it."""
    # The API refuses to start on the placeholder key unless ENVIRONMENT says test.
    monkeypatch.setenv("ENVIRONMENT", "test")
    from sqlalchemy import text

    from app.api.main import create_app
    from app.config import Settings
    from tests.conftest import _migrate, run_async

    url = f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"
    _migrate(url)
    settings = Settings()
    settings.db = settings.db.model_copy(update={"database_url": url})
    engine = create_app(settings).state.engine

    async def insert() -> str:
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO users (email, hashed_password) VALUES (:e, :h)"),
                    {"e": "jo@example.com", "h": "$argon2id$v=19$not-a-real-hash"},
                )
        except Exception as exc:
            return str(exc)
        finally:
            await engine.dispose()
        return "no error"

    message = run_async(insert())
    assert "INSERT INTO users" in message
    assert "$argon2id" not in message and "jo@example.com" not in message


def test_every_engine_in_the_code_hides_parameters() -> None:
    """Every create_async_engine call passes hide_parameters=True (the factory in
    db/engine.py, and the admin engine of `migrate review --roundtrip`)."""
    import ast

    from tests.conftest import REPO

    calls = [
        (path, node)
        for folder in ("app", "db", "manage", "commands", "migrations")
        for path in (REPO / folder).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "create_async_engine"
    ]
    assert calls
    for path, call in calls:
        hidden = [k for k in call.keywords if k.arg == "hide_parameters"]
        assert hidden and getattr(hidden[0].value, "value", None) is True, (path, call.lineno)


async def _driver_error(sql: str, value: object) -> BaseException:
    """The exception asyncpg itself raises when it cannot encode `value` for `sql`, wrapped
    by SQLAlchemy as a command would see it."""
    from sqlalchemy import text

    from db.config import DatabaseSettings
    from db.engine import create_engine
    from tests.conftest import PG_ADMIN_URL

    engine = create_engine(DatabaseSettings(database_url=PG_ADMIN_URL))
    try:
        async with engine.connect() as connection:
            await connection.execute(text(sql), {"value": value})
    except Exception as exc:
        return exc
    finally:
        await engine.dispose()
    raise AssertionError("the statement did not fail")


@pytest.mark.parametrize(
    ("sql", "value"),
    [
        ("SELECT CAST(:value AS integer)", "secret-actor-value"),
        ("SELECT CAST(:value AS uuid)", "secret-actor-value"),
        ("SELECT CAST(:value AS timestamptz)", "secret-actor-value"),
        ("SELECT CAST(:value AS text)", 12345678987654321),
    ],
)
def test_verbose_tracebacks_hide_the_parameter_values_asyncpg_quotes(
    postgres_available, capsys, sql, value
) -> None:
    from manage.output import print_traceback
    from tests.conftest import run_async

    exc = run_async(_driver_error(sql, value))
    assert "invalid input for query argument $1" in "".join(
        str(link) for link in (exc, exc.__cause__, getattr(exc, "orig", None)) if link
    )  # the kind of message this is about: asyncpg names the value
    print_traceback(exc)
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "invalid input for query argument $1: (value hidden)" in err
    assert "secret-actor" not in err and "12345678987654321" not in err
