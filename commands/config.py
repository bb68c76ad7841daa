"""`manage config`: the effective settings and where each one came from."""

from __future__ import annotations

from typing import Any

import typer

from manage.options import JsonOption
from manage.runner import fail

app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Show every setting, its effective value and its source: flag, env, .env or default.

    Secrets (passwords, keys, a password inside a URL: userinfo or `password=`) are masked.
    A setting with a bad value is shown as given (masked), with the problem beside it; then
    the command exits 5 naming it. With --json, `data` is a list of {"name", "value",
    "source", "problem"} (problem: null when the value is fine).
    """
    from manage import output
    from manage.errors import UsageError

    try:
        rows = _settings_rows(ctx)
    except Exception as exc:
        fail(ctx, exc, json_output=json_output)
        return
    bad = [row for row in rows if row["problem"]]
    if not json_output:
        _print_table(rows)
    if bad:
        message = "; ".join(f"{row['name']}: {row['problem']}" for row in bad)
        fail(ctx, UsageError(f"invalid setting {message}", data=rows), json_output=json_output)
    if json_output:
        output.emit_json(success=True, data=rows)


def _print_table(rows: list[dict[str, Any]]) -> None:
    from manage.tables import KEY, TEXT, data_table

    # A value (a DATABASE_URL above all) is never cut: one longer than its column folds
    # onto the next line whole, character by character.
    columns = [("name", KEY), ("value", TEXT), ("source", KEY), ("problem", TEXT)]
    cells = [[row["name"], row["value"], row["source"], row["problem"] or ""] for row in rows]
    data_table(columns, cells)


def _settings_rows(ctx: typer.Context) -> list[dict[str, Any]]:
    import os

    from dotenv import dotenv_values
    from pydantic import ValidationError

    from app.config import (
        CONCERNS,
        SettingsSourceError,
        check_env_file,
        check_environment,
        default_env_file,
    )
    from db.config import normalize_database_url
    from manage.context import global_options
    from manage.errors import UsageError

    options = global_options(ctx)
    env_file = default_env_file()
    try:  # before dotenv reads it: a FIFO would hang it, other bytes than UTF-8 crash it
        check_environment()
        check_env_file(env_file)
    except SettingsSourceError as exc:
        raise UsageError(f"invalid setting {exc}") from None
    dotenv = {k.upper(): v for k, v in dotenv_values(env_file).items()} if env_file.exists() else {}
    environ = {k.upper(): v for k, v in os.environ.items()}
    rows = []
    for concern in CONCERNS:
        problems: dict[str, str] = {}
        try:
            values = concern(_env_file=env_file)
        except ValidationError as exc:
            values = None
            for error in exc.errors(include_input=False, include_url=False):
                name = str(error["loc"][0]).upper() if error["loc"] else ""
                problems[name] = error["msg"].removeprefix("Value error, ")
        for name, field in concern.model_fields.items():
            env_name = name.upper()
            if env_name in environ:
                source, raw = "env", environ[env_name]
            elif env_name in dotenv:
                source, raw = f".env ({env_file})", dotenv[env_name]
            else:
                source, raw = "default", field.default
            value = raw if env_name in problems or values is None else getattr(values, name)
            if env_name == "DATABASE_URL" and options.database_url:
                source, value = "flag", options.database_url
                try:
                    value = normalize_database_url(value)
                    problems.pop(env_name, None)
                except ValueError as exc:
                    problems[env_name] = str(exc)
            rows.append(
                {
                    "name": env_name,
                    "value": _shown(value, secret=_is_secret(name, field)),
                    "source": source,
                    "problem": problems.get(env_name),
                }
            )
    return rows


def _is_secret(name: str, field: Any) -> bool:
    from pydantic import SecretStr

    return (
        "SecretStr" in str(field.annotation)
        or field.annotation is SecretStr
        or (name.endswith(("password", "secret_key")))
    )


def _shown(value: Any, *, secret: bool) -> Any:
    from pydantic import SecretStr

    from db.url import mask

    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if secret:
        return "**********" if value else ""
    if isinstance(value, str) and "://" in value:
        return mask(value)
    if hasattr(value, "value"):  # enums
        return value.value
    if hasattr(value, "__fspath__"):
        return str(value)
    return value
