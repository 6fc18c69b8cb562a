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
    return [SearchHit(m.dataset.catalog_id, m.dataset.name or "", m.dataset.title or "", m.dataset.organization,
                      list(m.dataset.formats), m.dataset.metadata_modified, m.matched_terms, m.score)
            for m in store.search_datasets(terms, catalogs or (), limit)]
