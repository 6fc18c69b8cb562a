"""The validate and profile stages' tables: validations (one row per table of a file) and column_profiles
(one row per column of a table); their one owner."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from harvester.store.core import StoreBase


class TableTables(StoreBase):
    """Reads and writes of the validate and profile stages."""

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

