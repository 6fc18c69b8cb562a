"""The tables inside a fetched file: the file itself when it is delimited text, else each XLSX or XLS
sheet, the rows of a JSON table (an array of objects or of arrays, or a GeoJSON FeatureCollection's
properties), a dBase table, and every delimited or dBase member of a ZIP, a shapefile layer's attribute
table (its .dbf) among them.

Sheets, JSON and dBase tables are written out as UTF-8 CSV, delimited ZIP members as their own bytes,
into a `<file>.tables/` folder beside the file, so that validation and profiling handle every table the
same way (encoding, preamble rows, DuckDB scans). The folder is rebuilt whenever the file changes.

Beside the CSV of a sheet or of a dBase table lies its Table Schema, `<csv name>.schema.json`
(`schema_path`): the types the file itself declares for its columns, which a CSV cannot carry. A dBase
field has a declared type (C character, N numeric, D date, L logical, ...); a sheet's cells have theirs
(text, number, date). A character field or a column of text cells is `string` even when its values look
like numbers (INEGI's CVE_ENT '01'): the leading zeros are data.

A shapefile's geometry (.shp) is not read: only its attribute table is a table. The attribute table's
text encoding comes from the layer's .cpg when there is one, else from the dBase language driver byte,
else it is guessed from the bytes; the table's note says which.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import itertools
import json
import re
import shutil
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator

from harvester.archives import scan
from harvester.dialect import SAMPLE_BYTES, DialectError, detect_dialect
from harvester.sniff import HEAD, is_dbf, sniff

DELIMITED = ("CSV", "TSV")
CONTAINERS = ("XLSX", "XLS", "JSON", "GEOJSON", "ZIP", "SHP-ZIP", "DBF")
TEXT = ("TEXT",)
"""Text with no delimiter the sniffer trusts: a one-column table (or a file of comments) for the validator."""
CHUNK = 1 << 20
HEADER_ROWS = 50
"""The rows at the top of a sheet searched for a header over two rows."""
MAX_MERGES = 10_000
"""Merged ranges of a sheet's top rows that are looked at (a sheet of millions of merges is no header)."""


class TableError(ValueError):
    """The file claims to hold tables but they cannot be read."""


@dataclass(frozen=True)
class Table:
    part: str
    """'' for a delimited file itself; 'sheet:<name>', 'json', 'features', 'dbf', 'member:<name>' or
    'layer:<shapefile path without .shp>' otherwise."""
    path: Path
    source: str
    """What the table was read from, for the report: 'csv', 'xlsx sheet', 'zip member', ..."""
    delimiter: str | None = None
    """',' for the CSVs written here from sheets and JSON; None when it is for the validator to detect."""
    note: str | None = None
    """Said in the table's validation report: how a repeated name was told apart, or left out, where a
    dBase table's encoding comes from, how a two-row header was joined."""
    schema: Path | None = None
    """The Table Schema sidecar with the column types the file declares (sheets and dBase tables)."""


def tables_dir(path: Path) -> Path:
    return path.with_name(path.name + ".tables")


def schema_path(table: Path) -> Path:
    """The Table Schema sidecar of a table CSV written here: `<csv name>.schema.json` beside it."""
    return table.with_name(table.name + ".schema.json")


def extract_tables(path: Path, kind: str, *, max_member_bytes: int) -> list[Table]:
    """The tables of a fetched file whose sniffed format is `kind`; raises TableError for an unreadable one."""
    if kind in DELIMITED:
        return [Table("", path, kind.lower())]
    if kind in TEXT:
        return [Table("", path, "text", note="no delimiter found in the text: read as a one-column table")]
    folder = tables_dir(path)
    shutil.rmtree(folder, ignore_errors=True)
    if kind not in CONTAINERS:
        return []
    folder.mkdir(parents=True)
    try:
        return _unique_parts(_tables_of(path, kind, folder, max_member_bytes))
    except TableError:
        raise
    except Exception as exc:  # a workbook library's own exception types vary: one line, naming the file
        message = " ".join(str(exc).split())[:200]
        raise TableError(f"{path.name}: unreadable {kind}: {type(exc).__name__}: {message}") from exc


def _tables_of(path: Path, kind: str, folder: Path, max_member_bytes: int) -> list[Table]:
    if kind == "XLSX":
        return [_write_sheet(folder, f"sheet:{sheet.name}", sheet, "xlsx sheet") for sheet in _xlsx_sheets(path)]
    if kind == "XLS":
        return [_write_sheet(folder, f"sheet:{sheet.name}", sheet, "xls sheet") for sheet in _xls_sheets(path)]
    if kind == "DBF":
        return [_dbf_table(folder, "dbf", path, "dbf table", path.name, cpg=None)]
    if kind in ("JSON", "GEOJSON"):
        found = _json_rows(path)
        return [_write_csv(folder, found[0], found[1], found[0])] if found else []
    return _zip_tables(path, folder, max_member_bytes)


def _safe_name(part: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in part)
    return cleaned.strip("._")[:100] or "table"


def _target(folder: Path, part: str) -> Path:
    """The CSV a table is written to: named after its part, with a number when two parts clean to one name
    ('Hoja 1' and 'Hoja_1'), so that no table overwrites another."""
    target = folder / (_safe_name(part) + ".csv")
    number = 2
    while target.exists():
        target = folder / f"{_safe_name(part)}-{number}.csv"
        number += 1
    return target


def _unique_parts(tables: list[Table]) -> list[Table]:
    """Each table of a file under a part of its own (the store keeps one validation per part): a repeated
    name, such as two members of one ZIP with the same name and different contents, gets a number."""
    taken: set[str] = set()
    unique = []
    for table in tables:
        part, number = table.part, 2
        while part in taken:
            part, number = f"{table.part} ({number})", number + 1
        if part != table.part:
            note = f"the file holds more than one table named {table.part!r}: this is number {number - 1}"
            table = replace(table, part=part, note="; ".join(filter(None, [table.note, note])))
        taken.add(part)
        unique.append(table)
    return unique


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _write_csv(folder: Path, part: str, rows: Iterable[Iterable[Any]], source: str) -> Table:
    target = _target(folder, part)
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        for row in rows:
            writer.writerow([_text(v) for v in row])
    return Table(part, target, source, ",")


def _write_schema(table: Path, fields: list[tuple[str, str]]) -> Path:
    """The Table Schema sidecar of `table`: {"fields": [{"name", "type"}, ...]} in column order."""
    target = schema_path(table)
    schema = {"fields": [{"name": name, "type": kind} for name, kind in fields]}
    target.write_text(json.dumps(schema, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return target


# Sheets ------------------------------------------------------------------------------------------------

Cell = tuple[Any, str | None]
"""A sheet cell: its value and its kind in the workbook, 's' text, 'n' number, 'd' date or time,
'b' boolean, 'e' error, None when empty."""
Merge = tuple[int, int, int]
"""A range merged over one row of a sheet: (row, first column, last column), 0-based, inclusive."""


@dataclass
class _Sheet:
    name: str
    rows: Iterator[list[Cell]]
    merges: list[Merge]
    """The horizontal merges of the sheet's top HEADER_ROWS rows."""


def _trimmed(rows: Iterable[list[Cell]]) -> Iterator[list[Cell]]:
    """Sheet rows without the empty cells a sheet's used range adds on the right."""
    for cells in rows:
        while cells and cells[-1][0] is None:
            cells.pop()
        yield cells


def _xlsx_sheets(path: Path) -> Iterator[_Sheet]:
    import openpyxl  # only where workbooks are read

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            rows = ([_xlsx_cell(cell) for cell in row] for row in sheet.iter_rows())
            yield _Sheet(sheet.title, _trimmed(rows), _xlsx_merges(path, getattr(sheet, "_worksheet_path", None)))
    finally:
        book.close()


def _xlsx_cell(cell: Any) -> Cell:
    """A read-only openpyxl cell. A number in a date format is a date already (openpyxl reads the serial
    number with the workbook's epoch), a date-formatted serial out of the calendar's range an error cell."""
    if cell.value is None:
        return None, None
    return cell.value, cell.data_type


_MERGE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^<>]*?\bref\s*=\s*[\"']\s*([A-Za-z]{1,3})(\d{1,7})"
                    rb":([A-Za-z]{1,3})(\d{1,7})\s*[\"']")


def _xlsx_merges(path: Path, part: str | None) -> list[Merge]:
    """The horizontal merged ranges at the top of a worksheet, read from its XML as a stream (openpyxl's
    read-only mode does not read them)."""
    from openpyxl.utils.cell import column_index_from_string

    if not part:
        return []
    merges: list[Merge] = []
    with zipfile.ZipFile(path) as archive:
        names = {n.lower(): n for n in archive.namelist()}
        member = names.get(part.lstrip("/").lower())
        if member is None:
            return []
        with archive.open(member) as stream:
            for _, match in scan(stream, _MERGE, 256):
                first_row, last_row = int(match[2]) - 1, int(match[4]) - 1
                first, last = (column_index_from_string(match[i].decode().upper()) - 1 for i in (1, 3))
                if first_row == last_row < HEADER_ROWS and last > first:
                    merges.append((first_row, first, last))
                    if len(merges) >= MAX_MERGES:
                        break
    return merges


def _xls_sheets(path: Path) -> Iterator[_Sheet]:
    import xlrd  # only where workbooks are read

    book = xlrd.open_workbook(str(path), on_demand=True, formatting_info=True)  # formatting: the merges
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            rows = ([_xls_cell(book, sheet.cell(r, c)) for c in range(sheet.ncols)] for r in range(sheet.nrows))
            merges = [(low, first, end - 1) for low, high, first, end in sheet.merged_cells
                      if high - low == 1 and end - first > 1 and low < HEADER_ROWS]
            yield _Sheet(sheet.name, _trimmed(rows), merges[:MAX_MERGES])
    finally:
        book.release_resources()


def _xls_cell(book: Any, cell: Any) -> Cell:
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None, None
    if cell.ctype == xlrd.XL_CELL_DATE:
        return _xls_date(cell.value, book.datemode)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value), "b"
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERROR"), "e"
    return cell.value, "s" if cell.ctype == xlrd.XL_CELL_TEXT else "n"


def _xls_date(serial: float, datemode: int) -> Cell:
    """A date-formatted number: a date, a date and time, or (below 1) a time of day; a serial out of
    range stays the number it is."""
    import xlrd

    try:
        moment = xlrd.xldate.xldate_as_datetime(serial, datemode)
    except (ValueError, OverflowError, xlrd.xldate.XLDateError):
        return serial, "n"
    return (moment.time() if 0 <= serial < 1 else moment), "d"


def _filled(value: Any) -> bool:
    return value is not None and _text(value).strip() != ""


def _flat_header(rows: list[list[Cell]], merges: list[Merge]) -> tuple[list[list[Cell]], str | None]:
    """The top rows of a sheet with a header over two rows (group cells merged over their sub-headers)
    joined into one: 'Población' over 'Hombres' is 'Población Hombres'. Title rows above stay."""
    for r in range(min(len(rows) - 1, HEADER_ROWS)):
        spans = [m for m in merges if m[0] == r]
        if spans and _is_group_row(rows[r], rows[r + 1], spans):
            note = (f"the header spans two rows (sheet rows {r + 1} and {r + 2}: group cells merged over "
                    "sub-headers): written as one row, each sub-header after its group's label")
            return rows[:r] + [_joined(rows[r], rows[r + 1], spans)] + rows[r + 2:], note
    return rows, None


def _is_group_row(group: list[Cell], sub: list[Cell], spans: list[Merge]) -> bool:
    """Whether `group` is the upper row of a two-row header over `sub`: text cells only, at least one of
    them merged over two or more sub-headers (text, or whole numbers such as years), and every other label
    over an empty cell (a label of both rows). A title merged over the header is no group."""
    top = {c: kind for c, (value, kind) in enumerate(group) if _filled(value)}
    below = {c: (value, kind) for c, (value, kind) in enumerate(sub) if _filled(value)}
    if not top or set(top.values()) != {"s"}:
        return False
    if any(kind != "s" and not (kind == "n" and float(value).is_integer()) for value, kind in below.values()):
        return False
    groups = [(first, last) for _, first, last in spans
              if first in top and sum(c in below for c in range(first, last + 1)) >= 2]
    inside = {c for first, last in groups for c in range(first, last + 1)}
    if not groups or any(c in below for c in top if c not in inside):
        return False
    return len(top) >= 2 or any(c not in inside for c in below)


def _joined(group: list[Cell], sub: list[Cell], spans: list[Merge]) -> list[Cell]:
    """One header row from two: each column's group label (carried across its merged span), then its
    sub-header."""
    labels = {c: group[first][0] for _, first, last in spans if first < len(group)
              for c in range(first, last + 1)}
    cells: list[Cell] = []
    for c in range(max(len(group), len(sub))):
        top = labels.get(c, group[c][0] if c < len(group) else None)
        below = sub[c][0] if c < len(sub) else None
        cells.append((" ".join(_text(v).strip() for v in (top, below) if _filled(v)), "s"))
    return cells


def _cell_type(value: Any, kind: str | None) -> str | None:
    """The Table Schema type a non-empty cell declares, None for an empty one."""
    if not _filled(value):
        return None
    if kind == "n":
        return "integer" if isinstance(value, int) or (isinstance(value, float) and value.is_integer()) else "number"
    if kind == "d":
        if isinstance(value, dt.datetime):
            return "date" if value.time() == dt.time() else "datetime"
        return "date" if isinstance(value, dt.date) else "time" if isinstance(value, dt.time) else "any"
    return {"s": "string", "b": "boolean"}.get(kind or "", "any")


def _column_type(types: set[str]) -> str:
    """A column's type from its cells' types: one type, or 'number' for whole and decimal numbers together;
    'any' for a column of mixed (or no) cells."""
    if len(types) == 1:
        return next(iter(types))
    return "number" if types == {"integer", "number"} else "any"


class _ColumnTypes:
    """The cell types of a sheet's rows: row by row for the rows the dialect detector reads (the header is
    among them), column by column for the rest."""

    def __init__(self) -> None:
        self.head: list[list[str | None]] = []
        self.tail: list[set[str]] = []
        self.written = 0

    def add(self, types: list[str | None], written: int) -> None:
        if self.written <= SAMPLE_BYTES:
            self.head.append(types)
        else:
            self.tail.extend(set() for _ in range(len(types) - len(self.tail)))
            for column, kind in enumerate(types):
                if kind:
                    self.tail[column].add(kind)
        self.written += written

    def types(self, header_row: int, width: int) -> list[str]:
        """The type of each of `width` columns, from the rows below the 1-based `header_row`."""
        found: list[set[str]] = [set(self.tail[c]) if c < len(self.tail) else set() for c in range(width)]
        for row in self.head[header_row:]:
            for column, kind in enumerate(row[:width]):
                if kind:
                    found[column].add(kind)
        return [_column_type(types) for types in found]


def _write_sheet(folder: Path, part: str, sheet: _Sheet, source: str) -> Table:
    """A sheet as CSV (a two-row header joined into one) and its Table Schema sidecar."""
    head, note = _flat_header(list(itertools.islice(sheet.rows, HEADER_ROWS + 1)), sheet.merges)
    target = _target(folder, part)
    types = _ColumnTypes()
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        for row in itertools.chain(head, sheet.rows):
            written = writer.writerow([_text(value) for value, _ in row])
            types.add([_cell_type(value, kind) for value, kind in row], written)
    try:  # the header as the validator will find it: after any title rows
        dialect = detect_dialect(target, "utf-8", ",")
    except DialectError as exc:
        dialect = exc.fallback
    names = _header_cells(target, dialect.header_row, len(dialect.header))
    fields = list(zip(names, types.types(dialect.header_row, len(names))))
    return Table(part, target, source, ",", note=note, schema=_write_schema(target, fields))


def _header_cells(path: Path, row: int, width: int) -> list[str]:
    """The cells of a CSV's 1-based `row` as written ('Clave Región ' keeps its space), `width` of them."""
    with path.open(encoding="utf-8", newline="") as handle:
        cells = next(itertools.islice(csv.reader(handle), row - 1, None), [])
    return (cells + [""] * width)[:width]


# dBase tables ------------------------------------------------------------------------------------------

DBF_TYPES = {"C": "string", "M": "string", "D": "date", "L": "boolean", "F": "number", "I": "integer",
             "+": "integer", "O": "number", "Y": "number", "T": "datetime", "@": "datetime"}
"""Table Schema types of dBase field types; N is 'integer' without decimals, else 'number'."""
LOGICAL = {"T": "true", "Y": "true", "t": "true", "y": "true", "F": "false", "N": "false", "f": "false",
           "n": "false", "?": "", "": ""}


def _dbf_type(field: Any) -> str:
    if field.type == "N":
        return "integer" if field.decimal_count == 0 else "number"
    return DBF_TYPES.get(field.type, "any")


def _dbf_table(folder: Path, part: str, path: Path, source: str, label: str, cpg: str | None) -> Table:
    """A dBase table as CSV, with its declared types as the Table Schema sidecar; `label` names it in
    errors ('00mun.dbf', "mg.zip: 'mg/00mun.dbf'"), `cpg` is its shapefile's .cpg text."""
    from dbfread import DBF  # only where dBase tables are read

    with path.open("rb") as handle:
        if not is_dbf(handle.read(HEAD), path.stat().st_size):
            raise TableError(f"{label}: not a dBase table (its header does not describe its records)")
    table = DBF(str(path), encoding="latin-1", raw=True, recfactory=None, ignore_missing_memofile=True)
    codec, note = _dbf_encoding(table, cpg)
    written = _write_csv(folder, part, _dbf_rows(path, codec), source)
    fields = [(_dbf_name(f.name, codec), _dbf_type(f)) for f in table.fields]
    return replace(written, note=note, schema=_write_schema(written.path, fields))


def _dbf_name(name: str, codec: str) -> str:
    """A field name as dbfread read it (Latin-1), in the table's own encoding."""
    return name.encode("latin-1").decode(codec, errors="replace")


def _dbf_rows(path: Path, codec: str) -> Iterator[list[str]]:
    """A dBase table's header and records, each cell as the text stored in the file (so numbers keep
    their digits, codes their leading zeros), dates as YYYY-MM-DD, logicals as true/false, text decoded
    with `codec`. Deleted records are left out."""
    from dbfread import DBF

    table = DBF(str(path), encoding="latin-1", parserclass=_text_parser(codec), recfactory=None,
                ignore_missing_memofile=True)
    yield [_dbf_name(f.name, codec) for f in table.fields]
    for record in table:
        yield [value for _, value in record]


def _text_parser(codec: str) -> type:
    """A dbfread field parser that gives every cell as text, decoding character fields with `codec`."""
    from dbfread import FieldParser

    class TextParser(FieldParser):  # type: ignore[misc]
        def decode_text(self, text: bytes) -> str:
            return text.decode(codec, errors="replace")

        def parse(self, field: Any, data: bytes) -> str:
            return _text(super().parse(field, data))

        def parseN(self, field: Any, data: bytes) -> str:
            return data.decode("latin-1").strip(" \x00")

        parseF = parseN

        def parseD(self, field: Any, data: bytes) -> str:
            text = data.decode("latin-1").strip(" \x00")
            if len(text) == 8 and text.isdigit():
                return "" if not text.strip("0") else f"{text[:4]}-{text[4:6]}-{text[6:]}"
            return text

        def parseL(self, field: Any, data: bytes) -> str:
            text = data.decode("latin-1").strip(" \x00")
            return LOGICAL.get(text, text)

    return TextParser


def _dbf_encoding(table: Any, cpg: str | None) -> tuple[str, str]:
    """The codec of a dBase table's text and the note saying where it comes from: the .cpg, else the
    language driver byte, else a guess from the bytes (UTF-8 when they decode as UTF-8, cp1252 when they
    hold its punctuation in 0x80-0x9F, else Latin-1, as INEGI writes)."""
    declared, said = _declared_codec(cpg, table.header.language_driver)
    text = [i for i, f in enumerate(table.fields) if f.type == "C"]
    cells = itertools.chain((f.name.encode("latin-1") for f in table.fields),
                            (record[i][1] for record in table for i in text))
    seen = _TextBytes(declared)
    for cell in cells:
        seen.add(cell)
    guess = seen.guess()
    if seen.ascii:
        return declared or "utf-8", f"{said}; its text is ASCII: read as {declared or 'utf-8'}"
    if declared and seen.declared_ok:
        if declared == "iso8859-1" and seen.cp1252_only():
            return "cp1252", f"{said}, but its text holds cp1252's punctuation (bytes 0x80-0x9F): read as cp1252"
        return declared, f"text read as {declared}: {said}"
    if declared:
        return guess, f"{said}, but its text is not {declared}: read as {guess}, guessed from the bytes"
    return guess, f"{said}: text read as {guess}, guessed from the bytes"


def _declared_codec(cpg: str | None, driver: int) -> tuple[str | None, str]:
    """The codec a layer's .cpg or a table's language driver byte declares, and how to say so."""
    from dbfread.codepages import guess_encoding

    unknown = ""
    if cpg is not None:
        codec = _cpg_codec(cpg)
        if codec:
            return codec, f"its .cpg says {cpg!r}"
        unknown = f"its .cpg says {cpg!r}, no code page known here; "
    try:
        codec = codecs.lookup(guess_encoding(driver)).name if driver else None
    except LookupError:
        codec = None
    if codec:
        return codec, f"{unknown}its language driver byte 0x{driver:02x} says {codec}"
    driver_said = f"an unknown language driver byte 0x{driver:02x}" if driver else "no language driver byte"
    return None, f"{unknown or 'no .cpg, '}{driver_said}"


def _cpg_codec(text: str) -> str | None:
    """The codec a .cpg names: 'UTF-8', 'ISO 88591', '88591', '1252', 'ANSI 1252', 'CP1252', 'LATIN1' ..."""
    key = re.sub(r"[\s_-]", "", text).upper()
    for prefix in ("ANSI", "WINDOWS", "CP", "OEM"):
        key = key.removeprefix(prefix)
    if key in ("UTF8", "65001"):
        return "utf-8"
    iso = re.fullmatch(r"(?:ISO)?8859(\d{1,2})", key)
    name = f"iso8859-{iso[1]}" if iso else f"cp{key}" if key.isdigit() else "latin-1" if key == "LATIN1" else text
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


class _TextBytes:
    """What a dBase table's text bytes allow: UTF-8, the declared codec, cp1252's punctuation."""

    def __init__(self, declared: str | None) -> None:
        self.declared = declared
        self.declared_ok = declared is not None
        self.utf8 = True
        self.ascii = True
        self.c1: set[int] = set()

    def add(self, cell: bytes) -> None:
        if cell.isascii():
            return
        self.ascii = False
        self.utf8 = self.utf8 and _decodes(cell, "utf-8")
        if self.declared_ok and self.declared:
            self.declared_ok = _decodes(cell, self.declared)
        self.c1.update(b for b in cell if 0x80 <= b <= 0x9F)

    def cp1252_only(self) -> bool:
        """Bytes 0x80-0x9F that are cp1252's letters and punctuation (Latin-1's control characters)."""
        return bool(self.c1) and not self.c1 & set(b"\x81\x8d\x8f\x90\x9d")

    def guess(self) -> str:
        return "utf-8" if self.utf8 else "cp1252" if self.cp1252_only() else "iso8859-1"


def _decodes(cell: bytes, codec: str) -> bool:
    """Whether a cell decodes, its last character allowed to be cut by the field's width."""
    try:
        codecs.getincrementaldecoder(codec)().decode(cell.rstrip(b" \x00"), final=False)
    except UnicodeDecodeError:
        return False
    return True


# JSON --------------------------------------------------------------------------------------------------

def _json_rows(path: Path) -> tuple[str, list[list[Any]]] | None:
    """('json' or 'features', rows with a header) for a JSON table, None for JSON that is not a table."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TableError(f"{path.name}: not valid JSON: {str(exc)[:200]}") from exc
    part = "json"
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        part = "features"
        data = [f.get("properties") or {} for f in data.get("features") or [] if isinstance(f, dict)]
    elif isinstance(data, dict):  # {"data": [...]} or {"results": [...]}: the first list of records
        data = next((v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], (dict, list))), None)
    if not isinstance(data, list) or not data:
        return None
    if all(isinstance(r, dict) for r in data):
        header: dict[str, None] = {}
        for record in data:
            header.update(dict.fromkeys(record))
        names = list(header)
        return part, [names] + [[record.get(k) for k in names] for record in data]
    if all(isinstance(r, list) for r in data):
        return part, [list(r) for r in data]
    return None


# ZIP archives ------------------------------------------------------------------------------------------

def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    return PurePosixPath(info.filename.replace("\\", "/"))


class _Members:
    """Copies members out of an open ZIP, each and all together within `limit` bytes: the bound that
    fetch's archive inspection (archives.inspect_zip) already held the file to, kept while copying."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, limit: int) -> None:
        self.path, self.archive, self.limit, self.total = path, archive, limit, 0

    def copy(self, info: zipfile.ZipInfo, target: Path) -> str:
        """Copy a member to `target`; its sha256."""
        written = 0
        digest = hashlib.sha256()
        with self.archive.open(info) as member, target.open("wb") as out:
            while chunk := member.read(CHUNK):
                written += len(chunk)
                self.total += len(chunk)
                if written > self.limit:  # fetch checked it already; a bounded copy all the same
                    raise TableError(f"{self.path.name}: member {info.filename!r} is larger than {self.limit} bytes")
                if self.total > self.limit:
                    raise TableError(f"{self.path.name}: its members expand past {self.limit} bytes in all")
                digest.update(chunk)
                out.write(chunk)
        return digest.hexdigest()

    def head(self, info: zipfile.ZipInfo, size: int) -> bytes:
        with self.archive.open(info) as member:
            return member.read(size)


def _zip_tables(path: Path, folder: Path, max_member_bytes: int) -> list[Table]:
    """The delimited members of a ZIP, and its dBase members: shapefile layers' attribute tables (part
    'layer:<path without .shp>') and lone dBase tables (part 'member:<name>')."""
    with zipfile.ZipFile(path) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        members = _Members(path, archive, max_member_bytes)
        tables = _delimited_members(infos, folder, members)
        layers = _dbf_members(path, infos, folder, members)
    bare = _layers_without_table(infos)
    if bare and not tables and not layers:
        raise TableError(f"{path.name}: shapefile without attribute table: {bare[0]!r} has no .dbf beside it "
                         "(its geometry is not read as a table)")
    if bare and layers:
        said = ", ".join(repr(name) for name in bare[:3]) + (" ..." if len(bare) > 3 else "")
        note = f"shapefile without attribute table: {said} in the same archive has no .dbf beside it"
        layers[0] = replace(layers[0], note="; ".join(filter(None, [layers[0].note, note])))
    return tables + layers


def _delimited_members(infos: list[zipfile.ZipInfo], folder: Path, members: _Members) -> list[Table]:
    """The delimited members, each copied out as its own bytes. A member repeating an earlier one's name
    and bytes (an archive appended to twice) is left out, with a note on the one kept."""
    tables: list[Table] = []
    kept: dict[tuple[str, str], int] = {}  # (name, sha256) -> index in tables
    repeats: dict[int, int] = {}
    for info in infos:
        name = _member_path(info)
        if name.suffix.lower() not in (".csv", ".tsv", ".txt"):
            continue
        target = _target(folder, str(name))
        digest = members.copy(info, target)
        same = kept.get((info.filename, digest))
        if same is not None:
            target.unlink()
            repeats[same] = repeats.get(same, 0) + 1
        elif sniff(target) in DELIMITED:
            kept[(info.filename, digest)] = len(tables)
            tables.append(Table(f"member:{info.filename}", target, "zip member"))
        else:
            target.unlink()
    for index, count in repeats.items():
        copies = "an identical copy" if count == 1 else f"{count} identical copies"
        tables[index] = replace(tables[index], note=f"{copies} of this member in the archive left out")
    return tables


def _siblings(infos: list[zipfile.ZipInfo]) -> dict[tuple[str, str], zipfile.ZipInfo]:
    """Members by (path without suffix, suffix), both lower case: a layer's .shp, .dbf, .cpg, ..."""
    found: dict[tuple[str, str], zipfile.ZipInfo] = {}
    for info in infos:
        name = _member_path(info)
        found.setdefault((str(name.with_suffix("")).lower(), name.suffix.lower()), info)
    return found


def _layers_without_table(infos: list[zipfile.ZipInfo]) -> list[str]:
    siblings = _siblings(infos)
    return [info.filename for (stem, suffix), info in siblings.items() if suffix == ".shp"
            and (stem, ".dbf") not in siblings]


def _dbf_members(path: Path, infos: list[zipfile.ZipInfo], folder: Path, members: _Members) -> list[Table]:
    """Every .dbf member as a table: copied out (with its memo file) to a scratch folder, read with its
    layer's .cpg, written as CSV and its schema."""
    siblings = _siblings(infos)
    tables: list[Table] = []
    for index, info in enumerate(infos):
        name = _member_path(info)
        stem = str(name.with_suffix(""))
        if name.suffix.lower() != ".dbf" or siblings.get((stem.lower(), ".dbf")) is not info:
            continue
        scratch = folder / f".dbf-{index}"
        scratch.mkdir()
        try:
            members.copy(info, scratch / "table.dbf")
            for memo in (".dbt", ".fpt"):
                if (stem.lower(), memo) in siblings:
                    members.copy(siblings[(stem.lower(), memo)], scratch / f"table{memo}")
            cpg = siblings.get((stem.lower(), ".cpg"))
            text = members.head(cpg, 256).decode("latin-1").strip("\ufeff\x00 \r\n\t") if cpg else None
            layer = (stem.lower(), ".shp") in siblings
            tables.append(_dbf_table(folder, f"layer:{stem}" if layer else f"member:{info.filename}",
                                     scratch / "table.dbf", "shapefile attribute table" if layer else "zip member",
                                     f"{path.name}: {info.filename!r}", text))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return tables
