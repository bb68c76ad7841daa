"""Option types shared by commands, so every command spells them the same way."""

from pathlib import Path
from typing import Annotated

import typer

JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        # The envelope and each command's `data` are described in README.md and docs/.
        help="Print one JSON document (the ApiResponse envelope), errors included.",
    ),
]

PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input.",
    ),
]

PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        # No dir_okay=False: app/secret_files.py checks the file (exit 5, like every source).
        help="Read the password from this regular file (e.g. a Docker or Kubernetes secret; "
        "at most 64 KiB, UTF-8); a leading byte-order mark and one trailing newline are ignored.",
        show_default=False,
    ),
]

YesOption = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal)."),
]

ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="With ENVIRONMENT=production and no terminal: confirm the destructive action "
        "(together with --yes).",
    ),
]
