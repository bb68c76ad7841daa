"""The one YAML loader for every file the CLI reads as data: seed files and roles files.

A seed or roles file is input from whoever can write to the repository or the pipeline, so
reading one is bounded before any of it is trusted:

- **Regular files only**, opened without following into a FIFO's wait (O_NONBLOCK) and checked
  with fstat: a FIFO, a device (`/dev/zero`) or a directory is refused, never read.
- **A size cap** of `MAX_BYTES` (32 MiB): a bigger file (or standard input) is refused after
  reading at most `MAX_BYTES + 1` bytes.
- **No aliases or anchors** (`&a` / `*a`): an alias lets a 1 KB document expand into
  gigabytes (the "billion laughs"). Seed data never needs them; write the value out.
- **Nesting depth** at most `MAX_DEPTH` (64): deeper documents are refused before the Python
  objects are built (recursion there would otherwise crash).
- **At most `MAX_NODES` (250,000) nodes** (every scalar, list and mapping counts one), counted
  on the parser's event stream before any node is built: building a node costs ~0.7 KB and
  ~20 us in PyYAML, so a 3 MB `[[],[],...]` would otherwise take gigabytes and tens of seconds.
  A row of n fields is 2n + 1 nodes: 250,000 nodes is about 22,000 ten-field rows per file.
  Memory for an accepted file is thus bounded by about the file size plus 250,000 nodes
  (`bench/yaml_nodes.py` prints the figures); a refusal comes after at most 250,000 events.
- **No merge keys** (`<<`): a merge silently resolves duplicates (`<<: {is_superuser: true}`
  hides a flag from the duplicate-key check), so it is refused like an alias.
- **Duplicate mapping keys** are an error naming file:line of both occurrences (PyYAML keeps
  the last one silently: a second `is_superuser: true` would win).

Errors are `YamlError(where, message)` with `where` = "file:line"; messages quote at most a
short, escaped fragment of the file (`fragment`). Callers turn them into their own 422s.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 250_000
MERGE_TAG = "tag:yaml.org,2002:merge"
FRAGMENT_CHARS = 40


class YamlError(ValueError):
    """A file that cannot be used: `where` is "file" or "file:line"."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class FileMissing(YamlError):
    """The path does not exist (commands map this to exit 3, everything else to 5)."""


def fragment(value: Any, limit: int = FRAGMENT_CHARS) -> str:
    """`value` as a short quoted, escaped string for messages: never a whole line of a file.
    None (a YAML null, an empty CSV cell) is `null`, unquoted: not the text 'None'."""
    if value is None:
        return "null"
    text = str(value)
    cut = text[:limit]
    escaped = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in cut
    )
    return "'" + escaped + ("..." if len(text) > limit else "") + "'"


def read_bytes(path: Path | str, *, source: str | None = None, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file at `path` ("-": standard input), at most `max_bytes`."""
    source = source or str(path)
    if str(path) == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        return _capped(data, source, max_bytes)
    fd = _open_regular(path, source)
    try:
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise YamlError(source, f"cannot read ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)
    return _capped(b"".join(chunks), source, max_bytes)


def _open_regular(path: Path | str, source: str) -> int:
    """A file descriptor of the regular file at `path` (YamlError for anything else)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        if os.path.islink(path):  # the link exists: a file that cannot be read, not a missing one
            raise YamlError(source, "cannot read (a symbolic link to a missing file)") from None
        raise FileMissing(source, "no such file") from None
    except IsADirectoryError:
        raise YamlError(source, "not a regular file (a directory)") from None
    except OSError as exc:
        raise YamlError(source, f"cannot read ({exc.strerror or type(exc).__name__})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = (
                "a directory"
                if stat.S_ISDIR(mode)
                else "a FIFO"
                if stat.S_ISFIFO(mode)
                else "a device"
                if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket"
            )
            raise YamlError(source, f"not a regular file ({kind})")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_problem(path: Path | str) -> str | None:
    """Why the file at `path` cannot be read as a seed file ("cannot read (...)"), or None:
    opened and closed, nothing read (`seed list` shows such a file instead of failing)."""
    try:
        os.close(_open_regular(path, str(path)))
    except YamlError as exc:
        return exc.message
    return None


def file_digest(path: Path | str, *, source: str | None = None) -> str:
    """The SHA-256 (hex) of the regular file at `path`, read in 1 MiB chunks: no size cap,
    as the file is never held whole (CSV, JSON Lines and large YAML seed files stream)."""
    import hashlib

    source = source or str(path)
    fd = _open_regular(path, source)
    digest = hashlib.sha256()
    try:
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    except OSError as exc:
        raise YamlError(source, f"cannot read ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)
    return digest.hexdigest()


class FileChanged(Exception):
    """A file's bytes, read to the end, are not the bytes hashed when it was selected."""

    def __init__(self, source: str) -> None:
        super().__init__(f"{source} changed while it was read")
        self.source = source


@dataclass(frozen=True)
class Digested:
    """What one pass over a file found: its SHA-256 (hex) and its first line (bytes up to
    and including the first newline, at most HEAD_BYTES)."""

    digest: str
    head: bytes


# Enough for any first line a seed file's reader accepts (1 MiB characters of UTF-8).
HEAD_BYTES = 4 * 1024 * 1024 + 4


def digest_file(path: Path | str, *, source: str | None = None) -> Digested:
    """file_digest, and the file's first line from the same pass."""
    import hashlib

    source = source or str(path)
    fd = _open_regular(path, source)
    digest = hashlib.sha256()
    head = b""
    try:
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
            if len(head) < HEAD_BYTES and b"\n" not in head:
                head = (head + chunk)[:HEAD_BYTES]
    except OSError as exc:
        raise YamlError(source, f"cannot read ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)
    end = head.find(b"\n")
    return Digested(digest.hexdigest(), head if end < 0 else head[: end + 1])


class _CheckedReader(io.RawIOBase):
    """A regular file read from its start, every byte hashed: the bytes must begin with
    `head`, and at the end of the file they must hash to `digest`, else FileChanged."""

    def __init__(self, fd: int, source: str, expected: Digested) -> None:
        import hashlib

        super().__init__()
        self._fd, self._source, self._expected = fd, source, expected
        self._hash = hashlib.sha256()
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = os.read(self._fd, len(buffer))
        except OSError as exc:
            raise YamlError(
                self._source, f"cannot read ({exc.strerror or type(exc).__name__})"
            ) from None
        head = self._expected.head
        if self._position < len(head):
            expected = head[self._position : self._position + len(data)]
            if data[: len(expected)] != expected:
                raise FileChanged(self._source)
        self._position += len(data)
        if not data:
            if self._hash.hexdigest() != self._expected.digest:
                raise FileChanged(self._source)
            return 0
        self._hash.update(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def open_checked(path: Path | str, *, source: str, expected: Digested) -> io.BufferedReader:
    """The regular file at `path` for reading from its start, checked against what a pass
    over it found before (digest_file): reading a byte that differs from its first line, or
    to an end whose bytes hash otherwise, raises FileChanged. So whatever is built from the
    bytes read is built from the bytes that were hashed. It was a regular file then: one
    that is gone or no longer a regular file (a directory, a FIFO) changed too."""
    try:
        fd = _open_regular(path, source)
    except YamlError:
        raise FileChanged(source) from None
    return io.BufferedReader(_CheckedReader(fd, source, expected))


def finish(handle: io.BufferedReader) -> None:
    """Read the rest of an open_checked file (the check happens at its end)."""
    while handle.read(1 << 20):
        pass


def file_size(path: Path | str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _capped(data: bytes, source: str, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        raise YamlError(source, f"larger than {max_bytes // (1024 * 1024)} MiB; refused")
    return data


def decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlError(f"{source}:{line}", "not UTF-8 text") from None


@dataclass
class Document:
    data: Any  # the plain Python value (dicts, lists, scalars); None for an empty document
    node: Any  # the yaml node tree (its marks give line numbers); None when empty
    has_content: bool  # False when the file holds only comments or whitespace


def _loader_class() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _problem(exc: Any) -> tuple[int | None, str]:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "not valid YAML"
    # PyYAML quotes the offending character or token; keep messages short.
    return (mark.line + 1 if mark else None), problem[:120]


def _check_events(text: str, source: str) -> bool:
    """Refuse aliases, anchors and deep nesting by streaming parse events (no recursion).

    Returns whether the document has any content at all.
    """
    import yaml

    depth = 0
    nodes = 0
    content = False
    for event in yaml.parse(text, Loader=_loader_class()):
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise YamlError(
                    f"{source}:{line}",
                    f"more than {MAX_NODES:,} YAML nodes (values, lists, mappings); split the file",
                )
        if isinstance(event, yaml.AliasEvent):
            raise YamlError(
                f"{source}:{line}",
                "YAML aliases (*name) are not allowed; write the value out",
            )
        if isinstance(event, yaml.NodeEvent):
            content = True
            if getattr(event, "anchor", None) is not None:
                raise YamlError(
                    f"{source}:{line}",
                    "YAML anchors (&name) are not allowed; write the value out",
                )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlError(f"{source}:{line}", f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return content


def _check_duplicate_keys(node: Any, source: str) -> None:
    """Every mapping's keys are distinct; a repeat names the lines of both (iterative walk)."""
    import yaml

    constructor = yaml.constructor.SafeConstructor()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode) and current.tag == MERGE_TAG:
            raise YamlError(
                f"{source}:{current.start_mark.line + 1}",
                "YAML merge keys (<<) are not allowed; write the fields out",
            )
        if isinstance(current, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    ident = _key_identity(constructor, key)
                    if ident in seen:
                        raise YamlError(
                            f"{source}:{line}",
                            f"duplicate key {fragment(key.value)} "
                            f"(first at {source}:{seen[ident]})",
                        )
                    seen[ident] = line
                stack.append(key)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _key_identity(constructor: Any, key: Any) -> Any:
    """What the key becomes in Python: `true` and `True`, `1` and `0x1` are the same key."""
    try:
        value = constructor.construct_object(key)
        hash(value)
    except Exception:
        return (key.tag, key.value)
    return (type(value).__name__, value)


def load_text(text: str, source: str) -> Document:
    """Parse one YAML document with the rules above; raise YamlError naming source:line."""
    import yaml

    try:
        content = _check_events(text, source)
        loader = _loader_class()(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_duplicate_keys(node, source)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        line, problem = _problem(exc)
        where = f"{source}:{line}" if line else source
        raise YamlError(where, problem) from None
    except (RecursionError, MemoryError):
        raise YamlError(source, "too large or too deeply nested to read") from None
    return Document(data=data, node=node, has_content=content)


def load_file(path: Path | str, *, source: str | None = None) -> Document:
    """read_bytes + decode + load_text."""
    source = source or str(path)
    return load_text(decode(read_bytes(path, source=source), source), source)


def dump_yaml(document: Any) -> str:
    """`document` as block YAML (keys in their order, lines up to 100 columns) that
    safe_load reads back to the same value.

    Readable text (accents, other scripts) is written as is. A document holding any
    character Python does not count as printable (controls such as ESC, Unicode format
    characters such as the bidi override U+202E) is written with every non-ASCII character
    as a YAML escape ("\\u202E"), so that neither a terminal nor an editor shows hidden or
    reordered text; the escapes read back as the same characters.
    """
    import yaml

    hostile = any(not _printable(text) for text in _strings(document))
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=not hostile, width=100)


def _printable(text: str) -> bool:
    return all(ch.isprintable() or ch in "\n\t" for ch in text)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
