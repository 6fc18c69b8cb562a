"""Catalog connectors: CKAN package_search, the package_list/package_show fallback (DKAN), DCAT-US data.json,
and ckanext-dcat's paged Turtle catalog.

A new connector is one file here (a `Connector` subclass, see `base.py`) and one entry in `CONNECTORS`."""
from __future__ import annotations

from harvester.ckan import CkanClient
from harvester.config import CatalogConfig
from harvester.connectors.base import Batch, Connector, ListingReport
from harvester.connectors.ckan_list import PackageListConnector
from harvester.connectors.ckan_search import PackageSearchConnector
from harvester.connectors.datajson import DataJsonConnector
from harvester.connectors.dcat import DcatConnector

__all__ = ["CONNECTORS", "Batch", "Connector", "DataJsonConnector", "DcatConnector", "ListingReport",
           "PackageListConnector", "PackageSearchConnector", "connector_for"]

CONNECTORS: tuple[type[Connector], ...] = (DcatConnector, DataJsonConnector, PackageListConnector,
                                          PackageSearchConnector)
"""In order of preference: the first that suits a catalog lists it."""


def connector_for(catalog: CatalogConfig, client: CkanClient, search_supported: bool | None) -> Connector:
    """package_search unless the catalog is DKAN or is known to refuse it."""
    for connector in CONNECTORS:
        if connector.suits(catalog, search_supported):
            return connector(catalog, client)
    raise LookupError(f"no connector suits catalog {catalog.id}")
