"""CSV and JSON Lines seed files: one model per file, the formats pipelines export.

The model and its natural key are named either by the first line, as a YAML flow mapping
after `#`, or by a sidecar file beside it (`users.csv` + `users.csv.yaml` holding
`{model: User, key: email}`; then the file starts with its data and the sidecar is not a
seed file of its own; a file with both is refused):

    # {model: Item, key: name}
    name,description,owner_id.email
    lamp,A desk lamp,alice@example.com
    chair,,bob@example.com

CSV: then a header row of column names; `column.other` is a foreign key by natural key (the
cell is `other` of the referenced row, like `owner_id: {email: ...}` in YAML). An empty cell
is NULL. JSON and ARRAY cells are JSON text. Every other cell is read by its column's type
exactly as a YAML value (app/services/seed_values.py).

JSON Lines: then one JSON object per line (blank lines skipped), values as in YAML; a key
given twice in one object is refused.

A bad row is a 422 naming `file:line:column: rows[i].field` (the column is the character
position where the field starts, 1-based) and nothing is written: the rows go through the
same checks and upsert as YAML rows.

Files are read as a stream (one row at a time, memory flat in the number of rows): `rows()`
yields the rows; a large section goes through the bulk path (app/services/seed_bulk.py).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services.column_checks import json_number
from app.services.seed_csv import CsvFaults, not_utf8, well_formed_record
from app.services.seed_rows import Row, invalid, table_models

TABLE_SUFFIXES = (".csv", ".jsonl")
DEEP = "nested deeper than 64 levels (the YAML loader's MAX_DEPTH)"


def sidecar_path(path: Path) -> Path:
    """`users.csv` -> `users.csv.yaml`, the optional file naming its model and key."""
    return path.with_name(path.name + ".yaml")


def _meta(source: str, text: str, where: str) -> Any:
    from app import yaml_loader

    try:
        return yaml_loader.load_text(text.strip() or "{}", source).data
    except yaml_loader.YamlError as exc:
        raise invalid(where, exc.message) from None


def _header(source: str, first_line: str, sidecar: tuple[str, str] | None) -> tuple[Any, list[str]]:
    """The model and key named by the sidecar (display, text) or the file's first line
    (`# {model: X, key: [a, b]}`)."""
    from app import yaml_loader
    from app.services.seed_guards import append_only_problem

    if sidecar is not None:
        where = f"{sidecar[0]}:1"
        if first_line.startswith("#"):
            raise invalid(
                f"{source}:1:1", f"the model is named by {sidecar[0]}; remove this header line"
            )
        meta = _meta(sidecar[0], sidecar[1], where)
        shape = f"{sidecar[0]} must give model and key: {{model: Item, key: name}}"
    else:
        where = f"{source}:1:1"
        if not first_line.startswith("#"):
            raise invalid(
                where,
                "the first line must name the model: # {model: Item, key: name} "
                f"(or a sidecar file {Path(source).name}.yaml)",
            )
        meta = _meta(source, first_line[1:], where)
        shape = "the first line must give model and key: # {model: Item, key: name}"
    if not isinstance(meta, dict) or set(meta) != {"model", "key"}:
        raise invalid(where, shape)
    model = table_models().get(str(meta["model"]))
    if model is None:
        raise invalid(where, f"no table model {yaml_loader.fragment(meta['model'])}")
    if problem := append_only_problem(model.__tablename__):
        raise invalid(where, problem)
    key = [meta["key"]] if isinstance(meta["key"], str) else meta["key"]
    if not key or not isinstance(key, list) or not set(key) <= set(model.__table__.c.keys()):
        raise invalid(where, f"key: expected column name(s) of {model.__tablename__}")
    return model, [str(k) for k in key]


def field_starts(line: str, delimiter: str = ",", quote: str = '"') -> list[int]:
    """1-based character position where each field of one CSV line starts."""
    starts, quoted = [1], False
    for position, char in enumerate(line, 1):
        if char == quote:
            quoted = not quoted
        elif char == delimiter and not quoted:
            starts.append(position + 1)
    return starts


def _open_text(path: Path, source: str, expected: Any) -> Any:
    """The file as text. With `expected` (yaml_loader.Digested, from the pass that made the
    run's checksum), reading bytes other than those raises yaml_loader.FileChanged."""
    if expected is None:
        return path.open(encoding="utf-8-sig", newline="")
    import io

    from app import yaml_loader

    handle = yaml_loader.open_checked(path, source=source, expected=expected)
    return io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")


def _line_text(path: Path, line: int) -> str:
    """Line `line` (1-based) of the file, read again when a message needs it."""
    import itertools

    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        found = next(itertools.islice(handle, line - 1, None), "")
    return found.rstrip("\r\n")


class _FieldColumns:
    """column -> the 1-based character where its field starts, worked out only when a
    message needs it (the line is read again then: rows are not kept)."""

    def __init__(self, path: Path, line: int, names: list[str]) -> None:
        self.path, self.line, self.names = path, line, names

    def get(self, column: str | None, default: int = 1) -> int:
        if column not in self.names:
            return default
        starts = field_starts(_line_text(self.path, self.line))
        index = self.names.index(column)
        return starts[index] if index < len(starts) else default


def _too_deep(value: Any) -> bool:
    """Nested deeper than the YAML loader allows (MAX_DEPTH), walked without recursion."""
    from app.yaml_loader import MAX_DEPTH

    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            if depth > MAX_DEPTH:
                return True
            items = current.values() if isinstance(current, dict) else current
            stack.extend((item, depth + 1) for item in items)
    return False


def _json_cell(text: str, where: Any, *, array: bool = False) -> Any:
    try:
        value = json.loads(text, parse_float=json_number)  # a double's rounding is refused
    except json.JSONDecodeError as exc:
        if array:
            # PostgreSQL's array text ({1,2}, {"a b",c}, NULL) is not read: its quoting and
            # NULL rules differ from JSON's, and a guess would store another value
            from app.services.seed_value_shapes import shown

            message = f"expected a JSON list such as [1, 2], not {shown(text)}"
            raise invalid(where(), message) from None
        raise invalid(where(), f"expected JSON text: {exc.msg}") from None
    except RecursionError:
        raise invalid(where(), DEEP) from None
    if _too_deep(value):
        raise invalid(where(), DEEP)
    return value


# A row's line is read whole before it is parsed: bound it, so that a file with no line
# breaks (a binary file, a JSON array on one line) cannot fill memory. 1 MiB of text is far
# beyond any row of the tables seeded here (a CSV field is capped at 128 KiB by Python's csv).
MAX_LINE_CHARS = 1_048_576


def _bounded_lines(handle: Any, source: str, keep: list[str] | None = None) -> Iterator[str]:
    """The lines of `handle`, each at most MAX_LINE_CHARS long; a longer one is a 422
    naming its line. With `keep`, a line holding a quote is added to it, and so is each line
    after it until the caller clears it (a CSV record spans lines only inside quotes)."""
    number = 1
    while True:
        raw = handle.readline(MAX_LINE_CHARS + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_CHARS:
            raise invalid(f"{source}:{number}", f"line longer than {MAX_LINE_CHARS:,} characters")
        if keep is not None and (keep or '"' in raw):
            keep.append(raw)
        yield raw
        number += 1


@dataclass
class CsvHeader:
    """What a CSV file's header row names: per field, its column and the referenced
    column of a foreign key by natural key (`owner_id.email`), and whether its cells are
    JSON text."""

    targets: list[tuple[str, str | None]]
    is_json: list[str]  # per field: "array", "json" (cells are JSON text) or ""

    @property
    def names(self) -> list[str]:
        return [column for column, _ in self.targets]

    @property
    def plain(self) -> bool:
        """No JSON cells, no foreign keys by natural key: every cell is a string or NULL."""
        return not any(self.is_json) and all(r is None for _, r in self.targets)


def _csv_header(source: str, path: Path, model: Any, header: list[str], line: int) -> CsvHeader:
    """Each header name must be a column of the model (`column.other`: a column of the table
    its foreign key references), and name it once: the row is as wide as the table."""
    columns = model.__table__.c
    targets: list[tuple[str, str | None]] = []
    plain: dict[str, int] = {}  # column -> its field
    parts: dict[str, int] = {}  # column and column.other -> the first field naming them

    def where(index: int) -> str:
        starts = field_starts(_line_text(path, line))
        return f"{source}:{line}:{starts[min(index, len(starts) - 1)]}"

    for index, name in enumerate(header):
        column, _, referenced = name.strip().partition(".")
        if column not in columns or (referenced and not columns[column].foreign_keys):
            near = [c.key for c in columns if c.key.lower() == column.lower()]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise invalid(
                where(index), f"{model.__tablename__} has no such column {name[:64]!r}{hint}"
            )
        if referenced:
            table = next(iter(columns[column].foreign_keys)).column.table
            if referenced not in table.c:
                raise invalid(where(index), f"{table.name} has no column {referenced[:64]!r}")
        # a name twice, or `owner_id` with `owner_id.email`: one cell would silently win
        # (`owner_id.a` with `owner_id.b` is a natural key of two columns)
        stripped = name.strip()
        earlier = plain.get(column, parts.get(stripped) if referenced else parts.get(column))
        if earlier is not None:
            raise invalid(
                where(index), f"column {stripped[:64]!r} given twice (first at {where(earlier)})"
            )
        if referenced:
            parts.setdefault(column, index)
            parts[stripped] = index
        else:
            plain[column] = index
        targets.append((column, referenced or None))
    kinds = [_cell_kind(columns[c].type) for c, _ in targets]
    return CsvHeader(targets, kinds)


def _cell_kind(kind: Any) -> str:
    """'array' or 'json' for a column whose CSV cells are JSON text, else ''."""
    from sqlalchemy import JSON
    from sqlalchemy.types import ARRAY

    return "array" if isinstance(kind, ARRAY) else "json" if isinstance(kind, JSON) else ""


def csv_records(
    source: str, path: Path, model: Any, skip: int, expected: Any = None
) -> Iterator[Any]:
    """The file's CsvHeader (None for a file with no header row), then each non-blank
    record as (line, index, fields): one list of strings per record, no Row built (the
    bulk path converts plain files from these, seed_convert). The CSV is read strictly
    (app/services/seed_csv.py): a quote out of place is a 422 naming the field it breaks."""
    with _open_text(path, source, expected) as handle:
        quoted: list[str] = []  # the lines of the record being read, if it holds a quote
        lines = _bounded_lines(handle, source, quoted)
        try:
            for _ in range(skip):
                next(lines, None)
        except UnicodeDecodeError:
            raise not_utf8(source, path, 1) from None
        quoted.clear()
        reader = csv.reader(lines, strict=True)
        faults = CsvFaults(source, path, quoted)
        well_formed = well_formed_record
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise faults.error(exc, skip + 1, None, []) from None
        if quoted:
            faults.check(skip + 1, None, [])
        if header is None:
            yield None
            return
        found = _csv_header(source, path, model, header, skip + reader.line_num)
        yield found
        names, width = found.names, len(found.targets)
        index = 0
        while True:
            line = skip + reader.line_num + 1
            try:
                record = next(reader, None)
            except (csv.Error, UnicodeDecodeError) as exc:
                raise faults.error(exc, line, index, names) from None
            if quoted:  # checked only when the record holds a quote: the rest is strict
                if len(quoted) == 1 and well_formed(quoted[0]):  # inline: the common case
                    quoted.clear()
                else:
                    faults.check(line, index, names)
            if record is None:
                return
            if not record:
                continue
            if len(record) != width:
                raise invalid(
                    f"{source}:{line}:1: rows[{index}]",
                    f"{len(record)} fields; the header has {width}",
                )
            yield line, index, record
            index += 1


def csv_row(
    source: str, path: Path, header: CsvHeader, line: int, index: int, record: list[str]
) -> Row:
    """One record of csv_records as a Row (cells as YAML would give them)."""
    row = Row(source, "rows", index, line, {}, {})
    row.field_columns = _FieldColumns(path, line, header.names)  # type: ignore[assignment]
    if header.plain:  # no JSON cells, no foreign keys by natural key: cells as they are
        row.data = {c: (v if v != "" else None) for c, v in zip(header.names, record)}  # noqa: B905
        return row
    data = row.data
    for (column, referenced), value, json_text in zip(
        header.targets, record, header.is_json, strict=True
    ):
        if referenced is None:
            if value == "":
                data[column] = None
            elif json_text:
                data[column] = _json_cell(
                    value, lambda c=column, r=row: r.where(c), array=json_text == "array"
                )
            else:
                data[column] = value
        elif value != "":
            found = data.setdefault(column, {})
            if isinstance(found, dict):
                found[referenced] = value
        else:
            data.setdefault(column, None)
    return row


def csv_rows(source: str, path: Path, model: Any, skip: int, expected: Any = None) -> Iterator[Row]:
    """The rows after `skip` header lines and the column header row, one at a time."""
    records = csv_records(source, path, model, skip, expected)
    header = next(records)
    if header is None:
        return
    for line, index, record in records:
        yield csv_row(source, path, header, line, index, record)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for k, v in pairs:
        if k in found:
            raise ValueError(f"duplicate key {k[:40]!r}")
        found[k] = v
    return found


def jsonl_rows(source: str, path: Path, skip: int, expected: Any = None) -> Iterator[Row]:
    """One JSON object per line after `skip` header lines; blank lines are skipped."""
    index = 0
    with _open_text(path, source, expected) as handle:
        line = 0
        lines = _bounded_lines(handle, source)
        while True:
            try:
                raw = next(lines, "")
            except UnicodeDecodeError:
                raise not_utf8(source, path, line + 1) from None
            if not raw:
                return
            line += 1
            if line <= skip or not raw.strip():
                continue
            raw = raw.rstrip("\r\n")
            label = f"rows[{index}]"
            try:
                data = json.loads(raw, object_pairs_hook=_no_duplicates, parse_float=json_number)
            except json.JSONDecodeError as exc:
                raise invalid(
                    f"{source}:{line}:{exc.colno}: {label}", f"invalid JSON: {exc.msg}"
                ) from None
            except RecursionError:
                raise invalid(f"{source}:{line}:1: {label}", DEEP) from None
            except ValueError as exc:  # a duplicate key
                raise invalid(f"{source}:{line}:1: {label}", str(exc)) from None
            if not isinstance(data, dict):
                raise invalid(f"{source}:{line}:1: {label}", "expected a JSON object")
            if _too_deep(data):
                raise invalid(f"{source}:{line}:1: {label}", DEEP)
            field_columns = {k: max(raw.find(json.dumps(k)), 0) + 1 for k in data}
            yield Row(source, "rows", index, line, {}, data, field_columns=field_columns)
            index += 1


@dataclass
class TableFile:
    """A CSV / JSON Lines file's model, key and where its rows start; `rows()` reads them."""

    source: str
    path: Path
    model: Any
    key: list[str]
    skip: int  # header lines before the data (1 with a `#` line, 0 with a sidecar)
    jsonl: bool
    expected: Any = None  # yaml_loader.Digested: every read must find the bytes hashed

    def rows(self) -> Iterator[Row]:
        """Each row as read (its values are checked by whoever applies it: check_model_row
        or seed_rows.converted_row, a 422 naming file:line:column)."""
        if self.jsonl:
            return jsonl_rows(self.source, self.path, self.skip, self.expected)
        return csv_rows(self.source, self.path, self.model, self.skip, self.expected)

    def records(self) -> Iterator[Any]:
        """A CSV file's header, then its raw records (csv_records; not for JSON Lines)."""
        return csv_records(self.source, self.path, self.model, self.skip, self.expected)

    def checked_rows(self) -> list[Row]:
        from app.services.seed_rows import check_model_row

        columns = set(self.model.__table__.columns.keys())
        rows = list(self.rows())
        for row in rows:
            check_model_row(row, self.model, self.key, columns)
        return rows


def table_file(
    source: str,
    path: Path,
    *,
    jsonl: bool,
    sidecar: tuple[str, str] | None,
    expected: Any = None,
) -> TableFile | None:
    """The file's header (first line or sidecar); None for an empty file."""
    try:
        with _open_text(path, source, expected) as handle:
            first_line = next(_bounded_lines(handle, source), "")
            empty = not first_line.strip() and not any(chunk.strip() for chunk in _chunks(handle))
    except UnicodeDecodeError:
        raise not_utf8(source, path, 1) from None
    if empty and sidecar is None:
        return None
    model, key = _header(source, first_line.rstrip("\r\n"), sidecar)
    return TableFile(source, path, model, key, 0 if sidecar is not None else 1, jsonl, expected)


def _chunks(handle: Any) -> Iterator[str]:
    while chunk := handle.read(1 << 16):
        yield chunk
