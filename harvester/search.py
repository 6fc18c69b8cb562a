"""Offline search over harvested metadata: case- and accent-insensitive, ranked."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from harvester.i18n import N_, _
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
        """What `show` says of it, in the reader's language (`i18n.current()`)."""
        said = []
        if self.copy_of is not None:
            said.append(_("Copy of %(ref)s (%(reason)s): counted and packed there")
                        % {"ref": self.copy_of.of_ref, "reason": _(REASONS[self.copy_of.reason])})
        if self.copies:
            said.append(_("Also published at: %(refs)s")
                        % {"refs": ", ".join(f"{c.ref} ({_(REASONS[c.reason])})" for c in self.copies)})
        if self.similar:
            said.append(_("Possibly the same as: %(refs)s") % {"refs": ", ".join(self.similar_refs)})
        return said

    @property
    def similar_refs(self) -> list[str]:
        return [c.of_ref for c in self.similar]


REASONS = {"same_portal": N_("the same portal"), "same_files": N_("the same files"),
           "similar_metadata": N_("same title and publisher")}
"""Why two datasets are the same (DatasetCopy.reason) → its English words, the msgid its label is."""


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
