"""How CKAN dataset dicts become the store's rows: DuckDB SQL over the raw JSON staged by a run.

A run stages each dataset's JSON text as it arrives (cheap); at the merge DuckDB parses every staged
dataset once (`from_json` into typed structs, non-strict: a field of an unexpected type becomes NULL)
and extracts every column set-based, many times faster than doing it per dataset in Python.
CKAN fields are free text and often missing; nothing here trusts a type.
"""
from __future__ import annotations

import json

# The shape DuckDB reads from each dataset; anything else stays in `raw`.
_RESOURCE = {"id": "VARCHAR", "name": "VARCHAR", "description": "VARCHAR", "url": "VARCHAR",
             "format": "VARCHAR", "mimetype": "VARCHAR", "size": "VARCHAR", "last_modified": "VARCHAR",
             "created": "VARCHAR", "url_type": "VARCHAR", "hash": "VARCHAR"}
DATASET_SHAPE = json.dumps({
    "id": "VARCHAR", "name": "VARCHAR", "title": "VARCHAR", "notes": "VARCHAR", "type": "VARCHAR",
    "state": "VARCHAR", "url": "VARCHAR", "version": "VARCHAR", "owner_org": "VARCHAR",
    "organization": {"id": "VARCHAR", "name": "VARCHAR", "title": "VARCHAR", "description": "VARCHAR",
                     "image_url": "VARCHAR"},
    "tags": [{"name": "VARCHAR"}], "groups": [{"name": "VARCHAR"}],
    "license_id": "VARCHAR", "license_title": "VARCHAR", "author": "VARCHAR", "author_email": "VARCHAR",
    "maintainer": "VARCHAR", "maintainer_email": "VARCHAR", "metadata_created": "VARCHAR",
    "metadata_modified": "VARCHAR", "extras": "JSON", "resources": [_RESOURCE],
})

# `CSV`, `csv`, `.csv`, `text/csv` -> `CSV`; empty -> NULL.
MACROS = [
    """CREATE OR REPLACE TEMP MACRO norm_format(f) AS (
        CASE WHEN nullif(trim(coalesce(f, '')), '') IS NULL THEN NULL
             ELSE upper(CASE ltrim(lower(trim(f)), '.')
                 WHEN 'text/csv' THEN 'csv' WHEN 'application/json' THEN 'json'
                 WHEN 'application/geo+json' THEN 'geojson' WHEN 'application/zip' THEN 'zip'
                 WHEN 'application/pdf' THEN 'pdf' WHEN 'text/html' THEN 'html'
                 WHEN 'application/vnd.ms-excel' THEN 'xls'
                 WHEN 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' THEN 'xlsx'
                 WHEN 'application/xml' THEN 'xml' WHEN 'text/xml' THEN 'xml' WHEN 'text/plain' THEN 'txt'
                 ELSE CASE WHEN contains(ltrim(lower(trim(f)), '.'), '/')
                           THEN split_part(ltrim(lower(trim(f)), '.'), '/', -1)
                           ELSE ltrim(lower(trim(f)), '.') END END) END)""",
    "CREATE OR REPLACE TEMP MACRO blank_null(v) AS nullif(trim(coalesce(v, '')), '')",
]

# Every staged dataset, newest copy per id, parsed once; the raw text stays in `stage_raw`
# (remote_id, raw, batch) and is joined back by row id only where it is written.
PARSE_STAGED = [
    """CREATE OR REPLACE TEMP TABLE merge_keys AS
       SELECT remote_id, md5(raw) AS content_hash, rowid AS src FROM stage_raw
       QUALIFY row_number() OVER (PARTITION BY remote_id ORDER BY batch DESC) = 1""",
    f"""CREATE OR REPLACE TEMP TABLE merge_docs AS
        SELECT k.remote_id, k.content_hash, k.src, from_json(s.raw, '{DATASET_SHAPE}') AS d
        FROM merge_keys k JOIN stage_raw s ON s.rowid = k.src""",
]

# One row per dataset: `$1` is the catalog id.
DATASET_ROWS = """
SELECT $1 AS catalog_id, m.remote_id, d.name, coalesce(d.title, '') AS title, coalesce(d.notes, '') AS notes,
       coalesce(blank_null(d.type), 'dataset') AS type, d.state, d.url, d.version,
       coalesce(blank_null(d.organization.id), blank_null(d.owner_org)) AS organization_id,
       blank_null(d.organization.name) AS organization_name, blank_null(d.organization.title) AS organization_title,
       list_filter([t.name FOR t IN coalesce(d.tags, [])], lambda x: blank_null(x) IS NOT NULL) AS tags,
       list_filter([g.name FOR g IN coalesce(d.groups, [])], lambda x: blank_null(x) IS NOT NULL) AS groups,
       blank_null(d.license_id) AS license_id, blank_null(d.license_title) AS license_title,
       blank_null(d.author) AS author, blank_null(d.author_email) AS author_email,
       blank_null(d.maintainer) AS maintainer, blank_null(d.maintainer_email) AS maintainer_email,
       TRY_CAST(d.metadata_created AS TIMESTAMP) AS metadata_created,
       TRY_CAST(d.metadata_modified AS TIMESTAMP) AS metadata_modified,
       coalesce(d.extras::VARCHAR, '[]') AS extras, s.raw,
       list_distinct(list_filter([norm_format(r.format) FOR r IN coalesce(d.resources, [])
                                  IF r.id IS NOT NULL], lambda x: x IS NOT NULL)) AS formats,
       strip_accents(lower(concat_ws(' ', d.title,
           array_to_string([t.name FOR t IN coalesce(d.tags, [])], ' '),
           array_to_string([g.name FOR g IN coalesce(d.groups, [])], ' '),
           d.organization.title, d.organization.name, d.notes,
           array_to_string([r.name FOR r IN coalesce(d.resources, [])], ' ')))) AS search_text,
       m.content_hash
FROM merge_docs m JOIN stage_raw s ON s.rowid = m.src
"""

# One row per resource of the datasets in `merge_changed(remote_id)`: `$1` is the catalog id.
RESOURCE_ROWS = """
WITH res AS (SELECT remote_id AS dataset_id,
                    unnest(list_filter(coalesce(d.resources, []), lambda r: r.id IS NOT NULL)) AS r,
                    unnest(range(len(list_filter(coalesce(d.resources, []), lambda r: r.id IS NOT NULL)))) AS position
             FROM merge_docs WHERE remote_id IN (SELECT remote_id FROM merge_changed))
SELECT $1 AS catalog_id, r.id AS remote_id, dataset_id, position::INTEGER AS position, r.name, r.description,
       blank_null(r.url) AS url, norm_format(r.format) AS format, blank_null(r.mimetype) AS mimetype,
       CASE WHEN regexp_full_match(trim(r.size), '[0-9]{1,18}') THEN trim(r.size)::BIGINT END AS size,
       TRY_CAST(blank_null(r.last_modified) AS TIMESTAMP) AS last_modified,
       TRY_CAST(blank_null(r.created) AS TIMESTAMP) AS created,
       blank_null(r.url_type) AS url_type, blank_null(r.hash) AS hash
FROM res
QUALIFY row_number() OVER (PARTITION BY dataset_id, r.id ORDER BY position) = 1
"""

# One row per publishing organization: `$1` is the catalog id.
ORGANIZATION_ROWS = """
SELECT $1 AS catalog_id, blank_null(d.organization.id) AS remote_id, d.organization.name AS name,
       blank_null(d.organization.title) AS title, blank_null(d.organization.description) AS description,
       blank_null(d.organization.image_url) AS image_url
FROM merge_docs WHERE blank_null(d.organization.name) IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY d.organization.name ORDER BY remote_id) = 1
"""
