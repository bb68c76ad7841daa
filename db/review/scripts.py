"""The revision files of a script directory, read with `ast` (nothing is imported or run).

Reading the files ourselves, not through Alembic's ScriptDirectory, keeps a broken chain
(a down_revision that does not exist, two heads) reviewable instead of an Alembic error.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

from db.review.findings import Finding, finding


@dataclass
class ScriptFile:
    path: Path
    source: str
    tree: ast.Module
    revision: str | None
    down_revisions: list[str]
    revision_line: int | None
    down_line: int | None

    @property
    def display(self) -> str:
        return display_path(self.path)

    def function(self, name: str) -> ast.FunctionDef | None:
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return node
        return None


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it (what a person clicks), else absolute."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _assigned(tree: ast.Module, name: str) -> tuple[ast.expr | None, int | None]:
    for node in tree.body:
        if isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                return node.value, node.lineno
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
        ):
            return node.value, node.lineno
    return None, None


def _strings(value: ast.expr | None) -> list[str]:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [value.value]
    if isinstance(value, ast.Tuple | ast.List):
        return [s for item in value.elts for s in _strings(item)]
    return []


def read_script(path: Path) -> ScriptFile:
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError):  # reported by the load check (db/review/review.py)
        source, tree = "", ast.Module(body=[], type_ignores=[])
    revision, revision_line = _assigned(tree, "revision")
    down, down_line = _assigned(tree, "down_revision")
    names = _strings(revision)
    return ScriptFile(
        path=path,
        source=source,
        tree=tree,
        revision=names[0] if names else None,
        down_revisions=_strings(down),
        revision_line=revision_line,
        down_line=down_line,
    )


def read_directory(versions: Path) -> list[ScriptFile]:
    """Every revision file in `versions`, sorted by file name (date-prefixed: oldest first)."""
    files = sorted(
        p for p in versions.glob("*.py") if not p.name.startswith(("_", ".")) and p.is_file()
    )
    return [script for script in map(read_script, files) if script.revision is not None]


def graph_findings(scripts: list[ScriptFile]) -> list[Finding]:
    """More than one head, and down_revisions that name no revision."""
    known = {s.revision for s in scripts}
    parents = {down for s in scripts for down in s.down_revisions}
    findings = []
    for script in scripts:
        for down in script.down_revisions:
            if down not in known:
                findings.append(
                    finding(
                        "missing-down-revision",
                        path=script.display,
                        line=script.down_line,
                        revision=script.revision,
                        message=f"down_revision {down!r} of {script.revision} does not exist",
                    )
                )
    heads = [s for s in scripts if s.revision not in parents]
    if len(heads) > 1:
        names = ", ".join(str(s.revision) for s in heads[:5]) + (", ..." if len(heads) > 5 else "")
        for script in heads:
            findings.append(
                finding(
                    "multiple-heads",
                    path=script.display,
                    line=script.revision_line,
                    revision=script.revision,
                    message=f"{len(heads)} heads ({names}); {script.revision} is one of them",
                )
            )
    return findings
