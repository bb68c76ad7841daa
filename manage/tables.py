"""Tables for people: key columns whole, long text wrapped or cut to one line, timestamps to
the second, and a footer for what a limited table leaves out."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from manage.output import err, out, plain, safely, to_jsonable

if TYPE_CHECKING:
    from rich.text import Text


# Column kinds of data_table(): what happens to a cell that does not fit.
KEY = "key"  # never cut, never wrapped: emails, revision ids, URLs (people copy them)
TEXT = "text"  # wraps onto more lines (a word longer than the column folds: nothing is cut)
TEXT_MIN_WIDTH = 6  # a wrapped column narrower than this reads as a column of letters
LINE = "line"  # one line, cut with an ellipsis (the full value: --json or a `show` command)


def data_table(
    columns: list[tuple[str, str]],
    rows: list[list[object]],
    *,
    more: str | None = None,
    optional: tuple[str, ...] = (),
    elsewhere: str = "--json",
) -> None:
    """Print rows as a table on stdout that fits the terminal where it can.

    `columns` are (header, kind) pairs, kind one of KEY, TEXT, LINE. Key columns are as
    wide as their widest cell; the others share what is left, each at least TEXT_MIN_WIDTH
    wide. When even that is wider than the terminal, the table keeps its full width (the
    terminal wraps it) rather than cut a key. Cells are data: see plain(). `more` is a
    footer line for what the table leaves out ("12 more; use --limit or --all"), written
    on stderr so that stdout stays the table.

    `optional` names columns (by header) that are left out, in that order, when the table
    would not fit otherwise; a footer says which and that `elsewhere` has them."""
    from rich.table import Table
    from rich.text import Text

    cells = [[v if isinstance(v, Text) else plain(v) for v in row] for row in rows]
    console = out()
    left_out = []
    for header in optional:
        if _least_width(columns, cells) <= console.width:
            break
        at = [h for h, _ in columns].index(header)
        columns = columns[:at] + columns[at + 1 :]
        cells = [row[:at] + row[at + 1 :] for row in cells]
        left_out.append(header)
    widest = [max([len(h), *(_width(row[i]) for row in cells)]) for i, (h, _) in enumerate(columns)]
    gaps = 2 * (len(columns) - 1)
    lines = [i for i, (_, kind) in enumerate(columns) if kind == LINE]
    # A one-line column gets what the others leave at their natural width, cut to it here:
    # rich would rather drop a whole column than cut a no-wrap cell.
    others = sum(w for i, w in enumerate(widest) if i not in lines)
    if lines:
        share = (console.width - others - gaps) // len(lines)
        for i in lines:
            least = max(TEXT_MIN_WIDTH, len(columns[i][0]))
            widest[i] = min(widest[i], max(share, least))
            for row in cells:
                row[i].truncate(widest[i], overflow="ellipsis")
    # No borders (like `docker ps` or `kubectl get`): two spaces between columns leave the
    # room at 80 columns to the data.
    table = Table(box=None, pad_edge=False, padding=(0, 1))
    needed = gaps
    for i, (header, kind) in enumerate(columns):
        if kind == TEXT:
            narrowest = max(len(header), min(TEXT_MIN_WIDTH, widest[i]))
            table.add_column(header, overflow="fold", min_width=narrowest)
            needed += narrowest
        else:
            table.add_column(header, no_wrap=True, min_width=widest[i], max_width=widest[i])
            needed += widest[i]
    for row in cells:
        table.add_row(*row)
    if needed > console.width:
        table.width = needed
    console.print(table)
    if left_out:
        shown = ", ".join(left_out)
        more = "; ".join(
            filter(None, [more, f"{shown} left out at {console.width} columns: see {elsewhere}"])
        )
    if more:
        console.file.flush()  # the footer comes after the table, also on a shared terminal
        safely(err().print, plain(more))


def _least_width(columns: list[tuple[str, str]], cells: list[list[Text]]) -> int:
    """The narrowest the table can be without cutting a key or folding a header."""
    total = 2 * (len(columns) - 1)
    for i, (header, kind) in enumerate(columns):
        widest = max([len(header), *(_width(row[i]) for row in cells)])
        total += widest if kind == KEY else max(len(header), min(TEXT_MIN_WIDTH, widest))
    return total


def _width(cell: Text) -> int:
    """The cell's widest line in terminal cells (a CJK character or an emoji takes two)."""
    from rich.cells import cell_len

    return max((cell_len(line) for line in cell.plain.splitlines()), default=0)


def timestamp(value: object) -> str:
    """A date and time to the second, "2026-11-30 17:28:42": a datetime, or text such as
    Alembic's "Create Date" ("2026-11-25 12:35:29.580525"). Other text is shown as given;
    None is empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def one_line_json(value: object) -> str:
    """`value` as compact one-line JSON (for a table cell; LINE columns cut it to fit)."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
