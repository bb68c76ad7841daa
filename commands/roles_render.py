"""How `manage roles` shows its results to people (--json output is the runner's job)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from manage.output import success_line
from manage.tables import KEY, TEXT, data_table, timestamp

if TYPE_CHECKING:
    from app.schemas.role import RoleChange, RoleRead, SyncPlan, UserPermissions


def render_roles(roles: list[RoleRead]) -> None:

    from manage.output import out

    if not roles:
        out().print("no roles")
        return
    columns = [("name", KEY), ("description", TEXT), ("permissions", TEXT), ("members", KEY)]
    data_table(
        columns,
        [[r.name, r.description, ", ".join(r.permissions), r.member_count] for r in roles],
    )


def render_role(role: RoleRead) -> None:
    from rich.table import Table

    from manage.output import add_row, out, plain_lines

    table = Table(show_header=False, box=None)
    add_row(table, "name", role.name)
    add_row(table, "description", role.description)
    add_row(table, "permissions", plain_lines(role.permissions, empty="(none)"))
    add_row(table, "members", role.member_count)
    add_row(table, "created", timestamp(role.created_at))
    out().print(table)


_CHANGE_WORDS = {
    "grant": ("granted {role} to", "already held {role}"),
    "revoke": ("revoked {role} from", "did not hold {role}"),
    "permit": ("{role} now has", "{role} already had"),
    "forbid": ("{role} no longer has", "{role} did not have"),
}


def render_change(change: RoleChange) -> None:
    done, same = _CHANGE_WORDS[change.action]
    if change.changed:
        success_line(f"{done.format(role=change.role)} {', '.join(change.changed)}")
    if change.unchanged:
        success_line(f"unchanged: {', '.join(change.unchanged)} {same.format(role=change.role)}")


def _plan_lines(plan: SyncPlan) -> list[str]:
    lines = []
    for change in plan.changes:
        parts = [f"+{p}" for p in change.add_permissions]
        parts += [f"-{p}" for p in change.remove_permissions] if change.op == "change" else []
        if change.op == "change" and change.description is not None:
            parts.append(f"description: {change.description!r}")
        if change.op == "remove":
            parts = [f"{len(change.remove_permissions)} permission(s)"]
            if change.member_count:
                parts.append(f"held by {change.member_count} user(s)")
        detail = f" ({'; '.join(parts)})" if parts else ""
        lines.append(f"{change.symbol} {change.role}{detail}")
    return lines


def render_plan(plan: SyncPlan, *, header: bool = False) -> None:
    if header:
        success_line("plan:")
    for line in _plan_lines(plan):
        success_line(line)


def render_sync(plan: SyncPlan) -> None:
    if not plan.changes:
        success_line("nothing to change: the roles already match the file")
    elif plan.applied:
        if not any(c.op == "remove" for c in plan.changes):
            render_plan(plan)
        success_line(f"applied {len(plan.changes)} change(s)")
    else:
        render_plan(plan)
        success_line(f"dry run: {len(plan.changes)} change(s) planned, nothing written")
    if plan.unmanaged:
        success_line(f"kept (not in the file; --prune removes them): {', '.join(plan.unmanaged)}")


def render_user_permissions(report: UserPermissions) -> None:
    from rich.table import Table

    from manage.output import add_row, out

    flags = [] if report.is_active else ["inactive"]
    if report.is_superuser:
        flags.append("superuser")
    suffix = f" ({', '.join(flags)})" if flags else ""
    success_line(f"{report.email}{suffix}: roles {', '.join(report.roles) or '(none)'}")
    if not report.permissions:
        out().print("no permissions")
        return
    table = Table("permission", "granted by")
    for item in report.permissions:
        add_row(table, item.permission, ", ".join(item.granted_by))
    out().print(table)
