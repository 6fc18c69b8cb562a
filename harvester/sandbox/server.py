"""The sandbox CKAN portal: several sites under path prefixes on one 127.0.0.1 server, with fault switches.

The HTTP side (routing, faults, the CKAN envelope) is the `_Handler`; the data side (datasets, indexes,
the CKAN actions) is `SiteState` and `SandboxPortal`.
"""
from __future__ import annotations

import copy
import email.utils
import gzip
import hashlib
import json
import mimetypes
import re
import socket
import sys
import threading
import time
import uuid
import struct
import zlib
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal, DecimalException
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from rdflib import RDF, BNode, Graph, Namespace, URIRef
from rdflib import Literal as RDFLiteral
from rdflib.namespace import DCTERMS as DCT, FOAF, OWL, RDFS, XSD

from harvester.clock import utcnow
from harvester.sandbox import solr
from harvester.sandbox.files import resource_files, zip_bytes
from harvester.sandbox.sites import SANDBOX, SYNTHETIC, Faults, Site, SiteState, build_sites, in_ckan_order, stamp
from harvester.sandbox.synthetic import generate

FILES = Path(__file__).parent / "files"
JSON_TYPE = "application/json;charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
HTML_PAGE = ("<!DOCTYPE html>\n<html><head><title>{title}</title></head><body><h1>{title}</h1>"
             "<p>{text}</p></body></html>\n")
FAST_SORT = [("metadata_modified", False), ("id", False)]


@dataclass(frozen=True)
class RequestRecord:
    """One request to a site, as the sandbox saw it (status 0: dropped or never answered)."""

    method: str
    path: str
    action: str
    params: dict[str, Any]
    user_agent: str
    status: int
    time: float = field(default=0.0, compare=False)


def now_stamp() -> str:
    """Now as CKAN writes it: naive UTC ISO with microseconds."""
    return stamp(utcnow())


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", solr.fold(text)).strip("-")[:100]


class SandboxPortal:
    """A CKAN-compatible portal on 127.0.0.1 for tests, the demo and benchmarks.

    `synthetic` is the number of generated datasets of the `synthetic` site (deterministic from `seed`).
    """

    def __init__(self, synthetic: int = 0, seed: int = 1, port: int = 0) -> None:
        self._port = port
        self._sites = build_sites()
        self._sites["synthetic"] = Site(**{**SYNTHETIC.__dict__, "datasets": generate(synthetic, seed)})
        self._state = {name: SiteState(site) for name, site in self._sites.items()}
        self._log: list[RequestRecord] = []
        self._file_log: list[RequestRecord] = []
        self.dcat_per_page: dict[str, int] = {}
        """ckanext.dcat.datasets_per_page per site (DCAT_PER_PAGE unless set); reset() forgets it."""
        self._log_lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    # Lifecycle -------------------------------------------------------------------------------

    def start(self) -> SandboxPortal:
        """Bind 127.0.0.1 (port 0: a free one) and serve in a daemon thread."""
        if self._server is not None:
            return self
        self.stopping.clear()
        handler = type("BoundHandler", (Handler,), {"portal": self})
        server = _Server(("127.0.0.1", self._port), handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._base = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sandbox-portal", daemon=True)
        self._thread.start()
        threading.Thread(target=self._warm, name="sandbox-warm", daemon=True).start()
        return self

    def _warm(self) -> None:
        hostile_files()  # 64 MB of zeros packed twice: not on the first request's clock
        for state in list(self._state.values()):
            state.warm(self.stopping)

    def stop(self) -> None:
        """Stop serving; returns promptly, even while handlers hang or clients keep connections open."""
        self.stopping.set()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._connections_lock:
            open_now = list(self._connections)
            self._connections.clear()
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(2)

    def __enter__(self) -> SandboxPortal:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def opened(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(conn)

    def closed(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(conn)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (once started)."""
        if not hasattr(self, "_base"):
            raise RuntimeError("start() the portal first")
        return self._base

    @property
    def sites(self) -> list[str]:
        return list(self._sites)

    def api_url(self, site: str) -> str:
        """The Action API base of a site, ending in `/` (mardelplata: the Drupal `?q=` form)."""
        if self._sites[site].drupal_q:
            return f"{self.base_url}/{site}/?q=api/3/action/"
        return f"{self.base_url}/{site}/api/3/action/"

    # Control ---------------------------------------------------------------------------------

    def state(self, site: str) -> SiteState | None:
        return self._state.get(site)

    def faults(self, site: str) -> Faults:
        return self._state[site].faults

    def reset(self) -> None:
        """Faults off, request log empty, every site back to its snapshot."""
        for state in self._state.values():
            state.restore()
        self.dcat_per_page.clear()
        self.clear_requests()

    def requests(self, site: str | None = None) -> list[RequestRecord]:
        with self._log_lock:
            return [r for r in self._log if site is None or r.path.split("/", 2)[1:2] == [site]]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()
            self._file_log.clear()

    def file_requests(self) -> list[RequestRecord]:
        """Requests for /files/ (kept apart from the API requests that `requests` lists)."""
        with self._log_lock:
            return list(self._file_log)

    def record_file(self, entry: RequestRecord) -> None:
        with self._log_lock:
            self._file_log.append(entry)

    def record(self, entry: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(entry)

    def served(self, data: bytes) -> bytes:
        """JSON bytes with the `{sandbox}` placeholder replaced by this server's base URL."""
        return data.replace(SANDBOX.encode(), self.base_url.encode())

    def datasets(self, site: str) -> list[dict[str, Any]]:
        """The current datasets as package_show serves them, in (metadata_modified, id) order."""
        state = self._state[site]
        with state.lock:
            chunks = [state.json_of(i) for _, i in state.order()]
        return json.loads(self.served(b"[" + b",".join(chunks) + b"]"))

    def _find_id(self, state: SiteState, id_or_name: str) -> str:
        dataset = state.find(id_or_name)
        if dataset is None:
            raise KeyError(f"{state.site.name}: no dataset {id_or_name}")
        return str(dataset["id"])

    def touch(self, site: str, id_or_name: str, **changes: Any) -> dict[str, Any]:
        """Apply changes and set metadata_modified to now (unless given); returns the dataset as served."""
        state = self._state[site]
        with state.lock:
            dataset = state.update(self._find_id(state, id_or_name), {"metadata_modified": now_stamp(), **changes})
            return json.loads(self.served(state.json_of(dataset["id"])))

    def delete(self, site: str, id_or_name: str) -> None:
        """The dataset vanishes: from search, package_list; package_show answers Not Found."""
        state = self._state[site]
        with state.lock:
            state.remove(self._find_id(state, id_or_name))

    def add(self, site: str, dataset: dict[str, Any]) -> dict[str, Any]:
        """Add a dataset, filling id, name, timestamps and the usual CKAN fields when missing."""
        new = copy.deepcopy(dataset)
        now = now_stamp()
        new.setdefault("id", str(uuid.uuid4()))
        new.setdefault("name", slug(str(new.get("title") or "")) or new["id"])
        new.setdefault("title", new["name"])
        for key, value in (("type", "dataset"), ("state", "active"), ("private", False), ("notes", ""),
                           ("metadata_created", now), ("metadata_modified", now), ("organization", None),
                           ("owner_org", None), ("license_id", ""), ("resources", []), ("tags", []),
                           ("groups", []), ("extras", [])):
            new.setdefault(key, value)
        new.setdefault("num_resources", len(new["resources"]))
        new.setdefault("num_tags", len(new["tags"]))
        # What CKAN's package_create fills in (compared side by side with a real CKAN 2.11 in test_contract)
        if new["license_id"] in LICENSES:
            new.setdefault("license_title", LICENSES[new["license_id"]][0])
            new.setdefault("isopen", LICENSES[new["license_id"]][1])
        for tag in new["tags"]:
            if isinstance(tag, dict) and tag.get("name"):
                tag.setdefault("display_name", tag["name"])
                tag.setdefault("id", str(uuid.uuid5(uuid.NAMESPACE_URL, f"tag:{tag['name']}")))
                tag.setdefault("state", "active")
                tag.setdefault("vocabulary_id", None)
        for position, resource in enumerate(new["resources"]):
            if isinstance(resource, dict):
                for key, value in (("id", str(uuid.uuid4())), ("package_id", new["id"]), ("position", position),
                                   ("state", "active"), ("created", new["metadata_created"]),
                                   ("metadata_modified", new["metadata_modified"]), ("hash", ""),
                                   ("description", None), ("mimetype", None), ("size", None), ("url_type", None),
                                   ("last_modified", None)):
                    resource.setdefault(key, value)
        in_ckan_order(new)
        self._state[site].insert(new)
        return copy.deepcopy(new)

    # Actions ---------------------------------------------------------------------------------

    def package_search(self, state: SiteState, params: dict[str, Any]) -> bytes:
        """The package_search result object, as JSON bytes (URLs with the placeholder)."""
        rows = min(to_int(params.get("rows", 10), "rows"), state.faults.rows_max)
        start = 0 if state.faults.same_page or state.faults.ignore_start else to_int(params.get("start", 0), "start")
        filters = [] if state.faults.same_page else solr.parse_filters(str(params.get("fq") or ""))
        fq_list = [] if state.faults.same_page else params.get("fq_list") or []
        for extra in fq_list if isinstance(fq_list, list) else [fq_list]:
            filters += solr.parse_filters(str(extra))
        filters.append(solr.PUBLIC_ONLY)  # an anonymous client never sees private datasets
        q_clauses, terms = solr.parse_query(str(params.get("q") or ""))
        sort_text = str(params.get("sort") or solr.DEFAULT_SORT)
        sort = solr.parse_sort(sort_text)
        fl = [f for f in re.split(r"[\s,]+", str(params.get("fl") or "")) if f]
        with state.lock:
            if not terms and sort == FAST_SORT:
                count, page = solr.window(state.order(), state.datasets, filters + q_clauses, start, rows)
            else:
                hits = solr.rank(state.datasets, filters + q_clauses, terms, sort, state.text_of)
                count, page = len(hits), hits[start:start + rows] if rows > 0 else []
            if fl:
                body = b", ".join(json.dumps({k: state.datasets[i].get(k) for k in fl},
                                             ensure_ascii=False).encode("utf-8") for i in page)
            else:
                json_of = state.json_of
                body = b", ".join([json_of(i) for i in page])
            if page:
                self._maybe_mutate(state)
        if state.faults.count is not None:
            count = state.faults.count
        head = json.dumps({"count": count, "sort": sort_text, "facets": {}, "search_facets": {}},
                          ensure_ascii=False)[:-1]
        return (head + ', "results": [').encode("utf-8") + body + b"]}"

    @staticmethod
    def _maybe_mutate(state: SiteState) -> None:
        """The mutate_after_pages fault: datasets a pager already read move to the end of the order."""
        faults = state.faults
        if faults.mutate_after_pages is None:
            return
        state.search_pages += 1
        if state.search_pages < faults.mutate_after_pages:
            return
        faults.mutate_after_pages = None
        for _, first in state.order()[: faults.mutate_count]:
            state.update(first, {"metadata_modified": now_stamp()})

    def package_list(self, state: SiteState, params: dict[str, Any]) -> list[str]:
        """Every active public dataset's name, harvest sources included, as CKAN 2.11 lists them."""
        with state.lock:
            names = sorted(d["name"] for d in state.datasets.values()
                           if d.get("state", "active") == "active" and not d.get("private"))
        offset = to_int(params.get("offset", 0), "offset")
        limit = params.get("limit")
        return names[offset:offset + to_int(limit, "limit")] if limit not in (None, "") else names[offset:]

    def group_list(self, state: SiteState, params: dict[str, Any], organizations: bool) -> list[Any]:
        found: dict[str, dict[str, Any]] = {}
        with state.lock:
            for d in state.datasets.values():
                items = [d.get("organization")] if organizations else d.get("groups") or []
                counted = (d.get("type") or "dataset") == "dataset" and not d.get("private")  # CKAN's search facets
                for item in items:
                    if isinstance(item, dict) and item.get("name"):
                        entry = found.setdefault(item["name"], {
                            **{k: item.get(k) for k in ("id", "name", "title", "description")},
                            "display_name": item.get("title") or item["name"], "image_url": item.get("image_url", ""),
                            "type": "organization" if organizations else "group",
                            "is_organization": organizations, "state": "active", "package_count": 0})
                        entry["package_count"] += counted
        all_fields = str(params.get("all_fields", "")).lower() in ("true", "1", "yes")
        # CKAN sorts by ckan.default_group_sort, `title` (in SQL); the name breaks ties
        ordered = sorted(found, key=lambda n: (str(found[n].get("title") or ""), n))
        return [found[n] for n in ordered] if all_fields else ordered


class ValidationFailure(ValueError):
    """Becomes CKAN's "Validation Error" (HTTP 409)."""


def to_int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailure(f"{name}: Invalid integer") from None
    if number < 0:
        raise ValidationFailure(f"{name}: Must be a natural number")
    return number


# HTTP ----------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def hostile_files() -> dict[str, bytes]:
    """Archives a fetcher must refuse: bombs (small packed, huge unpacked) and members leaving their folder."""
    zeros = b"0" * 64_000_000
    return {"zip-bomb.zip": zip_bytes({"ceros.csv": zeros}),
            "zip-slip.zip": zip_bytes({"../../evil.csv": b"a,b\n1,2\n"}),
            "zip-absolute.zip": zip_bytes({"/etc/cron.d/evil": b"* * * * * root true\n"}),
            "gzip-bomb.csv.gz": gzip.compress(zeros, mtime=0)}


def zip_of_one(names: list[str], data: bytes) -> bytes:
    """A ZIP whose members (names may repeat) all hold `data`, compressed once: a 1 GB archive in 50 ms."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(data) + packer.flush()
    crc = zlib.crc32(data)
    local, central = bytearray(), bytearray()
    for name in names:
        encoded = name.encode("utf-8")
        fixed = struct.pack("<HHHHHIIIH", 20, 0x800, 8, 0, 0x21, crc, len(packed), len(data), len(encoded))
        central += b"PK\x01\x02" + struct.pack("<H", 20) + fixed + struct.pack("<HHHHII", 0, 0, 0, 0, 0, len(local))
        central += encoded
        local += b"PK\x03\x04" + fixed + struct.pack("<H", 0) + encoded + packed
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(names), len(names), len(central), len(local), 0)
    return bytes(local + central + end)


def workbook(shared: list[str], sheet_cells: str) -> bytes:
    """A minimal XLSX (one sheet) from its shared strings and the XML of its rows."""
    si = "".join(f"<si><t>{text}</t></si>" for text in shared)
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    types = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return zip_bytes({
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{types}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{types}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{types}.sharedStrings+xml"/></Types>').encode(),
        "_rels/.rels": (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}"><Relationship '
                        f'Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>').encode(),
        "xl/workbook.xml": (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
                            '<sheets><sheet name="Datos" sheetId="1" r:id="rId1"/></sheets></workbook>').encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>').encode(),
        "xl/sharedStrings.xml": (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="{len(shared)}" '
                                 f'uniqueCount="{len(shared)}">{si}</sst>').encode(),
        "xl/worksheets/sheet1.xml": (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>'
                                     f'{sheet_cells}</sheetData></worksheet>').encode()})


@lru_cache(maxsize=1)
def amplifiers() -> dict[str, bytes]:
    """Files that pass as small archives but amplify on disk (built on first request, not at start)."""
    header_row = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="s"><v>1</v></c></row>' for i in range(2, 1002))
    return {
        # 100 members of 10 MiB each: no member is large, together 1 GB from 1 MB
        "many-members.zip": zip_of_one([f"parte-{i:03d}.csv" for i in range(100)], b"0" * (10 << 20)),
        # 300 entries naming one member: 300 tables of the same name
        "same-member.zip": zip_of_one(["datos.csv"] * 300, b"a,b\n1,2\n"),
        # more members than any table needs
        "many-entries.zip": zip_of_one([f"m{i:05d}.csv" for i in range(5000)], b"a,b\n1,2\n"),
        # one 1 MiB shared string named by 1,000 cells: a few KB that a reader turns into 1 GB
        "shared-string.xlsx": workbook(["valor", "A" * (1 << 20)], header_row + rows),
        # the same workbook, its string short: an ordinary file that must pass
        "ordinary.xlsx": workbook(["valor", "Cuauhtémoc"], header_row + rows),
        # an ordinary 3.2 MB CSV (fills a small disk)
        "big.csv": b"a,b\n" + b"1,2\n" * 800_000,
    }


@dataclass
class Answer:
    """A complete HTTP answer, built before anything is written (so the request log is never late)."""

    status: int
    body: bytes = b""
    ctype: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0
    """Seconds between the bytes of the body (a hostile portal's slowloris answer)."""
    stream: Callable[[], Iterator[bytes]] | None = None
    """A body of unknown length, written as it is produced, then the connection closes."""


def data_json(state: SiteState, base_url: str) -> bytes:
    """The site's catalog as DKAN publishes it at /data.json (Project Open Data 1.1, DCAT-US): public,
    active datasets, each with its distributions; URLs keep the `{sandbox}` placeholder."""
    entries = []
    with state.lock:
        datasets = [d for d in state.datasets.values() if not d.get("private") and d.get("state", "active") == "active"
                    and (d.get("type") or "dataset") == "dataset"]
    for d in sorted(datasets, key=lambda d: str(d.get("name"))):
        org = d.get("organization") or {}
        entry: dict[str, Any] = {
            "@type": "dcat:Dataset", "accessLevel": "public", "identifier": d["id"], "title": d.get("title"),
            "description": d.get("notes") or "", "issued": d.get("metadata_created"),
            "modified": d.get("metadata_modified"), "landingPage": f"{SANDBOX}/{state.site.name}/dataset/{d['name']}",
            "keyword": [t["name"] for t in d.get("tags") or [] if isinstance(t, dict) and t.get("name")],
            "theme": [g.get("title") or g.get("name") for g in d.get("groups") or [] if isinstance(g, dict)],
            "publisher": {"@type": "org:Organization", "name": org.get("title") or org.get("name")} if org else None,
            "contactPoint": {"@type": "vcard:Contact", "fn": d.get("maintainer") or "",
                             "hasEmail": f"mailto:{d['maintainer_email']}" if d.get("maintainer_email") else ""},
            "license": d.get("license_id") or "",
            "distribution": [{"@type": "dcat:Distribution", "title": r.get("name"), "description": r.get("description"),
                              "downloadURL": r.get("url"), "mediaType": r.get("mimetype"),
                              "format": (r.get("format") or "").lower() or None}
                             for r in d.get("resources") or [] if isinstance(r, dict)],
        }
        entries.append({k: v for k, v in entry.items() if v is not None})
    catalog = {"@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld", "@type": "dcat:Catalog",
               "conformsTo": "https://project-open-data.cio.gov/v1.1/schema", "dataset": entries}
    return json.dumps(catalog, ensure_ascii=False).encode("utf-8")


# ckanext-dcat (2.4.4, profile euro_dcat_ap_3) -------------------------------------------------------
# What a CKAN with the dcat plugin serves, built and serialized with rdflib as ckanext-dcat itself does, from
# the same package_search: compared byte for byte with a real CKAN 2.11 in tests/test_contract.py.

DCAT_PER_PAGE = 100  # ckanext.dcat.datasets_per_page's default
DCAT_TYPES = {"ttl": ("turtle", "text/turtle"), "jsonld": ("json-ld", "application/ld+json"),
              "rdf": ("pretty-xml", "application/rdf+xml"), "xml": ("pretty-xml", "application/rdf+xml"),
              "n3": ("n3", "text/n3")}
DCAT_NS = Namespace("http://www.w3.org/ns/dcat#")
HYDRA_NS = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD_NS = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX_NS = Namespace("http://spdx.org/rdf/terms#")
_DCAT_QUOTED = " !\"$'()*,;<>[]{|}\\^`"


def dcat_route(site: Site, rest: list[str]) -> tuple[str, str, str | None] | None:
    """(action, format, dataset id or None) when `rest` is one of ckanext-dcat's paths on a site that has it."""
    if site.flavour != "ckan" or "dcat" not in site.extensions:
        return None
    if len(rest) == 1 and rest[0].startswith("catalog.") and rest[0][len("catalog."):] in DCAT_TYPES:
        return "dcat_catalog_show", rest[0][len("catalog."):], None
    if len(rest) == 2 and rest[0] == "dataset" and "." in rest[1]:
        dataset, fmt = rest[1].rsplit(".", 1)
        if fmt in DCAT_TYPES and fmt != "xml" and dataset:
            return "dcat_dataset_show", fmt, dataset
    return None


def _cleaned_uri(value: str) -> URIRef:
    """ckanext-dcat's CleanedURIRef: stripped, a few characters percent-encoded."""
    value = value.strip()
    for c in _DCAT_QUOTED:
        value = value.replace(c, "%{:02X}".format(ord(c)))
    return URIRef(value)


def _uri_or_literal(value: str) -> Any:
    if value.strip().startswith(("http://", "https://")):
        try:
            uri = _cleaned_uri(value)
            uri.n3()
            return uri
        except Exception:  # noqa: BLE001 - as ckanext-dcat: anything odd becomes a literal
            pass
    return RDFLiteral(value)


def _dcat_date(value: Any) -> RDFLiteral:
    """ckanext-dcat's _add_date_triple for CKAN's timestamps: dateutil-parsed, isoformat, xsd:dateTime."""
    from rdflib.namespace import XSD
    text = str(value)
    if re.fullmatch(r"\d{4}", text):
        return RDFLiteral(text, datatype=XSD.gYear)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return RDFLiteral(text, datatype=XSD.gYearMonth)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return RDFLiteral(text, datatype=XSD.date)
    try:
        return RDFLiteral(datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat(), datatype=XSD.dateTime)
    except ValueError:
        return RDFLiteral(text)


def _value(dataset: dict[str, Any], key: str) -> Any:
    """A dataset's field, else its extra of that name (ckanext-dcat's _get_dataset_value)."""
    if dataset.get(key):
        return dataset[key]
    for extra in dataset.get("extras") or []:
        if isinstance(extra, dict) and extra.get("key") == key:
            return extra.get("value")
    return None


def dcat_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in (("dct", DCT), ("dcat", DCAT_NS), ("adms", Namespace("http://www.w3.org/ns/adms#")),
                              ("vcard", VCARD_NS), ("foaf", FOAF), ("schema", Namespace("http://schema.org/")),
                              ("owl", OWL), ("spdx", SPDX_NS)):
        graph.bind(prefix, namespace)
    return graph


def dcat_add_dataset(graph: Graph, site_url: str, d: dict[str, Any]) -> URIRef:
    """The triples ckanext-dcat's euro_dcat_ap_3 profile writes for a plain CKAN dataset dict."""
    dcat, vcard, spdx = DCAT_NS, VCARD_NS, SPDX_NS
    uri = _value(d, "uri")
    ref = _cleaned_uri(uri) if uri and uri != "None" else URIRef(f"{site_url}/dataset/{d['id']}")
    add = graph.add
    add((ref, RDF.type, dcat.Dataset))
    contact = {k: _value(d, k) for k in ("contact_uri", "contact_name", "contact_email", "maintainer",
                                         "maintainer_email", "author", "author_email")}
    if any(contact.values()):
        node = _cleaned_uri(contact["contact_uri"]) if contact["contact_uri"] else BNode()
        add((node, RDF.type, vcard.Organization))
        add((ref, dcat.contactPoint, node))
        name = contact["contact_name"] or contact["maintainer"] or contact["author"]
        if name:
            add((node, vcard.fn, RDFLiteral(name)))
        email = contact["contact_email"] or contact["maintainer_email"] or contact["author_email"]
        if email:
            add((node, vcard.hasEmail, _cleaned_uri("mailto:" + str(email).removeprefix("mailto:"))))
    org = d.get("organization")
    if isinstance(org, dict) and org.get("id"):
        publisher = _cleaned_uri(f"{site_url}/organization/{org['id']}")
        add((publisher, RDF.type, FOAF.Agent))
        add((ref, DCT.publisher, publisher))
        if org.get("title"):
            add((publisher, FOAF.name, RDFLiteral(org["title"])))
    for key, predicate, maker in (("title", DCT.title, RDFLiteral), ("notes", DCT.description, RDFLiteral),
                                  ("url", dcat.landingPage, _cleaned_uri), ("version", OWL.versionInfo, RDFLiteral)):
        if d.get(key):
            node = maker(d[key])
            add((ref, predicate, node))
            if key == "url":
                add((node, RDF.type, FOAF.Document))
    identifier = _value(d, "identifier") or _value(d, "guid") or d.get("id")
    if identifier:
        add((ref, DCT.identifier, _uri_or_literal(str(identifier))))
    for tag in d.get("tags") or []:
        if isinstance(tag, dict) and tag.get("name"):
            add((ref, dcat.keyword, RDFLiteral(tag["name"])))
    for key, predicate in (("metadata_created", DCT.issued), ("metadata_modified", DCT.modified)):
        if d.get(key):
            add((ref, predicate, _dcat_date(d[key])))
    for r in d.get("resources") or []:
        if not isinstance(r, dict) or not r.get("id"):
            continue
        dist = _cleaned_uri(r["uri"]) if r.get("uri") and r["uri"] != "None" else \
            URIRef(f"{site_url}/dataset/{r.get('package_id') or d['id']}/resource/{r['id']}")
        add((ref, dcat.distribution, dist))
        add((dist, RDF.type, dcat.Distribution))
        for key, predicate, maker in (("name", DCT.title, RDFLiteral), ("description", DCT.description, RDFLiteral),
                                      ("license", DCT.license, _uri_or_literal),
                                      ("access_url", dcat.accessURL, _cleaned_uri),
                                      ("download_url", dcat.downloadURL, _cleaned_uri)):
            if r.get(key):
                node = maker(r[key])
                add((dist, predicate, node))
                if key == "license":
                    add((node, DCT.type, URIRef("http://purl.org/adms/licencetype/UnknownIPR")))
                elif key in ("access_url", "download_url"):
                    add((node, RDF.type, RDFS.Resource))
        mimetype, fmt = r.get("mimetype"), r.get("format")
        if fmt and (not mimetype or mimetype == fmt):
            if "iana.org/assignments/media-types" in fmt or (not fmt.startswith("http") and "/" in fmt):
                mimetype, fmt = fmt, None
            else:
                mimetype = None
        if mimetype:
            add((dist, dcat.mediaType, _uri_or_literal(mimetype)))
        if fmt:
            add((dist, DCT["format"], _uri_or_literal(fmt)))
        url = r.get("url")
        if url and not r.get("access_url") and (not r.get("download_url") or url != r.get("download_url")):
            node = _cleaned_uri(url)
            add((dist, dcat.accessURL, node))
        for key, predicate in (("created", DCT.issued), ("metadata_modified", DCT.modified)):
            if r.get(key):
                add((dist, predicate, _dcat_date(r[key])))
        if r.get("size"):
            try:
                add((dist, dcat.byteSize, RDFLiteral(Decimal(r["size"]), datatype=XSD.decimal)))
            except (ValueError, TypeError, DecimalException):
                add((dist, dcat.byteSize, RDFLiteral(r["size"])))
        if r.get("hash"):
            checksum = BNode()
            add((checksum, RDF.type, spdx.Checksum))
            add((checksum, spdx.checksumValue, RDFLiteral(r["hash"], datatype=XSD.hexBinary)))
            add((dist, spdx.checksum, checksum))
    return ref


def _dcat_error(status: int, message: str) -> Answer:
    return html(status, {403: "Forbidden", 404: "Dataset not found", 409: "Conflict",
                         500: "Internal Server Error"}.get(status, "Error"), message)


def dcat_answer(portal: SandboxPortal, state: SiteState, fmt: str, dataset_id: str | None,
                query: dict[str, Any]) -> Answer:
    """The answer ckanext-dcat gives: a catalog page (paged like its dcat_catalog_show), or one dataset."""
    dcat, hydra = DCAT_NS, HYDRA_NS
    site = state.site
    site_url = f"{portal.base_url}/{site.name}"
    rdf_format, ctype = DCAT_TYPES[fmt]
    graph = dcat_graph()
    if dataset_id is not None:
        with state.lock:
            found = state.find(dataset_id)
            data = state.json_of(found["id"]) if found else None
        if found is None or data is None:
            return _dcat_error(404, "Dataset not found or you have no permission to view it")
        if found.get("private"):
            return _dcat_error(403, "Unauthorized to read dataset")
        dcat_add_dataset(graph, site_url, json.loads(portal.served(data)))
    else:
        per_page = portal.dcat_per_page.get(site.name, DCAT_PER_PAGE)
        wrong_page = "Page param must be a positive integer starting in 1"
        try:
            page = int(query.get("page") or 1)
        except ValueError:
            return _dcat_error(409, wrong_page)
        if page < 1:
            return _dcat_error(409, wrong_page)
        fq_list = ["-dataset_type:harvest", "-dataset_type:showcase"]
        since = query.get("modified_since")
        if since:
            try:
                # dateutil's isoformat + "Z": a date with an offset makes a date Solr refuses (a 500)
                parsed = datetime.fromisoformat(str(since))
            except ValueError:
                return _dcat_error(409, "Wrong modified date format. Use ISO-8601 format")
            if parsed.tzinfo is not None:
                return _dcat_error(500, "Solr cannot parse the date " + parsed.isoformat() + "Z")
            fq_list.append(f"metadata_modified:[{parsed.isoformat()}Z TO NOW]")
        params = {"q": query.get("q") or "*:*", "fq": query.get("fq") or "", "fq_list": fq_list,
                  "sort": "metadata_modified desc", "rows": per_page, "start": per_page * (page - 1)}
        try:
            found_page = json.loads(portal.served(portal.package_search(state, params)))
            newest = json.loads(portal.served(portal.package_search(
                state, {"q": "*:*", "sort": "metadata_modified desc", "rows": 1})))
        except (solr.QueryError, ValidationFailure) as exc:
            return _dcat_error(409, f"Search error: {exc}")
        catalog = URIRef(site_url)
        graph.add((catalog, RDF.type, dcat.Catalog))
        graph.add((catalog, DCT.title, RDFLiteral(site.title)))
        if site.description:
            graph.add((catalog, DCT.description, RDFLiteral(site.description)))
        graph.add((catalog, FOAF.homepage, URIRef(site_url)))
        graph.add((catalog, DCT.language, RDFLiteral("es")))
        if newest["results"]:
            graph.add((catalog, DCT.modified, _dcat_date(newest["results"][0]["metadata_modified"])))
        for d in found_page["results"]:
            graph.add((catalog, dcat.dataset, dcat_add_dataset(graph, site_url, d)))
        count = found_page["count"]
        if count:
            kept = [(k, v) for k, v in query.items() if k != "page" and k in ("modified_since", "profiles", "q", "fq")]

            def page_url(number: int) -> str:
                extra = "".join(f"{k}={v}&" for k, v in kept)
                return f"{site_url}/catalog.{fmt}?{extra}page={number}"
            last = -(-count // per_page) or 1
            graph.bind("hydra", hydra)
            paging = URIRef(page_url(page))
            graph.add((paging, RDF.type, hydra.PagedCollection))
            links = {"first": 1, "last": last}
            if page > 1:
                links["previous"] = page - 1 if (page - 1) * per_page + len(found_page["results"]) <= count else last
            if page * per_page < count:
                links["next"] = page + 1
            for key, number in links.items():
                for predicate in (hydra[key + "Page"], hydra[key]):
                    graph.add((paging, predicate, RDFLiteral(page_url(number))))
            graph.add((paging, hydra.totalItems, RDFLiteral(count)))
            graph.add((paging, hydra.itemsPerPage, RDFLiteral(per_page)))
    try:
        body = graph.serialize(format=rdf_format)
    except Exception as exc:  # noqa: BLE001 - rdflib refusing a URI: ckanext-dcat's 500
        return _dcat_error(500, f"Exception: {exc}")
    return Answer(200, body.encode("utf-8"), ctype)


@lru_cache(maxsize=4)
def gzip_whitespace(size: int) -> bytes:
    """A gzip stream of about `size` bytes once decoded: an open JSON object, then spaces. Built from
    gzip members one MiB each (a gzip file may hold many), so a gigabyte costs a millisecond to make."""
    head = gzip.compress(b'{"help": "", "success": true, "result": ', mtime=0)
    return head + gzip.compress(b" " * (1 << 20), compresslevel=9, mtime=0) * max(1, size >> 20)


def endless_json() -> Iterator[bytes]:
    """An answer that never ends: a JSON list that keeps opening (cut at 4 GB)."""
    yield b'{"help": "", "success": true, "result": {"count": 1, "results": ['
    chunk = b"[" * 65536
    for _ in range(1 << 16):
        yield chunk


def html(status: int, title: str, text: str = "", headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, HTML_PAGE.format(title=title, text=text).encode("utf-8"), HTML_TYPE, headers or {})


def plain_json(status: int, payload: Any) -> Answer:
    return Answer(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


# CKAN's default licence list: id -> (title, isopen).
LICENSES = {  # CKAN 2.11's default register, plus the CC BY 4.0 that Mexican portals add to theirs
    "cc-by": ("Creative Commons Attribution", True), "cc-by-4.0": ("Creative Commons Attribution 4.0", True), "cc-by-sa": ("Creative Commons Attribution Share-Alike", True),
    "cc-zero": ("Creative Commons CCZero", True), "cc-nc": ("Creative Commons Non-Commercial (Any)", False),
    "gfdl": ("GNU Free Documentation License", True), "notspecified": ("License not specified", False),
    "odc-by": ("Open Data Commons Attribution License", True),
    "odc-odbl": ("Open Data Commons Open Database License (ODbL)", True),
    "odc-pddl": ("Open Data Commons Public Domain Dedication and License (PDDL)", True),
    "other-at": ("Other (Attribution)", True), "other-closed": ("Other (Not Open)", False),
    "other-nc": ("Other (Non-Commercial)", False), "other-open": ("Other (Open)", True),
    "other-pd": ("Other (Public Domain)", True), "uk-ogl": ("UK Open Government Licence (OGL)", True),
}

DKAN_404 = ("Página no encontrada | Datos Abiertos", "La página solicitada no pudo encontrarse. "
            "<a href=\"/user/login\">Iniciar sesión</a> · Drupal")
BLOCKED_AGENTS = ("python-requests", "curl")


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up (a harvester giving up on a hostile answer) is no server error."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive. `portal` is set on the subclass SandboxPortal.start() makes."""

    portal: SandboxPortal
    protocol_version = "HTTP/1.1"
    server_version = "SandboxCKAN/1.0"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.portal.opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.portal.closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self.dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self.dispatch()

    def send(self, answer: Answer) -> None:
        if answer.trickle or answer.stream is not None:
            self.send_slowly(answer)
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.ctype)
        self.send_header("Content-Length", str(len(answer.body)))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        # Headers and body in one write: two small writes meet the client's delayed ACK (40 ms each).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(answer.body)
        self.flush_headers()

    def send_slowly(self, answer: Answer) -> None:
        """A trickled or endless answer; it stops when the client goes or the portal stops."""
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.ctype)
        if answer.stream is None:
            self.send_header("Content-Length", str(len(answer.body)))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            if answer.stream is not None:
                for chunk in answer.stream():
                    if self.portal.stopping.is_set():
                        return
                    self.wfile.write(chunk)
                return
            for i in range(len(answer.body)):
                self.wfile.write(answer.body[i:i + 1])
                self.wfile.flush()
                if self.portal.stopping.wait(answer.trickle):
                    return
        except (BrokenPipeError, ConnectionResetError):
            pass

    def read_body(self) -> dict[str, Any]:
        """POSTed parameters: a JSON object (ckanapi) or a form. Raises ValueError on bad JSON."""
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        raw = self.rfile.read(length)
        if "json" in self.headers.get("Content-Type", "") or raw.lstrip().startswith(b"{"):
            body = json.loads(raw.decode("utf-8"))
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            return body
        return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}

    # Routing ---------------------------------------------------------------------------------

    def dispatch(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        parts = [p for p in split.path.split("/") if p]
        try:
            body, body_error = self.read_body(), ""
        except (ValueError, UnicodeDecodeError) as exc:
            body, body_error = {}, str(exc)
        if parts[:1] == ["_sandbox"]:
            self.send(self.control(parts[1:], {**query, **body}))
            return
        if parts[:1] == ["hostile"] and len(parts) == 2:
            status = self.serve_hostile(parts[1])
            self.portal.record_file(RequestRecord(self.command, split.path, "hostile", {},
                                                  self.headers.get("User-Agent", ""), status, time.time()))
            return
        if parts[:1] == ["files"]:
            status = self.serve_file(parts[1:])
            self.portal.record_file(RequestRecord(self.command, split.path, "file", {},
                                                  self.headers.get("User-Agent", ""), status, time.time()))
            return
        state = self.portal.state(parts[0]) if parts else None
        if state is None:
            sites = "".join(f"<li>{s}: {self.portal.api_url(s)}</li>" for s in self.portal.sites)
            self.send(html(200, "Sandbox CKAN portal", f"<ul>{sites}</ul>") if not parts else html(404, "Not Found"))
            return
        if state.site.flavour == "dkan" and (parts[1:] == ["data.json"] or (
                state.site.drupal_q and parts[1:] == [] and query.get("q") == "data.json")):
            answer = Answer(200, self.portal.served(data_json(state, self.portal.base_url)), JSON_TYPE)
            self.portal.record(RequestRecord(self.command, split.path, "data.json", dict(query),
                                             self.headers.get("User-Agent", ""), 200, time.time()))
            self.send(answer)
            return
        dcat = dcat_route(state.site, parts[1:])
        if dcat is not None:
            self.serve_dcat(state, dcat, split.path, query)
            return
        action = self.action_of(state, parts[1:], query)
        params = {**query, **body}
        agent = self.headers.get("User-Agent", "")
        answer = self.respond(state, parts[1:], action, params, agent, body_error)
        self.portal.record(RequestRecord(self.command, split.path, action or "", params, agent,
                                         answer.status if answer else 0, time.time()))
        if answer is None:  # dropped, or the portal stopped while hanging
            self.close_connection = True
            return
        if state.faults.trickle and (state.faults.actions is None or action in state.faults.actions):
            answer.trickle = state.faults.trickle
        self.send(answer)

    def serve_dcat(self, state: SiteState, route: tuple[str, str, str | None], path: str,
                   query: dict[str, Any]) -> None:
        """ckanext-dcat's /catalog.<format> and /dataset/<id>.<format>, with the site's WAF and faults (the
        action names for `Faults.actions`: dcat_catalog_show, dcat_dataset_show)."""
        action, fmt, dataset = route
        agent = self.headers.get("User-Agent", "")
        answer: Answer | None
        if state.site.waf and (not agent.strip() or agent.lower().startswith(BLOCKED_AGENTS)):
            answer = html(403, "403 Forbidden", "Request blocked by the web application firewall.")
        else:
            faulty = state.faults.actions is None or action in state.faults.actions
            answer = self.misbehave(state, action) if faulty else False
            if answer is False:
                answer = dcat_answer(self.portal, state, fmt, dataset, query)
        self.portal.record(RequestRecord(self.command, path, action, dict(query), agent,
                                         answer.status if answer else 0, time.time()))
        if answer is None:
            self.close_connection = True
            return
        if state.faults.trickle and (state.faults.actions is None or action in state.faults.actions):
            answer.trickle = state.faults.trickle
        self.send(answer)

    @staticmethod
    def action_of(state: SiteState, rest: list[str], query: dict[str, Any]) -> str | None:
        if state.site.drupal_q:
            drupal = str(query.get("q") or "").strip("/")
            if not rest and drupal.startswith("api/3/action/"):
                query.pop("q")
                return drupal[len("api/3/action/"):] or None
            return None
        if rest[:3] == ["api", "3", "action"] and len(rest) == 4:
            return rest[3]
        if rest[:2] == ["api", "action"] and len(rest) == 3:
            return rest[2]
        return None

    def respond(self, state: SiteState, rest: list[str], action: str | None, params: dict[str, Any],
                agent: str, body_error: str) -> Answer | None:
        site = state.site
        if site.waf and (not agent.strip() or agent.lower().startswith(BLOCKED_AGENTS)):
            return html(403, "403 Forbidden", "Request blocked by the web application firewall.")
        if site.name == "federal" and rest[:1] == ["busca"]:
            if rest[1:2] == ["api"]:
                moved = {"Location": f"{self.portal.base_url}/federal/busca/not-here"}
                return html(301, "Moved Permanently", headers=moved)
            return html(404, "Página no encontrada")
        if action is None:
            return html(404, *DKAN_404) if site.flavour == "dkan" else html(404, "Not Found")
        faults = state.faults
        if faults.actions is None or action in faults.actions:
            answer = self.misbehave(state, action)
            if answer is not False:
                return answer
        if site.flavour == "dkan" and action not in ("package_list", "package_show"):
            return html(404, *DKAN_404)
        if body_error:
            return self.envelope(site.name, action, 400, error={"__type": "Bad request",
                                                                 "message": f"JSON Error: {body_error}"})
        try:
            return self.action(state, action, params)
        except solr.SearchError as exc:  # CKAN 2.11 with Solr 9: what Solr cannot run is a 409
            return self.envelope(site.name, action, 409, error={"__type": "Search Error",
                                                                 "message": f"Search error: {exc}"})
        except solr.QueryError as exc:
            return self.envelope(site.name, action, 400, error={"__type": "Search Query Error",
                                                                 "message": f"Search Query is invalid: {exc}"})
        except ValidationFailure as exc:
            name, _, message = str(exc).partition(": ")
            return self.envelope(site.name, action, 409, error={"__type": "Validation Error", name: [message]})

    def misbehave(self, state: SiteState, action: str) -> Answer | None | Literal[False]:
        """The answer a fault imposes; None closes the connection; False: no fault, answer normally."""
        faults = state.faults
        stopping = self.portal.stopping
        while faults.hang:
            if stopping.wait(0.05):
                return None
        if faults.delay and stopping.wait(faults.delay):
            return None
        with state.lock:
            if faults.drop_count > 0:
                faults.drop_count -= 1
                return None
            failing = bool(faults.fail_status) and faults.fail_count > 0
            if failing:
                faults.fail_count -= 1
        if failing:
            if faults.fail_status == 429:
                return Answer(429, b"Too Many Requests: retry later.\n", "text/plain; charset=utf-8",
                              {"Retry-After": str(faults.retry_after)})
            return html(int(faults.fail_status or 500), f"{faults.fail_status} Server Error",
                        "El servidor no pudo atender la solicitud. nginx")
        if faults.html_200:
            return html(200, "Access denied", "Su solicitud fue bloqueada. Incident ID: 0000-sandbox")
        if faults.redirect_to:
            return Answer(302, b"", "text/plain", {"Location": faults.redirect_to})
        if faults.raw_body is not None:
            return Answer(200, faults.raw_body.encode("utf-8", "surrogatepass"))
        if faults.gzip_bomb_bytes:
            return Answer(200, gzip_whitespace(faults.gzip_bomb_bytes), JSON_TYPE, {"Content-Encoding": "gzip"})
        if faults.endless:
            return Answer(200, stream=endless_json)
        if action == "package_search" and faults.search_missing:
            if faults.search_missing == 404:
                return html(404, "Not Found")
            return self.envelope(state.site.name, action, faults.search_missing,
                                 error={"__type": "Bad request", "message": "package_search is not available"})
        return False

    def envelope(self, site: str, action: str, status: int, result: bytes | None = None,
                 error: dict[str, Any] | None = None) -> Answer:
        """CKAN's `{"help", "success", "result" | "error"}`; result is JSON bytes, maybe with placeholders."""
        help_url = f"{self.portal.base_url}/{site}/api/3/action/help_show?name={action}"
        if error is not None:
            return plain_json(status, {"help": help_url, "success": False, "error": error})
        head = json.dumps({"help": help_url, "success": True})[:-1].encode("utf-8")
        return Answer(status, head + b', "result": ' + self.portal.served(result or b"null") + b"}")

    # Actions ---------------------------------------------------------------------------------

    def action(self, state: SiteState, action: str, params: dict[str, Any]) -> Answer:
        portal, site = self.portal, state.site

        def ok(value: Any) -> Answer:
            return self.envelope(site.name, action, 200, json.dumps(value, ensure_ascii=False).encode("utf-8"))
        if action == "status_show":
            return ok({"ckan_version": site.ckan_version, "site_title": site.title,
                       "site_description": site.description, "site_url": f"{portal.base_url}/{site.name}",
                       "error_emails_to": None, "locale_default": "es", "extensions": list(site.extensions)})
        if action == "package_search":
            return self.envelope(site.name, action, 200, portal.package_search(state, params))
        if action == "package_show":
            key = str(params.get("id") or params.get("name_or_id") or "")
            with state.lock:
                dataset = state.find(key)
                data = state.json_of(dataset["id"]) if dataset else None
            if data is None:
                return self.envelope(site.name, action, 404, error={"__type": "Not Found Error",
                                                                     "message": "Not found"})
            if dataset is not None and dataset.get("private"):  # as CKAN answers an anonymous client
                return self.envelope(site.name, action, 403, error={
                    "__type": "Authorization Error",
                    "message": f"Access denied: User  not authorized to read package {dataset['id']}"})
            return self.envelope(site.name, action, 200, b"[" + data + b"]" if site.flavour == "dkan" else data)
        if action == "package_list":
            return ok(portal.package_list(state, params))
        if action in ("organization_list", "group_list"):
            return ok(portal.group_list(state, params, organizations=action == "organization_list"))
        if action == "help_show":
            return ok(ACTION_HELP.get(str(params.get("name") or ""), "No help for this action."))
        return self.envelope(site.name, action, 400, error={"__type": "Bad request",
                                                             "message": f"Action name not known: {action}"})

    # Control and files -----------------------------------------------------------------------

    def control(self, parts: list[str], params: dict[str, Any]) -> Answer:
        """The out-of-process switches: /_sandbox/reset, /_sandbox/requests, /_sandbox/<site>/<verb>."""
        portal = self.portal
        if parts == ["reset"]:
            portal.reset()
            return plain_json(200, {"ok": True})
        if parts == ["requests"]:
            return plain_json(200, {"count": len(portal.requests(params.get("site") or None))})
        if len(parts) != 2 or portal.state(parts[0]) is None:
            return plain_json(404, {"error": f"unknown control {'/'.join(parts)}"})
        site, verb = parts
        try:
            if verb == "faults":
                faults = portal.faults(site)
                names = {f.name for f in fields(Faults)}
                unknown = sorted(set(params) - names)
                if unknown:
                    return plain_json(400, {"error": f"unknown faults: {', '.join(unknown)}"})
                for key, value in params.items():
                    setattr(faults, key, set(value) if key == "actions" and value is not None else value)
                return plain_json(200, {k: sorted(v) if isinstance(v, set) else v for k, v in faults.__dict__.items()})
            if verb == "touch":
                return plain_json(200, portal.touch(site, str(params["id"]), **(params.get("changes") or {})))
            if verb == "delete":
                portal.delete(site, str(params["id"]))
                return plain_json(200, {"ok": True})
            if verb == "add":
                return plain_json(200, portal.add(site, params.get("dataset") or {}))
        except KeyError as exc:
            return plain_json(404, {"error": f"not found: {exc}"})
        except ValueError as exc:
            return plain_json(409, {"error": str(exc)})
        return plain_json(404, {"error": f"unknown control {verb}"})

    def serve_file(self, parts: list[str]) -> int:
        """GET /files/<site>/<dataset>/<file>: a file on disk under FILES (tests place them there) wins,
        else the snapshot's generated file (harvester/sandbox/files.py); validators and 304s either way.
        The path is unquoted as a web server would ('Diccionario%20de%20datos.xlsx' is the file with spaces)."""
        parts = [unquote(p) for p in parts]
        safe = parts and not any(p in ("", ".", "..") or "/" in p or "\0" in p for p in parts)
        path = FILES.joinpath(*parts) if safe else None
        if path is None or not path.is_file():
            generated = resource_files().get("/".join(parts)) if path is not None else None
            if generated is not None:
                return self.serve_bytes(generated, "/".join(parts))
            self.send(html(404, "Not Found"))
            return 404
        info = path.stat()
        etag = f'"{info.st_size:x}-{info.st_mtime_ns:x}"'
        modified = email.utils.formatdate(info.st_mtime, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": modified, "Accept-Ranges": "none"}
        if self.not_modified(etag, int(info.st_mtime)):
            self.send_response(304)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            return 304
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(info.st_size))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    self.wfile.write(chunk)
        return 200

    def serve_hostile(self, name: str) -> int:
        """GET /hostile/<name>: what a fetcher must refuse (see HOSTILE and the redirects here)."""
        redirects = {"redirect-private.csv": "http://10.0.0.8/datos.csv", "redirect-file.csv": "file:///etc/passwd",
                     "redirect-loopback.csv": "http://127.0.0.1:9/secreto.csv"}
        if name in redirects:
            self.send(Answer(302, b"", "text/plain", {"Location": redirects[name]}))
            return 302
        if name == "trickle.csv":  # a byte every 0.2 s: each read is quick, the whole never ends
            self.send_slowly(Answer(200, b"a,b\n" + b"1,2\n" * 100_000, "text/csv", trickle=0.2))
            return 200
        if name in ("huge.csv", "endless.csv", "slow.csv"):
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            if name == "huge.csv":
                self.send_header("Content-Length", str(50 * 1024 ** 3))  # 50 GB declared
            self.end_headers()
            try:
                if name == "slow.csv":
                    self.portal.stopping.wait(10)  # headers, then silence past any read timeout
                    return 200
                chunk = b"0," * (1 << 19) + b"\n"
                for _ in range(1 if name == "huge.csv" else 10_000):  # endless: about 10 GB unless cut off
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return 200
        data = hostile_files().get(name) or amplifiers().get(name)
        if data is None:
            self.send(html(404, "Not Found"))
            return 404
        return self.serve_bytes(data, name)

    def serve_bytes(self, data: bytes, name: str) -> int:
        """A generated snapshot file (harvester/sandbox/files.py), with an ETag and 304s."""
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        modified = "Mon, 02 Sep 2024 12:00:00 GMT"
        if self.not_modified(etag, 1725278400):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 304
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", modified)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return 200

    def not_modified(self, etag: str, mtime: int) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:
            tags = {t.strip().removeprefix("W/") for t in match.split(",")}
            return "*" in tags or etag in tags
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return mtime <= int(email.utils.parsedate_to_datetime(since).timestamp())
            except (TypeError, ValueError):
                return False
        return False


ACTION_HELP = {
    "status_show": "Return a dictionary with information about the site's configuration.",
    "package_search": "Searches for packages satisfying a given search criteria (q, fq, sort, rows, start, fl).",
    "package_show": "Return the metadata of a dataset (package) and its resources. :param id: the id or name",
    "package_list": "Return a list of the names of the site's datasets (packages). :param limit: :param offset:",
    "organization_list": "Return a list of the names of the site's organizations. :param all_fields:",
    "group_list": "Return a list of the names of the site's groups. :param all_fields:",
    "help_show": "Return the help string for a particular API action. :param name:",
}
