"""Apply seed files: upsert by natural key, in foreign-key order, in the caller's transaction.

A run flushes and never commits; `dry_run` does the same work inside a SAVEPOINT and rolls
it back, so the plan it reports is exactly what a real run would do.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app import yaml_loader
from app.schemas.seed import SeedFileRef, SeedRunResult
from app.services import seed_digests, seed_fingerprint, seed_guards, seed_history
from app.services.convergence import serialize_declarative_writes
from app.services.seed_audit import model_auditor
from app.services.seed_bulk import BULK_ROWS, Staged, bulk_kind, seed_read_section, seed_stream
from app.services.seed_files import LoadedSeeds, SeedFile, changed
from app.services.seed_models import seed_model
from app.services.seed_rows import invalid
from app.services.seed_stream import seed_yaml_stream
from app.services.seed_upsert import Tally, seed_users


@dataclass
class _Step:
    writes: set[str]  # the tables this step writes
    run: Any  # () -> awaitable
    section: Any = None  # the model section it applies (None: roles, users)


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
    db: AsyncSession, *, loaded: LoadedSeeds, dry_run: bool, actor: str, recheck: bool = False
) -> SeedRunResult:
    """Upsert everything in `loaded`; record each file in seed_history (not on a dry run).

    A run whose files and tables are as an earlier run left them reads no rows: every row is
    reported unchanged (app/services/seed_fingerprint.py); `recheck` reads them anyway."""
    try:
        return await _run(db, loaded=loaded, dry_run=dry_run, actor=actor, recheck=recheck)
    except yaml_loader.FileChanged as exc:
        raise changed(exc) from None
    except yaml_loader.YamlError as exc:  # a file the run reads again failed to read (EIO)
        raise invalid(exc.where, exc.message) from None


async def _run(
    db: AsyncSession, *, loaded: LoadedSeeds, dry_run: bool, actor: str, recheck: bool
) -> SeedRunResult:
    tally = Tally()
    savepoint = await db.begin_nested() if dry_run else None
    try:
        # The code as this run starts (not as it is after waiting for the lock, when a
        # deploy may have replaced it): what the next run compares with before it reads.
        code = None
        if seed_fingerprint.shape_allows(loaded) and await seed_digests.supported(db):
            code = seed_digests.code_digest()
        if not dry_run:
            await serialize_declarative_writes(db)
        unchanged = None
        if code is not None and not recheck:
            unchanged = await seed_fingerprint.unchanged_run(db, loaded, code)
        if unchanged is not None:
            await _as_before(db, unchanged, tally, dry_run=dry_run)
            fingerprints = unchanged.fingerprints
        else:
            watch = None
            if code is not None and not dry_run:
                watch = await seed_fingerprint.Watch.begin(db, code)
            sequences = await _apply(db, loaded, tally, actor=actor, dry_run=dry_run, watch=watch)
            fingerprints = {}
            if watch is not None:
                fingerprints = await watch.finish(
                    db, tally=tally, files=loaded.files, sequences=sequences
                )
        if not dry_run and loaded.files:
            await seed_history.record(
                db, loaded.files, actor=actor, tally=tally, fingerprints=fingerprints
            )
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


async def _as_before(
    db: AsyncSession, unchanged: seed_fingerprint.Unchanged, tally: Tally, *, dry_run: bool
) -> None:
    """A recognised run: every row unchanged. What a full run does on every run regardless
    (catching an id sequence up after explicit ids) it does too."""
    from app.services.seed_models import _advance_sequence

    for counts in unchanged.models:
        tally.unchanged(counts.model, counts.unchanged)
    if dry_run:
        return
    tables = seed_digests.known_tables()
    for name in unchanged.sequences:
        serial = tables[name].autoincrement_column
        if serial is not None:
            await _advance_sequence(db, tables[name], [{serial.name: 1}])


async def _apply(
    db: AsyncSession,
    loaded: LoadedSeeds,
    tally: Tally,
    *,
    actor: str,
    dry_run: bool,
    watch: seed_fingerprint.Watch | None,
) -> set[str]:
    """Every row of every file, in foreign-key order; the tables whose id sequence the bulk
    path caught up."""
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
        steps.append(_Step({section.model.__tablename__}, run, section))
    # A streamed file's size bounds the rows it can give (what a fingerprint may cost).
    sizes = {f.name: _size(f) for f in loaded.files} if watch is not None else {}
    for step in _in_dependency_order(steps):
        if watch is None or step.section is None:
            await step.run()
            continue
        section = step.section
        bound = len(section.rows) if section.stream is None else sizes.get(section.file, 0)
        await watch.section(db, section.model, section.key, section.file, bound)
        before = watch.totals(tally)
        await step.run()
        watch.counted(section.file, before, tally)
    for seed_file in loaded.streams:  # large YAML files: after the others, in order
        on_section = None
        if watch is not None:
            on_section = _bind_section(db, watch, seed_file.name, sizes.get(seed_file.name, 0))
            before = watch.totals(tally)
        await seed_yaml_stream(
            db,
            seed_file,
            tally,
            actor=actor,
            declared=loaded.declared,
            staged=staged,
            on_section=on_section,
        )
        if watch is not None:
            watch.counted(seed_file.name, before, tally)
    await staged.drop(db)
    for module in loaded.modules:
        await _run_module(db, module)
    if guarded:
        await seed_guards.keep_an_active_superuser(db, loaded=loaded, before=superusers)
    return staged.sequences


def _size(seed_file: SeedFile) -> int:
    try:
        return seed_file.path.stat().st_size
    except OSError:
        return 0


def _bind_section(db: AsyncSession, watch: seed_fingerprint.Watch, file: str, size: int) -> Any:
    async def on_section(model: Any, key: list[str]) -> None:
        await watch.section(db, model, key, file, size)

    return on_section


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


async def _run_module(db: AsyncSession, module: SeedFile) -> None:
    """A `seeds/<set>/*.py` file: its `async def seed(db)` runs in this transaction.

    The code run is the bytes read (and hashed) when the file was selected, not the file as
    it is now: seed_history records the checksum of the code that ran."""
    spec = importlib.util.spec_from_file_location(
        f"seed_module_{module.checksum[:12]}", module.path
    )
    if spec is None or spec.loader is None:
        raise invalid(module.display, "cannot import this module")
    namespace = importlib.util.module_from_spec(spec)
    exec(compile(module.content, str(module.path), "exec"), namespace.__dict__)
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
