"""The interface every catalog connector offers to the harvest stage."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

Dataset = dict[str, Any]


class Batch(list[Dataset]):
    """Datasets received together; `source_json` is the answer they came in, when the store can read
    them from it directly (at `source_path`), which is much faster than serialising each dict again."""

    def __init__(self, datasets: list[Dataset], source_json: str | None = None, source_path: str = "$[*]") -> None:
        super().__init__(datasets)
        self.source_json = source_json
        self.source_path = source_path

PageCallback = Callable[[int, int | None], None]
"""Called after each page with (datasets received so far, expected total or None)."""


@dataclass
class ListingReport:
    """What a listing learnt besides the datasets themselves."""

    complete: bool = False
    """True when the listing covered the whole catalog (so anything not listed is gone)."""
    window_start: datetime | None = None
    window_end: datetime | None = None
    """The server-clock window the listing covered; the next incremental run starts from window_end."""
    failed: list[str] = field(default_factory=list)
    """Names or ids the connector listed but could not fetch; never to be taken for deletions."""
    notes: dict[str, Any] = field(default_factory=dict)


class Connector(ABC):
    """Lists a catalog's datasets; the harvest stage stores them and works out what changed."""

    mode: str = "?"
    search_supported: bool | None = None

    @abstractmethod
    def changed(self, since: datetime | None, report: ListingReport,
                on_page: PageCallback | None = None) -> Iterator[Batch]:
        """Yield batches of full dataset dicts modified since `since` (every dataset when None)."""

    def total(self) -> int | None:
        """How many datasets the catalog holds now (harvest pseudo-datasets excluded), or None."""
        return None

    def all_ids(self) -> set[str]:
        """Ids of every dataset the catalog holds now."""
        raise NotImplementedError

    def still_there(self, ids: set[str]) -> list[Dataset]:
        """Of these ids, the datasets that still exist, as full dicts."""
        raise NotImplementedError
