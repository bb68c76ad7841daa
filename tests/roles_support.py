"""Helpers for the roles and API tests: accounts made through the backend's own services."""

from __future__ import annotations

from tests.conftest import fetch, run_async

PASSWORD = "Corr3ct-Horse-Batt3ry"


def create_user(db_url: str, email: str, *, password: str = PASSWORD, superuser: bool = False):
    """Create an account with app.services.users (what `users create` does), committed."""
    from pydantic import SecretStr

    from app.schemas.user import UserCreate
    from app.services import users
    from db.config import DatabaseSettings
    from db.engine import create_engine, session_factory

    async def go() -> None:
        engine = create_engine(DatabaseSettings(database_url=db_url), pooled=False)
        try:
            async with session_factory(engine)() as db:
                data = UserCreate(email=email, password=SecretStr(password), is_superuser=superuser)
                await users.create_user(db, data=data, actor="test")
                await db.commit()
        finally:
            await engine.dispose()

    run_async(go())


def role_rows(db_url: str) -> list[tuple]:
    return fetch(db_url, "SELECT name, description FROM roles ORDER BY name")


def permission_rows(db_url: str, role: str) -> list[str]:
    rows = fetch(
        db_url,
        "SELECT p.permission FROM role_permissions p JOIN roles r ON r.id = p.role_id "
        "WHERE r.name = :role ORDER BY p.permission",
        {"role": role},
    )
    return [permission for (permission,) in rows]


def member_rows(db_url: str, role: str) -> list[str]:
    rows = fetch(
        db_url,
        "SELECT u.email FROM user_roles ur JOIN users u ON u.id = ur.user_id "
        "JOIN roles r ON r.id = ur.role_id WHERE r.name = :role ORDER BY u.email",
        {"role": role},
    )
    return [email for (email,) in rows]


def audit_rows(db_url: str, prefix: str = "role.") -> list[tuple]:
    return fetch(
        db_url,
        "SELECT action, target FROM audit_log WHERE action LIKE :p ORDER BY id",
        {"p": prefix + "%"},
    )
