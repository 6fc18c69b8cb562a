"""Reads across the tables for the stages that only read them: scores, candidates, search, packs, the
report site and the nightly summary. They write nothing."""
from __future__ import annotations

from harvester.store.core import StoreBase


class Reads(StoreBase):
    """Typed reads for scores, candidates, search, packs, the site and the nightly summary."""
