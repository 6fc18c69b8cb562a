"""The records that flow between stages: frozen dataclasses, one per thing the stages hand each other.

The store reads and writes these (`harvester/store/`); the stages take and return them. Raw portal JSON
(a CKAN package as received) stays a dict until the harvest merge parses it: it is the portal's shape,
not ours. JSON written to disk and `--json` output keep their documented shapes through `as_dict()`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Iterable

from harvester.exitcodes import ExitCode
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
    form: str = ""
    """The form its type was read in (csvscan.Reading.form: `decimal_comma`, `dmy`, ...)."""
    present: int | None = None
    """The cells neither empty nor a placeholder (None in a profile made before it was kept)."""
    placeholder_spellings: tuple[tuple[str, int], ...] = ()
    """Each placeholder spelling found (`N/D`, `-`) with its count, most frequent first."""
    rules: str | None = None
    """csvscan.READING_RULES of the code that decided `type` and `form`."""
    source_sha256: str | None = None
    """The sha256 of the file profiled (the store's `column_profiles.sha256`; not kept in `details`)."""

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
        data["placeholder_spellings"] = tuple((str(s), int(n)) for s, n in data.get("placeholder_spellings") or ())
        data["alerts"] = tuple(data.get("alerts") or ())
        data["part"] = data.get("part") or ""
        data["form"] = data.get("form") or ""
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
        data["placeholder_spellings"] = [list(v) for v in self.placeholder_spellings]
        data["alerts"] = list(self.alerts)
        return data


# Records of the harvest run (store/harvest.py, harvest.py, connectors/) -------------------------------
# (appended below by the harvest stage's owner)

@dataclass(frozen=True)
class CatalogState:
    """What the store remembers of a catalog between runs."""

    last_window_end: datetime | None
    last_success_at: datetime | None
    search_supported: bool | None


@dataclass(frozen=True)
class MergeCounts:
    """What a run's merge did to the catalog's datasets."""

    added: int
    updated: int
    unchanged: int
    deleted: int


@dataclass(frozen=True)
class RunNotes:
    """What a run learnt besides its counts (`harvest_runs.notes`, `CatalogResult.notes`)."""

    fallback: str | None = None
    """Why the run listed with another connector than the one it started with."""
    errors: tuple[str, ...] = ()
    """`name: error` of each dataset listed but not fetched."""
    pages: int | None = None
    """package_search pages asked for the listing."""
    rows_cap: int | None = None
    """The page size the server allowed, when smaller than the configured `rows`."""
    id_listing: bool = False
    """An incremental run listed every id to find deletions (the count did not match)."""

    def as_dict(self) -> dict[str, Any]:
        """The stored JSON: only what was learnt, in the order the run learns it."""
        data: dict[str, Any] = {}
        if self.fallback is not None:
            data["fallback"] = self.fallback
        if self.errors:
            data["errors"] = list(self.errors)
        if self.pages is not None:
            data["pages"] = self.pages
        if self.rows_cap is not None:
            data["rows_cap"] = self.rows_cap
        if self.id_listing:
            data["id_listing"] = True
        return data


@dataclass(frozen=True)
class RunOutcome:
    """How a harvest run ended, as the store records it (`harvest_runs`, and the catalog's window).

    The store stamps the times itself; `duration_s` is the stage's own measure of the run."""

    status: str
    """ok, partial (some datasets could not be fetched) or failed."""
    mode: str
    duration_s: float
    requests: int = 0
    retries: int = 0
    failed: int = 0
    skipped: int = 0
    error: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    advance_window: bool = False
    """True when the next incremental run may start from `window_end`."""
    search_supported: bool | None = None
    notes: RunNotes = field(default_factory=RunNotes)



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
class RecheckRule:
    """When a link checked before is due again, as link checkers do: the longer a link has been failing,
    or its file unchanged, the less often it is asked (never sooner than `min_seconds`, a nightly, nor later
    than `max_seconds`). A failing link waits as long as it has been failing; an unchanged file waits
    `unchanged_share` of the time it has been unchanged (unchanged for four weeks: asked once a week)."""

    min_seconds: float = 20 * 3600
    max_seconds: float = 7 * 86400
    unchanged_share: float = 0.25


@dataclass(frozen=True)
class ResourceToFetch:
    """A resource the fetch stage is to check (`Store.resources_to_fetch`), with its dataset's name (for
    the folder). Not due for a re-check yet (the nightly asks neither; see `RecheckRule`): `waiting`, its
    link has been failing at this same URL; `resting`, its file has been fine and unchanged."""

    resource: Resource
    dataset_name: str | None = None
    waiting: bool = False
    resting: bool = False

    @property
    def due(self) -> bool:
        return not (self.waiting or self.resting)

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

# Reads for scoring, matching and the site (store/reads.py) ---------------------------------------------

@dataclass(frozen=True)
class ScoredResource:
    """A current resource with its last link check and its validation verdict: what the scores judge."""

    resource: Resource
    link_status: str | None = None
    """A `LinkStatus` value; None: the link was never checked."""
    link_reason: str | None = None
    sniffed_format: str | None = None
    valid: bool | None = None
    """Every validated table of it valid; None: no table validated."""
    error_count: int | None = None

    @property
    def format(self) -> str:
        """The format the file was found to be, else the declared one, upper case ('' when neither)."""
        return (self.sniffed_format or self.resource.format or "").upper()


@dataclass(frozen=True)
class DatasetColumn:
    """A profiled column with the resource it belongs to (`column_profiles` joined to `resources`)."""

    catalog_id: str
    dataset_id: str
    resource_id: str
    column: ColumnProfile
    resource_name: str | None = None


@dataclass(frozen=True)
class DatasetText:
    """What a theme matches on: a current dataset (its texts only) and its profiled column names."""

    dataset: Dataset
    columns: tuple[str, ...]


@dataclass(frozen=True)
class BrokenLink:
    """A resource whose last link check failed: its name and why."""

    resource: str
    status: str
    reason: str | None = None
    http_status: int | None = None
    failing_since: datetime | None = None


@dataclass(frozen=True)
class PublisherFacts:
    """What a publisher's page says of one of its current datasets beyond its scores (`Store.publisher_facts`):
    its organization, licence, contact points and broken links."""

    catalog_id: str
    remote_id: str
    name: str | None
    title: str | None
    organization_name: str | None
    organization_title: str | None
    license_id: str | None
    licence: str | None
    """Its licence's title, else its id."""
    contacts: tuple[tuple[str | None, str | None], ...]
    """(name, email) of the maintainer and the author, when given."""
    broken: tuple[BrokenLink, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.catalog_id}/{self.name}"


@dataclass(frozen=True)
class ShownValidation:
    """A table's validation with its resource's name, for the site (resources still published only)."""

    validation: TableValidation
    resource_name: str | None = None


@dataclass(frozen=True)
class PackTable:
    """A validated table of an accepted dataset, with its source, publisher and licence: a pack's input."""

    dataset: Dataset
    validation: TableValidation
    """Its key, part, encoding, delimiter, header row and sha256."""
    resource_name: str | None
    url: str | None
    path: str
    """The table's UTF-8 CSV, else the fetched file, relative to the data folder."""
    changed_at: datetime | None
    """When the file's content was first fetched."""
    also_published: tuple[str, ...] = ()
    """Where else this dataset or this very file is published (`catalog/dataset` refs): packed once, from here."""

    @property
    def licence(self) -> str | None:
        return self.dataset.license_id or self.dataset.license_title


@dataclass(frozen=True)
class CatalogHealth:
    """A configured catalog's last harvest and the state of its links and tables (the site's index)."""

    id: str
    title: str | None
    api_url: str | None
    kind: str | None
    last_success_at: datetime | None
    last_status: str | None
    """The status of the newest harvest run; None: never harvested."""
    last_error: str | None
    last_run_at: datetime | None
    datasets: int
    checked: int
    """Link checks of resources still published."""
    broken: int
    tables: int
    """Validated tables of resources still published."""
    valid: int

    @property
    def reachable(self) -> bool:
        return self.last_status not in (None, "failed")

    @property
    def last_success_day(self) -> str | None:
        return self.last_success_at.date().isoformat() if self.last_success_at else None

    @property
    def share_broken(self) -> float | None:
        return self.broken / self.checked if self.checked else None

    @property
    def share_valid(self) -> float | None:
        return self.valid / self.tables if self.tables else None


@dataclass(frozen=True)
class DatasetCopy:
    """A current dataset that is a copy of another (`Store.dataset_copies`): counted, listed and packed once,
    as the one kept (`of_*`). reason: `same_portal` (one portal harvested as two catalogs, the same remote
    id), `same_files` (exactly the same files, republished), or `similar_metadata` (a hint only: the same
    title and publisher elsewhere; never left out)."""

    catalog_id: str
    dataset_id: str
    name: str | None
    of_catalog_id: str
    of_dataset_id: str
    of_name: str | None
    reason: str

    @property
    def ref(self) -> str:
        return f"{self.catalog_id}/{self.name or self.dataset_id}"

    @property
    def of_ref(self) -> str:
        return f"{self.of_catalog_id}/{self.of_name or self.of_dataset_id}"


def published_elsewhere(copies: Iterable[DatasetCopy]) -> dict[tuple[str, str], list[DatasetCopy]]:
    """For each kept dataset (catalog id, remote id), its copies: where else it is published."""
    found: dict[tuple[str, str], list[DatasetCopy]] = {}
    for copy in copies:
        found.setdefault((copy.of_catalog_id, copy.of_dataset_id), []).append(copy)
    return found


@dataclass(frozen=True)
class SearchMatch:
    """A current dataset matching a search: how many of the terms it matched, and its score."""

    dataset: Dataset
    matched_terms: int
    score: int


@dataclass(frozen=True)
class DatasetChanges:
    """Datasets a nightly run saw appear, change and go, as `catalog/name` refs (sorted)."""

    new: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


# Scores (scores.py) and candidates (candidates.py) ---------------------------------------------------

def _plain(value: Any) -> Any:
    """A record's `asdict()` with tuples as lists: the JSON shapes documented for `--json`."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class AsDict:
    """A record whose JSON is its fields, nested records as objects and tuples as lists, in field order."""

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True)
class Indicator:
    """One MQA indicator: its points of `max`."""

    dimension: str
    indicator: str
    max: int
    points: float


@dataclass(frozen=True)
class Mqa:
    """data.europa.eu's Metadata Quality Assessment mapped to CKAN fields (405 points)."""

    total: float
    max: int
    band: str
    dimensions: dict[str, float]
    indicators: tuple[Indicator, ...]
    notes: str


@dataclass(frozen=True)
class ResourceScore:
    id: str
    name: str | None
    format: str | None
    sniffed_format: str | None
    link_status: str | None
    link_reason: str | None
    stars: int
    valid: bool | None
    errors: int | None
    url: str | None = None
    """Where the file is published (the site links it when it is http(s))."""


@dataclass(frozen=True)
class LinkHealth:
    checked: int
    ok: int
    share_ok: float | None


@dataclass(frozen=True)
class ValidationScore:
    validated: int
    valid: int


@dataclass(frozen=True)
class Freshness:
    declared_frequency: Any
    """As the portal declares it (extras or a resource's update_frequency), usually text."""
    last_change: str | None
    """ISO time of the dataset's last modification."""
    age_days: int | None
    verdict: str
    """fresh, stale or unknown."""
    overdue_days: int | None


@dataclass(frozen=True)
class Usefulness:
    by_sex_or_gender: tuple[str, ...]
    geographic_levels: tuple[str, ...]
    time_coverage: tuple[str, str] | None


@dataclass(frozen=True)
class Scores(AsDict):
    """One dataset's scores; `as_dict()` is the JSON of `harvester show --json`."""

    catalog: str
    dataset: str | None
    title: str | None
    organization: str | None
    license_id: str | None
    deleted_at: str | None
    """ISO time the dataset disappeared upstream; None: still published."""
    mqa: Mqa
    resources: tuple[ResourceScore, ...]
    link_health: LinkHealth
    validation: ValidationScore
    freshness: Freshness
    usefulness: Usefulness

    @property
    def best_stars(self) -> int:
        return max((r.stars for r in self.resources), default=0)


@dataclass(frozen=True)
class CandidateScores(AsDict):
    """The scores a theme's gates and the candidate lists show."""

    mqa: float
    mqa_band: str
    stars: int
    validated_tables: int
    valid_tables: int
    errors: int
    age_days: int | None
    freshness: str
    link_health: float | None
    usefulness: Usefulness

    @classmethod
    def of(cls, scores: Scores) -> "CandidateScores":
        return cls(mqa=scores.mqa.total, mqa_band=scores.mqa.band, stars=scores.best_stars,
                   validated_tables=scores.validation.validated, valid_tables=scores.validation.valid,
                   errors=sum(r.errors or 0 for r in scores.resources), age_days=scores.freshness.age_days,
                   freshness=scores.freshness.verdict, link_health=scores.link_health.share_ok,
                   usefulness=scores.usefulness)


# The nightly run (nightly.py; the site shows its changes and failures) -------------------------------

@dataclass(frozen=True)
class StageFailure:
    """What failed in a nightly run: a stage, or one catalog of the harvest."""

    stage: str
    what: str
    reason: str
    trace: str | None = None
    """The last frames of an unexpected exception."""

    def as_dict(self) -> dict[str, str]:
        data = {"stage": self.stage, "what": self.what, "reason": self.reason}
        if self.trace is not None:
            data["trace"] = self.trace
        return data


@dataclass(frozen=True)
class NightlyChanges(AsDict):
    """What a nightly run found changed upstream, as `catalog/name` refs and `ref resource: status` lines."""

    new_datasets: tuple[str, ...] = ()
    updated_datasets: tuple[str, ...] = ()
    removed_datasets: tuple[str, ...] = ()
    newly_broken_links: tuple[str, ...] = ()
    repaired_links: tuple[str, ...] = ()
    packs_rebuilt: tuple[str, ...] = ()


@dataclass
class NightlyWork:
    """How much work a nightly run did; a count is None when its stage did not run (left out of the JSON)."""

    downloaded: int | None = None
    not_modified: int | None = None
    broken_not_rechecked: int | None = None
    unchanged_not_rechecked: int | None = None
    """Files fine and unchanged when last checked, not due for a re-check yet."""
    left_for_next_run: int | None = None
    """Resources and files the run's `--max-duration` left for the next run (fetch, validate, profile)."""
    validated_tables: int | None = None
    profiled_files: int | None = None
    site_published: bool | None = None
    failed_catalogs: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in asdict(self).items() if v is not None}


@dataclass
class NightlySummary:
    """One nightly run, filled in as it goes; `as_dict()` is the JSON of `runs/<start>.json` and `--json`."""

    started_at: str
    finished_at: str = ""
    status: str = "running"
    """ok, partial (some catalogs or stages failed) or failed (nothing could be harvested)."""
    exit_code: ExitCode = ExitCode.OK
    seconds: dict[str, float] = field(default_factory=dict)
    catalogs: list[Any] = field(default_factory=list)
    """Each harvested catalog's `CatalogResult`."""
    changes: NightlyChanges | None = None
    """None until the later stages ran (no catalog could be harvested: nothing to compare)."""
    failures: list[StageFailure] = field(default_factory=list)
    work: NightlyWork = field(default_factory=NightlyWork)
    summary_path: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"started_at": self.started_at, "finished_at": self.finished_at, "status": self.status,
                "exit_code": self.exit_code, "seconds": dict(self.seconds),
                "catalogs": [c.as_dict() for c in self.catalogs],
                "changes": self.changes.as_dict() if self.changes is not None else {},
                "failures": [f.as_dict() for f in self.failures], "work": self.work.as_dict(),
                "summary_path": self.summary_path}


# Packs (pack.py, expectations.py) -------------------------------------------------------------------

@dataclass(frozen=True)
class ExpectationCheck:
    """One Great Expectations check on a pack's table, with a few of the values that failed it."""

    check: str
    expectation: str
    success: bool
    unexpected_count: int | None = None
    element_count: int | None = None
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableExpectations(AsDict):
    """A theme's expectations on one table of a pack; `as_dict()` is its entry in `expectations.json`."""

    table: str
    success: bool
    checks: tuple[ExpectationCheck, ...] = ()
    skipped: tuple[str, ...] = ()
    """Checks that could not apply (a range on a column that is not numeric)."""
