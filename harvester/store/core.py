"""The open DuckDB connection under every part of the store: opening, migrating, transactions."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import duckdb

from harvester.errors import StoreBusy, StoreError
from harvester.paths import make_folder
from harvester.store import schema

DEFAULT_MEMORY_LIMIT = "512MB"
DEFAULT_WAIT_SECONDS = 60.0


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
        raise StoreError(f"HARVESTER_STORE_WAIT: expected a number of seconds, got {text!r}")
    return value


class StoreBase:
    """One open DuckDB database file."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(f"{self.path}: no store yet (run `harvester harvest` first)")
        if not read_only:
            make_folder(self.path.parent)
        try:
            self.con = self._connect(read_only)
        except StoreError as exc:
            if not _cut_short(self.path, exc):
                raise
            # A kill as the file was born left a few bytes and nothing committed: set it aside, start anew.
            self.path.rename(self.path.with_name(f"{self.path.name}.broken-{time.strftime('%Y%m%dT%H%M%S')}"))
            if read_only:
                raise StoreError(f"{self.path}: no store yet (run `harvester harvest` first)") from None
            self.con = self._connect(read_only)
        if not read_only:
            self._migrate()
        elif schema.stored_version(self.con) != schema.SCHEMA_VERSION:
            # An older store, or one whose creation a kill cut short: a reader would find tables missing.
            # Bring it up to date once, then read as asked.
            self.con.close()
            self.con = self._connect(False)
            try:
                self._migrate()
            finally:
                self.con.close()
            self.con = self._connect(True)

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open the file; while another process holds it (DuckDB allows one writer, or readers), wait for
        it up to HARVESTER_STORE_WAIT seconds (default 60) before saying the store is busy."""
        wait = _wait_seconds()
        deadline = time.monotonic() + wait
        pause = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(f"{self.path}: cannot open: {str(exc).splitlines()[0]}") from None
                if time.monotonic() + pause > deadline:
                    raise StoreBusy(f"{self.path}: in use by another harvester process"
                                    + (f" (waited {wait:g} s)" if wait else "")) from None
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
            except duckdb.Error as exc:
                raise StoreError(f"{self.path}: not a readable DuckDB store: {str(exc).splitlines()[0]}") from None
        # Bounded memory: DuckDB spills to disk past the limit. Insertion order is never relied on.
        memory = os.environ.get("HARVESTER_DUCKDB_MEMORY", DEFAULT_MEMORY_LIMIT)
        try:
            con.execute("SET memory_limit = ?", [memory])
        except duckdb.Error:
            con.close()
            raise StoreError(f"HARVESTER_DUCKDB_MEMORY: not a memory size DuckDB understands: {memory!r}") from None
        con.execute("SET preserve_insertion_order = false")
        return con

    def close(self) -> None:
        self.con.close()

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
                raise StoreError(f"{self.path}: store schema {version} is newer than this harvester "
                                 f"({schema.SCHEMA_VERSION}); upgrade the harvester")
            if version < schema.SCHEMA_VERSION:
                schema.upgrade(con, version)

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Rows of an ad-hoc read query as dicts: for tests, benchmarks and a person at a prompt. The
        stages use the typed reads and writes of the store's parts instead."""
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

