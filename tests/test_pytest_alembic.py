"""pytest-alembic's built-in checks against our env.py, on both backends.

They pass an AsyncEngine through config.attributes["connection"], one of the three ways
env.py accepts a connection (the CLI passes a Connection; plain `alembic` passes none).

pytest-alembic 0.13's own pytest plugin (its collector) fails on pytest 9, so pyproject
turns the plugin off (`-p no:pytest_alembic`) and this module takes its fixture and tests
directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_alembic.plugin.fixtures import alembic_runner  # noqa: F401  (a fixture)
from pytest_alembic.tests import (  # noqa: F401  (collected as this module's tests)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from tests.conftest import run_async


@pytest.fixture
def alembic_config() -> Any:
    from db.migrations import alembic_config

    return alembic_config()


@pytest.fixture
def alembic_engine(blank_db_url: str) -> Iterator[Any]:
    from db.config import DatabaseSettings
    from db.engine import create_engine

    engine = create_engine(DatabaseSettings(database_url=blank_db_url), pooled=False)
    yield engine
    run_async(engine.dispose())
