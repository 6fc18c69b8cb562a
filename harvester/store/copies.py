"""One dataset, once: which current datasets and files are copies of others (reads only; nothing stored).

- The same portal twice: two catalogs on one portal (the Xalapa catalog is datos.gob.mx filtered by an
  organization) hold the same dataset under the same remote id. The copy in the catalog holding more of
  that portal's datasets (the whole portal, not the slice) is kept; the other is a copy (`same_portal`).
- The same files: a dataset whose good files (their sha256; a table among them) are exactly those of a
  dataset in another catalog, republished on another portal, is a copy of the one harvested first
  (`same_files`). Within one catalog two datasets sharing their files stay two datasets (their files are
  file copies, below): a portal's own listing is not second-guessed.
- A single file republished: a resource whose file (sha256) another dataset's resource already holds is a
  file copy: packed once, with the places it is also published.
- Near-identical metadata (the same title and publisher in another catalog, files not the same or not
  fetched) is only a hint: shown, never left out.

Every reader that counts, lists or packs datasets (search, candidates, allies, the site's counts, packs)
leaves the copies out and names where else each dataset is published. The rules are SQL over the current
tables, so they follow every harvest and fetch without a table of their own to keep in step.
"""
from __future__ import annotations

from typing import Sequence

from harvester.linkstatus import HEALTHY
from harvester.model import DatasetCopy, ResourceKey
from harvester.store.core import StoreBase

DatasetKey = tuple[str, str]

_HEALTHY = "(" + ", ".join(f"'{s}'" for s in sorted(HEALTHY)) + ")"

PORTAL_SQL = r"regexp_replace(regexp_replace(lower(trim(api_url)), '^https?://(www\.)?', ''), '/+$', '')"
"""A catalog's portal: its API URL without scheme, `www.` and trailing slashes (one CKAN, however written)."""

COPIES_SQL = f"""
    WITH live AS (
        SELECT d.catalog_id, d.remote_id, d.name, d.first_seen, {PORTAL_SQL} AS portal,
               count(*) OVER (PARTITION BY d.catalog_id) AS held
        FROM datasets d JOIN catalogs c ON c.id = d.catalog_id
        WHERE d.deleted_at IS NULL),
    same_portal AS (
        SELECT catalog_id, remote_id, kept[1] AS of_catalog_id, kept[2] AS of_dataset_id, 'same_portal' AS reason
        FROM (SELECT *, first_value([catalog_id, remote_id]) OVER w AS kept, row_number() OVER w AS rank
              FROM live WINDOW w AS (PARTITION BY portal, remote_id ORDER BY held DESC, catalog_id))
        WHERE rank > 1),
    files AS (
        SELECT f.catalog_id, f.dataset_id, string_agg(DISTINCT f.sha256, ',' ORDER BY f.sha256) AS files
        FROM resource_files f
        JOIN resources r ON r.catalog_id = f.catalog_id AND r.dataset_id = f.dataset_id
             AND r.remote_id = f.resource_id AND r.deleted_at IS NULL
        WHERE f.sha256 IS NOT NULL AND f.status IN {_HEALTHY}
        GROUP BY ALL
        HAVING bool_or(EXISTS (SELECT 1 FROM validations v WHERE v.catalog_id = f.catalog_id
                               AND v.dataset_id = f.dataset_id AND v.resource_id = f.resource_id
                               AND v.sha256 = f.sha256 AND v.valid IS NOT NULL))),
    same_files AS (
        SELECT catalog_id, remote_id, kept[1] AS of_catalog_id, kept[2] AS of_dataset_id, 'same_files' AS reason
        FROM (SELECT l.*, first_value([l.catalog_id, l.remote_id]) OVER w AS kept, row_number() OVER w AS rank
              FROM live l JOIN files f ON f.catalog_id = l.catalog_id AND f.dataset_id = l.remote_id
              WHERE NOT EXISTS (SELECT 1 FROM same_portal s WHERE s.catalog_id = l.catalog_id
                                AND s.remote_id = l.remote_id)
              WINDOW w AS (PARTITION BY f.files ORDER BY l.first_seen, l.catalog_id, l.name))
        WHERE rank > 1 AND kept[1] <> catalog_id)
    SELECT * FROM same_portal UNION ALL SELECT * FROM same_files"""
"""Every current dataset that is a copy: catalog_id, remote_id, of_catalog_id, of_dataset_id, reason."""


class CopyReads(StoreBase):
    """Which datasets and files are copies of others (see the module doc)."""

    def dataset_copies(self) -> list[DatasetCopy]:
        """Every current dataset that is a copy of another, with the one kept and why, by catalog and name."""
        rows = self.query(f"""
            SELECT c.*, d.name, k.name AS of_name FROM ({COPIES_SQL}) c
            JOIN datasets d ON d.catalog_id = c.catalog_id AND d.remote_id = c.remote_id
            JOIN datasets k ON k.catalog_id = c.of_catalog_id AND k.remote_id = c.of_dataset_id
            ORDER BY c.catalog_id, d.name, c.remote_id""")
        return [DatasetCopy(r["catalog_id"], r["remote_id"], r["name"], r["of_catalog_id"], r["of_dataset_id"],
                            r["of_name"], r["reason"]) for r in rows]

    def similar_datasets(self) -> list[DatasetCopy]:
        """A hint, never left out: pairs of current datasets in different catalogs with the same title and
        publisher (folded), neither a copy found by the rules."""
        rows = self.query(f"""
            WITH copies AS ({COPIES_SQL}),
            live AS (
                SELECT catalog_id, remote_id, name, strip_accents(lower(trim(title))) AS t,
                       strip_accents(lower(trim(coalesce(organization_title, organization_name, '')))) AS o
                FROM datasets d WHERE deleted_at IS NULL AND coalesce(trim(title), '') <> ''
                AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.catalog_id = d.catalog_id
                                AND c.remote_id = d.remote_id))
            SELECT a.catalog_id, a.remote_id, a.name, b.catalog_id AS of_catalog_id, b.remote_id AS of_dataset_id,
                   b.name AS of_name
            FROM live a JOIN live b ON a.t = b.t AND a.o = b.o AND a.catalog_id > b.catalog_id
            ORDER BY ALL""")
        return [DatasetCopy(r["catalog_id"], r["remote_id"], r["name"], r["of_catalog_id"], r["of_dataset_id"],
                            r["of_name"], "similar_metadata") for r in rows]

    def file_copies(self) -> dict[ResourceKey, ResourceKey]:
        """Each current resource whose good file (sha256) a resource of another dataset holds too: the one
        kept (its dataset harvested first, then by catalog, dataset and position)."""
        rows = self.query(f"""
            SELECT catalog_id, dataset_id, resource_id, kept FROM (
                SELECT f.catalog_id, f.dataset_id, f.resource_id,
                       first_value([f.catalog_id, f.dataset_id, f.resource_id]) OVER w AS kept,
                       row_number() OVER w AS rank
                FROM resource_files f
                JOIN resources r ON r.catalog_id = f.catalog_id AND r.dataset_id = f.dataset_id
                     AND r.remote_id = f.resource_id AND r.deleted_at IS NULL
                JOIN datasets d ON d.catalog_id = f.catalog_id AND d.remote_id = f.dataset_id
                     AND d.deleted_at IS NULL
                WHERE f.sha256 IS NOT NULL AND f.status IN {_HEALTHY}
                WINDOW w AS (PARTITION BY f.sha256 ORDER BY d.first_seen, f.catalog_id, d.name, r.position,
                                                           f.resource_id))
            WHERE rank > 1 AND (kept[1], kept[2]) <> (catalog_id, dataset_id)""")
        return {ResourceKey(r["catalog_id"], r["dataset_id"], r["resource_id"]): ResourceKey(*r["kept"])
                for r in rows}

    def copy_filter(self, alias: str, within: Sequence[str] = ()) -> tuple[str, list[str]]:
        """A WHERE condition (and its parameters) leaving out the copies, for a query over `datasets` as
        `alias`; with `within` (catalog ids), only the copies whose kept dataset is in those catalogs (a
        search of the Xalapa catalog alone still finds Xalapa's datasets)."""
        kept = f" AND copy_.of_catalog_id IN ({', '.join('?' for _ in within)})" if within else ""
        return (f"NOT EXISTS (SELECT 1 FROM ({COPIES_SQL}) copy_ WHERE copy_.catalog_id = {alias}.catalog_id "
                f"AND copy_.remote_id = {alias}.remote_id{kept})", list(within))

