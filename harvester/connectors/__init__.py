"""Catalog connectors: CKAN package_search, and the package_list/package_show fallback (DKAN)."""
from __future__ import annotations

from harvester.ckan import CkanClient
from harvester.config import CatalogConfig
from harvester.connectors.base import Batch, Connector, ListingReport
from harvester.connectors.ckan_list import PackageListConnector
from harvester.connectors.ckan_search import PackageSearchConnector

__all__ = ["Batch", "Connector", "ListingReport", "PackageListConnector", "PackageSearchConnector", "connector_for"]


def connector_for(catalog: CatalogConfig, client: CkanClient, search_supported: bool | None) -> Connector:
    """package_search unless the catalog is DKAN or is known to refuse it."""
    if catalog.kind == "dkan" or search_supported is False:
        return PackageListConnector(catalog, client)
    return PackageSearchConnector(catalog, client)
