"""The fetch stage's table, resource_files: one link check per resource (its one owner)."""
from __future__ import annotations

from typing import Any

from harvester.store.core import StoreBase


class FileTables(StoreBase):
    """Reads and writes of the fetch stage."""

    def resource_file(self, catalog_id: str, dataset_id: str, resource_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM resource_files WHERE catalog_id = ? AND dataset_id = ? AND resource_id = ?",
                          [catalog_id, dataset_id, resource_id])
        return rows[0] if rows else None

    def record_resource_file(self, row: dict[str, Any]) -> None:
        self._replace_resource_row("resource_files", row)

    def _replace_resource_row(self, table: str, row: dict[str, Any]) -> None:
        """Replace the one row a resource has in `table`, in one transaction."""
        keys = [row["catalog_id"], row["dataset_id"], row["resource_id"]]
        columns = list(row)
        with self.transaction() as con:
            con.execute(f"DELETE FROM {table} WHERE catalog_id = ? AND dataset_id = ? AND resource_id = ?", keys)
            con.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                        [row[c] for c in columns])

