"""Write tables out as a seed file that `seed run` loads back with zero changes.

`users` and `roles` become their own sections; any other table becomes a `models:` section
keyed by its first unique constraint (else its primary key), with foreign keys written by
the referenced row's natural key (`role_id: {name: admin}`). Secret columns (password
hashes, tokens) are left out unless asked for.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, DateTime, Interval, Table, Time, UniqueConstraint, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import AppException, ErrorCode
from app.services.seed_guards import append_only_problem
from app.services.seed_rows import table_models
from app.services.seed_values import plain_value

SECRET_MARKERS = ("password", "secret", "token")
HEADER = "# Written by `manage seed dump`; `manage seed run FILE` loads it back.\n"


def _secret(column: str) -> bool:
    return any(marker in column for marker in SECRET_MARKERS)


def natural_key(table: Table) -> list[str]:
    """The first unique constraint's columns, else the primary key's."""
    for constraint in sorted(table.constraints, key=lambda c: c.name or ""):
        if isinstance(constraint, UniqueConstraint):
            return [column.name for column in constraint.columns]
    for column in table.columns:
        if column.unique:
            return [column.name]
    return [column.name for column in table.primary_key.columns]


def _models_for(names: list[str]) -> list[Any]:
    from sqlalchemy.schema import sort_tables

    known = table_models()
    missing = [name for name in names if name not in known]
    if missing:
        raise AppException(404, f"no table or model {', '.join(missing)}", ErrorCode.SEED_NOT_FOUND)
    for name in names:
        if problem := append_only_problem(known[name].__tablename__):
            raise AppException(422, problem, ErrorCode.INVALID_SEED)
    chosen = {known[name].__tablename__: known[name] for name in names}
    tables = sort_tables([model.__table__ for model in chosen.values()])
    return [chosen[table.name] for table in tables]


async def dump_tables(
    db: AsyncSession, *, tables: list[str], include_secrets: bool = False
) -> dict[str, Any]:
    """The seed document for `tables` (table or model names), in foreign-key order."""
    document: dict[str, Any] = {}
    for model in _models_for(tables):
        name = model.__tablename__
        if name == "roles":
            document["roles"] = await _roles(db)
        elif name == "users":
            document["users"] = await _users(db, include_secrets=include_secrets)
        else:
            document.setdefault("models", []).append(
                await _model_section(db, model, include_secrets=include_secrets)
            )
    return {
        section: document[section]
        for section in ("roles", "users", "models")
        if section in document
    }


async def _roles(db: AsyncSession) -> list[dict[str, Any]]:
    from app.services.roles import list_roles

    return [
        {"name": r.name, "description": r.description, "permissions": r.permissions}
        for r in await list_roles(db)
    ]


async def _users(db: AsyncSession, *, include_secrets: bool) -> list[dict[str, Any]]:
    from app.models import Role, User, UserRole

    users, links = User.__table__, UserRole.__table__
    roles: dict[int, list[str]] = {}
    query = select(links.c.user_id, Role.__table__.c.name).join(
        Role.__table__, Role.__table__.c.id == links.c.role_id
    )
    for user_id, role in (await db.exec(query.order_by(Role.__table__.c.name))).all():
        roles.setdefault(user_id, []).append(role)
    rows = []
    for user in (await db.exec(select(users).order_by(users.c.email))).all():
        row: dict[str, Any] = {
            "email": user.email,
            "full_name": user.full_name,
            "is_active": user.is_active,
            "is_superuser": user.is_superuser,
            "roles": roles.get(user.id, []),
        }
        if include_secrets:
            row["password_hash"] = user.hashed_password
        rows.append(row)
    return rows


async def _reference_keys(db: AsyncSession, table: Table) -> dict[str, Any]:
    """For each foreign-key column: (natural key column, {referenced value: natural key})."""
    found: dict[str, Any] = {}
    for column in table.columns:
        for fk in column.foreign_keys:
            target = fk.column
            key = natural_key(target.table)
            if len(key) != 1 or key[0] == target.name:
                continue
            query = select(target, target.table.c[key[0]])
            found[column.name] = (key[0], dict((await db.exec(query)).all()), target.table)
    return found


async def _model_section(db: AsyncSession, model: Any, *, include_secrets: bool) -> dict[str, Any]:
    table: Table = model.__table__
    key = natural_key(table)
    references = await _reference_keys(db, table)
    skip = {
        c.name
        for c in table.columns
        if (c.primary_key and c.autoincrement is not False and c.name not in key)
        or (_secret(c.name) and not include_secrets)
    }
    dialect = (await db.connection()).dialect
    columns, flags = _readable_columns(table, postgres=dialect.name == "postgresql")
    query = select(*columns, *flags).order_by(*(table.c[k] for k in key))
    found = [dict(r) for r in (await db.exec(query)).mappings().all()]
    if dialect.name != "postgresql":
        found = [_converted(table, key, dialect, record) for record in found]
    records = _parents_first(table, found)
    rows = []
    for record in records:
        row = {}
        for column in table.columns:
            name, value = column.name, record[column.name]
            if name in skip:
                continue
            if record.get(FLAG + name):
                raise _unwritable(table, key, record, name, _unwritable_reason(column))
            if name in references and value is not None:
                ref_column, lookup, ref_table = references[name]
                row[name] = {ref_column: plain_value(ref_table.c[ref_column], lookup[value])}
                continue
            row[name] = plain_value(column, value)
            if (problem := _reload_problem(model, column, value, row[name])) is not None:
                raise _unwritable(table, key, record, name, problem)
        rows.append(row)
    return {"model": model.__name__, "key": key, "rows": rows}


FLAG = "__unwritable_"
# What PostgreSQL holds that the driver cannot hand over as it is (a `time` of 24:00:00
# fails asyncpg's decoder: exit 70), hands over as something else (an interval's months
# become 30 days; infinity becomes the calendar's last day) or a seed file cannot say.
UNWRITABLE = {
    Time: "24:00:00, which a seed file cannot hold (Python's time of day stops at 23:59:59)",
    Interval: "an interval with months or years, which a seed file cannot hold exactly"
    " (a month is not a fixed number of days)",
    Date: "infinity or -infinity, which a seed file cannot hold",
    DateTime: "infinity or -infinity, which a seed file cannot hold",
}


def _unwritable_reason(column: Any) -> str:
    return next(why for kind, why in UNWRITABLE.items() if isinstance(column.type, kind))


def _readable_columns(table: Table, *, postgres: bool) -> tuple[list[Any], list[Any]]:
    """The columns to select, and on PostgreSQL a flag per column whose stored value would
    not come back as itself: such a value is refused by name, never dumped changed."""
    from sqlalchemy import case, func, or_, type_coerce
    from sqlalchemy.types import NullType

    if not postgres:  # raw values, converted one by one (_converted)
        return [type_coerce(c, NullType()).label(c.name) for c in table.columns], []
    columns: list[Any] = []
    flags: list[Any] = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, Time):
            midnight = func.extract("hour", column) == 24
            columns.append(case((midnight, None), else_=column).label(column.name))
            flags.append(midnight.label(FLAG + column.name))
            continue
        columns.append(column)
        if isinstance(kind, Interval):
            months = or_(func.extract("month", column) != 0, func.extract("year", column) != 0)
            flags.append(months.label(FLAG + column.name))
        elif isinstance(kind, Date | DateTime):
            flags.append((~func.isfinite(column)).label(FLAG + column.name))
    return columns, flags


def _converted(
    table: Table, key: list[str], dialect: Any, record: dict[str, Any]
) -> dict[str, Any]:
    """A SQLite row's raw values as the column types read them, each on its own: SQLite
    holds any text in a Date or Time column (`24:00:00`), which SQLAlchemy's reader fails
    on (exit 70); such a value is refused naming its row and column."""
    converted = dict(record)
    for column in table.columns:
        process = column.type._cached_result_processor(dialect, None)
        value = record[column.name]
        if process is None or value is None:
            continue
        try:
            converted[column.name] = process(value)
        except (ValueError, TypeError, OverflowError) as exc:
            problem = f"{_shown(value)}, which is not a {column.type} value ({exc})"
            raise _unwritable(table, key, record, column.name, problem) from None
    return converted


def _reload_problem(model: Any, column: Any, stored: Any, written: Any) -> str | None:
    """Why `seed run` would refuse `written` or store something other than `stored`."""
    from app.services.seed_values import column_value, same

    try:
        loaded = column_value(model, column.name, written)
    except ValueError as exc:
        return f"{_shown(written)}, which seed run refuses ({exc})"
    if not same(column, stored, loaded):
        return f"{_shown(written)}, which seed run would store as {_shown(loaded)}"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain_or_raw(column: Any, value: Any) -> Any:
    try:
        return plain_value(column, value)
    except (ValueError, TypeError):
        return value


def _unwritable(
    table: Table, key: list[str], record: Any, column: str, problem: str
) -> AppException:
    where = ", ".join(f"{k}={_shown(_plain_or_raw(table.c[k], record[k]))}" for k in key)
    return AppException(
        422,
        f"cannot dump {table.name} row {where}: column {column} holds {problem}; "
        "change or leave out that row",
        ErrorCode.INVALID_SEED,
    )


def _parents_first(table: Table, records: list[Any]) -> list[Any]:
    """Rows of a table that references itself (a parent_id), each after the row it names,
    so `seed run` can resolve it; otherwise (and within a cycle) the given order."""
    links = [
        (column.name, fk.column.name)
        for column in table.columns
        for fk in column.foreign_keys
        if fk.column.table is table
    ]
    if not links:
        return records
    remaining, ordered = list(records), []
    emitted: dict[str, set[Any]] = {target: set() for _, target in links}
    while remaining:
        ready = [
            r
            for r in remaining
            if all(r[column] is None or r[column] in emitted[target] for column, target in links)
        ] or remaining[:1]
        ids = {id(r) for r in ready}
        remaining = [r for r in remaining if id(r) not in ids]
        for record in ready:
            ordered.append(record)
            for _, target in links:
                emitted[target].add(record[target])
    return ordered


def render_yaml(document: dict[str, Any]) -> str:
    from app.yaml_loader import dump_yaml

    return HEADER + dump_yaml(document)
