"""The harvest run's tables: catalogs, harvest_runs, datasets, resources and organizations (their one owner).

A harvest run stages what it receives in TEMP tables (gone if the process dies) and merges them
into the permanent tables in one transaction at the end, so a run killed at any point leaves the
previous state whole and readable; the next run simply redoes the work from the last good window.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from harvester.config import CatalogConfig
from harvester.store import records
from harvester.store.core import StoreBase

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


class HarvestTables(StoreBase):
    """Reads and writes of the harvest run."""

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
