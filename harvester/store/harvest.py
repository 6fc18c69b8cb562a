"""The harvest run's tables: catalogs, harvest_runs, datasets, resources and organizations (their one owner).

A run (`Store.harvest_run`) stages what it receives in TEMP tables (gone if the process dies) and merges
them into the permanent tables in one transaction with the run's finish, so a run killed at any point
leaves the previous state whole and readable; the next run marks it interrupted and simply redoes the
work from the last good window.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator

import duckdb

from harvester.clock import utcnow
from harvester.config import CatalogConfig
from harvester.model import CatalogState, MergeCounts, RunOutcome
from harvester.store import records
from harvester.store.core import StoreBase

__all__ = ["CatalogState", "HarvestRun", "HarvestTables", "MergeCounts"]

# Staging: a TEMP table lives only as long as the connection; a killed run leaves nothing behind.
_STAGING = "CREATE TEMP TABLE IF NOT EXISTS stage_raw (remote_id VARCHAR, raw VARCHAR, batch INTEGER)"


def _columns(con: duckdb.DuckDBPyConnection, table: str, exclude: tuple[str, ...]) -> list[str]:
    names = [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
    return [n for n in names if n not in exclude]


class HarvestTables(StoreBase):
    """Reads and writes of the harvest run."""

    @contextmanager
    def harvest_run(self, catalog: CatalogConfig) -> Iterator[HarvestRun]:
        """Begin a run of `catalog` (recording the catalog, and any older run still 'running' as
        interrupted); the staging area is empty on entry and on exit. Close the run with
        `HarvestRun.commit` or `HarvestRun.fail`; a run left open stays 'running' until the next begins."""
        now = utcnow()
        self._upsert_catalog(catalog, now)
        state = self.catalog_state(catalog.id)
        run_id = self._begin_run(catalog.id, now)
        self._reset_stage()
        try:
            yield HarvestRun(self, catalog.id, run_id, state)
        finally:
            self._reset_stage()

    def catalog_state(self, catalog_id: str) -> CatalogState:
        row = self.con.execute("SELECT last_window_end, last_success_at, search_supported FROM catalogs "
                               "WHERE id = ?", [catalog_id]).fetchone()
        if row is None:
            return CatalogState(None, None, None)
        return CatalogState(*row)

    def record_ckan_version(self, catalog_id: str, version: str) -> bool:
        """Remember the CKAN version a catalog reported; False when the store holds no such catalog yet."""
        with self.transaction() as con:
            changed = con.execute("UPDATE catalogs SET ckan_version = ? WHERE id = ?",
                                  [version, catalog_id]).fetchone()[0]
        return bool(changed)

    def _upsert_catalog(self, catalog: CatalogConfig, now: datetime) -> None:
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

    def _begin_run(self, catalog_id: str, now: datetime) -> int:
        """Record a run as started; any older run still 'running' died with its process."""
        with self.transaction() as con:
            con.execute("UPDATE harvest_runs SET status = 'interrupted', "
                        "error = coalesce(error, 'the process stopped before the run finished') "
                        "WHERE catalog_id = ? AND status = 'running'", [catalog_id])
            run_id = con.execute("SELECT nextval('run_ids')").fetchone()[0]
            con.execute("INSERT INTO harvest_runs (run_id, catalog_id, started_at, status) "
                        "VALUES (?, ?, ?, 'running')", [run_id, catalog_id, now])
        return int(run_id)

    def _reset_stage(self) -> None:
        for statement in records.MACROS:
            self.con.execute(statement)
        self.con.execute(_STAGING)
        self.con.execute("DELETE FROM stage_raw")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text)


class HarvestRun:
    """One begun run of one catalog: stage what the listing receives, then `commit` or `fail`."""

    def __init__(self, tables: HarvestTables, catalog_id: str, run_id: int, state: CatalogState) -> None:
        self._tables = tables
        self._con = tables.con
        self.catalog_id = catalog_id
        self.run_id = run_id
        self.state = state
        """What the store remembered of the catalog when the run began."""
        self.batches = 0
        """Batches staged so far."""

    # Staging -------------------------------------------------------------------------------------

    def stage_json(self, text: str, path: str, skip_types: set[str]) -> bool:
        """Keep the datasets found at `path` in a JSON answer (DuckDB splits it, outside the GIL). False
        when DuckDB cannot read the text (a lone surrogate escape, say): stage the parsed datasets instead."""
        try:
            self._con.execute("""
            INSERT INTO stage_raw
            SELECT j->>'id', j::VARCHAR, $batch FROM (SELECT unnest(json_extract($text, $path)) AS j)
            WHERE j->>'id' IS NOT NULL AND NOT list_contains($skip, coalesce(j->>'type', 'dataset'))""",
                         {"text": text, "path": path, "batch": self.batches + 1, "skip": sorted(skip_types)})
        except duckdb.InvalidInputException:
            return False
        self.batches += 1
        return True

    def stage(self, datasets: list[dict[str, Any]]) -> None:
        """Keep one batch of received datasets (raw portal JSON, as CKAN returns them) until the merge."""
        self.batches += 1
        if not datasets:
            return
        # A lone surrogate (JSON allows the escape, UTF-8 cannot hold it) becomes U+FFFD, the replacement
        # character: visible where the portal's text was broken, never a silently missing value.
        import pyarrow as pa  # here: the commands that only read the store need neither it nor numpy

        table = pa.table({"remote_id": [_whole(str(d["id"])) for d in datasets],
                          "raw": [_whole(json.dumps(d, ensure_ascii=False)) for d in datasets],
                          "batch": pa.array([self.batches] * len(datasets), pa.int32())})
        self._con.register("_batch", table)
        try:
            self._con.execute("INSERT INTO stage_raw SELECT * FROM _batch")
        finally:
            self._con.unregister("_batch")

    # What the run accounts for -----------------------------------------------------------------

    def held_after_merge(self) -> int:
        """How many datasets the catalog will hold once the staged ones are merged (before deletions)."""
        return self._con.execute(
            "SELECT count(*) FROM (SELECT remote_id FROM datasets WHERE catalog_id = ? AND deleted_at IS NULL "
            "UNION SELECT remote_id FROM stage_raw)", [self.catalog_id]).fetchone()[0]

    def unaccounted(self, listed: set[str], failed: list[str]) -> set[str]:
        """Ids of datasets the catalog held before this run that the run neither listed (`listed`), staged,
        nor failed to fetch (`failed`: names or ids): the candidates for deletion."""
        held = {r[0] for r in self._con.execute(
            "SELECT remote_id FROM datasets WHERE catalog_id = ? AND deleted_at IS NULL",
            [self.catalog_id]).fetchall()}
        staged = {r[0] for r in self._con.execute("SELECT DISTINCT remote_id FROM stage_raw").fetchall()}
        by_name: dict[str, str] = {}
        if failed:
            by_name = {r[0]: r[1] for r in self._con.execute(
                "SELECT name, remote_id FROM datasets WHERE catalog_id = ? AND deleted_at IS NULL "
                "AND name IS NOT NULL", [self.catalog_id]).fetchall()}
        return held - listed - staged - {by_name.get(n, n) for n in failed}

    # Closing the run ---------------------------------------------------------------------------

    def commit(self, deleted_ids: set[str], outcome: RunOutcome) -> MergeCounts:
        """Merge the staged datasets and the deletions, and close the run, in one transaction."""
        with self._tables.transaction() as con:
            counts = self._merge(con, utcnow(), deleted_ids)
            self._finish(con, outcome, counts)
        return counts

    def fail(self, outcome: RunOutcome) -> None:
        """Close the run without merging anything it staged."""
        with self._tables.transaction() as con:
            self._finish(con, outcome, None)

    def _finish(self, con: duckdb.DuckDBPyConnection, outcome: RunOutcome, counts: MergeCounts | None) -> None:
        finished_at = utcnow()
        merged = counts or MergeCounts(0, 0, 0, 0)
        con.execute(
            "UPDATE harvest_runs SET finished_at = ?, status = ?, mode = ?, window_start = ?, window_end = ?, "
            "added = ?, updated = ?, unchanged = ?, deleted = ?, failed = ?, skipped = ?, requests = ?, "
            "retries = ?, duration_s = ?, error = ?, notes = ? WHERE run_id = ?",
            [finished_at, outcome.status, outcome.mode, outcome.window_start, outcome.window_end, merged.added,
             merged.updated, merged.unchanged, merged.deleted, outcome.failed, outcome.skipped,
             outcome.requests, outcome.retries, outcome.duration_s, outcome.error,
             json.dumps(outcome.notes.as_dict(), sort_keys=True, default=str), self.run_id])
        if outcome.search_supported is not None:
            con.execute("UPDATE catalogs SET search_supported = ? WHERE id = ?",
                        [outcome.search_supported, self.catalog_id])
        if outcome.advance_window:
            con.execute("UPDATE catalogs SET last_window_end = ?, last_success_at = ? WHERE id = ?",
                        [outcome.window_end, finished_at, self.catalog_id])

    def _merge(self, con: duckdb.DuckDBPyConnection, now: datetime, deleted_ids: set[str]) -> MergeCounts:
        catalog_id, run_id = self.catalog_id, self.run_id
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
