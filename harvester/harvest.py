"""The harvest stage: catalog metadata into the store, incrementally, one catalog at a time.

A catalog that fails is recorded as failed and loses nothing; the others go on.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from harvester.ckan import make_client
from harvester.config import CatalogConfig, Settings
from harvester.connectors import Batch, Connector, ListingReport, connector_for
from harvester.connectors.base import Dataset
from harvester.errors import ActionMissing, HarvesterError, IncompleteListing, StoreError, Text
from harvester.i18n import N_
from harvester.model import RunNotes, RunOutcome
from harvester.progress import Progress, SilentProgress
from harvester.store import Store
from harvester.store.harvest import HarvestRun

HARVEST_TYPES = {"harvest"}


@dataclass
class CatalogResult:
    """The outcome of harvesting one catalog."""

    catalog_id: str
    status: str = "running"
    """ok, partial (some datasets could not be fetched) or failed."""
    mode: str = ""
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    skipped: int = 0
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    error: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    problem: HarvesterError | Text | None = field(default=None, repr=False, compare=False)
    """`error` as a message, which the CLI shows in the reader's language (`error` is its English text)."""

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "problem"}


class _Stager:
    """Receives batches from a connector, skips harvest pseudo-datasets, stages the rest in the run."""

    def __init__(self, run: HarvestRun) -> None:
        self.run = run
        self.skipped: set[str] = set()

    def add(self, datasets: list[Dataset]) -> None:
        keep = []
        for dataset in datasets:
            if str(dataset.get("type") or "dataset") in HARVEST_TYPES:
                self.skipped.add(str(dataset["id"]))
            else:
                keep.append(dataset)
        if not (isinstance(datasets, Batch) and datasets.source_json is not None
                and self.run.stage_json(datasets.source_json, datasets.source_path, HARVEST_TYPES)):
            self.run.stage(keep)


_DONE = object()


def _listing(connector: Connector, stager: _Stager, since: datetime | None, report: ListingReport,
             progress: Progress, task: str) -> None:
    """Stage every batch the connector lists; the next page is fetched while this one is staged."""
    def on_page(done: int, total: int | None) -> None:
        progress.update(task, done, total)

    batches: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in connector.changed(since, report, on_page):
                while not stop.is_set():
                    try:
                        batches.put(batch, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            batches.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            batches.put(exc)

    producer = threading.Thread(target=produce, name=f"list-{stager.run.catalog_id}", daemon=True)
    producer.start()
    try:
        while True:
            item = batches.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            stager.add(item)
    finally:
        stop.set()
        producer.join()


def _deletions(run: HarvestRun, connector: Connector, stager: _Stager, report: ListingReport) -> tuple[set[str], bool]:
    """Ids that are gone upstream, and whether every id had to be listed to find them.
    Cheap when nothing was deleted: one count request."""
    id_listing = False
    if not report.complete:
        total = connector.total()
        if total is not None and total == run.held_after_merge():
            return set(), id_listing
        listed = connector.all_ids()
        id_listing = True
    else:
        listed = stager.skipped
    missing = run.unaccounted(listed, report.failed)
    if missing and not connector.confirms_deletions:
        # e.g. a dataset modified while we paged moves past the window's end: check before calling it gone.
        back = connector.still_there(missing)
        if back:
            stager.add(back)
            missing -= {str(d["id"]) for d in back}
    return missing, id_listing


def _notes(fallback: str | None, report: ListingReport | None = None, id_listing: bool = False) -> RunNotes:
    if report is None:
        return RunNotes(fallback=fallback)
    return RunNotes(fallback=fallback, errors=tuple(report.errors), pages=report.pages, rows_cap=report.rows_cap,
                    id_listing=id_listing)


def harvest_catalog(settings: Settings, store: Store, catalog: CatalogConfig, *, full: bool = False,
                    progress: Progress | None = None) -> CatalogResult:
    """Harvest one catalog into the store. Never raises for a portal's fault: returns a failed result."""
    progress = progress or SilentProgress()
    task = f"harvest {catalog.id}"
    result = CatalogResult(catalog.id)
    started = time.monotonic()
    with store.harvest_run(catalog) as run:
        client, stats = make_client(settings, catalog)
        since = None
        if not full and run.state.last_window_end is not None:
            since = run.state.last_window_end - timedelta(seconds=catalog.safety_margin)
        connector = connector_for(catalog, client, run.state.search_supported)
        report = ListingReport()
        fallback: str | None = None
        progress.start(task)
        stager = _Stager(run)
        try:
            short: IncompleteListing | None = None
            try:
                try:
                    _listing(connector, stager, since, report, progress, task)
                except ActionMissing as exc:
                    instead = None if run.batches else connector.fallback()
                    if instead is None:
                        raise
                    fallback = f"{connector.listing} unusable ({exc}); using {instead.listing}"
                    connector, report = instead, ListingReport()
                    _listing(connector, stager, since, report, progress, task)
            except IncompleteListing as exc:
                short = exc  # keep what was received; learn no deletions from it; the window stays
            if short is None:
                deleted, id_listing = _deletions(run, connector, stager, report)
            else:
                deleted, id_listing = set(), False
                result.problem = Text(N_("%(reason)s; kept what was received, the next run asks again"), reason=short)
                result.error = str(result.problem)
            result.mode = connector.run_mode(report)
            result.failed = len(report.failed)
            result.skipped = len(stager.skipped)
            result.status = "partial" if result.failed or short is not None else "ok"
            result.seconds = time.monotonic() - started
            result.requests, result.retries = stats.requests, stats.retries
            outcome = _outcome(result, connector, report, _notes(fallback, report, id_listing),
                               advance=result.status == "ok")
            result.notes = outcome.notes.as_dict()
            counts = run.commit(deleted, outcome)
            result.added, result.updated = counts.added, counts.updated
            result.unchanged, result.deleted = counts.unchanged, counts.deleted
            progress.finish(task, f"{result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
                                  f"{result.deleted} deleted, {result.failed} failed ({result.requests} requests)")
        except Exception as exc:  # noqa: BLE001 - one catalog's fault, whatever it is, never stops the others
            if isinstance(exc, StoreError):
                raise
            result.status = "failed"
            result.problem = exc if isinstance(exc, HarvesterError) else None
            result.error = str(exc) if isinstance(exc, (HarvesterError, OSError)) else \
                f"{catalog.api_url}: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
            result.seconds = time.monotonic() - started
            result.requests, result.retries = stats.requests, stats.retries
            result.mode = result.mode or connector.mode
            outcome = _outcome(result, connector, report, _notes(fallback), advance=False)
            result.notes = outcome.notes.as_dict()
            run.fail(outcome)
            progress.finish(task, f"failed: {exc}")
    return result


def _outcome(result: CatalogResult, connector: Connector, report: ListingReport, notes: RunNotes,
             advance: bool) -> RunOutcome:
    return RunOutcome(status=result.status, mode=result.mode or connector.mode, duration_s=result.seconds,
                      requests=result.requests, retries=result.retries, failed=result.failed,
                      skipped=result.skipped, error=result.error, window_start=report.window_start,
                      window_end=report.window_end, advance_window=advance and report.window_end is not None,
                      search_supported=connector.search_supported, notes=notes)


def harvest(settings: Settings, catalog_ids: tuple[str, ...] | list[str] = (), *, full: bool = False,
            progress: Progress | None = None) -> list[CatalogResult]:
    """Harvest the chosen catalogs (every enabled one by default), one after another. With none to harvest
    (no catalogs.toml found, none in it, all disabled) it is a one-line error and no store is made."""
    catalogs = settings.harvestable(catalog_ids)
    settings.paths.ensure()
    results = []
    with Store(settings.paths.database) as store:
        for catalog in catalogs:
            results.append(harvest_catalog(settings, store, catalog, full=full, progress=progress))
    return results
