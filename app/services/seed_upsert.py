"""Upsert rows by natural key for `seed run`: users (roles by name) and any table model.

Existing rows are read in chunks and compared column by column; only what differs is
written (Core statements, executemany for new rows). Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Role, User, UserRole
from app.models._columns import utcnow
from app.models.user import new_security_stamp
from app.schemas.seed import ModelCounts, RowChange
from app.services.seed_rows import ModelSection, UserRow, invalid

CHUNK = 500


DRY_RUN_HASH = "<dry run: not hashed>"


class Tally:
    def __init__(self) -> None:
        self.counts: dict[str, ModelCounts] = {}
        self.changes: list[RowChange] = []

    def count(self, model: str) -> ModelCounts:
        return self.counts.setdefault(model, ModelCounts(model=model))

    def created(self, model: str, key: str) -> None:
        self.count(model).created += 1
        self.changes.append(RowChange(op="create", model=model, key=key))

    def updated(self, model: str, key: str, fields: Iterable[str]) -> None:
        self.count(model).updated += 1
        self.changes.append(RowChange(op="update", model=model, key=key, fields=sorted(fields)))

    def unchanged(self, model: str, n: int = 1) -> None:
        self.count(model).unchanged += n


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(current, datetime) and isinstance(wanted, datetime):
        # SQLite returns naive UTC timestamps.
        current = current if current.tzinfo else current.replace(tzinfo=UTC)
        wanted = wanted if wanted.tzinfo else wanted.replace(tzinfo=UTC)
    return current == wanted


async def _role_ids(db: AsyncSession, users: list[UserRow]) -> dict[str, int]:
    names = sorted({name for user in users for name in user.seed.roles or []})
    if not names:
        return {}
    query = select(Role.id, Role.name).where(Role.name.in_(names))  # type: ignore[attr-defined]
    found = {name: role_id for role_id, name in (await db.exec(query)).all()}
    for user in users:
        for name in user.seed.roles or []:
            if name not in found:
                raise invalid(user.row.where("roles"), f"no role {name!r} (seed it under roles:)")
    return found


async def seed_users(db: AsyncSession, users: list[UserRow], tally: Tally, dry_run: bool) -> None:
    from app.security import hash_password

    role_ids = await _role_ids(db, users)
    existing: dict[str, Any] = {}
    for chunk in _chunks([u.seed.email for u in users]):
        query = select(User.__table__).where(User.__table__.c.email.in_(chunk))
        existing.update({row.email: row for row in (await db.exec(query)).all()})
    held: dict[int, set[int]] = {}
    ids = [row.id for row in existing.values()]
    for chunk in _chunks(ids):
        query = select(UserRole.user_id, UserRole.role_id).where(UserRole.user_id.in_(chunk))  # type: ignore[attr-defined]
        for user_id, role_id in (await db.exec(query)).all():
            held.setdefault(user_id, set()).add(role_id)

    hashes: dict[str, str] = {}  # each distinct password is hashed once per run

    def hashed(user: UserRow) -> str:
        if user.password_hash is not None:
            return user.password_hash
        if user.password is None:
            raise invalid(
                user.row.where(),
                "a new user needs password_env, password_file, password_hash or password",
            )
        if dry_run:
            return DRY_RUN_HASH
        plain = user.password.get_secret_value()
        if plain not in hashes:
            hashes[plain] = hash_password(plain)
        return hashes[plain]

    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    role_links: list[tuple[str, set[int]]] = []
    for user in users:
        seed = user.seed
        wanted_roles = {role_ids[n] for n in seed.roles} if seed.roles is not None else None
        current = existing.get(seed.email)
        if current is None:
            new_rows.append(
                {
                    "email": seed.email,
                    "full_name": seed.full_name,
                    "hashed_password": hashed(user),
                    "is_active": seed.is_active,
                    "is_superuser": seed.is_superuser,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            tally.created("User", seed.email)
            if wanted_roles:
                role_links.append((seed.email, wanted_roles))
            continue
        values = {
            name: getattr(seed, name)
            for name in ("full_name", "is_active", "is_superuser")
            if name in user.given and getattr(current, name) != getattr(seed, name)
        }
        if user.password_hash is not None and current.hashed_password != user.password_hash:
            values["hashed_password"] = user.password_hash
        fields = [("password" if k == "hashed_password" else k) for k in values]
        have = held.get(current.id, set())
        if wanted_roles is not None and wanted_roles != have:
            fields.append("roles")
            await _set_roles(db, current.id, have=have, want=wanted_roles)
        if values.keys() & {"hashed_password", "is_active", "is_superuser"} or "roles" in fields:
            values["security_stamp"] = new_security_stamp()  # ends the user's API tokens
        if values:
            values["updated_at"] = now
            await db.exec(
                update(User.__table__).where(User.__table__.c.id == current.id).values(**values)
            )
        if fields:
            tally.updated("User", seed.email, fields)
        else:
            tally.unchanged("User")
    for chunk in _chunks(new_rows):
        await db.exec(insert(User.__table__), params=list(chunk))
    if role_links:
        emails = [email for email, _ in role_links]
        new_ids: dict[str, int] = {}
        for chunk in _chunks(emails):
            query = select(User.__table__.c.email, User.__table__.c.id).where(
                User.__table__.c.email.in_(chunk)
            )
            new_ids.update(dict((await db.exec(query)).all()))
        links = [
            {"user_id": new_ids[e], "role_id": r} for e, roles in role_links for r in sorted(roles)
        ]
        for chunk in _chunks(links):
            await db.exec(insert(UserRole.__table__), params=list(chunk))


async def _set_roles(db: AsyncSession, user_id: int, *, have: set[int], want: set[int]) -> None:
    table = UserRole.__table__
    if have - want:
        await db.exec(
            delete(table).where(
                table.c.user_id == user_id, table.c.role_id.in_(sorted(have - want))
            )
        )
    if want - have:
        await db.exec(
            insert(table), params=[{"user_id": user_id, "role_id": r} for r in sorted(want - have)]
        )


async def _resolve_references(db: AsyncSession, section: ModelSection) -> list[dict[str, Any]]:
    """Each row's values, with `{name: admin}` foreign keys replaced by the referenced key."""
    table = section.model.__table__
    cache: dict[tuple[str, tuple], Any] = {}
    resolved = []
    for row in section.rows:
        values = dict(row.data)
        for column, value in row.data.items():
            if not isinstance(value, dict) or not table.c[column].foreign_keys:
                continue  # a plain value, or a JSON column's mapping
            fk = next(iter(table.c[column].foreign_keys))
            target = fk.column
            ref = target.table
            lookup = (column, tuple(sorted((str(k), str(v)) for k, v in value.items())))
            if lookup not in cache:
                unknown = [k for k in value if k not in ref.c]
                if unknown:
                    raise invalid(row.where(column), f"{ref.name} has no column {unknown[0]}")
                query = select(target).where(and_(*(ref.c[k] == v for k, v in value.items())))
                found = (await db.exec(query)).scalars().all()
                if len(found) != 1:
                    what = ", ".join(f"{k}={v!r}" for k, v in value.items())
                    problem = "no" if not found else "more than one"
                    raise invalid(row.where(column), f"{problem} {ref.name} row with {what}")
                cache[lookup] = found[0]
            values[column] = cache[lookup]
        # The model's own schema turns YAML values into column values (dates, enums, ...).
        instance = section.model.model_validate(values)
        resolved.append(
            {
                c: getattr(instance, c)
                for c in (column.name for column in table.columns)
                if c in values or _has_default(instance, c)
            }
        )
    return resolved


def _has_default(instance: Any, column: str) -> bool:
    return getattr(instance, column, None) is not None


def _key_text(section: ModelSection, values: dict[str, Any]) -> str:
    return ",".join(f"{k}={values[k]}" for k in section.key)


async def seed_model(db: AsyncSession, section: ModelSection, tally: Tally) -> None:
    table = section.model.__table__
    name = section.model.__name__
    rows = await _resolve_references(db, section)
    keys = [tuple(values[k] for k in section.key) for values in rows]
    existing: dict[tuple, Any] = {}
    for chunk in _chunks(list(dict.fromkeys(keys))):
        if len(section.key) == 1:
            condition = table.c[section.key[0]].in_([k[0] for k in chunk])
        else:
            condition = or_(
                *(
                    and_(*(table.c[c] == v for c, v in zip(section.key, k, strict=True)))
                    for k in chunk
                )
            )
        for found in (await db.exec(select(table).where(condition))).all():
            existing[tuple(getattr(found, c) for c in section.key)] = found
    new_rows = []
    for row, values, key in zip(section.rows, rows, keys, strict=True):
        current = existing.get(key)
        if current is None:
            new_rows.append(values)
            existing[key] = values  # a repeated key later in the section updates this row
            tally.created(name, _key_text(section, values))
            continue
        changed = {
            c: values[c]
            for c in row.data
            if c not in section.key and not _same(_get(current, c), values[c])
        }
        if changed:
            condition = and_(*(table.c[c] == v for c, v in zip(section.key, key, strict=True)))
            await db.exec(update(table).where(condition).values(**changed))
            tally.updated(name, _key_text(section, values), changed)
        else:
            tally.unchanged(name)
    for chunk in _chunks(new_rows):
        await db.exec(insert(table), params=list(chunk))
    await _advance_sequence(db, table, new_rows)


async def _advance_sequence(db: AsyncSession, table: Any, new_rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: rows inserted with explicit serial ids leave the sequence behind; catch up."""
    connection = await db.connection()
    serial = table.autoincrement_column
    if connection.dialect.name != "postgresql" or serial is None:
        return
    if not any(row.get(serial.name) is not None for row in new_rows):
        return
    await db.exec(
        text(
            "SELECT setval(pg_get_serial_sequence(:table, :column), "
            f'(SELECT max("{serial.name}") FROM "{table.name}"))'
        ),
        params={"table": table.name, "column": serial.name},
    )


def _get(current: Any, column: str) -> Any:
    return current[column] if isinstance(current, dict) else getattr(current, column)
