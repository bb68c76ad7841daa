"""Seed files and roles files go through one guarded loader (app/yaml_loader.py).

tests/yaml_corpus/ holds hostile or mistaken documents, each with the error it must give on
its first line (`# expect: ...`; a leading `:` means "after the file name", `{file}` is the
file name). Every one is fed to both `seed run` and `roles sync`: exit 5, that one line,
nothing written.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app import yaml_loader
from tests.conftest import fetch

CORPUS = Path(__file__).parent / "yaml_corpus"
CASES = sorted(CORPUS.glob("*.yaml"))
PASSWORD = "correct-horse-battery-staple"


def expected_error(case: Path, shown_as: str) -> str:
    expect = case.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    expect = expect.replace("{file}", shown_as)
    return f"{shown_as}{expect}" if expect.startswith(":") else expect


def written(db_url: str) -> list[tuple]:
    return fetch(
        db_url,
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM roles), "
        "(SELECT count(*) FROM audit_log)",
    )


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
@pytest.mark.parametrize("command", ["seed run", "roles sync --prune --yes"])
def test_each_corpus_document_is_exit_5_with_its_one_line_error_and_writes_nothing(
    cli, db_url, tmp_path, case, command
) -> None:
    shutil.copyfile(case, tmp_path / case.name)
    outcome = cli(
        [*command.split()[:2], case.name, *command.split()[2:]],
        db=db_url,
        env={"DEV_PASSWORD": PASSWORD},
    )
    assert outcome.exit_code == 5, outcome.stderr
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith(f"error: {case.name}:"), lines[0]
    assert expected_error(case, case.name) in lines[0]
    assert len(lines[0]) < 200  # a short fragment, never the document
    assert written(db_url) == [(0, 0, 0)]


def test_the_alias_bomb_is_refused_even_in_a_json_column_and_on_a_dry_run(
    cli, db_url, tmp_path
) -> None:
    bomb = (CORPUS / "alias_bomb.yaml").read_text(encoding="utf-8").split("roles:")[0]
    document = (
        "models:\n  - model: AuditLog\n    key: [id]\n    rows:\n"
        "      - {id: 1, actor: x, action: y, target: z, details: {bomb: *i}}\n"
    )
    (tmp_path / "bomb.yaml").write_text(bomb + document, encoding="utf-8")
    outcome = cli(["seed", "run", "bomb.yaml", "--dry-run"], db=db_url)
    assert outcome.exit_code == 5
    assert "bomb.yaml:3: YAML anchors (&name) are not allowed" in outcome.stderr


def _special_files(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    directory = tmp_path / "directory.yaml"
    directory.mkdir()
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: 1 byte over the cap, no disk used
        handle.truncate(yaml_loader.MAX_BYTES + 1)
    return {
        "a FIFO": fifo,
        "a directory": directory,
        "a device": zero,
        "larger than 32 MiB": huge,
    }


@pytest.mark.parametrize("kind", ["a FIFO", "a directory", "a device", "larger than 32 MiB"])
def test_roles_sync_refuses_what_is_not_a_small_regular_file_with_exit_5(
    manage_proc, db_url, tmp_path, kind
) -> None:
    path = _special_files(tmp_path)[kind]
    outcome = manage_proc(["roles", "sync", str(path)], db=db_url, timeout=30)
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.splitlines() == [
        f"error: {path}: "
        + (
            "larger than 32 MiB; refused"
            if kind.startswith("larger")
            else f"not a regular file ({kind})"
        )
    ]


def test_roles_sync_of_dev_zero_itself_is_exit_5(manage_proc, db_url) -> None:
    outcome = manage_proc(["roles", "sync", "/dev/zero"], db=db_url, timeout=30)
    assert outcome.exit_code == 5
    assert outcome.stderr.strip() == "error: /dev/zero: not a regular file (a device)"


def test_roles_sync_caps_standard_input_too(manage_proc, db_url) -> None:
    outcome = manage_proc(
        ["roles", "sync", "-"], db=db_url, input="#" * (yaml_loader.MAX_BYTES + 10), timeout=60
    )
    assert outcome.exit_code == 5
    assert outcome.stderr.strip() == "error: <stdin>: larger than 32 MiB; refused"


@pytest.mark.parametrize("kind", ["a FIFO", "a device", "larger than 32 MiB"])
def test_seed_run_refuses_a_set_file_that_is_not_a_small_regular_file(
    manage_proc, db_url, tmp_path, kind
) -> None:
    path = _special_files(tmp_path)[kind]
    seeds = tmp_path / "seeds" / "base"
    seeds.mkdir(parents=True)
    path.rename(seeds / path.name)
    outcome = manage_proc(["seed", "run"], db=db_url, timeout=30)
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.startswith(f"error: seeds/base/{path.name}: ")
    # A YAML seed file over 4 MiB is read as a stream (no size cap, memory flat): 32 MiB of
    # NUL bytes is refused as what it is, not for its size.
    assert (kind if not kind.startswith("larger") else "not valid YAML") in outcome.stderr
    assert written(db_url) == [(0, 0, 0)]


@pytest.mark.parametrize("kind", ["a directory", "a device"])
def test_seed_run_refuses_a_named_file_that_is_not_regular(
    manage_proc, db_url, tmp_path, kind
) -> None:
    path = _special_files(tmp_path)[kind]
    outcome = manage_proc(["seed", "run", path.name], db=db_url, timeout=30)
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.strip() == f"error: {path.name}: not a regular file ({kind})"


def test_a_missing_named_seed_file_is_still_exit_3(cli, db_url) -> None:
    outcome = cli(["seed", "run", "nope.yaml"], db=db_url)
    assert outcome.exit_code == 3
    assert "no seed file nope.yaml" in outcome.stderr


def test_prune_refuses_an_empty_or_comment_only_file_and_pruning_everything_needs_a_flag(
    cli, db_url, tmp_path
) -> None:
    cli(["roles", "create", "keeper"], db=db_url)
    for text in ("", "# roles are managed elsewhere\n", "version: 1\n"):
        (tmp_path / "roles.yaml").write_text(text, encoding="utf-8")
        outcome = cli(["roles", "sync", "roles.yaml", "--prune", "--yes"], db=db_url)
        assert outcome.exit_code == 5, (text, outcome.stderr)
        assert "no `roles:` list" in outcome.stderr
    (tmp_path / "roles.yaml").write_text("roles: []\n", encoding="utf-8")
    refused = cli(["roles", "sync", "roles.yaml", "--prune", "--yes"], db=db_url)
    assert refused.exit_code == 7
    assert "--prune-all" in refused.stderr
    assert [r for (r,) in fetch(db_url, "SELECT name FROM roles")] == ["keeper"]
    done = cli(["roles", "sync", "roles.yaml", "--prune", "--prune-all", "--yes"], db=db_url)
    assert done.exit_code == 0, done.stderr
    assert fetch(db_url, "SELECT name FROM roles") == []


@pytest.mark.parametrize("command", ["seed run", "roles sync"])
def test_a_huge_bad_value_is_echoed_as_a_short_fragment_only(
    cli, db_url, tmp_path, command
) -> None:
    name = "Bad Name \x1b[2J" + "x" * 100_000
    (tmp_path / "big.yaml").write_text(
        f'roles:\n  - name: "{name.encode("unicode_escape").decode()}"\n', encoding="utf-8"
    )
    outcome = cli([*command.split(), "big.yaml"], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr[:300]
    [line] = outcome.stderr.splitlines()
    assert line.startswith("error: big.yaml:2")
    assert len(line) < 400
    assert "\x1b" not in line


def _flow_sequence_bomb(path: Path, lists: int) -> None:
    """`roles: [[],[],...]`: 3 bytes per node, the cheapest way to ask for millions of nodes."""
    path.write_text("roles: [" + ",".join(["[]"] * lists) + "]\n", encoding="utf-8")


@pytest.mark.parametrize("command", ["seed run", "roles sync --prune --yes"])
def test_a_3_mb_flow_sequence_is_refused_by_its_node_count_before_it_is_built(
    manage_proc, db_url, tmp_path, command
) -> None:
    # 1,048,576 empty lists on one line: building them took 2 GB and 40 s before exit 5.
    _flow_sequence_bomb(tmp_path / "flat.yaml", 1 << 20)
    words = command.split()
    outcome = manage_proc(
        [*words[:2], str(tmp_path / "flat.yaml"), *words[2:]],
        db=db_url,
        timeout=20,  # the bound on time: the refusal itself takes well under a second
    )
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.startswith("error: ")
    assert outcome.stderr.strip().endswith(
        f"flat.yaml:1: more than {yaml_loader.MAX_NODES:,} YAML nodes "
        "(values, lists, mappings); split the file"
    )
    assert len(outcome.stderr.splitlines()) == 1
    assert written(db_url) == [(0, 0, 0)]


def test_the_node_cap_counts_every_kind_of_node_and_names_the_line_it_is_crossed_on(
    monkeypatch,
) -> None:
    monkeypatch.setattr(yaml_loader, "MAX_NODES", 3_000)
    cap = yaml_loader.MAX_NODES
    # a document of exactly `cap` nodes is read: the root mapping, the key, the list, and items
    exact = "roles:\n" + "".join("- 1\n" for _ in range(cap - 3))
    assert len(yaml_loader.load_text(exact, "exact.yaml").data["roles"]) == cap - 3
    # one more scalar, on its own line, crosses it there
    over = exact + "- 1\n"
    with pytest.raises(yaml_loader.YamlError) as refused:
        yaml_loader.load_text(over, "over.yaml")
    assert refused.value.where == f"over.yaml:{cap - 1}"
    # mappings count too: {a: b} is three nodes
    mappings = "roles:\n" + "".join("- {a: b}\n" for _ in range(cap // 3))
    with pytest.raises(yaml_loader.YamlError, match="YAML nodes"):
        yaml_loader.load_text(mappings, "mappings.yaml")


def test_a_quoted_merge_key_is_an_ordinary_field_name() -> None:
    document = yaml_loader.load_text('roles:\n  - {name: a, "<<": 1}\n', "quoted.yaml")
    assert document.data["roles"][0]["<<"] == 1
