"""The whole catalog from one DCAT-US document, `/data.json` (Project Open Data 1.1), as DKAN and Andino
portals publish it: one request with every dataset's dates, instead of package_list plus one package_show
per dataset. Each DCAT dataset becomes the CKAN-shaped dict the harvest merge reads; the DCAT original is
kept whole under `dcat` (Andino's per-distribution `field` schemas, which are data dictionaries, with it).
A portal without a data.json falls back to package_list + package_show."""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Iterator

from harvester.clock import utcnow
from harvester.config import CatalogConfig
from harvester.connectors.base import Batch, Connector, Dataset, ListingReport, PageCallback, batches
from harvester.connectors.ckan_list import PackageListConnector
from harvester.errors import NotCkanApi
from harvester.i18n import N_
from harvester.text import normalize

BATCH = 500


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalize(text)).strip("-")


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _name(entry: dict[str, Any], identifier: str) -> str:
    """The dataset's slug: the last path segment of its landing page (`/dataset/<slug>`), else its title's."""
    landing = _text(entry.get("landingPage")) or ""
    segment = landing.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] if "/dataset/" in landing else ""
    return _slug(segment) or _slug(_text(entry.get("title")) or "") or identifier


def _resource(dataset_id: str, position: int, dist: dict[str, Any]) -> dict[str, Any]:
    url = _text(dist.get("downloadURL")) or _text(dist.get("accessURL"))
    identifier = _text(dist.get("identifier")) or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dataset_id}#{position}#{url}"))
    return {"id": identifier, "name": _text(dist.get("title")) or _text(dist.get("fileName")),
            "description": _text(dist.get("description")), "url": url,
            "format": _text(dist.get("format")) or _text(dist.get("mediaType")), "mimetype": _text(dist.get("mediaType")),
            "size": dist.get("byteSize"), "last_modified": _text(dist.get("modified")),
            "created": _text(dist.get("issued")), "position": position}


def ckan_shaped(entry: dict[str, Any]) -> Dataset | None:
    """One DCAT-US dataset as a CKAN package dict (None without an identifier: nothing to key it by)."""
    identifier = _text(entry.get("identifier"))
    if identifier is None:
        return None
    publisher = entry.get("publisher") if isinstance(entry.get("publisher"), dict) else {}
    contact = entry.get("contactPoint") if isinstance(entry.get("contactPoint"), dict) else {}
    email = _text(contact.get("hasEmail"))
    org_title = _text(publisher.get("name"))
    keywords = [k for k in entry.get("keyword") or [] if isinstance(k, str) and k.strip()]
    themes = [t for t in entry.get("theme") or [] if isinstance(t, str) and t.strip()]
    distributions = [d for d in entry.get("distribution") or [] if isinstance(d, dict)]
    extras = [{"key": key, "value": entry[key]} for key in ("accrualPeriodicity", "spatial", "temporal", "accessLevel",
                                                             "language", "superTheme") if entry.get(key)]
    return {
        "id": identifier, "name": _name(entry, identifier), "title": _text(entry.get("title")),
        "notes": _text(entry.get("description")), "type": "dataset", "state": "active",
        "metadata_created": _text(entry.get("issued")), "metadata_modified": _text(entry.get("modified")),
        "organization": {"name": _slug(org_title), "title": org_title} if org_title else None,
        "maintainer": _text(contact.get("fn")), "maintainer_email": email.removeprefix("mailto:") if email else None,
        "license_id": _text(entry.get("license")), "url": _text(entry.get("landingPage")),
        "tags": [{"name": k.strip()} for k in keywords], "groups": [{"name": t.strip()} for t in themes],
        "extras": extras + [{"key": "source", "value": "data.json"}],
        "resources": [_resource(identifier, i, d) for i, d in enumerate(distributions)],
        "dcat": entry,
    }


class DataJsonConnector(Connector):
    mode = "data.json"
    listing = "data.json"
    search_supported = None  # says nothing of package_search
    confirms_deletions = True  # the document lists the whole catalog: what it lacks is gone

    @classmethod
    def suits(cls, catalog: CatalogConfig, search_supported: bool | None) -> bool:
        return catalog.data_json

    def changed(self, since: datetime | None, report: ListingReport,
                on_page: PageCallback | None = None) -> Iterator[Batch]:
        url = self.catalog.data_json_url()
        document = self.client.document(url)
        entries = document.get("dataset") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise NotCkanApi(N_("not a DCAT-US catalog: %(url)s has no `dataset` list"), url)
        report.complete = True
        report.window_start = since
        report.window_end = self.client.last_server_time or utcnow()
        seen: set[str] = set()
        yield from batches(self._datasets(entries, url, report, seen), self.catalog, BATCH)
        if on_page:
            on_page(len(seen), len(entries))

    @staticmethod
    def _datasets(entries: list[Any], url: str, report: ListingReport, seen: set[str]) -> Iterator[Dataset]:
        """Each DCAT entry once, CKAN-shaped; one without an identifier is recorded as failed."""
        for number, entry in enumerate(entries, 1):
            dataset = ckan_shaped(entry) if isinstance(entry, dict) else None
            if dataset is None:
                report.failed.append(f"dataset #{number}")
                report.errors.append(f"dataset #{number}: no identifier in {url}")
                continue
            if dataset["id"] in seen:
                continue  # listed twice: the first stands
            seen.add(dataset["id"])
            yield dataset

    def fallback(self) -> Connector | None:
        return PackageListConnector(self.catalog, self.client)
