"""The fetch stage: download the resources of harvested datasets safely, like a link checker.

Each resource ends with one verdict in `resource_files`: ok, not_modified, not_found, server_error,
http_error, timeout, too_large, refused (with the reason), unreachable, or html_page (an HTML page
where a file was promised), plus the time of the first failure and of the last success.
Files land in `datasets/raw/<catalog>/<dataset>/<resource-id>.<ext>`; an unchanged file is not
downloaded again (ETag / Last-Modified), and a failed download never replaces a good file.

With `backoff` (the nightly job), a link that keeps failing at the same URL is not asked again every
run: it waits as long as it has been failing, at least 20 hours and at most a week, so a link broken for
months costs a request a week, and a link the publisher changed is checked at once.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harvester import http
from harvester.archives import inspect_gzip, inspect_zip
from harvester.clock import utcnow
from harvester.config import Settings
from harvester.errors import PathEscape
from harvester.linkstatus import FAILURES, healthy
from harvester.paths import inside
from harvester.progress import Progress, SilentProgress
from harvester.sniff import sniff
from harvester.store import Store
from harvester.urlpolicy import UrlPolicy

BACKOFF_MIN_SECONDS = 20 * 3600  # a nightly job re-checks a link that broke last night
BACKOFF_MAX_SECONDS = 7 * 86400
_SAFE = re.compile(r"[^a-z0-9_.-]+")


@dataclass
class FetchSummary:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    downloaded_bytes: int = 0
    backed_off: int = 0
    """Failing links not asked again this time (`backoff`)."""

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
                     max_size: int | None) -> list[dict[str, Any]]:
    """The resources to fetch; `waiting` marks a link failing at the same URL that is not due for a re-check
    yet (see the module doc)."""
    sql = [f"""SELECT r.catalog_id, r.dataset_id, r.remote_id AS resource_id, r.url, r.format, r.size, d.name,
               EXISTS (SELECT 1 FROM resource_files f WHERE f.catalog_id = r.catalog_id
                   AND f.dataset_id = r.dataset_id AND f.resource_id = r.remote_id AND f.url = r.url
                   AND f.status IN ({', '.join('?' for _ in FAILURES)})
                   AND epoch(?) - epoch(f.checked_at) < least({BACKOFF_MAX_SECONDS}, greatest({BACKOFF_MIN_SECONDS},
                       epoch(f.checked_at) - epoch(coalesce(f.first_failure_at, f.checked_at))))) AS waiting""",
           "FROM resources r JOIN datasets d ON d.catalog_id = r.catalog_id AND d.remote_id = r.dataset_id",
           "WHERE r.deleted_at IS NULL AND d.deleted_at IS NULL AND r.url IS NOT NULL"]
    params: list[Any] = sorted(FAILURES) + [utcnow()]
    for column, values in (("r.catalog_id", catalogs), ("d.name", datasets)):
        if values:
            sql.append(f"AND {column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    if formats:
        sql.append(f"AND upper(r.format) IN ({', '.join('?' for _ in formats)})")
        params.extend(f.upper().lstrip(".") for f in formats)
    if max_size is not None:
        sql.append("AND coalesce(r.size, 0) <= ?")
        params.append(max_size)
    sql.append("ORDER BY r.catalog_id, d.name, r.position")
    return store.query(" ".join(sql), params)


def fetch(settings: Settings, *, catalogs: list[str] | None = None, datasets: list[str] | None = None,
          formats: list[str] | None = None, max_size: int | None = None,
          progress: Progress | None = None, backoff: bool = False) -> FetchSummary:
    """Fetch every selected resource (with `backoff`, failing links only when due); one bad file never stops
    the run."""
    progress = progress or SilentProgress()
    config = settings.fetch
    if catalogs:
        settings.select(catalogs)  # unknown ids are a one-line error
    policy = UrlPolicy(frozenset(config.allow_hosts))
    session = http.make_file_session(config.user_agent)
    summary = FetchSummary()
    with Store(settings.paths.database) as store:
        selected = select_resources(store, catalogs or [], datasets or [], formats or [], max_size)
        chosen = [r for r in selected if not r["waiting"]] if backoff else selected
        summary.backed_off = len(selected) - len(chosen)
        summary.total = len(chosen)
        progress.start("fetch", len(chosen))
        for done, resource in enumerate(chosen, 1):
            status = _fetch_one(settings, store, session, policy, resource)
            summary.count(status)
            progress.update("fetch", done, len(chosen))
        progress.finish("fetch", ", ".join(f"{n} {s}" for s, n in sorted(summary.by_status.items())) or "nothing")
    return summary


def _fetch_one(settings: Settings, store: Store, session: http.Session, policy: UrlPolicy,
               resource: dict[str, Any]) -> str:
    config = settings.fetch
    catalog_id, dataset_id, resource_id = resource["catalog_id"], resource["dataset_id"], resource["resource_id"]
    previous = store.resource_file(catalog_id, dataset_id, resource_id) or {}
    dest = (settings.paths.raw / safe_part(catalog_id) / safe_part(resource["name"], dataset_id)
            / f"{safe_part(resource_id)}.{_extension(resource['format'], resource['url'])}")
    try:
        inside(settings.paths.raw, dest)
    except PathEscape as exc:  # a planted symlink under raw/: nothing is written through it
        row = {"catalog_id": catalog_id, "dataset_id": dataset_id, "resource_id": resource_id, "url": resource["url"],
               "status": "refused", "reason": str(exc), "declared_format": resource["format"],
               "checked_at": utcnow(), "first_failure_at": previous.get("first_failure_at") or utcnow()}
        store.record_resource_file({**previous, **row})
        return "refused"
    same_url = previous.get("url") == resource["url"]
    result = http.download(session, resource["url"], dest, check_url=policy.check, max_bytes=config.max_bytes,
                           timeout=(config.connect_timeout, config.timeout), max_seconds=config.max_seconds,
                           etag=previous.get("etag") if same_url else None,
                           last_modified=previous.get("last_modified") if same_url else None)
    now = utcnow()
    row: dict[str, Any] = {
        "catalog_id": catalog_id, "dataset_id": dataset_id, "resource_id": resource_id, "url": resource["url"],
        "final_url": result.final_url, "status": result.status, "reason": result.reason,
        "http_status": result.http_status, "declared_format": resource["format"], "checked_at": now,
        "path": previous.get("path"), "size": previous.get("size"), "sha256": previous.get("sha256"),
        "etag": previous.get("etag"), "last_modified": previous.get("last_modified"),
        "content_type": previous.get("content_type"), "sniffed_format": previous.get("sniffed_format"),
        "members": previous.get("members"), "changed_at": previous.get("changed_at"),
        "last_success_at": previous.get("last_success_at"), "first_failure_at": previous.get("first_failure_at"),
    }
    if result.status == "ok":
        kind = sniff(dest)
        row.update(path=str(dest.relative_to(settings.paths.root)), size=result.size, sha256=result.sha256,
                   etag=result.etag, last_modified=result.last_modified, content_type=result.content_type,
                   sniffed_format=kind, members=None)
        if result.sha256 != previous.get("sha256"):
            row["changed_at"] = now
        if kind == "HTML" and (resource["format"] or "") not in ("HTML", "HTM"):
            row.update(status="html_page", reason="an HTML page was served instead of the file")
        elif kind in ("ZIP", "XLSX", "SHP-ZIP", "GZIP"):
            inspect = inspect_gzip if kind == "GZIP" else inspect_zip
            report = inspect(dest, config.max_member_bytes, config.max_ratio)
            row["members"] = report.members or None
            if not report.ok:
                dest.unlink(missing_ok=True)  # never leave a bomb or an escaping archive for later stages
                row.update(status="refused", reason=report.reason, path=None)
    if result.status == "not_modified" and previous.get("status") == "html_page":
        row.update(status="html_page", reason=previous.get("reason"))  # the same page as last time
    if healthy(row["status"]):
        row["last_success_at"] = now
        row["first_failure_at"] = None
    elif row["first_failure_at"] is None:
        row["first_failure_at"] = now
    store.record_resource_file(row)
    return str(row["status"])
