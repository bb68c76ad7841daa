"""`manage roles`: roles, their permissions, who holds them, and roles as code.

Logic lives in app/services/roles.py and app/services/role_sync.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from commands import roles_render as views
from manage.options import JsonOption, YesOption
from manage.output import success_line
from manage.runner import fail, run_session, settings_for

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.schemas.role import RoleChange, RoleRead, SyncPlan, UserPermissions

app = typer.Typer(
    help="Create roles, grant them to users, and keep them as code (YAML).",
    no_args_is_help=True,
)

RoleArgument = Annotated[str, typer.Argument(help="Role name, e.g. auditor.", show_default=False)]
EmailsArgument = Annotated[
    list[str], typer.Argument(help="One or more user email addresses.", show_default=False)
]
PermissionsArgument = Annotated[
    list[str],
    typer.Argument(
        help="One or more permissions: resource:action, resource:* or *.", show_default=False
    ),
]

# For `users create --role ROLE` (commands/users.py): the same spelling everywhere.
RoleOption = Annotated[
    list[str] | None,
    typer.Option(
        "--role",
        "-r",
        help="Give the account this role (repeatable; the role must exist, else exit 3 and "
        "no account is created).",
        show_default=False,
    ),
]


def _actor() -> str:
    from manage.actor import current_actor

    return current_actor()


@app.command("create")
def create_role(
    ctx: typer.Context,
    name: RoleArgument,
    description: Annotated[
        str, typer.Option("--description", "-d", help="What the role is for.")
    ] = "",
    permission: Annotated[
        list[str] | None,
        typer.Option(
            "--permission",
            "-p",
            help="A permission to give the role (repeatable).",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a role, optionally with permissions.

    Names are 2-63 characters: lower-case letters, digits, '-' and '_', starting with a letter.
    An existing name is exit 4; a bad name or permission is exit 5 naming it.
    """

    async def handler(db: AsyncSession) -> RoleRead:
        from app.services import roles

        await roles.create_role(
            db, name=name, description=description, permissions=permission or [], actor=_actor()
        )
        return await roles.describe_role(db, name=name)

    run_session(
        ctx,
        handler,
        json_output=json_output,
        render=lambda role: success_line(
            f"created role {role.name} with {len(role.permissions)} permission(s)"
        ),
    )


@app.command("list")
def list_roles(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List roles by name with their permissions and member counts.

    With --json, `data` is a list of roles: name, description, permissions, member_count,
    created_at.
    """

    async def handler(db: AsyncSession) -> list[RoleRead]:
        from app.services import roles

        return await roles.list_roles(db)

    run_session(ctx, handler, json_output=json_output, render=views.render_roles)


@app.command("show")
def show_role(ctx: typer.Context, name: RoleArgument, json_output: JsonOption = False) -> None:
    """Show one role: description, permissions and how many users hold it. Unknown: exit 3."""

    async def handler(db: AsyncSession) -> RoleRead:
        from app.services import roles

        return await roles.describe_role(db, name=name)

    run_session(ctx, handler, json_output=json_output, render=views.render_role)


@app.command("delete")
def delete_role(
    ctx: typer.Context,
    name: RoleArgument,
    yes: YesOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Delete the role even if users hold it (they lose it). With "
            "ENVIRONMENT=production and no terminal it also confirms (with --yes).",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Delete a role after confirmation.

    A role that users still hold is refused (exit 4) unless --force. Without a terminal,
    --yes is required (exit 7 otherwise). Unknown role: exit 3.
    """

    async def handler(db: AsyncSession) -> Any:
        from app.services import roles
        from manage.confirm import confirm_destructive

        role = await roles.describe_role(db, name=name)
        if role.member_count and not force:
            # Let the service refuse, so the CLI and the API say the same thing.
            return await roles.delete_role(db, name=name, force=False, actor=_actor())
        held = f" (held by {role.member_count} user(s))" if role.member_count else ""
        confirm_destructive(
            action=f"delete role {name}{held}",
            yes=yes,
            production=settings_for(ctx).is_production,
            force=force,
            type_to_confirm=name,
        )
        return await roles.delete_role(db, name=name, force=force, actor=_actor())

    run_session(
        ctx,
        handler,
        json_output=json_output,
        render=lambda done: success_line(
            f"deleted role {done.name}"
            + (f"; {done.members_removed} user(s) lost it" if done.members_removed else "")
        ),
    )


def _change(ctx: typer.Context, action: str, role: str, values: list[str], json_output: bool):
    async def handler(db: AsyncSession) -> RoleChange:
        from app.services import roles

        operation = {
            "grant": lambda: roles.grant(db, role=role, emails=values, actor=_actor()),
            "revoke": lambda: roles.revoke(db, role=role, emails=values, actor=_actor()),
            "permit": lambda: roles.permit(db, role=role, permissions=values, actor=_actor()),
            "forbid": lambda: roles.forbid(db, role=role, permissions=values, actor=_actor()),
        }[action]
        return await operation()

    run_session(ctx, handler, json_output=json_output, render=views.render_change)


@app.command("grant")
def grant(
    ctx: typer.Context, role: RoleArgument, emails: EmailsArgument, json_output: JsonOption = False
) -> None:
    """Give a role to users. Unknown role or user: exit 3, nobody changes.

    With --json, `data` is {"role", "action", "changed": [emails], "unchanged": [emails]}.
    """
    _change(ctx, "grant", role, emails, json_output)


@app.command("revoke")
def revoke(
    ctx: typer.Context, role: RoleArgument, emails: EmailsArgument, json_output: JsonOption = False
) -> None:
    """Take a role from users. Unknown role or user: exit 3, nobody changes."""
    _change(ctx, "revoke", role, emails, json_output)


@app.command("permit")
def permit(
    ctx: typer.Context,
    role: RoleArgument,
    permissions: PermissionsArgument,
    json_output: JsonOption = False,
) -> None:
    """Add permissions to a role. A bad permission is exit 5 naming it."""
    _change(ctx, "permit", role, permissions, json_output)


@app.command("forbid")
def forbid(
    ctx: typer.Context,
    role: RoleArgument,
    permissions: PermissionsArgument,
    json_output: JsonOption = False,
) -> None:
    """Remove permissions from a role."""
    _change(ctx, "forbid", role, permissions, json_output)


@app.command("export")
def export_roles(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(
            help="Write the YAML here instead of standard output.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Write every role as YAML, the format `roles sync` reads.

    With --json, `data` is the same document: {"version": 1, "roles": [{"name",
    "description", "permissions"}]} (and the FILE, if given, is still written).
    """

    async def handler(db: AsyncSession) -> Any:
        from app.services import role_sync
        from manage.files import write_text

        document = await role_sync.export_roles(db)
        if file is not None:
            write_text(file, role_sync.dump_roles_file(document))
        return document

    def render(document: Any) -> None:
        from app.services.role_sync import dump_roles_file

        if file is None:
            typer.echo(dump_roles_file(document), nl=False)
        else:
            success_line(f"wrote {len(document.roles)} role(s) to {file}")

    run_session(ctx, handler, json_output=json_output, render=render)


@app.command("sync")
def sync_roles(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(help="The roles YAML file ('-' for standard input).", show_default=False),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; change nothing.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove roles that are not in FILE.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="With --prune: also remove roles that users still hold."),
    ] = False,
    prune_all: Annotated[
        bool,
        typer.Option(
            "--prune-all",
            help="With --prune: allow removing every role that exists before the sync.",
        ),
    ] = False,
    yes: YesOption = False,
    json_output: JsonOption = False,
) -> None:
    """Make the roles in the database match FILE, in one transaction.

    Prints the plan (+ create, ~ change, - remove) and applies it; a second run says there is
    nothing to change. Roles missing from FILE are kept unless --prune; removing roles asks
    first (--yes skips; required without a terminal) and refuses roles that users hold
    unless --force (exit 4). A bad file is exit 5 naming file:line and the field.
    """
    from app.services.role_sync import read_roles_file, require_roles_key

    try:
        document = read_roles_file(file)
        if prune:
            require_roles_key(document, source="<stdin>" if str(file) == "-" else str(file))
    except Exception as exc:
        fail(ctx, exc, json_output=json_output)
        return

    async def handler(db: AsyncSession) -> SyncPlan:
        from app.services import role_sync
        from manage.confirm import confirm_destructive

        if not dry_run:
            from app.services.convergence import serialize_declarative_writes

            await serialize_declarative_writes(db)
        plan = await role_sync.plan_sync(db, document=document, prune=prune)
        plan.dry_run = dry_run
        if dry_run or not plan.changes:
            return plan
        removals = [c.role for c in plan.changes if c.op == "remove"]
        if removals and not prune_all:
            role_sync.refuse_pruning_everything(plan, document)
        if removals:
            if not json_output:
                views.render_plan(plan, header=True)
            confirm_destructive(
                action=f"remove {len(removals)} role(s): {', '.join(removals)}",
                yes=yes,
                production=settings_for(ctx).is_production,
                force=force,
                type_to_confirm=",".join(removals),
            )
        await role_sync.apply_sync(db, plan=plan, force=force, actor=_actor())
        plan.applied = True
        return plan

    run_session(ctx, handler, json_output=json_output, render=views.render_sync)


def user_permissions_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's email address.", show_default=False)],
    json_output: JsonOption = False,
) -> None:
    """Show a user's effective permissions and the role each one comes from.

    Superusers hold every permission ('*' from superuser). Unknown user: exit 3. With --json,
    `data` is {"email", "is_active", "is_superuser", "roles": [names],
    "permissions": [{"permission", "granted_by": [role names or "superuser"]}]}.
    """

    async def handler(db: AsyncSession) -> UserPermissions:
        from app.services import roles

        return await roles.effective_permissions(db, email=email)

    run_session(ctx, handler, json_output=json_output, render=views.render_user_permissions)
