"""The store's schema: each table's key, and a store written by the previous release (schema 2) opening,
migrating in place and harvesting on."""
from __future__ import annotations

import duckdb

from harvester.config import load_settings
from harvester.harvest import harvest
from harvester.store import SCHEMA_VERSION, Store
from harvester.store.schema import KEYS

# The statements the previous release (schema 2) ran on every open, verbatim.
DATASET_COLUMNS_V2 = """
    catalog_id VARCHAR NOT NULL, remote_id VARCHAR NOT NULL, name VARCHAR, title VARCHAR, notes VARCHAR,
    type VARCHAR, state VARCHAR, url VARCHAR, version VARCHAR,
    organization_id VARCHAR, organization_name VARCHAR, organization_title VARCHAR,
    tags VARCHAR[], groups VARCHAR[], license_id VARCHAR, license_title VARCHAR,
    author VARCHAR, author_email VARCHAR, maintainer VARCHAR, maintainer_email VARCHAR,
    metadata_created TIMESTAMP, metadata_modified TIMESTAMP, extras VARCHAR, raw VARCHAR, formats VARCHAR[],
    search_text VARCHAR, content_hash VARCHAR,
    first_seen TIMESTAMP, last_seen TIMESTAMP, last_changed TIMESTAMP, deleted_at TIMESTAMP,
    last_run_id BIGINT"""

LEGACY_V2 = [
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
    f"CREATE TABLE IF NOT EXISTS datasets ({DATASET_COLUMNS_V2})",
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


def _keys(store: Store) -> dict[str, list[str]]:
    rows = store.query("SELECT table_name, constraint_column_names FROM duckdb_constraints() "
                       "WHERE constraint_type = 'PRIMARY KEY'")
    return {r["table_name"]: list(r["constraint_column_names"]) for r in rows}


def test_a_new_store_declares_every_key(tmp_path):
    with Store(tmp_path / "new.duckdb") as store:
        assert _keys(store) == {t: list(k) for t, k in KEYS.items()}
        assert store.query("SELECT max(version) AS v FROM schema_version")[0]["v"] == SCHEMA_VERSION == 3


def test_a_store_of_the_previous_release_migrates_in_place_and_harvests_on(tmp_path, portal, make_config):
    config = make_config("veracruz")
    settings = load_settings(config, env={})
    settings.paths.ensure()
    con = duckdb.connect(str(settings.paths.database))
    for statement in LEGACY_V2:
        con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (2)")
    con.execute("INSERT INTO catalogs (id, title) VALUES ('veracruz', 'old title')")
    con.execute("INSERT INTO resource_files (catalog_id, dataset_id, resource_id, status, path) "
                "VALUES ('veracruz', 'd1', 'r1', 'ok', 'raw/veracruz/d1/r1.csv')")
    # a resource id that a portal repeated: two rows for one key, the newer one last
    for valid in (False, True):
        con.execute("INSERT INTO validations (catalog_id, dataset_id, resource_id, sha256, valid, part) "
                    "VALUES ('veracruz', 'd1', 'r1', 'abc', ?, '')", [valid])
    con.execute("INSERT INTO column_profiles (catalog_id, dataset_id, resource_id, position, name, part) "
                "VALUES ('veracruz', 'd1', 'r1', 0, 'a', NULL)")
    con.close()

    with Store(settings.paths.database) as store:
        assert store.query("SELECT max(version) AS v FROM schema_version")[0]["v"] == SCHEMA_VERSION
        assert _keys(store) == {t: list(k) for t, k in KEYS.items()}
        assert store.query("SELECT valid FROM validations") == [{"valid": True}]
        assert store.query("SELECT part, name FROM column_profiles") == [{"part": "", "name": "a"}]
        assert store.query("SELECT status, path FROM resource_files") == [
            {"status": "ok", "path": "raw/veracruz/d1/r1.csv"}]
    [result] = harvest(settings, ["veracruz"])
    assert result.status == "ok" and result.added > 0
    with Store(settings.paths.database, read_only=True) as store:
        assert store.query("SELECT title FROM catalogs") == [{"title": "veracruz sandbox"}]
        assert store.query("SELECT count(*) AS n FROM datasets")[0]["n"] == result.added
