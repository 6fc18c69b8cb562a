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

from harvester import http
from harvester.ckan import CkanClient
from harvester.clock import utcnow
from harvester.config import CatalogConfig, Settings
from harvester.connectors import Batch, Connector, ListingReport, PackageListConnector, connector_for
from harvester.errors import ActionMissing, HarvesterError, StoreError
from harvester.progress import Progress, SilentProgress
from harvester.store import Store

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

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def make_client(settings: Settings, catalog: CatalogConfig) -> tuple[CkanClient, http.RequestStats]:
    session, stats = http.make_api_session(http.SessionOptions(
        user_agent=catalog.user_agent, timeout=catalog.timeout, connect_timeout=catalog.connect_timeout,
        retries=catalog.retries, backoff=catalog.backoff, max_retry_after=catalog.max_retry_after,
        delay=catalog.delay, cache_path=settings.paths.http_cache, cache_seconds=catalog.cache_seconds))
    return CkanClient(catalog, session), stats


class _Stager:
    """Receives batches from a connector, skips harvest pseudo-datasets, stages the rest."""

    def __init__(self, store: Store, catalog_id: str) -> None:
        self.store = store
        self.catalog_id = catalog_id
        self.batches = 0
        self.skipped: set[str] = set()

    def add(self, datasets: list[dict[str, Any]]) -> None:
        keep = []
        for dataset in datasets:
            if str(dataset.get("type") or "dataset") in HARVEST_TYPES:
                self.skipped.add(str(dataset["id"]))
            else:
                keep.append(dataset)
        self.batches += 1
        if isinstance(datasets, Batch) and datasets.source_json is not None:
            self.store.stage_json(datasets.source_json, datasets.source_path, self.batches, HARVEST_TYPES)
        else:
            self.store.stage(keep, self.batches)


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

    producer = threading.Thread(target=produce, name=f"list-{stager.catalog_id}", daemon=True)
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


def _deletions(store: Store, connector: Connector, stager: _Stager, catalog_id: str,
               report: ListingReport) -> set[str]:
    """Ids that are gone upstream. Cheap when nothing was deleted: one count request."""
    if not report.complete:
        total = connector.total()
        if total is not None and total == store.count_current_with_stage(catalog_id):
            return set()
        listed = connector.all_ids()
        report.notes["id_listing"] = True
    else:
        listed = stager.skipped
    by_name = store.ids_by_name(catalog_id) if report.failed else {}
    failed_ids = {by_name.get(n, n) for n in report.failed}
    missing = store.current_ids(catalog_id) - listed - store.staged_ids() - failed_ids
    if missing and not isinstance(connector, PackageListConnector):
        # A dataset modified while we paged moves past the window's end: check before calling it gone.
        back = connector.still_there(missing)
        if back:
            stager.add(back)
            missing -= {str(d["id"]) for d in back}
    return missing


def harvest_catalog(settings: Settings, store: Store, catalog: CatalogConfig, *, full: bool = False,
                    progress: Progress | None = None) -> CatalogResult:
    """Harvest one catalog into the store. Never raises for a portal's fault: returns a failed result."""
    progress = progress or SilentProgress()
    task = f"harvest {catalog.id}"
    result = CatalogResult(catalog.id)
    started = time.monotonic()
    now = utcnow()
    store.upsert_catalog(catalog, now)
    state = store.catalog_state(catalog.id)
    run_id = store.begin_run(catalog.id, now)
    client, stats = make_client(settings, catalog)
    since = None
    if not full and state.last_window_end is not None:
        since = state.last_window_end - timedelta(seconds=catalog.safety_margin)
    connector = connector_for(catalog, client, state.search_supported)
    report = ListingReport()
    progress.start(task)
    store.reset_stage()
    stager = _Stager(store, catalog.id)
    try:
        try:
            _listing(connector, stager, since, report, progress, task)
        except ActionMissing as exc:
            if connector.mode != "search" or stager.batches or not catalog.list_fallback_possible():
                raise
            result.notes["fallback"] = f"package_search unusable ({exc}); using package_list + package_show"
            connector = PackageListConnector(catalog, client)
            report = ListingReport()
            _listing(connector, stager, since, report, progress, task)
        deleted = _deletions(store, connector, stager, catalog.id, report)
        if connector.mode == "search":
            result.mode = "full" if report.complete else "incremental"
        else:
            result.mode = connector.mode
        result.failed = len(report.failed)
        result.skipped = len(stager.skipped)
        result.status = "partial" if result.failed else "ok"
        result.notes.update(report.notes)
        result.seconds = time.monotonic() - started
        result.requests, result.retries = stats.requests, stats.retries
        counts = store.merge(catalog.id, run_id, utcnow(), deleted, finish=_finish_fields(
            result, report, connector, advance=result.status == "ok"))
        result.added, result.updated = counts.added, counts.updated
        result.unchanged, result.deleted = counts.unchanged, counts.deleted
        progress.finish(task, f"{result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
                              f"{result.deleted} deleted, {result.failed} failed ({result.requests} requests)")
    except (HarvesterError, OSError) as exc:
        if isinstance(exc, StoreError):
            raise
        result.status = "failed"
        result.error = str(exc)
        result.seconds = time.monotonic() - started
        result.requests, result.retries = stats.requests, stats.retries
        result.mode = result.mode or connector.mode
        store.finish_run(run_id, **_finish_fields(result, report, connector, advance=False))
        progress.finish(task, f"failed: {exc}")
    finally:
        store.reset_stage()
    return result


def _finish_fields(result: CatalogResult, report: ListingReport, connector: Connector,
                   advance: bool) -> dict[str, Any]:
    return dict(catalog_id=result.catalog_id, status=result.status, mode=result.mode or connector.mode,
                finished_at=utcnow(), duration_s=result.seconds,
                counts={"failed": result.failed, "skipped": result.skipped},
                requests=result.requests, retries=result.retries, error=result.error,
                window_start=report.window_start, window_end=report.window_end,
                advance_window=advance and report.window_end is not None,
                search_supported=connector.search_supported, ckan_version=None, notes=result.notes)


def harvest(settings: Settings, catalog_ids: tuple[str, ...] | list[str] = (), *, full: bool = False,
            progress: Progress | None = None) -> list[CatalogResult]:
    """Harvest the chosen catalogs (every enabled one by default), one after another."""
    catalogs = settings.select(catalog_ids)
    settings.paths.ensure()
    results = []
    with Store(settings.paths.database) as store:
        for catalog in catalogs:
            results.append(harvest_catalog(settings, store, catalog, full=full, progress=progress))
    return results
