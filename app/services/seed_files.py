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

import contextlib
import errno
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import yaml_loader
from app.errors import AppException, ErrorCode
from app.services.seed_rows import (
    ModelSection,
    Row,
    UserRow,
    invalid,
    mapping_lines,
    model_section,
    role_row,
    rows_of,
    user_row,
)

BASE_SET = "base"


SEED_SUFFIXES = (".yaml", ".yml", ".csv", ".jsonl", ".py")


SECTIONS = ("roles", "users", "models")


@dataclass(frozen=True)
class SeedFile:
    seed_set: str
    path: Path
    name: str  # relative to the seeds directory: "base/roles.yaml"
    display: str  # as messages show it: "seeds/base/roles.yaml"
    checksum: str
    content: bytes = field(default=b"", repr=False, compare=False)  # read once, capped
    # A file read by the run itself (CSV, JSON Lines, YAML over 4 MiB): what the pass that
    # made its checksum found, which the bytes the run reads must match (FileChanged).
    expected: yaml_loader.Digested | None = field(default=None, repr=False, compare=False)
    sidecar: tuple[str, str] | None = field(default=None, repr=False, compare=False)
    streams: bool = field(default=False, compare=False)  # decided once, when selected


@dataclass
class LoadedSeeds:
    files: list[SeedFile]
    roles: list[tuple[Row, Any]] = field(default_factory=list)  # (row, RoleSpec)
    users: list[UserRow] = field(default_factory=list)
    models: list[ModelSection] = field(default_factory=list)
    modules: list[SeedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    streams: list[SeedFile] = field(default_factory=list)  # large YAML files, read by the run
    # natural key -> "file:line" of every row read before the run (streamed rows are checked
    # against these and each other in the database: app/services/seed_bulk.py)
    declared: dict[tuple[Any, ...], str] = field(default_factory=dict)


def _real(path: Path) -> Path:
    """The path with its links followed; a symlink loop stays as it is (Path.resolve()
    raises RuntimeError on one before Python 3.13: exit 70), to fail when it is opened."""
    return Path(os.path.realpath(path))


def _where(path: Path) -> Path:
    """`_real(path)`; a link that leads nowhere is itself, not the missing target it names."""
    return _real(path) if os.path.exists(path) else _real(path.parent) / path.name


def _display(path: Path) -> str:
    try:
        return str(_where(path).relative_to(_real(Path.cwd())))
    except ValueError:
        return str(path)


def _name(seeds_dir: Path, path: Path, seed_set: str) -> str:
    """The file relative to the seeds directory: "base/roles.yaml"."""
    try:
        return str(_where(path).relative_to(_real(seeds_dir)))
    except ValueError:
        return f"{seed_set}/{path.name}"


def _seed_file(seeds_dir: Path, path: Path, seed_set: str) -> SeedFile:
    """The file's identity and content, read once through the capped loader (app/yaml_loader)."""
    name = _name(seeds_dir, path, seed_set)
    display = _display(path)
    expected, sidecar, content = None, None, b""
    try:
        streams = streamed(path)
        if streams:
            # Read as a stream when applied: hashed in chunks, never held whole, no size cap;
            # the run checks that what it reads is what was hashed here.
            expected = yaml_loader.digest_file(path, source=display)
            checksum = expected.digest
            found = _sidecar(path)
            if found is not None:  # the sidecar is part of what the file means: read once
                sidecar = found[:2]
                checksum = hashlib.sha256(f"{checksum}:{found[2]}".encode()).hexdigest()
        else:
            content = yaml_loader.read_bytes(path, source=display)
            checksum = hashlib.sha256(content).hexdigest()
    except yaml_loader.FileMissing:
        raise AppException(404, f"no seed file {display}", ErrorCode.SEED_NOT_FOUND) from None
    except yaml_loader.YamlError as exc:
        raise invalid(exc.where, exc.message) from None
    return SeedFile(
        seed_set=seed_set,
        path=path,
        name=name,
        display=display,
        checksum=checksum,
        content=content,
        expected=expected,
        sidecar=sidecar,
        streams=streams,
    )


def changed(exc: yaml_loader.FileChanged) -> AppException:
    """A file that changed between its checksum and the reading of its rows: the run cannot
    record what it applied, so it stops (exit 4, like a transaction PostgreSQL rolls back
    for a concurrent one) and the next run reads the file as it then is."""
    return AppException(
        409,
        f"rolled back: {exc.source} changed while it was being seeded; run it again",
        ErrorCode.CONFLICT,
    )


# A YAML seed file larger than this is read as a stream of events (app/services/seed_stream.py)
# instead of whole; smaller ones are read whole under the loader's caps (app/yaml_loader.py).
YAML_STREAM_BYTES = 4 * 1024 * 1024


def streamed(path: Path) -> bool:
    """CSV and JSON Lines files always stream; YAML files above YAML_STREAM_BYTES."""
    if path.suffix in (".csv", ".jsonl"):
        return True
    return path.suffix in (".yaml", ".yml") and yaml_loader.file_size(path) > YAML_STREAM_BYTES


def _sidecar(path: Path) -> tuple[str, str, str] | None:
    """(display, text, sha256) of `users.csv.yaml` beside a CSV / JSON Lines file, or None."""
    from app.services.seed_tables import sidecar_path

    if path.suffix not in (".csv", ".jsonl"):
        return None
    side = sidecar_path(path)
    # lexists, not exists(): a sidecar that is a dangling or looping link is there and
    # unreadable (exit 5 naming it), not absent (which blamed the CSV's first line)
    if not os.path.lexists(side):
        return None
    display = _display(side)
    content = yaml_loader.read_bytes(side, source=display, max_bytes=64 * 1024)
    text = yaml_loader.decode(content, display)
    return display, text, hashlib.sha256(content).hexdigest()


def _is_sidecar(path: Path) -> bool:
    """`users.csv.yaml` beside `users.csv`: part of that file, not a seed file of its own."""
    inner = path.with_name(path.stem)
    return path.suffix == ".yaml" and inner.suffix in (".csv", ".jsonl") and os.path.lexists(inner)


def set_paths(seeds_dir: Path, seed_set: str) -> list[Path]:
    """The seed files of one set, by name only (nothing opened)."""
    directory = seeds_dir / seed_set
    # Not is_file(): a FIFO, a link to /dev/zero or a dangling link among the seeds is
    # refused by name, not silently skipped; sub-directories are not seed files.
    return sorted(
        p
        for p in directory.iterdir()
        if p.suffix in SEED_SUFFIXES
        and not p.is_dir()
        and not p.name.startswith("_")
        and not _is_sidecar(p)
    )


def set_files(seeds_dir: Path, seed_set: str) -> list[SeedFile]:
    return [_seed_file(seeds_dir, p, seed_set) for p in set_paths(seeds_dir, seed_set)]


def set_names(seeds_dir: Path) -> list[str]:
    """The seed sets under `seeds_dir` (a directory each), `base` first."""
    if not seeds_dir.is_dir():
        return []
    names = sorted(p.name for p in seeds_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [BASE_SET] * (BASE_SET in names) + [n for n in names if n != BASE_SET]


def list_sets(seeds_dir: Path) -> dict[str, list[SeedFile]]:
    """Every seed set under `seeds_dir` and its files, each read (a file that cannot be
    read is exit 5 naming it)."""
    return {name: set_files(seeds_dir, name) for name in set_names(seeds_dir)}


def list_names(seeds_dir: Path) -> dict[str, list[tuple[str, str | None]]]:
    """Every seed set and its files as (name, why it cannot be read or None), nothing read:
    `seed list` shows an unreadable file (a dangling link, a FIFO) rather than failing."""
    return {
        name: [
            (_name(seeds_dir, p, name), yaml_loader.read_problem(p))
            for p in set_paths(seeds_dir, name)
        ]
        for name in set_names(seeds_dir)
    }


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
                _not_a_set(seeds_dir / name)
                raise AppException(
                    404,
                    f"no seed set {name!r} in {_display(seeds_dir)}",
                    ErrorCode.SEED_NOT_FOUND,
                )
            files.extend(set_files(seeds_dir, name))
    for target in paths:
        path = Path(target)
        files.append(_seed_file(seeds_dir, path, _real(path).parent.name))
    return list({_real(f.path): f for f in files}.values())


def _not_a_set(path: Path) -> None:
    """A target that is there but is no directory (a symlink loop, a dangling link, a file
    without a seed file's suffix): exit 5 saying why, not "no seed set" (exit 3)."""
    if not os.path.lexists(path):
        return
    display = _display(path)
    try:
        path.stat()
    except OSError as exc:
        reason = "a symbolic link to a missing file" if exc.errno == errno.ENOENT else exc.strerror
        raise invalid(display, f"cannot read ({reason or type(exc).__name__})") from None
    suffixes = ", ".join(SEED_SUFFIXES)
    raise invalid(display, f"not a seed set (a directory) nor a seed file ({suffixes})")


def _compose(seed_file: SeedFile) -> tuple[Any, Any]:
    """The document and its node tree (node marks give line numbers)."""
    try:
        text = yaml_loader.decode(seed_file.content, seed_file.display)
        document = yaml_loader.load_text(text, seed_file.display)
    except yaml_loader.YamlError as exc:
        raise invalid(exc.where, exc.message) from None
    return document.data, document.node


def load(files: list[SeedFile], *, production: bool, min_length: int) -> LoadedSeeds:
    """Read and validate every file; raise a 422 at the first bad row (nothing is written)."""
    loaded = LoadedSeeds(files=files)
    seen: dict[tuple[str, str], str] = {}
    declared: dict[tuple[Any, ...], str] = {}
    for seed_file in files:
        if seed_file.path.suffix == ".py":
            loaded.modules.append(seed_file)
            continue
        source = seed_file.display
        if seed_file.path.suffix in (".csv", ".jsonl"):
            try:
                section = _table_file(seed_file)
            except yaml_loader.FileChanged as exc:
                raise changed(exc) from None
            if section is not None:
                section.file = seed_file.name
                for row in section.rows:  # a self-referencing table's rows (read whole)
                    for identity in _identities(section, row):
                        _declared(declared, identity, row)
                loaded.models.append(section)
            continue
        if seed_file.streams:
            loaded.streams.append(seed_file)  # read and applied as a stream by the run
            continue
        data, node = _compose(seed_file)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise invalid(f"{source}:1", f"expected a mapping with {', '.join(SECTIONS)}")
        if "model" in data:  # a file holding one model section
            data, node = {"models": [data]}, _wrap(node)
        parts = mapping_lines(node)
        unknown = [k for k in data if k not in SECTIONS]
        if unknown:
            # A null or non-string key (`?`, `1:`) has node text unlike its value: fall back
            # to the mapping's own line.
            key_node = next((k for k, _ in node.value if k.value == str(unknown[0])), node)
            raise invalid(
                f"{source}:{key_node.start_mark.line + 1}: {yaml_loader.fragment(unknown[0])}",
                f"unknown section; expected {', '.join(SECTIONS)}",
            )
        for row in rows_of(source, "roles", data.get("roles"), parts.get("roles")):
            spec = role_row(row)
            _once(seen, ("role", spec.name), row)
            _declared(declared, ("roles", ("name",), (spec.name,)), row)
            loaded.roles.append((row, spec))
        for row in rows_of(source, "users", data.get("users"), parts.get("users")):
            user = user_row(
                row, base=seed_file.path.parent, production=production, min_length=min_length
            )
            _once(seen, ("user", user.seed.email), row)
            _declared(declared, ("users", ("email",), (user.seed.email,)), row)
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
            section = model_section(source, index, item, item_node)
            section.file = seed_file.name
            for row in section.rows:
                for identity in _identities(section, row):
                    _declared(declared, identity, row)
            loaded.models.append(section)
    from app.services.seed_order import in_dependency_order

    loaded.models = in_dependency_order(loaded.models)
    loaded.declared = declared
    return loaded


def _table_file(seed_file: SeedFile) -> ModelSection | None:
    """A CSV or JSON Lines file: one model section (app/services/seed_tables.py) whose rows
    the run reads as a stream; a self-referencing table's rows are read now (they are
    ordered parents first across the run, see seed_order)."""
    from app.services.seed_order import self_columns
    from app.services.seed_tables import table_file

    found = table_file(
        seed_file.display,
        seed_file.path,
        jsonl=seed_file.path.suffix == ".jsonl",
        sidecar=seed_file.sidecar,
        expected=seed_file.expected,
    )
    if found is None:
        return None
    if self_columns(found.model):
        return ModelSection(model=found.model, key=found.key, rows=found.checked_rows())
    return ModelSection(
        model=found.model, key=found.key, rows=[], stream=found.rows, table_file=found
    )


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


# The natural key of the tables other sections also write: a `users:` row and a `model: User`
# row with the same email are one user declared twice, whatever key the model section uses.
NATURAL_KEYS = {"users": "email", "roles": "name"}


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _stored(section: ModelSection, column: str, value: Any) -> Any:
    """The key value as the column stores it (emails lower-cased, as the users service does)."""
    from app.services.seed_values import column_value

    if isinstance(value, dict):
        return _frozen(value)  # a foreign key by natural key
    with contextlib.suppress(ValueError):  # already reported by model_section
        value = column_value(section.model, column, value)
    if section.model.__tablename__ == "users" and column == "email" and isinstance(value, str):
        value = value.lower()
    return _frozen(value)


def _identities(section: ModelSection, row: Row) -> list[tuple[Any, ...]]:
    table = section.model.__tablename__
    key = tuple(sorted(section.key))
    found = [(table, key, tuple(_stored(section, c, row.data[c]) for c in key))]
    natural = NATURAL_KEYS.get(table)
    if natural is not None and natural in row.data and key != (natural,):
        found.append((table, (natural,), (_stored(section, natural, row.data[natural]),)))
    return found


def _declared(declared: dict[tuple[Any, ...], str], identity: tuple[Any, ...], row: Row) -> None:
    """One natural key is declared once per run, across section kinds and files (exit 5)."""
    try:
        first = declared.get(identity)
    except TypeError:  # an unhashable value: model_section reports it
        return
    if first is not None:
        table, columns, values = identity
        pairs = zip(columns, values, strict=True)
        shown = ", ".join(f"{c}={yaml_loader.fragment(v)}" for c, v in pairs)
        raise invalid(row.where(), f"{table} row {shown} is already declared at {first}")
    declared[identity] = f"{row.source}:{row.line}"
