"""A text file's encoding, decided over the whole file, never from a sample.

Detectors that sample the start (frictionless with chardet) guess UTF-8 for a cp1252 file whose first
accented byte comes late, or a CJK codec for a short cp1252 sample. The decision here is exact for
what open-data portals publish: a BOM wins; else the whole file is run through a strict incremental
UTF-8 decoder (C speed, constant memory); if that fails anywhere, the file is cp1252 when it uses
cp1252's printable bytes 0x80-0x9F (€ “ ” – —) and ISO-8859-1 otherwise.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

CHUNK = 1 << 20
SAMPLE = 256 * 1024
# translate(None, _NOT_C1) keeps only the bytes 0x80-0x9F, at C speed.
_NOT_C1 = bytes(b for b in range(256) if not 0x80 <= b <= 0x9F)
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


@dataclass(frozen=True)
class Encoding:
    name: str
    """A Python codec name: utf-8, utf-8-sig, utf-16, cp1252 or latin-1."""
    reason: str
    first_non_utf8_offset: int | None = None


class LineCounter:
    """Counts a text file's lines and finds its empty ones ("\n" or "\r\n" right after a newline) from
    its chunks, at memchr speed: the validator's DuckDB scan skips empty lines that frictionless numbers."""

    def __init__(self) -> None:
        self.lines = 0
        self.empty: list[int] = []
        self._tail = b"\n"  # the previous chunk's last bytes: the first line starts after a newline
        self.complete = False
        """Set by whoever fed the whole file."""

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk
        for pattern in (b"\n\n", b"\n\r\n") if b"\r" in data else (b"\n\n",):
            at = data.find(pattern)
            while at >= 0:
                end = at + len(pattern)
                if end > len(self._tail):  # an empty line is found by its own newline, in this chunk
                    self.empty.append(self.lines + data.count(b"\n", len(self._tail), end - 1) + 1)
                at = data.find(pattern, at + 1)
        self.lines += chunk.count(b"\n")
        self._tail = data[-2:]

    def result(self) -> tuple[int, list[int]]:
        """(lines, sorted numbers of the empty lines); a last line without a newline counts."""
        return self.lines + (self._tail[-1:] != b"\n"), sorted(self.empty)


def utf8_start(path: Path, size: int = SAMPLE) -> str | None:
    """'utf-8' or 'utf-8-sig' when the file's first `size` bytes are UTF-8 (a sequence cut at the end
    allowed), else None. Only a guess, for work that can start before `detect_encoding` has read every byte."""
    with path.open("rb") as handle:
        head = handle.read(size)
    try:  # a UTF-16 byte order mark is no UTF-8
        codecs.getincrementaldecoder("utf-8")("strict").decode(head)
    except UnicodeDecodeError:
        return None
    return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"


def detect_encoding(path: Path, lines: LineCounter | None = None) -> Encoding:
    """The encoding; `lines`, when given, is fed the file's bytes on the way (one read for both)."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return Encoding("utf-8-sig", "UTF-8 byte order mark")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return Encoding("utf-16", "UTF-16 byte order mark")
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        offset = 0
        c1 = undefined = False
        failed_at: int | None = None
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            if lines is not None:
                lines.feed(chunk)
            if failed_at is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    failed_at = offset + exc.start
            if failed_at is not None:
                # Bytes before the failure were valid UTF-8, whose continuation bytes are not C1 text:
                # looking from the failing chunk on is enough.
                controls = chunk.translate(None, _NOT_C1)
                c1 = c1 or bool(controls)
                undefined = undefined or not _CP1252_UNDEFINED.isdisjoint(controls)
            offset += len(chunk)
        if lines is not None:
            lines.complete = True
        if failed_at is None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                failed_at = offset
        if failed_at is None:
            return Encoding("utf-8", "the whole file is valid UTF-8")
    if c1 and not undefined:
        return Encoding("cp1252", f"not UTF-8 (first bad byte at {failed_at}); uses cp1252's 0x80-0x9F "
                                  "characters", failed_at)
    return Encoding("latin-1", f"not UTF-8 (first bad byte at {failed_at}); ISO-8859-1", failed_at)


def transcode_to_utf8(source: BinaryIO, target: BinaryIO, encoding: str) -> int:
    """Stream `source` in `encoding` to UTF-8 in `target` with constant memory; returns bytes written.

    DuckDB reads only UTF-8, UTF-16 and Latin-1 (and its Latin-1 refuses cp1252's 0x80-0x9F)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    written = 0
    for chunk in _chunks(source):
        data = decoder.decode(chunk).encode("utf-8")
        target.write(data)
        written += len(data)
    tail = decoder.decode(b"", final=True).encode("utf-8")
    target.write(tail)
    return written + len(tail)


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    return iter(lambda: source.read(CHUNK), b"")
