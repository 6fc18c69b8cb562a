"""Archive safety: zip and gzip bombs, and zip members whose names leave their folder.

Declared sizes can lie, so members are also decompressed as a stream and counted, stopping at the cap:
the work is bounded by the cap whatever the archive claims.
"""
from __future__ import annotations

import gzip
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

CHUNK = 1 << 20


@dataclass
class ArchiveReport:
    ok: bool = True
    reason: str = ""
    members: list[str] = field(default_factory=list)


def _unsafe_name(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def inspect_zip(path: Path, max_member_bytes: int, max_ratio: float) -> ArchiveReport:
    report = ArchiveReport()
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            report.members = [i.filename for i in infos]
            for info in infos:
                if _unsafe_name(info.filename):
                    return ArchiveReport(False, f"member {info.filename!r} leaves its folder", report.members)
                if info.file_size > max_member_bytes:
                    return ArchiveReport(False, f"zip bomb or oversized member: {info.filename!r} declares "
                                                f"{info.file_size} bytes > limit {max_member_bytes}", report.members)
                if info.compress_size and info.file_size / info.compress_size > max_ratio \
                        and info.file_size > 10 * CHUNK:
                    return ArchiveReport(False, f"zip bomb: {info.filename!r} expands {info.file_size // info.compress_size}"
                                                f"x (limit {max_ratio:g}x)", report.members)
            for info in infos:
                if info.is_dir():
                    continue
                total = 0
                with archive.open(info) as member:
                    while chunk := member.read(CHUNK):
                        total += len(chunk)
                        if total > max_member_bytes:
                            return ArchiveReport(False, f"zip bomb: {info.filename!r} expands past "
                                                        f"{max_member_bytes} bytes", report.members)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        return ArchiveReport(False, f"broken zip: {exc}", report.members)
    return report


def inspect_gzip(path: Path, max_member_bytes: int, max_ratio: float) -> ArchiveReport:
    total = 0
    packed = max(path.stat().st_size, 1)
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(CHUNK):
                total += len(chunk)
                if total > max_member_bytes:
                    return ArchiveReport(False, f"gzip bomb: expands past {max_member_bytes} bytes")
    except (OSError, EOFError, zlib.error) as exc:
        return ArchiveReport(False, f"broken gzip: {exc}")
    if total > 10 * CHUNK and total / packed > max_ratio:
        return ArchiveReport(False, f"gzip bomb: expands {total // packed}x (limit {max_ratio:g}x)")
    return ArchiveReport(True, "", [path.stem])
