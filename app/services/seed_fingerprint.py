"""Recognise a seed run that would change nothing, without reading its rows.

A run that can vouch for what it left behind (`Watch`) records, with each file's seed_history
row, a fingerprint (JSON):

    {"format": 1, "code": "<digest of the seed code and models>", "run": "<the run's token>",
     "revisions": ["c5e7a1f20001"], "tables": ["items"],
     "digests": {"items": "<digest>", "users": "<digest>"},
     "models": [["Item", 2, 0]], "sequences": []}

`tables` are the tables the file's sections write, `digests` a digest of the whole of each of
those and of every table they reference by foreign key (app/services/seed_digests.py),
`models` the rows the file gave per model (and the model's place in the run's report),
`sequences` the tables whose id sequence a full run catches up every time (seed_bulk).

A later run skips reading rows (`unchanged_run`) only when every file of it has a fingerprint
from one and the same run, its checksum (sidecar included) is unchanged, the code and Alembic
revision are the same, and every recorded table digests as recorded: reading the rows could
then only find them unchanged. Anything else, and the run reads every row as before.

A run vouches only when nothing can make its end state differ from what a second run would
leave: model sections only (passwords of `users:` rows come from the environment, `.py`
modules run every time), one natural key per table, no section reading a table it or a later
section writes, and on PostgreSQL no other transaction writing those tables while it ran (a
row it read as unchanged and someone edited before it committed would be recorded as seeded).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.exc import DataError, ProgrammingError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import SeedHistory
from app.schemas.seed import ModelCounts
from app.services import seed_digests
from app.services.seed_digests import FORMAT, Guard, worth

# A column type the digest cannot take (a model out of step with its table): no shortcut.
UNDIGESTIBLE = (ProgrammingError, DataError)


def shape_allows(loaded: Any) -> bool:
    """Whether a run of `loaded` may be recognised at all: model sections only (a `users:`
    row's password comes from the environment or a file the checksum does not cover; roles
    sync their permission sets; `.py` modules run every time), each file named once."""
    names = [f.name for f in loaded.files]
    return bool(names) and not (
        loaded.roles or loaded.users or loaded.modules or len(set(names)) != len(names)
    )


@dataclass
class _Section:
    table: str
    model: str
    key: tuple[str, ...]
    references: frozenset[str]
    file: str


@dataclass
class Watch:
    """What a real run notes as it goes, to record fingerprints at its end (`finish`)."""

    code: str
    postgres: bool
    snapshot: tuple[int, int, list[int]] | None = None
    counts: dict[str, int] = field(default_factory=dict)  # rows before the run first read it
    tables: dict[str, Table] = field(default_factory=dict)
    sections: list[_Section] = field(default_factory=list)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> model -> rows
    given: int = 0  # rows the run's files gave so far
    too_big: bool = False  # a table dwarfs the rows given: not worth a fingerprint

    @classmethod
    async def begin(cls, db: AsyncSession, code: str) -> Watch:
        """Called once the run holds the seed lock, before it reads anything."""
        connection = await db.connection()
        watch = cls(code=code, postgres=connection.dialect.name == "postgresql")
        if watch.postgres:
            watch.snapshot = await Guard.begin(db)
        return watch

    async def section(
        self, db: AsyncSession, model: Any, key: list[str], file: str, bound: int
    ) -> None:
        """A section of at most `bound` rows is about to run: note what it writes and reads,
        and (PostgreSQL) how many rows those tables hold before it reads them."""
        table = model.__table__
        references = {fk.column.table.name: fk.column.table for fk in table.foreign_keys}
        self.sections.append(
            _Section(table.name, model.__name__, tuple(sorted(key)), frozenset(references), file)
        )
        touched = {table.name: table, **references}
        new = [each for name, each in touched.items() if name not in self.tables]
        self.tables.update({t.name: t for t in new})
        if not self.postgres or self.too_big or not new:
            return
        held = sum(self.counts.values()) + await seed_digests.estimate(db, new)
        if not worth(held, self.given + bound):
            self.too_big = True  # counting (and later digesting) would cost more than it saves
            return
        for each in new:
            self.counts[each.name] = await seed_digests.count(db, each)

    @staticmethod
    def totals(tally: Any) -> dict[str, int]:
        return {m: c.created + c.updated + c.unchanged for m, c in tally.counts.items()}

    def counted(self, file: str, before: dict[str, int], tally: Any) -> None:
        """The rows a step of `file` gave, per model (the tally's growth over the step)."""
        mine = self.rows.setdefault(file, {})
        for model, total in self.totals(tally).items():
            grown = total - before.get(model, 0)
            if grown:
                mine[model] = mine.get(model, 0) + grown
                self.given += grown

    def _settled(self) -> bool:
        """One natural key per table, and no section reading a table that it or a later
        section writes (its foreign keys would resolve differently on the next run)."""
        keys: dict[str, set[tuple[str, ...]]] = {}
        for index, section in enumerate(self.sections):
            keys.setdefault(section.table, set()).add(section.key)
            later = {s.table for s in self.sections[index:]}
            if section.references & later or not section.file:
                return False
        return all(len(found) == 1 for found in keys.values())

    async def _digests(self, db: AsyncSession, tally: Any) -> dict[str, str] | None:
        """Each table's digest as the run leaves it, or None when the run cannot vouch for
        it: another transaction wrote one of the tables meanwhile (PostgreSQL), or they
        hold too many rows for the rows given."""
        digests: dict[str, str] = {}
        if not self.postgres:  # BEGIN IMMEDIATE kept every other writer out until commit
            held = sum([await seed_digests.count(db, t) for t in self.tables.values()])
            if not worth(held, self.given):
                return None
            for name, table in self.tables.items():
                digests[name] = await seed_digests.sqlite_digest(db, table)
            return digests
        if self.too_big:
            return None
        created: dict[str, int] = {}
        for section in {(s.table, s.model) for s in self.sections}:
            found = tally.counts.get(section[1])
            created[section[0]] = created.get(section[0], 0) + (found.created if found else 0)
        held = sum(self.counts[name] + created.get(name, 0) for name in self.tables)
        if not worth(held, self.given):
            return None
        guard = await Guard.now(db, self.snapshot or (0, 0, []))
        for name, table in self.tables.items():
            found, rows, others = await seed_digests.pg_digest(db, table, guard)
            if others or rows != self.counts[name] + created.get(name, 0):
                return None  # someone else wrote these rows while the run read them
            digests[name] = found
        return digests

    async def finish(
        self, db: AsyncSession, *, tally: Any, files: list[Any], sequences: set[str]
    ) -> dict[str, str]:
        """Each file's fingerprint (JSON), or none at all when the run cannot vouch for its
        end state."""
        if not self._settled():
            return {}
        try:
            async with db.begin_nested():
                digests = await self._digests(db, tally)
        except UNDIGESTIBLE:
            return {}
        if digests is None:
            return {}
        base = {"format": FORMAT, "code": self.code, "run": uuid.uuid4().hex}
        base["revisions"] = await seed_digests.revisions(db)
        order = list(tally.counts)
        found: dict[str, str] = {}
        for seed_file in files:
            mine = [s for s in self.sections if s.file == seed_file.name]
            written = sorted({s.table for s in mine})
            read = sorted(set(written).union(*(s.references for s in mine)))
            fingerprint = {
                **base,
                "tables": written,
                "digests": {name: digests[name] for name in read},
                "models": [
                    [m, n, order.index(m)] for m, n in self.rows.get(seed_file.name, {}).items()
                ],
                "sequences": sorted(set(written) & sequences),
            }
            found[seed_file.name] = json.dumps(fingerprint, separators=(",", ":"))
        return found


@dataclass
class Unchanged:
    """What a recognised run reports and records."""

    models: list[ModelCounts]
    fingerprints: dict[str, str]  # file -> the fingerprint carried forward
    sequences: list[str]


def _parse(found: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(found or "")
        if not isinstance(value, dict):
            return None
        value["run"] = str(value["run"])
        value["revisions"] = [str(r) for r in value["revisions"]]
        value["digests"] = {str(k): str(v) for k, v in value["digests"].items()}
        value["models"] = [(str(m), int(n), int(rank)) for m, n, rank in value["models"]]
        value["sequences"] = [str(t) for t in value["sequences"]]
        return value
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


async def _last_rows(db: AsyncSession, names: list[str]) -> dict[str, Any]:
    from app.services.seed_upsert import _chunks

    table = SeedHistory.__table__
    found: dict[str, Any] = {}
    for chunk in _chunks(names, 400):
        latest = select(func.max(table.c.id)).where(table.c.file.in_(list(chunk)))
        query = select(table.c.file, table.c.checksum, table.c.fingerprint).where(
            table.c.id.in_(latest.group_by(table.c.file))
        )
        for row in (await db.exec(query)).all():
            found[row.file] = row
    return found


async def _fingerprints(db: AsyncSession, loaded: Any, code: str) -> list[tuple[str, Any]] | None:
    """(raw, parsed) fingerprint of each file's last run, when every one applies."""
    last = await _last_rows(db, [f.name for f in loaded.files])
    prints = []
    for seed_file in loaded.files:
        row = last.get(seed_file.name)
        if row is None or row.checksum != seed_file.checksum:
            return None
        parsed = _parse(row.fingerprint)
        if parsed is None or parsed.get("format") != FORMAT or parsed.get("code") != code:
            return None
        prints.append((row.fingerprint, parsed))
    # Files of one earlier run only: two files each applied alone may declare the same key,
    # which a run of both refuses.
    if len({p["run"] for _, p in prints}) != 1:
        return None
    return prints


async def unchanged_run(db: AsyncSession, loaded: Any, code: str) -> Unchanged | None:
    """The report of a run of `loaded` that would change nothing, decided without reading a
    row of its files; None when that cannot be shown (then the run reads every row)."""
    prints = await _fingerprints(db, loaded, code)
    if prints is None or prints[0][1]["revisions"] != await seed_digests.revisions(db):
        return None
    wanted: dict[str, str] = {}
    for _, fingerprint in prints:
        for name, value in fingerprint["digests"].items():
            if wanted.setdefault(name, value) != value:
                return None
    tables = seed_digests.known_tables()
    if any(name not in tables for name in wanted):
        return None
    rows: dict[str, list[int]] = {}
    for _, fingerprint in prints:
        for model, count, rank in fingerprint["models"]:
            entry = rows.setdefault(model, [rank, 0])
            entry[0], entry[1] = min(entry[0], rank), entry[1] + count
    given = sum(count for _, count in rows.values())
    if not worth(await seed_digests.estimate(db, [tables[n] for n in wanted]), given):
        return None  # the tables grew past what digesting them saves
    try:
        async with db.begin_nested():
            for name in sorted(wanted):
                if await seed_digests.digest(db, tables[name]) != wanted[name]:
                    return None
    except UNDIGESTIBLE:
        return None
    ordered = sorted(rows.items(), key=lambda item: (item[1][0], item[0]))
    return Unchanged(
        models=[ModelCounts(model=model, unchanged=count) for model, (_, count) in ordered],
        fingerprints={f.name: raw for f, (raw, _) in zip(loaded.files, prints, strict=True)},
        sequences=sorted({t for _, p in prints for t in p["sequences"]}),
    )
