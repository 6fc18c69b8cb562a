"""The real format of a file, from its first bytes, whatever the portal's `format` field claims."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

HEAD = 64 * 1024


def sniff(path: Path) -> str:
    """One of CSV, TSV, XLSX, XLS, JSON, GEOJSON, ZIP, GZIP, PDF, HTML, XML, SHP-ZIP, TEXT, BINARY, EMPTY."""
    with path.open("rb") as handle:
        head = handle.read(HEAD)
    if not head:
        return "EMPTY"
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
    lines = [line for line in io.BytesIO(head).read().splitlines()[:20] if line.strip()]
    if not lines:
        return "TEXT"
    sample = lines[-min(len(lines), 10):]  # the tail skips title rows above the header
    for delimiter, kind in ((b"\t", "TSV"), (b",", "CSV"), (b";", "CSV"), (b"|", "CSV")):
        counts = [line.count(delimiter) for line in sample]
        if min(counts) >= 1 and max(counts) - min(counts) <= max(1, max(counts) // 10):
            return kind
    return "TEXT"
