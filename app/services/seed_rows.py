"""Seed rows checked against the models' own schemas; a bad one is a 422 naming file:line.

`section[i].field` in messages: `users[3].email`, `models[0].rows[2].role_id`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr, ValidationError

from app.errors import AppException, ErrorCode
from app.secret_files import SecretFileError, read_secret_file, secret_from_environment

if TYPE_CHECKING:
    from app.schemas.seed_users import UserSeed

MAX_MESSAGE = 300


def short(text: str, limit: int = MAX_MESSAGE) -> str:
    """A message echoing file content stays a short fragment (a 1 MB value is not echoed)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def invalid(where: str, message: str) -> AppException:
    return AppException(422, short(f"{where}: {message}"), ErrorCode.INVALID_SEED)


@dataclass
class Row:
    """One entry of a section, with where it came from (for messages)."""

    source: str
    section: str
    index: int
    line: int
    field_lines: dict[str, int]
    data: dict[str, Any]
    # CSV / JSON Lines rows: each field's 1-based character column (messages say line:column)
    field_columns: dict[str, int] | None = None

    def where(self, column: str | None = None) -> str:
        line = self.field_lines.get(column, self.line) if column else self.line
        label = f"{self.section}[{self.index}]"
        at = f"{self.source}:{line}"
        if self.field_columns is not None:
            at += f":{self.field_columns.get(column, 1) if column else 1}"
        return f"{at}: {label}.{column}" if column else f"{at}: {label}"


@dataclass
class UserRow:
    row: Row
    seed: UserSeed
    given: set[str]  # fields the file sets (others are left alone on update)
    password: SecretStr | None  # resolved from password_env / password_file / password
    password_hash: str | None


@dataclass
class ModelSection:
    model: Any  # an SQLModel table class
    key: list[str]
    rows: list[Row]
    # A streamed section (CSV, JSON Lines, large YAML): () -> an iterator of checked rows,
    # read once by the run; `rows` is then empty (app/services/seed_bulk.py).
    stream: Any = None
    # A CSV / JSON Lines section: its seed_tables.TableFile (the bulk path reads a plain
    # CSV's records without building Rows: app/services/seed_convert.py)
    table_file: Any = None
    file: str = ""  # the seed file's name ("base/items.csv"); "" for sections of several files


def _first_error(
    row: Row, exc: ValidationError, *, columns: set[str] | None = None
) -> AppException:
    error = exc.errors(include_input=False, include_url=False)[0]
    loc = [str(part) for part in error.get("loc", ())]
    column = (
        loc[0] if loc and (columns is None or loc[0] in columns or loc[0] in row.data) else None
    )
    message = error["msg"]
    if column is None:
        return invalid(row.where(), message)
    extra = "." + ".".join(loc[1:]) if len(loc) > 1 else ""
    return invalid(row.where(column) + extra, message)


def _validate(row: Row, schema: type[BaseModel]) -> BaseModel:
    try:
        return schema.model_validate(row.data)
    except ValidationError as exc:
        raise _first_error(row, exc) from None


def _check_columns(row: Row, table: str, values: dict[str, Any]) -> None:
    """Each value fits its column of `table` (NUL characters, lengths): a 422 naming it."""
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  (registers every table)
    from app.services.column_checks import row_problem

    found = row_problem(SQLModel.metadata.tables[table], values)
    if found is not None:
        raise invalid(row.where(found[0]), found[1])


def role_row(row: Row) -> Any:
    from app.permissions import permission_problem, role_name_problem
    from app.schemas.role import RoleSpec

    spec = _validate(row, RoleSpec)
    _check_columns(row, "roles", spec.model_dump(include={"name", "description"}))
    problem = role_name_problem(spec.name)
    if problem is not None:
        raise invalid(row.where("name"), problem)
    for permission in spec.permissions:
        if problem := permission_problem(permission):
            raise invalid(row.where("permissions"), problem)
    return spec


def user_row(row: Row, *, base: Path, production: bool, min_length: int) -> UserRow:
    from app.schemas.seed_users import UserSeed
    from app.security import password_problem, pwd_context

    seed = _validate(row, UserSeed)
    assert isinstance(seed, UserSeed)
    _check_columns(row, "users", seed.model_dump(include={"email", "full_name"}))
    password: str | None = None
    if seed.password_env is not None:
        raw = os.environ.get(seed.password_env) or None
        if raw is None:
            raise invalid(
                row.where("password_env"), f"environment variable {seed.password_env} is not set"
            )
        try:  # the same rules as every password source (app/secret_files.py)
            password = secret_from_environment(raw) or None
        except SecretFileError as exc:
            raise invalid(
                row.where("password_env"), f"cannot use ${seed.password_env}: {exc}"
            ) from None
        if password is None:
            raise invalid(row.where("password_env"), f"${seed.password_env} is empty")
    elif seed.password_file is not None:
        path = (base / seed.password_file).expanduser()
        try:
            password = read_secret_file(path)
        except SecretFileError as exc:
            raise invalid(row.where("password_file"), f"cannot use {path}: {exc}") from None
    elif seed.password is not None:
        if production:
            raise invalid(
                row.where("password"),
                "a plain password is refused in production; use password_env, password_file "
                "or password_hash",
            )
        password = seed.password.get_secret_value()
    hashed = seed.password_hash.get_secret_value() if seed.password_hash else None
    if hashed is not None and pwd_context().identify(hashed) is None:
        raise invalid(row.where("password_hash"), "not a password hash this backend can verify")
    problem = (
        password_problem(password, min_length=min_length, email=seed.email) if password else None
    )
    if problem is not None:
        source = next(s for s in ("password_env", "password_file", "password") if s in row.data)
        raise invalid(row.where(source), problem)
    return UserRow(
        row=row,
        seed=seed,
        given=set(row.data) & set(UserSeed.model_fields),
        password=SecretStr(password) if password is not None else None,
        password_hash=hashed,
    )


def table_models() -> dict[str, Any]:
    """Every table model, by class name and by table name: app.models, and any other
    SQLModel table class imported so far (a project's own registry included)."""
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  (registers every table)

    found: dict[str, Any] = {}
    pending = list(SQLModel.__subclasses__())
    while pending:
        model = pending.pop(0)
        pending.extend(model.__subclasses__())
        table = getattr(model, "__table__", None)
        if table is None or not isinstance(getattr(model, "__tablename__", None), str):
            continue
        found.setdefault(model.__name__, model)
        found.setdefault(table.name, model)
    return found


def model_section(source: str, index: int, item: Any, node: Any) -> ModelSection:
    line = node.start_mark.line + 1
    where = f"{source}:{line}: models[{index}]"
    if not isinstance(item, dict):
        raise invalid(where, "expected a mapping with model, key and rows")
    unknown = set(item) - {"model", "key", "rows"}
    if unknown:
        raise invalid(where, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    from app.services.seed_guards import append_only_problem
    from app.yaml_loader import fragment

    model = table_models().get(str(item.get("model")))
    if model is None:
        raise invalid(f"{where}.model", f"no table model {fragment(item.get('model'))}")
    if problem := append_only_problem(model.__tablename__):
        raise invalid(f"{where}.model", problem)
    columns = set(model.__table__.columns.keys())
    key = item.get("key")
    key = [key] if isinstance(key, str) else key
    if not key or not isinstance(key, list) or not set(key) <= columns:
        raise invalid(f"{where}.key", f"expected column name(s) of {model.__tablename__}")
    parts = mapping_lines(node)
    rows = rows_of(source, f"models[{index}].rows", item.get("rows"), parts.get("rows"))
    for row in rows:
        check_model_row(row, model, key, columns)
    return ModelSection(model=model, key=list(key), rows=rows)


def check_model_row(row: Row, model: Any, key: list[str], columns: set[str]) -> None:
    """Each given value fits its column; fields left out are checked when a row is created."""
    converted_row(row, model, key, columns)


def converted_row(row: Row, model: Any, key: list[str], columns: set[str]) -> dict[str, Any]:
    """check_model_row's checks, returning the values as the columns store them (a foreign
    key by natural key, `{email: ...}`, is kept as given: resolved when the run applies)."""
    from app.services.seed_values import column_value

    data = row.data
    if not columns.issuperset(data):
        unknown = [c for c in data if c not in columns]
        raise invalid(row.where(str(unknown[0])[:64]), f"{model.__tablename__} has no such column")
    for column in key:
        if column not in data:
            raise invalid(row.where(), f"the key column {column} is missing")
    table_columns = model.__table__.c
    values: dict[str, Any] = {}
    for column, value in data.items():
        if isinstance(value, dict) and table_columns[column].foreign_keys:
            values[column] = value  # resolved by natural key when the run applies
            continue
        try:
            values[column] = column_value(model, column, value)
        except ValueError as exc:
            raise invalid(row.where(column), str(exc)) from None
    return values


def mapping_lines(node: Any) -> dict[str, Any]:
    """key -> value node of a YAML mapping node."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def rows_of(source: str, section: str, value: Any, node: Any) -> list[Row]:
    import yaml

    line = node.start_mark.line + 1 if node is not None else 1
    if value is None:
        return []
    if not isinstance(value, list) or not isinstance(node, yaml.SequenceNode):
        raise invalid(f"{source}:{line}: {section}", "expected a list of rows")
    rows = []
    for index, (item, item_node) in enumerate(zip(value, node.value, strict=True)):
        item_line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            raise invalid(f"{source}:{item_line}: {section}[{index}]", "expected a mapping")
        lines = {
            str(k.value): k.start_mark.line + 1
            for k, _ in getattr(item_node, "value", [])
            if isinstance(k, yaml.ScalarNode)
        }
        rows.append(Row(source, section, index, item_line, lines, item))
    return rows
