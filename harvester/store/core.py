"""The open DuckDB connection under every part of the store: opening, migrating, transactions, and the
read copy a writer publishes for readers.

DuckDB lets one process write a database file, or several processes read it, never both. So that readers
(`search`, `show`, `pack candidates`, the site) are never locked out by a long stage, a writer publishes a
read copy of the file whenever it closes the store after committing (and every `PUBLISH_EVERY_SECONDS`
while it keeps committing): CHECKPOINT (every commit in the file, the write-ahead log empty), then the
file copied to a temporary name beside the copy, fsync'd, and renamed over it (`paths.read_copy_of`). A
reader opens the store itself when it is free; while a writer holds it, it opens the read copy at once
(`Store.published_copy` says so), and never waits.
"""
from __future__ import annotations

import errno
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb

from harvester.errors import StoreBusy, StoreError
from harvester.i18n import N_
from harvester.paths import make_folder, read_copy_of
from harvester.store import schema

DEFAULT_MEMORY_LIMIT = "512MB"
DEFAULT_WAIT_SECONDS = 60.0
PUBLISH_EVERY_SECONDS = 60.0
"""While a writer keeps committing (a long fetch), it publishes a read copy at most this often."""


class NoStoreYet(StoreError):
    """A reader found no store: none was made, or a kill cut its birth short (the file is set aside)."""


class NoReadCopy(StoreBusy):
    """A writer holds the store and no read copy of it has been published yet."""


class StaleReadCopy(StoreBusy):
    """A writer holds the store and its read copy is of an older schema than this harvester reads."""


DUCKDB_HEADER_BYTES = 3 * 4096
"""A DuckDB file holds its main header and two database headers before any data: one shorter never held any."""


def _cut_short(path: Path, error: StoreError) -> bool:
    """Whether `path` is a store file a kill cut short at its birth: too short to hold DuckDB's headers, no
    write-ahead log beside it, and DuckDB refusing it as no database."""
    text = str(error)
    refused = "not a valid DuckDB database file" in text or "Could not read enough bytes" in text
    try:
        short = path.stat().st_size < DUCKDB_HEADER_BYTES
    except OSError:
        return False
    return refused and short and not path.with_name(path.name + ".wal").exists()


def _wait_seconds() -> float:
    text = os.environ.get("HARVESTER_STORE_WAIT", "")
    if not text:
        return DEFAULT_WAIT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and value != float("inf")):
        raise StoreError(N_("%(variable)s: expected a number of seconds, got %(value)r"), variable="HARVESTER_STORE_WAIT",
                         value=text)
    return value


def _copy_file(source: int, target: int, size: int) -> None:
    """The first `size` bytes of open file `source` into open file `target`, then fsync'd. By descriptor:
    closing any descriptor of the store file would drop the lock DuckDB holds on it (POSIX record locks
    belong to the process, not to the descriptor)."""
    copied = 0
    try:
        while copied < size:
            done = os.copy_file_range(source, target, size - copied, copied, copied)
            if done == 0:
                break
            copied += done
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
            raise
    while copied < size:  # a file system without copy_file_range
        chunk = os.pread(source, min(1 << 22, size - copied), copied)
        if not chunk:
            break
        copied += os.pwrite(target, chunk, copied)
    if copied != size:
        raise StoreError(N_("the store file ended after %(copied)s of %(size)s bytes while it was copied"),
                         copied=copied, size=size)
    os.fsync(target)


def _fsync_folder(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


class StoreBase:
    """One open DuckDB database file."""

    publish_every: float = PUBLISH_EVERY_SECONDS

    def __init__(self, path: Path, read_only: bool = False, *, wait: float | None = None,
                 prefer_copy: bool = False) -> None:
        """`wait`: for a writer, the seconds to wait while another process holds the file (default
        HARVESTER_STORE_WAIT, 60); 0 is StoreBusy at once. `prefer_copy`: a long reader (the site) reads the
        read copy whenever it is current (published after the store last changed), so that it never holds
        the store file and a writer starting meanwhile never waits for it."""
        self.path = Path(path)
        self.read_only = read_only
        self.published_copy: Path | None = None
        """Set when a reader opened the read copy: a writer held the store, or (`prefer_copy`) it is current."""
        self.copy_is_current = False
        """The copy opened holds everything the store holds (`prefer_copy`): nothing to warn a reader of."""
        self.published_at: datetime | None = None
        """When that copy was published (UTC)."""
        self._committed = False
        self._last_publish = time.monotonic()
        self._source: int | None = None  # the store file, open for copying until the connection closes
        if read_only and not self.path.exists():
            raise NoStoreYet(N_("%(file)s: no store yet (run `harvester harvest` first)"), file=self.path)
        if not read_only:
            make_folder(self.path.parent)
        try:
            self.con = self._open_reader(prefer_copy) if read_only else self._connect(False, wait=wait)
        except StoreError as exc:
            if not _cut_short(self.path, exc):
                raise
            # A kill as the file was born left a few bytes and nothing committed: set it aside, start anew.
            self.path.rename(self.path.with_name(f"{self.path.name}.broken-{time.strftime('%Y%m%dT%H%M%S')}"))
            if read_only:
                raise NoStoreYet(N_("%(file)s: no store yet (run `harvester harvest` first)"), file=self.path) from None
            self.con = self._connect(read_only)
        if not read_only:
            self._migrate()
        elif self.published_copy is None and schema.stored_version(self.con) != schema.SCHEMA_VERSION:
            # An older store, or one whose creation a kill cut short: a reader would find tables missing.
            # Bring it up to date once, then read as asked; should a writer take it meanwhile, the writer
            # migrates it, and this reader reads the read copy.
            self.con.close()
            try:
                self.con = self._connect(False, wait=0.0)
            except StoreBusy:
                self.con = self._open_copy()
                return
            try:
                self._migrate()
            finally:
                self.con.close()
            self.con = self._open_reader()

    def _copy_is_current(self) -> bool:
        """Whether the read copy was published after the store file last changed (no write-ahead log)."""
        try:
            return (not self.path.with_name(self.path.name + ".wal").exists()
                    and read_copy_of(self.path).stat().st_mtime_ns >= self.path.stat().st_mtime_ns)
        except OSError:
            return False

    def _open_reader(self, prefer_copy: bool = False) -> duckdb.DuckDBPyConnection:
        """The store read-only when no writer holds it; else, at once, its read copy (`prefer_copy`: the copy
        first whenever it is current)."""
        if prefer_copy and self._copy_is_current():
            try:
                con = self._open_copy()
            except StoreError:
                pass  # an unreadable or older copy: read the store itself
            else:
                self.copy_is_current = True
                return con
        try:
            return self._connect(True, wait=0.0)
        except StoreBusy:
            return self._open_copy()

    def _open_copy(self) -> duckdb.DuckDBPyConnection:
        copy = read_copy_of(self.path)
        try:
            con = duckdb.connect(str(copy), read_only=True)
        except duckdb.IOException as exc:
            if copy.exists():
                raise StoreError(N_("%(file)s: cannot open the read copy: %(reason)s"), file=copy,
                                 reason=str(exc).splitlines()[0]) from None
            raise NoReadCopy(N_("%(file)s: another process is writing the store and no read copy has been published "
                                "yet; try again when it finishes"), file=self.path) from None
        except duckdb.Error as exc:
            raise StoreError(N_("%(file)s: not a readable DuckDB store: %(reason)s"), file=copy,
                             reason=str(exc).splitlines()[0]) from None
        try:
            stamp = os.stat(copy).st_mtime
            version = schema.stored_version(con)
        except (OSError, duckdb.Error) as exc:
            con.close()
            raise StoreError(N_("%(file)s: not a readable read copy: %(reason)s"), file=copy,
                             reason=str(exc).splitlines()[0]) from None
        if version != schema.SCHEMA_VERSION:
            con.close()
            if version is not None and version > schema.SCHEMA_VERSION:
                raise StoreError(N_("%(file)s: store schema %(version)s is newer than this harvester (%(known)s); "
                                    "upgrade the harvester"), file=copy, version=version, known=schema.SCHEMA_VERSION)
            raise StaleReadCopy(N_("%(file)s: the read copy has schema %(version)s, this harvester reads %(known)s: "
                                   "the writer replaces it when it finishes"), file=copy, version=version,
                                known=schema.SCHEMA_VERSION)
        self._configure(con)
        self.published_copy = copy
        self.published_at = datetime.fromtimestamp(stamp, timezone.utc)
        return con

    def _connect(self, read_only: bool, wait: float | None = None) -> duckdb.DuckDBPyConnection:
        """Open the file; while another process holds it (DuckDB allows one writer, or readers), wait for
        it up to `wait` seconds (default HARVESTER_STORE_WAIT, 60) before saying the store is busy."""
        wait = _wait_seconds() if wait is None else wait
        deadline = time.monotonic() + wait
        pause = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(N_("%(file)s: cannot open: %(reason)s"), file=self.path,
                                     reason=str(exc).splitlines()[0]) from None
                if time.monotonic() + pause > deadline:
                    if wait:
                        raise StoreBusy(N_("%(file)s: in use by another harvester process (waited %(seconds)s s)"),
                                        file=self.path, seconds=f"{wait:g}") from None
                    raise StoreBusy(N_("%(file)s: in use by another harvester process"), file=self.path) from None
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
            except duckdb.Error as exc:
                raise StoreError(N_("%(file)s: not a readable DuckDB store: %(reason)s"), file=self.path,
                                 reason=str(exc).splitlines()[0]) from None
        self._configure(con)
        return con

    @staticmethod
    def _configure(con: duckdb.DuckDBPyConnection) -> None:
        # Bounded memory: DuckDB spills to disk past the limit. Insertion order is never relied on.
        memory = os.environ.get("HARVESTER_DUCKDB_MEMORY", DEFAULT_MEMORY_LIMIT)
        try:
            con.execute("SET memory_limit = ?", [memory])
        except duckdb.Error:
            con.close()
            raise StoreError(N_("%(variable)s: not a memory size DuckDB understands: %(value)r"),
                             variable="HARVESTER_DUCKDB_MEMORY", value=memory) from None
        con.execute("SET preserve_insertion_order = false")

    def close(self) -> None:
        """Close the store; a writer that committed (or finds no read copy yet) publishes one first."""
        failure: StoreError | None = None
        try:
            if not self.read_only and (self._committed or not read_copy_of(self.path).exists()):
                self.publish()
        except StoreError as exc:
            failure = exc
        finally:
            self.con.close()
            if self._source is not None:  # only now: DuckDB's lock on the file went with the connection
                os.close(self._source)
                self._source = None
        if failure is not None:
            raise failure

    def publish(self) -> Path:
        """Publish the read copy: CHECKPOINT, copy the file to a temporary name beside the copy, fsync, and
        rename it over the copy. Killed at any moment, the previous copy stays whole (a leftover temporary
        file is removed by the next publish). One line (StoreError) when it cannot be done."""
        if self.read_only:
            raise StoreError(N_("%(file)s: opened read-only: a reader publishes no read copy"), file=self.path)
        target = read_copy_of(self.path)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            self.con.execute("CHECKPOINT")
            wal = self.path.with_name(self.path.name + ".wal")
            if wal.exists() and wal.stat().st_size:
                raise StoreError(N_("the checkpoint left a write-ahead log behind"))
            make_folder(target.parent)
            for stale in target.parent.glob(f".{target.name}.*.part"):
                stale.unlink(missing_ok=True)  # left by a kill: this process holds the store, no one else writes
            if self._source is None:
                self._source = os.open(self.path, os.O_RDONLY)
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _copy_file(self._source, handle, os.fstat(self._source).st_size)
            finally:
                os.close(handle)
            os.replace(temporary, target)
            _fsync_folder(target.parent)
        except (OSError, duckdb.Error, StoreError) as exc:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass
            reason: Any = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
                exc if isinstance(exc, StoreError) else str(exc).splitlines()[0]
            raise StoreError(N_("%(file)s: cannot publish the read copy: %(reason)s"), file=target, reason=reason) from exc
        self._committed = False
        self._last_publish = time.monotonic()
        return target

    def __enter__(self) -> "StoreBase":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.con.begin()
        try:
            yield self.con
        except BaseException:
            self.con.rollback()
            raise
        self.con.commit()
        self._committed = True
        if time.monotonic() - self._last_publish >= self.publish_every:
            try:
                self.publish()  # a long stage: readers see its work so far
            except StoreError:
                self._last_publish = time.monotonic()  # not again at once; closing the store says why

    def _migrate(self) -> None:
        """Create the store, or bring an older one to the current schema, in one transaction."""
        with self.transaction() as con:
            version = schema.stored_version(con)
            if version is None:
                ours = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND "
                                   "database_name = current_database() AND table_name IN ?",
                                   [sorted(schema.KEYS)]).fetchone()[0]
                if not ours:
                    schema.create(con)
                    return
                con.execute(schema.TABLES["schema_version"])
                version = 0  # tables from before the version was recorded
            if version > schema.SCHEMA_VERSION:
                raise StoreError(N_("%(file)s: store schema %(version)s is newer than this harvester (%(known)s); "
                                    "upgrade the harvester"), file=self.path, version=version,
                                 known=schema.SCHEMA_VERSION)
            if version < schema.SCHEMA_VERSION:
                schema.upgrade(con, version)

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Rows of an ad-hoc read query as dicts: for tests, benchmarks and a person at a prompt. The
        stages use the typed reads and writes of the store's parts instead."""
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

