"""A seed, sidecar, roles or factory file that is there but cannot be read (a dangling or
looping symlink) is exit 5 naming that file; one that does not exist is exit 3; `seed
list` shows an unreadable file instead of failing. All through the real console script.

Before: a sidecar `t.csv.yaml` that was a dangling or looping link was ignored and the CSV
blamed (`t.csv:1:1: the first line must name the model`); one dangling `*.csv` link made
`seed list` (no database, exit 0) and `seed status` exit 3 `no seed file` with the hint
"`manage seed list` shows the seed sets"; `seed run LOOP` said `no seed set` (exit 3) and a
looping `x.yaml` was exit 70; a missing `--factory` file was exit 5 where a missing roles or
seed file is exit 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import fetch

DANGLING = "cannot read (a symbolic link to a missing file)"
LOOPING = "cannot read (Too many levels of symbolic links)"
ROLE = "roles:\n  - {name: extra, description: Extra, permissions: []}\n"
USERS_CSV = "email,hashed_password\nz1@example.com,h\n"


def _seeds(tmp_path: Path) -> Path:
    base = tmp_path / "seeds" / "base"
    base.mkdir(parents=True)
    (base / "a_roles.yaml").write_text(ROLE)
    return base


def _link(path: Path, how: str) -> None:
    if how == "dangling":
        path.symlink_to(path.parent / "nowhere" / path.name)
    else:
        loop = path.with_name(path.name + ".loop")
        path.symlink_to(loop)
        loop.symlink_to(path)


def _one_error(outcome, expected: str) -> None:
    assert outcome.stderr.strip().splitlines() == [f"error: {expected}"], outcome.stderr


def _nothing_written(url: str) -> None:
    assert fetch(url, "SELECT count(*) FROM roles WHERE name = 'extra'") == [(0,)]
    assert fetch(url, "SELECT count(*) FROM users") == [(0,)]


@pytest.mark.parametrize("how", ["dangling", "looping"])
def test_an_unreadable_sidecar_is_exit_5_naming_it_not_the_csv(
    manage_proc, db_url, tmp_path: Path, how
) -> None:
    base = _seeds(tmp_path)
    (base / "users.csv").write_text(USERS_CSV)
    _link(base / "users.csv.yaml", how)
    outcome = manage_proc(["seed", "run", "--seeds-dir", str(tmp_path / "seeds")], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    reason = DANGLING if how == "dangling" else LOOPING
    _one_error(outcome, f"seeds/base/users.csv.yaml: {reason}")
    _nothing_written(db_url)


@pytest.mark.parametrize("how", ["dangling", "looping"])
def test_an_unreadable_seed_file_is_listed_and_status_and_run_are_exit_5_naming_it(
    manage_proc, db_url, tmp_path: Path, how
) -> None:
    base = _seeds(tmp_path)
    _link(base / "d.csv", how)
    reason = DANGLING if how == "dangling" else LOOPING
    seeds = ["--seeds-dir", str(tmp_path / "seeds")]

    listed = manage_proc(["seed", "list", *seeds])
    assert listed.exit_code == 0, listed.stderr
    assert listed.stdout.strip() == f"base: base/a_roles.yaml, base/d.csv [{reason}]"
    as_json = manage_proc(["seed", "list", *seeds, "--json"])
    assert json.loads(as_json.stdout)["data"] == [
        {
            "seed_set": "base",
            "files": ["base/a_roles.yaml", "base/d.csv"],
            "unreadable": {"base/d.csv": reason},
        }
    ]

    for command in ("status", "run"):
        outcome = manage_proc(["seed", command, *seeds], db=db_url)
        assert outcome.exit_code == 5, (command, outcome.stderr)
        _one_error(outcome, f"seeds/base/d.csv: {reason}")  # no hint naming `seed list`
    _nothing_written(db_url)


@pytest.mark.parametrize(
    ("target", "make", "code", "expected"),
    [
        ("loop1", lambda p: _link(p, "looping"), 5, f"loop1: {LOOPING}"),
        ("gone", lambda p: _link(p, "dangling"), 5, f"gone: {DANGLING}"),
        ("loop.yaml", lambda p: _link(p, "looping"), 5, f"loop.yaml: {LOOPING}"),
        ("gone.yaml", lambda p: _link(p, "dangling"), 5, f"gone.yaml: {DANGLING}"),
        (
            "notes.txt",
            lambda p: p.write_text("x"),
            5,
            "notes.txt: not a seed set (a directory) nor a seed file "
            "(.yaml, .yml, .csv, .jsonl, .py)",
        ),
        ("absent", lambda p: None, 3, "no seed set '{path}' in seeds"),
        ("absent.yaml", lambda p: None, 3, "no seed file absent.yaml"),
    ],
    ids=[
        "loop",
        "dangling",
        "looping-yaml",
        "dangling-yaml",
        "not-a-seed-file",
        "absent",
        "absent-yaml",
    ],
)
def test_a_run_target_that_is_there_but_unreadable_is_exit_5_one_that_is_not_exit_3(
    manage_proc, db_url, tmp_path: Path, target, make, code, expected
) -> None:
    _seeds(tmp_path)
    make(tmp_path / target)
    outcome = manage_proc(["seed", "run", str(tmp_path / target)], db=db_url)
    assert outcome.exit_code == code, outcome.stderr
    assert outcome.stderr.splitlines()[0] == "error: " + expected.format(path=tmp_path / target), (
        outcome.stderr
    )
    _nothing_written(db_url)


@pytest.mark.parametrize("suffix", [".yaml", ".py"])
def test_a_missing_factory_file_is_exit_3_like_a_missing_seed_or_roles_file(
    manage_proc, db_url, tmp_path: Path, suffix
) -> None:
    factory = f"missing{suffix}"
    outcome = manage_proc(
        ["seed", "fake", "roles", "--count", "1", "--factory", factory, "--yes"], db=db_url
    )
    assert outcome.exit_code == 3, outcome.stderr
    _one_error(outcome, f"{factory}: no such factory file")
    roles = manage_proc(["roles", "sync", "missing.yaml", "--yes"], db=db_url)
    assert roles.exit_code == 3, roles.stderr

    (tmp_path / factory).symlink_to(tmp_path / "nowhere")
    outcome = manage_proc(
        ["seed", "fake", "roles", "--count", "1", "--factory", factory, "--yes"], db=db_url
    )
    assert outcome.exit_code == 5, outcome.stderr
    _one_error(outcome, f"{factory}: {DANGLING}")
    (tmp_path / "roles.yaml").symlink_to(tmp_path / "nowhere")
    roles = manage_proc(["roles", "sync", "roles.yaml", "--yes"], db=db_url)
    assert roles.exit_code == 5, roles.stderr
    assert roles.stderr.startswith(f"error: roles.yaml: {DANGLING}"), roles.stderr
    assert fetch(db_url, "SELECT count(*) FROM roles WHERE name LIKE 'role%'") == [(0,)]
