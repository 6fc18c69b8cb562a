"""The fallback for portals without a usable package_search (DKAN, disabled search):
package_list, then package_show for each name. Always a complete listing.

package_list also names ckanext-harvest's sources (datasets of type `harvest`, which package_search
leaves out by default); they are shown, and left out here too, so both listings hold the same datasets."""
from __future__ import annotations

from datetime import datetime
from typing import Iterator

from harvester.clock import utcnow
from harvester.config import CatalogConfig
from harvester.connectors.base import Batch, Connector, Dataset, ListingReport, PageCallback, batches
from harvester.errors import CkanNotFound, PortalError

BATCH = 200
MAX_CONSECUTIVE_FAILURES = 10


class PackageListConnector(Connector):
    mode = "list"
    listing = "package_list + package_show"
    search_supported = False
    confirms_deletions = True  # one package_list names every dataset at once: what it lacks is gone

    @classmethod
    def suits(cls, catalog: CatalogConfig, search_supported: bool | None) -> bool:
        return catalog.kind == "dkan" or search_supported is False

    def changed(self, since: datetime | None, report: ListingReport,
                on_page: PageCallback | None = None) -> Iterator[Batch]:
        # package_list carries no dates: every dataset is shown again; unchanged ones merge as such.
        report.complete = True
        report.window_start = since
        names = self.client.package_list()
        report.window_end = self.client.last_server_time or utcnow()
        yield from batches(self._shown(names, report, on_page), self.catalog, BATCH)

    def _shown(self, names: list[str], report: ListingReport, on_page: PageCallback | None) -> Iterator[Dataset]:
        """package_show of each name; failures are recorded (ten in a row stop the listing)."""
        consecutive = 0
        done = 0
        for name in names:
            try:
                dataset = self.client.package_show(name)
                consecutive = 0
            except CkanNotFound:
                continue  # deleted between package_list and package_show
            except PortalError as exc:
                consecutive += 1
                report.failed.append(name)
                report.errors.append(f"{name}: {exc}")
                if consecutive >= MAX_CONSECUTIVE_FAILURES:
                    raise
                continue
            done += 1
            if isinstance(dataset, dict) and dataset.get("type") == "harvest":
                continue  # a harvest source, not data (package_search leaves them out as well)
            yield dataset
            if on_page and (done % 20 == 0 or done == len(names)):
                on_page(done, len(names))
        if on_page:
            on_page(done, len(names))
