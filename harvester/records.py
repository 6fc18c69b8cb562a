"""Turn CKAN dataset dicts into the store's rows, column by column (fast to hand to DuckDB via Arrow).

CKAN fields are free text and often missing; nothing here trusts a type.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

import pyarrow as pa

DATASET_SCHEMA = pa.schema([
    ("catalog_id", pa.string()), ("remote_id", pa.string()), ("name", pa.string()),
    ("title", pa.string()), ("notes", pa.string()), ("type", pa.string()), ("state", pa.string()),
    ("url", pa.string()), ("version", pa.string()),
    ("organization_id", pa.string()), ("organization_name", pa.string()),
    ("organization_title", pa.string()),
    ("tags", pa.list_(pa.string())), ("groups", pa.list_(pa.string())),
    ("license_id", pa.string()), ("license_title", pa.string()),
    ("author", pa.string()), ("author_email", pa.string()),
    ("maintainer", pa.string()), ("maintainer_email", pa.string()),
    ("metadata_created", pa.string()), ("metadata_modified", pa.string()),
    ("extras", pa.string()), ("raw", pa.string()), ("formats", pa.list_(pa.string())),
    ("search_text", pa.string()),
])

RESOURCE_SCHEMA = pa.schema([
    ("catalog_id", pa.string()), ("remote_id", pa.string()), ("dataset_id", pa.string()),
    ("position", pa.int32()), ("name", pa.string()), ("description", pa.string()),
    ("url", pa.string()), ("format", pa.string()), ("mimetype", pa.string()),
    ("size", pa.int64()), ("last_modified", pa.string()), ("created", pa.string()),
    ("url_type", pa.string()), ("hash", pa.string()), ("raw", pa.string()),
])

ORGANIZATION_SCHEMA = pa.schema([
    ("catalog_id", pa.string()), ("remote_id", pa.string()), ("name", pa.string()),
    ("title", pa.string()), ("description", pa.string()), ("image_url", pa.string()),
    ("raw", pa.string()),
])


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _size(value: Any) -> int | None:
    """CKAN's size is free text: "1234", 1234, "1.2 MB", "" or null; keep only a clean byte count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def normalize_format(value: Any) -> str:
    """`CSV`, `csv`, `.csv`, `text/csv` -> `CSV`; empty stays empty."""
    text = (_text(value) or "").strip().lower()
    if not text:
        return ""
    text = text.lstrip(".")
    if "/" in text:
        text = {"text/csv": "csv", "application/json": "json", "application/geo+json": "geojson",
                "application/zip": "zip", "application/pdf": "pdf", "text/html": "html",
                "application/vnd.ms-excel": "xls",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
                "application/xml": "xml", "text/xml": "xml", "text/plain": "txt",
                }.get(text, text.rsplit("/", 1)[-1])
    return text.upper()


def _names(items: Any, key: str = "name") -> list[str]:
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if isinstance(item, dict) and item.get(key):
            out.append(str(item[key]))
        elif isinstance(item, str) and item:
            out.append(item)
    return out


def _extras(items: Any) -> dict[str, Any]:
    if isinstance(items, dict):
        return items
    extras: dict[str, Any] = {}
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and "key" in item:
                extras[str(item["key"])] = item.get("value")
    return extras


class Rows:
    """Column buffers for datasets, resources and organizations of one batch."""

    def __init__(self) -> None:
        self.datasets: dict[str, list[Any]] = {f.name: [] for f in DATASET_SCHEMA}
        self.resources: dict[str, list[Any]] = {f.name: [] for f in RESOURCE_SCHEMA}
        self.organizations: dict[str, list[Any]] = {f.name: [] for f in ORGANIZATION_SCHEMA}
        self.ids: list[str] = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, catalog_id: str, dataset: dict[str, Any]) -> None:
        """Add one dataset dict (as package_show or package_search returns it)."""
        d = self.datasets
        remote_id = str(dataset["id"])
        org = dataset.get("organization") if isinstance(dataset.get("organization"), dict) else {}
        tags = _names(dataset.get("tags"))
        groups = _names(dataset.get("groups"))
        resources = dataset.get("resources") if isinstance(dataset.get("resources"), list) else []
        formats: list[str] = []
        resource_names: list[str] = []
        for position, res in enumerate(r for r in resources if isinstance(r, dict) and r.get("id")):
            fmt = normalize_format(res.get("format"))
            if fmt and fmt not in formats:
                formats.append(fmt)
            resource_names.append(_text(res.get("name")) or "")
            self._add_resource(catalog_id, remote_id, position, res, fmt)
        title = _text(dataset.get("title")) or ""
        notes = _text(dataset.get("notes")) or ""
        org_title = _text(org.get("title")) or ""
        org_name = _text(org.get("name")) or ""
        values = {
            "catalog_id": catalog_id, "remote_id": remote_id, "name": _text(dataset.get("name")),
            "title": title, "notes": notes, "type": _text(dataset.get("type")) or "dataset",
            "state": _text(dataset.get("state")), "url": _text(dataset.get("url")),
            "version": _text(dataset.get("version")),
            "organization_id": _text(org.get("id")) or _text(dataset.get("owner_org")),
            "organization_name": org_name or None, "organization_title": org_title or None,
            "tags": tags, "groups": groups,
            "license_id": _text(dataset.get("license_id")) or None,
            "license_title": _text(dataset.get("license_title")) or None,
            "author": _text(dataset.get("author")) or None,
            "author_email": _text(dataset.get("author_email")) or None,
            "maintainer": _text(dataset.get("maintainer")) or None,
            "maintainer_email": _text(dataset.get("maintainer_email")) or None,
            "metadata_created": _text(dataset.get("metadata_created")),
            "metadata_modified": _text(dataset.get("metadata_modified")),
            "extras": json.dumps(_extras(dataset.get("extras")), ensure_ascii=False, sort_keys=True),
            "raw": json.dumps(dataset, ensure_ascii=False, sort_keys=True),
            "formats": formats,
            # Normalised (lower-case, accents stripped) by the store when merging.
            "search_text": " ".join([title, " ".join(tags), " ".join(groups), org_title, org_name,
                                     notes, " ".join(resource_names)]),
        }
        for key, value in values.items():
            d[key].append(value)
        self.ids.append(remote_id)
        if org_name or org.get("id"):
            o = self.organizations
            for key, value in (("catalog_id", catalog_id), ("remote_id", _text(org.get("id"))),
                               ("name", org_name or None), ("title", org_title or None),
                               ("description", _text(org.get("description")) or None),
                               ("image_url", _text(org.get("image_url")) or None),
                               ("raw", json.dumps(org, ensure_ascii=False, sort_keys=True))):
                o[key].append(value)

    def _add_resource(self, catalog_id: str, dataset_id: str, position: int, res: dict[str, Any],
                      fmt: str) -> None:
        r = self.resources
        values = {
            "catalog_id": catalog_id, "remote_id": str(res["id"]), "dataset_id": dataset_id,
            "position": position, "name": _text(res.get("name")), "description": _text(res.get("description")),
            "url": _text(res.get("url")), "format": fmt or None, "mimetype": _text(res.get("mimetype")) or None,
            "size": _size(res.get("size")), "last_modified": _text(res.get("last_modified")) or None,
            "created": _text(res.get("created")) or None, "url_type": _text(res.get("url_type")) or None,
            "hash": _text(res.get("hash")) or None,
            "raw": json.dumps(res, ensure_ascii=False, sort_keys=True),
        }
        for key, value in values.items():
            r[key].append(value)

    def tables(self) -> tuple[pa.Table, pa.Table, pa.Table]:
        return (pa.table(self.datasets, schema=DATASET_SCHEMA),
                pa.table(self.resources, schema=RESOURCE_SCHEMA),
                pa.table(self.organizations, schema=ORGANIZATION_SCHEMA))


def build_rows(catalog_id: str, datasets: Iterable[dict[str, Any]]) -> Rows:
    rows = Rows()
    for dataset in datasets:
        rows.add(catalog_id, dataset)
    return rows
