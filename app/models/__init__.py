"""Table models. Importing this package registers every table on `db.metadata.metadata`."""

from app.models.audit import AuditLog
from app.models.role import Role, RolePermission, UserRole
from app.models.seed import SeedHistory
from app.models.user import User

__all__ = ["AuditLog", "Role", "RolePermission", "SeedHistory", "User", "UserRole"]
