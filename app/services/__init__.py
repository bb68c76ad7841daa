"""Stateless async services: `db: AsyncSession` first, keyword-only after. They flush, never
commit (the caller owns the transaction), and raise AppException for expected failures."""
