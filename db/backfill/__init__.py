"""Batched, resumable backfills: data migrations that never hold a big table's locks.

A revision declares a backfill (`Backfill(...)` at module level, `.declare()` in `upgrade()`)
instead of updating rows inside its DDL transaction; `manage migrate backfill` runs it later,
batch by batch (db/backfill/runner.py), each batch in its own short transaction that also
advances the progress row (db/backfill/progress.py), so a run stopped any way at all resumes
exactly where it stopped. A later revision calls `require_backfill(name)` before it relies on
the data (e.g. SET NOT NULL). docs/migrations.md, "Backfills", has the worked example.

This module is what revision files import: it stays light (no Alembic or runner import).
"""

from db.backfill.declaration import Backfill, BatchFunction, require_backfill

__all__ = ["Backfill", "BatchFunction", "require_backfill"]
