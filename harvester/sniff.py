"""The real format of a file, from its first bytes, whatever the portal's `format` field claims."""
from __future__ import annotations

import csv
import io
import itertools
import json
import zipfile
from collections import Counter
from pathlib import Path

HEAD = 64 * 1024


def sniff(path: Path) -> str:
    """One of CSV, TSV, XLSX, XLS, JSON, GEOJSON, ZIP, GZIP, PDF, HTML, XML, SHP-ZIP, DBF, TEXT, BINARY, EMPTY."""
    with path.open("rb") as handle:
        head = handle.read(HEAD)
    if not head:
        return "EMPTY"
    if is_dbf(head, path.stat().st_size):
        return "DBF"
    if head.startswith(b"%PDF-"):
        return "PDF"
    if head.startswith(b"\x1f\x8b"):
        return "GZIP"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "XLS"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(path)
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    lowered = text[:512].lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:256] or b"<body" in lowered:
        return "HTML"
    if lowered.startswith(b"<?xml") or lowered.startswith(b"<kml"):
        return "XML"
    if text[:1] in (b"{", b"["):
        return _json_kind(path, text)
    if b"\x00" in head:
        return "BINARY"
    return _delimited_kind(head)


DBF_VERSIONS = frozenset({0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0x8E, 0xCB, 0xF5, 0xFB})


def is_dbf(head: bytes, size: int) -> bool:
    """A dBase table (a shapefile's attribute table, INEGI's census tables): a known version byte, a valid
    last-update date, a header that ends with 0x0D and a size that its record count and length explain."""
    if len(head) < 33 or head[0] not in DBF_VERSIONS or not (1 <= head[2] <= 12 and 1 <= head[3] <= 31):
        return False
    records = int.from_bytes(head[4:8], "little")
    header = int.from_bytes(head[8:10], "little")
    length = int.from_bytes(head[10:12], "little")
    if header < 65 or length < 2 or (header - 1 < len(head) and head[header - 1] != 0x0D and head[0] not in (0x30, 0x31, 0x32)):
        return False
    return header + records * length <= size <= header + records * length + 1 + 512


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n.lower() for n in archive.namelist()]
    except (zipfile.BadZipFile, OSError):
        return "BINARY"
    if "[content_types].xml" in names and any(n.startswith("xl/") for n in names):
        return "XLSX"
    if any(n.endswith(".shp") for n in names):
        return "SHP-ZIP"
    return "ZIP"


def _json_kind(path: Path, text: bytes) -> str:
    if b'"FeatureCollection"' in text[:4096] or b'"Feature"' in text[:4096]:
        return "GEOJSON"
    if path.stat().st_size <= HEAD:
        try:
            json.loads(text.decode("utf-8", "replace"))
        except ValueError:
            return "TEXT"
    return "JSON"


def _delimited_kind(head: bytes) -> str:
    """CSV or TSV when most records have the delimiter with a clear mode, else TEXT. Records are counted
    both as lines and as csv parses them (quote-aware): a real portal file whose quoted cells hold GeoJSON
    full of commas, or line breaks, has no clear mode by lines and a perfect one by records."""
    lines = [line for line in head.splitlines()[:200] if line.strip()]
    if len(head) == HEAD and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        return "TEXT"
    text = head.decode("utf-8", errors="replace")
    best, best_share = "TEXT", 0.0
    for delimiter, kind in (("\t", "TSV"), (",", "CSV"), (";", "CSV"), ("|", "CSV")):
        by_lines = [line.count(delimiter.encode()) for line in lines]
        for counts in (by_lines, _record_widths(text, delimiter, cut=len(head) == HEAD)):
            share = _clear_mode(counts)
            if share > best_share:
                best, best_share = kind, share
    return best


def _record_widths(text: str, delimiter: str, cut: bool) -> list[int]:
    """The number of delimiters (cells - 1) of each non-blank csv record of the first 200."""
    widths: list[int] = []
    try:
        for record in itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), 200):
            if any(cell.strip() for cell in record):
                widths.append(len(record) - 1)
    except csv.Error:
        pass
    return widths[:-1] if cut and len(widths) > 1 else widths


def _clear_mode(counts: list[int]) -> float:
    """The share of the modal count when most records have the delimiter with a clear mode, else 0.
    Ragged rows are for the validator to report."""
    if not counts:
        return 0.0
    tally = Counter(counts)
    present = sum(n for c, n in tally.items() if c >= 1) / len(counts)
    modal, modal_n = tally.most_common(1)[0]
    share = modal_n / len(counts)
    return share if modal >= 1 and present >= 0.8 and share >= 0.5 else 0.0
