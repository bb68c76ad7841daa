"""`seed fake MODEL`: Python factory files, rows that meet existing values mid-run, and a
progress bar that follows rows written (on a pseudo-terminal, as a real process).

`Post` (tests/seed_models) has a foreign key to users, a unique slug (40 characters), a
title (80), an enum status, an integer and a nullable date.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import fetch, manage_env
from tests.seed_models import create_tables

PASSWORD = "correct-horse-battery-staple"
REPO = Path(__file__).resolve().parent.parent
POST_ROWS = "SELECT slug, title, status, score, published_on, author_id FROM posts ORDER BY slug"

FACTORY = """
import enum


def columns(faker):
    phrases = [faker.catch_phrase() for _ in range(50)]  # from the run's seeded Faker

    def title(rng, index):
        return f"{rng.choice(phrases)} #{index}"[:80]

    return {
        "title": title,
        "slug": lambda rng, index: f"post-{index}",
        "status": ["draft", "archived"],
        "score": lambda rng, index: rng.randrange(3),
    }
"""


@pytest.fixture
def posts_db(cli, db_url: str) -> str:
    create_tables(db_url)
    users = cli(
        ["seed", "fake", "users", "--count", "40", "--seed", "1"],
        db=db_url,
        env={"MANAGE_PASSWORD": PASSWORD},
    )
    assert users.exit_code == 0, users.stderr
    return db_url


def fake(cli, db_url: str, *args: str, env: dict[str, str] | None = None):
    outcome = cli(["seed", "fake", *args, "--json"], db=db_url, env=env)
    data = json.loads(outcome.stdout)["data"] if outcome.stdout else None
    return outcome, data


def write(path: Path, text: str) -> Path:
    path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return path


def test_a_python_factory_fills_columns_per_row_and_the_same_seed_gives_the_same_rows(
    cli, posts_db, tmp_path
) -> None:
    factory = write(tmp_path / "posts.py", FACTORY)
    args = ("Post", "-n", "1500", "--seed", "5", "--factory", str(factory))
    outcome, data = fake(cli, posts_db, *args)
    assert outcome.exit_code == 0, outcome.stderr
    assert (data["created"], data["skipped"]) == (1500, 0)
    rows = fetch(posts_db, POST_ROWS)
    assert {r[0] for r in rows} == {f"post-{i}" for i in range(1500)}
    assert all(re.fullmatch(r".+ #\d+", r[1]) and len(r[1]) <= 80 for r in rows)
    assert {r[2] for r in rows} == {"draft", "archived"}
    assert {r[3] for r in rows} == {0, 1, 2}
    orphans = (
        "SELECT count(*) FROM posts p LEFT JOIN users u ON u.id = p.author_id WHERE u.id IS NULL"
    )
    assert fetch(posts_db, orphans) == [(0,)]

    fetch(posts_db, "DELETE FROM posts")
    again, _ = fake(cli, posts_db, *args)
    assert again.exit_code == 0, again.stderr
    assert fetch(posts_db, POST_ROWS) == rows


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def columns(faker):\n    return {\n", "posts.py:2: SyntaxError: '{' was never closed"),
        ("x = 1\nraise RuntimeError('boom\\nline two')\n", "py:2: RuntimeError: boom\\nline two"),
        ("x = 1\n", "posts.py: defines no columns(faker) function"),
        ("def columns(faker):\n    return ['title']\n", "posts.py: columns(faker) must return"),
        ("def columns(faker):\n    return {'colour': 1}\n", "posts.py: colour: posts has no such"),
        ("import sys\nsys.exit(3)\n", "posts.py:2: SystemExit: 3"),
        (
            "def columns(faker):\n    return {'title': lambda rng, i: f't{1 // (i - 7)}'}\n",
            "posts.py:2: title: row 7: ZeroDivisionError",
        ),
        (
            "def columns(faker):\n    return {'title': lambda rng, i: 'x' * 81}\n",
            "posts.py:2: title: row 0:",
        ),
        ("def columns(faker):\n    return {'status': lambda rng, i: 'gone'}\n", "status: row 0:"),
        ("def columns(faker):\n    return {'author_id': 987654}\n", "breaks"),
    ],
    ids=[
        "syntax",
        "raises",
        "no-columns",
        "not-a-mapping",
        "unknown-column",
        "sys-exit",
        "callable-raises",
        "too-long",
        "not-an-enum-value",
        "no-such-parent",
    ],
)
def test_a_broken_python_factory_is_exit_5_on_one_line_and_writes_nothing(
    cli, posts_db, tmp_path, source, expected
) -> None:
    factory = tmp_path / "posts.py"
    factory.write_text(source, encoding="utf-8")
    outcome, _ = fake(cli, posts_db, "Post", "-n", "20", "--factory", str(factory))
    assert outcome.exit_code == 5, outcome.stderr
    assert expected in outcome.stderr
    assert outcome.stderr.count("\n") <= 1 and "Traceback" not in outcome.stderr
    assert fetch(posts_db, "SELECT count(*) FROM posts") == [(0,)]


def test_a_broken_python_factory_as_a_process_is_exit_5_and_one_line(pg_db_url, tmp_path) -> None:
    create_tables(pg_db_url)
    factory = tmp_path / "posts.py"
    factory.write_text("def columns(faker):\n    return {'title': undefined_name}\n")
    proc = _manage_with_test_models(
        ["seed", "fake", "Post", "-n", "5", "--factory", str(factory)], pg_db_url
    )
    assert proc.returncode == 5, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {factory}:2: NameError: name 'undefined_name' is not defined"
    ]


def test_a_value_already_there_mid_run_is_skipped_and_the_rest_written(cli, posts_db) -> None:
    args = ("Post", "-n", "500", "--seed", "11", "--batch-size", "100")
    assert fake(cli, posts_db, *args)[0].exit_code == 0
    rows = fetch(posts_db, POST_ROWS)
    # Keep only row 350: the run meets it after three batches went straight in, rolls them
    # back and starts over through the conflict-skipping path.
    fetch(posts_db, "DELETE FROM posts WHERE slug NOT LIKE '%.350'")
    assert fetch(posts_db, "SELECT count(*) FROM posts") == [(1,)]

    outcome, data = fake(cli, posts_db, *args)
    assert outcome.exit_code == 0, outcome.stderr
    assert (data["created"], data["skipped"]) == (499, 1)
    assert fetch(posts_db, POST_ROWS) == rows


def test_users_meeting_an_existing_email_mid_run_skip_only_it(cli, db_url) -> None:
    env = {"MANAGE_PASSWORD": PASSWORD}
    args = ("users", "-n", "500", "--seed", "3", "--batch-size", "100")
    assert fake(cli, db_url, *args, env=env)[0].exit_code == 0
    emails = fetch(db_url, "SELECT email, full_name FROM users ORDER BY email")
    fetch(db_url, "DELETE FROM users WHERE email NOT LIKE '%.350@example.com'")

    outcome, data = fake(cli, db_url, *args, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert (data["created"], data["skipped"]) == (499, 1)
    assert fetch(db_url, "SELECT email, full_name FROM users ORDER BY email") == emails


RUN_WITH_TEST_MODELS = (
    "import sys; import tests.seed_models; from manage.__main__ import main; "
    "sys.argv[0] = 'manage'; main()"
)


def _manage_with_test_models(args: list[str], url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUN_WITH_TEST_MODELS, *args],
        env=manage_env(url, MANAGE_PASSWORD=PASSWORD),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _progress_against_table_size(argv: list[str], url: str, table: str) -> list[tuple[int, int]]:
    """Run argv with stderr on a pseudo-terminal; at each new percentage the bar shows, the
    table's size on disk (uncommitted rows count: they are in the heap already)."""
    master, slave = pty.openpty()
    seen: list[tuple[int, int]] = []
    try:
        proc = subprocess.Popen(
            argv,
            env=manage_env(url, MANAGE_PASSWORD=PASSWORD, COLUMNS="100"),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=slave,
            stdin=subprocess.DEVNULL,
        )
        os.close(slave)
        shown, buffer = 0, ""
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            buffer = (buffer + data.decode(errors="replace"))[-200:]
            percents = [int(p) for p in re.findall(r"(\d+)%", buffer)]
            if percents and 0 < max(percents) < 100 and max(percents) > shown:
                shown = max(percents)
                size = fetch(url, f"SELECT pg_relation_size('{table}')")[0][0]
                seen.append((shown, size))
        assert proc.wait(timeout=180) == 0
    finally:
        os.close(master)
    return seen


@pytest.mark.parametrize("model", ["users", "Post"])
def test_the_progress_bar_never_runs_ahead_of_rows_in_the_table(pg_db_url, model) -> None:
    create_tables(pg_db_url)
    table = "users" if model == "users" else "posts"
    if model == "Post":
        seeded = _manage_with_test_models(
            ["seed", "fake", "users", "-n", "50", "--seed", "1"], pg_db_url
        )
        assert seeded.returncode == 0, seeded.stderr
    argv = [sys.executable, "-c", RUN_WITH_TEST_MODELS, "seed", "fake", model, "-n", "200000"]
    argv += ["--seed", "2"]
    empty = fetch(pg_db_url, f"SELECT pg_relation_size('{table}')")[0][0]
    seen = _progress_against_table_size(argv, pg_db_url, table)
    final = fetch(pg_db_url, f"SELECT pg_relation_size('{table}')")[0][0] - empty
    assert len(seen) >= 3, seen  # the bar moved on the terminal more than once
    for shown, size in seen:
        # What the bar shows is already in the table (a page or so of slack per batch).
        assert size - empty >= final * (shown / 100) * 0.95, (shown, size, final)


def test_two_runs_with_the_same_seed_at_once_write_each_user_once(pg_db_url) -> None:
    argv = [sys.executable, "-m", "manage", "seed", "fake", "users", "-n", "30000", "--seed", "4"]
    procs = [
        subprocess.Popen(
            [*argv, "--json"],
            env=manage_env(pg_db_url, MANAGE_PASSWORD=PASSWORD),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [proc.communicate(timeout=180) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results
    created = sorted(json.loads(out)["data"]["created"] for out, _ in results)
    # The second one either waited on the first's rows and skipped them all, or ran after it.
    assert created == [0, 30000]
    assert fetch(pg_db_url, "SELECT count(*), count(DISTINCT email) FROM users") == [(30000, 30000)]
