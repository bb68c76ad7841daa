"""Test-only Alembic script directories (MANAGE_MIGRATIONS_DIR) and model metadata.

`markers/` is a chain of five revisions; each inserts its own id into the `markers` table
(with the PostgreSQL backend pid that ran it), so a test can see exactly what ran, and how
many times. `branches/` has two labelled branches (alpha, beta) from one base, same markers.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import fetch

CHAIN_DIR = Path(__file__).resolve().parent / "markers"
CHAIN = ["m1a00001", "m2b00002", "m3c00003", "m4d00004", "m5e00005"]
CHAIN_HEAD = CHAIN[-1]
CHAIN_ENV = {"MANAGE_MIGRATIONS_DIR": str(CHAIN_DIR)}
# Two branches from one base: alpha (a1000000 -> a2000000) and beta (c1000000).
BRANCHES_ENV = {"MANAGE_MIGRATIONS_DIR": str(Path(__file__).resolve().parent / "branches")}
DRIFT_MODELS = "tests.migrations_fixtures.drift_models"


def markers(url: str) -> list[str] | None:
    """The marker rows in revision order; None when the chain's table does not exist."""
    try:
        return [row[0] for row in fetch(url, "SELECT revision FROM markers ORDER BY revision")]
    except Exception as exc:
        if "markers" in str(exc):
            return None
        raise


def version(url: str) -> list[str]:
    try:
        return [row[0] for row in fetch(url, "SELECT version_num FROM alembic_version")]
    except Exception as exc:
        if "alembic_version" in str(exc):
            return []
        raise
