"""Where the per-file work of a stage runs: here, one file after another, or as tasks on Dask distributed.

A stage hands `run_tasks` a function and the items to apply it to; the function reads and writes only the
shared data folder (never the store) and returns a typed record. The stage, on the driver, records each
result in the store as it comes back, so only the driver writes the store and a task is recorded once,
whichever worker ran it. Dask reruns the task of a worker that died elsewhere (up to its
`distributed.scheduler.allowed-failures`), so a killed worker loses nothing.

    [scale]
    dask = "tcp://10.0.0.5:8786"   # an existing scheduler; "local" starts a LocalCluster on this machine
    local_workers = 2              # the LocalCluster's worker processes

or `--dask ADDRESS` on `validate`, `profile` and `nightly`. Workers must see the data folder at the same
path as the driver (a shared filesystem), and import the same harvester version.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, TypeVar

from harvester.errors import ConfigError
from harvester.i18n import N_

T = TypeVar("T")
R = TypeVar("R")

WORKER_DUCKDB_THREADS = 1
"""DuckDB threads inside a task: a worker process runs one task per thread it has."""
WORKER_DUCKDB_MEMORY = "512MB"
IN_FLIGHT_PER_WORKER = 2
"""Tasks submitted per worker thread at a time (one running, one queued)."""


@dataclass(frozen=True)
class ScaleConfig:
    dask: str | None = None
    """None: run here; 'local': a LocalCluster of `local_workers` processes; else a scheduler's address."""
    local_workers: int = 2

    def describe(self) -> str:
        if self.dask is None:
            return "here"
        if self.dask == "local":
            return f"a local Dask cluster of {self.local_workers} worker processes"
        return f"the Dask scheduler at {self.dask}"


def parse_scale(table: Any, source: str) -> ScaleConfig:
    """The `[scale]` table of catalogs.toml; unknown keys and wrong types are one-line errors."""
    if table is None:
        return ScaleConfig()
    if not isinstance(table, dict):
        raise ConfigError(N_("%(file)s: [%(section)s] must be a table"), file=source, section="scale")
    unknown = sorted(set(table) - {"dask", "local_workers"})
    if unknown:
        raise ConfigError(N_("%(file)s: [scale]: unknown key %(key)r (expected dask, local_workers)"), file=source,
                          key=unknown[0])
    dask = table.get("dask")
    if dask is not None and (not isinstance(dask, str) or not dask.strip()):
        raise ConfigError(N_("%(file)s: [scale] dask: expected an address like 'tcp://host:8786' or 'local', got "
                             "%(value)r"), file=source, value=dask)
    workers = table.get("local_workers", 2)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(N_("%(file)s: [scale] local_workers: expected a whole number of at least 1, got %(value)r"),
                          file=source, value=workers)
    return ScaleConfig(dask=dask.strip() if isinstance(dask, str) else None, local_workers=workers)


_shared: list[tuple[ScaleConfig, Any]] = []
"""The client `shared` holds open, for every stage inside it."""


@contextmanager
def shared(config: ScaleConfig) -> Iterator[None]:
    """One Dask client (one LocalCluster) for every stage run inside (the nightly's fetch, validate and
    profile), instead of one per stage; nothing when the work runs here."""
    if config.dask is None:
        yield
        return
    try:
        opened = client(config)
        dask = opened.__enter__()
    except ConfigError:  # an unreachable scheduler: each stage then tries on its own and fails with the reason
        yield
        return
    _shared.append((config, dask))
    try:
        yield
    finally:
        _shared.pop()
        opened.__exit__(None, None, None)


@contextmanager
def client(config: ScaleConfig) -> Iterator[Any]:
    """A Dask client for `config` (a LocalCluster started here for 'local'; the one `shared` holds, when it
    holds one for this config); a one-line error when unreachable."""
    if _shared and _shared[-1][0] == config:
        yield _shared[-1][1]
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ConfigError(N_("[scale] dask is set but Dask distributed does not import: %(reason)s"),
                          reason=exc) from None
    if config.dask == "local":
        with LocalCluster(n_workers=config.local_workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as local:
            yield local
        return
    try:
        remote = Client(config.dask, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(N_("[scale] dask: cannot reach the Dask scheduler at %(address)s: %(reason)s"),
                          address=config.dask,
                          reason=str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    try:
        yield remote
    finally:
        remote.close()


def run_tasks(config: ScaleConfig, function: Callable[[T], R], items: Iterable[T], *,
              deadline: float | None = None) -> Iterator[tuple[T, R]]:
    """(item, function(item)) for each item, in the order the results come back: here one by one, or as
    Dask tasks. A task's own exception is raised here, on the driver, naming nothing new: `function` is
    expected to turn a file's faults into its record and raise only for the machine's.

    `deadline` (a time.monotonic() value): no item is started after it; the items not started are simply
    not yielded (the caller counts them as left for the next run). On Dask at most `IN_FLIGHT_PER_WORKER`
    tasks per worker thread are submitted at a time, so a deadline is kept within one task's time and the
    scheduler never holds a whole nightly's tasks."""
    chosen = list(items)
    if config.dask is None or not chosen:
        for item in chosen:
            if deadline is not None and time.monotonic() >= deadline:
                return
            yield item, function(item)
        return
    from distributed import as_completed
    with client(config) as dask:
        threads = sum(dask.nthreads().values()) or 1
        waiting = iter(chosen)
        futures: dict[Any, T] = {}

        def submit(count: int) -> list[Any]:
            started = []
            for item in waiting:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                future = dask.submit(function, item, pure=False)
                futures[future] = item
                started.append(future)
                if len(started) >= count:
                    break
            return started

        running = as_completed(submit(threads * IN_FLIGHT_PER_WORKER))
        for future in running:
            item = futures.pop(future)
            result = future.result()
            for more in submit(1):
                running.add(more)
            yield item, result
