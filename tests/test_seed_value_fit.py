"""Every typed value is checked against its column before any write: exit 5, never 70.

Numeric overflow and extra decimal places, integers beyond the column's range (and beyond 64
bits), NUL characters (PostgreSQL refuses them), String(n) lengths, a time of day with an
offset (SQLite drops it), NaN/Infinity: in `models:`, `users:`, `roles:` and `roles sync`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import fetch
from tests.seed_models import create_tables

ENV = {"DEV_PASSWORD": "correct-horse-battery-staple"}
SAMPLE = "model: Sample\nkey: [code]\nrows:\n  - {code: a}\n  - "
CATEGORY = "model: Category\nkey: [name]\nrows:\n  - {name: a}\n  - "

# (document, "line: field: reason" the error must carry)
SEED_CASES = {  # one row each
    "numeric_overflow": (
        SAMPLE + '{code: b, price: "1e400"}\n',
        "5: models[0].rows[1].price: out of range for Numeric(10, 2)",
    ),
    "numeric_whole_digits": (
        SAMPLE + '{code: b, price: "123456789.5"}\n',
        "5: models[0].rows[1].price: out of range for Numeric(10, 2)",
    ),
    "numeric_extra_places": (
        SAMPLE + '{code: b, price: "12.345"}\n',
        "5: models[0].rows[1].price: more than 2 decimal places for Numeric(10, 2)",
    ),
    "numeric_nan": (SAMPLE + '{code: b, price: "NaN"}\n', "5: models[0].rows[1].price: "),
    "numeric_infinity": (SAMPLE + "{code: b, price: .inf}\n", "5: models[0].rows[1].price: "),
    "integer_beyond_32_bits": (
        CATEGORY + "{name: b, id: 2147483648}\n",
        "5: models[0].rows[1].id: out of range for a 32-bit integer column",
    ),
    "integer_beyond_64_bits": (
        CATEGORY + "{name: b, id: 99999999999999999999}\n",
        "5: models[0].rows[1].id: out of range for a 32-bit integer column",
    ),
    "negative_integer_overflow": (
        CATEGORY + "{name: b, id: -2147483649}\n",
        "5: models[0].rows[1].id: out of range for a 32-bit integer column",
    ),
    "nul_in_a_model_string": (
        CATEGORY + '{name: "b\\0c"}\n',
        "5: models[0].rows[1].name: contains a NUL character",
    ),
    "nul_in_a_json_value": (
        SAMPLE + '{code: b, doc: {k: "x\\0"}}\n',
        "5: models[0].rows[1].doc: contains a NUL character",
    ),
    "nul_in_a_json_key": (
        SAMPLE + '{code: b, doc: {"k\\0": 1}}\n',
        "5: models[0].rows[1].doc: contains a NUL character",
    ),
    "nan_in_json": (
        SAMPLE + "{code: b, doc: {k: .nan}}\n",
        "5: models[0].rows[1].doc: NaN and Infinity are not JSON numbers",
    ),
    "time_with_an_offset": (
        SAMPLE + '{code: b, at_time: "10:00:00+02:00"}\n',
        "5: models[0].rows[1].at_time: a time of day with a UTC offset is not stored",
    ),
    "nul_in_a_model_user": (
        "model: User\nkey: [email]\nrows:\n"
        '  - {email: n@example.com, hashed_password: x, full_name: "a\\0b"}\n',
        "4: models[0].rows[0].full_name: contains a NUL character",
    ),
    "nul_in_a_users_row": (
        "users:\n  - email: n@example.com\n    password_env: DEV_PASSWORD\n"
        '    full_name: "a\\0b"\n',
        "4: users[0].full_name: contains a NUL character",
    ),
    "nul_in_a_roles_row": (
        'roles:\n  - name: nulrole\n    description: "a\\0b"\n',
        "3: roles[0].description: contains a NUL character",
    ),
}


@pytest.mark.parametrize("case", sorted(SEED_CASES))
def test_a_value_its_column_cannot_store_is_exit_5_naming_file_line_field_and_reason(
    cli, db_url, tmp_path: Path, monkeypatch, case
) -> None:
    create_tables(db_url)
    monkeypatch.chdir(tmp_path)
    document, expected = SEED_CASES[case]
    (tmp_path / "bad.yaml").write_text(document, encoding="utf-8")
    outcome = cli(["seed", "run", "bad.yaml"], db=db_url, env=ENV)
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.startswith(f"error: bad.yaml:{expected}"), outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1
    assert fetch(
        db_url,
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM roles), "
        "(SELECT count(*) FROM samples), (SELECT count(*) FROM categories)",
    ) == [(0, 0, 0, 0)]


ROLE_CASES = {
    "nul_in_a_description": (
        'roles:\n  - name: nulrole\n    description: "a\\0b"\n',
        "2: roles.0.description: contains a NUL character",
    ),
    "nul_in_a_permission": (
        'roles:\n  - name: nulrole\n    permissions: ["users:read\\0"]\n',
        "2: ",
    ),
}


@pytest.mark.parametrize("case", sorted(ROLE_CASES))
def test_roles_sync_refuses_values_the_roles_table_cannot_store(
    cli, db_url, tmp_path: Path, monkeypatch, case
) -> None:
    monkeypatch.chdir(tmp_path)
    document, expected = ROLE_CASES[case]
    (tmp_path / "roles.yaml").write_text(document, encoding="utf-8")
    outcome = cli(["roles", "sync", "roles.yaml"], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.stderr.startswith(f"error: roles.yaml:{expected}"), outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM roles") == [(0,)]


def test_a_price_with_trailing_zeros_within_the_scale_converges_on_a_rerun(
    cli, db_url, tmp_path: Path, monkeypatch
) -> None:
    create_tables(db_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.yaml").write_text(
        SAMPLE + '{code: b, price: "12.50", doc: {k: 1.5}}\n', encoding="utf-8"
    )
    first = cli(["seed", "run", "ok.yaml"], db=db_url, env=ENV)
    assert first.exit_code == 0, first.stderr
    again = cli(["seed", "run", "ok.yaml", "--json", "--recheck"], db=db_url, env=ENV)
    assert again.exit_code == 0, again.stderr
    assert '"updated": 0' in again.stdout and '"created": 0' in again.stdout


@pytest.mark.parametrize("command", ["seed run", "roles sync"])
def test_a_nul_character_is_exit_5_from_the_real_console_script(
    manage_proc, db_url, tmp_path: Path, command
) -> None:
    # The real process has not imported every model up front: the check must not need it.
    (tmp_path / "nul.yaml").write_text(
        'roles:\n  - name: nulrole\n    description: "a\\0b"\n', encoding="utf-8"
    )
    outcome = manage_proc([*command.split(), str(tmp_path / "nul.yaml")], db=db_url)
    assert outcome.exit_code == 5, outcome.stderr
    assert "nul.yaml:" in outcome.stderr
    assert "description: contains a NUL character" in outcome.stderr
    assert fetch(db_url, "SELECT count(*) FROM roles") == [(0,)]
