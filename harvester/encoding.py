"""A text file's encoding, decided over the whole file, never from a sample.

Detectors that sample the start (frictionless with chardet) guess UTF-8 for a cp1252 file whose first
accented byte comes late, or a CJK codec for a short cp1252 sample. The decision here is exact for
what open-data portals publish: a BOM wins; else the whole file is run through a strict incremental
UTF-8 decoder (C speed, constant memory); if that fails anywhere, the file is cp1252 when it uses
cp1252's printable bytes 0x80-0x9F (€ “ ” – —) and ISO-8859-1 otherwise.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

CHUNK = 1 << 20
SAMPLE = 256 * 1024
# translate(None, _NOT_C1) keeps only the bytes 0x80-0x9F, at C speed.
_NOT_C1 = bytes(b for b in range(256) if not 0x80 <= b <= 0x9F)
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
BOM_UTF8_REASON = "UTF-8 byte order mark"
WHOLE_UTF8_REASON = "the whole file is valid UTF-8"
_EMPTY_LINE = re.compile(rb"\n(?=\r?\n)")  # the newline before an empty line (lookahead: they may follow each other)


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
        tail = len(self._tail)
        seen, counted = tail, self.lines  # the newlines of data[tail:seen] are in `counted`
        for match in _EMPTY_LINE.finditer(data):
            end = match.start() + (3 if data[match.start() + 1] == 13 else 2)  # after the empty line's newline
            if end > tail:  # an empty line is found by its own newline, in this chunk
                counted += data.count(b"\n", seen, end - 1)
                seen = end - 1
                self.empty.append(counted + 1)
        self.lines = counted + data.count(b"\n", seen)
        self._tail = data[-2:]

    def result(self) -> tuple[int, list[int]]:
        """(lines, sorted numbers of the empty lines); a last line without a newline counts."""
        return self.lines + (self._tail[-1:] != b"\n"), sorted(self.empty)


def count_lines(path: Path, lines: LineCounter) -> LineCounter:
    """Feed `lines` the whole file (and mark it complete)."""
    with path.open("rb") as handle:
        for chunk in _chunks(handle):
            lines.feed(chunk)
    lines.complete = True
    return lines


def utf8_lines(path: Path, lines: Iterable[tuple[int, str]]) -> bool:
    """Whether each line, given as DuckDB's rejects give it (the byte position it reports, its start or
    one past it, and the text it read), is those UTF-8 bytes in the file: the lines a DuckDB scan rejected,
    whose bytes it did not check. False when one is not, or cannot be found."""
    with path.open("rb") as handle:
        for position, text in lines:
            wanted = text.rstrip("\r\n")
            handle.seek(max(position - 1, 0))
            window = handle.read(len(wanted.encode("utf-8", "replace")) + 4)
            for start in (0, 1) if position > 0 else (0,):
                raw = window[start:].split(b"\n", 1)[0].rstrip(b"\r")
                try:
                    if raw.decode("utf-8") == wanted:
                        break
                except UnicodeDecodeError:
                    return False
            else:
                return False
    return True


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
            return Encoding("utf-8-sig", BOM_UTF8_REASON)
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
            return Encoding("utf-8", WHOLE_UTF8_REASON)
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
