"""The store's tables: each one's current shape in one `CREATE`, with its key, and the numbered migrations
that bring an older store to it.

A new store is created from `TABLES` at `SCHEMA_VERSION`. An older one runs each migration above its
version, in order, in one transaction with the version bump: a migration is a function, so a rename or a
backfill has a place. Who writes each table (one owner each, see `harvester/store/__init__.py`):

| table | owner |
|---|---|
| catalogs, harvest_runs, datasets, resources, organizations | `store/harvest.py` (the harvest run and its merge) |
| resource_files | `store/files.py` (the fetch stage's link checks) |
| validations, column_profiles | `store/tables.py` (validate and profile) |
"""
from __future__ import annotations

from typing import Callable

import duckdb

SCHEMA_VERSION = 3

_DATASET_COLUMNS = """
    catalog_id VARCHAR NOT NULL, remote_id VARCHAR NOT NULL, name VARCHAR, title VARCHAR, notes VARCHAR,
    type VARCHAR, state VARCHAR, url VARCHAR, version VARCHAR,
    organization_id VARCHAR, organization_name VARCHAR, organization_title VARCHAR,
    tags VARCHAR[], groups VARCHAR[], license_id VARCHAR, license_title VARCHAR,
    author VARCHAR, author_email VARCHAR, maintainer VARCHAR, maintainer_email VARCHAR,
    metadata_created TIMESTAMP, metadata_modified TIMESTAMP, extras VARCHAR, raw VARCHAR, formats VARCHAR[],
    search_text VARCHAR, content_hash VARCHAR,
    first_seen TIMESTAMP, last_seen TIMESTAMP, last_changed TIMESTAMP, deleted_at TIMESTAMP,
    last_run_id BIGINT"""

KEYS: dict[str, tuple[str, ...]] = {
    "catalogs": ("id",),
    "harvest_runs": ("run_id",),
    "datasets": ("catalog_id", "remote_id"),
    "resources": ("catalog_id", "dataset_id", "remote_id"),
    "resource_files": ("catalog_id", "dataset_id", "resource_id"),
    "validations": ("catalog_id", "dataset_id", "resource_id", "part"),
    "column_profiles": ("catalog_id", "dataset_id", "resource_id", "part", "position"),
    "organizations": ("catalog_id", "name"),
}


def _key(table: str) -> str:
    return f", PRIMARY KEY ({', '.join(KEYS[table])})"


# The current shape of every table.
TABLES: dict[str, str] = {
    "schema_version": "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "catalogs": f"""CREATE TABLE catalogs (
        id VARCHAR NOT NULL, title VARCHAR, api_url VARCHAR, kind VARCHAR, config JSON,
        first_seen TIMESTAMP, updated_at TIMESTAMP,
        last_window_end TIMESTAMP, last_success_at TIMESTAMP, search_supported BOOLEAN,
        ckan_version VARCHAR{_key("catalogs")})""",
    "harvest_runs": f"""CREATE TABLE harvest_runs (
        run_id BIGINT NOT NULL, catalog_id VARCHAR NOT NULL, started_at TIMESTAMP, finished_at TIMESTAMP,
        status VARCHAR, mode VARCHAR, window_start TIMESTAMP, window_end TIMESTAMP,
        added INTEGER, updated INTEGER, unchanged INTEGER, deleted INTEGER, failed INTEGER,
        skipped INTEGER, requests INTEGER, retries INTEGER, duration_s DOUBLE, error VARCHAR,
        notes JSON{_key("harvest_runs")})""",
    "datasets": f"CREATE TABLE datasets ({_DATASET_COLUMNS}{_key('datasets')})",
    "resources": f"""CREATE TABLE resources (
        catalog_id VARCHAR NOT NULL, remote_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL,
        position INTEGER, name VARCHAR, description VARCHAR, url VARCHAR, format VARCHAR,
        mimetype VARCHAR, size BIGINT, last_modified TIMESTAMP, created TIMESTAMP, url_type VARCHAR,
        hash VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP, deleted_at TIMESTAMP{_key("resources")})""",
    "resource_files": f"""CREATE TABLE resource_files (
        catalog_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
        url VARCHAR, final_url VARCHAR, status VARCHAR, reason VARCHAR, http_status INTEGER, path VARCHAR,
        size BIGINT, sha256 VARCHAR, etag VARCHAR, last_modified VARCHAR, content_type VARCHAR,
        declared_format VARCHAR, sniffed_format VARCHAR, members VARCHAR[],
        checked_at TIMESTAMP, changed_at TIMESTAMP, last_success_at TIMESTAMP,
        first_failure_at TIMESTAMP{_key("resource_files")})""",
    "validations": f"""CREATE TABLE validations (
        catalog_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
        sha256 VARCHAR, valid BOOLEAN, encoding VARCHAR, delimiter VARCHAR, header_row INTEGER, rows BIGINT,
        error_count BIGINT, errors_by_type JSON, first_errors JSON, report_path VARCHAR, seconds DOUBLE,
        validated_at TIMESTAMP, part VARCHAR NOT NULL DEFAULT '', source VARCHAR, table_path VARCHAR,
        engine VARCHAR{_key("validations")})""",
    "column_profiles": f"""CREATE TABLE column_profiles (
        catalog_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
        sha256 VARCHAR, position INTEGER NOT NULL, name VARCHAR, type VARCHAR, rows BIGINT, missing_share DOUBLE,
        distinct_count BIGINT, min VARCHAR, max VARCHAR, alerts VARCHAR[], details JSON,
        profiled_at TIMESTAMP, part VARCHAR NOT NULL DEFAULT ''{_key("column_profiles")})""",
    "organizations": f"""CREATE TABLE organizations (
        catalog_id VARCHAR NOT NULL, remote_id VARCHAR, name VARCHAR NOT NULL, title VARCHAR,
        description VARCHAR, image_url VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP{_key("organizations")})""",
}
SEQUENCES = ["CREATE SEQUENCE IF NOT EXISTS run_ids START 1"]


# Migrations -------------------------------------------------------------------------------------

_V1_TABLES = {
    "catalogs": """CREATE TABLE IF NOT EXISTS catalogs (
        id VARCHAR NOT NULL, title VARCHAR, api_url VARCHAR, kind VARCHAR, config JSON,
        first_seen TIMESTAMP, updated_at TIMESTAMP,
        last_window_end TIMESTAMP, last_success_at TIMESTAMP, search_supported BOOLEAN,
        ckan_version VARCHAR)""",
    "harvest_runs": """CREATE TABLE IF NOT EXISTS harvest_runs (
        run_id BIGINT NOT NULL, catalog_id VARCHAR NOT NULL, started_at TIMESTAMP, finished_at TIMESTAMP,
        status VARCHAR, mode VARCHAR, window_start TIMESTAMP, window_end TIMESTAMP,
        added INTEGER, updated INTEGER, unchanged INTEGER, deleted INTEGER, failed INTEGER,
        skipped INTEGER, requests INTEGER, retries INTEGER, duration_s DOUBLE, error VARCHAR,
        notes JSON)""",
    "datasets": f"CREATE TABLE IF NOT EXISTS datasets ({_DATASET_COLUMNS})",
    "resources": """CREATE TABLE IF NOT EXISTS resources (
        catalog_id VARCHAR NOT NULL, remote_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL,
        position INTEGER, name VARCHAR, description VARCHAR, url VARCHAR, format VARCHAR,
        mimetype VARCHAR, size BIGINT, last_modified TIMESTAMP, created TIMESTAMP, url_type VARCHAR,
        hash VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP, deleted_at TIMESTAMP)""",
    "resource_files": """CREATE TABLE IF NOT EXISTS resource_files (
        catalog_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
        url VARCHAR, final_url VARCHAR, status VARCHAR, reason VARCHAR, http_status INTEGER, path VARCHAR,
        size BIGINT, sha256 VARCHAR, etag VARCHAR, last_modified VARCHAR, content_type VARCHAR,
        declared_format VARCHAR, sniffed_format VARCHAR, members VARCHAR[],
        checked_at TIMESTAMP, changed_at TIMESTAMP, last_success_at TIMESTAMP, first_failure_at TIMESTAMP)""",
    "validations": """CREATE TABLE IF NOT EXISTS validations (
        catalog_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
        sha256 VARCHAR, valid BOOLEAN, encoding VARCHAR, delimiter VARCHAR, header_row INTEGER, rows BIGINT,
        error_count BIGINT, errors_by_type JSON, first_errors JSON, report_path VARCHAR, seconds DOUBLE,
        validated_at TIMESTAMP)""",
    "column_profiles": """CREATE TABLE IF NOT EXISTS column_profiles (
        catalog_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
        sha256 VARCHAR, position INTEGER, name VARCHAR, type VARCHAR, rows BIGINT, missing_share DOUBLE,
        distinct_count BIGINT, min VARCHAR, max VARCHAR, alerts VARCHAR[], details JSON,
        profiled_at TIMESTAMP)""",
    "organizations": """CREATE TABLE IF NOT EXISTS organizations (
        catalog_id VARCHAR NOT NULL, remote_id VARCHAR, name VARCHAR NOT NULL, title VARCHAR,
        description VARCHAR, image_url VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP)""",
}


def _v1_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Version 1: the first tables (a store that has only some of them gets the rest)."""
    for statement in _V1_TABLES.values():
        con.execute(statement)


def _v2_table_parts(con: duckdb.DuckDBPyConnection) -> None:
    """Version 2: a resource can hold several tables (XLSX sheets, JSON tables, ZIP members), one row each."""
    for statement in ("ALTER TABLE validations ADD COLUMN IF NOT EXISTS part VARCHAR DEFAULT ''",
                      "ALTER TABLE validations ADD COLUMN IF NOT EXISTS source VARCHAR",
                      "ALTER TABLE validations ADD COLUMN IF NOT EXISTS table_path VARCHAR",
                      "ALTER TABLE validations ADD COLUMN IF NOT EXISTS engine VARCHAR",
                      "ALTER TABLE column_profiles ADD COLUMN IF NOT EXISTS part VARCHAR DEFAULT ''"):
        con.execute(statement)


def _v3_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Version 3: every table declares its key. Each table is rebuilt in its current shape; rows that
    repeat a key (possible before, when a portal repeated an id) keep the newest copy, and a missing part
    becomes ''."""
    for table, key in KEYS.items():
        columns = ", ".join(key)
        fixes = {"validations": " REPLACE (coalesce(part, '') AS part)",
                 "column_profiles": " REPLACE (coalesce(part, '') AS part)"}.get(table, "")
        where = " WHERE position IS NOT NULL" if table == "column_profiles" else ""
        con.execute(TABLES[table].replace(f"CREATE TABLE {table} (", f"CREATE TABLE {table}__v3 (", 1))
        con.execute(f"""INSERT INTO {table}__v3 BY NAME
                        SELECT * EXCLUDE (src, keep) FROM (
                            SELECT *, row_number() OVER (PARTITION BY {columns} ORDER BY src DESC) AS keep
                            FROM (SELECT *{fixes}, rowid AS src FROM {table}{where}))
                        WHERE keep = 1""")
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {table}__v3 RENAME TO {table}")


MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    1: _v1_tables,
    2: _v2_table_parts,
    3: _v3_keys,
}
assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION + 1))


def create(con: duckdb.DuckDBPyConnection) -> None:
    """A new store at the current version."""
    for statement in TABLES.values():
        con.execute(statement)
    for statement in SEQUENCES:
        con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION])


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The store's version, or None for a database with no store in it yet."""
    found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_version' "
                        "AND schema_name = 'main' AND database_name = current_database()").fetchone()
    if not found or not found[0]:
        return None
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def upgrade(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Run the migrations above `version` (0: a store that recorded none). Migration 1 creates only the
    tables that are missing, so a version-1 store runs it again: early stores created tables lazily."""
    first = 1 if version <= 1 else version + 1
    for number in range(first, SCHEMA_VERSION + 1):
        MIGRATIONS[number](con)
    for statement in SEQUENCES:
        con.execute(statement)
    con.execute("DELETE FROM schema_version")
    con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION])
