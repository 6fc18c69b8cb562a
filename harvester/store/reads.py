"""Reads across the tables for the stages that only read them: scores, candidates, search, packs, the
report site and the nightly summary. They write nothing, and return the records of `harvester/model.py`."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence

from harvester.linkstatus import FAILURES
from harvester.model import (BrokenLink, CatalogHealth, ColumnProfile, Dataset, DatasetChanges, DatasetColumn,
                             DatasetText, PackTable, PublisherFacts, Resource, ResourceKey, ScoredResource,
                             SearchMatch, ShownValidation, TableValidation, ValidationError)
from harvester.store.core import StoreBase

DatasetKey = tuple[str, str]
"""(catalog id, dataset remote id)."""


def _pairs(keys: Sequence[DatasetKey]) -> tuple[str, list[str]]:
    """`(catalog_id, dataset_id) IN (...)`'s list and its parameters."""
    return "(" + ", ".join("(?, ?)" for _ in keys) + ")", [v for k in keys for v in k]


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join("?" for _ in values) + ")"


# A dataset's resources with their link status and validation verdict; {where} picks the datasets.
_SCORED_RESOURCES = """
    SELECT r.*, f.status AS link_status, f.reason AS link_reason, f.sniffed_format, v.valid, v.error_count
    FROM resources r
    LEFT JOIN resource_files f ON f.catalog_id = r.catalog_id AND f.dataset_id = r.dataset_id
         AND f.resource_id = r.remote_id
    LEFT JOIN (SELECT catalog_id, dataset_id, resource_id, bool_and(valid) AS valid,
                      sum(error_count) AS error_count
               FROM validations GROUP BY ALL) v
         ON v.catalog_id = r.catalog_id AND v.dataset_id = r.dataset_id AND v.resource_id = r.remote_id
    WHERE r.deleted_at IS NULL AND (r.catalog_id, r.dataset_id) IN {pairs}
    ORDER BY r.catalog_id, r.dataset_id, r.position"""

# Column profiles; every one of the datasets (scores), or only those of resources still published (the site).
_COLUMNS = """
    SELECT p.*, NULL AS resource_name FROM column_profiles p WHERE (p.catalog_id, p.dataset_id) IN {pairs}
    ORDER BY p.catalog_id, p.dataset_id, p.resource_id, p.position"""
_PUBLISHED_COLUMNS = """
    SELECT p.*, r.name AS resource_name FROM column_profiles p
    JOIN resources r ON r.catalog_id = p.catalog_id AND r.remote_id = p.resource_id AND r.deleted_at IS NULL
    ORDER BY p.catalog_id, p.dataset_id, r.position, p.resource_id, p.part, p.position"""


def _column(row: dict[str, Any]) -> DatasetColumn:
    """A column profile from its row: the columns the store keeps are the truth (the sibling check updates
    `alerts` there), `details` holds the rest."""
    details = json.loads(row["details"] or "{}")
    kept = {name: row[name] for name in ("position", "name", "type", "rows", "missing_share", "distinct_count")}
    profile = ColumnProfile.from_details({**details, **kept, "alerts": row["alerts"] or [], "part": row["part"] or "",
                                          "source_sha256": row.get("sha256")})
    return DatasetColumn(row["catalog_id"], row["dataset_id"], row["resource_id"], profile, row["resource_name"])


def _validation(row: dict[str, Any]) -> TableValidation:
    names = set(TableValidation.__dataclass_fields__)
    data = {k: v for k, v in row.items() if k in names}
    data["errors_by_type"] = json.loads(row["errors_by_type"] or "{}")
    data["first_errors"] = tuple(ValidationError.from_dict(e) for e in json.loads(row["first_errors"] or "[]"))
    data["part"] = row["part"] or ""
    return TableValidation(**data)


class Reads(StoreBase):
    """Typed reads for scores, candidates, search, packs, the site and the nightly summary (rows come
    through `StoreBase.query` and leave as records)."""

    # Datasets -----------------------------------------------------------------------------------------

    def dataset_named(self, catalog_id: str, name: str) -> Dataset | None:
        """A dataset by name or id: a current one before a deleted one of that name."""
        rows = self.query("SELECT * FROM datasets WHERE catalog_id = ? AND (name = ? OR remote_id = ?) "
                          "ORDER BY deleted_at NULLS FIRST LIMIT 1", [catalog_id, name, name])
        return Dataset.from_row(rows[0]) if rows else None

    def current_dataset_keys(self) -> list[DatasetKey]:
        """(catalog, dataset id) of every current dataset, sorted."""
        return [tuple(r) for r in self.con.execute(  # type: ignore[misc]
            "SELECT catalog_id, remote_id FROM datasets WHERE deleted_at IS NULL "
            "ORDER BY catalog_id, remote_id").fetchall()]

    def current_datasets(self, keys: Sequence[DatasetKey] | None = None) -> list[Dataset]:
        """The current datasets (all, or those of `keys`), by catalog and name."""
        if keys is not None and not keys:
            return []
        where, params = "", []
        if keys is not None:
            pairs, params = _pairs(keys)
            where = f" AND (catalog_id, remote_id) IN {pairs}"
        return [Dataset.from_row(r) for r in self.query(
            f"SELECT * FROM datasets WHERE deleted_at IS NULL{where} ORDER BY catalog_id, name", params)]

    def dataset_texts(self, catalogs: Sequence[str] = ()) -> list[DatasetText]:
        """The texts of every current dataset (of `catalogs`, when given) with its profiled column names."""
        where = "d.deleted_at IS NULL" + (f" AND d.catalog_id IN {_in(catalogs)}" if catalogs else "")
        rows = self.query(f"""
            SELECT d.catalog_id, d.remote_id, d.name, d.title, d.notes, d.tags, d.groups, d.organization_name,
                   d.organization_title,
                   (SELECT list(DISTINCT p.name) FROM column_profiles p
                    WHERE p.catalog_id = d.catalog_id AND p.dataset_id = d.remote_id AND p.type <> 'error') AS columns
            FROM datasets d WHERE {where} ORDER BY d.catalog_id, d.name""", list(catalogs))
        return [DatasetText(Dataset.from_row(r), tuple(c for c in r["columns"] or () if c is not None)) for r in rows]

    def dataset_names(self) -> dict[DatasetKey, str | None]:
        """Every dataset's name (deleted ones too), by (catalog, dataset id)."""
        return {(c, d): n for c, d, n in self.con.execute(
            "SELECT catalog_id, remote_id, name FROM datasets").fetchall()}

    def resource_names(self) -> dict[ResourceKey, str | None]:
        """Every resource's name as its portal gives it (removed ones too), by resource."""
        return {ResourceKey(c, d, r): n for c, d, r, n in self.con.execute(
            "SELECT catalog_id, dataset_id, remote_id, name FROM resources").fetchall()}

    def dataset_changes(self, since: datetime) -> DatasetChanges:
        """The datasets that appeared, changed or went since `since` (a run's start)."""
        def refs(where: str) -> tuple[str, ...]:
            return tuple(f"{c}/{n}" for c, n in self.con.execute(
                f"SELECT catalog_id, name FROM datasets WHERE {where} ORDER BY ALL", [since]).fetchall())
        return DatasetChanges(new=refs("first_seen >= ?"),
                              updated=refs("last_changed >= ? AND first_seen < last_changed"),
                              removed=refs("deleted_at >= ?"))

    def search_datasets(self, terms: Sequence[str], catalogs: Sequence[str] = (),
                        limit: int = 20) -> list[SearchMatch]:
        """Current datasets matching any of the (folded) `terms`: each with how many terms it matched and a
        score (3 per term in the title, 2 in the tags or organization, 1 anywhere), best first. A copy of
        another dataset (store/copies.py) is not listed: the one kept is."""
        matched_sql = " + ".join("contains(search_text, ?)::INT" for _ in terms)
        score_sql = " + ".join(
            "3 * contains(strip_accents(lower(coalesce(title, ''))), ?)::INT"
            " + 2 * contains(strip_accents(lower(array_to_string(tags, ' ') || ' ' || coalesce(organization_title, ''))), ?)::INT"
            " + contains(search_text, ?)::INT" for _ in terms)
        params: list[Any] = list(terms)
        for t in terms:
            params.extend([t, t, t])
        not_a_copy, copy_params = self.copy_filter("datasets", catalogs)  # type: ignore[attr-defined]
        where = f"deleted_at IS NULL AND {not_a_copy}"
        params.extend(copy_params)
        if catalogs:
            where += f" AND catalog_id IN {_in(catalogs)}"
            params.extend(catalogs)
        params.append(limit)
        rows = self.query(f"""
            SELECT * FROM (
                SELECT catalog_id, remote_id, name, title, organization_title, organization_name, formats,
                       metadata_modified, ({matched_sql}) AS matched_terms, ({score_sql}) AS score
                FROM datasets WHERE {where})
            WHERE matched_terms > 0
            ORDER BY matched_terms DESC, score DESC, metadata_modified DESC NULLS LAST, catalog_id, name
            LIMIT ?""", params)
        return [SearchMatch(Dataset.from_row(r), r["matched_terms"], r["score"]) for r in rows]

    # Resources, links, validations and profiles -------------------------------------------------------

    def scored_resources(self, keys: Sequence[DatasetKey]) -> list[ScoredResource]:
        """The current resources of these datasets with link status and validation verdict, in order."""
        if not keys:
            return []
        pairs, params = _pairs(keys)
        out = []
        for r in self.query(_SCORED_RESOURCES.format(pairs=pairs), params):
            out.append(ScoredResource(Resource.from_row(r), link_status=r["link_status"],
                                      link_reason=r["link_reason"], sniffed_format=r["sniffed_format"],
                                      valid=r["valid"], error_count=r["error_count"]))
        return out

    def dataset_columns(self, keys: Sequence[DatasetKey]) -> list[DatasetColumn]:
        """Every column profile of these datasets (of resources removed upstream too)."""
        if not keys:
            return []
        pairs, params = _pairs(keys)
        return [_column(r) for r in self.query(_COLUMNS.format(pairs=pairs), params)]

    def published_columns(self) -> list[DatasetColumn]:
        """Every column profile of a resource still published, by dataset, resource, table and position."""
        return [_column(r) for r in self.query(_PUBLISHED_COLUMNS)]

    def published_validations(self) -> list[ShownValidation]:
        """Every table validation of a resource still published, by dataset, resource and table."""
        rows = self.query("SELECT v.*, r.name AS resource_name FROM validations v JOIN resources r ON "
                          "r.catalog_id = v.catalog_id AND r.remote_id = v.resource_id AND r.deleted_at IS NULL "
                          "ORDER BY v.catalog_id, v.dataset_id, r.position, v.resource_id, v.part")
        return [ShownValidation(_validation(r), r["resource_name"]) for r in rows]

    def publisher_facts(self) -> list[PublisherFacts]:
        """Every current dataset's organization, licence, contact points and broken links (current resources
        whose last check failed), in one query: the publishers' pages read them for every dataset, also for
        the datasets the site does not read again."""
        rows = self.con.execute("""
            SELECT d.catalog_id, d.remote_id, d.name, d.title, d.organization_name, d.organization_title, d.license_id,
                   coalesce(nullif(trim(d.license_title), ''), nullif(trim(d.license_id), '')),
                   d.maintainer, d.maintainer_email, d.author, d.author_email,
                   (SELECT list({'name': coalesce(r.name, r.remote_id), 'status': f.status, 'reason': f.reason,
                                 'http': f.http_status, 'since': f.first_failure_at} ORDER BY r.position, r.remote_id)
                    FROM resources r JOIN resource_files f ON f.catalog_id = r.catalog_id
                      AND f.dataset_id = r.dataset_id AND f.resource_id = r.remote_id
                    WHERE r.catalog_id = d.catalog_id AND r.dataset_id = d.remote_id AND r.deleted_at IS NULL
                      AND f.status IN (SELECT unnest(?::VARCHAR[])))
            FROM datasets d WHERE d.deleted_at IS NULL ORDER BY d.catalog_id, d.name, d.remote_id""",
            [sorted(FAILURES)]).fetchall()
        facts = []
        for (catalog_id, remote_id, name, title, org_name, org_title, license_id, licence, maintainer,
             maintainer_email, author, author_email, broken) in rows:
            contacts: list[tuple[str | None, str | None]] = []
            for who, email in ((maintainer, maintainer_email), (author, author_email)):
                who, email = (who or "").strip() or None, (email or "").strip() or None
                if (who or email) and (who, email) not in contacts:
                    contacts.append((who, email))
            facts.append(PublisherFacts(catalog_id, remote_id, name, title, org_name, org_title, license_id, licence,
                                        tuple(contacts), tuple(BrokenLink(b["name"], b["status"], b["reason"], b["http"],
                                                                          b["since"]) for b in broken or ())))
        return facts

    def link_statuses(self) -> dict[ResourceKey, str | None]:
        """Every resource's last link status."""
        return {ResourceKey(c, d, r): s for c, d, r, s in self.con.execute(
            "SELECT catalog_id, dataset_id, resource_id, status FROM resource_files").fetchall()}

    def pack_tables(self, datasets: Sequence[DatasetKey]) -> list[PackTable]:
        """The validated tables (with a delimiter: CSV-like) of the current resources of these current
        datasets, by catalog, dataset name, resource position and part."""
        if not datasets:
            return []
        pairs, params = _pairs(datasets)
        found = {(d.catalog_id, d.remote_id): d for d in self.current_datasets(datasets)}
        rows = self.query(f"""
            SELECT v.*, coalesce(v.table_path, f.path) AS path, r.name AS resource_name, r.url, f.changed_at
            FROM validations v
            JOIN resource_files f USING (catalog_id, dataset_id, resource_id)
            JOIN datasets d ON d.catalog_id = v.catalog_id AND d.remote_id = v.dataset_id
            JOIN resources r ON r.catalog_id = v.catalog_id AND r.dataset_id = v.dataset_id AND r.remote_id = v.resource_id
            WHERE v.valid IS NOT NULL AND v.delimiter IS NOT NULL AND r.deleted_at IS NULL
                  AND d.deleted_at IS NULL AND (v.catalog_id, v.dataset_id) IN {pairs}
            ORDER BY v.catalog_id, d.name, r.position, v.resource_id, v.part""", params)
        return [PackTable(found[(r["catalog_id"], r["dataset_id"])], _validation(r), r["resource_name"], r["url"],
                          r["path"], r["changed_at"]) for r in rows]

    def table_columns(self, key: ResourceKey, part: str) -> list[ColumnProfile]:
        """The column profiles of one table (a resource's file, sheet or member), by position."""
        rows = self.query("SELECT * FROM column_profiles WHERE catalog_id = ? AND dataset_id = ? AND "
                          "resource_id = ? AND part = ? ORDER BY position",
                          [key.catalog_id, key.dataset_id, key.resource_id, part or ""])
        return [_column({**r, "resource_name": None}).column for r in rows]

    # Catalogs ----------------------------------------------------------------------------------------

    def catalog_health(self) -> list[CatalogHealth]:
        """Every catalog in the store with its last harvest run and its links and tables, by id."""
        def current(alias: str) -> str:  # a resource still published (one removed upstream leaves rows behind)
            return (f"EXISTS (SELECT 1 FROM resources r WHERE r.catalog_id = {alias}.catalog_id "
                    f"AND r.remote_id = {alias}.resource_id AND r.deleted_at IS NULL)")
        rows = self.query(f"""
            SELECT c.id, c.title, c.api_url, c.kind, c.last_success_at,
                   r.status AS last_status, r.error AS last_error, r.started_at AS last_run_at,
                   (SELECT count(*) FROM datasets d WHERE d.catalog_id = c.id AND d.deleted_at IS NULL) AS datasets,
                   (SELECT count(*) FROM resource_files f WHERE f.catalog_id = c.id AND {current('f')}) AS checked,
                   (SELECT count(*) FROM resource_files f WHERE f.catalog_id = c.id AND {current('f')}
                    AND f.status IN ?) AS broken,
                   (SELECT count(*) FROM validations v WHERE v.catalog_id = c.id AND {current('v')}) AS tables,
                   (SELECT count(*) FROM validations v WHERE v.catalog_id = c.id AND {current('v')} AND v.valid) AS valid
            FROM catalogs c
            LEFT JOIN (SELECT * FROM harvest_runs QUALIFY row_number() OVER (PARTITION BY catalog_id
                       ORDER BY started_at DESC, run_id DESC) = 1) r ON r.catalog_id = c.id
            ORDER BY c.id""", [sorted(FAILURES)])
        return [CatalogHealth(**r) for r in rows]

    # The site, in batches -----------------------------------------------------------------------------

    def current_dataset_refs(self) -> list[tuple[str, str, str | None]]:
        """(catalog, dataset id, name) of every current dataset, by catalog, name and id: what the site
        needs to name every page before it reads the datasets a batch at a time."""
        return [tuple(r) for r in self.con.execute(  # type: ignore[misc]
            "SELECT catalog_id, remote_id, name FROM datasets WHERE deleted_at IS NULL "
            "ORDER BY catalog_id, name, remote_id").fetchall()]

    def published_columns_of(self, keys: Sequence[DatasetKey]) -> list[DatasetColumn]:
        """`published_columns`, of these datasets only."""
        if not keys:
            return []
        pairs, params = _pairs(keys)
        return [_column(r) for r in self.query(f"""
            SELECT p.*, r.name AS resource_name FROM column_profiles p
            JOIN resources r ON r.catalog_id = p.catalog_id AND r.remote_id = p.resource_id AND r.deleted_at IS NULL
            WHERE (p.catalog_id, p.dataset_id) IN {pairs}
            ORDER BY p.catalog_id, p.dataset_id, r.position, p.resource_id, p.part, p.position""", params)]

    def published_validations_of(self, keys: Sequence[DatasetKey]) -> list[ShownValidation]:
        """`published_validations`, of these datasets only."""
        if not keys:
            return []
        pairs, params = _pairs(keys)
        rows = self.query(f"""
            SELECT v.*, r.name AS resource_name FROM validations v JOIN resources r ON
            r.catalog_id = v.catalog_id AND r.remote_id = v.resource_id AND r.deleted_at IS NULL
            WHERE (v.catalog_id, v.dataset_id) IN {pairs}
            ORDER BY v.catalog_id, v.dataset_id, r.position, v.resource_id, v.part""", params)
        return [ShownValidation(_validation(r), r["resource_name"]) for r in rows]
