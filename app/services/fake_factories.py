"""Factory files for `seed fake MODEL`: per-column overrides of the drawn values.

A factory is a YAML mapping of column -> how to draw it, read through the guarded loader
(app/yaml_loader.py: regular files only, no aliases, no duplicate keys, size and depth caps):

    title: sentence              # a Faker provider (https://faker.readthedocs.io/en/master/providers.html)
    status: [draft, published]   # one of these, at random
    score: 7                     # a constant (any scalar; null for NULL)
    code: {faker: bothify, text: "??-####"}   # a provider with its arguments

Every entry is checked before anything is written: an unknown column, an unknown provider,
or a value its column cannot hold is a 422 naming factory-file:line: column.

A file ending in `.py` is a Python factory (app/services/fake_factory_modules.py): the same
entries, returned by its `columns(faker)`, plus callables `(rng, index) -> value` per row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Enum, String

from app import yaml_loader
from app.errors import AppException, ErrorCode
from app.services.fake_values import (
    ColumnPlan,
    column_type,
    constant,
    enum_stored,
    pooled,
    provider_pool,
)
from app.services.seed_rows import invalid


def read_factory(path: Path) -> tuple[dict[str, Any], dict[str, int], str]:
    """The factory's entries, each entry's line, and the file as messages name it."""
    source = str(path)
    try:
        document = yaml_loader.load_file(path, source=source)
    except yaml_loader.FileMissing:
        # exit 3 as for a seed or roles file that does not exist (README's exit codes)
        raise AppException(404, f"{source}: no such factory file", ErrorCode.NOT_FOUND) from None
    except yaml_loader.YamlError as exc:
        raise invalid(exc.where, exc.message) from None
    data = document.data or {}
    if not isinstance(data, dict):
        raise invalid(f"{source}:1", "expected a mapping of column: provider, list or value")
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in getattr(document.node, "value", [])}
    return data, lines, source


def factory_plans(model: Any, path: Path, faker: Any, *, unique: set[str]) -> dict[str, ColumnPlan]:
    """column -> its plan from the factory file at `path` (422 naming file:line on a bad entry)."""
    python = path.suffix == ".py"
    if python:
        from app.services.fake_factory_modules import load_columns

        data, lines, source = load_columns(path, faker)
    else:
        data, lines, source = read_factory(path)
    table = model.__table__
    plans: dict[str, ColumnPlan] = {}
    for name, spec in data.items():
        label = (
            name if isinstance(name, str) and name.isidentifier() else yaml_loader.fragment(name)
        )
        line = lines.get(str(name), None if python else 1)
        where = f"{source}:{line}: {label}" if line is not None else f"{source}: {label}"
        if name not in table.c:
            raise invalid(where, f"{table.name} has no such column")
        column = table.c[name]
        if python and callable(spec):
            from app.services.fake_factory_modules import per_row

            plans[name] = ColumnPlan(
                name,
                per_row(
                    spec,
                    source=source,
                    column=label,
                    stored=lambda value, column=column: _stored(model, column, value),
                ),
            )
            continue
        length = getattr(column.type, "length", None)
        if isinstance(spec, dict):
            provider, kwargs = spec.get("faker"), {k: v for k, v in spec.items() if k != "faker"}
        elif isinstance(spec, str):
            provider, kwargs = spec, {}
        else:
            provider, kwargs = None, {}
        if provider is not None:
            if not _is_provider(faker, provider):
                raise invalid(where, f"no Faker provider {yaml_loader.fragment(provider)}")
            try:
                pool = provider_pool(faker, str(provider), **kwargs)
            except (AttributeError, TypeError, ValueError) as exc:
                raise invalid(where, f"{provider}: {exc}") from None
            if length is not None:  # a provider's text is cut to the column's length
                pool = [str(v)[:length] for v in pool]
            choices = pool
        else:
            choices = spec if isinstance(spec, list) else [spec]
            if not choices:
                raise invalid(where, "an empty list has nothing to choose from")
        try:
            stored = [_stored(model, column, value) for value in choices]
        except ValueError as exc:
            raise invalid(where, str(exc)) from None
        if isinstance(spec, list | str | dict):
            # Only text can carry the row index; another unique column's repeats are skipped.
            text = isinstance(column_type(column), String) and not isinstance(column.type, Enum)
            plans[name] = ColumnPlan(
                name, pooled(stored, unique=text and name in unique, length=length)
            )
        else:
            plans[name] = ColumnPlan(name, constant(stored[0]))
    return plans


# Faker's own machinery, not value providers.
NOT_PROVIDERS = {
    "seed",
    "seed_instance",
    "seed_locale",
    "add_provider",
    "get_providers",
    "provider",
    "set_formatter",
    "get_formatter",
    "format",
    "parse",
    "set_arguments",
    "del_arguments",
    "get_arguments",
}


def _is_provider(faker: Any, name: Any) -> bool:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        return False
    return name not in NOT_PROVIDERS and callable(getattr(faker, name, None))


def _stored(model: Any, column: Any, value: Any) -> Any:
    """A factory value as the column stores it (ValueError naming why it does not fit)."""
    from sqlalchemy import Enum

    from app.services.seed_values import column_value

    if isinstance(column.type, Enum):
        if value is None and column.nullable:
            return None
        return enum_stored(column, value)
    return column_value(model, column.name, value)
