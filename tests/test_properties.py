"""Property tests: whatever a user types, the answer is a documented exit code.

Never an unhandled exception (exit 70), never a traceback, always one of the codes in the
README's table. Runs on one SQLite database per property (PostgreSQL paths are the same code).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

DOCUMENTED = {0, 1, 2, 3, 4, 5, 6, 7}
PASSWORD = "Corr3ct-Horse-Batt3ry"

# What argv can carry: any text but NUL (and no lone surrogates, which are not valid UTF-8).
arg_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=80,
)
email_like = st.one_of(
    arg_text,
    st.builds(lambda a, b: f"{a}@{b}", arg_text, arg_text),
    st.emails().map(str),
)

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def sqlite_db(scratch) -> str:
    return scratch.migrated("sqlite")


def _documented(outcome) -> None:
    assert outcome.exit_code in DOCUMENTED, (outcome.exit_code, outcome.stderr)
    assert "Traceback" not in outcome.stderr
    if outcome.exit_code not in (0, 2):
        assert outcome.stderr.startswith("error: "), outcome.stderr
        # One error line, then at most its next step (manage/hints.py).
        from manage.hints import HINTS

        _error, *rest = outcome.stderr.strip().splitlines()
        assert rest == [] or (len(rest) == 1 and rest[0] in HINTS.values()), outcome.stderr


@PROPERTY
@given(email=email_like)
def test_any_email_for_create(cli, sqlite_db, email) -> None:
    outcome = cli(
        ["users", "create", "--email", email, "--password-stdin"],
        input=PASSWORD + "\n",
        db=sqlite_db,
    )
    _documented(outcome)


@PROPERTY
@given(
    email=email_like,
    command=st.sampled_from(["show", "activate", "deactivate", "promote", "demote"]),
)
def test_any_email_for_single_user_commands(cli, sqlite_db, email, command) -> None:
    _documented(cli(["users", command, email], db=sqlite_db))


@PROPERTY
@given(name=arg_text)
def test_any_role_name(cli, sqlite_db, name) -> None:
    _documented(cli(["roles", "create", name], db=sqlite_db))


@PROPERTY
@given(permission=arg_text)
def test_any_permission(cli, sqlite_db, permission) -> None:
    _documented(cli(["roles", "create", "prop-role", "--permission", permission], db=sqlite_db))
    _documented(cli(["roles", "permit", "prop-role", permission], db=sqlite_db))


@PROPERTY
@given(revision=arg_text)
def test_any_revision(cli, sqlite_db, revision) -> None:
    for command in (
        ["migrate", "upgrade", revision],
        ["migrate", "upgrade", revision, "--sql"],
        ["migrate", "downgrade", revision, "--yes"],
        ["migrate", "stamp", revision, "--yes"],
        ["migrate", "sql", revision],
        ["migrate", "history", "-r", revision],
        ["migrate", "backfill", revision],
        ["migrate", "backfill", revision, "--dry-run"],
    ):
        _documented(cli(command, db=sqlite_db))


@PROPERTY
@given(password=arg_text)
def test_any_password(cli, sqlite_db, password) -> None:
    if "\n" in password or "\r" in password:
        password = password.replace("\r", "").split("\n")[0]
    outcome = cli(
        [
            "users",
            "create-superuser",
            "--email",
            "prop@example.com",
            "--password-stdin",
            "--if-exists",
            "update",
        ],
        input=password + "\n",
        db=sqlite_db,
    )
    _documented(outcome)
    if password:
        assert password not in outcome.stderr or len(password) < 3


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), arg_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "email",
                    "permissions",
                    "description",
                    "password_env",
                    "roles",
                    "model",
                    "key",
                    "rows",
                    "full_name",
                    "password",
                    "x",
                ]
            )
            | arg_text,
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
seed_documents = st.one_of(
    yaml_values,
    st.fixed_dictionaries(
        {},
        optional={
            "roles": yaml_values,
            "users": yaml_values,
            "models": yaml_values,
        },
    ),
)


@PROPERTY
@given(document=seed_documents)
def test_any_seed_document(cli, sqlite_db, tmp_path_factory, document) -> None:
    import yaml

    path = tmp_path_factory.mktemp("seeds") / "fuzz.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    _documented(cli(["seed", "run", str(path)], db=sqlite_db))


@PROPERTY
@given(text=arg_text)
@example(text="?")  # {None: None}: a null key once raised StopIteration (exit 70)
@example(text="1: x")
def test_any_seed_file_text(cli, sqlite_db, tmp_path_factory, text) -> None:
    path = tmp_path_factory.mktemp("seeds") / "fuzz.yaml"
    path.write_text(text)
    _documented(cli(["seed", "run", str(path), "--dry-run"], db=sqlite_db))
