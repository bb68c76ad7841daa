"""Column types by meaning, read from their source text: `sqlmodel.sql.sqltypes.AutoString(
length=255)`, `sa.String(255)` and `sa.VARCHAR(length=255)` are all `varchar(255)`.

Also which type changes PostgreSQL makes without rewriting or scanning the table (its ALTER
TABLE documentation, "SET DATA TYPE": raising a varchar limit, varchar to text, and a type
changed to itself).
"""

from __future__ import annotations

import ast
import re

_PREFIXES = re.compile(r"\b(sa|sqlalchemy|sqlmodel\.sql\.sqltypes|postgresql|types|mysql)\.")

# SQLAlchemy and dialect type names -> the PostgreSQL type they create
_FAMILY = {
    "autostring": "varchar",
    "string": "varchar",
    "unicode": "varchar",
    "varchar": "varchar",
    "nvarchar": "varchar",
    "text": "text",
    "unicodetext": "text",
    "mediumtext": "text",  # TEXT on PostgreSQL (MEDIUMTEXT on MySQL)
    "longtext": "text",
    "tinytext": "text",
    "integer": "integer",
    "int": "integer",
    "smallinteger": "smallint",
    "smallint": "smallint",
    "biginteger": "bigint",
    "bigint": "bigint",
    "boolean": "boolean",
    "bool": "boolean",
    "datetime": "timestamp",
    "timestamp": "timestamp",
    "date": "date",
    "float": "float",
    "numeric": "numeric",
    "json": "json",
    "jsonb": "jsonb",
    "uuid": "uuid",
    "uuidtype": "uuid",
    "largebinary": "bytea",
    "bytea": "bytea",
}


def type_text(node: ast.expr | None) -> str | None:
    """The type as written, without module prefixes: `String(255)`."""
    if node is None:
        return None
    text = _PREFIXES.sub("", ast.unparse(node)).replace("length=", "")
    return text[:-2] if text.endswith("()") else text


def _name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _length(node: ast.expr) -> int | None:
    if not isinstance(node, ast.Call):
        return None
    value = node.args[0] if node.args else None
    for keyword in node.keywords:
        if keyword.arg == "length":
            value = keyword.value
    return value.value if isinstance(value, ast.Constant) and isinstance(value.value, int) else None


def type_key(node: ast.expr | None) -> str | None:
    """The type's meaning: `varchar(255)`, `text`, `integer`; the text when unknown."""
    if node is None:
        return None
    name = _name(node).lower()
    family = _FAMILY.get(name)
    if family is None:
        return type_text(node)
    length = _length(node) if family == "varchar" else None
    if family == "timestamp" and isinstance(node, ast.Call):
        tz = any(
            k.arg == "timezone" and isinstance(k.value, ast.Constant) and k.value.value
            for k in node.keywords
        ) or (bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value)
        return "timestamptz" if tz else "timestamp"
    return f"{family}({length})" if length is not None else family


def cheap_change(old: ast.expr | None, new: ast.expr | None) -> bool:
    """A type change PostgreSQL does without a rewrite or scan (needs the existing type)."""
    before, after = type_key(old), type_key(new)
    if before is None or after is None:
        return False
    if before == after:
        return True
    if after == "text" and (before == "text" or before.startswith("varchar")):
        return True
    if before.startswith("varchar(") and after.startswith("varchar"):
        if after == "varchar":  # the limit removed
            return True
        return _length(new) is not None and _length(new) >= (_length(old) or 0)  # type: ignore[arg-type]
    return False
