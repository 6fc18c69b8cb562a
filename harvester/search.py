"""Offline search over harvested metadata: case- and accent-insensitive, ranked."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from harvester.model import DatasetCopy, published_elsewhere
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
    also_in: tuple[str, ...] = ()
    """Where else the same dataset is published (`catalog/name` of its copies, left out of the hits)."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metadata_modified"] = self.metadata_modified.isoformat() if self.metadata_modified else None
        return data


def search(store: Store, query: str, *, catalogs: list[str] | None = None, limit: int = 20) -> list[SearchHit]:
    """Datasets matching any term, most terms matched first, then title and tag matches; each dataset once
    (a copy on another catalog is named in `also_in`, not listed)."""
    terms = query_terms(query)
    if not terms:
        return []
    elsewhere = published_elsewhere(store.dataset_copies())
    return [SearchHit(m.dataset.catalog_id, m.dataset.name or "", m.dataset.title or "", m.dataset.organization,
                      list(m.dataset.formats), m.dataset.metadata_modified, m.matched_terms, m.score,
                      tuple(c.ref for c in elsewhere.get((m.dataset.catalog_id, m.dataset.remote_id), ())))
            for m in store.search_datasets(terms, catalogs or (), limit)]


@dataclass(frozen=True)
class Publication:
    """Where one dataset is published: the dataset it is a copy of (None: it is the one kept), its own copies,
    and datasets elsewhere with the same title and publisher (a hint)."""

    copy_of: DatasetCopy | None
    copies: tuple[DatasetCopy, ...]
    similar: tuple[DatasetCopy, ...]

    def lines(self) -> list[str]:
        """What `show` says of it, Spanish first."""
        said = []
        if self.copy_of is not None:
            said.append(f"Copia de / copy of {self.copy_of.of_ref} ({REASONS[self.copy_of.reason]}): "
                        "se cuenta y se empaqueta allí / counted and packed there")
        if self.copies:
            said.append("También publicado en / also published at: "
                        + ", ".join(f"{c.ref} ({REASONS[c.reason]})" for c in self.copies))
        if self.similar:
            said.append("Posible duplicado / possibly the same as: " + ", ".join(self.similar_refs))
        return said

    @property
    def similar_refs(self) -> list[str]:
        return [c.of_ref for c in self.similar]


REASONS = {"same_portal": "el mismo portal / the same portal",
           "same_files": "los mismos archivos / the same files",
           "similar_metadata": "mismo título y publicador / same title and publisher"}


def publication(store: Store, catalog_id: str, dataset_id: str) -> Publication:
    """Where the dataset (catalog id, remote id) is published (store/copies.py)."""
    copies = store.dataset_copies()
    copy_of = next((c for c in copies if (c.catalog_id, c.dataset_id) == (catalog_id, dataset_id)), None)
    own = tuple(published_elsewhere(copies).get((catalog_id, dataset_id), ()))
    similar = []
    for pair in store.similar_datasets():
        if (pair.catalog_id, pair.dataset_id) == (catalog_id, dataset_id):
            similar.append(pair)
        elif (pair.of_catalog_id, pair.of_dataset_id) == (catalog_id, dataset_id):  # the pair seen from here
            similar.append(DatasetCopy(pair.of_catalog_id, pair.of_dataset_id, pair.of_name, pair.catalog_id,
                                       pair.dataset_id, pair.name, pair.reason))
    return Publication(copy_of, own, tuple(similar))
