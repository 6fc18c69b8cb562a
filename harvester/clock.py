"""Time in one place: the store keeps naive UTC timestamps, like CKAN.

Every stage asks `utcnow()`; a test (or a replay) sets the clock with `shifted` or `fixed` to age what
the store holds without writing SQL against it."""
from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator


def _system() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


_source: Callable[[], datetime] = _system


def utcnow() -> datetime:
    """Now, as a naive UTC datetime (the clock in use)."""
    return _source()


@contextmanager
def using(source: Callable[[], datetime]) -> Iterator[None]:
    """Every `utcnow()` inside the block asks `source`."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous


def shifted(delta: timedelta) -> AbstractContextManager[None]:
    """The system clock moved by `delta` (`shifted(timedelta(days=8))`: a week and a day from now)."""
    return using(lambda: _system() + delta)


def fixed(moment: datetime) -> AbstractContextManager[None]:
    """A clock stopped at `moment` (naive UTC)."""
    return using(lambda: moment)
