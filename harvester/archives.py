"""Archive safety: zip and gzip bombs, and zip members whose names leave their folder.

Declared sizes can lie, so members are also decompressed as a stream and counted, stopping at the first
cap reached: the work is bounded by the caps whatever the archive claims. The caps hold per member
(`max_member_bytes`, and `max_ratio` once a member passes 10 MiB) and for the whole file: every member
together (`max_total_bytes`, and `max_ratio` of the file's packed size: a 1 MB ZIP of 100 members of
10 MiB each is a bomb although each member is small), the number of members (`max_members`), and no
member name twice (300 entries naming one member would be 300 tables). An XLSX is a ZIP and is
inspected the same way (an 8 KB workbook with one 1 GB shared string is a bomb).
"""
from __future__ import annotations

import gzip
import re
import zipfile
import zlib
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

CHUNK = 1 << 20
SMALL = 10 * CHUNK
"""Below this, a high ratio is ordinary (a column of zeros): ratios are judged past it."""
MAX_MEMBERS = 1000
"""Members of one archive, directories included."""
MAX_SAME_NAME = 20
"""Entries of one name (each becomes a table of its own part, or is left out when identical)."""


@dataclass
class ArchiveReport:
    ok: bool = True
    reason: str = ""
    members: list[str] = field(default_factory=list)


def _unsafe_name(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


class _Budget:
    """The bytes an archive may expand to, counted as they are decompressed."""

    def __init__(self, packed: int, max_member_bytes: int, max_total_bytes: int, max_ratio: float) -> None:
        self.packed = max(packed, 1)
        self.max_member_bytes = max_member_bytes
        self.max_total_bytes = max_total_bytes
        self.max_ratio = max_ratio
        self.total = 0

    def member(self, name: str, size: int, packed: int) -> str | None:
        """Why a member grown to `size` bytes (from `packed`) is a bomb, or None."""
        if size > self.max_member_bytes:
            return f"zip bomb: {name!r} expands past {self.max_member_bytes} bytes"
        if size > SMALL and size / max(packed, 1) > self.max_ratio:
            return f"zip bomb: {name!r} expands {size // max(packed, 1)}x (limit {self.max_ratio:g}x)"
        return None

    def add(self, count: int) -> str | None:
        """Why the whole archive, `count` more bytes decompressed, is a bomb, or None."""
        self.total += count
        if self.total > self.max_total_bytes:
            return f"archive bomb: its members expand past {self.max_total_bytes} bytes in all"
        if self.total > SMALL and self.total / self.packed > self.max_ratio:
            return (f"archive bomb: its members expand {self.total / self.packed:.0f}x the file's "
                    f"{self.packed} bytes (limit {self.max_ratio:g}x)")
        return None


def inspect_zip(path: Path, max_member_bytes: int, max_ratio: float, *, max_total_bytes: int | None = None,
                max_members: int = MAX_MEMBERS, max_same_name: int = MAX_SAME_NAME) -> ArchiveReport:
    """Refuse a ZIP (or XLSX) that leaves its folder or is a bomb; `max_total_bytes` defaults to
    `max_member_bytes` (the members together expand no further than one may)."""
    report = ArchiveReport()
    budget = _Budget(path.stat().st_size, max_member_bytes,
                     max_member_bytes if max_total_bytes is None else max_total_bytes, max_ratio)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            report.members = [i.filename for i in infos[:max_members]]
            if len(infos) > max_members:
                return ArchiveReport(False, f"{len(infos)} members, more than the limit of {max_members}",
                                     report.members)
            repeated = [(name, n) for name, n in Counter(i.filename for i in infos).items() if n > max_same_name]
            if repeated:  # a ZIP appended to a few times repeats a name; hundreds of times is an attack
                name, n = repeated[0]
                return ArchiveReport(False, f"member {name!r} appears {n} times (limit {max_same_name})",
                                     report.members)
            for info in infos:
                if _unsafe_name(info.filename):
                    return ArchiveReport(False, f"member {info.filename!r} leaves its folder", report.members)
                if info.file_size > max_member_bytes:
                    return ArchiveReport(False, f"zip bomb or oversized member: {info.filename!r} declares "
                                                f"{info.file_size} bytes > limit {max_member_bytes}", report.members)
                if info.compress_size and info.file_size / info.compress_size > max_ratio \
                        and info.file_size > SMALL:
                    return ArchiveReport(False, f"zip bomb: {info.filename!r} expands {info.file_size // info.compress_size}"
                                                f"x (limit {max_ratio:g}x)", report.members)
            declared = sum(i.file_size for i in infos)
            if declared > budget.max_total_bytes:
                return ArchiveReport(False, f"archive bomb: its members declare {declared} bytes in all > limit "
                                            f"{budget.max_total_bytes}", report.members)
            for info in infos:
                if info.is_dir():
                    continue
                size = 0
                with archive.open(info) as member:
                    while chunk := member.read(CHUNK):
                        size += len(chunk)
                        why = budget.member(info.filename, size, info.compress_size) or budget.add(len(chunk))
                        if why:
                            return ArchiveReport(False, why, report.members)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        return ArchiveReport(False, f"broken zip: {exc}", report.members)
    return report


def inspect_gzip(path: Path, max_member_bytes: int, max_ratio: float) -> ArchiveReport:
    packed = max(path.stat().st_size, 1)
    budget = _Budget(packed, max_member_bytes, max_member_bytes, max_ratio)
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(CHUNK):
                if budget.total + len(chunk) > max_member_bytes:
                    return ArchiveReport(False, f"gzip bomb: expands past {max_member_bytes} bytes")
                if budget.add(len(chunk)):
                    return ArchiveReport(False, f"gzip bomb: expands {budget.total // packed}x (limit {max_ratio:g}x)")
    except (OSError, EOFError, zlib.error) as exc:
        return ArchiveReport(False, f"broken gzip: {exc}")
    return ArchiveReport(True, "", [path.stem])


# XLSX: a workbook's cells can name one shared string many times, so a tiny file can expand to gigabytes
# of table without any member being large. The cells' shared-string references are counted as a stream.

_NS = rb"(?:[A-Za-z_][\w.-]*:)?"  # a namespace prefix (`x:c`)
_ATTRS = rb"""(?:[^<>"']|"[^"<]*"|'[^'<]*')*"""  # never crosses a '<': no match start is scanned twice
_SI = re.compile(rb"<(/?)" + _NS + rb"si\b[^<>]*?(/?)>")
_CELL = re.compile(rb"<" + _NS + rb"c\b(" + _ATTRS + rb")>\s*(?:<" + _NS + rb"f\b" + _ATTRS + rb"(?:/>|>[^<]*</"
                   + _NS + rb"f>)\s*)?<" + _NS + rb"v>\s*(\d{1,12})\s*<")
_SHARED = re.compile(rb"""\bt\s*=\s*["']s["']""")
TAG_CARRY = 1 << 20
"""A cell's tags longer than this are not seen as one (padding a cell that much is itself a bomb)."""


def scan(stream: Any, pattern: re.Pattern[bytes], carry: int) -> Iterator[tuple[int, re.Match[bytes]]]:
    """Every match of `pattern` in a stream, with the offset of the buffer it was found in; a match is
    taken once it ends `carry` bytes before the buffer's end (or at the stream's end)."""
    buffer, offset = b"", 0
    while True:
        chunk = stream.read(CHUNK)
        buffer += chunk
        limit = len(buffer) if not chunk else len(buffer) - carry
        taken, pending = 0, None
        for match in pattern.finditer(buffer):
            if match.end() > limit:  # may be longer in the next buffer: found again there
                pending = match.start()
                break
            taken = match.end()
            yield offset, match
        if not chunk:
            return
        cut = pending if pending is not None else max(taken, len(buffer) - carry)
        offset += cut
        buffer = buffer[cut:]


def inspect_xlsx(path: Path, max_total_bytes: int, max_ratio: float) -> ArchiveReport:
    """Refuse a workbook whose cells would expand (through shared strings) past `max_total_bytes`, or past
    `max_ratio` times the file once past 10 MiB. Call it after `inspect_zip` accepted the file: every member
    is then bounded, and so is this scan."""
    packed = max(path.stat().st_size, 1)
    lengths = array("q")
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            strings = [n for n in names if n.lower() == "xl/sharedstrings.xml"]
            if strings:
                with archive.open(strings[0]) as stream:
                    opened: int | None = None
                    for offset, match in scan(stream, _SI, 64):
                        closing, empty = match.group(1), match.group(2)
                        if empty and not closing:
                            lengths.append(0)
                        elif not closing:
                            opened = offset + match.end()
                        elif opened is not None:
                            lengths.append(offset + match.start() - opened)
                            opened = None
            for name in names:
                if not (name.lower().startswith("xl/worksheets/") and name.lower().endswith(".xml")):
                    continue
                with archive.open(name) as stream:
                    for _, match in scan(stream, _CELL, TAG_CARRY):
                        if not _SHARED.search(match.group(1)):
                            continue
                        index = int(match.group(2))
                        total += lengths[index] if index < len(lengths) else 0
                        if total > max_total_bytes or (total > SMALL and total / packed > max_ratio):
                            return ArchiveReport(False, f"workbook bomb: its cells repeat shared strings past "
                                                        f"{total} bytes from a file of {packed} bytes (limit "
                                                        f"{max_ratio:g}x, {max_total_bytes} bytes)", names)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        return ArchiveReport(False, f"broken workbook: {exc}")
    return ArchiveReport(True, "", names)
