"""app/services/users.py called directly, as the API does, inside a rolled-back transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from sqlmodel.ext.asyncio.session import AsyncSession

from app.choices import IfExists
from app.errors import AppException
from app.schemas.user import UserCreate
from app.services import users
from db.config import DatabaseSettings
from db.engine import create_engine

PASSWORD = "Corr3ct-Horse-Batt3ry"


def _data(email: str, **extra) -> UserCreate:
    return UserCreate(email=email, password=SecretStr(PASSWORD), **extra)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[AsyncSession]:
    """A session whose commits are savepoints inside one outer transaction rolled back at end."""
    engine = create_engine(DatabaseSettings(database_url=db_url), pooled=False)
    async with engine.connect() as connection:
        outer = await connection.begin()
        session = AsyncSession(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()
    await engine.dispose()


async def test_ensure_superuser_reports_each_outcome(db: AsyncSession) -> None:
    created, outcome = await users.ensure_superuser(db, data=_data("A@example.com"), actor="t")
    assert (created.email, created.is_superuser, outcome) == ("a@example.com", True, "created")
    _, skipped = await users.ensure_superuser(
        db, data=_data("a@example.com"), actor="t", if_exists=IfExists.skip
    )
    assert skipped == "unchanged"
    with pytest.raises(AppException) as raised:
        await users.ensure_superuser(db, data=_data("a@example.com"), actor="t")
    assert (raised.value.status, raised.value.error_code) == (409, "USER_EXISTS")


async def test_list_users_filters(db: AsyncSession) -> None:
    await users.create_user(db, data=_data("root@example.com", is_superuser=True), actor="t")
    await users.create_user(
        db, data=_data("off@example.com", is_active=False, full_name="Off Line"), actor="t"
    )
    assert [u.email for u in await users.list_users(db, superusers_only=True)] == [
        "root@example.com"
    ]
    assert [u.email for u in await users.list_users(db, active=False)] == ["off@example.com"]
    assert [u.email for u in await users.list_users(db, search="off li")] == ["off@example.com"]


async def test_the_last_superuser_guard_is_a_409(db: AsyncSession) -> None:
    await users.create_user(db, data=_data("root@example.com", is_superuser=True), actor="t")
    for call in (
        users.delete_user(db, email="root@example.com", actor="t"),
        users.set_superuser(db, email="root@example.com", superuser=False, actor="t"),
        users.set_active(db, email="root@example.com", active=False, actor="t"),
    ):
        with pytest.raises(AppException) as raised:
            await call
        assert (raised.value.status, raised.value.error_code) == (409, "LAST_SUPERUSER")


async def test_an_insert_race_on_postgres_is_a_409_not_an_integrity_error(pg_db_url) -> None:
    """B inserts the email after A checked for it; A's insert must become a clean 409."""
    engine = create_engine(DatabaseSettings(database_url=pg_db_url))
    try:
        async with (
            AsyncSession(engine, expire_on_commit=False) as a,
            AsyncSession(engine, expire_on_commit=False) as b,
        ):
            await users.create_user(b, data=_data("race@example.com"), actor="b")  # not committed
            racing = asyncio.create_task(
                users.create_user(a, data=_data("race@example.com"), actor="a")
            )
            await asyncio.sleep(0.5)  # A's check saw nothing; its INSERT waits on B's row
            assert not racing.done()
            await b.commit()
            with pytest.raises(AppException) as raised:
                await racing
            assert (raised.value.status, raised.value.error_code) == (409, "USER_EXISTS")
            await a.rollback()
    finally:
        await engine.dispose()
