"""The sandbox's sites (one per real portal), the bundled snapshot of their datasets in `data/`, and the
live state of a site while the portal serves it (its datasets, indexes and faults).

The snapshot is written by `python -m harvester.sandbox.build_snapshot` and committed; this module only
reads it. Resource URLs in it start with `{sandbox}`, which the server replaces by its base URL.
"""
from __future__ import annotations

import bisect
import copy
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from harvester.sandbox import solr

DATA = Path(__file__).parent / "data"
NAMESPACE = uuid.UUID("7b0c6a52-9a53-4a8e-9d43-1a2f3c4d5e6f")
SANDBOX = "{sandbox}"
CKAN_EXTENSIONS = ("stats", "text_view", "image_view", "datastore", "datapusher", "harvest", "ckan_harvester",
                   "dcat", "scheming_datasets")


@dataclass(frozen=True)
class Site:
    """One portal: its software flavour and quirks, and the datasets it starts with."""

    name: str
    title: str
    flavour: str  # "ckan", or "dkan": only package_list and package_show, package_show answers a list
    ckan_version: str
    waf: bool = False  # refuses generic User-Agents (python-requests, curl, none) with an HTML 403
    drupal_q: bool = False  # non-clean Drupal URLs: the action path travels in the `q` query parameter
    description: str = ""
    extensions: tuple[str, ...] = CKAN_EXTENSIONS
    datasets: list[dict[str, Any]] = field(default_factory=list)


# The portals of shared/REAL_WORLD.md; the datasets come from data/<name>.json.
SITES: tuple[Site, ...] = (
    Site("cdmx", "Portal de Datos Abiertos de la Ciudad de México", "ckan", "2.10.4",
         description="Datos abiertos de la Agencia Digital de Innovación Pública."),
    Site("federal", "datos.gob.mx", "ckan", "2.11.2", waf=True,
         description="Plataforma de datos abiertos del Gobierno de México."),
    Site("infocdmx", "Datos Abiertos INFO CDMX", "ckan", "2.9.9",
         description="Datos del Instituto de Transparencia de la Ciudad de México."),
    Site("veracruz", "Datos Abiertos del Municipio de Veracruz", "ckan", "2.9.5",
         description="Portal municipal de datos abiertos de Veracruz."),
    Site("zapopan", "Datos Abiertos Zapopan", "dkan", "2.3.0", extensions=()),
    Site("puebla", "Datos Abiertos Puebla Capital", "dkan", "2.3.0", extensions=()),
    Site("mardelplata", "Datos Abiertos Municipalidad de General Pueyrredon", "dkan", "2.3.0", drupal_q=True,
         extensions=()),
)
SYNTHETIC = Site("synthetic", "Catálogo sintético", "ckan", "2.10.4",
                 description="A generated catalog for scale tests and benchmarks.")


def stamp(value: datetime) -> str:
    """CKAN's timestamp format: naive ISO (UTC) with microseconds."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def make_id(site: str, name: str) -> str:
    """A stable uuid for a named thing of a site."""
    return str(uuid.uuid5(NAMESPACE, f"{site}/{name}"))


def in_ckan_order(dataset: dict[str, Any]) -> dict[str, Any]:
    """A dataset's lists in the order CKAN 2.11's package_show gives them (compared with a real CKAN in
    tests/test_contract.py): tags by name, groups by display name, extras by key (code point order)."""
    def key(field: str) -> Any:
        return lambda item: str(item.get(field) or "") if isinstance(item, dict) else ""

    for name, field_name in (("tags", "name"), ("extras", "key")):
        if isinstance(dataset.get(name), list):
            dataset[name] = sorted(dataset[name], key=key(field_name))
    if isinstance(dataset.get("groups"), list):
        dataset["groups"] = sorted(dataset["groups"], key=lambda g: str(g.get("display_name") or g.get("title") or
                                                                        g.get("name") or "")
                                   if isinstance(g, dict) else "")
    return dataset


def load_snapshot(site: str, data: Path = DATA) -> list[dict[str, Any]]:
    """The bundled datasets of one site (an empty list when the site has no snapshot file)."""
    path = data / f"{site}.json"
    if not path.is_file():
        return []
    datasets = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(datasets, list):
        raise ValueError(f"{path}: expected a JSON list of datasets")
    return datasets


def build_sites(data: Path = DATA) -> dict[str, Site]:
    """Every bundled site with its snapshot loaded, by name."""
    return {site.name: Site(**{**site.__dict__, "datasets": load_snapshot(site.name, data)}) for site in SITES}


@dataclass
class Faults:
    """Per-site misbehaviour; every switch is off by default and applies to API requests only.

    Changes apply to the next request.
    """

    rows_max: int = 1000  # package_search silently caps rows here (ckan.search.rows_max)
    fail_status: int | None = None  # the next fail_count API requests get this status (HTML page; 429 + Retry-After)
    fail_count: int = 0
    retry_after: int = 1  # seconds, in the Retry-After header of a 429
    drop_count: int = 0  # the next N API requests: the connection is closed without any response
    delay: float = 0.0  # seconds to sleep before answering every API request
    hang: bool = False  # API requests never answer, until hang is cleared or the portal stops
    html_200: bool = False  # every API request gets a WAF-style "Access denied" HTML page with status 200
    search_missing: int | None = None  # package_search answers this status (404: HTML page, else a JSON error)
    mutate_after_pages: int | None = None  # after the Nth package_search that returned results, touch ...
    mutate_count: int = 1  # ... this many datasets that sort first by metadata_modified asc (fires once)
    actions: set[str] | None = None  # when set, faults apply only to these actions
    # Hostile answers (a portal that attacks its client):
    trickle: float = 0.0  # the answer goes out one byte every `trickle` seconds
    raw_body: str | None = None  # this text is the whole answer (deep nesting, a lone surrogate escape, ...)
    gzip_bomb_bytes: int = 0  # the answer is gzip-encoded whitespace this long once decoded
    endless: bool = False  # a 200 answer without a length that does not end (cut at 4 GB, or when the client leaves)
    redirect_to: str | None = None  # a 302 to this URL
    count: Any = None  # package_search reports this count whatever it finds (10**15, "lots")
    ignore_start: bool = False  # package_search answers from the first row whatever `start` asks for
    same_page: bool = False  # package_search answers the same first page whatever `start` and `fq` ask for


class SiteState:
    """The current datasets of one site, the indexes package_search needs and the site's faults.

    Datasets are copy-on-write over the snapshot: reset() is cheap even for 50,000 datasets, and the JSON
    bytes of unchanged datasets (with the `{sandbox}` placeholder in URLs) survive a reset.
    """

    def __init__(self, site: Site) -> None:
        self.site = site
        self.lock = threading.RLock()
        self.pristine: dict[str, dict[str, Any]] = {d["id"]: d for d in site.datasets}
        self._pristine_json: dict[str, bytes] = {}
        self._pristine_text: dict[str, tuple[str, str]] = {}
        self._pristine_order: list[tuple[str, str]] | None = None
        self.restore()

    def restore(self) -> None:
        """Back to the snapshot, faults off."""
        with self.lock:
            self.faults = Faults()
            self.search_pages = 0
            self.datasets: dict[str, dict[str, Any]] = dict(self.pristine)
            self.by_name = {d["name"]: i for i, d in self.datasets.items()}
            self._json = dict(self._pristine_json)
            self._text = dict(self._pristine_text)
            self._order: list[tuple[str, str]] | None = None
            if self._pristine_order is not None:
                self._order = list(self._pristine_order)

    def find(self, key: str) -> dict[str, Any] | None:
        dataset_id = key if key in self.datasets else self.by_name.get(key)
        return self.datasets.get(dataset_id) if dataset_id else None

    def order(self) -> list[tuple[str, str]]:
        """(metadata_modified at ms, id), sorted: the stable order clients page in."""
        if self._order is None:
            self._order = sorted((solr.millis(d.get("metadata_modified")), i) for i, d in self.datasets.items())
            if self._pristine_order is None and len(self.datasets) == len(self.pristine) and all(
                    self.pristine.get(i) is d for i, d in self.datasets.items()):
                self._pristine_order = list(self._order)
        return self._order

    def json_of(self, dataset_id: str) -> bytes:
        """The dataset as package_show serves it, URLs still holding `{sandbox}`."""
        cached = self._json.get(dataset_id)
        if cached is None:
            dataset = self.datasets[dataset_id]
            cached = json.dumps(dataset, ensure_ascii=False).encode("utf-8")
            self._json[dataset_id] = cached
            if self.pristine.get(dataset_id) is dataset:
                self._pristine_json[dataset_id] = cached
        return cached

    def text_of(self, dataset_id: str) -> tuple[str, str]:
        cached = self._text.get(dataset_id)
        if cached is None:
            dataset = self.datasets[dataset_id]
            cached = solr.search_text(dataset)
            self._text[dataset_id] = cached
            if self.pristine.get(dataset_id) is dataset:
                self._pristine_text[dataset_id] = cached
        return cached

    def warm(self, stop: threading.Event, batch: int = 500) -> None:
        """Precompute the paging order and the JSON bytes of every snapshot dataset (in a background thread)."""
        with self.lock:
            self.order()
        ids = [i for i in self.pristine if i not in self._pristine_json]
        for start in range(0, len(ids), batch):
            if stop.is_set():
                return
            chunk = [(i, self.pristine[i]) for i in ids[start:start + batch]]
            encoded = [(i, d, json.dumps(d, ensure_ascii=False).encode("utf-8")) for i, d in chunk]
            with self.lock:
                for dataset_id, dataset, data in encoded:
                    self._pristine_json.setdefault(dataset_id, data)
                    if self.datasets.get(dataset_id) is dataset:
                        self._json.setdefault(dataset_id, data)

    # Changes ---------------------------------------------------------------------------------

    def _forget(self, dataset_id: str, old: dict[str, Any] | None) -> None:
        self._json.pop(dataset_id, None)
        self._text.pop(dataset_id, None)
        if self._order is not None and old is not None:
            key = (solr.millis(old.get("metadata_modified")), dataset_id)
            at = bisect.bisect_left(self._order, key)
            if at < len(self._order) and self._order[at] == key:
                del self._order[at]

    def _remember(self, dataset: dict[str, Any]) -> None:
        self.datasets[dataset["id"]] = dataset
        self.by_name[dataset["name"]] = dataset["id"]
        if self._order is not None:
            bisect.insort(self._order, (solr.millis(dataset.get("metadata_modified")), dataset["id"]))

    def update(self, dataset_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply changes to a private copy of the dataset; returns the new dataset."""
        with self.lock:
            old = self.datasets[dataset_id]
            self._forget(dataset_id, old)
            if self.by_name.get(old["name"]) == dataset_id:
                del self.by_name[old["name"]]
            new = copy.deepcopy(old) if self.pristine.get(dataset_id) is old else old
            new.update(changes)
            self._remember(new)
            return new

    def remove(self, dataset_id: str) -> None:
        with self.lock:
            old = self.datasets.pop(dataset_id)
            self._forget(dataset_id, old)
            if self.by_name.get(old["name"]) == dataset_id:
                del self.by_name[old["name"]]

    def insert(self, dataset: dict[str, Any]) -> None:
        with self.lock:
            if dataset["id"] in self.datasets or dataset["name"] in self.by_name:
                raise ValueError(f"{self.site.name}: a dataset with id {dataset['id']} or name "
                                 f"{dataset['name']} exists")
            self._remember(dataset)
