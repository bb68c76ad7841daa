"""`manage db shell`: the database's own client, password in its environment only."""

from __future__ import annotations

import json
import os
import stat

from tests.conftest import fetch


def test_shell_runs_the_real_client_with_passthrough_arguments(
    manage_proc, db_url, backend
) -> None:
    fetch(
        db_url,
        "INSERT INTO roles (name, description, created_at) "
        "VALUES ('shell-probe', '', CURRENT_TIMESTAMP)",
    )
    query = (
        ["-c", "SELECT name FROM roles"] if backend == "postgresql" else ["SELECT name FROM roles;"]
    )
    outcome = manage_proc(["db", "shell", "--", *query], db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert "shell-probe" in outcome.stdout


def test_shell_reads_sql_from_stdin(manage_proc, db_url) -> None:
    outcome = manage_proc(["db", "shell"], input="SELECT 40 + 2;\n", db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    assert "42" in outcome.stdout


def test_password_goes_to_the_environment_never_argv(manage_proc, tmp_path) -> None:
    fake = tmp_path / "bin" / "psql"
    fake.parent.mkdir()
    # A stand-in for psql (not our code) that records what it was given.
    fake.write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'pgpassword': os.environ.get('PGPASSWORD'),"
        f" 'sslmode': os.environ.get('PGSSLMODE')}}, open({str(tmp_path / 'seen.json')!r}, 'w'))\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    outcome = manage_proc(
        ["db", "shell"],
        db="postgresql://app:sh3ll-secret@db.internal:6543/appdb?sslmode=require",
        env={"PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"},
    )
    assert outcome.exit_code == 0, outcome.stderr
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["argv"] == [
        "--host",
        "db.internal",
        "--port",
        "6543",
        "--username",
        "app",
        "--dbname",
        "appdb",
    ]
    assert seen["pgpassword"] == "sh3ll-secret"
    assert seen["sslmode"] == "require"


def test_a_missing_client_is_exit_3_naming_it(manage_proc, tmp_path) -> None:
    outcome = manage_proc(
        ["db", "shell"], db="postgresql://app@db/appdb", env={"PATH": str(tmp_path)}
    )
    assert outcome.exit_code == 3
    assert "psql is not installed" in outcome.stderr
