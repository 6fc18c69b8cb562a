"""Offline search over harvested metadata: case- and accent-insensitive, ranked."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from harvester.store import Store
from harvester.text import query_terms


@dataclass(frozen=True)
class SearchHit:
    catalog_id: str
    name: str
    title: str
    organization: str | None
    formats: list[str]
    metadata_modified: datetime | None
    matched_terms: int
    score: int

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metadata_modified"] = self.metadata_modified.isoformat() if self.metadata_modified else None
        return data


def search(store: Store, query: str, *, catalogs: list[str] | None = None, limit: int = 20) -> list[SearchHit]:
    """Datasets matching any term, most terms matched first, then title and tag matches."""
    terms = query_terms(query)
    if not terms:
        return []
    matched_sql = " + ".join("contains(search_text, ?)::INT" for _ in terms)
    score_sql = " + ".join(
        "3 * contains(strip_accents(lower(coalesce(title, ''))), ?)::INT"
        " + 2 * contains(strip_accents(lower(array_to_string(tags, ' ') || ' ' || coalesce(organization_title, ''))), ?)::INT"
        " + contains(search_text, ?)::INT" for _ in terms)
    params: list[Any] = list(terms)
    for t in terms:
        params.extend([t, t, t])
    where = "deleted_at IS NULL"
    if catalogs:
        where += " AND catalog_id IN (" + ", ".join("?" for _ in catalogs) + ")"
        params.extend(catalogs)
    params.append(limit)
    rows = store.query(f"""
        SELECT * FROM (
            SELECT catalog_id, name, title, coalesce(organization_title, organization_name) AS organization,
                   formats, metadata_modified, ({matched_sql}) AS matched_terms, ({score_sql}) AS score
            FROM datasets WHERE {where})
        WHERE matched_terms > 0
        ORDER BY matched_terms DESC, score DESC, metadata_modified DESC NULLS LAST, catalog_id, name
        LIMIT ?""", params)
    return [SearchHit(r["catalog_id"], r["name"] or "", r["title"] or "", r["organization"],
                      list(r["formats"] or []), r["metadata_modified"], r["matched_terms"], r["score"])
            for r in rows]
