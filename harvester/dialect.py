"""A delimited file's dialect: delimiter, and the header row after any title or preamble rows.

INEGI-style tables put a title, a source line and blank rows above the real header, and notes below
the data. The header is the first row whose cell count matches the modal cell count of the rows that
follow it and whose cells are mostly non-empty text.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    header_row: int
    """1-based row number of the header."""
    columns: int
    header: tuple[str, ...]


class DialectError(ValueError):
    """The sample does not look like a delimited table; `fallback` is what frictionless would assume
    (the first row as header, the best delimiter found or a comma)."""

    def __init__(self, message: str, fallback: Dialect) -> None:
        super().__init__(message)
        self.fallback = fallback


def _rows(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            rows.append(row)
    except csv.Error:
        pass
    return rows[:-1] if len(rows) > 1 and not text.endswith("\n") else rows  # last line may be cut


def _modal_width(rows: list[list[str]]) -> tuple[int, float]:
    widths = Counter(len(r) for r in rows if any(c.strip() for c in r))
    if not widths:
        return 0, 0.0
    width, count = widths.most_common(1)[0]
    return width, count / sum(widths.values())


def detect_dialect(path: Path, encoding: str, delimiter: str | None = None) -> Dialect:
    """The delimiter (or the one given, for a file we wrote ourselves, which may have one column) and the
    header row."""
    with path.open("rb") as handle:
        text = handle.read(SAMPLE_BYTES).decode(encoding, errors="replace").lstrip("\ufeff")
    best: tuple[float, str, list[list[str]], int] | None = None
    for candidate in (delimiter,) if delimiter else DELIMITERS:
        rows = _rows(text, candidate)
        width, share = _modal_width(rows)
        if width < (1 if delimiter else 2):
            continue
        score = share * min(width, 50)
        if best is None or score > best[0]:
            best = (score, candidate, rows, width)
    if best is None:  # one column: its header is the first row that is not a comment line ('# Fuente: ...')
        rows = _rows(text, delimiter or ",")
        at = next((i for i, r in enumerate(rows) if r and r[0].strip() and not r[0].lstrip().startswith("#")), 0)
        first = rows[at] if rows else []
        raise DialectError(f"{path.name}: no delimiter gives more than one column",
                           Dialect(delimiter or ",", at + 1, len(first), tuple(c.strip() for c in first)))
    _, delimiter, rows, width = best
    for index, row in enumerate(rows):
        cells = [c.strip() for c in row]
        filled = [c for c in cells if c]
        if len(row) == width and len(filled) >= max(min(2, width), int(width * 0.6)) \
                and sum(not _numeric(c) for c in filled) >= len(filled) * 0.8:
            return Dialect(delimiter, index + 1, width, tuple(cells))
    first = rows[0] if rows else []
    raise DialectError(f"{path.name}: no header row with {width} named columns",
                       Dialect(delimiter, 1, len(first), tuple(c.strip() for c in first)))


def _numeric(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True
