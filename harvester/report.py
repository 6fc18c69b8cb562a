"""`harvester report`: the organizers' static site in `<data_dir>/site/`, built from the store.

Pages (plain HTML and one stylesheet; no script, no CDN, no web font, so it works offline and on a phone):
- `index.html`: each catalog's health (reachable, datasets, share of broken links, share of valid tables),
  quality distributions (MQA bands, best stars) and the packs;
- `catalogs/<id>.html`: a catalog's datasets with their scores;
- `packs/<name>.html`: a pack's candidates with scores and gate results, downloads (the zip and each
  Parquet file, copied under `downloads/`) and the allies;
- `datasets/<catalog>/<name>.html`: scorecard, resources, validation errors, column profiles with charts;
- `changes.html`: what each nightly run changed (`<data_dir>/runs/*.json`).

Every string from a portal goes through Jinja's autoescaping, and a link taken from a portal is only made a
link when it is http(s). The pages depend on the store, the packs, the run summaries and today's date (ages
are in days), never on the time of the build, so with nothing changed the same bytes come out.

Publishing is atomic: the site is assembled in `<data_dir>/.site/.build-*`, moved to
`<data_dir>/.site/<id>`, and `<data_dir>/site` (a symlink) is switched to it with one `os.replace`. A reader
sees the previous complete site or the new one. When the new pages are byte for byte the published ones,
nothing is written. The previous site is kept for readers still on it; older ones are removed.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

import jinja2

from harvester.clock import utcnow
from harvester.config import Settings
from harvester.errors import HarvesterError
from harvester.linkstatus import healthy
from harvester.model import (CatalogHealth, ColumnProfile, Dataset, DatasetColumn, NightlySummary, Scores,
                             ShownValidation)
from harvester.scores import all_scores
from harvester.store import Store

BAND_ORDER = ("excellent", "good", "sufficient", "bad")
MQA_BINS = 9  # 45-point bins over 0..405
KEEP_BUILDS = 2  # the published site and the one before, for readers still on it
TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class SiteResult:
    path: Path
    """The published folder (what `<data_dir>/site` points at)."""
    pages: int
    downloads: int
    published: bool
    """False when the pages were the same as the published ones, so nothing was written."""
    seconds: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "pages": self.pages, "downloads": self.downloads,
                "published": self.published, "seconds": self.seconds, "notes": self.notes}


# --- small helpers the templates use -------------------------------------------------------------------

def safe_url(value: Any) -> str | None:
    """A portal's URL as a link target only when it is http(s): no `javascript:` or `data:` links."""
    text = str(value or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme in ("http", "https") and parts.netloc else None


def page_slug(name: str) -> str:
    """A file name for a portal's dataset name: safe characters only, and unique (a hash when changed)."""
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", str(name).lower()).strip("-")[:80] or "dataset"
    if cleaned != name:
        cleaned += "-" + hashlib.sha256(str(name).encode("utf-8")).hexdigest()[:8]
    return cleaned


def _percent(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{100 * float(value):.{digits}f}%"


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _value(text: Any, kind: str) -> str:
    """A profile's min or max as text: integers without the `.0` the store keeps them with."""
    if kind == "integer":
        try:
            return f"{int(float(text)):,}"
        except (TypeError, ValueError):
            pass
    return str(text)


def _segment(text: Any) -> str:
    """A portal's name as one URL path segment: `/` and `..` cannot climb out of `/dataset/`."""
    return quote(str(text), safe="")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "svg"], default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters.update(safe_url=safe_url, percent=_percent, number=_number, value=_value, segment=_segment)
    env.tests["healthy"] = healthy
    return env


# --- what the pages show -------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class CatalogPage(CatalogHealth):
    """A catalog as the site shows it: its health, its portal's home page and its page."""

    portal: str | None
    page: str


@dataclass(frozen=True)
class ShownColumn:
    column: ColumnProfile
    chart: dict[str, Any] | None
    """What `charts.column_chart` draws (see `_column_chart`)."""


@dataclass(frozen=True)
class ShownTable:
    """A profiled table of a dataset's page."""

    resource_id: str
    part: str
    resource_name: str | None
    rows: int
    columns: tuple[ShownColumn, ...]


@dataclass(frozen=True, kw_only=True)
class DatasetPage(Dataset):
    """A current dataset as its page shows it: its metadata, scores, validations (per table) and profiles."""

    scores: Scores
    validations: tuple[ShownValidation, ...]
    tables: tuple[ShownTable, ...]
    page: str

    @property
    def best_stars(self) -> int:
        return self.scores.best_stars


def _fields_of(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _catalog_health(store: Store, settings: Settings) -> list[CatalogPage]:
    order = {cid: i for i, cid in enumerate(settings.catalogs)}
    rows = sorted(store.catalog_health(), key=lambda c: (order.get(c.id, len(order)), c.id))
    return [CatalogPage(**_fields_of(c), portal=_portal(c.api_url), page=f"catalogs/{page_slug(c.id)}.html")
            for c in rows]


def _portal(api_url: str | None) -> str | None:
    """The portal's home page from its API URL (`…/api/3/action/` → `…/`)."""
    if not api_url:
        return None
    return safe_url(re.sub(r"api/3/action/?$", "", api_url))


def _datasets(store: Store, scores: dict[tuple[str, str], Scores]) -> list[DatasetPage]:
    """Every current dataset with its scores, validations (per table) and column profiles.

    Only the tables of the dataset's own current resources, each once: the store's rows join resources by
    resource id, which a portal can repeat across datasets (each table then came once per dataset sharing
    the id). Two datasets whose names make one page name get a page each (their ids tell them apart)."""
    validations: dict[tuple[str, str], dict[tuple[str, str], ShownValidation]] = {}
    for v in store.published_validations():
        key = (v.validation.catalog_id, v.validation.dataset_id)
        validations.setdefault(key, {}).setdefault((v.validation.resource_id, v.validation.part), v)
    profiles: dict[tuple[str, str], dict[tuple[str, str], dict[int, DatasetColumn]]] = {}
    for c in store.published_columns():
        tables = profiles.setdefault((c.catalog_id, c.dataset_id), {})
        tables.setdefault((c.resource_id, c.column.part), {}).setdefault(c.column.position, c)
    current = store.current_datasets()
    slugs: dict[tuple[str, str], int] = {}
    for d in current:
        slugs[(d.catalog_id, page_slug(d.name))] = slugs.get((d.catalog_id, page_slug(d.name)), 0) + 1
    out = []
    for d in current:
        key = (d.catalog_id, d.remote_id)
        names = {r.id: r.name for r in scores[key].resources}
        shown = tuple(replace(v, resource_name=names[rid]) for (rid, _), v in validations.get(key, {}).items()
                      if rid in names)
        tables = tuple(ShownTable(resource_id=rid, part=part, resource_name=names[rid],
                                  rows=cols[0].column.rows,
                                  columns=tuple(ShownColumn(c.column, _column_chart(c.column)) for c in cols))
                       for (rid, part), by_position in profiles.get(key, {}).items() if rid in names
                       for cols in [list(by_position.values())])
        slug = page_slug(d.name)
        if slugs[(d.catalog_id, slug)] > 1:
            slug += "-" + hashlib.sha256(d.remote_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        out.append(DatasetPage(**_fields_of(d), scores=scores[key], validations=shown,
                               tables=tables, page=f"datasets/{d.catalog_id}/{slug}.html"))
    return out


def _column_chart(column: ColumnProfile) -> dict[str, Any] | None:
    """What the small chart of a column shows: a box plot for numbers, bars of the top values otherwise."""
    if column.type in ("integer", "number") and column.quartiles and column.min is not None \
            and column.max is not None:
        low, high = float(column.min), float(column.max)
        q = [float(x) for x in column.quartiles if x is not None]
        if len(q) != 3 or not all(math.isfinite(v) for v in (low, high, *q)):
            return None  # a NaN or infinity in the column: no honest box to draw
        span = (high - low) or 1.0
        return {"kind": "box", "x": [round(100 * (v - low) / span, 1) for v in (low, *q, high)],
                "labels": [_number(low), _number(high)]}
    top = column.top_values
    if top and (column.distinct_count or 0) <= 50:
        most = max(n for _, n in top) or 1
        return {"kind": "bars", "bars": [{"label": str(v), "count": n, "width": round(100 * n / most, 1)}
                                         for v, n in top[:5]]}
    return None


def _distribution(datasets: list[DatasetPage], catalogs: list[CatalogPage],
                  by_catalog: dict[str, list[DatasetPage]]) -> dict[str, Any]:
    bins = [0] * MQA_BINS
    for d in datasets:
        bins[min(MQA_BINS - 1, int(d.scores.mqa.total // 45))] += 1
    top = max(bins) or 1
    histogram = [{"label": f"{45 * i}–{45 * (i + 1)}", "count": n, "height": round(100 * n / top, 1)}
                 for i, n in enumerate(bins)]
    bands = []
    for c in catalogs:
        mine = by_catalog.get(c.id, [])
        counts = {b: sum(1 for d in mine if d.scores.mqa.band == b) for b in BAND_ORDER}
        bands.append({"catalog": c.id, "total": len(mine), "counts": counts,
                      "widths": {b: round(100 * n / len(mine), 2) if mine else 0 for b, n in counts.items()}})
    stars = [sum(1 for d in datasets if d.best_stars == s) for s in range(6)]
    most = max(stars) or 1
    return {"histogram": histogram, "bands": bands,
            "stars": [{"label": f"{s}★", "count": n, "width": round(100 * n / most, 1)} for s, n in enumerate(stars)]}


def _packs(settings: Settings, store: Store, scores: dict[tuple[str, str], Scores]) -> list[dict[str, Any]]:
    """Each theme: its candidates (scores and gates) and its latest published pack, if any."""
    from harvester.candidates import find_candidates
    from harvester.themes import load_theme

    if not settings.profiles.is_dir():
        return []
    out = []
    for path in sorted(settings.profiles.glob("*.toml")):
        theme = load_theme(path)
        found = find_candidates(store, theme, scores)
        latest = settings.paths.packs / theme.name / "latest"
        pack: dict[str, Any] | None = None
        if latest.is_dir() and (latest / "SHA256SUMS").is_file():
            folder = latest.resolve()
            version = folder.name
            base = f"downloads/{theme.name}/{version}"
            files = [f"{theme.name}-{version}.zip", "datapackage.json", "README.md"] + sorted(
                p.relative_to(folder).as_posix() for p in (folder / "data").glob("*.parquet"))
            sizes = {f: (folder / f).stat().st_size for f in files if (folder / f).is_file()}
            pack = {"version": version, "folder": folder, "base": base,
                    "downloads": [{"name": f, "href": f"{base}/{f}", "size": sizes[f]} for f in files if f in sizes],
                    "allies": json.loads((folder / "allies.json").read_text(encoding="utf-8"))["allies"],
                    "expectations": json.loads((folder / "expectations.json").read_text(encoding="utf-8"))["tables"],
                    "provenance": json.loads((folder / "provenance.json").read_text(encoding="utf-8"))["resources"]}
        out.append({"name": theme.name, "title": theme.title, "problem_es": theme.problem_es,
                    "problem_en": theme.problem_en, "candidates": found,
                    "accepted": sum(1 for c in found if c.accepted), "pack": pack,
                    "page": f"packs/{page_slug(theme.name)}.html"})
    return out


def _runs(settings: Settings, current: NightlySummary | None) -> list[dict[str, Any]]:
    """Run summaries that changed something or failed, newest first (quiet runs change no page)."""
    summaries: dict[str, dict[str, Any]] = {}
    folder = settings.paths.runs
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a summary being written or damaged: the next build picks it up
        if isinstance(data, dict) and data.get("started_at"):
            summaries[data["started_at"]] = data
    if current:
        summaries[current.started_at] = current.as_dict()
    out = []
    for started, s in sorted(summaries.items(), reverse=True):
        changes = {k: v for k, v in (s.get("changes") or {}).items() if v}
        if changes or s.get("failures"):
            out.append({"started_at": started, "status": s.get("status"), "changes": changes,
                        "failures": s.get("failures") or []})
    return out


# --- building and publishing ---------------------------------------------------------------------------

def render_site(settings: Settings, current_run: NightlySummary | None = None,
                today: date | None = None) -> tuple[dict[str, bytes], dict[str, Path]]:
    """Every page as bytes, and the downloads to copy (site path → pack file)."""
    if not settings.paths.database.exists():
        raise HarvesterError(f"{settings.paths.database}: no store yet; run `harvester harvest` first")
    env = _environment()
    with Store(settings.paths.database, read_only=True) as store:
        catalogs = _catalog_health(store, settings)
        scores = all_scores(store)
        datasets = _datasets(store, scores)
        packs = _packs(settings, store, scores)
    runs = _runs(settings, current_run)
    pages_by_ref = {d.ref: d.page for d in datasets}
    common = {"catalogs": catalogs, "packs": packs, "today": (today or utcnow().date()).isoformat(),
              "pages_by_ref": pages_by_ref}
    pages: dict[str, str] = {}

    def page(path: str, template: str, **values: Any) -> None:
        root = "../" * path.count("/")
        pages[path] = env.get_template(template).render(root=root, path=path, **common, **values)

    by_catalog: dict[str, list[DatasetPage]] = {}
    for d in datasets:
        by_catalog.setdefault(d.catalog_id, []).append(d)
    page("index.html", "index.html", distribution=_distribution(datasets, catalogs, by_catalog),
         totals={"datasets": len(datasets), "tables": sum(len(d.validations) for d in datasets),
                 "valid": sum(1 for d in datasets for v in d.validations if v.validation.valid)},
         last_change=runs[0]["started_at"][:10] if runs else None)
    page("changes.html", "changes.html", runs=runs)
    for c in catalogs:
        mine = sorted(by_catalog.get(c.id, []), key=lambda d: (-d.scores.mqa.total, d.name))
        page(c.page, "catalog.html", catalog=c, datasets=mine)
    for p in packs:
        page(p["page"], "pack.html", pack=p)
    catalog_of = {c.id: c for c in catalogs}
    for d in datasets:
        page(d.page, "dataset.html", d=d, catalog=catalog_of.get(d.catalog_id))
    files = {path: text.encode("utf-8") for path, text in pages.items()}
    files["assets/site.css"] = (TEMPLATES / "site.css").read_bytes()
    downloads = {f"{p['pack']['base']}/{f['name']}": p["pack"]["folder"] / f["name"]
                 for p in packs if p["pack"] for f in p["pack"]["downloads"]}
    return files, downloads


def _manifest(files: dict[str, bytes], downloads: dict[str, Path]) -> str:
    """What a site is: the sha256 of every page, and every download by its (content-named) pack path."""
    lines = [f"{hashlib.sha256(data).hexdigest()}  {path}" for path, data in sorted(files.items())]
    lines += [f"pack  {path}" for path in sorted(downloads)]
    return "\n".join(lines) + "\n"


@contextmanager
def _lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".report.lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two builders wait for each other; readers never do
        yield


def build_site(settings: Settings, current_run: NightlySummary | None = None,
               today: date | None = None) -> SiteResult:
    """Render the site and publish it atomically, unless it is the same as the published one."""
    begun = time.monotonic()
    files, downloads = render_site(settings, current_run, today)
    manifest = _manifest(files, downloads)
    link = settings.paths.site
    builds = settings.paths.site_builds
    with _lock(settings.paths.root):
        current = link.resolve() if link.is_symlink() else None
        if current and (current / "MANIFEST").is_file() and \
                (current / "MANIFEST").read_text(encoding="utf-8") == manifest:
            return SiteResult(current, len(files) - 1, len(downloads), False, round(time.monotonic() - begun, 2))
        staging = builds / f".build-{uuid.uuid4().hex[:12]}"
        try:
            for path, data in files.items():
                target = staging / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            for path, source in downloads.items():
                target = staging / path
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source, target)  # packs are never modified in place: a hard link is a copy
                except OSError:
                    shutil.copy2(source, target)
            (staging / "MANIFEST").write_text(manifest, encoding="utf-8")
            final = builds / f"{utcnow().strftime('%Y%m%dT%H%M%S')}-{hashlib.sha256(manifest.encode()).hexdigest()[:8]}"
            os.rename(staging, final)
            _point(link, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _prune(builds, keep={final.name, current.name if current else ""})
    return SiteResult(final, len(files) - 1, len(downloads), True, round(time.monotonic() - begun, 2))


def _point(link: Path, target: Path) -> None:
    """Switch `link` to `target` in one rename; a real folder left by an older version is moved aside."""
    if link.exists() and not link.is_symlink():
        os.rename(link, link.with_name(f".site-old-{uuid.uuid4().hex[:8]}"))
    temporary = link.with_name(f".site-link-{uuid.uuid4().hex[:8]}")
    os.symlink(os.path.relpath(target, link.parent), temporary)
    os.replace(temporary, link)


def _prune(builds: Path, keep: set[str]) -> None:
    """Remove older sites and leftovers of killed builds; the published one and the one before stay."""
    for entry in builds.iterdir():
        if entry.name not in keep and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
    for entry in builds.parent.glob(".site-old-*"):
        shutil.rmtree(entry, ignore_errors=True)
    for entry in builds.parent.glob(".site-link-*"):  # a link a killed publish made but did not move
        entry.unlink(missing_ok=True)
