"""Seed files on disk: which files a run loads, and their rows read and validated.

Nothing here touches the database: every row is checked against the models' own schemas
before a run writes anything, and a bad row is a 422 naming `file:line: section[i].field`.

    roles:                      # upserted by name; permissions are the exact set
      - {name: admin, description: Everything, permissions: ["*"]}
    users:                      # upserted by email; roles by name
      - email: dev@example.com
        password_env: DEV_PASSWORD        # or password_file, password_hash, password
        roles: [admin]
    models:                     # any other table model, upserted by `key`
      - model: RolePermission
        key: [role_id, permission]
        rows:
          - {role_id: {name: admin}, permission: "users:read"}   # a foreign key by natural key
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from app.errors import AppException
from app.schemas.seed import UserSeed

BASE_SET = "base"
SEED_SUFFIXES = (".yaml", ".yml", ".py")
SECTIONS = ("roles", "users", "models")


class SeedErrorCode:
    INVALID_SEED = "INVALID_SEED"
    SEED_NOT_FOUND = "SEED_NOT_FOUND"


def invalid(where: str, message: str) -> AppException:
    return AppException(422, f"{where}: {message}", SeedErrorCode.INVALID_SEED)


@dataclass(frozen=True)
class SeedFile:
    seed_set: str
    path: Path
    name: str  # relative to the seeds directory: "base/roles.yaml"
    display: str  # as messages show it: "seeds/base/roles.yaml"
    checksum: str


@dataclass
class Row:
    """One entry of a section, with where it came from (for messages)."""

    source: str
    section: str
    index: int
    line: int
    field_lines: dict[str, int]
    data: dict[str, Any]

    def where(self, column: str | None = None) -> str:
        line = self.field_lines.get(column, self.line) if column else self.line
        label = f"{self.section}[{self.index}]"
        return (
            f"{self.source}:{line}: {label}.{column}"
            if column
            else f"{self.source}:{line}: {label}"
        )


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


@dataclass
class LoadedSeeds:
    files: list[SeedFile]
    roles: list[tuple[Row, Any]] = field(default_factory=list)  # (row, RoleSpec)
    users: list[UserRow] = field(default_factory=list)
    models: list[ModelSection] = field(default_factory=list)
    modules: list[SeedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _seed_file(seeds_dir: Path, path: Path, seed_set: str) -> SeedFile:
    try:
        name = str(path.resolve().relative_to(seeds_dir.resolve()))
    except ValueError:
        name = f"{seed_set}/{path.name}"
    return SeedFile(
        seed_set=seed_set,
        path=path,
        name=name,
        display=_display(path),
        checksum=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


def set_files(seeds_dir: Path, seed_set: str) -> list[SeedFile]:
    directory = seeds_dir / seed_set
    paths = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in SEED_SUFFIXES)
    return [_seed_file(seeds_dir, p, seed_set) for p in paths if not p.name.startswith("_")]


def list_sets(seeds_dir: Path) -> dict[str, list[SeedFile]]:
    """Every seed set under `seeds_dir` (a directory each) and its files."""
    if not seeds_dir.is_dir():
        return {}
    names = sorted(p.name for p in seeds_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    ordered = [BASE_SET] * (BASE_SET in names) + [n for n in names if n != BASE_SET]
    return {name: set_files(seeds_dir, name) for name in ordered}


def select_files(seeds_dir: Path, targets: list[str], *, default_set: str | None) -> list[SeedFile]:
    """The files a run loads, in order.

    No targets: `base`, then `default_set` when that directory exists. Set names: `base`
    first, then each set. File paths: exactly those files.
    """
    files: list[SeedFile] = []
    paths = [t for t in targets if Path(t).suffix in SEED_SUFFIXES]
    sets = [t for t in targets if t not in paths]
    if not targets:
        sets = [default_set] if default_set else []
    if sets or not paths:
        wanted = list(dict.fromkeys([BASE_SET, *sets]))
        for name in wanted:
            if not (seeds_dir / name).is_dir():
                if name == BASE_SET or (not targets and name == default_set):
                    continue  # both optional when not asked for by name
                raise AppException(
                    404,
                    f"no seed set {name!r} in {_display(seeds_dir)}",
                    SeedErrorCode.SEED_NOT_FOUND,
                )
            files.extend(set_files(seeds_dir, name))
    for target in paths:
        path = Path(target)
        if not path.is_file():
            raise AppException(404, f"no seed file {target}", SeedErrorCode.SEED_NOT_FOUND)
        files.append(_seed_file(seeds_dir, path, path.resolve().parent.name))
    return list({f.path.resolve(): f for f in files}.values())


def _compose(text: str, source: str) -> tuple[Any, Any]:
    """The document and its node tree (node marks give line numbers)."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or "not valid YAML"
        raise invalid(f"{source}:{mark.line + 1 if mark else 1}", reason) from None
    finally:
        loader.dispose()
    return data, node


def _mapping_lines(node: Any) -> dict[str, Any]:
    """key -> value node of a YAML mapping node."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _rows(source: str, section: str, value: Any, node: Any) -> list[Row]:
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


def _role_row(row: Row) -> Any:
    from app.permissions import permission_problem, role_name_problem
    from app.schemas.role import RoleSpec

    spec = _validate(row, RoleSpec)
    problem = role_name_problem(spec.name)
    if problem is not None:
        raise invalid(row.where("name"), problem)
    for permission in spec.permissions:
        if problem := permission_problem(permission):
            raise invalid(row.where("permissions"), problem)
    return spec


def _user_row(row: Row, *, base: Path, production: bool, min_length: int) -> UserRow:
    from app.security import password_problem, pwd_context

    seed = _validate(row, UserSeed)
    assert isinstance(seed, UserSeed)
    password: str | None = None
    if seed.password_env is not None:
        password = os.environ.get(seed.password_env) or None
        if password is None:
            raise invalid(
                row.where("password_env"), f"environment variable {seed.password_env} is not set"
            )
    elif seed.password_file is not None:
        path = (base / seed.password_file).expanduser()
        try:
            password = path.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise invalid(row.where("password_file"), f"cannot read {path}: {reason}") from None
        if not password:
            raise invalid(row.where("password_file"), f"{path} is empty")
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
    """Every table model, by class name and by table name."""
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  (registers every table)

    found: dict[str, Any] = {}
    for mapper in SQLModel._sa_registry.mappers:
        model = mapper.class_
        found[model.__name__] = model
        found[model.__tablename__] = model
    return found


def _model_section(source: str, index: int, item: Any, node: Any) -> ModelSection:
    line = node.start_mark.line + 1
    where = f"{source}:{line}: models[{index}]"
    if not isinstance(item, dict):
        raise invalid(where, "expected a mapping with model, key and rows")
    unknown = set(item) - {"model", "key", "rows"}
    if unknown:
        raise invalid(where, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    model = table_models().get(str(item.get("model")))
    if model is None:
        raise invalid(f"{where}.model", f"no table model {item.get('model')!r}")
    columns = set(model.__table__.columns.keys())
    key = item.get("key")
    key = [key] if isinstance(key, str) else key
    if not key or not isinstance(key, list) or not set(key) <= columns:
        raise invalid(f"{where}.key", f"expected column name(s) of {model.__tablename__}")
    parts = _mapping_lines(node)
    rows = _rows(source, f"models[{index}].rows", item.get("rows"), parts.get("rows"))
    for row in rows:
        _check_model_row(row, model, key, columns)
    return ModelSection(model=model, key=list(key), rows=rows)


def _check_model_row(row: Row, model: Any, key: list[str], columns: set[str]) -> None:
    unknown = [c for c in row.data if c not in columns]
    if unknown:
        raise invalid(row.where(str(unknown[0])), f"{model.__tablename__} has no such column")
    for column in key:
        if column not in row.data:
            raise invalid(row.where(), f"the key column {column} is missing")
    table = model.__table__
    values = dict(row.data)
    for column, value in row.data.items():
        if isinstance(value, dict) and table.c[column].foreign_keys:
            values[column] = 0  # resolved by natural key when the run applies
    try:
        model.model_validate(values)
    except ValidationError as exc:
        raise _first_error(row, exc, columns=columns) from None


def load(files: list[SeedFile], *, production: bool, min_length: int) -> LoadedSeeds:
    """Read and validate every file; raise a 422 at the first bad row (nothing is written)."""
    loaded = LoadedSeeds(files=files)
    seen: dict[tuple[str, str], str] = {}
    for seed_file in files:
        if seed_file.path.suffix == ".py":
            loaded.modules.append(seed_file)
            continue
        source = seed_file.display
        try:
            text = seed_file.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise invalid(source, getattr(exc, "strerror", None) or "not UTF-8 text") from None
        data, node = _compose(text, source)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise invalid(f"{source}:1", f"expected a mapping with {', '.join(SECTIONS)}")
        if "model" in data:  # a file holding one model section
            data, node = {"models": [data]}, _wrap(node)
        parts = _mapping_lines(node)
        unknown = [k for k in data if k not in SECTIONS]
        if unknown:
            key_node = next(k for k, _ in node.value if k.value == unknown[0])
            raise invalid(
                f"{source}:{key_node.start_mark.line + 1}: {unknown[0]}",
                f"unknown section; expected {', '.join(SECTIONS)}",
            )
        for row in _rows(source, "roles", data.get("roles"), parts.get("roles")):
            spec = _role_row(row)
            _once(seen, ("role", spec.name), row)
            loaded.roles.append((row, spec))
        for row in _rows(source, "users", data.get("users"), parts.get("users")):
            user = _user_row(
                row, base=seed_file.path.parent, production=production, min_length=min_length
            )
            _once(seen, ("user", user.seed.email), row)
            if user.seed.password is not None:
                loaded.warnings.append(
                    f"{row.where('password')}: a plain password in a seed file; "
                    "use password_env or password_file"
                )
            loaded.users.append(user)
        sections = data.get("models") or []
        if not isinstance(sections, list):
            raise invalid(f"{source}: models", "expected a list of model sections")
        section_nodes = parts["models"].value if sections else []
        for index, (item, item_node) in enumerate(zip(sections, section_nodes, strict=True)):
            loaded.models.append(_model_section(source, index, item, item_node))
    return loaded


def _wrap(node: Any) -> Any:
    import yaml

    key = yaml.ScalarNode("tag:yaml.org,2002:str", "models", node.start_mark, node.start_mark)
    sequence = yaml.SequenceNode("tag:yaml.org,2002:seq", [node], node.start_mark, node.end_mark)
    return yaml.MappingNode(
        "tag:yaml.org,2002:map", [(key, sequence)], node.start_mark, node.end_mark
    )


def _once(seen: dict[tuple[str, str], str], key: tuple[str, str], row: Row) -> None:
    if key in seen:
        raise invalid(row.where(), f"{key[0]} {key[1]} is already seeded at {seen[key]}")
    seen[key] = f"{row.source}:{row.line}"
