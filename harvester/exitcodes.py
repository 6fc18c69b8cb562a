"""The exit statuses of the `harvester` command, for cron, systemd and CI (documented in the README)."""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    """A one-line error: bad config, unusable store, unknown catalog, ..."""
    USAGE = 2
    SOME_FAILED = 3
    """Some catalogs (or nightly stages) failed; the others completed."""
    ALL_FAILED = 4
    """Nothing was harvested."""
    BUSY = 5
    """Another nightly run holds the lock; nothing was touched."""
