"""Write tables out as a seed file that `seed run` loads back with zero changes.

`users` and `roles` become their own sections; any other table becomes a `models:` section
keyed by its first unique constraint (else its primary key), with foreign keys written by
the referenced row's natural key (`role_id: {name: admin}`). Secret columns (password
hashes, tokens) are left out unless asked for.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, UniqueConstraint, select
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
    rows = []
    query = select(table).order_by(*(table.c[k] for k in key))
    records = _parents_first(table, list((await db.exec(query)).mappings().all()))
    for record in records:
        row = {}
        for column, value in record.items():
            if column in skip:
                continue
            if column in references and value is not None:
                ref_column, lookup, ref_table = references[column]
                row[column] = {ref_column: plain_value(ref_table.c[ref_column], lookup[value])}
                continue
            row[column] = plain_value(table.c[column], value)
        rows.append(row)
    return {"model": model.__name__, "key": key, "rows": rows}


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
