"""CSV and JSON Lines seed files: one model per file, the formats pipelines export.

The first line names the model and its natural key, as a YAML flow mapping after `#`:

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
position where the field starts, 1-based) and nothing is written: the rows become a
`models:` section and go through the same checks and upsert as YAML rows.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from app.services.seed_rows import ModelSection, Row, invalid, table_models

TABLE_SUFFIXES = (".csv", ".jsonl")
DEEP = "nested deeper than 64 levels (the YAML loader's MAX_DEPTH)"


def _header(source: str, first_line: str) -> tuple[Any, list[str]]:
    """The model and key the file's first line names (`# {model: X, key: [a, b]}`)."""
    from app import yaml_loader
    from app.services.seed_guards import append_only_problem

    where = f"{source}:1:1"
    if not first_line.startswith("#"):
        raise invalid(where, "the first line must name the model: # {model: Item, key: name}")
    try:
        meta = yaml_loader.load_text(first_line[1:].strip() or "{}", source).data
    except yaml_loader.YamlError as exc:
        raise invalid(where, exc.message) from None
    if not isinstance(meta, dict) or set(meta) != {"model", "key"}:
        raise invalid(where, "the first line must give model and key: # {model: Item, key: name}")
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


class _FieldColumns:
    """column -> the 1-based character where its field starts, worked out only when a
    message needs it (scanning every line up front costs more than parsing it)."""

    def __init__(self, raw: str, names: list[str]) -> None:
        self.raw, self.names = raw, names

    def get(self, column: str | None, default: int = 1) -> int:
        if column not in self.names:
            return default
        starts = field_starts(self.raw)
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


def _json_cell(text: str, where: Any) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid(where(), f"expected JSON text: {exc.msg}") from None
    except RecursionError:
        raise invalid(where(), DEEP) from None
    if _too_deep(value):
        raise invalid(where(), DEEP)
    return value


def csv_rows(source: str, text: str, model: Any) -> list[Row]:
    lines = text.splitlines()
    if len(lines) < 2:
        return []
    columns = model.__table__.c
    header = next(csv.reader([lines[1]]))
    starts = field_starts(lines[1])
    targets: list[tuple[str, str | None]] = []
    for index, name in enumerate(header):
        column, _, referenced = name.strip().partition(".")
        if column not in columns or (referenced and not columns[column].foreign_keys):
            where = f"{source}:2:{starts[min(index, len(starts) - 1)]}"
            raise invalid(where, f"{model.__tablename__} has no such column {name[:64]!r}")
        targets.append((column, referenced or None))
    from sqlalchemy import JSON
    from sqlalchemy.types import ARRAY

    is_json = [isinstance(columns[c].type, JSON | ARRAY) for c, _ in targets]
    names = [c for c, _ in targets]
    rows: list[Row] = []
    reader = csv.reader(io.StringIO("\n".join(lines[2:]) + "\n"))
    previous_end = 2
    for record in reader:
        line = previous_end + 1
        previous_end = reader.line_num + 2
        if not record:
            continue
        raw = lines[line - 1] if line - 1 < len(lines) else ""
        row = Row(source, "rows", len(rows), line, {}, {})
        row.field_columns = _FieldColumns(raw, names)  # type: ignore[assignment]
        if len(record) != len(targets):
            raise invalid(row.where(), f"{len(record)} fields; the header has {len(targets)}")
        data = row.data
        for (column, referenced), value, json_text in zip(targets, record, is_json, strict=True):
            if referenced is None:
                if value == "":
                    data[column] = None
                elif json_text:
                    data[column] = _json_cell(value, lambda c=column, r=row: r.where(c))
                else:
                    data[column] = value
            elif value != "":
                found = data.setdefault(column, {})
                if isinstance(found, dict):
                    found[referenced] = value
            else:
                data.setdefault(column, None)
        rows.append(row)
    return rows


def jsonl_rows(source: str, text: str) -> list[Row]:
    rows: list[Row] = []

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for k, v in pairs:
            if k in found:
                raise ValueError(f"duplicate key {k[:40]!r}")
            found[k] = v
        return found

    for line, raw in enumerate(text.splitlines()[1:], 2):
        if not raw.strip():
            continue
        label = f"rows[{len(rows)}]"
        try:
            data = json.loads(raw, object_pairs_hook=no_duplicates)
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
        rows.append(Row(source, "rows", len(rows), line, {}, data, field_columns=field_columns))
    return rows


def table_section(source: str, text: str, *, jsonl: bool) -> ModelSection | None:
    """The file's rows as a `models:` section, each checked against its column (422 if not)."""
    from app.services.seed_rows import check_model_row

    text = text.removeprefix("\ufeff")  # spreadsheet exports start with a byte-order mark
    if not text.strip():
        return None
    first_line = text.splitlines()[0]
    model, key = _header(source, first_line)
    rows = jsonl_rows(source, text) if jsonl else csv_rows(source, text, model)
    columns = set(model.__table__.columns.keys())
    for row in rows:
        check_model_row(row, model, key, columns)
    return ModelSection(model=model, key=key, rows=rows)
