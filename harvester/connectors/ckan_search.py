"""package_search paging that stays correct on large catalogs that change while it pages.

Keyset paging in a stable order (`metadata_modified asc, id asc`) inside a closed time window:
each page asks `metadata_modified:[cursor TO window_end]` and leaves out, by id, the rows already
received that share the cursor's millisecond (Solr compares dates at millisecond precision). A
dataset modified while we page leaves the window (the next run picks it up); it never shifts the
rows we have not read yet, as offset paging would. (Skipping the received ties with `start` instead
lost a dataset whenever one of those ties was modified between two pages: the offset then jumped
over a row not yet read.) Only a run of more than TIE_IDS equal timestamps is stepped through by
offset. Whatever cap a server applies to `rows` is simply followed, since the next page starts where
the last one ended.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

from harvester.ckan import CkanClient
from harvester.clock import utcnow
from harvester.config import CatalogConfig
from harvester.connectors.base import Batch, Connector, Dataset, ListingReport, PageCallback
from harvester.connectors.ckan_list import PackageListConnector
from harvester.errors import IncompleteListing
from harvester.i18n import N_

SORT = "metadata_modified asc, id asc"
ID_CHUNK = 50
TIE_IDS = 100
"""Received datasets sharing the cursor's millisecond that the next page leaves out by id; beyond
this many (a bulk import stamped in one millisecond) it steps on by offset."""


def solr_time(value: datetime) -> str:
    """A naive UTC datetime as a Solr date at millisecond precision (`Z` is required)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _millis(value: object) -> str | None:
    """A CKAN timestamp (naive ISO UTC) truncated to the millisecond, as a Solr date; None if unparsable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return solr_time(parsed)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class PackageSearchConnector(Connector):
    mode = "search"
    listing = "package_search"
    search_supported = True
    confirms_deletions = False  # a dataset modified while we page moves past the window's end

    def __init__(self, catalog: CatalogConfig, client: CkanClient) -> None:
        super().__init__(catalog, client)
        self.filters = catalog.search_filters()
        self.q = catalog.q or "*:*"
        self.effective_rows = catalog.rows

    def _fq(self, *extra: str) -> str:
        return " ".join([*self.filters, *extra])

    def _pages(self, low: str, fl: str | None, report: ListingReport | None,
               on_page: PageCallback | None) -> Iterator[Batch]:
        """Keyset-page the window [low TO server-now]; fixes the window's end from the first answer."""
        high = "*"
        cursor = low
        ties: list[str] = []  # received ids at the cursor's millisecond, in the order received
        unique: set[str] = set()
        pages = 0
        while True:
            by_id = len(ties) <= TIE_IDS
            left_out = ("-id:(" + " OR ".join(_quote(x) for x in ties) + ")",) if ties and by_id else ()
            page = self.client.package_search(fq=self._fq(f"metadata_modified:[{cursor} TO {high}]", *left_out),
                                              q=self.q, sort=SORT, rows=self.catalog.rows,
                                              start=0 if by_id else len(ties), fl=fl)
            pages += 1
            if high == "*":
                # The Date header is cut to the second: the server's now lies within the second after it.
                # Paging stops a second later, so nothing changed in that second is left out of this run;
                # the next run starts from the header's own time, so nothing changed after it is missed.
                end = page.server_time or utcnow()
                high = solr_time(end + timedelta(seconds=1) if page.server_time else end)
                if report is not None:
                    report.window_end = end
            results = [r for r in page.results if isinstance(r, dict) and r.get("id")]
            held = len(unique)
            unique.update(str(r["id"]) for r in results)
            if page.results and len(unique) == held:
                # Keyset paging never asks for what it has: a page of nothing new is a portal repeating
                # itself (a made-up count, `start` ignored), which would otherwise be paged forever.
                raise IncompleteListing(
                    N_("paging %(url)s stopped: page %(page)s added no new dataset, the portal repeats its pages "
                       "(%(received)s datasets received, count %(count)s)"), self.client.url("package_search"),
                    page=pages, received=len(unique), count=page.count)
            if on_page:
                on_page(len(unique), page.count if pages == 1 else None)
            if results:
                complete = len(results) == len(page.results)
                yield Batch(results, page.text if complete else None, "$.result.results[*]")
            received = len(page.results)
            if received == 0 or (0 if by_id else len(ties)) + received >= page.count:
                break
            if received < self.catalog.rows:
                self.effective_rows = received
            last = _millis(page.results[-1].get("metadata_modified"))
            if last is None or last == cursor:
                # no usable timestamp, or a run of equal ones: every row of the page is a tie
                ties.extend(str(r.get("id")) for r in page.results)
            else:
                cursor = last
                ties = [str(r["id"]) for r in results if _millis(r.get("metadata_modified")) == last]
        if pages > 1:
            # The window can only lose datasets while we page (they move past its end), never gain:
            # if we hold fewer than it counts now, the server skipped some (ignored sort or filter).
            final = self.client.package_search(fq=self._fq(f"metadata_modified:[{low} TO {high}]"),
                                               q=self.q, rows=0)
            if len(unique) < final.count:
                raise IncompleteListing(
                    N_("paging %(url)s gave %(received)s datasets but the window holds %(count)s"),
                    self.client.url("package_search"), received=len(unique), count=final.count)
        if report is not None:
            report.pages = (report.pages or 0) + pages
            if self.effective_rows != self.catalog.rows:
                report.rows_cap = self.effective_rows

    def changed(self, since: datetime | None, report: ListingReport,
                on_page: PageCallback | None = None) -> Iterator[Batch]:
        report.window_start = since
        report.complete = since is None
        yield from self._pages(solr_time(since) if since else "*", None, report, on_page)

    def fallback(self) -> Connector | None:
        """package_list + package_show, when they can honour the catalog's slice (`organization` only)."""
        return PackageListConnector(self.catalog, self.client) if self.catalog.list_fallback_possible() else None

    def run_mode(self, report: ListingReport) -> str:
        return "full" if report.complete else "incremental"

    def total(self) -> int:
        return self.client.package_search(fq=self._fq("-dataset_type:harvest"), q=self.q, rows=0).count

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        for batch in self._pages("*", "id,metadata_modified", None, None):
            ids.update(str(r["id"]) for r in batch)
        return ids

    def still_there(self, ids: set[str]) -> list[Dataset]:
        found: list[Dataset] = []
        ordered = sorted(ids)
        for i in range(0, len(ordered), ID_CHUNK):
            chunk = ordered[i:i + ID_CHUNK]
            page = self.client.package_search(fq=self._fq("id:(" + " OR ".join(_quote(x) for x in chunk) + ")"),
                                              q=self.q, rows=len(chunk))
            found.extend(r for r in page.results if isinstance(r, dict) and str(r.get("id")) in ids)
        return found
