"""The DuckDB store. Nothing else opens the database file, and no other module writes SQL against its tables.

`Store` is one open database; its methods come from one part per owner of tables (see `schema.py`):

- `store/core.py`: opening, migrating, transactions, and the read copy a writer publishes when it closes
  the store (`<data_dir>/cache/catalog.read.duckdb`), which readers open while a writer holds the store;
- `store/schema.py`: each table's shape and key, and the numbered migrations;
- `store/harvest.py` (+ `records.py`): the harvest run, staging and merge: catalogs, harvest_runs, datasets,
  resources, organizations;
- `store/files.py`: resource_files (fetch);
- `store/tables.py`: validations and column_profiles (validate, profile);
- `store/reads.py`: the reads of the stages that only read (scores, candidates, search, packs, site, nightly);
- `store/copies.py`: which datasets and files are copies of others (one dataset, once).
"""
from __future__ import annotations

from typing import Any

from harvester.errors import StoreBusy, StoreError
from harvester.store.copies import CopyReads
from harvester.store.core import DEFAULT_MEMORY_LIMIT
from harvester.store.files import FileTables
from harvester.store.harvest import CatalogState, HarvestTables, MergeCounts
from harvester.store.reads import Reads
from harvester.store.schema import SCHEMA_VERSION
from harvester.store.tables import TableTables

__all__ = ["DEFAULT_MEMORY_LIMIT", "SCHEMA_VERSION", "CatalogState", "MergeCounts", "Store", "StoreBusy",
           "StoreError"]


class Store(HarvestTables, FileTables, TableTables, Reads, CopyReads):
    """One open DuckDB database file, with every part's reads and writes."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
