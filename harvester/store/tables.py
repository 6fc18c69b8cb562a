"""The validate and profile stages' tables: validations (one row per table of a file) and column_profiles
(one row per column of a table); their one owner."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from harvester.alerts import Alert
from harvester.linkstatus import HEALTHY
from harvester.model import (ColumnProfile, FileToValidate, ProfiledColumn, ResourceKey, SiblingFlag,
                             TableToProfile, TableValidation)
from harvester.store.core import StoreBase

_KEY = "catalog_id = ? AND dataset_id = ? AND resource_id = ?"

# `column_profiles.details` keeps its keys in this order; the row of an unreadable table (type 'error')
# keeps only the second list.
_DETAILS = ("position", "name", "type", "rows", "missing_share", "placeholders", "distinct_count", "min", "max",
            "quartiles", "date_min", "date_max", "top_values", "spellings", "alerts", "error",
            "sibling_missing_in", "part", "form", "present", "placeholder_spellings", "rules")
_ERROR_DETAILS = ("position", "name", "type", "rows", "alerts", "error", "part")


def _in(values: list[Any] | tuple[Any, ...]) -> str:
    return f"({', '.join('?' for _ in values)})"


def _catalogs(catalogs: list[str] | None, column: str = "catalog_id", joiner: str = "AND") -> tuple[str, list[str]]:
    """A `catalog_id IN (...)` condition (nothing when no catalog is named) and its parameters."""
    if not catalogs:
        return "", []
    return f" {joiner} {column} IN {_in(catalogs)}", list(catalogs)


def _keys(key: ResourceKey) -> list[str]:
    return [key.catalog_id, key.dataset_id, key.resource_id]


def _validation_row(table: TableValidation) -> dict[str, Any]:
    """The `validations` row of a table. A file with no table (valid None) stores no error counts."""
    holds_table = table.valid is not None
    return {
        "catalog_id": table.catalog_id, "dataset_id": table.dataset_id, "resource_id": table.resource_id,
        "sha256": table.sha256, "valid": table.valid, "encoding": table.encoding, "delimiter": table.delimiter,
        "header_row": table.header_row, "rows": table.rows, "error_count": table.error_count,
        "errors_by_type": json.dumps(table.errors_by_type, ensure_ascii=False) if holds_table else None,
        "first_errors": (json.dumps([e.as_dict() for e in table.first_errors], ensure_ascii=False, default=str)
                         if holds_table else None),
        "report_path": table.report_path, "seconds": table.seconds, "validated_at": table.validated_at,
        "part": table.part, "source": table.source, "table_path": table.table_path, "engine": table.engine,
    }


def _details_json(column: ColumnProfile) -> str:
    details = column.details()
    order = _ERROR_DETAILS if column.type == "error" else _DETAILS
    return json.dumps({k: details[k] for k in order if k in details}, ensure_ascii=False, default=str)


class TableTables(StoreBase):
    """Reads and writes of the validate and profile stages."""

    # Validate --------------------------------------------------------------------------------------

    def files_to_validate(self, catalogs: list[str] | None, formats: tuple[str, ...]) -> list[FileToValidate]:
        """The files of healthy links, fetched and sniffed as one of `formats`, with the sha256 their
        validations were made from."""
        statuses = sorted(HEALTHY)
        where, params = _catalogs(catalogs, "f.catalog_id")
        cursor = self.con.execute(
            "SELECT f.catalog_id, f.dataset_id, f.resource_id, f.path, f.sha256, f.sniffed_format, "
            "(SELECT any_value(v.sha256) FROM validations v WHERE v.catalog_id = f.catalog_id "
            "AND v.dataset_id = f.dataset_id AND v.resource_id = f.resource_id) AS validated_sha256 "
            f"FROM resource_files f WHERE f.status IN {_in(statuses)} AND f.path IS NOT NULL "
            f"AND f.sniffed_format IN {_in(formats)}{where} ORDER BY ALL", [*statuses, *formats, *params])
        return [FileToValidate(*row) for row in cursor.fetchall()]

    def record_validations(self, key: ResourceKey, tables: list[TableValidation]) -> None:
        """Replace the validation rows (one per table, each of its own part) of a resource, in one transaction."""
        parts = [t.part for t in tables]
        if len(set(parts)) != len(parts) or any(t.key != key for t in tables):
            raise ValueError(f"{key}: validations must be of this resource, one per part: {parts}")
        rows = [_validation_row(t) for t in tables]
        with self.transaction() as con:
            con.execute(f"DELETE FROM validations WHERE {_KEY}", _keys(key))
            for row in rows:
                columns = list(row)
                con.execute(f"INSERT INTO validations ({', '.join(columns)}) VALUES {_in(columns)}",
                            [row[c] for c in columns])

    # Profile ---------------------------------------------------------------------------------------

    def tables_to_profile(self, catalogs: list[str] | None) -> list[TableToProfile]:
        """The validated delimited tables of files still held, with the sha256 their resource's profiles
        were made from."""
        where, params = _catalogs(catalogs, "v.catalog_id")
        cursor = self.con.execute(
            "SELECT v.catalog_id, v.dataset_id, v.resource_id, v.sha256, v.part, "
            "coalesce(v.table_path, f.path) AS path, v.encoding, v.delimiter, v.header_row, "
            "(SELECT any_value(p.sha256) FROM column_profiles p WHERE p.catalog_id = v.catalog_id AND "
            "p.dataset_id = v.dataset_id AND p.resource_id = v.resource_id) AS profiled_sha256 "
            "FROM validations v JOIN resource_files f USING (catalog_id, dataset_id, resource_id) "
            f"WHERE v.delimiter IS NOT NULL AND f.path IS NOT NULL{where} ORDER BY ALL", params)
        return [TableToProfile(*row) for row in cursor.fetchall()]

    def record_profile(self, key: ResourceKey, sha256: str | None, columns: list[ColumnProfile],
                       now: datetime) -> None:
        """Replace a resource's column profiles (every table of it), in one transaction."""
        rows = [[*_keys(key), sha256, c.position, c.name, c.type, c.rows, c.missing_share, c.distinct_count,
                 None if c.min is None else str(c.min), None if c.max is None else str(c.max),
                 [str(a) for a in c.alerts], _details_json(c), now, c.part] for c in columns]
        with self.transaction() as con:
            con.execute(f"DELETE FROM column_profiles WHERE {_KEY}", _keys(key))
            con.executemany("INSERT INTO column_profiles (catalog_id, dataset_id, resource_id, sha256, position, "
                            "name, type, rows, missing_share, distinct_count, min, max, alerts, details, "
                            "profiled_at, part) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def profiled_columns(self, catalogs: list[str] | None) -> list[ProfiledColumn]:
        """The columns of every readable profiled table."""
        where, params = _catalogs(catalogs)
        cursor = self.con.execute("SELECT catalog_id, dataset_id, resource_id, part, name FROM column_profiles "
                                  f"WHERE type <> 'error'{where}", params)
        return [ProfiledColumn(c, d, r, part or "", name) for c, d, r, part, name in cursor.fetchall()]

    def flag_sibling_columns(self, catalogs: list[str] | None, flags: list[SiblingFlag]) -> None:
        """Set the `sibling_columns_differ` alerts of these catalogs' columns (all of them when none is
        named) to exactly `flags`, each with where the column is missing (`details.sibling_missing_in`)."""
        where, params = _catalogs(catalogs, joiner="WHERE")
        alert = str(Alert.SIBLING_COLUMNS_DIFFER)
        with self.transaction() as con:
            con.execute(f"UPDATE column_profiles SET alerts = list_filter(alerts, lambda a: a <> '{alert}'){where}",
                        params)
            if not flags:
                return
            con.executemany("UPDATE column_profiles SET alerts = list_append(alerts, ?), "
                            "details = json_merge_patch(details, ?::JSON) WHERE catalog_id = ? AND dataset_id = ? "
                            "AND resource_id = ? AND part = ? AND name = ?",
                            [[alert, json.dumps({"sibling_missing_in": list(f.missing_in)}), f.catalog_id,
                              f.dataset_id, f.resource_id, f.part, f.name] for f in flags])

    def alert_counts(self, catalogs: list[str] | None) -> dict[str, int]:
        """How many columns (of these catalogs, or all) carry each alert."""
        where, params = _catalogs(catalogs, joiner="WHERE")
        counts: dict[str, int] = {}
        for (alerts,) in self.con.execute(f"SELECT alerts FROM column_profiles{where}", params).fetchall():
            for alert in alerts or []:
                counts[alert] = counts.get(alert, 0) + 1
        return counts
