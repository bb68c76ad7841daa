"""Reading CSV seed files strictly, and saying exactly where a file breaks the format.

Python's csv reader forgives: a quote that never closes runs its field on to the end of the
file (every row after it silently becomes part of one cell), `"Best" seller` loses its
quotes, `5" screen` keeps a bare quote. A seed file is read with `strict=True` and each
record that holds a quote is matched against the format (RFC 4180: a field is quoted whole,
with quotes inside doubled, or holds no quote at all); the one that fails is read again
here, from the line its record starts, to name the line and column where the broken field
starts. Only a failing file pays for that reading.

Text that is not UTF-8 is located the same way: the decoder reads ahead, so its error comes
thousands of lines early; `first_bad_byte` reads the bytes again to name the exact one.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services.seed_rows import invalid

# One record of the CSV dialect seed files use (comma, double quote, quotes doubled inside
# a quoted field, which may span lines), with its line break. `records` checks a record
# against it only when its text holds a quote: without one, csv(strict=True) has nothing to
# forgive.
# (The loop unrolled and possessive: 7x faster than `(?:[^"]|"")*`; a quoted file pays
# 0.5-1.5 us a record for it: 100,000 rows with every field quoted read in 0.20-0.23 s
# instead of 0.14-0.16 s.)
_FIELD = r'(?:"[^"]*+(?:""[^"]*+)*+"|[^",\r\n]*+)'
_RECORD = re.compile(rf"{_FIELD}(?:,{_FIELD})*+(?:\r\n|\r|\n)?")
well_formed_record = _RECORD.fullmatch  # one record holding a quote, its lines joined
_UNQUOTED_END = re.compile(r"[,\r\n]")
_BREAKS = re.compile(r"\r\n|\r|\n")

DOUBLE = 'quote the whole field and double each quote inside it ("5"" screen")'


def field_limit() -> int:
    return csv.field_size_limit()


@dataclass(frozen=True)
class Fault:
    """Where a broken field starts (1-based line and character), which field of its record
    it is (0-based), and what is wrong with it."""

    line: int
    column: int
    field: int
    problem: str


def csv_fault(path: Path, start: int) -> Fault | None:
    """The first broken field of the record starting at line `start`; None if it has none
    (then the caller reports what the csv module said)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        lines = itertools.islice(handle, start - 1, None)
        return _scan(lines, start)


def _scan(lines: itertools.islice[str], number: int) -> Fault | None:
    limit = field_limit()
    text = next(lines, None)
    position, field = 0, 0
    while text is not None:
        line, column = number, position + 1
        if text.startswith('"', position):
            length, position = 0, position + 1
            while True:  # to the closing quote, across lines
                found = text.find('"', position)
                if found < 0:
                    length += len(text) - position
                    text, number, position = next(lines, None), number + 1, 0
                    if length > limit:
                        return Fault(
                            line,
                            column,
                            field,
                            f"a quoted field longer than {limit:,} characters (it runs on past "
                            f"line {number - 1}): a quote that never closes?",
                        )
                    if text is None:
                        return Fault(
                            line,
                            column,
                            field,
                            "a quoted field starts here and never closes (no closing quote "
                            "before the end of the file)",
                        )
                    continue
                length += found - position
                if text.startswith('"', found + 1):
                    position, length = found + 2, length + 1
                    continue
                position = found + 1
                break
            if length > limit:
                return Fault(line, column, field, f"a field longer than {limit:,} characters")
            after = text[position : position + 1]
            if after == ",":
                position, field = position + 1, field + 1
                continue
            if after in ("", "\r", "\n"):
                return None
            if number == line:
                problem = f"text after the closing quote (column {position + 1}): {DOUBLE}"
            else:
                problem = (
                    f"a quoted field starts here and runs on to line {number}, where text "
                    f"follows its closing quote (column {position + 1}): a quote that never "
                    "closes, or one not doubled?"
                )
            return Fault(line, column, field, problem)
        end_match = _UNQUOTED_END.search(text, position)
        end = end_match.start() if end_match else len(text)
        quote = text.find('"', position, end)
        if quote >= 0:
            problem = f"a quote inside an unquoted field (column {quote + 1}): {DOUBLE}"
            return Fault(line, column, field, problem)
        if end - position > limit:
            return Fault(line, column, field, f"a field longer than {limit:,} characters")
        if end == len(text) or text[end] != ",":
            return None
        position, field = end + 1, field + 1
    return None


def first_bad_byte(path: Path) -> tuple[int, int, int] | None:
    """(line, column, byte) of the first byte that is not UTF-8, lines counted as the
    readers count them (CR, LF or CRLF); None if the file is all UTF-8."""
    line, column, carry = 1, 1, b""
    with path.open("rb") as handle:
        if handle.read(3) != codecs.BOM_UTF8:
            handle.seek(0)
        while True:
            piece = handle.readline(1 << 20)
            if not piece and not carry:
                return None
            piece, carry = carry + piece, b""
            try:
                text = piece.decode("utf-8")
            except UnicodeDecodeError as exc:
                text = piece[: exc.start].decode("utf-8")
                cut_short = exc.end == len(piece) and len(piece) - exc.start < 4
                if not (cut_short and not piece.endswith(b"\n") and handle.peek(1)):
                    line, column = _advance(line, column, text)
                    return line, column, piece[exc.start]
                carry = piece[exc.start :]  # a character split by the read's limit
            line, column = _advance(line, column, text)


def _advance(line: int, column: int, text: str) -> tuple[int, int]:
    parts = _BREAKS.split(text)
    if len(parts) == 1:
        return line, column + len(text)
    return line + len(parts) - 1, 1 + len(parts[-1])


def not_utf8(source: str, path: Path, line: int) -> Any:
    """The exact byte that is not UTF-8 (the decoder reads ahead: its error comes early)."""
    found = first_bad_byte(path)
    if found is None:  # changed since it was read
        return invalid(f"{source}:{line}", "not UTF-8 text")
    line, column, byte = found
    return invalid(
        f"{source}:{line}:{column}", f"not UTF-8 (byte 0x{byte:02x}); save the file as UTF-8"
    )


class CsvFaults:
    """Turns what goes wrong reading one CSV file into a 422 at the field it breaks: a
    csv.Error of the strict reader, or a record holding a quote that is not well formed
    (its lines are collected in `quoted` as they are read; `check` clears them)."""

    def __init__(self, source: str, path: Path, quoted: list[str]) -> None:
        self.source, self.path, self.quoted = source, path, quoted

    def error(self, exc: Exception, line: int, index: int | None, names: list[str]) -> Any:
        """For an exception reading the record starting at `line` (rows[index]; None: the
        header row)."""
        if isinstance(exc, UnicodeDecodeError):
            return not_utf8(self.source, self.path, line)
        return self._broken(line, index, names, f"not CSV: {exc}")

    def check(self, line: int, index: int | None, names: list[str]) -> None:
        text = "".join(self.quoted)
        self.quoted.clear()
        if not well_formed_record(text):
            raise self._broken(line, index, names, "not CSV: a quote out of place")

    def _broken(self, line: int, index: int | None, names: list[str], fallback: str) -> Any:
        fault = csv_fault(self.path, line)
        where = f"{self.source}:{line}:1" if fault is None else f"{self.source}:{fault.line}:"
        if fault is not None:
            where += str(fault.column)
        if index is not None:
            where += f": rows[{index}]"
            if fault is not None and fault.field < len(names):
                where += f".{names[fault.field]}"
        return invalid(where, fallback if fault is None else fault.problem)
