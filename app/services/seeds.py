"""Apply seed files: upsert by natural key, in foreign-key order, in the caller's transaction.

A run flushes and never commits; `dry_run` does the same work inside a SAVEPOINT and rolls
it back, so the plan it reports is exactly what a real run would do.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Role, SeedHistory, User, UserRole
from app.models._columns import utcnow
from app.schemas.seed import (
    ModelCounts,
    RowChange,
    SeedFileRef,
    SeedFileStatus,
    SeedRunResult,
)
from app.services import audit
from app.services.seed_files import LoadedSeeds, ModelSection, Row, SeedFile, UserRow, invalid

CHUNK = 500
DRY_RUN_HASH = "<dry run: not hashed>"


class _Tally:
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


def _table_order() -> dict[str, int]:
    from db.metadata import metadata

    return {table.name: index for index, table in enumerate(metadata.sorted_tables)}


async def run_seeds(
    db: AsyncSession, *, loaded: LoadedSeeds, dry_run: bool, actor: str
) -> SeedRunResult:
    """Upsert everything in `loaded`; record each file in seed_history (not on a dry run)."""
    tally = _Tally()
    savepoint = await db.begin_nested() if dry_run else None
    try:
        order = _table_order()
        steps: list[tuple[int, Any]] = []
        if loaded.roles:
            steps.append((order["role_permissions"], lambda: _seed_roles(db, loaded, tally, actor)))
        if loaded.users:
            steps.append((order["user_roles"], lambda: _seed_users(db, loaded, tally, dry_run)))
        for section in loaded.models:
            steps.append(
                (order[section.model.__tablename__], _bind(_seed_model, db, section, tally))
            )
        # sorted() is stable: sections of one table keep their file order.
        for _, step in sorted(steps, key=lambda item: item[0]):
            await step()
        for module in loaded.modules:
            await _run_module(db, module)
        if not dry_run and loaded.files:
            await _record(db, loaded.files, actor=actor, tally=tally)
    finally:
        if savepoint is not None:
            await savepoint.rollback()
    return SeedRunResult(
        dry_run=dry_run,
        files=[
            SeedFileRef(seed_set=f.seed_set, file=f.name, checksum=f.checksum) for f in loaded.files
        ],
        models=list(tally.counts.values()),
        changes=tally.changes,
        warnings=loaded.warnings,
    )


def _bind(function: Any, *args: Any) -> Any:
    return lambda: function(*args)


async def _record(db: AsyncSession, files: list[SeedFile], *, actor: str, tally: _Tally) -> None:
    now = utcnow()
    db.add_all(
        SeedHistory(
            seed_set=f.seed_set, file=f.name, checksum=f.checksum, applied_at=now, actor=actor
        )
        for f in files
    )
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="seed.run",
        target=",".join(dict.fromkeys(f.seed_set for f in files))[:320],
        details={
            "files": [f.name for f in files],
            "models": {m.model: m.model_dump(exclude={"model"}) for m in tally.counts.values()},
        },
    )


async def _run_module(db: AsyncSession, module: SeedFile) -> None:
    """A `seeds/<set>/*.py` file: its `async def seed(db)` runs in this transaction."""
    spec = importlib.util.spec_from_file_location(
        f"seed_module_{module.checksum[:12]}", module.path
    )
    if spec is None or spec.loader is None:
        raise invalid(module.display, "cannot import this module")
    namespace = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(namespace)
    seed = getattr(namespace, "seed", None)
    if seed is None:
        raise invalid(module.display, "defines no `async def seed(db)`")
    await seed(db)
    await db.flush()


async def _seed_roles(db: AsyncSession, loaded: LoadedSeeds, tally: _Tally, actor: str) -> None:
    from app.schemas.role import RolesDocument
    from app.services import role_sync
    from app.services import roles as role_service

    # A field the file leaves out is left alone (e.g. permissions seeded as RolePermission rows).
    current = {role.name: role for role in await role_service.list_roles(db)}
    specs = []
    for row, spec in loaded.roles:
        existing = current.get(spec.name)
        if existing is not None:
            fields = [f for f in ("description", "permissions") if f not in row.data]
            spec = spec.model_copy(update={f: getattr(existing, f) for f in fields})
        specs.append(spec)
    document = RolesDocument(roles=specs)
    plan = await role_sync.plan_sync(db, document=document, prune=False)
    changed = {change.role: change for change in plan.changes}
    for spec in specs:
        change = changed.get(spec.name)
        if change is None:
            tally.unchanged("Role")
        elif change.op == "create":
            tally.created("Role", spec.name)
        else:
            fields = ["description"] * (change.description is not None) + ["permissions"] * bool(
                change.add_permissions or change.remove_permissions
            )
            tally.updated("Role", spec.name, fields)
    await role_sync.apply_sync(db, plan=plan, actor=actor)


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


async def _seed_users(db: AsyncSession, loaded: LoadedSeeds, tally: _Tally, dry_run: bool) -> None:
    from app.security import hash_password

    users = loaded.users
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


async def _seed_model(db: AsyncSession, section: ModelSection, tally: _Tally) -> None:
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


async def seed_status(db: AsyncSession, *, on_disk: list[SeedFile]) -> list[SeedFileStatus]:
    """Each seed file on disk or in the history: applied, changed since, new, or missing."""
    table = SeedHistory.__table__
    query = select(table.c.seed_set, table.c.file, table.c.checksum, table.c.applied_at).order_by(
        table.c.id
    )
    last: dict[str, Any] = {}
    for row in (await db.exec(query)).all():
        last[row.file] = row
    statuses = []
    for seed_file in on_disk:
        applied = last.pop(seed_file.name, None)
        if applied is None:
            state = "new"
        else:
            state = "applied" if applied.checksum == seed_file.checksum else "changed"
        statuses.append(
            SeedFileStatus(
                seed_set=seed_file.seed_set,
                file=seed_file.name,
                state=state,
                checksum=seed_file.checksum,
                applied_checksum=applied.checksum if applied else None,
                applied_at=applied.applied_at if applied else None,
            )
        )
    for row in last.values():
        statuses.append(
            SeedFileStatus(
                seed_set=row.seed_set,
                file=row.file,
                state="missing",
                checksum=None,
                applied_checksum=row.checksum,
                applied_at=row.applied_at,
            )
        )
    return statuses


__all__ = ["Row", "run_seeds", "seed_status"]
