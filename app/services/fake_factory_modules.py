"""Python factory files for `seed fake MODEL --factory FILE.py`.

A Python factory is a file defining one function, `columns(faker)`, that returns a mapping of
column -> how to fill it. `faker` is a Faker instance seeded from the run's --seed, so values
drawn from it while building the mapping are the same on every run:

    def columns(faker):
        titles = [faker.catch_phrase() for _ in range(200)]   # drawn once per run
        return {
            "title": lambda rng, index: rng.choice(titles),    # called once per row
            "slug": lambda rng, index: f"post-{index}",
            "status": ["draft", "published"],                  # anything a YAML factory takes
            "score": 7,
        }

A callable is called for each row with `rng` (a `random.Random` seeded from --seed: use it,
not the `random` module, so --seed gives the same rows) and `index` (the row's number from
0). Its value is checked against the column like a seed file's (type, length, nullability,
enum values). A unique column filled by a callable is the callable's business: rows whose
value is already there are skipped and counted, not an error.

The file is Python: it runs with the CLI's rights, like a migration script, so it belongs
in the repository beside the models. Reading it is bounded like a YAML file (regular file,
size cap, UTF-8); a file that does not compile, raises while it runs, has no `columns`, or
returns something else than a mapping is a 422 (exit 5) naming file:line and the error, on
one line, before anything is written; so is a callable that raises for some row.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import yaml_loader
from app.errors import AppException, ErrorCode
from app.services.seed_rows import invalid

MAX_BYTES = 1024 * 1024


REASON_CHARS = 200


def _reason(exc: BaseException) -> str:
    """`Type: message` on one line: control characters escaped, at most REASON_CHARS kept."""
    text = str(exc)
    if not text:
        return type(exc).__name__
    escaped = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
        for ch in text[:REASON_CHARS]
    )
    return f"{type(exc).__name__}: {escaped}{'...' if len(text) > REASON_CHARS else ''}"


def _line(exc: BaseException, source: str) -> int | None:
    """The innermost line of `source` in the exception's traceback."""
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == source:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def broken(exc: BaseException, source: str, what: str = "") -> AppException:
    """A 422 naming file:line (when the traceback passes through the file) and the error."""
    line = _line(exc, source)
    where = f"{source}:{line}" if line is not None else source
    return invalid(f"{where}{what}", _reason(exc))


def load_columns(path: Path, faker: Any) -> tuple[dict[str, Any], dict[str, int], str]:
    """The factory's entries, the line of each callable entry, and the file as messages name it."""
    source = str(path)
    try:
        text = yaml_loader.decode(
            yaml_loader.read_bytes(path, source=source, max_bytes=MAX_BYTES), source
        )
    except yaml_loader.FileMissing:
        # exit 3 as for a seed or roles file that does not exist (README's exit codes)
        raise AppException(404, f"{source}: no such factory file", ErrorCode.NOT_FOUND) from None
    except yaml_loader.YamlError as exc:
        raise invalid(exc.where, exc.message) from None
    try:
        code = compile(text, source, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise invalid(f"{source}:{exc.lineno or 1}", f"SyntaxError: {exc.msg}") from None
    except ValueError as exc:  # e.g. a NUL byte in the source
        raise invalid(source, _reason(exc)) from None
    module = types.ModuleType("manage_factory")
    module.__file__ = source
    try:
        # The project's own factory file, trusted like a migration script.
        exec(code, module.__dict__)
        build = module.__dict__.get("columns")
        if not callable(build):
            raise invalid(source, "defines no columns(faker) function")
        entries = build(faker)
    except AppException:
        raise
    except (Exception, SystemExit) as exc:
        raise broken(exc, source) from None
    if not isinstance(entries, dict) or not all(isinstance(k, str) for k in entries):
        raise invalid(source, "columns(faker) must return a mapping of column name -> value")
    lines = {
        name: code.co_firstlineno
        for name, spec in entries.items()
        if (code := getattr(spec, "__code__", None)) is not None and code.co_filename == source
    }
    return entries, lines, source


def per_row(
    call: Callable[[Any, int], Any],
    *,
    source: str,
    column: str,
    stored: Callable[[Any], Any],
) -> Callable[[Any, int, int], list[Any]]:
    """A draw that calls `call(rng, index)` for each row and checks each value with `stored`
    (422 naming file:line: column: row N and the error)."""
    code = getattr(call, "__code__", None)
    line = code.co_firstlineno if code is not None and code.co_filename == source else None
    at = f"{source}:{line}" if line is not None else source

    def draw(rng: Any, start: int, size: int) -> list[Any]:
        values = []
        for index in range(start, start + size):
            try:
                value = call(rng, index)
            except (Exception, SystemExit) as exc:
                raise broken(exc, source, f": {column}: row {index}") from None
            try:
                values.append(stored(value))
            except ValueError as exc:
                raise invalid(f"{at}: {column}: row {index}", str(exc)) from None
        return values

    return draw
