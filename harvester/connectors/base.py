"""The interface every catalog connector offers to the harvest stage.

A connector is one file: it lists a catalog's datasets (`changed`), says which catalogs it suits
(`suits`), what to try instead when the portal lacks an action it needs (`fallback`), and whether
what it did not list is surely gone (`confirms_deletions`) or must be asked about again (`still_there`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator

from harvester.ckan import CkanClient
from harvester.config import CatalogConfig

Dataset = dict[str, Any]
"""A dataset as the portal sent it (raw portal JSON: the portal's shape, parsed by the store's merge)."""


class Batch(list[Dataset]):
    """Datasets received together; `source_json` is the answer they came in, when the store can read
    them from it directly (at `source_path`), which is much faster than serialising each dict again."""

    def __init__(self, datasets: list[Dataset], source_json: str | None = None, source_path: str = "$[*]") -> None:
        super().__init__(datasets)
        self.source_json = source_json
        self.source_path = source_path

def batches(datasets: Iterable[Dataset], catalog: CatalogConfig, size: int) -> Iterator[Batch]:
    """`datasets` in batches of `size`, keeping only those of the catalog's `organization` when it names
    one (for listings that cannot ask the portal to filter)."""
    batch: list[Dataset] = []
    for dataset in datasets:
        if catalog.organization and (dataset.get("organization") or {}).get("name") != catalog.organization:
            continue
        batch.append(dataset)
        if len(batch) >= size:
            yield Batch(batch)
            batch = []
    if batch:
        yield Batch(batch)


PageCallback = Callable[[int, int | None], None]
"""Called after each page with (datasets received so far, expected total or None)."""


@dataclass
class ListingReport:
    """What a listing learnt besides the datasets themselves (filled in while it lists)."""

    complete: bool = False
    """True when the listing covered the whole catalog (so anything not listed is gone)."""
    window_start: datetime | None = None
    window_end: datetime | None = None
    """The server-clock window the listing covered; the next incremental run starts from window_end."""
    failed: list[str] = field(default_factory=list)
    """Names or ids the connector listed but could not fetch; never to be taken for deletions."""
    errors: list[str] = field(default_factory=list)
    """`name: error` for each of `failed`."""
    pages: int | None = None
    """Pages asked for, when the connector pages."""
    rows_cap: int | None = None
    """The page size the server allowed, when smaller than the configured one."""


class Connector(ABC):
    """Lists a catalog's datasets; the harvest stage stores them and works out what changed."""

    mode: str = "?"
    """The run's mode as recorded when the connector has no finer word (`run_mode`)."""
    listing: str = "?"
    """How it lists, in words (for the note a fallback leaves)."""
    search_supported: bool | None = None
    """What a run with this connector teaches the store about the catalog's package_search."""
    confirms_deletions: bool = False
    """True when a dataset it did not list is surely gone; False when `still_there` must be asked first."""

    def __init__(self, catalog: CatalogConfig, client: CkanClient) -> None:
        self.catalog = catalog
        self.client = client

    @classmethod
    def suits(cls, catalog: CatalogConfig, search_supported: bool | None) -> bool:
        """Whether this connector should list `catalog` (given what the store knows of its search)."""
        return True

    @abstractmethod
    def changed(self, since: datetime | None, report: ListingReport,
                on_page: PageCallback | None = None) -> Iterator[Batch]:
        """Yield batches of full dataset dicts modified since `since` (every dataset when None)."""

    def fallback(self) -> Connector | None:
        """The connector to list with instead when the portal lacks an action this one needs, or None."""
        return None

    def run_mode(self, report: ListingReport) -> str:
        """The run's mode once the listing is done."""
        return self.mode

    def total(self) -> int | None:
        """How many datasets the catalog holds now (harvest pseudo-datasets excluded), or None."""
        return None

    def all_ids(self) -> set[str]:
        """Ids of every dataset the catalog holds now."""
        raise NotImplementedError

    def still_there(self, ids: set[str]) -> list[Dataset]:
        """Of these ids, the datasets that still exist, as full dicts."""
        raise NotImplementedError
