"""One fingerprint per current dataset of every store row that feeds its page, its row on the aggregate
pages and its candidacy in the packs: the site (`report.py`) reads and scores again only the datasets whose
fingerprint differs from the one its published build kept (`ROWS`).

A fingerprint hashes, in DuckDB, the dataset's row and the rows of the tables that join it: its current
resources, their link checks (status, reason and sniffed format: what the scores and pages read; a working
link is one whether it answered 200 or 304, as on the pages), its
validations and its column profiles, and the current resources of other datasets that share one of its
resource ids (the site's reads join tables to resources by resource id, so those decide a table's place).
Left out are the columns that change without changing anything shown: when a row was seen, checked,
validated or profiled, and which run saw it last. Every other column is in, a new one too (`* EXCLUDE`),
but the portal's raw JSON, which is in through `content_hash` (its md5, written with it by the harvest's
merge): reading 50,000 raw texts cost more memory (about 110 MB) than everything else together.

Read only; nothing else here. (Its place is `store/reads.py` as a `Reads` method; a separate module for now
so as not to edit that file while it is being changed elsewhere.)
"""
from __future__ import annotations

from harvester.linkstatus import HEALTHY
from harvester.store.core import StoreBase

DatasetKey = tuple[str, str]

_FINGERPRINTS = """
    WITH ds AS (
        SELECT catalog_id, remote_id, hash(x) AS h
        FROM (SELECT * EXCLUDE (raw, first_seen, last_seen, last_changed, last_run_id) FROM datasets
              WHERE deleted_at IS NULL) x),
    res AS (
        SELECT catalog_id, dataset_id, bit_xor(hash(x)) AS h
        FROM (SELECT * EXCLUDE (first_seen, last_seen) FROM resources WHERE deleted_at IS NULL) x GROUP BY ALL),
    files AS (
        SELECT catalog_id, dataset_id,
               bit_xor(hash(CASE WHEN list_contains($healthy, status) THEN row(resource_id, 'ok', NULL, sniffed_format)
                                 ELSE row(resource_id, status, reason, sniffed_format) END)) AS h
        FROM resource_files GROUP BY ALL),
    val AS (
        SELECT catalog_id, dataset_id, bit_xor(hash(x)) AS h
        FROM (SELECT * EXCLUDE (seconds, validated_at) FROM validations) x GROUP BY ALL),
    prof AS (
        SELECT catalog_id, dataset_id, bit_xor(hash(x)) AS h
        FROM (SELECT * EXCLUDE (profiled_at) FROM column_profiles) x GROUP BY ALL),
    tabled AS (
        SELECT catalog_id, dataset_id, resource_id FROM validations
        UNION SELECT catalog_id, dataset_id, resource_id FROM column_profiles),
    shared AS (
        SELECT t.catalog_id, t.dataset_id,
               bit_xor(hash(row(t.resource_id, r.dataset_id, r.position, r.name))) AS h
        FROM tabled t JOIN resources r ON r.catalog_id = t.catalog_id AND r.remote_id = t.resource_id
             AND r.deleted_at IS NULL AND r.dataset_id <> t.dataset_id
        GROUP BY ALL)
    SELECT ds.catalog_id, ds.remote_id,
           printf('%016x', hash(row(ds.h, res.h, files.h, val.h, prof.h, shared.h))) AS fingerprint
    FROM ds
    LEFT JOIN res ON res.catalog_id = ds.catalog_id AND res.dataset_id = ds.remote_id
    LEFT JOIN files ON files.catalog_id = ds.catalog_id AND files.dataset_id = ds.remote_id
    LEFT JOIN val ON val.catalog_id = ds.catalog_id AND val.dataset_id = ds.remote_id
    LEFT JOIN prof ON prof.catalog_id = ds.catalog_id AND prof.dataset_id = ds.remote_id
    LEFT JOIN shared ON shared.catalog_id = ds.catalog_id AND shared.dataset_id = ds.remote_id"""


def dataset_fingerprints(store: StoreBase) -> dict[DatasetKey, str]:
    """Every current dataset's fingerprint (see the module doc), by (catalog, dataset id)."""
    return {(c, d): f for c, d, f in store.con.execute(_FINGERPRINTS, {"healthy": sorted(HEALTHY)}).fetchall()}
