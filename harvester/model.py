"""The records that flow between stages: frozen dataclasses, one per thing the stages hand each other.

The store reads and writes these (`harvester/store/`); the stages take and return them. Raw portal JSON
(a CKAN package as received) stays a dict until the harvest merge parses it: it is the portal's shape,
not ours. JSON written to disk and `--json` output keep their documented shapes through `as_dict()`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from harvester.linkstatus import healthy

__all__ = ["ColumnProfile", "Dataset", "LinkCheck", "Resource", "ResourceKey", "TableValidation",
           "ValidationError", "replace"]


@dataclass(frozen=True, order=True)
class ResourceKey:
    """Which resource: the store's key of a resource's file, validations and profiles."""

    catalog_id: str
    dataset_id: str
    resource_id: str


def _from_row(cls: type, row: dict[str, Any]) -> Any:
    """A record from a store row of the same column names (columns it does not know are left out)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in row.items() if k in names})


# Harvested metadata ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    """A harvested dataset as the store holds it (`datasets`)."""

    catalog_id: str
    remote_id: str
    name: str | None = None
    title: str | None = None
    notes: str | None = None
    type: str | None = None
    state: str | None = None
    url: str | None = None
    version: str | None = None
    organization_id: str | None = None
    organization_name: str | None = None
    organization_title: str | None = None
    tags: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    license_id: str | None = None
    license_title: str | None = None
    author: str | None = None
    author_email: str | None = None
    maintainer: str | None = None
    maintainer_email: str | None = None
    metadata_created: datetime | None = None
    metadata_modified: datetime | None = None
    extras: str | None = None
    """The portal's extras as JSON text (a list of {key, value}, or an object)."""
    raw: str | None = None
    """The dataset as the portal sent it, JSON text."""
    formats: tuple[str, ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    last_changed: datetime | None = None
    deleted_at: datetime | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Dataset":
        record: Dataset = _from_row(cls, row)
        return replace(record, tags=tuple(record.tags or ()), groups=tuple(record.groups or ()),
                       formats=tuple(record.formats or ()))

    @property
    def ref(self) -> str:
        return f"{self.catalog_id}/{self.name}"

    @property
    def organization(self) -> str | None:
        return self.organization_title or self.organization_name

    def extras_map(self) -> dict[str, Any]:
        raw = json.loads(self.extras or "[]")
        if isinstance(raw, dict):
            return {str(k): v for k, v in raw.items()}
        return {str(e.get("key")): e.get("value") for e in raw if isinstance(e, dict)}

    def published_resources(self) -> dict[str, dict[str, Any]]:
        """The portal's own resource dicts, by id (fields we do not keep in columns, such as frequency)."""
        raw = json.loads(self.raw or "{}")
        return {str(x.get("id")): x for x in raw.get("resources", []) if isinstance(x, dict)}


@dataclass(frozen=True)
class Resource:
    """A dataset's resource as the store holds it (`resources`)."""

    catalog_id: str
    remote_id: str
    dataset_id: str
    position: int | None = None
    name: str | None = None
    description: str | None = None
    url: str | None = None
    format: str | None = None
    mimetype: str | None = None
    size: int | None = None
    last_modified: datetime | None = None
    created: datetime | None = None
    url_type: str | None = None
    hash: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    deleted_at: datetime | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Resource":
        return _from_row(cls, row)  # type: ignore[no-any-return]

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.catalog_id, self.dataset_id, self.remote_id)


# Fetch -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LinkCheck:
    """The last check of a resource's link and the file it gave (`resource_files`, one per resource)."""

    catalog_id: str
    dataset_id: str
    resource_id: str
    url: str | None = None
    final_url: str | None = None
    status: str | None = None
    """A `LinkStatus` value."""
    reason: str | None = None
    http_status: int | None = None
    path: str | None = None
    """The file, relative to the data folder; kept from the last good download while a link fails."""
    size: int | None = None
    sha256: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    declared_format: str | None = None
    sniffed_format: str | None = None
    members: tuple[str, ...] | None = None
    checked_at: datetime | None = None
    changed_at: datetime | None = None
    last_success_at: datetime | None = None
    first_failure_at: datetime | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "LinkCheck":
        record: LinkCheck = _from_row(cls, row)
        return replace(record, members=tuple(record.members) if record.members is not None else None)

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.catalog_id, self.dataset_id, self.resource_id)

    @property
    def healthy(self) -> bool:
        return healthy(self.status)

    def row(self) -> dict[str, Any]:
        data = asdict(self)
        data["members"] = list(self.members) if self.members is not None else None
        return data


# Validate and profile ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValidationError:
    """One error in a table, as frictionless names it (`type`: type-error, extra-cell, blank-row, ...)."""

    type: str
    message: str
    row: int | None = None
    field: str | None = None
    field_number: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ValidationError":
        return cls(type=str(data.get("type")), message=str(data.get("message") or ""), row=data.get("row"),
                   field=data.get("field"), field_number=data.get("field_number"))

    def as_dict(self) -> dict[str, Any]:
        """The shape of the validation reports on disk and in the store."""
        return {"type": self.type, "row": self.row, "field": self.field, "field_number": self.field_number,
                "message": self.message}


@dataclass(frozen=True)
class TableValidation:
    """The validation of one table of a fetched file (`validations`, one per table; `part` names the sheet
    or member, '' for the file itself). `valid` None: the file holds no table."""

    catalog_id: str
    dataset_id: str
    resource_id: str
    sha256: str | None
    part: str = ""
    source: str | None = None
    valid: bool | None = None
    engine: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None
    rows: int | None = None
    error_count: int | None = None
    errors_by_type: dict[str, int] = field(default_factory=dict)
    first_errors: tuple[ValidationError, ...] = ()
    table_path: str | None = None
    """The table's UTF-8 CSV (a sheet, JSON table or member), relative to the data folder; None: the file."""
    report_path: str | None = None
    seconds: float | None = None
    validated_at: datetime | None = None

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.catalog_id, self.dataset_id, self.resource_id)


@dataclass(frozen=True)
class ColumnProfile:
    """One column of a profiled table (`column_profiles`). `type` is integer, number, date, string, empty,
    or error (the table could not be read: `error` says why)."""

    position: int
    name: str
    type: str
    rows: int
    part: str = ""
    missing_share: float | None = None
    placeholders: int | None = None
    distinct_count: int | None = None
    min: Any = None
    max: Any = None
    quartiles: tuple[float, ...] | None = None
    date_min: str | None = None
    date_max: str | None = None
    top_values: tuple[tuple[Any, int], ...] = ()
    spellings: tuple[tuple[str, ...], ...] = ()
    alerts: tuple[str, ...] = ()
    error: str | None = None
    sibling_missing_in: tuple[str, ...] | None = None

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> "ColumnProfile":
        """From the JSON the store keeps in `column_profiles.details`."""
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in details.items() if k in names}
        for name in ("quartiles", "sibling_missing_in"):
            if data.get(name) is not None:
                data[name] = tuple(data[name])
        data["top_values"] = tuple(tuple(v) for v in data.get("top_values") or ())
        data["spellings"] = tuple(tuple(v) for v in data.get("spellings") or ())
        data["alerts"] = tuple(data.get("alerts") or ())
        data["part"] = data.get("part") or ""
        return cls(**data)

    def details(self) -> dict[str, Any]:
        """The JSON kept in `column_profiles.details` (unset optional fields left out)."""
        data = {k: v for k, v in asdict(self).items()
                if not (k in ("error", "sibling_missing_in") and v is None)}
        for name in ("quartiles", "sibling_missing_in"):
            if data.get(name) is not None:
                data[name] = list(data[name])
        data["top_values"] = [list(v) for v in self.top_values]
        data["spellings"] = [list(v) for v in self.spellings]
        data["alerts"] = list(self.alerts)
        return data


# Records of the harvest run (store/harvest.py, harvest.py, connectors/) -------------------------------
# (appended below by the harvest stage's owner)


# Records of fetch, validate and profile (store/files.py, store/tables.py, fetch.py, validate.py, profile.py)
# (appended below by those stages' owner)

class _OfResource:
    """The `key` of a record that names its resource by catalog_id, dataset_id and resource_id."""

    catalog_id: str
    dataset_id: str
    resource_id: str

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.catalog_id, self.dataset_id, self.resource_id)


@dataclass(frozen=True)
class ResourceToFetch:
    """A resource the fetch stage is to check (`Store.resources_to_fetch`), with its dataset's name (for
    the folder). `waiting`: its link has been failing at this same URL and is not due for a re-check yet
    (the nightly back-off)."""

    resource: Resource
    dataset_name: str | None = None
    waiting: bool = False

    @property
    def key(self) -> ResourceKey:
        return self.resource.key


@dataclass(frozen=True)
class FileToValidate(_OfResource):
    """A fetched file that may hold tables (`Store.files_to_validate`); `validated_sha256` is the file
    its validations were made from, None if never validated."""

    catalog_id: str
    dataset_id: str
    resource_id: str
    path: str
    """Relative to the data folder."""
    sha256: str | None
    sniffed_format: str
    validated_sha256: str | None = None

    @property
    def unchanged(self) -> bool:
        return self.validated_sha256 == self.sha256


@dataclass(frozen=True)
class TableToProfile(_OfResource):
    """A validated delimited table (`Store.tables_to_profile`): where it is and how to read it.
    `profiled_sha256` is the file its resource's profiles were made from, None if never profiled."""

    catalog_id: str
    dataset_id: str
    resource_id: str
    sha256: str | None
    part: str
    path: str
    """The table's CSV (or the file itself), relative to the data folder."""
    encoding: str
    delimiter: str
    header_row: int
    profiled_sha256: str | None = None


@dataclass(frozen=True)
class ProfiledColumn:
    """Which table a profiled column belongs to, and its name (`Store.profiled_columns`)."""

    catalog_id: str
    dataset_id: str
    resource_id: str
    part: str
    name: str


@dataclass(frozen=True)
class SiblingFlag:
    """A column that sibling tables of its dataset lack: `missing_in` names them ('<resource id>' or
    '<resource id> (<part>)')."""

    catalog_id: str
    dataset_id: str
    resource_id: str
    part: str
    name: str
    missing_in: tuple[str, ...]



# Records of scores, candidates, search, packs, the site and the nightly summary (store/reads.py, ...)
# (appended below by those stages' owner)
