"""`harvester catalogs --probe`: does each catalog answer, and what does it offer?"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harvester.config import CatalogConfig, Settings
from harvester.errors import ActionMissing, CkanActionError, PortalError
from harvester.harvest import make_client


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
    """status_show, then package_search (rows=0) or package_list for the count."""
    client, stats = make_client(settings, catalog)
    result = ProbeResult(catalog.id)
    try:
        try:
            result.ckan_version = str(client.status_show().get("ckan_version") or "") or None
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
    return result
