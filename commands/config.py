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

    Secrets (passwords, keys, a password inside a URL) are masked. With --json, `data` is a
    list of {"name", "value", "source"}.
    """
    from manage import output

    try:
        rows = _settings_rows(ctx)
    except Exception as exc:
        fail(ctx, exc, json_output=json_output)
        return
    if json_output:
        output.emit_json(success=True, data=rows)
        return
    from rich.table import Table

    table = Table("name", "value", "source")
    for row in rows:
        output.add_row(table, row["name"], row["value"], row["source"])
    output.out().print(table)


def _settings_rows(ctx: typer.Context) -> list[dict[str, Any]]:
    import os

    from dotenv import dotenv_values
    from pydantic import SecretStr
    from pydantic_settings import BaseSettings

    from app.config import default_env_file
    from db.engine import describe_url
    from manage.context import global_options
    from manage.runner import load_settings

    options = global_options(ctx)
    settings = load_settings(options)
    env_file = default_env_file()
    dotenv = {k.upper(): v for k, v in dotenv_values(env_file).items()} if env_file.exists() else {}
    environ = {k.upper() for k in os.environ}
    rows = []
    for concern in vars(settings).values():
        if not isinstance(concern, BaseSettings):
            continue
        for name in type(concern).model_fields:
            env_name = name.upper()
            value = getattr(concern, name)
            if env_name == "DATABASE_URL" and options.database_url:
                source = "flag"
            elif env_name in environ:
                source = "env"
            elif env_name in dotenv:
                source = f".env ({env_file})"
            else:
                source = "default"
            rows.append(
                {
                    "name": env_name,
                    "value": _shown(value, SecretStr, describe_url),
                    "source": source,
                }
            )
    return rows


def _shown(value: Any, secret_type: type, describe_url: Any) -> Any:
    if isinstance(value, secret_type):
        return "**********" if value.get_secret_value() else ""
    if isinstance(value, str) and "://" in value:
        return describe_url(value)
    if hasattr(value, "value"):  # enums
        return value.value
    return value
