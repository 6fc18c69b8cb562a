"""The tables inside a fetched file: the file itself when it is delimited text, else each XLSX or XLS
sheet, the rows of a JSON table (an array of objects or of arrays, or a GeoJSON FeatureCollection's
properties), and every delimited member of a ZIP.

Sheets and JSON tables are written out as UTF-8 CSV, ZIP members as their own bytes, into a
`<file>.tables/` folder beside the file, so that validation and profiling handle every table the same
way (encoding, preamble rows, DuckDB scans). The folder is rebuilt whenever the file changes.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator

from harvester.sniff import sniff

DELIMITED = ("CSV", "TSV")
CONTAINERS = ("XLSX", "XLS", "JSON", "GEOJSON", "ZIP", "DBF")
TEXT = ("TEXT",)
"""Text with no delimiter the sniffer trusts: a one-column table (or a file of comments) for the validator."""
CHUNK = 1 << 20


class TableError(ValueError):
    """The file claims to hold tables but they cannot be read."""


@dataclass(frozen=True)
class Table:
    part: str
    """'' for a delimited file itself; 'sheet:<name>', 'json', 'features' or 'member:<name>' otherwise."""
    path: Path
    source: str
    """What the table was read from, for the report: 'csv', 'xlsx sheet', 'zip member', ..."""
    delimiter: str | None = None
    """',' for the CSVs written here from sheets and JSON; None when it is for the validator to detect."""
    note: str | None = None
    """Said in the table's validation report: how a repeated name was told apart, or left out."""


def tables_dir(path: Path) -> Path:
    return path.with_name(path.name + ".tables")


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
        if kind == "XLSX":
            return _unique_parts([_write_csv(folder, f"sheet:{name}", rows, "xlsx sheet")
                                  for name, rows in _xlsx_sheets(path)])
        if kind == "XLS":
            return _unique_parts([_write_csv(folder, f"sheet:{name}", rows, "xls sheet")
                                  for name, rows in _xls_sheets(path)])
        if kind == "DBF":
            return [_write_csv(folder, "dbf", _dbf_rows(path), "dbf table")]
        if kind in ("JSON", "GEOJSON"):
            found = _json_rows(path)
            return [_write_csv(folder, found[0], found[1], found[0])] if found else []
        return _unique_parts(_zip_members(path, folder, max_member_bytes))
    except TableError:
        raise
    except Exception as exc:  # a workbook library's own exception types vary: one line, naming the file
        raise TableError(f"{path.name}: unreadable {kind}: {type(exc).__name__}: {str(exc)[:200]}") from exc


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


def _trimmed(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[Any]]:
    """Sheet rows without the empty cells a sheet's used range adds on the right."""
    for row in rows:
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        yield cells


def _xlsx_sheets(path: Path) -> Iterator[tuple[str, Iterator[list[Any]]]]:
    import openpyxl  # only where workbooks are read

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            yield sheet.title, _trimmed(sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _xls_sheets(path: Path) -> Iterator[tuple[str, Iterator[list[Any]]]]:
    import xlrd  # only where workbooks are read

    book = xlrd.open_workbook(str(path), on_demand=True)
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            rows = ([_xls_value(book, sheet.cell(r, c)) for c in range(sheet.ncols)] for r in range(sheet.nrows))
            yield sheet.name, _trimmed(tuple(row) for row in rows)
    finally:
        book.release_resources()


def _xls_value(book: Any, cell: Any) -> Any:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        return xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    return cell.value


def _dbf_rows(path: Path, encoding: str | None = None) -> list[list[str]]:
    """A dBase table's header and records, each cell as the text stored in the file (so numbers keep
    their digits, codes their leading zeros), dates as YYYY-MM-DD, logicals as true/false. The text's
    encoding is `encoding` (a shapefile's .cpg) when given, else UTF-8 when every text cell decodes as
    UTF-8, else cp1252 or Latin-1 as for a text file (INEGI writes Latin-1). Deleted records are left out."""
    from dbfread import DBF  # only where dBase tables are read

    table = DBF(str(path), raw=True, load=True, ignore_missing_memofile=True)
    kinds = [(f.name, f.type) for f in table.fields]
    text = b"".join(record[name] for record in table.records for name, kind in kinds if kind in "CM")
    codec = encoding or _dbf_codec(text)
    rows: list[list[str]] = [[name for name, _ in kinds]]
    for record in table.records:
        rows.append([_dbf_cell(record[name], kind, codec) for name, kind in kinds])
    return rows


def _dbf_codec(text: bytes) -> str:
    try:
        text.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        controls = [b for b in text if 0x80 <= b <= 0x9F]
        return "cp1252" if controls and not set(controls) & set(b"\x81\x8d\x8f\x90\x9d") else "latin-1"


def _dbf_cell(raw: bytes, kind: str, codec: str) -> str:
    value = raw.decode(codec).rstrip(" \x00") if kind in "CM" else raw.decode("latin-1").strip(" \x00")
    if kind == "D" and len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if kind == "L":
        return {"T": "true", "Y": "true", "t": "true", "y": "true", "F": "false", "N": "false", "f": "false",
                "n": "false"}.get(value, "")
    return value


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


def _zip_members(path: Path, folder: Path, max_member_bytes: int) -> list[Table]:
    """The delimited members, each copied out as its own bytes. A member repeating an earlier one's name
    and bytes (an archive appended to twice) is left out, with a note on the one kept."""
    tables: list[Table] = []
    kept: dict[tuple[str, str], int] = {}  # (name, sha256) -> index in tables
    repeats: dict[int, int] = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if info.is_dir() or name.suffix.lower() not in (".csv", ".tsv", ".txt"):
                continue
            target = _target(folder, str(name))
            written = 0
            digest = hashlib.sha256()
            with archive.open(info) as member, target.open("wb") as out:
                while chunk := member.read(CHUNK):
                    written += len(chunk)
                    if written > max_member_bytes:  # fetch checked it already; a bounded copy all the same
                        raise TableError(f"{path.name}: member {info.filename!r} is larger than {max_member_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            same = kept.get((info.filename, digest.hexdigest()))
            if same is not None:
                target.unlink()
                repeats[same] = repeats.get(same, 0) + 1
            elif sniff(target) in DELIMITED:
                kept[(info.filename, digest.hexdigest())] = len(tables)
                tables.append(Table(f"member:{info.filename}", target, "zip member"))
            else:
                target.unlink()
    for index, count in repeats.items():
        copies = "an identical copy" if count == 1 else f"{count} identical copies"
        tables[index] = replace(tables[index], note=f"{copies} of this member in the archive left out")
    return tables
