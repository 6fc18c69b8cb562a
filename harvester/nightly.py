"""`harvester nightly`: every stage, incrementally, one run at a time, each catalog on its own.

Stages: harvest, fetch, validate, profile, pack build, report (the site). Each is incremental already (a
window per catalog, conditional downloads, work keyed by sha256, packs keyed by their inputs, the site
published only when a page differs), so with nothing changed upstream a run does almost no work. A catalog that fails to harvest is reported and left out
of the later stages; the others complete. A stage that fails is reported and the next ones still run.
Every write is a transaction or an atomic rename, so a run killed at any moment leaves the previous
state readable and the next run completes the work.

One run at a time: the run holds an exclusive lock on `<data_dir>/.nightly.lock`; a second one exits at
once (exit status 5) and touches nothing. The run summary (what changed, failures, time per stage) is
written as JSON to `<data_dir>/runs/<start>.json` and printed as text.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable

from harvester import i18n
from harvester.clock import utcnow
from harvester.config import Settings
from harvester.errors import HarvesterError, Text
from harvester.exitcodes import ExitCode
from harvester.i18n import N_, _
from harvester.linkstatus import FAILURES
from harvester.model import NightlyChanges, NightlySummary, NightlyWork, ResourceKey, StageFailure
from harvester.paths import make_folder
from harvester.progress import Progress, SilentProgress
from harvester.render import printable
from harvester.scale import shared as shared_cluster
from harvester.store import Store
from harvester.store.core import NoStoreYet

if TYPE_CHECKING:
    from harvester.pack import PackResult

__all__ = ["NightlyBusy", "NightlySummary", "render_summary", "run_nightly", "writer_lock"]


class NightlyBusy(HarvesterError):
    """Another run (a nightly, or a writing command run by hand) holds the lock."""


class _Lock:
    """An exclusive, non-blocking flock; released when the process ends, however it ends.

    The nightly holds it, and so does every command that writes (harvest, fetch, validate, profile, pack
    build, report): one writer at a time, the second exits at once (status 5) and touches nothing. The
    file says who holds it (`<command>: pid <pid>, started <time>`)."""

    def __init__(self, path: Path, command: str = "nightly") -> None:
        self.path = path
        self.command = command
        self.handle: IO[str] | None = None

    def __enter__(self) -> _Lock:
        make_folder(self.path.parent)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read(400).strip().splitlines()
            handle.close()
            what, found, rest = (holder[0] if holder else "").partition(": ")
            what, rest = (what, rest) if found else ("nightly", what)  # an older lock file: pid only
            raise NightlyBusy(N_("%(file)s: another %(command)s run is in progress (%(holder)s); nothing was done"),
                              file=self.path, command=what, holder=rest or Text(N_("unknown"))) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{self.command}: pid {os.getpid()}, started {utcnow().isoformat(timespec='seconds')}Z\n")
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()


def writer_lock(settings: Settings, command: str) -> _Lock:
    """The one-writer lock for a command run by hand (see `_Lock`)."""
    return _Lock(settings.paths.nightly_lock, command)


def _link_statuses(settings: Settings) -> dict[ResourceKey, str | None]:
    try:
        with Store(settings.paths.database, read_only=True) as store:
            return store.link_statuses()
    except NoStoreYet:  # none yet, or one a kill cut short at its birth (set aside): the harvest makes it
        return {}


def run_nightly(settings: Settings, catalogs: list[str] | None = None,
                progress: Progress | None = None, max_seconds: float | None = None) -> NightlySummary:
    """One nightly run (see the module doc); raises NightlyBusy when another one is running.

    `max_seconds` (`--max-duration`): no download, validation or profile starts after that many seconds
    from the start; what is left is the next run's first work (the oldest checks first). The packs and
    the site are still built from what was done."""
    from harvester.fetch import fetch
    from harvester.harvest import harvest
    from harvester.pack import build_packs
    from harvester.profile import profile
    from harvester.report import build_site
    from harvester.validate import validate

    progress = progress or SilentProgress()
    selected = [c.id for c in settings.harvestable(catalogs or [])]
    with _Lock(settings.paths.nightly_lock):
        deadline = time.monotonic() + max_seconds if max_seconds else None
        settings.paths.ensure()
        started = utcnow()
        # milliseconds: two runs can start within one second, and each needs its own summary
        summary = NightlySummary(started_at=started.isoformat(timespec="milliseconds") + "Z")
        before = _link_statuses(settings)

        def stage(name: str, work: Callable[[], Any]) -> Any:
            begun = time.monotonic()
            try:
                return work()
            except HarvesterError as exc:
                summary.failures.append(StageFailure(name, name, str(exc)))
            except Exception as exc:  # noqa: BLE001 - one broken stage must not stop the others
                summary.failures.append(StageFailure(name, name, f"{type(exc).__name__}: {exc}",
                                                     trace=traceback.format_exc(limit=3)))
            finally:
                summary.seconds[name] = round(time.monotonic() - begun, 2)
            return None

        results = stage("harvest", lambda: harvest(settings, selected, progress=progress)) or []
        summary.catalogs = list(results)
        for r in results:
            if r.status == "failed":
                summary.failures.append(StageFailure("harvest", r.catalog_id, r.error or "failed"))
        healthy = [r.catalog_id for r in results if r.status != "failed"]
        if healthy:
            with shared_cluster(settings.scale):  # one Dask cluster for the three stages, when they use one
                fetched = stage("fetch", lambda: fetch(
                    settings, catalogs=healthy, progress=progress, backoff=True,
                    max_seconds=None if deadline is None else max(deadline - time.monotonic(), 0.001)))
                validated = stage("validate", lambda: validate(settings, catalogs=healthy, progress=progress,
                                                               deadline=deadline))
                profiled = stage("profile", lambda: profile(settings, catalogs=healthy, progress=progress,
                                                            deadline=deadline))
            packs = stage("packs", lambda: build_packs(settings)) if settings.profiles.is_dir() else []
            summary.work = NightlyWork(
                downloaded=fetched.by_status.get("ok", 0) if fetched else 0,
                not_modified=fetched.by_status.get("not_modified", 0) if fetched else 0,
                broken_not_rechecked=fetched.backed_off if fetched else 0,
                unchanged_not_rechecked=fetched.not_due if fetched else 0,
                left_for_next_run=((fetched.deferred if fetched else 0) + (validated.left if validated else 0)
                                   + (profiled.left if profiled else 0)) if deadline is not None else None,
                validated_tables=validated.validated if validated else 0,
                profiled_files=profiled.profiled if profiled else 0)
            summary.changes = _changes(settings, started, before, packs or [])
        _settle(summary, healthy)
        if settings.paths.database.exists():
            # The site shows this run's changes and failures too, so it is built once they are known.
            site = stage("report", lambda: build_site(settings, current_run=summary))
            summary.work.site_published = bool(site and site.published)
            for note in site.notes if site else []:  # a search index shard kept from the previous build
                summary.failures.append(StageFailure("report", "search", note))
            _settle(summary, healthy)
        summary.work.failed_catalogs = sorted({f.what for f in summary.failures if f.stage == "harvest"})
        summary.finished_at = utcnow().isoformat(timespec="seconds") + "Z"
        summary.seconds["total"] = round(sum(v for k, v in summary.seconds.items() if k != "total"), 2)
        summary.summary_path = str(_write_summary(settings, started, summary))
    return summary


def _settle(summary: NightlySummary, healthy: list[str]) -> None:
    """The run's status and exit code from what failed so far."""
    if not healthy:
        summary.status, summary.exit_code = "failed", ExitCode.ALL_FAILED
    elif summary.failures:
        summary.status, summary.exit_code = "partial", ExitCode.SOME_FAILED
    else:
        summary.status, summary.exit_code = "ok", ExitCode.OK


def _changes(settings: Settings, started: datetime, before: dict[ResourceKey, str | None],
             packs: list["PackResult"]) -> NightlyChanges:
    with Store(settings.paths.database, read_only=True) as store:
        datasets = store.dataset_changes(started)
        names = store.dataset_names()
        resources = store.resource_names()
    after = _link_statuses(settings)
    broken, repaired = [], []
    for key, status in sorted(after.items()):
        previous = before.get(key)
        name = names.get((key.catalog_id, key.dataset_id), key.dataset_id)
        # the resource as people know it, its name; its id only when the portal gave it none
        entry = f"{key.catalog_id}/{name}: {resources.get(key) or key.resource_id}: {status}"
        if status in FAILURES and previous not in FAILURES:  # a new dataset's broken link is a new one too
            broken.append(entry)
        elif previous in FAILURES and status not in FAILURES:
            repaired.append(entry)
    return NightlyChanges(new_datasets=datasets.new, updated_datasets=datasets.updated,
                          removed_datasets=datasets.removed, newly_broken_links=tuple(broken),
                          repaired_links=tuple(repaired),
                          packs_rebuilt=tuple(f"{p.name} {p.version}" for p in packs if p.new))


def _write_summary(settings: Settings, started: datetime, summary: NightlySummary) -> Path:
    folder = settings.paths.runs
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{started.strftime('%Y%m%dT%H%M%S')}.{started.microsecond // 1000:03d}Z.json"
    summary.summary_path = str(path)
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(temporary, path)  # readers see a whole summary or none
    return path


def render_summary(summary: NightlySummary) -> str:
    """The run as people read it, in the CLI's language (harvester/i18n.py); its JSON file stays as it is."""
    c, w = summary.changes or NightlyChanges(), summary.work
    status = i18n.word(summary.status)
    lines = [_("Nightly run %(started)s: %(status)s (exit %(code)s)") % {
                 "started": i18n.format_datetime(summary.started_at), "status": status, "code": summary.exit_code},
             _("Time: %(stages)s") % {"stages": ", ".join(f"{i18n.word(k)} {v:g}s" for k, v in summary.seconds.items())},
             _("Work: %(downloaded)s downloaded, %(not_modified)s not modified, %(broken)s broken links not due for "
               "a re-check, %(unchanged)s unchanged files not due yet, %(validated)s tables validated, %(profiled)s "
               "files profiled, site %(site)s") % {
                 "downloaded": w.downloaded or 0, "not_modified": w.not_modified or 0,
                 "broken": w.broken_not_rechecked or 0, "unchanged": w.unchanged_not_rechecked or 0,
                 "validated": w.validated_tables or 0, "profiled": w.profiled_files or 0,
                 "site": _("published") if w.site_published else _("unchanged")}
             + (_("; %(left)s left for the next run (--max-duration)") % {"left": w.left_for_next_run}
                if w.left_for_next_run else "")]
    for key, label in (("new_datasets", N_("New datasets")), ("updated_datasets", N_("Updated datasets")),
                       ("removed_datasets", N_("Removed datasets")), ("newly_broken_links", N_("Newly broken links")),
                       ("repaired_links", N_("Repaired links")), ("packs_rebuilt", N_("Packs rebuilt"))):
        items = getattr(c, key)
        more = _("; and %(more)s more") % {"more": len(items) - 10} if len(items) > 10 else ""
        lines.append(f"{_(label)}: {len(items)}" + ("" if not items else ": " + "; ".join(items[:10]) + more))
    for f in summary.failures:
        lines.append(_("FAILED %(stage)s %(what)s: %(reason)s") % {"stage": i18n.word(f.stage), "what": f.what,
                                                                   "reason": f.reason})
    lines.append(_("Summary: %(path)s") % {"path": summary.summary_path})
    return "\n".join(printable(line) for line in lines)  # a portal's name cannot add a line of its own
