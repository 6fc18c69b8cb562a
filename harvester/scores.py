"""Scores of one dataset: data.europa.eu MQA (405 points), five stars per resource, freshness, link
health, validation, and what makes it useful to a datathon team. Computed from the store on demand."""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from harvester.clock import utcnow
from harvester.errors import HarvesterError
from harvester.linkstatus import healthy
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


def _share(items: list[Any], test: Any) -> float:
    return sum(1 for i in items if test(i)) / len(items) if items else 0.0


def mqa(dataset: dict[str, Any], resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The MQA indicators mapped to CKAN fields; distribution indicators weigh by the share that meets them."""
    extras = _extras(dataset)
    reachable = [r for r in resources if r.get("link_status") is not None]
    fmt = lambda r: (r.get("sniffed_format") or r.get("format") or "").upper()  # noqa: E731
    indicators = [
        ("findability", "keywords", 30, 1.0 if dataset["tags"] else 0.0),
        ("findability", "themes", 30, 1.0 if dataset["groups"] else 0.0),
        ("findability", "spatial", 20, 1.0 if any(k in extras for k in ("spatial", "cobertura", "cobertura_geografica"))
         and any(extras.get(k) for k in ("spatial", "cobertura", "cobertura_geografica")) else 0.0),
        ("findability", "temporal", 20, 1.0 if any(extras.get(k) for k in ("temporal", "temporal_coverage",
                                                                           "cobertura_temporal")) else 0.0),
        ("accessibility", "access URL reachable", 50,
         _share(reachable, lambda r: healthy(r["link_status"])) if reachable else 0.0),
        ("accessibility", "download URL present", 20, _share(resources, lambda r: bool(r.get("url")))),
        ("accessibility", "download URL reachable", 30,
         _share(reachable, lambda r: healthy(r["link_status"])) if reachable else 0.0),
        ("interoperability", "format", 20, _share(resources, lambda r: bool(fmt(r)))),
        ("interoperability", "media type", 10, _share(resources, lambda r: bool(r.get("mimetype")))),
        ("interoperability", "format from a vocabulary", 10, _share(resources, lambda r: fmt(r) in KNOWN_FORMATS)),
        ("interoperability", "non-proprietary", 20, _share(resources, lambda r: fmt(r) in OPEN_FORMATS)),
        ("interoperability", "machine-readable", 20, _share(resources, lambda r: fmt(r) in MACHINE_READABLE)),
        ("interoperability", "DCAT-AP conformance", 30, 0.0),
        ("reusability", "licence", 20, 1.0 if dataset["license_id"] else 0.0),
        ("reusability", "licence from a vocabulary", 10,
         1.0 if dataset["license_id"] and OPEN_LICENCES.match(dataset["license_id"] or "") else 0.0),
        ("reusability", "access rights", 10, 1.0 if extras.get("access_rights") else 0.0),
        ("reusability", "access rights vocabulary", 5, 0.0),
        ("reusability", "contact point", 20, 1.0 if dataset["maintainer_email"] or dataset["author_email"] else 0.0),
        ("reusability", "publisher", 10, 1.0 if dataset["organization_name"] else 0.0),
        ("contextuality", "rights", 5, 1.0 if extras.get("rights") else 0.0),
        ("contextuality", "byte size", 5, _share(resources, lambda r: r.get("size") is not None)),
        ("contextuality", "issued", 5, 1.0 if dataset["metadata_created"] else 0.0),
        ("contextuality", "modified", 5, 1.0 if dataset["metadata_modified"] else 0.0),
    ]
    rows = [{"dimension": d, "indicator": n, "max": m, "points": round(m * s, 1)} for d, n, m, s in indicators]
    total = round(sum(r["points"] for r in rows), 1)
    band = next(name for floor, name in BANDS if total >= floor)
    dimensions: dict[str, float] = {}
    for r in rows:
        dimensions[r["dimension"]] = round(dimensions.get(r["dimension"], 0) + r["points"], 1)
    return {"total": total, "max": 405, "band": band, "dimensions": dimensions, "indicators": rows,
            "notes": "DCAT-AP conformance and access-rights vocabulary are not assessed on CKAN metadata (0 points)."}


def stars(resource: dict[str, Any], open_licence: bool) -> int:
    if resource.get("link_status") is not None and not healthy(resource["link_status"]) or not open_licence:
        return 0
    return STARS.get((resource.get("sniffed_format") or resource.get("format") or "").upper(), 0)


def freshness(dataset: dict[str, Any], resources: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    extras = _extras(dataset)
    declared = extras.get("frecuencia") or extras.get("update_frequency") or extras.get("accrualPeriodicity") or next(
        (json.loads(r["raw"] or "{}").get("update_frequency") for r in resources if r.get("raw")), None)
    modified = dataset["metadata_modified"]
    # calendar days: an age changes at midnight (UTC), not at the time of day the dataset changed, so
    # what shows ages (the site) stays the same all day
    age = (now.date() - modified.date()).days if modified else None
    period = PERIODS.get(str(declared or "").strip()) or PERIODS.get(normalize(str(declared or "")).strip())
    if period is None or age is None:
        verdict = "unknown"
    else:
        verdict = "fresh" if age <= period * 1.5 else "stale"
    return {"declared_frequency": declared, "last_change": modified.isoformat() if modified else None,
            "age_days": age, "verdict": verdict,
            "overdue_days": max(0, int(age - period * 1.5)) if period and age is not None else None}


def usefulness(columns: list[dict[str, Any]]) -> dict[str, Any]:
    names = {normalize(c["name"]).strip().replace(" ", "_") for c in columns}
    geo = sorted({label for label, pattern in GEO for n in names if pattern.search(n)})
    dates = [c for c in columns if c["type"] == "date"]
    details = [json.loads(c["details"]) for c in dates]
    starts = [d["date_min"] for d in details if d.get("date_min")]
    ends = [d["date_max"] for d in details if d.get("date_max")]
    return {"by_sex_or_gender": sorted(n for n in names if n in SEX_COLUMNS),
            "geographic_levels": geo,
            "time_coverage": [min(starts), max(ends)] if starts and ends else None}


def _extras(dataset: dict[str, Any]) -> dict[str, Any]:
    raw = json.loads(dataset.get("extras") or "[]")
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}
    return {str(e.get("key")): e.get("value") for e in raw if isinstance(e, dict)}


# A dataset's resources with their link status and validation verdict; {where} picks the datasets.
_RESOURCES = """
    SELECT r.*, r.remote_id AS resource_id, f.status AS link_status, f.reason AS link_reason,
           f.sniffed_format, f.first_failure_at, f.last_success_at, v.valid, v.error_count, v.tables
    FROM resources r
    LEFT JOIN resource_files f ON f.catalog_id = r.catalog_id AND f.dataset_id = r.dataset_id
         AND f.resource_id = r.remote_id
    LEFT JOIN (SELECT catalog_id, dataset_id, resource_id, bool_and(valid) AS valid,
                      sum(error_count) AS error_count, count(valid) AS tables
               FROM validations GROUP BY ALL) v
         ON v.catalog_id = r.catalog_id AND v.dataset_id = r.dataset_id AND v.resource_id = r.remote_id
    WHERE r.deleted_at IS NULL AND {where} ORDER BY r.catalog_id, r.dataset_id, r.position"""
_COLUMNS = "SELECT catalog_id, dataset_id, name, type, details FROM column_profiles WHERE {where} " \
           "ORDER BY catalog_id, dataset_id, resource_id, position"


def dataset_scores(store: Store, catalog_id: str, name: str) -> dict[str, Any]:
    """One dataset's scores, by name or id (a current dataset before a deleted one of that name)."""
    found = store.query("SELECT * FROM datasets WHERE catalog_id = ? AND (name = ? OR remote_id = ?) "
                        "ORDER BY deleted_at NULLS FIRST LIMIT 1", [catalog_id, name, name])
    if not found:
        raise HarvesterError(f"no dataset {catalog_id}/{name} in the store")
    dataset = found[0]
    key = [catalog_id, dataset["remote_id"]]
    resources = store.query(_RESOURCES.format(where="r.catalog_id = ? AND r.dataset_id = ?"), key)
    columns = store.query(_COLUMNS.format(where="catalog_id = ? AND dataset_id = ?"), key)
    return score(dataset, resources, columns, utcnow())


def all_scores(store: Store, keys: list[tuple[str, str]] | None = None,
               batch: int = 2000) -> dict[tuple[str, str], dict[str, Any]]:
    """The scores of every current dataset (or of those `keys`), keyed by (catalog, dataset id): a few
    queries per `batch` datasets instead of three per dataset."""
    now = utcnow()
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if keys is None:
        keys = [(r["catalog_id"], r["remote_id"]) for r in store.query(
            "SELECT catalog_id, remote_id FROM datasets WHERE deleted_at IS NULL ORDER BY catalog_id, remote_id")]
    for start in range(0, len(keys), batch):
        chunk = keys[start:start + batch]
        pairs = "(" + ", ".join("(?, ?)" for _ in chunk) + ")"
        flat = [v for k in chunk for v in k]
        datasets = store.query(f"SELECT * FROM datasets WHERE deleted_at IS NULL AND (catalog_id, remote_id) IN {pairs}",
                               flat)
        resources: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in store.query(_RESOURCES.format(where=f"(r.catalog_id, r.dataset_id) IN {pairs}"), flat):
            resources.setdefault((r["catalog_id"], r["dataset_id"]), []).append(r)
        columns: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for c in store.query(_COLUMNS.format(where=f"(catalog_id, dataset_id) IN {pairs}"), flat):
            columns.setdefault((c["catalog_id"], c["dataset_id"]), []).append(c)
        for d in datasets:
            key = (d["catalog_id"], d["remote_id"])
            out[key] = score(d, resources.get(key, []), columns.get(key, []), now)
    return out


def score(dataset: dict[str, Any], resources: list[dict[str, Any]], columns: list[dict[str, Any]],
          now: datetime) -> dict[str, Any]:
    """The scores of a dataset row, its resource rows (from `_RESOURCES`) and its column profiles."""
    published = {x.get("id"): x for x in json.loads(dataset.get("raw") or "{}").get("resources", [])
                 if isinstance(x, dict)}
    for r in resources:
        r["raw"] = json.dumps(published.get(r["resource_id"], {}))
    open_licence = bool(OPEN_LICENCES.match(dataset["license_id"] or ""))
    checked = [r for r in resources if r["link_status"] is not None]
    validated = [r for r in resources if r["valid"] is not None]
    return {
        "catalog": dataset["catalog_id"], "dataset": dataset["name"], "title": dataset["title"],
        "organization": dataset["organization_title"] or dataset["organization_name"],
        "license_id": dataset["license_id"],
        "deleted_at": dataset["deleted_at"].isoformat() if dataset["deleted_at"] else None,
        "mqa": mqa(dataset, resources),
        "resources": [{"id": r["resource_id"], "name": r["name"], "format": r["format"],
                       "sniffed_format": r["sniffed_format"], "link_status": r["link_status"],
                       "link_reason": r["link_reason"], "stars": stars(r, open_licence), "valid": r["valid"],
                       "errors": r["error_count"]} for r in resources],
        "link_health": {"checked": len(checked),
                        "ok": sum(1 for r in checked if healthy(r["link_status"])),
                        "share_ok": round(_share(checked, lambda r: healthy(r["link_status"])), 3)
                        if checked else None},
        "validation": {"validated": len(validated), "valid": sum(1 for r in validated if r["valid"])},
        "freshness": freshness(dataset, resources, now),
        "usefulness": usefulness(columns),
    }
