"""Apply seed files: upsert by natural key, in foreign-key order, in the caller's transaction.

A run flushes and never commits; `dry_run` does the same work inside a SAVEPOINT and rolls
it back, so the plan it reports is exactly what a real run would do.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import SeedHistory
from app.models._columns import utcnow
from app.schemas.seed import SeedFileRef, SeedFileStatus, SeedRunResult
from app.services import audit, seed_guards
from app.services.convergence import serialize_declarative_writes
from app.services.seed_audit import model_auditor
from app.services.seed_bulk import BULK_ROWS, Staged, bulk_kind, seed_read_section, seed_stream
from app.services.seed_files import LoadedSeeds, SeedFile
from app.services.seed_models import seed_model
from app.services.seed_rows import invalid
from app.services.seed_stream import seed_yaml_stream
from app.services.seed_upsert import Tally, seed_users


@dataclass
class _Step:
    writes: set[str]  # the tables this step writes
    run: Any  # () -> awaitable


def _references(steps_tables: set[str], models: dict[str, Any]) -> set[str]:
    """The tables that rows of `steps_tables` point at (foreign keys), themselves excluded."""
    return {
        fk.column.table.name
        for name in steps_tables
        if name in models
        for fk in models[name].__table__.foreign_keys
    } - steps_tables


def _in_dependency_order(steps: list[_Step]) -> list[_Step]:
    """Each step after every step writing a table it references (and after earlier steps on
    the same table, so a later section of a table updates an earlier one); otherwise in the
    order given. A cycle keeps the given order for the steps caught in it."""
    from app.services.seed_rows import table_models

    models = table_models()
    needs = [_references(step.writes, models) for step in steps]
    done: list[bool] = [False] * len(steps)
    ordered: list[_Step] = []
    while len(ordered) < len(steps):
        for index, step in enumerate(steps):
            if done[index]:
                continue
            blocked = any(
                not done[other]
                and other != index
                and bool(
                    steps[other].writes & needs[index]
                    or (other < index and steps[other].writes & step.writes)
                )
                for other in range(len(steps))
            )
            if not blocked:
                break
        else:  # a cycle: take the first remaining step
            index = done.index(False)
        done[index] = True
        ordered.append(steps[index])
    return ordered


async def run_seeds(
    db: AsyncSession, *, loaded: LoadedSeeds, dry_run: bool, actor: str
) -> SeedRunResult:
    """Upsert everything in `loaded`; record each file in seed_history (not on a dry run)."""
    tally = Tally()
    savepoint = await db.begin_nested() if dry_run else None
    try:
        if not dry_run:
            await serialize_declarative_writes(db)
        guarded = seed_guards.touches_users(loaded)
        superusers = await seed_guards.active_superusers(db, lock=True) if guarded else []
        steps: list[_Step] = []
        if loaded.roles:
            steps.append(
                _Step({"roles", "role_permissions"}, lambda: _seed_roles(db, loaded, tally, actor))
            )
        if loaded.users:
            steps.append(
                _Step(
                    {"users", "user_roles"},
                    lambda: seed_users(db, loaded.users, tally, dry_run, actor=actor),
                )
            )
        staged = Staged(loaded)
        for section in loaded.models:
            if section.stream is not None:  # CSV / JSON Lines: read now, row by row
                run = _bind(_seed_stream, db, section, tally, actor, loaded.declared, staged)
            elif len(section.rows) > BULK_ROWS and bulk_kind(section.model):
                run = _bind(_seed_read, db, section, tally, actor, staged)
            else:
                run = _bind(seed_model, db, section, tally, model_auditor(db, section, actor))
            steps.append(_Step({section.model.__tablename__}, run))
        for step in _in_dependency_order(steps):
            await step.run()
        for seed_file in loaded.streams:  # large YAML files: after the others, in order
            await seed_yaml_stream(
                db, seed_file, tally, actor=actor, declared=loaded.declared, staged=staged
            )
        await staged.drop(db)
        for module in loaded.modules:
            await _run_module(db, module)
        if guarded:
            await seed_guards.keep_an_active_superuser(db, loaded=loaded, before=superusers)
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


async def _seed_stream(
    db: AsyncSession, section: Any, tally: Tally, actor: str, declared: Any, staged: Staged
) -> None:
    await seed_stream(db, section, tally, actor=actor, declared=declared, staged=staged)


async def _seed_read(
    db: AsyncSession, section: Any, tally: Tally, actor: str, staged: Staged
) -> None:
    await seed_read_section(db, section, tally, actor=actor, staged=staged)


def _bind(function: Any, *args: Any) -> Any:
    return lambda: function(*args)


async def _record(db: AsyncSession, files: list[SeedFile], *, actor: str, tally: Tally) -> None:
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


async def _seed_roles(db: AsyncSession, loaded: LoadedSeeds, tally: Tally, actor: str) -> None:
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
