"""The fetch stage's table, resource_files: one link check per resource (its one owner)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from harvester.linkstatus import FAILURES, HEALTHY
from harvester.model import LinkCheck, RecheckRule, Resource, ResourceKey, ResourceToFetch
from harvester.store.core import StoreBase

_KEY = "catalog_id = ? AND dataset_id = ? AND resource_id = ?"


def _in(values: list[Any] | tuple[Any, ...]) -> str:
    return f"({', '.join('?' for _ in values)})"


class FileTables(StoreBase):
    """Reads and writes of the fetch stage."""

    def resources_to_fetch(self, catalogs: list[str], datasets: list[str], formats: list[str], max_size: int | None,
                           now: datetime, due: RecheckRule) -> list[ResourceToFetch]:
        """The live resources with a URL (of these catalogs, datasets by name and formats, when given; no
        bigger than `max_size` as the portal declares it), the oldest checks first (never checked first,
        then by catalog, dataset name and position).

        Each is marked by `due` (see `RecheckRule`): `waiting`, a link that failed at this same URL and is not
        due yet; `resting`, a file that was fine at this same URL, unchanged, and is not due yet. Neither is
        marked when the URL changed, or when the dataset changed (as harvested) or the resource's declared
        last_modified is later than the check: those are asked at once."""
        failures, healthy = sorted(FAILURES), sorted(HEALTHY)
        age = "epoch(?) - epoch(f.checked_at)"
        bounded = "least(?, greatest(?, {}))"
        same = ("f.url = r.url AND d.last_changed <= f.checked_at "
                "AND coalesce(r.last_modified <= f.checked_at, true)")
        sql = [f"""SELECT r.*, d.name AS dataset_name,
                   coalesce(f.status IN {_in(failures)} AND {same} AND {age} < {bounded.format(
                       "epoch(f.checked_at) - epoch(coalesce(f.first_failure_at, f.checked_at))")}, false)
                       AS waiting,
                   coalesce(f.status IN {_in(healthy)} AND {same} AND {age} < {bounded.format(
                       "? * (epoch(f.checked_at) - epoch(coalesce(f.changed_at, f.checked_at)))")}, false)
                       AS resting""",
               "FROM resources r JOIN datasets d ON d.catalog_id = r.catalog_id AND d.remote_id = r.dataset_id",
               "LEFT JOIN resource_files f ON f.catalog_id = r.catalog_id AND f.dataset_id = r.dataset_id",
               "AND f.resource_id = r.remote_id",
               "WHERE r.deleted_at IS NULL AND d.deleted_at IS NULL AND r.url IS NOT NULL"]
        params: list[Any] = [*failures, now, due.max_seconds, due.min_seconds,
                             *healthy, now, due.max_seconds, due.min_seconds, due.unchanged_share]
        for column, values in (("r.catalog_id", catalogs), ("d.name", datasets)):
            if values:
                sql.append(f"AND {column} IN {_in(values)}")
                params.extend(values)
        if formats:
            sql.append(f"AND upper(r.format) IN {_in(formats)}")
            params.extend(f.upper().lstrip(".") for f in formats)
        if max_size is not None:
            sql.append("AND coalesce(r.size, 0) <= ?")
            params.append(max_size)
        sql.append("ORDER BY f.checked_at NULLS FIRST, r.catalog_id, d.name, r.position, r.remote_id")
        cursor = self.con.execute(" ".join(sql), params)
        names = [d[0] for d in cursor.description]
        return [ResourceToFetch(Resource.from_row(row), row["dataset_name"], row["waiting"], row["resting"])
                for row in (dict(zip(names, values)) for values in cursor.fetchall())]

    def link_check(self, key: ResourceKey) -> LinkCheck | None:
        """The last check of a resource's link, None if it was never checked."""
        cursor = self.con.execute(f"SELECT * FROM resource_files WHERE {_KEY}",
                                  [key.catalog_id, key.dataset_id, key.resource_id])
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
        return LinkCheck.from_row(dict(zip(names, row))) if row else None

    def link_checks(self) -> dict[ResourceKey, LinkCheck]:
        """Every resource's last check, by resource (one read for a whole fetch run)."""
        cursor = self.con.execute("SELECT * FROM resource_files")
        names = [d[0] for d in cursor.description]
        checks = (LinkCheck.from_row(dict(zip(names, row))) for row in cursor.fetchall())
        return {check.key: check for check in checks}

    def record_link_checks(self, checks: list[LinkCheck]) -> None:
        """Replace the one check each of these resources has, all in one transaction (a resource given twice:
        its last check). The batch goes to DuckDB as one Arrow table, not as thousands of parameters (a
        third of the time of a batch of 50)."""
        import pyarrow as pa
        latest = list({check.key: check for check in checks}.values())
        if not latest:
            return
        rows = [check.row() for check in latest]
        columns = list(rows[0])
        types = self._file_column_types()
        batch = pa.table({c: [row[c] for row in rows] for c in columns})
        with self.transaction() as con:
            con.register("_link_checks", batch)
            try:
                con.execute("DELETE FROM resource_files USING _link_checks AS k WHERE resource_files.catalog_id = "
                            "k.catalog_id AND resource_files.dataset_id = k.dataset_id "
                            "AND resource_files.resource_id = k.resource_id")
                con.execute(f"INSERT INTO resource_files ({', '.join(columns)}) SELECT "
                            + ", ".join(f"CAST({c} AS {types[c]})" for c in columns) + " FROM _link_checks")
            finally:
                con.unregister("_link_checks")

    def _file_column_types(self) -> dict[str, str]:
        """resource_files' column types, read once per open store (not once per batch)."""
        if getattr(self, "_file_types", None) is None:
            self._file_types = dict(self.con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                                     "WHERE table_name = 'resource_files'").fetchall())
        return self._file_types

    def record_link_check(self, check: LinkCheck) -> None:
        """Replace the one check a resource has, in one transaction."""
        row = check.row()
        columns = list(row)
        with self.transaction() as con:
            con.execute(f"DELETE FROM resource_files WHERE {_KEY}",
                        [check.catalog_id, check.dataset_id, check.resource_id])
            con.execute(f"INSERT INTO resource_files ({', '.join(columns)}) VALUES {_in(columns)}",
                        [row[c] for c in columns])

    def raw_paths(self) -> list[tuple[str, ResourceKey]]:
        """Every recorded file path (relative to the data folder) with the resource it belongs to. Where
        an older version let two resources share one path, the one that wrote it last comes last."""
        rows = self.con.execute("SELECT path, catalog_id, dataset_id, resource_id FROM resource_files "
                                "WHERE path IS NOT NULL ORDER BY path, last_success_at NULLS FIRST, checked_at "
                                "NULLS FIRST").fetchall()
        return [(path, ResourceKey(c, d, r)) for path, c, d, r in rows]
