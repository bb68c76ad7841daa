"""Lock risk by table size: how many rows the tables of lock findings hold (PostgreSQL).

The estimate is `pg_class.reltuples` (kept by ANALYZE and autovacuum; -1 on a table never
analyzed: no figure), the size `pg_relation_size`. A lock warning on a table of at least
`large_table_rows` rows becomes an error. Tables that do not exist yet have no figure.
"""

from __future__ import annotations

from typing import Any

from db.review.findings import LOCK_RULES, Finding

QUERY = (
    "SELECT c.reltuples, pg_relation_size(c.oid) FROM pg_class c "
    "WHERE c.oid = to_regclass(quote_ident(:name))"
)


def sized(item: Finding) -> bool:
    """Lock rules and squawk findings (on the op's table) are ranked by table size."""
    return item.rule in LOCK_RULES or item.rule.startswith("squawk:")


def candidates(findings: list[Finding]) -> set[str]:
    return {f.table for f in findings if sized(f) and f.table}


async def lookup(connection: Any, tables: set[str]) -> dict[str, tuple[int, int]]:
    """table -> (estimated rows, bytes), for the tables that exist and have an estimate."""
    from sqlalchemy import text

    sizes: dict[str, tuple[int, int]] = {}
    for name in sorted(tables):
        row = (await connection.execute(text(QUERY), {"name": name})).first()
        if row is not None and row[0] is not None and row[0] >= 0:
            sizes[name] = (round(row[0]), int(row[1] or 0))
    return sizes


def annotate(findings: list[Finding], sizes: dict[str, tuple[int, int]], threshold: int) -> None:
    """Attach table_rows / table_bytes; a lock warning on a large table becomes an error."""
    for item in findings:
        if not sized(item) or item.table not in sizes:
            continue
        item.table_rows, item.table_bytes = sizes[str(item.table)]
        if item.severity == "warning" and item.table_rows >= threshold:
            item.severity = "error"
            item.why = (
                f"{item.why}; {item.table} holds ~{human_rows(item.table_rows)} rows, at least "
                f"large_table_rows ({threshold:,}): an error"
            )


def human_rows(rows: int) -> str:
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if rows >= size:
            return f"{rows / size:.1f}".rstrip("0").rstrip(".") + suffix
    return str(rows)


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def describe(item: Finding) -> str | None:
    """`users: ~1.2M rows, 88.0 MB` for the human output."""
    if item.table_rows is None:
        return None
    size = f", {human_bytes(item.table_bytes)}" if item.table_bytes is not None else ""
    return f"{item.table}: ~{human_rows(item.table_rows)} rows{size}"
