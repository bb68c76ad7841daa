"""Options given to the root command, shared by every command through `ctx.obj`."""

from __future__ import annotations

from dataclasses import dataclass

import typer


@dataclass
class GlobalOptions:
    database_url: str | None = None
    verbose: bool = False


def global_options(ctx: typer.Context) -> GlobalOptions:
    root = ctx.find_root()
    if isinstance(root.obj, GlobalOptions):
        return root.obj
    return GlobalOptions()
