"""YAML the CLI writes (roles export, seed dump) never carries raw control or format
characters (ESC, the bidi override U+202E) to a terminal or a file, and reads back to the
exact value (issue 11, attacker item 7)."""

from __future__ import annotations

import pytest

from app.yaml_loader import dump_yaml, load_text

HOSTILE = "Ops\u202e txt.exe \x1b[2J\x1b]8;;http://x\x07 caf\u00e9 \u200f"


def _assert_inert(text: str) -> None:
    for ch in ("\u202e", "\x1b", "\x07", "\u200f"):
        assert ch not in text


def test_roles_export_escapes_hostile_text_and_sync_reads_the_exact_value_back(
    manage_proc, db_url, tmp_path
) -> None:
    from tests.conftest import fetch

    created = manage_proc(["roles", "create", "ops", "--description", HOSTILE], db=db_url)
    assert created.exit_code == 0, created.stderr
    exported = manage_proc(["roles", "export"], db=db_url)
    assert exported.exit_code == 0, exported.stderr
    _assert_inert(exported.stdout)
    assert "\\u202E" in exported.stdout
    [role] = load_text(exported.stdout, "<export>").data["roles"]
    assert role["description"] == HOSTILE

    (tmp_path / "roles.yaml").write_text(exported.stdout, "utf-8")
    manage_proc(["roles", "update", "ops", "--description", "changed"], db=db_url)
    synced = manage_proc(["roles", "sync", str(tmp_path / "roles.yaml"), "--yes"], db=db_url)
    assert synced.exit_code == 0, synced.stderr
    assert fetch(db_url, "SELECT description FROM roles WHERE name = 'ops'") == [(HOSTILE,)]


@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "output-file"])
def test_seed_dump_escapes_hostile_text_and_reads_back_exactly(
    manage_proc, db_url, tmp_path, to_file
) -> None:
    created = manage_proc(["roles", "create", "ops", "--description", HOSTILE], db=db_url)
    assert created.exit_code == 0, created.stderr
    target = tmp_path / "snapshot.yaml"
    args = ["seed", "dump", "roles", *(["--output", str(target)] if to_file else [])]
    dumped = manage_proc(args, db=db_url)
    assert dumped.exit_code == 0, dumped.stderr
    text = target.read_text("utf-8") if to_file else dumped.stdout
    _assert_inert(text)
    roles = load_text(text, "<dump>").data["roles"]
    assert [r["description"] for r in roles if r["name"] == "ops"] == [HOSTILE]


@pytest.mark.parametrize(
    "value",
    [HOSTILE, "\u202e", "a\x00b", "\u2028line", "\ufeffbom", "tab\there", "\x85nel", "é" * 3],
)
def test_dump_yaml_round_trips_and_keeps_hostile_characters_escaped(value) -> None:
    text = dump_yaml({"k": [value, {"n": value}]})
    assert load_text(text, "<t>").data == {"k": [value, {"n": value}]}
    for ch in value:
        if not (ch.isprintable() or ch in "\n\t"):
            assert ch not in text


def test_readable_unicode_stays_readable() -> None:
    assert "café" in dump_yaml({"name": "café"})
