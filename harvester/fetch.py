"""The fetch stage: download the resources of harvested datasets safely, like a link checker.

Each resource ends with one verdict in `resource_files`: ok, not_modified, not_found, server_error,
http_error, timeout, too_large, refused (with the reason), unreachable, or html_page (an HTML page
where a file was promised), plus the time of the first failure and of the last success.
Files land in `datasets/raw/<catalog>/<dataset>/<resource-id>.<ext>` (one file per resource: when cleaned
names meet, the later resource's file name carries its key's hash); an unchanged file is not downloaded
again (ETag / Last-Modified). A download lands under a temporary name and is inspected there: an HTML page,
an empty answer or a refused archive never replaces or deletes the last good file, which keeps its facts.

Downloads run `workers` at once in threads, or as Dask tasks (`[scale] dask`, `--dask`: `download_on_worker`),
each host on its own queue with its own politeness (harvester/hosts.py: per_host connections, delay,
robots.txt, Retry-After, a catalog's own delay on its API's host); the driver thread alone schedules, for
the whole cluster, and writes the store, `batch_size` results (or `batch_seconds`) per transaction, with every
previous check read once up front. A run killed mid-way loses at most the batch in flight.

With `backoff` (the nightly job, `fetch --due`), a link checked before is asked again only when due
(`RecheckRule`, `[fetch] recheck_min_hours` and `recheck_max_days`): a link that keeps failing at the same
URL waits as long as it has been failing, an unchanged file a quarter of the time it has been unchanged,
at least 20 hours and at most a week either way; so a link broken for months, or a file unchanged for
months, costs a request a week, and a link or dataset the publisher changed is checked at once. The oldest
checks go first, so a run ended by its deadline (`max_run_seconds`, `--max-duration`) is continued by the
next one where it stopped, and nothing it recorded is asked again before it is due.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from harvester import http
from harvester.archives import inspect_gzip, inspect_xlsx, inspect_zip
from harvester.clock import utcnow
from harvester.config import Settings
from harvester.errors import DataFolderError, PathEscape
from harvester.i18n import N_
from harvester.hosts import Host, Robots, RobotsCache, RobotsRefusal, Scheduler, host_of, origin_of, product_token
from harvester.linkstatus import LinkStatus
from harvester.model import LinkCheck, RecheckRule, ResourceKey, ResourceToFetch
from harvester.paths import inside
from harvester.progress import Progress, SilentProgress
from harvester.scale import client as scale_client
from harvester.sniff import sniff
from harvester.store import Store
from harvester.urlpolicy import UrlPolicy

_SAFE = re.compile(r"[^a-z0-9_.-]+")


@dataclass
class FetchSummary:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    downloaded_bytes: int = 0
    backed_off: int = 0
    """Failing links not asked again this time (`backoff`): not due yet."""
    not_due: int = 0
    """Unchanged files not asked again this time (`backoff`): not due yet."""
    deferred: int = 0
    """Resources left for the next run: their host asked to wait past the deadline or past max_wait."""
    notes: list[str] = field(default_factory=list)
    """What the run found about hosts: robots.txt read or not, resources left for the next run and why."""

    def count(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1


def _clean(text: str | None) -> str:
    return _SAFE.sub("-", (text or "").lower()).strip(".-")[:120]


def safe_part(text: str | None, fallback: str | None = None) -> str:
    """A path component from a portal-supplied name: no separators, no dot-dot, bounded length.

    A name with no safe character (`..`, `数据集`) falls back to `fallback` only when that is already a safe
    component as it stands (a CKAN id), and otherwise to a hash of both: never to raw portal text."""
    cleaned = _clean(text)
    if cleaned:
        return cleaned
    if fallback and _clean(fallback) == fallback:
        return fallback
    digest = hashlib.sha256(f"{text or ''}\0{fallback or ''}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"x-{digest[:16]}"


def _extension(declared: str | None, url: str) -> str:
    if declared and re.fullmatch(r"[A-Z0-9]{1,8}", declared):
        return declared.lower()
    suffix = Path(url.split("?", 1)[0]).suffix.lower().lstrip(".")
    return suffix if re.fullmatch(r"[a-z0-9]{1,8}", suffix or "") else "bin"


def select_resources(store: Store, catalogs: list[str], datasets: list[str], formats: list[str],
                     max_size: int | None, rule: RecheckRule) -> list[ResourceToFetch]:
    """The resources to fetch, oldest checks first; each says whether it is due (see the module doc)."""
    return store.resources_to_fetch(catalogs, datasets, formats, max_size, utcnow(), rule)


def raw_destination(raw: Path, item: ResourceToFetch, claims: dict[Path, ResourceKey]) -> Path:
    """Where a resource's file goes: `raw/<catalog>/<dataset>/<resource>.<ext>`, unique per resource.

    Portal strings are cleaned (lower case, safe characters), so two resources can meet at one path: ids
    that differ only in case (`ABC`, `abc`), or two datasets with one name. `claims` holds the path of
    every resource that has one (the store's, and this run's): the first keeps the plain path, a later
    one gets its key's hash in the name (`abc-<hash>.csv`), so no two resources ever share a file."""
    resource = item.resource
    folder = raw / safe_part(resource.catalog_id) / safe_part(item.dataset_name, resource.dataset_id)
    stem, ext = safe_part(resource.remote_id), _extension(resource.format, resource.url)
    dest = folder / f"{stem}.{ext}"
    if claims.setdefault(dest, item.key) != item.key:
        key = "\0".join((resource.catalog_id, resource.dataset_id, resource.remote_id))
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        dest = folder / f"{stem}-{digest}.{ext}"
        claims[dest] = item.key
    return dest


def fetch(settings: Settings, *, catalogs: list[str] | None = None, datasets: list[str] | None = None,
          formats: list[str] | None = None, max_size: int | None = None,
          progress: Progress | None = None, backoff: bool = False,
          max_seconds: float | None = None) -> FetchSummary:
    """Fetch every selected resource (with `backoff`, only those due); one bad file never stops the run;
    `max_seconds` (`--max-duration`; else `[fetch] max_run_seconds`) ends it on time, the rest left for the
    next run. Downloads run `workers` at once, each host politely on its own queue (harvester/hosts.py);
    this thread alone writes the store, a batch at a time."""
    progress = progress or SilentProgress()
    if catalogs:
        settings.select(catalogs)  # unknown ids are a one-line error
    summary = FetchSummary()
    with Store(settings.paths.database) as store:
        selected = select_resources(store, catalogs or [], datasets or [], formats or [], max_size,
                                    settings.fetch.recheck)
        chosen = [r for r in selected if r.due] if backoff else selected
        if backoff:
            summary.backed_off = sum(r.waiting for r in selected)
            summary.not_due = sum(r.resting for r in selected)
        summary.total = len(chosen)
        claims = {settings.paths.root / path: key for path, key in store.raw_paths()}
        previous = store.link_checks()  # read once: no query per resource
        jobs = [_Job(item, raw_destination(settings.paths.raw, item, claims), previous.get(item.key))
                for item in chosen]
        progress.start("fetch", len(chosen))
        limit = (settings.fetch.max_run_seconds, "max_run_seconds {:g}") if max_seconds is None \
            else (max_seconds, "--max-duration {:g} s")
        switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_SECONDS)  # a finished download wakes the driver at once
        try:
            _Run(settings, store, progress, summary, limit).run(jobs)
        finally:
            sys.setswitchinterval(switch)
        done = ", ".join(f"{n} {s}" for s, n in sorted(summary.by_status.items())) or "nothing"
        if summary.deferred:
            done += f"; {summary.deferred} left for the next run"
        progress.finish("fetch", done)
    return summary


@dataclass
class _Job:
    """One resource to check: where its file goes and its last check (None: never checked)."""

    item: ResourceToFetch
    dest: Path
    previous: LinkCheck | None
    tries: int = 0

    @property
    def url(self) -> str:
        return self.item.resource.url or ""


@dataclass
class _Outcome:
    check: LinkCheck
    retry_after: float | None = None
    """Seconds the host asked to wait (a 429 or 503 with Retry-After; a 429 without: RETRY_429_SECONDS)."""


SWITCH_SECONDS = 0.0005
"""Python's thread switch interval during a fetch (default 5 ms): the driver hands each host its next request
as soon as the last one ends, instead of waiting up to 5 ms for a download thread to give up the GIL."""
POOLS = 256
"""Hosts whose connections are kept open between requests (the least recently used beyond that close)."""
RETRY_429_SECONDS = 60.0
"""How long a host answering 429 without Retry-After is left alone."""
RETRY_TRIES = 3
"""Times one resource is asked in a run when its host keeps answering 429/503 with Retry-After."""


class _Run:
    """The driver of one fetch run: it alone schedules, and it alone writes the store."""

    def __init__(self, settings: Settings, store: Store, progress: Progress, summary: FetchSummary,
                 limit: tuple[float, str] = (0.0, "")) -> None:
        config = settings.fetch
        self.settings, self.store, self.progress, self.summary = settings, store, progress, summary
        self.config = config
        self.downloader = Downloader(settings)
        self.robots = self.downloader.robots
        self.scheduler = Scheduler(settings.host_limits)
        self.batch: list[LinkCheck] = []
        self.flushed_at = time.monotonic()
        self.done = 0
        seconds, label = limit
        self.limit = label.format(seconds)
        """What set the run's deadline, as the notes name it."""
        self.deadline = time.monotonic() + seconds if seconds else None

    # Writing ---------------------------------------------------------------------------------

    def record(self, check: LinkCheck) -> None:
        self.batch.append(check)
        self.summary.count(str(check.status))
        self.done += 1
        self.progress.update("fetch", self.done, self.summary.total)

    def flush(self) -> None:
        """Write the results so far in one transaction."""
        if self.batch:
            self.store.record_link_checks(self.batch)
            self.batch = []
        self.flushed_at = time.monotonic()

    def defer(self, host: Host, reason: str, job: _Job | None = None) -> None:
        """Leave the host's remaining resources (and `job`) for the next run."""
        left = ([job] if job else []) + list(host.queue)
        host.queue.clear()
        if left:
            self.summary.deferred += len(left)
            self.summary.notes.append(f"{host.name}: {len(left)} resources left for the next run: {reason}")

    # Driving ---------------------------------------------------------------------------------

    @contextmanager
    def pools(self) -> Iterator[tuple[Executor, Callable[[_Job], Future[_Outcome]]]]:
        """Where robots.txt is read (here, always) and how a download is started: in this process's threads,
        or as a Dask task (`[scale] dask`, `--dask`), which only downloads and returns its outcome."""
        with ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="fetch") as pool:
            if self.settings.scale.dask is None:
                yield pool, lambda job: pool.submit(self.downloader.download, job)
                return
            with scale_client(self.settings.scale) as dask:
                tasks = dask.get_executor(pure=False)
                yield pool, lambda job: tasks.submit(download_on_worker, self.settings, job,
                                                     self.robots.known(origin_of(job.url) or ""))

    def run(self, jobs: list[_Job]) -> None:
        if not jobs:  # nothing to ask: no pool, no cluster
            return
        for job in jobs:
            self.scheduler.add(host_of(job.url), job)
        running: dict[Future[Any], tuple[str, Host, Any, float]] = {}
        failure: BaseException | None = None
        with self.pools() as (pool, begin):
            try:
                while self.scheduler.pending() or running:
                    now = time.monotonic()
                    if failure is None:
                        self.start_ready(pool, begin, running, now)
                    if not running and not self.scheduler.pending():
                        break
                    if not running and failure is not None:
                        break
                    waits = [self.flushed_at + self.config.batch_seconds - now]
                    start = self.scheduler.next_start()
                    if start is not None and failure is None and len(running) < self.config.workers:
                        waits.append(start - now)
                    if self.deadline is not None and self.scheduler.pending():
                        waits.append(self.deadline - now)
                    timeout = max(0.0, min(waits))
                    if running:
                        finished, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                    else:
                        time.sleep(timeout)
                        finished = set()
                    for future in finished:
                        kind, host, payload, began = running.pop(future)
                        ended = time.monotonic()
                        try:
                            result = future.result()
                        except _lost_tasks() as exc:  # every worker that ran it died: the next run asks again
                            self.scheduler.ended(host, ended)
                            self.defer(host, f"its download was lost with the Dask workers that ran it "
                                             f"({type(exc).__name__})", payload)
                            continue
                        except BaseException as exc:  # a full disk: stop starting, finish, write, raise
                            self.scheduler.ended(host, ended)
                            if kind == "robots":
                                host.loading = None
                            failure = failure or exc
                            continue
                        if kind == "robots":
                            self.robots_read(host, result, ended)
                        else:
                            self.scheduler.ended(host, ended, ended - began)
                            self.finished(host, payload, result, ended)
                    if failure is None and finished:  # the next downloads run while this thread writes
                        self.start_ready(pool, begin, running, time.monotonic())
                    if len(self.batch) >= self.config.batch_size \
                            or time.monotonic() - self.flushed_at >= self.config.batch_seconds:
                        self.flush()
                    if failure is not None and not running:
                        break
            finally:
                for future in running:
                    future.cancel()
                self.flush()
        if failure is not None:
            raise failure

    def start_ready(self, pool: Executor, begin: Callable[[_Job], Future[_Outcome]],
                    running: dict[Future[Any], tuple[str, Host, Any, float]], now: float) -> None:
        """Start what may start: a host's robots.txt before its first file, then its files."""
        if self.deadline is not None and now >= self.deadline:
            for host in self.scheduler.hosts.values():
                self.defer(host, f"the run's deadline ({self.limit}) passed")
            return
        for host in self.scheduler.ready(now):
            while host.queue and host.active < host.per_host and host.loading is None \
                    and len(running) < self.config.workers and host.next_at <= now:
                job = host.queue[0]
                origin = origin_of(job.url)
                if origin is not None and self.robots.known(origin) is None:
                    host.loading = origin
                    self.scheduler.started(host, now)
                    running[pool.submit(self.robots.load, origin)] = ("robots", host, origin, now)
                    break
                host.queue.popleft()
                self.scheduler.started(host, now)
                running[begin(job)] = ("file", host, job, now)
            if len(running) >= self.config.workers:
                return

    def robots_read(self, host: Host, robots: Robots, now: float) -> None:
        host.loading = None
        if robots.crawl_delay > host.delay:
            host.delay = robots.crawl_delay
        self.scheduler.ended(host, now)
        if robots.note:
            self.summary.notes.append(robots.note)

    def finished(self, host: Host, job: _Job, outcome: _Outcome, now: float) -> None:
        """A download ended: record it, or, when the host asked us to wait, wait and ask again."""
        asked = outcome.retry_after
        if asked is None or job.tries + 1 >= RETRY_TRIES:
            self.record(outcome.check)
            return
        job.tries += 1
        if asked > self.config.max_wait:
            self.defer(host, f"it asked to wait {asked:g} s (Retry-After), more than max_wait "
                             f"{self.config.max_wait:g}", job)
        elif self.deadline is not None and now + asked > self.deadline:
            self.defer(host, f"it asked to wait {asked:g} s (Retry-After), past the run's deadline "
                             f"({self.limit})", job)
        else:
            self.scheduler.cool(host, now, asked)
            host.queue.appendleft(job)

class Downloader:
    """What one download needs, in the process that runs it: an HTTP session, the address policy and the
    robots.txt rules. The driver's threads share one; each Dask worker process makes its own
    (`download_on_worker`) and is handed the rules the driver read for the file's origin."""

    def __init__(self, settings: Settings) -> None:
        config = settings.fetch
        self.settings = settings
        self.policy = UrlPolicy(frozenset(config.allow_hosts))
        self.session = http.make_file_session(config.user_agent, hosts=POOLS,
                                              per_host=max([config.per_host, *(h.per_host or 1 for _, h in config.hosts)]))
        self.robots = RobotsCache(self.session, check_url=self.policy.check, token=product_token(config.user_agent),
                                  timeout=(config.connect_timeout, config.timeout), max_wait=config.max_wait)

    def check_url(self, url: str) -> None:
        """The address policy, then robots.txt (also for each redirect)."""
        self.policy.check(url)
        verdict = self.robots.verdict(url)
        if verdict is not None:
            raise RobotsRefusal(verdict[1])

    def download(self, job: _Job) -> _Outcome:
        """Download into a temporary name, inspect it, and only then replace the file: an HTML page, an empty
        answer or a refused archive never replaces (or deletes) the last good file, nor its results."""
        settings, config = self.settings, self.settings.fetch
        resource, dest = job.item.resource, job.dest
        base = job.previous or LinkCheck(resource.catalog_id, resource.dataset_id, resource.remote_id)
        now = utcnow()

        def refused(status: str, reason: str) -> _Outcome:
            check = replace(base, url=resource.url, status=status, reason=reason,
                            declared_format=resource.format, checked_at=now,
                            first_failure_at=base.first_failure_at or now)
            return _Outcome(check)
        try:
            inside(settings.paths.raw, dest)
        except PathEscape as exc:  # a planted symlink under raw/: nothing is written through it
            return refused(str(LinkStatus.REFUSED), str(exc))
        origin = origin_of(resource.url or "")
        robots = self.robots.known(origin) if origin else None
        verdict = robots.verdict(resource.url or "", self.robots.token) if robots else None
        if verdict is not None:
            return refused(*verdict)
        same_url = base.url == resource.url
        incoming = _incoming(dest)
        partial = incoming.with_name(incoming.name + ".part")
        try:
            incoming.unlink(missing_ok=True)  # left by a run killed here
            if dest.is_file():
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:  # the same file under the temporary name, so a conditional request can be answered 304
                    os.link(dest, incoming)
                except OSError:
                    pass
            result = http.download(self.session, resource.url, incoming, check_url=self.check_url,
                                   max_bytes=config.max_bytes, timeout=(config.connect_timeout, config.timeout),
                                   max_seconds=config.max_seconds,
                                   etag=base.etag if same_url and incoming.exists() else None,
                                   last_modified=base.last_modified if same_url and incoming.exists() else None)
            check = _judge(settings, base, resource.url, resource.format, result, incoming, dest)
        except OSError as exc:  # a full disk: one line naming the file, nothing half-written left behind
            raise DataFolderError(N_("%(file)s: cannot write the download: %(reason)s"), file=dest,
                                  reason=exc.strerror or exc) from None
        finally:
            incoming.unlink(missing_ok=True)
            partial.unlink(missing_ok=True)
        if check.healthy:
            check = replace(check, last_success_at=check.checked_at, first_failure_at=None)
        elif check.first_failure_at is None:
            check = replace(check, first_failure_at=check.checked_at)
        asked = result.retry_after
        if asked is None and result.http_status == 429:
            asked = RETRY_429_SECONDS
        if asked is not None:
            check = replace(check, reason=f"{check.reason} (Retry-After {asked:g} s)")
        return _Outcome(check, asked)




_WORKER_DOWNLOADERS: dict[tuple[Path, Any], Downloader] = {}
_WORKER_LOCK = threading.Lock()


def download_on_worker(settings: Settings, job: _Job, robots: Robots | None) -> _Outcome:
    """One download as a Dask task: this worker process's Downloader for these settings (made once), the
    origin's robots.txt as the driver read it. Only the data folder is written, never the store."""
    key = (settings.paths.root, settings.fetch)
    with _WORKER_LOCK:
        downloader = _WORKER_DOWNLOADERS.get(key)
        if downloader is None:
            downloader = _WORKER_DOWNLOADERS[key] = Downloader(settings)
    if robots is not None:
        downloader.robots.seed(robots)
    return downloader.download(job)


def _lost_tasks() -> tuple[type[BaseException], ...]:
    """The errors of a Dask task whose workers all died (none when Dask is not in use)."""
    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - a dependency of the package
        return ()
    return (KilledWorker,)


def _incoming(dest: Path) -> Path:
    """The temporary name a download lands at before it is inspected (hidden, beside `dest`)."""
    return dest.with_name(f".{dest.name}.incoming")


def _has_good_file(settings: Settings, check: LinkCheck) -> bool:
    """Whether `check` names a file a good download left (kept while the link fails)."""
    if not (check.path and check.sha256 and check.last_success_at):
        return False
    try:
        return settings.paths.under_root(check.path).is_file()
    except PathEscape:
        return False


def _judge(settings: Settings, base: LinkCheck, url: str, declared: str | None, result: http.Download,
           incoming: Path, dest: Path) -> LinkCheck:
    """What a download found; a good answer is moved from `incoming` to `dest`. The file's facts stay those
    of the last good download unless this one is good."""
    config = settings.fetch
    now = utcnow()
    check = replace(base, url=url, final_url=result.final_url, status=result.status, reason=result.reason,
                    http_status=result.http_status, declared_format=declared, checked_at=now)
    if result.status == LinkStatus.NOT_MODIFIED:
        if base.status == LinkStatus.HTML_PAGE:
            check = replace(check, status=LinkStatus.HTML_PAGE, reason=base.reason)  # the same page as last time
        return check
    if result.status != LinkStatus.OK:
        return check
    kind = sniff(incoming)
    new = replace(check, path=str(dest.relative_to(settings.paths.root)), size=result.size,
                  sha256=result.sha256, etag=result.etag, last_modified=result.last_modified,
                  content_type=result.content_type, sniffed_format=kind, members=None,
                  changed_at=now if result.sha256 != base.sha256 else base.changed_at)
    failure: tuple[LinkStatus, str] | None = None
    if kind == "HTML" and (declared or "") not in ("HTML", "HTM"):
        failure = LinkStatus.HTML_PAGE, "an HTML page was served instead of the file"
    elif kind == "EMPTY":
        failure = LinkStatus.HTTP_ERROR, f"{result.http_status} with an empty body instead of the file"
    elif kind in ("ZIP", "XLSX", "SHP-ZIP", "GZIP"):
        if kind == "GZIP":
            report = inspect_gzip(incoming, config.max_member_bytes, config.max_ratio)
        else:
            report = inspect_zip(incoming, config.max_member_bytes, config.max_ratio)
        if report.ok and kind == "XLSX":
            report = inspect_xlsx(incoming, config.max_member_bytes, config.max_ratio)
        new = replace(new, members=tuple(report.members) or None)
        if not report.ok:  # a bomb or an escaping archive never reaches the later stages
            failure = LinkStatus.REFUSED, report.reason
    if failure is None:
        os.replace(incoming, dest)
        return new
    status, reason = failure
    if _has_good_file(settings, base):
        # the last good file stays, with its facts; no validator, so the next check asks for the whole file
        return replace(check, status=status, reason=f"{reason}; the last good file is kept", etag=None,
                       last_modified=None)
    if status == LinkStatus.HTML_PAGE:  # nothing good to keep: the page itself is what the link gives
        os.replace(incoming, dest)
        return replace(new, status=status, reason=reason)
    return replace(new, status=status, reason=reason, path=None, size=None, sha256=None)
