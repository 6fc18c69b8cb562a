"""Validation's fast path: the per-row and per-cell checks of `frictionless validate`, as one DuckDB scan.

Frictionless stays the judge of what a cell means. It infers the schema from the sample it would use
itself and reports the header's errors (see validate.py); here every cell the scan cannot clear goes
through that field's own frictionless cell reader. DuckDB streams the file once (in parallel, insertion
order kept) and hands back only the rows that may hold an error:

- a row whose cells are all empty (frictionless's blank row);
- a typed cell whose text is not in a form that is certainly valid for its type (an integer of up to
  18 digits, a decimal, an ISO date that DuckDB also accepts, ...). Types with no such form send every
  non-empty cell to frictionless.

Rows with too many or too few cells (or quoting DuckDB refuses) come back as DuckDB rejects with their
raw line, which Python's csv parses the way frictionless does. Empty lines, which DuckDB skips and
frictionless reports as blank rows, are found by a byte scan.

Row numbers are frictionless's: records counted from the start of the file, header and preamble
included. They equal line numbers when no quoted cell holds a line break. When the scan's records do not
add up to the file's lines (such a cell, or anything else DuckDB reads differently), `check_table`
returns None and the caller validates the file with frictionless itself.
"""
from __future__ import annotations

import bisect
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import duckdb

from harvester.csvscan import read_csv_sql
from harvester.encoding import LineCounter, count_lines
from harvester.model import ValidationError
from harvester.sql import literal as _lit

BATCH = 1 << 16
_UNFLAGGED = (None,)
MEMO_SIZE = 200_000
NULL_TEXT = "\x01"  # DuckDB's nullstr: no real cell holds it, so empty cells stay '' and only padding is NULL
_YEAR = "[1-9][0-9]{3}"
_HMS = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"



def _matches(pattern: str) -> Callable[[str], str]:
    return lambda c: f"regexp_full_match({c}, {_lit(pattern)})"


# SQL for "this non-empty text is certainly valid for the type", a strict subset of what frictionless's
# reader accepts with the default field options (bareNumber, '.' decimals, ISO formats, true/false values).
SAFE_FORMS: dict[str, Callable[[str], str]] = {
    "integer": _matches("-?[0-9]{1,18}"),
    "number": _matches("-?[0-9]{1,20}(\\.[0-9]{1,20})?"),
    "year": _matches("[0-9]{4}"),
    "boolean": lambda c: f"{c} IN ('true', 'True', 'TRUE', '1', 'false', 'False', 'FALSE', '0')",
    "date": lambda c: f"(regexp_full_match({c}, '{_YEAR}-[0-9]{{2}}-[0-9]{{2}}') AND TRY_CAST({c} AS DATE) IS NOT NULL)",
    "time": _matches(_HMS),
    "datetime": lambda c: (f"(regexp_full_match({c}, '{_YEAR}-[0-9]{{2}}-[0-9]{{2}}T{_HMS}Z?') "
                           f"AND TRY_CAST(left({c}, 10) AS DATE) IS NOT NULL)"),
}
UNCHECKED = ("string", "any")


@dataclass
class TableCheck:
    rows: int
    errors: list[ValidationError]
    """Row errors in frictionless's order (by row, then field), at most `limit` of them."""
    rejected: list[tuple[int, str]]
    """The lines DuckDB rejected, as it gives them: a byte position (the line's start or one past it) and
    the text it read. DuckDB checked the encoding of every other line it read, not of these."""
    bad_encoding: bool
    """DuckDB found a line that is not in the encoding it read the file in."""
    all_rejects: bool
    """`rejected` holds every line DuckDB rejected (it keeps at most `limit` + 1 of them)."""


def line_facts(path: Path) -> tuple[int, list[int]]:
    """The file's number of lines and the numbers (1-based) of its empty lines."""
    return count_lines(path, LineCounter()).result()


def _row_errors(cells: list[str | None], readers: list[Callable[[Any], Any]], names: list[str],
                row: int) -> list[ValidationError]:
    """Frictionless's errors for one row (table/row.py): type errors, extra cells, missing cells; a row
    whose every field is empty is one blank-row error instead."""
    present = [c for c in cells if c is not None] if None in cells else cells
    errors: list[ValidationError] = []
    blank = 0
    for number, (reader, name) in enumerate(zip(readers, names), 1):
        source = present[number - 1] if number <= len(present) else None
        target, notes = reader(source)
        type_note = notes.get("type") if notes else None
        if target is None and not type_note:
            blank += 1
        if type_note:
            errors.append(ValidationError("type-error", f'Type error in the cell "{source}" in row "{row}" and field '
                                                        f'"{name}" at position "{number}": {type_note}',
                                          row=row, field=name, field_number=number))
    for number in range(len(names) + 1, len(present) + 1):
        errors.append(ValidationError("extra-cell", f'Row at position "{row}" has an extra value in field at '
                                                    f'position "{number}"', row=row, field="", field_number=number))
    for number in range(len(present) + 1, len(names) + 1):
        name = names[number - 1]
        errors.append(ValidationError("missing-cell", f'Row at position "{row}" has a missing cell in field "{name}" '
                                                      f'at position "{number}"', row=row, field=name, field_number=number))
    if blank == len(names):
        return [ValidationError("blank-row", f'Row at position "{row}" is completely blank', row=row)]
    return errors


def _cached(reader: Callable[[Any], Any]) -> Callable[[Any], Any]:
    memo: dict[Any, Any] = {}

    def read(cell: Any) -> Any:
        try:
            return memo[cell]
        except KeyError:
            result = reader(cell)
            if len(memo) < MEMO_SIZE:
                memo[cell] = result
            return result
    return read


def _scan(query: str, limit: int, memory_limit: str, has_errors: Callable[[list[str | None]], bool]
          ) -> tuple[int, list[tuple[int, list[str | None]]], dict[int, tuple[str, int, bool]], int]:
    """Stream the scan: the number of rows DuckDB accepted, the first `limit` + 1 flagged rows that do hold
    an error with their position among the accepted rows, and the rejected lines: their raw text, byte
    position and whether one of their errors is an invalid encoding, and how many rejects DuckDB kept."""
    con = duckdb.connect(config={"memory_limit": memory_limit, "preserve_insertion_order": True})
    con.execute("SET enable_progress_bar = false")
    try:
        accepted = 0
        flagged: list[tuple[int, list[str | None]]] = []
        result = con.execute(query)
        while batch := result.fetchmany(BATCH):  # one cell a row: NULL, or the flagged row's cells
            if batch.count(_UNFLAGGED) < len(batch):
                for index, (cells,) in enumerate(batch):
                    if cells is not None and len(flagged) <= limit:
                        if has_errors(cells):  # the scan only suspects; frictionless's readers decide
                            flagged.append((accepted + index + 1, cells))
            accepted += len(batch)
        rejected = {int(line): (raw, int(position), bad) for line, raw, position, bad in con.execute(
            "SELECT line, any_value(csv_line), min(line_byte_position), bool_or(error_type = 'INVALID ENCODING') "
            "FROM reject_errors GROUP BY line").fetchall()}
        kept = con.execute("SELECT count(*) FROM reject_errors").fetchone()[0]
    finally:
        con.close()
    return accepted, flagged, rejected, kept


def check_table(path: Path, *, delimiter: str, header_row: int, fields: list[Any], limit: int,
                lines: tuple[int, list[int]] | Callable[[], tuple[int, list[int]]] | None = None,
                memory_limit: str = "256MB", encoding: str | None = None) -> TableCheck | None:
    """The row errors of a UTF-8 delimited file whose header is line `header_row`, against frictionless
    `fields` (one per header cell); None when the file's records are not its lines (see the module doc).
    `lines` is the file's `line_facts` when the caller has them already, or a function that returns them
    once the scan is done (a thread counting them meanwhile). `encoding` 'latin-1' has DuckDB read an
    ISO-8859-1 file itself (it refuses one holding bytes 0x80-0x9F: a duckdb.Error naming latin-1)."""
    names = [f.name for f in fields]
    readers = [_cached(f.create_cell_reader()) for f in fields]
    n = len(fields)
    if n == 0:
        return None  # no header cells: nothing to scan by column
    cols = [f"c{i}" for i in range(n)]
    conditions = ["(" + " AND ".join(f"{c} = ''" for c in cols) + ")"]
    for c, field in zip(cols, fields):
        if field.type in UNCHECKED:
            continue
        safe = SAFE_FORMS.get(field.type)
        conditions.append(f"({c} <> '' AND NOT {safe(c)})" if safe else f"{c} <> ''")
    source = read_csv_sql(path, delimiter, header_row, cols, lenient=False,
                          options=f"all_varchar=true, nullstr={_lit(NULL_TEXT)}, parallel=true, store_rejects=true, "
                                  f"rejects_limit={limit + 1}" + (f", encoding={_lit(encoding)}" if encoding else ""))
    query = f"SELECT CASE WHEN {' OR '.join(conditions)} THEN [{', '.join(cols)}] END FROM {source}"

    accepted, flagged, rejected, kept = _scan(query, limit, memory_limit,
                                        lambda cells: bool(_row_errors(cells, readers, names, 0)))
    count, empty_lines = (lines() if callable(lines) else lines) or line_facts(path)
    empty = [line for line in empty_lines if line > header_row]
    if accepted + len(rejected) + len(empty) != count - header_row:
        return None
    # The k-th accepted record sits on the k-th line after the header that is neither empty nor rejected.
    skipped = sorted(set(empty) | set(rejected))
    shifted = [line - i for i, line in enumerate(skipped)]  # accepted lines before each skipped line, + header
    errors: list[ValidationError] = []
    for k, cells in flagged:
        line = header_row + k
        row = line + bisect.bisect_right(shifted, line)
        errors.extend(_row_errors(cells, readers, names, row))
    for line, (raw, _, _) in rejected.items():
        try:  # the raw line as Python's csv reads it, like frictionless; DuckDB keeps bits of a CRLF around it
            cells = next(csv.reader([raw.strip("\r\n")], delimiter=delimiter), [])
        except csv.Error:
            return None
        errors.extend(_row_errors(cells, readers, names, line))
    for line in empty:
        errors.extend(_row_errors([], readers, names, line))
    errors.sort(key=lambda e: (e.row, e.field_number or 0))
    return TableCheck(rows=count - header_row, errors=errors[:limit],
                      rejected=[(position, raw) for raw, position, _ in rejected.values()],
                      bad_encoding=any(bad for _, _, bad in rejected.values()), all_rejects=kept <= limit)
