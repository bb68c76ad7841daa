"""A seed file that changes while a run is under way: what seed_history records (checksum,
fingerprint) describes exactly the bytes whose rows the run applied.

A CSV, JSON Lines or large YAML file is hashed when the run selects it and read again inside
the transaction, after the seed lock (another replica's run may hold it for a while). If the
bytes read are not the bytes hashed, the run stops with exit 4 and writes nothing; before, it
applied the new rows under the old checksum, and once the file was back at its old content
the next run said "no changes" over a table holding the other rows. A small YAML file and a
`.py` module are read whole once: the run applies those bytes and records their checksum.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app.services.convergence import DECLARATIVE_LOCK_KEY
from tests.conftest import MANAGE_BIN, fetch, manage_env, run_async, until_a_lock_is_awaited

ROLE_HEADER = "# {model: Role, key: name}\n"
PADDING = "".join(f"# {'x' * 96}\n" for _ in range(44_000))  # 4.3 MB: read as a stream


def csv(word: str, rows: int) -> str:
    return ROLE_HEADER + "name,description\n" + "".join(f"r{i},{word}\n" for i in range(rows))


def jsonl(word: str, rows: int) -> str:
    lines = (json.dumps({"name": f"r{i}", "description": word}) for i in range(rows))
    return "# {model: Role, key: name}\n" + "\n".join(lines) + "\n"


def yaml(word: str, rows: int, padding: str = "") -> str:
    body = "".join(f"  - {{name: r{i}, description: {word}}}\n" for i in range(rows))
    return padding + "model: Role\nkey: name\nrows:\n" + body


def big_yaml(word: str, rows: int) -> str:
    return yaml(word, rows, PADDING)


# file name, content(word, rows), rows; every one of these is read again inside the run
STREAMED = {
    "csv": ("roles.csv", csv, 2),  # per row
    "csv-large": ("roles.csv", csv, 1100),  # PostgreSQL: direct COPY; SQLite: staged
    "jsonl": ("roles.jsonl", jsonl, 2),
    "jsonl-large": ("roles.jsonl", jsonl, 1100),
    "yaml-over-4-MiB": ("roles.yaml", big_yaml, 2),
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "seeds" / "base" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _roles(db_url: str) -> dict[str, int]:
    """description -> how many seeded roles (r0, r1, ...) have it."""
    rows = fetch(
        db_url,
        "SELECT description, count(*) FROM roles WHERE name LIKE 'r%' GROUP BY description",
    )
    return dict(rows)


def _history(db_url: str) -> list[tuple[str, bool]]:
    """(checksum, has a fingerprint) of every seed_history row, oldest first."""
    rows = fetch(db_url, "SELECT checksum, fingerprint FROM seed_history ORDER BY id")
    return [(checksum, found is not None) for checksum, found in rows]


def _counts(outcome) -> tuple[int, int, int]:
    assert outcome.exit_code == 0, outcome.stderr + outcome.stdout
    (model,) = json.loads(outcome.stdout)["data"]["models"]
    return model["created"], model["updated"], model["unchanged"]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---- real processes on PostgreSQL: another replica holds the seed lock -------------------


def _run_while_the_file_changes(db_url: str, cwd: Path, path: Path, text: str | Any) -> tuple:
    """`manage seed run` waits behind a held seed lock; the file is rewritten meanwhile
    (`text`), or changed by a function of its path."""

    async def scenario() -> tuple:
        holder = await asyncpg.connect(db_url)
        try:
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute("SELECT pg_advisory_xact_lock($1)", DECLARATIVE_LOCK_KEY)
            process = await asyncio.create_subprocess_exec(
                str(MANAGE_BIN),
                "seed",
                "run",
                cwd=cwd,
                env=manage_env(db_url),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            await until_a_lock_is_awaited(holder, "advisory")
            if isinstance(text, str):
                path.write_text(text, encoding="utf-8")
            else:
                text(path)
            await transaction.commit()
            out, err = await asyncio.wait_for(process.communicate(), 120)
            return process.returncode, out.decode(), err.decode()
        finally:
            await holder.close()

    return run_async(scenario())


@pytest.mark.parametrize("kind", list(STREAMED))
def test_a_file_rewritten_while_the_run_waits_for_the_lock_exits_4_and_writes_nothing(
    cli, pg_db_url, tmp_path, kind
) -> None:
    name, content, rows = STREAMED[kind]
    path = _write(tmp_path, name, content("old", rows))
    code, out, err = _run_while_the_file_changes(pg_db_url, tmp_path, path, content("new", rows))
    assert code == 4, out + err
    assert err.strip().splitlines() == [
        f"error: rolled back: seeds/base/{name} changed while it was being seeded; run it again"
    ]
    assert _roles(pg_db_url) == {}
    assert _history(pg_db_url) == []
    # The file goes back to its old content (a redeploy of the previous release): the run
    # applies it; before, it said "no changes" over a table holding the new rows.
    path.write_text(content("old", rows), encoding="utf-8")
    assert _counts(cli(["seed", "run", "--json"], db=pg_db_url)) == (rows, 0, 0)
    assert _roles(pg_db_url) == {"old": rows}
    path.write_text(content("new", rows), encoding="utf-8")
    assert _counts(cli(["seed", "run", "--json"], db=pg_db_url)) == (0, rows, 0)
    assert _roles(pg_db_url) == {"new": rows}


def _replaced_by_a_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _replaced_by_a_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


GONE = {
    "removed": Path.unlink,
    "a directory": _replaced_by_a_directory,
    "a FIFO": _replaced_by_a_fifo,
}


@pytest.mark.parametrize("change", list(GONE))
def test_a_file_gone_or_no_longer_a_file_while_the_run_waits_exits_4_and_writes_nothing(
    pg_db_url, tmp_path, change
) -> None:
    """It was a regular file when it was hashed: removed, or swapped for a directory or a
    FIFO, it changed like a rewritten one. Before: exit 6 "database unavailable ... No such
    file or directory" for a removed file, exit 70 for the others."""
    path = _write(tmp_path, "roles.csv", csv("old", 2))
    code, out, err = _run_while_the_file_changes(pg_db_url, tmp_path, path, GONE[change])
    assert code == 4, out + err
    assert err.strip().splitlines() == [
        "error: rolled back: seeds/base/roles.csv changed while it was being seeded; run it again"
    ]
    assert _roles(pg_db_url) == {}
    assert _history(pg_db_url) == []


def test_a_small_yaml_file_rewritten_while_the_run_waits_is_applied_as_read(
    cli, pg_db_url, tmp_path
) -> None:
    """Read whole before the run: the run applies those bytes and records their checksum, so
    `seed status` shows the rewrite and the next runs apply each content in turn."""
    path = _write(tmp_path, "roles.yaml", yaml("old", 2))
    code, out, err = _run_while_the_file_changes(pg_db_url, tmp_path, path, yaml("new", 2))
    assert code == 0, out + err
    assert _roles(pg_db_url) == {"old": 2}
    assert [checksum for checksum, _ in _history(pg_db_url)] == [_sha(yaml("old", 2))]
    status = json.loads(cli(["seed", "status", "--json"], db=pg_db_url).stdout)["data"]
    assert [s["state"] for s in status] == ["changed"]
    assert _counts(cli(["seed", "run", "--json"], db=pg_db_url)) == (0, 2, 0)
    assert _roles(pg_db_url) == {"new": 2}
    path.write_text(yaml("old", 2), encoding="utf-8")
    assert _counts(cli(["seed", "run", "--json"], db=pg_db_url)) == (0, 2, 0)
    assert _roles(pg_db_url) == {"old": 2}


# ---- in this process, both backends: the file changes when the run takes the lock --------


def _rewrite_at_the_lock(monkeypatch, path: Path, text: str) -> None:
    """The run's lock step rewrites the file first (SQLite: a writer it waited behind)."""
    from app.services import seeds

    real = seeds.serialize_declarative_writes

    async def rewriting(db) -> None:
        path.write_text(text, encoding="utf-8")
        await real(db)

    monkeypatch.setattr(seeds, "serialize_declarative_writes", rewriting)


@pytest.mark.parametrize("kind", [*STREAMED, "csv-staged"])
def test_a_file_rewritten_during_the_run_exits_4_on_every_path_and_backend(
    cli, db_url, tmp_path, monkeypatch, kind
) -> None:
    name, content, rows = STREAMED["csv-large" if kind == "csv-staged" else kind]
    if kind == "csv-staged":  # a second section of the table: no direct COPY
        _write(tmp_path, "extra.yaml", "model: Role\nkey: name\nrows: [{name: x1}]\n")
    path = _write(tmp_path, name, content("old", rows))
    with monkeypatch.context() as patch:
        _rewrite_at_the_lock(patch, path, content("new", rows))
        outcome = cli(["seed", "run"], db=db_url)
    assert outcome.exit_code == 4, outcome.stdout + outcome.stderr
    assert f"seeds/base/{name} changed while it was being seeded" in outcome.stderr
    assert _roles(db_url) == {}
    assert _history(db_url) == []
    path.write_text(content("old", rows), encoding="utf-8")
    assert cli(["seed", "run"], db=db_url).exit_code == 0
    assert _roles(db_url) == {"old": rows}


def test_a_dry_run_of_a_file_rewritten_meanwhile_exits_4_too(cli, db_url, tmp_path) -> None:
    """A dry run takes no lock; the same check applies to what it reads."""
    from app.services import seed_tables

    path = _write(tmp_path, "roles.csv", csv("old", 2))
    real = seed_tables.csv_records

    def rewritten_first(*args, **kwargs):
        path.write_text(csv("new", 2), encoding="utf-8")
        return real(*args, **kwargs)

    seed_tables.csv_records = rewritten_first
    try:
        outcome = cli(["seed", "run", "--dry-run"], db=db_url)
    finally:
        seed_tables.csv_records = real
    assert outcome.exit_code == 4, outcome.stdout + outcome.stderr


def test_a_header_line_changed_and_changed_back_before_the_rows_are_read_exits_4(
    cli, db_url, tmp_path, monkeypatch
) -> None:
    """The model and key come from the first line read when the run loads the file; the
    rows later. If that line differed from the hashed one, the rows (even if by then the
    file is back as hashed) would be applied under another key."""
    from app.services import seed_tables

    path = _write(tmp_path, "roles.csv", csv("old", 2))
    real = seed_tables.table_file

    def other_header_meanwhile(*args, **kwargs):
        path.write_text(csv("old", 2).replace("key: name", "key: description"), "utf-8")
        try:
            return real(*args, **kwargs)
        finally:
            path.write_text(csv("old", 2), encoding="utf-8")

    monkeypatch.setattr(seed_tables, "table_file", other_header_meanwhile)
    outcome = cli(["seed", "run"], db=db_url)
    assert outcome.exit_code == 4, outcome.stdout + outcome.stderr
    assert _roles(db_url) == {}


def test_a_sidecar_rewritten_after_the_checksum_does_not_change_what_the_run_applies(
    cli, db_url, tmp_path, monkeypatch
) -> None:
    """The sidecar is read once, with the checksum: the run applies the model and key it
    hashed (before, it read the sidecar again and applied another key under the old
    checksum)."""
    from app.services import seed_files

    side = _write(tmp_path, "roles.csv.yaml", "{model: Role, key: name}\n")
    _write(tmp_path, "roles.csv", "name,description\nr0,first\n")
    assert cli(["seed", "run"], db=db_url).exit_code == 0
    _write(tmp_path, "roles.csv", "name,description\nr0,second\n")
    real = seed_files.load

    def rewritten_sidecar(*args, **kwargs):
        side.write_text("{model: Role, key: description}\n", encoding="utf-8")
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(seed_files, "load", rewritten_sidecar)
        outcome = cli(["seed", "run", "--json"], db=db_url)
    assert _counts(outcome) == (0, 1, 0)  # r0 found by name, as the hashed sidecar says
    assert _roles(db_url) == {"second": 1}
    status = json.loads(cli(["seed", "status", "--json"], db=db_url).stdout)["data"]
    assert [s["state"] for s in status] == ["changed"]  # the sidecar on disk is not what ran


def test_a_seed_module_edited_after_its_checksum_runs_the_code_that_was_hashed(
    cli, db_url, tmp_path, monkeypatch
) -> None:
    module = """\
from app.models.role import Role


async def seed(db):
    db.add(Role(name="r0", description="WORD"))
"""
    path = _write(tmp_path, "roles.py", module.replace("WORD", "old"))
    with monkeypatch.context() as patch:
        _rewrite_at_the_lock(patch, path, module.replace("WORD", "new"))
        outcome = cli(["seed", "run"], db=db_url)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert _roles(db_url) == {"old": 1}
    assert [c for c, _ in _history(db_url)] == [_sha(module.replace("WORD", "old"))]


def test_a_second_document_in_a_yaml_file_read_as_a_stream_is_refused(cli, db_url, tmp_path):
    """It would count in the checksum but never be applied (a small file refuses it too)."""
    _write(tmp_path, "roles.yaml", big_yaml("old", 2) + "---\n" + yaml("other", 1))
    outcome = cli(["seed", "run"], db=db_url)
    assert outcome.exit_code == 5, outcome.stdout + outcome.stderr
    line = PADDING.count("\n") + 6
    assert outcome.stderr.strip() == (
        f"error: seeds/base/roles.yaml:{line}: expected a single document in the stream; "
        "found another document"
    )
    assert _roles(db_url) == {}
