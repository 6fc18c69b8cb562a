"""The DuckDB store: schema, migrations, transactions. Nothing else opens the database file.

A harvest run stages what it receives in TEMP tables (gone if the process dies) and merges them
into the permanent tables in one transaction at the end, so a run killed at any point leaves the
previous state whole and readable; the next run simply redoes the work from the last good window.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow as pa

from harvester.config import CatalogConfig
from harvester.errors import StoreBusy, StoreError
from harvester import records

SCHEMA_VERSION = 2
DEFAULT_MEMORY_LIMIT = "512MB"

_DATASET_COLUMNS = """
    catalog_id VARCHAR NOT NULL, remote_id VARCHAR NOT NULL, name VARCHAR, title VARCHAR, notes VARCHAR,
    type VARCHAR, state VARCHAR, url VARCHAR, version VARCHAR,
    organization_id VARCHAR, organization_name VARCHAR, organization_title VARCHAR,
    tags VARCHAR[], groups VARCHAR[], license_id VARCHAR, license_title VARCHAR,
    author VARCHAR, author_email VARCHAR, maintainer VARCHAR, maintainer_email VARCHAR,
    metadata_created TIMESTAMP, metadata_modified TIMESTAMP, extras VARCHAR, raw VARCHAR, formats VARCHAR[],
    search_text VARCHAR, content_hash VARCHAR,
    first_seen TIMESTAMP, last_seen TIMESTAMP, last_changed TIMESTAMP, deleted_at TIMESTAMP,
    last_run_id BIGINT
"""

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS catalogs (
        id VARCHAR NOT NULL, title VARCHAR, api_url VARCHAR, kind VARCHAR, config JSON,
        first_seen TIMESTAMP, updated_at TIMESTAMP,
        last_window_end TIMESTAMP, last_success_at TIMESTAMP, search_supported BOOLEAN,
        ckan_version VARCHAR)""",
    "CREATE SEQUENCE IF NOT EXISTS run_ids START 1",
    """CREATE TABLE IF NOT EXISTS harvest_runs (
        run_id BIGINT NOT NULL, catalog_id VARCHAR NOT NULL, started_at TIMESTAMP, finished_at TIMESTAMP,
        status VARCHAR, mode VARCHAR, window_start TIMESTAMP, window_end TIMESTAMP,
        added INTEGER, updated INTEGER, unchanged INTEGER, deleted INTEGER, failed INTEGER,
        skipped INTEGER, requests INTEGER, retries INTEGER, duration_s DOUBLE, error VARCHAR,
        notes JSON)""",
    f"CREATE TABLE IF NOT EXISTS datasets ({_DATASET_COLUMNS})",
    """CREATE TABLE IF NOT EXISTS resources (
        catalog_id VARCHAR NOT NULL, remote_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL,
        position INTEGER, name VARCHAR, description VARCHAR, url VARCHAR, format VARCHAR,
        mimetype VARCHAR, size BIGINT, last_modified TIMESTAMP, created TIMESTAMP, url_type VARCHAR,
        hash VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP, deleted_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS resource_files (
        catalog_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
        url VARCHAR, final_url VARCHAR, status VARCHAR, reason VARCHAR, http_status INTEGER, path VARCHAR,
        size BIGINT, sha256 VARCHAR, etag VARCHAR, last_modified VARCHAR, content_type VARCHAR,
        declared_format VARCHAR, sniffed_format VARCHAR, members VARCHAR[],
        checked_at TIMESTAMP, changed_at TIMESTAMP, last_success_at TIMESTAMP, first_failure_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS validations (
        catalog_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
        sha256 VARCHAR, valid BOOLEAN, encoding VARCHAR, delimiter VARCHAR, header_row INTEGER, rows BIGINT,
        error_count BIGINT, errors_by_type JSON, first_errors JSON, report_path VARCHAR, seconds DOUBLE,
        validated_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS column_profiles (
        catalog_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
        sha256 VARCHAR, position INTEGER, name VARCHAR, type VARCHAR, rows BIGINT, missing_share DOUBLE,
        distinct_count BIGINT, min VARCHAR, max VARCHAR, alerts VARCHAR[], details JSON,
        profiled_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS organizations (
        catalog_id VARCHAR NOT NULL, remote_id VARCHAR, name VARCHAR NOT NULL, title VARCHAR,
        description VARCHAR, image_url VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP)""",
    # Version 2: a resource can hold several tables (XLSX sheets, JSON tables, ZIP members), one row each.
    "ALTER TABLE validations ADD COLUMN IF NOT EXISTS part VARCHAR DEFAULT ''",
    "ALTER TABLE validations ADD COLUMN IF NOT EXISTS source VARCHAR",
    "ALTER TABLE validations ADD COLUMN IF NOT EXISTS table_path VARCHAR",
    "ALTER TABLE validations ADD COLUMN IF NOT EXISTS engine VARCHAR",
    "ALTER TABLE column_profiles ADD COLUMN IF NOT EXISTS part VARCHAR DEFAULT ''",
]

# Staging: a TEMP table lives only as long as the connection; a killed run leaves nothing behind.
_STAGING = "CREATE TEMP TABLE IF NOT EXISTS stage_raw (remote_id VARCHAR, raw VARCHAR, batch INTEGER)"


def _columns(con: duckdb.DuckDBPyConnection, table: str, exclude: tuple[str, ...]) -> list[str]:
    names = [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
    return [n for n in names if n not in exclude]


@dataclass(frozen=True)
class CatalogState:
    """What the store remembers of a catalog between runs."""

    last_window_end: datetime | None
    last_success_at: datetime | None
    search_supported: bool | None


@dataclass(frozen=True)
class MergeCounts:
    added: int
    updated: int
    unchanged: int
    deleted: int


class Store:
    """One open DuckDB database file."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(f"{self.path}: no store yet (run `harvester harvest` first)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreBusy(f"{self.path}: in use by another harvester process") from None
            raise StoreError(f"{self.path}: cannot open: {str(exc).splitlines()[0]}") from None
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: not a readable DuckDB store: {str(exc).splitlines()[0]}") from None
        # Bounded memory: DuckDB spills to disk past the limit. Insertion order is never relied on.
        memory = os.environ.get("HARVESTER_DUCKDB_MEMORY", DEFAULT_MEMORY_LIMIT)
        try:
            self.con.execute("SET memory_limit = ?", [memory])
        except duckdb.Error:
            self.con.close()
            raise StoreError(f"HARVESTER_DUCKDB_MEMORY: not a memory size DuckDB understands: {memory!r}") from None
        self.con.execute("SET preserve_insertion_order = false")
        if not read_only:
            self._migrate()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
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
        with self.transaction() as con:
            for statement in _SCHEMA:
                con.execute(statement)
            row = con.execute("SELECT max(version) FROM schema_version").fetchone()
            version = row[0] if row else None
            if version is not None and version > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: store schema {version} is newer than this harvester "
                                 f"({SCHEMA_VERSION}); upgrade the harvester")
            if version != SCHEMA_VERSION:  # the statements above brought an older store up to date
                con.execute("DELETE FROM schema_version")
                con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION])

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run a read query and return rows as dicts."""
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    # Catalogs and runs -----------------------------------------------------------------------

    def upsert_catalog(self, catalog: CatalogConfig, now: datetime) -> None:
        config = json.dumps({k: v for k, v in catalog.__dict__.items()}, default=list, sort_keys=True)
        with self.transaction() as con:
            exists = con.execute("SELECT count(*) FROM catalogs WHERE id = ?", [catalog.id]).fetchone()[0]
            if exists:
                con.execute("UPDATE catalogs SET title = ?, api_url = ?, kind = ?, config = ?, updated_at = ? "
                            "WHERE id = ?", [catalog.title, catalog.api_url, catalog.kind, config, now, catalog.id])
            else:
                con.execute("INSERT INTO catalogs (id, title, api_url, kind, config, first_seen, updated_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [catalog.id, catalog.title, catalog.api_url, catalog.kind, config, now, now])

    def catalog_state(self, catalog_id: str) -> CatalogState:
        row = self.con.execute("SELECT last_window_end, last_success_at, search_supported FROM catalogs "
                               "WHERE id = ?", [catalog_id]).fetchone()
        if row is None:
            return CatalogState(None, None, None)
        return CatalogState(*row)

    def begin_run(self, catalog_id: str, now: datetime) -> int:
        """Record a run as started; any older run still 'running' died with its process."""
        with self.transaction() as con:
            con.execute("UPDATE harvest_runs SET status = 'interrupted', "
                        "error = coalesce(error, 'the process stopped before the run finished') "
                        "WHERE catalog_id = ? AND status = 'running'", [catalog_id])
            run_id = con.execute("SELECT nextval('run_ids')").fetchone()[0]
            con.execute("INSERT INTO harvest_runs (run_id, catalog_id, started_at, status) "
                        "VALUES (?, ?, ?, 'running')", [run_id, catalog_id, now])
        return int(run_id)

    def finish_run(self, run_id: int, *, catalog_id: str, status: str, mode: str, finished_at: datetime,
                   duration_s: float, counts: dict[str, int], requests: int, retries: int,
                   error: str | None, window_start: datetime | None, window_end: datetime | None,
                   advance_window: bool, search_supported: bool | None, ckan_version: str | None,
                   notes: dict[str, Any]) -> None:
        with self.transaction() as con:
            self._finish_run(con, run_id, catalog_id=catalog_id, status=status, mode=mode,
                             finished_at=finished_at, duration_s=duration_s, counts=counts,
                             requests=requests, retries=retries, error=error, window_start=window_start,
                             window_end=window_end, advance_window=advance_window,
                             search_supported=search_supported, ckan_version=ckan_version, notes=notes)

    def _finish_run(self, con: duckdb.DuckDBPyConnection, run_id: int, *, catalog_id: str, status: str,
                    mode: str, finished_at: datetime, duration_s: float, counts: dict[str, int],
                    requests: int, retries: int, error: str | None, window_start: datetime | None,
                    window_end: datetime | None, advance_window: bool, search_supported: bool | None,
                    ckan_version: str | None, notes: dict[str, Any]) -> None:
        con.execute(
            "UPDATE harvest_runs SET finished_at = ?, status = ?, mode = ?, window_start = ?, window_end = ?, "
            "added = ?, updated = ?, unchanged = ?, deleted = ?, failed = ?, skipped = ?, requests = ?, "
            "retries = ?, duration_s = ?, error = ?, notes = ? WHERE run_id = ?",
            [finished_at, status, mode, window_start, window_end, counts.get("added", 0),
             counts.get("updated", 0), counts.get("unchanged", 0), counts.get("deleted", 0),
             counts.get("failed", 0), counts.get("skipped", 0), requests, retries, duration_s, error,
             json.dumps(notes, sort_keys=True, default=str), run_id])
        if search_supported is not None:
            con.execute("UPDATE catalogs SET search_supported = ? WHERE id = ?", [search_supported, catalog_id])
        if ckan_version:
            con.execute("UPDATE catalogs SET ckan_version = ? WHERE id = ?", [ckan_version, catalog_id])
        if advance_window:
            con.execute("UPDATE catalogs SET last_window_end = ?, last_success_at = ? WHERE id = ?",
                        [window_end, finished_at, catalog_id])

    # Resource files -----------------------------------------------------------------------------

    def resource_file(self, catalog_id: str, dataset_id: str, resource_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM resource_files WHERE catalog_id = ? AND dataset_id = ? AND resource_id = ?",
                          [catalog_id, dataset_id, resource_id])
        return rows[0] if rows else None

    def record_resource_file(self, row: dict[str, Any]) -> None:
        self._replace_resource_row("resource_files", row)

    def record_validations(self, keys: tuple[str, str, str], rows: list[dict[str, Any]]) -> None:
        """Replace the validation rows (one per table) of the resource `keys`, in one transaction."""
        with self.transaction() as con:
            con.execute("DELETE FROM validations WHERE catalog_id = ? AND dataset_id = ? AND resource_id = ?",
                        list(keys))
            for row in rows:
                columns = list(row)
                con.execute(f"INSERT INTO validations ({', '.join(columns)}) "
                            f"VALUES ({', '.join('?' for _ in columns)})", [row[c] for c in columns])

    def record_profile(self, catalog_id: str, dataset_id: str, resource_id: str, sha256: str,
                       columns: list[dict[str, Any]], now: datetime) -> None:
        """Replace a resource's column profiles (every table of it), in one transaction."""
        keys = [catalog_id, dataset_id, resource_id]
        rows = [[catalog_id, dataset_id, resource_id, sha256, c["position"], c["name"], c["type"], c["rows"],
                 c.get("missing_share"), c.get("distinct_count"),
                 None if c.get("min") is None else str(c["min"]), None if c.get("max") is None else str(c["max"]),
                 c["alerts"], json.dumps(c, ensure_ascii=False, default=str), now, c.get("part") or ""]
                for c in columns]
        with self.transaction() as con:
            con.execute("DELETE FROM column_profiles WHERE catalog_id = ? AND dataset_id = ? AND resource_id = ?",
                        keys)
            con.executemany("INSERT INTO column_profiles (catalog_id, dataset_id, resource_id, sha256, position, "
                            "name, type, rows, missing_share, distinct_count, min, max, alerts, details, "
                            "profiled_at, part) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _replace_resource_row(self, table: str, row: dict[str, Any]) -> None:
        """Replace the one row a resource has in `table`, in one transaction."""
        keys = [row["catalog_id"], row["dataset_id"], row["resource_id"]]
        columns = list(row)
        with self.transaction() as con:
            con.execute(f"DELETE FROM {table} WHERE catalog_id = ? AND dataset_id = ? AND resource_id = ?", keys)
            con.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                        [row[c] for c in columns])

    # Staging and merging -----------------------------------------------------------------------

    def reset_stage(self) -> None:
        for statement in records.MACROS:
            self.con.execute(statement)
        self.con.execute(_STAGING)
        self.con.execute("DELETE FROM stage_raw")

    def stage_json(self, text: str, path: str, batch: int, skip_types: set[str]) -> None:
        """Keep the datasets found at `path` in a JSON answer (DuckDB splits it, outside the GIL)."""
        self.con.execute("""
            INSERT INTO stage_raw
            SELECT j->>'id', j::VARCHAR, $batch FROM (SELECT unnest(json_extract($text, $path)) AS j)
            WHERE j->>'id' IS NOT NULL AND NOT list_contains($skip, coalesce(j->>'type', 'dataset'))""",
                         {"text": text, "path": path, "batch": batch, "skip": sorted(skip_types)})

    def stage(self, datasets: list[dict[str, Any]], batch: int) -> None:
        """Keep one batch of received datasets (dicts as CKAN returns them) until the merge."""
        if not datasets:
            return
        table = pa.table({"remote_id": [str(d["id"]) for d in datasets],
                          "raw": [json.dumps(d, ensure_ascii=False) for d in datasets],
                          "batch": pa.array([batch] * len(datasets), pa.int32())})
        self.con.register("_batch", table)
        try:
            self.con.execute("INSERT INTO stage_raw SELECT * FROM _batch")
        finally:
            self.con.unregister("_batch")

    def staged_ids(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT DISTINCT remote_id FROM stage_raw").fetchall()}

    def current_ids(self, catalog_id: str) -> set[str]:
        return {r[0] for r in self.con.execute(
            "SELECT remote_id FROM datasets WHERE catalog_id = ? AND deleted_at IS NULL", [catalog_id]).fetchall()}

    def ids_by_name(self, catalog_id: str) -> dict[str, str]:
        return {r[0]: r[1] for r in self.con.execute(
            "SELECT name, remote_id FROM datasets WHERE catalog_id = ? AND deleted_at IS NULL AND name IS NOT NULL",
            [catalog_id]).fetchall()}

    def count_current_with_stage(self, catalog_id: str) -> int:
        """How many datasets the catalog will hold once the staged ones are merged (before deletions)."""
        return self.con.execute(
            "SELECT count(*) FROM (SELECT remote_id FROM datasets WHERE catalog_id = ? AND deleted_at IS NULL "
            "UNION SELECT remote_id FROM stage_raw)", [catalog_id]).fetchone()[0]

    def merge(self, catalog_id: str, run_id: int, now: datetime, deleted_ids: set[str],
              finish: dict[str, Any]) -> MergeCounts:
        """Merge the staged batch and the deletions, and close the run, in one transaction."""
        with self.transaction() as con:
            counts = self._merge(con, catalog_id, run_id, now, deleted_ids)
            finish["counts"] = {**finish.get("counts", {}), **counts.__dict__}
            self._finish_run(con, run_id, **finish)
        return counts

    def _merge(self, con: duckdb.DuckDBPyConnection, catalog_id: str, run_id: int, now: datetime,
               deleted_ids: set[str]) -> MergeCounts:
        for statement in records.PARSE_STAGED:
            con.execute(statement)
        # A view: the rows (and their raw text) are produced only where they are written.
        literal = "'" + catalog_id.replace("'", "''") + "'"  # views take no parameters
        con.execute("CREATE OR REPLACE TEMP VIEW merge_datasets AS " + records.DATASET_ROWS.replace("$1", literal))
        con.execute("""
            CREATE OR REPLACE TEMP TABLE merge_changes AS
            SELECT s.remote_id,
                   CASE WHEN d.remote_id IS NULL THEN 'new'
                        WHEN d.deleted_at IS NOT NULL THEN 'restored'
                        WHEN d.content_hash IS DISTINCT FROM s.content_hash THEN 'updated'
                        ELSE 'unchanged' END AS change
            FROM merge_keys s
            LEFT JOIN datasets d ON d.catalog_id = ? AND d.remote_id = s.remote_id""", [catalog_id])
        tally = dict(con.execute("SELECT change, count(*) FROM merge_changes GROUP BY change").fetchall())

        columns = _columns(con, "merge_datasets", exclude=("catalog_id", "remote_id", "content_hash"))
        assignments = ", ".join(f"{c} = m.{c}" for c in columns)
        con.execute(f"""
            UPDATE datasets SET {assignments}, content_hash = m.content_hash, last_seen = $now,
                   last_changed = $now, deleted_at = NULL, last_run_id = $run
            FROM merge_datasets m, merge_changes c
            WHERE datasets.catalog_id = $cat AND datasets.remote_id = m.remote_id
              AND c.remote_id = m.remote_id AND c.change IN ('updated', 'restored')""",
                    {"now": now, "run": run_id, "cat": catalog_id})
        con.execute("""
            UPDATE datasets SET last_seen = $now, last_run_id = $run
            WHERE catalog_id = $cat AND remote_id IN (SELECT remote_id FROM merge_changes WHERE change = 'unchanged')""",
                    {"now": now, "run": run_id, "cat": catalog_id})
        con.execute("""
            INSERT INTO datasets BY NAME
            SELECT m.*, $now AS first_seen, $now AS last_seen, $now AS last_changed,
                   NULL::TIMESTAMP AS deleted_at, $run AS last_run_id
            FROM merge_datasets m JOIN merge_changes c USING (remote_id) WHERE c.change = 'new'""",
                    {"now": now, "run": run_id})

        # Resources of new, updated and restored datasets follow their dataset exactly.
        con.execute("CREATE OR REPLACE TEMP TABLE merge_changed AS "
                    "SELECT remote_id FROM merge_changes WHERE change <> 'unchanged'")
        con.execute("CREATE OR REPLACE TEMP TABLE merge_resources AS " + records.RESOURCE_ROWS, [catalog_id])
        con.execute("""
            UPDATE resources SET deleted_at = $now
            WHERE catalog_id = $cat AND deleted_at IS NULL
              AND dataset_id IN (SELECT remote_id FROM merge_changed)
              AND NOT EXISTS (SELECT 1 FROM merge_resources m
                              WHERE m.dataset_id = resources.dataset_id AND m.remote_id = resources.remote_id)""",
                    {"now": now, "cat": catalog_id})
        res_columns = _columns(con, "merge_resources", exclude=("catalog_id", "remote_id", "dataset_id"))
        con.execute(f"""
            UPDATE resources SET {", ".join(f"{c} = m.{c}" for c in res_columns)}, last_seen = $now,
                   deleted_at = NULL
            FROM merge_resources m
            WHERE resources.catalog_id = $cat AND resources.dataset_id = m.dataset_id
              AND resources.remote_id = m.remote_id""", {"now": now, "cat": catalog_id})
        con.execute("""
            INSERT INTO resources BY NAME
            SELECT m.*, $now AS first_seen, $now AS last_seen, NULL::TIMESTAMP AS deleted_at
            FROM merge_resources m
            WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.catalog_id = $cat
                              AND r.dataset_id = m.dataset_id AND r.remote_id = m.remote_id)""",
                    {"now": now, "cat": catalog_id})

        deleted = 0
        if deleted_ids:
            con.execute("CREATE OR REPLACE TEMP TABLE merge_deleted AS SELECT unnest(?::VARCHAR[]) AS remote_id",
                        [sorted(deleted_ids)])
            deleted = con.execute("""
                UPDATE datasets SET deleted_at = $now, last_run_id = $run
                WHERE catalog_id = $cat AND deleted_at IS NULL
                  AND remote_id IN (SELECT remote_id FROM merge_deleted)""",
                                  {"now": now, "run": run_id, "cat": catalog_id}).fetchone()[0]
            con.execute("""
                UPDATE resources SET deleted_at = $now
                WHERE catalog_id = $cat AND deleted_at IS NULL
                  AND dataset_id IN (SELECT remote_id FROM merge_deleted)""", {"now": now, "cat": catalog_id})

        con.execute("CREATE OR REPLACE TEMP TABLE merge_orgs AS " + records.ORGANIZATION_ROWS, [catalog_id])
        con.execute("""
            UPDATE organizations SET remote_id = m.remote_id, title = m.title, description = m.description,
                   image_url = m.image_url, last_seen = $now
            FROM merge_orgs m WHERE organizations.catalog_id = $cat AND organizations.name = m.name""",
                    {"now": now, "cat": catalog_id})
        con.execute("""
            INSERT INTO organizations BY NAME
            SELECT m.* EXCLUDE (catalog_id), $cat AS catalog_id, $now AS first_seen, $now AS last_seen
            FROM merge_orgs m
            WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.catalog_id = $cat AND o.name = m.name)""",
                    {"now": now, "cat": catalog_id})
        con.execute("DROP VIEW IF EXISTS merge_datasets")
        for table in ("merge_keys", "merge_docs", "merge_changes", "merge_changed", "merge_resources",
                      "merge_orgs", "merge_deleted"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        return MergeCounts(added=tally.get("new", 0) + tally.get("restored", 0),
                           updated=tally.get("updated", 0), unchanged=tally.get("unchanged", 0),
                           deleted=int(deleted))
