"""A CKAN's DCAT catalog as ckanext-dcat serves it: `/catalog.ttl`, paged (`?page=N`, a hydra:PagedCollection
with hydra:nextPage and hydra:totalItems, `ckanext.dcat.datasets_per_page` datasets a page, 100 by default),
filtered by `modified_since` for incremental runs; `/dataset/<id>.ttl` for one dataset.

Turtle is parsed with rdflib (the serialization ckanext-dcat writes with rdflib itself). It is the smallest
of the three on the wire and as fast to parse as JSON-LD, and unlike JSON-LD (whose `@context` rdflib
fetches from wherever it points) and RDF/XML it never makes the parser reach out for anything.
Every answer is read through the catalog's HTTP session, so `max_answer_bytes`, `max_answer_seconds`,
retries, politeness and same-host redirects apply as to API calls.

Each dcat:Dataset becomes the CKAN package dict the harvest merge reads:

- id: the package id, from the dataset URI that ckanext-dcat makes (`<catalog>/dataset/<id>`), else
  dct:identifier (ckanext-dcat writes the package id there unless an `identifier` or `guid` extra says
  otherwise); title, notes (dct:description), metadata_created / metadata_modified (dct:issued /
  dct:modified, CKAN's own strings), url (dcat:landingPage: CKAN's `url` field), version
  (owl:versionInfo), tags (dcat:keyword, sorted), organization (dct:publisher: its id from the publisher
  URI `<catalog>/organization/<id>`, its title from foaf:name), maintainer / maintainer_email
  (dcat:contactPoint's vcard:fn and vcard:hasEmail), license_id (dct:license of the dataset, else the one
  licence all its distributions share).
- resources from dcat:distribution: id (from the distribution URI `.../resource/<id>`, else dct:identifier),
  url (dcat:downloadURL, else dcat:accessURL, where ckanext-dcat puts CKAN's `url`), name (dct:title),
  description, format (dct:format, else dcat:mediaType), mimetype (dcat:mediaType), size (dcat:byteSize),
  created (dct:issued), hash (spdx:checksum).

What DCAT does not carry, so a DCAT harvest stores it empty (or as said) where package_search has it:

- the dataset's `name` (its slug): ckanext-dcat's URIs use the id, so the name is the last segment of the
  landing page when that is the portal's own `/dataset/<name>` page, else the dataset URI's (the id);
- the organization's `name`: the slug of its title stands in; its description and image;
- `groups` (dcat:theme only comes from a `theme` field), `extras`, `author` / `author_email` (the contact
  point is the maintainer, else the author: it is stored as maintainer), `license_title`, `private`,
  `state`, `type` (only public, active datasets of type dataset are listed);
- the dataset licence by default: ckanext-dcat writes dct:license only on distributions with a `license`
  of their own (or with `ckanext.dcat.resource.inherit.license` and a licence URI);
- of resources: `position` (RDF is unordered: distributions are ordered by dct:issued, which CKAN sets
  as it creates them, then URI), `url_type` (upload or link), `last_modified` (dct:modified is the
  resource's metadata_modified, not its file's), `mimetype` when it equals the format; and URLs are as
  ckanext-dcat cleans them: stripped, with ` !"$'()*,;<>[]{|}\\^`` percent-encoded.

Paging is by offset in `metadata_modified desc` order, so a dataset changed while the listing pages can
shift a page: a page that brings nothing new, a next page that does not move forward, or a total that
differs from the datasets received ends the listing as incomplete (the run is partial, keeps what it got,
infers no deletion and asks again next time). ckanext-dcat asks package_search for `datasets_per_page`
rows, which `ckan.search.rows_max` may cap: its pages are then short and end before hydra:totalItems, which
is reported the same way, naming both settings.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL

from harvester import http
from harvester.ckan import MAX_REDIRECTS, _reason, same_site
from harvester.clock import utcnow
from harvester.config import CatalogConfig
from harvester.connectors.base import Batch, Connector, Dataset, ListingReport, PageCallback
from harvester.connectors.ckan_list import PackageListConnector
from harvester.connectors.ckan_search import PackageSearchConnector
from harvester.errors import (ActionMissing, IncompleteListing, NotCkanApi, PortalError, PortalTimeout,
                              PortalUnavailable, Text)
from harvester.i18n import N_
from harvester.text import normalize

DCAT = Namespace("http://www.w3.org/ns/dcat#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
TURTLE = "text/turtle"
PAST_THE_END = 100_000
"""A page number past any real catalog's last: its answer is the hydra block alone, with the total."""
_MISSING = (400, 404, 405, 410, 501)
_GONE = (403, 404, 410)  # ckanext-dcat answers 403 for a deleted or private dataset, 404 for a purged one


@dataclass
class Page:
    """One parsed answer: its datasets (CKAN-shaped), the portal's total and the next page's number."""

    datasets: list[Dataset]
    total: int | None
    per_page: int | None
    next_page: int | None
    next_url: str | None
    server_time: datetime | None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalize(text)).strip("-")


def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(str(text).split())[:limit]


def _text(graph: Graph, subject: Any, predicate: URIRef) -> str | None:
    """One value of subject's predicate as text: a literal without a language first, else the first by
    language; None when it has none or only blanks."""
    values = [v for v in graph.objects(subject, predicate) if not isinstance(v, BNode)]
    if not values:
        return None
    values.sort(key=lambda v: (getattr(v, "language", None) or "", str(v)))
    value = str(values[0]).strip()
    return value or None


def _last_segment(uri: str, marker: str) -> str | None:
    """The one path segment after `marker` (`/dataset/`) in uri, when it is the last one."""
    path = urlsplit(uri).path
    if marker not in path:
        return None
    tail = path.rsplit(marker, 1)[1].strip("/")
    return tail if tail and "/" not in tail else None


def _under(uri: str, bases: set[str], marker: str) -> str | None:
    """The segment after `<base><marker>` for one of `bases` (the catalog's own URIs), else None."""
    for base in bases:
        prefix = base.rstrip("/") + marker
        if uri.startswith(prefix):
            tail = uri[len(prefix):].split("?", 1)[0].split("#", 1)[0].strip("/")
            if tail and "/" not in tail:
                return tail
    return None


def _media(value: str | None) -> str | None:
    """A format or media type given as a URI (IANA's, the EU file-type list) as its short form."""
    if value is None or not value.startswith(("http://", "https://")):
        return value
    path = urlsplit(value).path.rstrip("/")
    if "/media-types/" in path:
        return path.split("/media-types/", 1)[1] or value
    return path.rsplit("/", 1)[-1] or value


def _resource(graph: Graph, dist: Any, dataset_id: str, bases: set[str]) -> dict[str, Any]:
    uri = str(dist) if isinstance(dist, URIRef) else ""
    rid = (_under(uri, {f"{b.rstrip('/')}/dataset/{dataset_id}" for b in bases}, "/resource/") if uri else None) \
        or _text(graph, dist, DCTERMS.identifier) \
        or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dataset_id}#{uri or _text(graph, dist, DCAT.accessURL)}"))
    media = _media(_text(graph, dist, DCAT.mediaType))
    fmt = _media(_text(graph, dist, DCTERMS["format"]))
    size = _text(graph, dist, DCAT.byteSize)
    if size is not None and re.fullmatch(r"[0-9]+(\.0*)?", size):
        size = size.split(".", 1)[0]
    checksum = next((c for c in graph.objects(dist, SPDX.checksum)), None)
    return {"id": rid, "name": _text(graph, dist, DCTERMS.title), "description": _text(graph, dist, DCTERMS.description),
            "url": _text(graph, dist, DCAT.downloadURL) or _text(graph, dist, DCAT.accessURL),
            "format": fmt or media, "mimetype": media, "size": size,
            "created": _text(graph, dist, DCTERMS.issued),
            "hash": _text(graph, checksum, SPDX.checksumValue) if checksum is not None else None,
            "license": _text(graph, dist, DCTERMS.license), "dcat_uri": uri or None}


def ckan_shaped(graph: Graph, ref: Any, bases: set[str]) -> Dataset | None:
    """One dcat:Dataset of `graph` as a CKAN package dict (None without an id: nothing to key it by).
    `bases` are the catalog's own URIs (its dcat:Catalog, the portal's root), under which ckanext-dcat
    makes dataset, resource and organization URIs from CKAN's ids."""
    uri = str(ref) if isinstance(ref, URIRef) else ""
    identifier = _text(graph, ref, DCTERMS.identifier)
    own = _under(uri, bases, "/dataset/") if uri else None
    dataset_id = own or identifier or uri or None
    if dataset_id is None:
        return None
    landing = _text(graph, ref, DCAT.landingPage)
    slug = _under(landing, bases, "/dataset/") if landing else None
    publisher = next(iter(graph.objects(ref, DCTERMS.publisher)), None)
    org: dict[str, Any] | None = None
    if publisher is not None:
        title = str(publisher).strip() if isinstance(publisher, Literal) else _text(graph, publisher, FOAF.name)
        org_id = _under(str(publisher), bases, "/organization/") if isinstance(publisher, URIRef) else None
        if title or org_id:
            org = {"id": org_id, "name": _slug(title or "") or org_id, "title": title}
    contact = next(iter(graph.objects(ref, DCAT.contactPoint)), None)
    email = _text(graph, contact, VCARD.hasEmail) if contact is not None else None
    resources = [_resource(graph, d, dataset_id, bases) for d in graph.objects(ref, DCAT.distribution)]
    resources.sort(key=lambda r: (r["created"] or "", r["dcat_uri"] or "", r["id"]))
    for position, resource in enumerate(resources):
        resource["position"] = position
    licences = {r["license"] for r in resources}
    keywords = sorted({str(k).strip() for k in graph.objects(ref, DCAT.keyword) if str(k).strip()})
    return {
        "id": dataset_id, "name": slug or _last_segment(uri, "/dataset/") or dataset_id,
        "title": _text(graph, ref, DCTERMS.title), "notes": _text(graph, ref, DCTERMS.description),
        "type": "dataset", "state": "active",
        "metadata_created": _text(graph, ref, DCTERMS.issued), "metadata_modified": _text(graph, ref, DCTERMS.modified),
        "url": landing, "version": _text(graph, ref, OWL.versionInfo),
        "organization": org, "owner_org": org["id"] if org else None,
        "maintainer": _text(graph, contact, VCARD.fn) if contact is not None else None,
        "maintainer_email": email.removeprefix("mailto:") if email else None,
        "license_id": _text(graph, ref, DCTERMS.license) or (licences.pop() if len(licences) == 1 else None),
        "tags": [{"name": k} for k in keywords],
        "resources": resources,
        "extras": [{"key": "source", "value": "dcat"}],
        "dcat": {"uri": uri or None, "identifier": identifier},
    }


def _page_number(url: str | None) -> int | None:
    """The `page` of a hydra page URL (ckanext-dcat writes its parameters unencoded: read the last one)."""
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("page") or re.findall(r"[?&]page=(\d+)", url)
    try:
        return int(values[-1]) if values else None
    except ValueError:
        return None


def _int(graph: Graph, subject: Any, predicate: URIRef) -> int | None:
    value = _text(graph, subject, predicate)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class DcatConnector(Connector):
    mode = "dcat"
    listing = "the DCAT catalog"
    search_supported = None  # says nothing of package_search
    confirms_deletions = False  # offset paging can skip a dataset when another changes: ask before calling it gone

    def __init__(self, catalog: CatalogConfig, client: Any) -> None:
        super().__init__(catalog, client)
        self.url = catalog.dcat_url()
        parts = urlsplit(self.url)
        self.root = f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/', 1)[0]}"
        """The portal's root, where `/dataset/<id>.ttl` is (the catalog URL without its last segment)."""
        self.bases = {self.root}

    @classmethod
    def suits(cls, catalog: CatalogConfig, search_supported: bool | None) -> bool:
        return bool(catalog.dcat)

    # HTTP ------------------------------------------------------------------------------------

    def _get(self, url: str, params: dict[str, Any] | None = None) -> http.Response:
        """GET with the catalog's session (its caps, retries and politeness), same-host redirects only."""
        session = self.client._remote.session
        timeout = (self.catalog.connect_timeout, self.catalog.timeout)
        headers = {"Accept": TURTLE}
        try:
            response = session.get(url, params=params, headers=headers, allow_redirects=False, timeout=timeout)
            for _ in range(MAX_REDIRECTS):
                if not (response.is_redirect and response.headers.get("Location")):
                    break
                target = urljoin(response.url, response.headers["Location"])
                if not same_site(url, target):
                    raise NotCkanApi(N_("catalog %(catalog)s: %(source)s redirected to %(target)s: another host, not "
                                        "followed"), url, catalog=self.catalog.id, source=response.url, target=target)
                response = session.get(target, headers=headers, allow_redirects=False, timeout=timeout)
            else:
                raise NotCkanApi(N_("catalog %(catalog)s: more than %(most)s redirects from %(url)s"), url,
                                 catalog=self.catalog.id, most=MAX_REDIRECTS)
        except PortalError:
            raise
        except (http.AnswerTooLarge, http.AnswerTooSlow) as exc:
            raise PortalUnavailable(N_("catalog %(catalog)s: %(reason)s"), url, catalog=self.catalog.id,
                                    reason=exc) from None
        except http.Timeout:
            raise PortalTimeout(N_("catalog %(catalog)s: no answer from %(url)s within %(seconds)s s"), url,
                                catalog=self.catalog.id, seconds=f"{self.catalog.timeout:g}") from None
        except http.RequestFailure as exc:
            if http._read_timed_out(exc):
                raise PortalTimeout(N_("catalog %(catalog)s: no answer from %(url)s within %(seconds)s s"), url,
                                    catalog=self.catalog.id, seconds=f"{self.catalog.timeout:g}") from None
            raise PortalUnavailable(N_("catalog %(catalog)s: request to %(url)s failed: %(reason)s"), url,
                                    catalog=self.catalog.id, reason=_reason(exc)) from None
        return response

    def _check(self, response: http.Response, missing: str) -> None:
        """A typed error unless the answer is a Turtle document; `missing` (N_, with %(url)s and %(status)s)
        says what is not there when the portal answers that it has none."""
        status = response.status_code
        if status == 429 or status >= 500:
            raise PortalUnavailable(N_("catalog %(catalog)s: server error %(status)s from %(url)s after retries"),
                                    response.url, catalog=self.catalog.id, status=status)
        if status in _MISSING:
            raise ActionMissing(missing, response.url, status=status)
        ctype = response.headers.get("Content-Type", "").lower()
        head = response.content[:64].lstrip().lower()
        if status != 200 or "html" in ctype or head.startswith((b"<!doctype", b"<html")):
            kind = Text(N_("an HTML page")) if ("html" in ctype or head.startswith((b"<!doctype", b"<html"))) else \
                Text(N_("a %(type)s answer"), type=ctype.split(";")[0] or "typeless")
            raise NotCkanApi(N_("catalog %(catalog)s: not a DCAT catalog: %(url)s answered %(status)s with %(kind)s"),
                             response.url, catalog=self.catalog.id, status=status, kind=kind)

    def _parse(self, response: http.Response, what: str) -> Graph:
        graph = Graph()
        try:
            graph.parse(data=response.content, format="turtle", publicID=response.url)
        except Exception as exc:  # noqa: BLE001 - rdflib raises many kinds; every one means the same
            raise NotCkanApi(N_("catalog %(catalog)s: the %(what)s at %(url)s does not parse as Turtle: %(reason)s"),
                             response.url, catalog=self.catalog.id, what=Text(what),
                             reason=f"{type(exc).__name__}: {_one_line(exc)}") from None
        return graph

    def _params(self, since: datetime | None, page: int) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.catalog.organization:
            # unquoted: ckanext-dcat copies fq into its page URIs unencoded, and a quote there is a 500
            params["fq"] = f"organization:{self.catalog.organization}"
        if since is not None:
            params["modified_since"] = since.strftime("%Y-%m-%dT%H:%M:%S")  # naive UTC: an offset is a 500
        params["page"] = page
        return params

    def _page(self, number: int, since: datetime | None) -> tuple[Page, str]:
        response = self._get(self.url, self._params(since, number))
        self._check(response, N_("no DCAT catalog at %(url)s (%(status)s)"))
        graph = self._parse(response, N_("DCAT catalog page"))
        bases = self.bases | {str(c) for c in graph.subjects(RDF.type, DCAT.Catalog) if isinstance(c, URIRef)}
        self.bases = bases
        datasets = [d for d in (ckan_shaped(graph, ref, bases) for ref in set(graph.subjects(RDF.type, DCAT.Dataset)))
                    if d is not None]
        datasets.sort(key=lambda d: str(d["id"]))
        paging = next(iter(graph.subjects(RDF.type, HYDRA.PagedCollection)), None) \
            or next(iter(graph.subjects(RDF.type, HYDRA.PartialCollectionView)), None)
        total = per_page = next_page = None
        next_url = None
        if paging is not None:
            total = _int(graph, paging, HYDRA.totalItems)
            per_page = _int(graph, paging, HYDRA.itemsPerPage)
            next_url = _text(graph, paging, HYDRA.nextPage) or _text(graph, paging, HYDRA.next)
            next_page = _page_number(next_url)
            if next_url and next_page is None:
                raise NotCkanApi(N_("catalog %(catalog)s: %(url)s: hydra:nextPage %(next)s names no page number"),
                                 response.url, catalog=self.catalog.id, next=next_url[:200])
        return Page(datasets, total, per_page, next_page, next_url, http.server_time(response)), response.url

    # Listing ---------------------------------------------------------------------------------

    def _pages(self, since: datetime | None, report: ListingReport | None,
               on_page: PageCallback | None) -> Iterator[Batch]:
        seen: set[str] = set()
        number, pages, total, last_url = 1, 0, None, self.url
        while True:
            page, last_url = self._page(number, since)
            pages += 1
            if pages == 1 and report is not None:
                report.window_end = page.server_time or utcnow()
            new = [d for d in page.datasets if str(d["id"]) not in seen]
            if page.datasets and not new:
                raise IncompleteListing(
                    N_("catalog %(catalog)s: paging %(start)s stopped: page %(page)s (%(url)s) brought no new dataset, "
                       "the portal repeats its pages (%(received)s datasets received, hydra:totalItems %(total)s)"),
                    last_url, catalog=self.catalog.id, start=self.url, page=number, received=len(seen), total=page.total)
            seen.update(str(d["id"]) for d in new)
            if page.total is not None:
                total = page.total
            if on_page:
                on_page(len(seen), page.total if pages == 1 else None)
            if new:
                yield Batch(new)
            if page.next_page is None:
                break
            if page.next_page <= number:
                raise IncompleteListing(
                    N_("catalog %(catalog)s: paging %(start)s stopped: page %(page)s (%(url)s) names page %(next)s as "
                       "the next (%(received)s datasets received, hydra:totalItems %(total)s)"),
                    last_url, catalog=self.catalog.id, start=self.url, page=number, next=page.next_page,
                    received=len(seen), total=page.total)
            number = page.next_page
        if report is not None:
            report.pages = (report.pages or 0) + pages
        if total is not None and len(seen) != total:
            short: Any = ""
            if page.per_page and len(page.datasets) < page.per_page and len(seen) < total and page.next_page is None:
                short = Text(N_("; its last page held %(held)s of hydra:itemsPerPage %(per_page)s (is "
                                "ckan.search.rows_max below ckanext.dcat.datasets_per_page?)"),
                             held=len(page.datasets), per_page=page.per_page)
            raise IncompleteListing(
                N_("catalog %(catalog)s: paging %(start)s gave %(received)s datasets but hydra:totalItems says "
                   "%(total)s%(short)s"), last_url, catalog=self.catalog.id, start=self.url, received=len(seen),
                total=total, short=short)

    def changed(self, since: datetime | None, report: ListingReport,
                on_page: PageCallback | None = None) -> Iterator[Batch]:
        report.window_start = since
        report.complete = since is None
        yield from self._pages(since, report, on_page)

    def run_mode(self, report: ListingReport) -> str:
        return "dcat" if report.complete else "dcat-incremental"

    def fallback(self) -> Connector | None:
        """A portal without ckanext-dcat is listed through its Action API instead."""
        if self.catalog.kind == "dkan":
            return PackageListConnector(self.catalog, self.client)
        return PackageSearchConnector(self.catalog, self.client)

    def total(self) -> int | None:
        page, _ = self._page(PAST_THE_END, None)
        return page.total if page.total is not None else len(page.datasets)

    def all_ids(self) -> set[str]:
        return {str(d["id"]) for batch in self._pages(None, None, None) for d in batch}

    def still_there(self, ids: set[str]) -> list[Dataset]:
        """Each id's own `/dataset/<id>.ttl`: 403 (deleted, private) or 404 (purged) means gone."""
        found: list[Dataset] = []
        for dataset_id in sorted(ids):
            response = self._get(f"{self.root}/dataset/{dataset_id}.ttl")
            if response.status_code in _GONE:
                continue
            self._check(response, N_("no DCAT dataset at %(url)s (%(status)s)"))
            graph = self._parse(response, N_("DCAT dataset"))
            for ref in graph.subjects(RDF.type, DCAT.Dataset):
                dataset = ckan_shaped(graph, ref, self.bases)
                if dataset is not None and str(dataset["id"]) == dataset_id:
                    found.append(dataset)
        return found
