"""Test-only Alembic script directories (MANAGE_MIGRATIONS_DIR) and model metadata."""
