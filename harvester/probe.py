"""`harvester catalogs --probe`: does each catalog answer, and what does it offer?"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harvester.ckan import make_client
from harvester.config import CatalogConfig, Settings
from harvester.errors import ActionMissing, CkanActionError, PortalError, StoreError
from harvester.store import Store


@dataclass
class ProbeResult:
    catalog_id: str
    reachable: bool = False
    ckan_version: str | None = None
    package_search: bool | None = None
    datasets: int | None = None
    requests: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe_catalog(settings: Settings, catalog: CatalogConfig) -> ProbeResult:
    """status_show, then package_search (rows=0) or package_list for the count. The CKAN version is
    remembered in the store (`catalogs.ckan_version`) for a catalog it already holds."""
    client, stats = make_client(settings, catalog)
    result = ProbeResult(catalog.id)
    try:
        try:
            result.ckan_version = client.ckan_version()
            result.reachable = True
        except (ActionMissing, CkanActionError):
            result.reachable = True  # DKAN has no status_show; the portal still answered
        if catalog.kind == "ckan":
            try:
                result.datasets = client.package_search(fq=" ".join([*catalog.search_filters(),
                                                                     "-dataset_type:harvest"]),
                                                        q=catalog.q or "*:*", rows=0).count
                result.package_search = True
                result.reachable = True
            except (ActionMissing, CkanActionError):
                result.package_search = False
        if result.datasets is None:
            result.datasets = len(client.package_list())
            result.reachable = True
    except PortalError as exc:
        result.error = str(exc)
    result.requests = stats.requests
    if result.ckan_version:
        _remember_version(settings, catalog, result.ckan_version)
    return result


def _remember_version(settings: Settings, catalog: CatalogConfig, version: str) -> None:
    """Into an existing store only, and only when no one else writes it: a probe creates no store, never
    waits for a writer (a nightly, a long fetch: the next probe remembers it), and leaves a newer store alone."""
    from harvester.nightly import NightlyBusy, writer_lock
    if not settings.paths.database.exists():
        return
    try:
        with writer_lock(settings, "catalogs --probe"), Store(settings.paths.database, wait=0.0) as store:
            store.record_ckan_version(catalog.id, version)
    except (NightlyBusy, StoreError):
        pass
