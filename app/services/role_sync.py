"""Roles as code: export the roles to YAML, and sync the database to a YAML file.

The file format (docs/roles.md):

    version: 1
    roles:
      - name: auditor
        description: Read-only access
        permissions: [audit:read, roles:read]

A plan lists + create, ~ change and - remove (with --prune) lines; applying it runs inside
the caller's transaction, so a sync is all or nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import yaml_loader
from app.errors import AppException, ErrorCode
from app.permissions import permission_problem, role_name_problem
from app.schemas.role import PlannedChange, RolesDocument, RoleSpec, SyncPlan
from app.services import roles as role_service


def _invalid(source: str, line: int | None, message: str) -> AppException:
    where = f"{source}:{line}" if line is not None else source
    text = f"{where}: {message}"
    if len(text) > 300:  # a message echoing file content stays a short fragment
        text = text[:297] + "..."
    return AppException(422, text, ErrorCode.INVALID_ROLES_FILE)


def _item_lines(node: Any) -> list[int]:
    """1-based line of each entry under `roles:` (for messages); empty when not a sequence."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == "roles" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def read_roles_file(path: Path | str, *, source: str | None = None) -> RolesDocument:
    """Read (regular file or "-" for stdin, size-capped) and parse a roles file.

    A missing file is a 404; anything else wrong with it a 422 naming file:line.
    """
    source = source or ("<stdin>" if str(path) == "-" else str(path))
    try:
        text = yaml_loader.decode(yaml_loader.read_bytes(path, source=source), source)
    except yaml_loader.FileMissing:
        raise AppException(404, f"{source}: no such file", ErrorCode.NOT_FOUND) from None
    except yaml_loader.YamlError as exc:
        raise _invalid(exc.where, None, exc.message) from None
    return parse_roles_file(text, source=source)


def parse_roles_file(text: str, *, source: str = "<roles file>") -> RolesDocument:
    """Read and validate a roles file. Any problem is a 422 naming file:line and the field.

    The loader (app/yaml_loader.py) refuses duplicate keys, aliases and deep nesting. A file
    that never says `roles:` (empty, comments only) gives a document whose `model_fields_set`
    lacks "roles": `--prune` refuses it (an intentionally empty set is `roles: []`).
    """
    try:
        loaded = yaml_loader.load_text(text, source)
    except yaml_loader.YamlError as exc:
        raise _invalid(exc.where, None, exc.message) from None
    raw: Any = loaded.data
    lines = _item_lines(loaded.node)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _invalid(source, 1, "expected a mapping with a `roles:` list")
    try:
        document = RolesDocument.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = error["loc"]
        line = lines[loc[1]] if len(loc) > 1 and loc[0] == "roles" and loc[1] < len(lines) else None
        field = ".".join(str(part) for part in loc)
        raise _invalid(source, line, f"{field}: {error['msg']}") from None
    seen: dict[str, int] = {}
    for index, spec in enumerate(document.roles):
        line = lines[index] if index < len(lines) else None
        problem = role_name_problem(spec.name)
        if problem is None and (found := _column_problem(spec)) is not None:
            problem = f"roles.{index}.{found[0]}: {found[1]}"
        if problem is None and spec.name in seen:
            problem = f"role {spec.name!r} appears twice"
        problem = problem or next(
            filter(None, (permission_problem(p) for p in spec.permissions)), None
        )
        if problem is not None:
            raise _invalid(source, line, problem)
        seen[spec.name] = index
    return document


def _column_problem(spec: RoleSpec) -> tuple[str, str] | None:
    """A name or description the roles table cannot store (NUL characters, lengths)."""
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  (registers every table)
    from app.services.column_checks import json_problem, row_problem

    found = row_problem(
        SQLModel.metadata.tables["roles"], spec.model_dump(include={"name", "description"})
    )
    if found is None and (problem := json_problem(spec.permissions)) is not None:
        found = ("permissions", problem)
    return found


def require_roles_key(document: RolesDocument, *, source: str) -> None:
    """422 unless the file says `roles:` itself: with --prune, an empty or comment-only file
    (or a truncated one) must not read as "remove every role"."""
    if "roles" not in document.model_fields_set:
        raise _invalid(
            source,
            None,
            "no `roles:` list; --prune refuses a file that declares nothing "
            "(write `roles: []` to mean no roles)",
        )


def refuse_pruning_everything(plan: SyncPlan, document: RolesDocument) -> None:
    """403 when the prune would remove every role that exists before the sync.

    Whatever the file adds: a file that declares only new roles (a typo'd or wrong file)
    would otherwise replace the whole set. The caller lets it through with `--prune-all`.
    """
    removals = [c.role for c in plan.changes if c.op == "remove"]
    created = {c.role for c in plan.changes if c.op == "create"}
    kept = [spec.name for spec in document.roles if spec.name not in created]
    if removals and not kept:
        shown = ", ".join(removals[:10]) + (
            f" and {len(removals) - 10} more" if len(removals) > 10 else ""
        )
        raise AppException(
            403,
            f"--prune would remove every existing role ({shown}); add --prune-all to mean it",
            ErrorCode.REFUSED,
        )


def dump_roles_file(document: RolesDocument) -> str:
    from app.yaml_loader import dump_yaml

    body = document.model_dump(mode="json")
    header = "# Roles as code: `manage roles sync FILE` makes the database match this file.\n"
    return header + dump_yaml(body)


async def export_roles(db: AsyncSession) -> RolesDocument:
    return RolesDocument(
        roles=[
            RoleSpec(name=r.name, description=r.description, permissions=r.permissions)
            for r in await role_service.list_roles(db)
        ]
    )


async def plan_sync(db: AsyncSession, *, document: RolesDocument, prune: bool) -> SyncPlan:
    """What `apply_sync` would change to make the database match `document`."""
    current = {role.name: role for role in await role_service.list_roles(db)}
    changes: list[PlannedChange] = []
    for spec in document.roles:
        wanted = sorted(set(spec.permissions))
        existing = current.get(spec.name)
        if existing is None:
            changes.append(
                PlannedChange(
                    op="create",
                    role=spec.name,
                    description=spec.description,
                    add_permissions=wanted,
                )
            )
            continue
        add = [p for p in wanted if p not in existing.permissions]
        remove = [p for p in existing.permissions if p not in wanted]
        description = spec.description if spec.description != existing.description else None
        if add or remove or description is not None:
            changes.append(
                PlannedChange(
                    op="change",
                    role=spec.name,
                    description=description,
                    add_permissions=add,
                    remove_permissions=remove,
                )
            )
    named = {spec.name for spec in document.roles}
    extra = [name for name in current if name not in named]
    if prune:
        changes.extend(
            PlannedChange(
                op="remove",
                role=name,
                remove_permissions=current[name].permissions,
                member_count=current[name].member_count,
            )
            for name in extra
        )
    return SyncPlan(changes=changes, unmanaged=[] if prune else extra, dry_run=False, applied=False)


async def apply_sync(db: AsyncSession, *, plan: SyncPlan, force: bool = False, actor: str) -> None:
    """Carry out `plan` in the caller's transaction. Removing a held role needs `force`."""
    in_use = [c for c in plan.changes if c.op == "remove" and c.member_count and not force]
    if in_use:
        names = ", ".join(f"{c.role} ({c.member_count} user(s))" for c in in_use)
        raise AppException(
            409,
            f"--prune would remove roles that users hold: {names}; add --force to remove them",
            ErrorCode.ROLE_IN_USE,
        )
    for change in plan.changes:
        if change.op == "create":
            await role_service.create_role(
                db,
                name=change.role,
                description=change.description or "",
                permissions=change.add_permissions,
                actor=actor,
            )
        elif change.op == "change":
            role = await role_service.get_role(db, name=change.role)
            if change.description is not None:
                await role_service.update_description(
                    db, role=role, description=change.description, actor=actor
                )
            await role_service.set_permissions(
                db,
                role=role,
                add=change.add_permissions,
                remove=change.remove_permissions,
                actor=actor,
            )
        else:
            await role_service.delete_role(db, name=change.role, force=True, actor=actor)
