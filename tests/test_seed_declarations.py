"""One natural key is declared once per run, whatever section kind or file declares it.

A user in a `users:` section and again in a `model: User` section (or a role in `roles:` and
`model: Role`) used to be accepted and flip between the two on every run.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import fetch
from tests.seed_models import create_tables

ENV = {"DEV_PASSWORD": "correct-horse-battery-staple"}

USERS_SECTION = """
    users:
      - email: Alice@Example.com
        password_env: DEV_PASSWORD
    """
ROLES_SECTION = """
    roles:
      - {name: ops, permissions: ["users:read"]}
    """

CASES = {
    "user_in_users_and_model_user": (
        USERS_SECTION,
        """
        models:
          - model: User
            key: [email]
            rows:
              - {email: alice@example.com, full_name: Alice}
        """,
        "users row email='alice@example.com'",
    ),
    "user_in_users_and_model_user_keyed_by_id": (
        USERS_SECTION,
        """
        model: User
        key: [id]
        rows:
          - {id: 7, email: ALICE@example.com, full_name: Alice}
        """,
        "users row email='alice@example.com'",
    ),
    "role_in_roles_and_model_role": (
        ROLES_SECTION,
        """
        models:
          - model: Role
            key: [name]
            rows:
              - {name: ops, description: Operations}
        """,
        "roles row name='ops'",
    ),
    "one_item_in_two_model_sections": (
        """
        models:
          - model: Item
            key: [name]
            rows:
              - {name: lamp, description: one}
        """,
        """
        models:
          - model: Item
            key: [name]
            rows:
              - {name: lamp, description: two}
        """,
        "items row name='lamp'",
    ),
}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text).lstrip(), encoding="utf-8")


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("layout", ["two_files", "one_file"])
def test_a_natural_key_declared_twice_is_exit_5_naming_both_lines_and_writes_nothing(
    cli, db_url, tmp_path, monkeypatch, case, layout
) -> None:
    create_tables(db_url)
    monkeypatch.chdir(tmp_path)
    first, second, shown = CASES[case]
    lines = dedent(first).lstrip().splitlines()
    starts = ("- {", "- email")
    row_line = next(n for n, text in enumerate(lines, 1) if text.lstrip().startswith(starts))
    if layout == "two_files":
        write(tmp_path / "seeds" / "dev" / "a.yaml", first)
        write(tmp_path / "seeds" / "dev" / "b.yaml", second)
        first_at, second_file = f"seeds/dev/a.yaml:{row_line}", "seeds/dev/b.yaml"
    else:
        body = dedent(first).lstrip() + dedent(second).lstrip()
        if "\nmodel: " in body or body.count("models:") > 1:
            pytest.skip("a one-model file (or a second models: key) cannot share the file")
        write(tmp_path / "seeds" / "dev" / "a.yaml", body)
        first_at, second_file = f"seeds/dev/a.yaml:{row_line}", "seeds/dev/a.yaml"
    outcome = cli(["seed", "run", "dev"], db=db_url, env=ENV)
    assert outcome.exit_code == 5, outcome.stderr
    message = outcome.stderr.strip()
    assert message.startswith(f"error: {second_file}:")
    assert f"{shown} is already declared at {first_at}" in message
    assert len(message.splitlines()) == 1
    assert fetch(
        db_url,
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM roles), "
        "(SELECT count(*) FROM items), (SELECT count(*) FROM seed_history)",
    ) == [(0, 0, 0, 0)]
