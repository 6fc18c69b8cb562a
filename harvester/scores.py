"""Scores of one dataset: data.europa.eu MQA (405 points), five stars per resource, freshness, link
health, validation, and what makes it useful to a datathon team. Computed from the store on demand."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Callable, Sequence

from harvester.clock import utcnow
from harvester.errors import HarvesterError
from harvester.i18n import N_
from harvester.linkstatus import healthy
from harvester.model import (ColumnProfile, Dataset, Freshness, Indicator, LinkHealth, Mqa,
                             ResourceScore, ScoredResource, Scores, Usefulness, ValidationScore)
from harvester.text import normalize
from harvester.store import Store

KNOWN_FORMATS = {"CSV", "TSV", "JSON", "GEOJSON", "XML", "RDF", "KML", "ODS", "XLS", "XLSX", "SHP", "ZIP",
                 "PDF", "DOC", "DOCX", "TXT", "HTML", "PARQUET", "GTFS"}
OPEN_FORMATS = {"CSV", "TSV", "JSON", "GEOJSON", "XML", "RDF", "KML", "ODS", "TXT", "HTML", "PARQUET", "ZIP"}
MACHINE_READABLE = {"CSV", "TSV", "JSON", "GEOJSON", "XML", "RDF", "KML", "ODS", "XLS", "XLSX", "SHP", "PARQUET"}
STARS = {"RDF": 5, "CSV": 3, "TSV": 3, "JSON": 3, "XML": 3, "GEOJSON": 3, "KML": 3, "ODS": 3,
         "XLS": 2, "XLSX": 2, "SHP": 2, "SHP-ZIP": 2, "PDF": 1, "DOC": 1, "ZIP": 1, "TXT": 1, "TEXT": 1, "HTML": 0}
OPEN_LICENCES = re.compile(r"^(cc-by|cc-by-sa|cc-zero|cc0|odc-|other-open|other-pd|other-at|gfdl|uk-ogl|"
                           r"notspecified-open|dof|libre-uso|cc-by-4)", re.I)
PERIODS = {"R/P1D": 1, "R/P1W": 7, "R/P2W": 14, "R/P1M": 31, "R/P3M": 92, "R/P6M": 183, "R/P1Y": 366,
           "diaria": 1, "semanal": 7, "mensual": 31, "trimestral": 92, "semestral": 183, "anual": 366}
BANDS = ((351, "excellent"), (221, "good"), (121, "sufficient"), (0, "bad"))
SEX_COLUMNS = {"sexo", "genero", "gender", "sex", "genero_usuario", "sexo_victima"}
GEO = [("alcaldía/municipio", re.compile(r"alcaldia|municipio|delegacion|mun\b")),
       ("colonia", re.compile(r"colonia")),
       ("INEGI keys", re.compile(r"^(cve_|cvegeo|cve)")),
       ("coordinates", re.compile(r"^(lat|latitud|latitude|lon|lng|longitud|longitude|geo_point)"))]


def _share(items: Sequence[Any], test: Callable[[Any], bool]) -> float:
    return sum(1 for i in items if test(i)) / len(items) if items else 0.0


def _reachable(r: ScoredResource) -> bool:
    return healthy(r.link_status)


def mqa(dataset: Dataset, resources: Sequence[ScoredResource]) -> Mqa:
    """The MQA indicators mapped to CKAN fields; distribution indicators weigh by the share that meets them."""
    extras = dataset.extras_map()
    reachable = [r for r in resources if r.link_status is not None]
    indicators = [
        ("findability", "keywords", 30, 1.0 if dataset.tags else 0.0),
        ("findability", "themes", 30, 1.0 if dataset.groups else 0.0),
        ("findability", "spatial", 20, 1.0 if any(k in extras for k in ("spatial", "cobertura", "cobertura_geografica"))
         and any(extras.get(k) for k in ("spatial", "cobertura", "cobertura_geografica")) else 0.0),
        ("findability", "temporal", 20, 1.0 if any(extras.get(k) for k in ("temporal", "temporal_coverage",
                                                                           "cobertura_temporal")) else 0.0),
        ("accessibility", "access URL reachable", 50, _share(reachable, _reachable) if reachable else 0.0),
        ("accessibility", "download URL present", 20, _share(resources, lambda r: bool(r.resource.url))),
        ("accessibility", "download URL reachable", 30, _share(reachable, _reachable) if reachable else 0.0),
        ("interoperability", "format", 20, _share(resources, lambda r: bool(r.format))),
        ("interoperability", "media type", 10, _share(resources, lambda r: bool(r.resource.mimetype))),
        ("interoperability", "format from a vocabulary", 10, _share(resources, lambda r: r.format in KNOWN_FORMATS)),
        ("interoperability", "non-proprietary", 20, _share(resources, lambda r: r.format in OPEN_FORMATS)),
        ("interoperability", "machine-readable", 20, _share(resources, lambda r: r.format in MACHINE_READABLE)),
        ("interoperability", "DCAT-AP conformance", 30, 0.0),
        ("reusability", "licence", 20, 1.0 if dataset.license_id else 0.0),
        ("reusability", "licence from a vocabulary", 10,
         1.0 if dataset.license_id and OPEN_LICENCES.match(dataset.license_id or "") else 0.0),
        ("reusability", "access rights", 10, 1.0 if extras.get("access_rights") else 0.0),
        ("reusability", "access rights vocabulary", 5, 0.0),
        ("reusability", "contact point", 20, 1.0 if dataset.maintainer_email or dataset.author_email else 0.0),
        ("reusability", "publisher", 10, 1.0 if dataset.organization_name else 0.0),
        ("contextuality", "rights", 5, 1.0 if extras.get("rights") else 0.0),
        ("contextuality", "byte size", 5, _share(resources, lambda r: r.resource.size is not None)),
        ("contextuality", "issued", 5, 1.0 if dataset.metadata_created else 0.0),
        ("contextuality", "modified", 5, 1.0 if dataset.metadata_modified else 0.0),
    ]
    rows = tuple(Indicator(d, n, m, round(m * s, 1)) for d, n, m, s in indicators)
    total = round(sum(r.points for r in rows), 1)
    band = next(name for floor, name in BANDS if total >= floor)
    dimensions: dict[str, float] = {}
    for r in rows:
        dimensions[r.dimension] = round(dimensions.get(r.dimension, 0) + r.points, 1)
    return Mqa(total=total, max=405, band=band, dimensions=dimensions, indicators=rows,
               notes="DCAT-AP conformance and access-rights vocabulary are not assessed on CKAN metadata (0 points).")


def stars(resource: ScoredResource, open_licence: bool) -> int:
    if resource.link_status is not None and not healthy(resource.link_status) or not open_licence:
        return 0
    return STARS.get(resource.format, 0)


def freshness(dataset: Dataset, resources: Sequence[ScoredResource], now: datetime) -> Freshness:
    extras = dataset.extras_map()
    declared = extras.get("frecuencia") or extras.get("update_frequency") or extras.get("accrualPeriodicity")
    if not declared:  # the first resource's own declaration, as the portal published it
        declared = dataset.published_resources().get(resources[0].resource.remote_id, {}).get(
            "update_frequency") if resources else None
    return freshness_on(declared, dataset.metadata_modified, now.date())


def freshness_on(declared: Any, modified: datetime | None, today: date) -> Freshness:
    """The freshness of a dataset last modified `modified` that declares `declared` as its frequency, on
    `today`: what of the scores depends on the day (the site recomputes it for datasets it did not read)."""
    # calendar days: an age changes at midnight (UTC), not at the time of day the dataset changed, so
    # what shows ages (the site) stays the same all day
    age = (today - modified.date()).days if modified else None
    period = PERIODS.get(str(declared or "").strip()) or PERIODS.get(normalize(str(declared or "")).strip())
    if period is None or age is None:
        verdict = "unknown"
    else:
        verdict = "fresh" if age <= period * 1.5 else "stale"
    return Freshness(declared_frequency=declared, last_change=modified.isoformat() if modified else None,
                     age_days=age, verdict=verdict,
                     overdue_days=max(0, int(age - period * 1.5)) if period and age is not None else None)


def usefulness(columns: Sequence[ColumnProfile]) -> Usefulness:
    names = {normalize(c.name).strip().replace(" ", "_") for c in columns}
    geo = sorted({label for label, pattern in GEO for n in names if pattern.search(n)})
    dates = [c for c in columns if c.type == "date"]
    starts = [c.date_min for c in dates if c.date_min]
    ends = [c.date_max for c in dates if c.date_max]
    return Usefulness(by_sex_or_gender=tuple(sorted(n for n in names if n in SEX_COLUMNS)),
                      geographic_levels=tuple(geo),
                      time_coverage=(min(starts), max(ends)) if starts and ends else None)


def dataset_scores(store: Store, catalog_id: str, name: str) -> Scores:
    """One dataset's scores, by name or id (a current dataset before a deleted one of that name)."""
    dataset = store.dataset_named(catalog_id, name)
    if dataset is None:
        raise HarvesterError(N_("no dataset %(catalog)s/%(dataset)s in the store"), catalog=catalog_id, dataset=name)
    key = [(catalog_id, dataset.remote_id)]
    return score(dataset, store.scored_resources(key), [c.column for c in store.dataset_columns(key)], utcnow())


def all_scores(store: Store, keys: list[tuple[str, str]] | None = None,
               batch: int = 2000) -> dict[tuple[str, str], Scores]:
    """The scores of every current dataset (or of those `keys`), keyed by (catalog, dataset id): a few
    queries per `batch` datasets instead of three per dataset."""
    now = utcnow()
    out: dict[tuple[str, str], Scores] = {}
    if keys is None:
        keys = store.current_dataset_keys()
    for start in range(0, len(keys), batch):
        chunk = keys[start:start + batch]
        resources: dict[tuple[str, str], list[ScoredResource]] = {}
        for r in store.scored_resources(chunk):
            resources.setdefault((r.resource.catalog_id, r.resource.dataset_id), []).append(r)
        columns: dict[tuple[str, str], list[ColumnProfile]] = {}
        for c in store.dataset_columns(chunk):
            columns.setdefault((c.catalog_id, c.dataset_id), []).append(c.column)
        for d in store.current_datasets(chunk):
            key = (d.catalog_id, d.remote_id)
            out[key] = score(d, resources.get(key, []), columns.get(key, []), now)
    return out


def score(dataset: Dataset, resources: Sequence[ScoredResource], columns: Sequence[ColumnProfile],
          now: datetime) -> Scores:
    """The scores of a dataset, its current resources (with link checks and validations) and its column
    profiles."""
    open_licence = bool(OPEN_LICENCES.match(dataset.license_id or ""))
    checked = [r for r in resources if r.link_status is not None]
    validated = [r for r in resources if r.valid is not None]
    return Scores(
        catalog=dataset.catalog_id, dataset=dataset.name, title=dataset.title, organization=dataset.organization,
        license_id=dataset.license_id, deleted_at=dataset.deleted_at.isoformat() if dataset.deleted_at else None,
        mqa=mqa(dataset, resources),
        resources=tuple(ResourceScore(id=r.resource.remote_id, name=r.resource.name, format=r.resource.format,
                                      sniffed_format=r.sniffed_format, link_status=r.link_status,
                                      link_reason=r.link_reason, stars=stars(r, open_licence), valid=r.valid,
                                      errors=r.error_count, url=r.resource.url) for r in resources),
        link_health=LinkHealth(checked=len(checked), ok=sum(1 for r in checked if _reachable(r)),
                               share_ok=round(_share(checked, _reachable), 3) if checked else None),
        validation=ValidationScore(validated=len(validated), valid=sum(1 for r in validated if r.valid)),
        freshness=freshness(dataset, resources, now),
        usefulness=usefulness(columns),
    )
