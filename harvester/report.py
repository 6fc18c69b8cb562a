"""`harvester report`: the organizers' static site in `<data_dir>/site/`, built from the store.

Pages (plain HTML, one stylesheet, one small script of its own, `site.js`, for sorting and filtering the
tables, and the search index `sitesearch` makes with Pagefind's UI; no CDN, no web font, so it works offline
and on a phone):
- `index.html`: each catalog's health (reachable, datasets, share of broken links, share of valid tables),
  quality distributions (MQA bands, best stars) and the packs;
- `catalogs/<id>.html`: a catalog's datasets with their scores;
- `packs/<name>.html`: a pack's candidates with scores and gate results, downloads (the zip and each
  Parquet file, copied under `downloads/`) and the allies;
- `datasets/<catalog>/<name>.html`: scorecard, resources, validation errors, column profiles with charts;
- `changes.html`: what each nightly run changed (`<data_dir>/runs/*.json`).

Every page is in Spanish at the site's root and in English under `en/` (each links to its twin; both share
`assets/` and `downloads/`): the templates' messages come from the gettext catalogs and dates and numbers
are formatted by `harvester/i18n.py`. Portals' strings are never translated.

Every string from a portal goes through Jinja's autoescaping, and a link taken from a portal is only made a
link when it is http(s). The pages depend on the store, the packs, the run summaries and (the aggregate
pages: ages are in days) today's date, never on the time of the build, so with nothing changed the same
bytes come out. A dataset's page shows no age and no date of the build: it changes when its data does.

Incremental: each page is rendered from values given to it alone, and the sha256 of those values, its
template and the code (`_code_version`) is its inputs hash, kept in the build's `INPUTS`. A page whose
hash is the published build's is carried over (a hard link) instead of rendered; the aggregate pages
(index, catalogs, packs, changes) hash every row they show, so they are rendered when any of it changed.
The datasets are read, scored and rendered `BATCH` at a time; what the aggregates keep of each is a
`DatasetRow`. `build_site(full=True)` renders every page: the same bytes (tests/test_report_scale.py).

Only the datasets whose store rows changed are read: a build keeps, in `ROWS`, each dataset's `DatasetRow`,
what its packs' candidacy needs (its themes' matches, its `CandidateScores`) and its page's inputs hash, with
the fingerprint of the store rows they came from (`store/fingerprints.py`, one DuckDB query for every
dataset). The next build takes a dataset whose fingerprint, page and freshness verdict are unchanged from
there (its age worked out for the day) and carries its page over; the others are read, scored and matched
against the themes (the site does not run `find_candidates`: the same matching, over what it reads anyway).

Publishing is atomic: the site is assembled (and indexed for search, `sitesearch.index_site`) in
`<data_dir>/.site/.build-*`, moved to
`<data_dir>/.site/<id>`, and `<data_dir>/site` (a symlink) is switched to it with one `os.replace`. A reader
sees the previous complete site or the new one. When the new pages are byte for byte the published ones,
nothing is written. The previous site is kept for readers still on it; older ones are removed.
"""
from __future__ import annotations

import fcntl
import hashlib
import io
import json
import math
import os
import pickle
import re
import shutil
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import quote, urlsplit

import babel
import jinja2

from harvester import i18n, sitesearch
from harvester.clock import utcnow
from harvester.config import Settings
from harvester.errors import HarvesterError
from harvester import allies
from harvester.packnotes import alert_sentence
from harvester.i18n import LANGUAGES, N_, Language
from harvester.linkstatus import healthy
from harvester.candidates import Candidate, Match, Matcher, once, ranked, texts_of
from harvester.model import (CandidateScores, CatalogHealth, ColumnProfile, Dataset, DatasetColumn, DatasetCopy,
                             Freshness, NightlySummary, Scores, ScoredResource, ShownValidation, Usefulness)
from harvester.scores import freshness_on, score
from harvester.store import Store
from harvester.store.fingerprints import dataset_fingerprints
from harvester.themes import Theme

BAND_ORDER = ("excellent", "good", "sufficient", "bad")
MQA_BINS = 9  # 45-point bins over 0..405
KEEP_BUILDS = 2  # the published site and the one before, for readers still on it
TEMPLATES = Path(__file__).with_name("templates")
BATCH = 1000  # datasets read, scored and rendered at a time
INPUTS = "INPUTS"  # a build's page → sha256 of the page's inputs (see `_Build`)
ROWS = "ROWS"  # what a build kept of each dataset, with its store fingerprint (see `_Kept`)


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
    rendered: list[str] = field(default_factory=list)
    """The files rendered (or copied) this time; every other one was carried over from the published build."""
    carried: int = 0
    read_copy_at: datetime | None = None
    """Set when a writer held the store, so the site was built from the read copy it published at this time."""
    search: sitesearch.IndexStats | None = None
    """The search index made for this build (None when nothing was published: the published one stands)."""

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "pages": self.pages, "downloads": self.downloads,
                "published": self.published, "seconds": self.seconds, "notes": self.notes,
                "rendered": len(self.rendered), "carried": self.carried,
                "read_copy_at": self.read_copy_at.isoformat() if self.read_copy_at else None,
                "search": None if self.search is None else {"files": self.search.files, "bytes": self.search.bytes,
                                                            "seconds": self.search.seconds,
                                                            "carried": self.search.carried,
                                                            "shards": self.search.shards,
                                                            "indexed": list(self.search.indexed),
                                                            "failures": list(self.search.failures),
                                                            "pagefind_peak_mb": self.search.pagefind_peak_mb}}


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


def _value(text: Any, kind: str, lang: Language) -> str:
    """A profile's min or max as text: integers without the `.0` the store keeps them with."""
    if kind == "integer":
        try:
            return i18n.format_number(int(float(text)), lang)
        except (TypeError, ValueError, OverflowError):
            pass
    return str(text)


def _segment(text: Any) -> str:
    """A portal's name as one URL path segment: `/` and `..` cannot climb out of `/dataset/`."""
    return quote(str(text), safe="")


JINJA_OPTIONS: dict[str, Any] = {"trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True,
                                 "extensions": ["jinja2.ext.i18n"]}
"""How the templates are read, here and by the message extraction (`babel.cfg` says the same)."""


def _environment(lang: Language) -> jinja2.Environment:
    """The templates in `lang`: its messages (gettext, `jinja2.ext.i18n`) and its conventions for numbers,
    dates and times (`i18n.format_*`)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "svg"], default_for_string=True),
                             undefined=jinja2.StrictUndefined, **JINJA_OPTIONS)
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        safe_url=safe_url, segment=_segment,
        percent=lambda value, digits=0: i18n.format_percent(value, lang, digits),
        number=lambda value: i18n.format_number(value, lang),
        decimal=lambda value, digits: i18n.format_decimal(value, lang, digits),
        value=lambda text, kind: _value(text, kind, lang),
        date=lambda value, format="medium": i18n.format_date(value, lang, format),
        datetime=lambda value: i18n.format_datetime(value, lang),
        word=lambda value: i18n.word(value, lang),
        alert=lambda code, column: alert_sentence(code, column, lang).replace("`", ""),
        gate=lambda gate: i18n.sentence(gate.why, lang),
        reason=lambda text: i18n.sentence(text, lang))
    env.tests["healthy"] = healthy
    return env


def _prefix(lang: Language) -> str:
    """Where a language's pages are: Spanish at the site's root, the others in a folder of their own."""
    return "" if lang == i18n.DEFAULT else f"{lang}/"


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
    """A current dataset as its page shows it: its metadata (`SHOWN_FIELDS` only), scores (without ages),
    validations (per table) and profiles. Everything here goes into the page's inputs hash."""

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
    # What the pages show of the harvest runs: the day of the last success, not the times of each run (a
    # nightly with nothing new upstream must not change the pages' inputs).
    return [CatalogPage(**_fields_of(replace(c, last_run_at=None, last_success_at=c.last_success_at.replace(
                hour=0, minute=0, second=0, microsecond=0) if c.last_success_at else None)),
                        portal=_portal(c.api_url), page=f"catalogs/{page_slug(c.id)}.html")
            for c in rows]


def _portal(api_url: str | None) -> str | None:
    """The portal's home page from its API URL (`…/api/3/action/` → `…/`)."""
    if not api_url:
        return None
    return safe_url(re.sub(r"api/3/action/?$", "", api_url))


SHOWN_FIELDS = ("catalog_id", "remote_id", "name", "title", "notes", "url", "organization_name",
                "organization_title", "tags", "license_id", "license_title", "author", "author_email",
                "maintainer", "maintainer_email")
"""The fields of a dataset its page shows: the page's record carries these only, so a field a harvest
touches without changing the page (`last_seen`, the portal's raw JSON) re-renders nothing."""


@dataclass(frozen=True, slots=True)
class DatasetRow:
    """What the aggregate pages (the index, a catalog's page) keep of a dataset: a few fields, so a store
    of 50,000 datasets is 50,000 small rows in memory, not 50,000 pages' records."""

    catalog_id: str
    ref: str
    name: str | None
    title: str | None
    organization: str | None
    page: str
    mqa_total: float
    mqa_band: str
    best_stars: int
    share_ok: float | None
    validated: int
    valid: int
    verdict: str
    age_days: int | None
    tables: int
    """Validated tables shown on the dataset's page, and how many are valid."""
    valid_tables: int


@dataclass(frozen=True)
class _Read:
    """A dataset read from the store and scored by this build."""

    dataset: Dataset
    scores: Scores
    page: DatasetPage
    row: DatasetRow
    columns: tuple[str, ...]
    """Its profiled column names (of unreadable tables none): what a theme matches on."""


def _page_paths(refs: list[tuple[str, str, str | None]]) -> list[str]:
    """Each dataset's page (`refs` as `current_dataset_refs` gives them). Two datasets whose names make one
    page name get a page each (their ids tell them apart)."""
    slugs: dict[tuple[str, str], int] = {}
    for catalog_id, _, name in refs:
        slugs[(catalog_id, page_slug(name))] = slugs.get((catalog_id, page_slug(name)), 0) + 1
    paths = []
    for catalog_id, remote_id, name in refs:
        slug = page_slug(name)
        if slugs[(catalog_id, slug)] > 1:
            slug += "-" + hashlib.sha256(remote_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        paths.append(f"datasets/{catalog_id}/{slug}.html")
    return paths


def _read_datasets(store: Store, wanted: list[tuple[tuple[str, str], str]], now: datetime,
                   batch: int = BATCH) -> Iterator[list[_Read]]:
    """These datasets ((catalog, id), page) with their scores, validations (per table) and column profiles,
    `batch` datasets at a time (a few queries per batch; never every dataset's rows at once).

    Only the tables of the dataset's own current resources, each once: the store's rows join resources by
    resource id, which a portal can repeat across datasets (each table then came once per dataset sharing
    the id).

    The page's record leaves out what would change it every night without changing what it shows: ages in
    days (the catalog's page shows them), when a table was validated, and whether a working link answered
    200 or 304."""
    for start in range(0, len(wanted), batch):
        chunk = wanted[start:start + batch]
        keys = [key for key, _ in chunk]
        resources: dict[tuple[str, str], list[ScoredResource]] = {}
        for r in store.scored_resources(keys):
            resources.setdefault((r.resource.catalog_id, r.resource.dataset_id), []).append(r)
        columns: dict[tuple[str, str], list[ColumnProfile]] = {}
        for c in store.dataset_columns(keys):
            columns.setdefault((c.catalog_id, c.dataset_id), []).append(c.column)
        validations: dict[tuple[str, str], dict[tuple[str, str], ShownValidation]] = {}
        for v in store.published_validations_of(keys):
            key = (v.validation.catalog_id, v.validation.dataset_id)
            validations.setdefault(key, {}).setdefault((v.validation.resource_id, v.validation.part), v)
        profiles: dict[tuple[str, str], dict[tuple[str, str], dict[int, DatasetColumn]]] = {}
        for c in store.published_columns_of(keys):
            tables = profiles.setdefault((c.catalog_id, c.dataset_id), {})
            tables.setdefault((c.resource_id, c.column.part), {}).setdefault(c.column.position, c)
        found = {(d.catalog_id, d.remote_id): d for d in store.current_datasets(keys)}
        out = []
        for key, path in chunk:
            d = found.get(key)
            if d is None:
                continue
            scores = score(d, resources.get(key, []), columns.get(key, []), now)
            names = {r.id: r.name for r in scores.resources}
            shown = tuple(replace(v, validation=replace(v.validation, seconds=None, validated_at=None),
                                  resource_name=names[rid])
                          for (rid, _), v in validations.get(key, {}).items() if rid in names)
            tables = tuple(ShownTable(resource_id=rid, part=part, resource_name=names[rid],
                                      rows=cols[0].column.rows,
                                      columns=tuple(ShownColumn(c.column, _column_chart(c.column)) for c in cols))
                           for (rid, part), by_position in profiles.get(key, {}).items() if rid in names
                           for cols in [list(by_position.values())])
            # a link that answered 304 this time and 200 the last shows as working both times
            resources_shown = tuple(replace(r, link_status="ok", link_reason=None) if healthy(r.link_status) else r
                                    for r in scores.resources)
            timeless = replace(scores, resources=resources_shown,
                               freshness=replace(scores.freshness, age_days=None, overdue_days=None))
            page = DatasetPage(**{f: getattr(d, f) for f in SHOWN_FIELDS}, scores=timeless, validations=shown,
                               tables=tables, page=path)
            row = DatasetRow(
                catalog_id=d.catalog_id, ref=d.ref, name=d.name, title=d.title,
                organization=d.organization_title or d.organization_name, page=path,
                mqa_total=scores.mqa.total, mqa_band=scores.mqa.band, best_stars=scores.best_stars,
                share_ok=scores.link_health.share_ok, validated=scores.validation.validated,
                valid=scores.validation.valid, verdict=scores.freshness.verdict,
                age_days=scores.freshness.age_days, tables=len(shown),
                valid_tables=sum(1 for v in shown if v.validation.valid))
            names_of_columns = tuple(sorted({c.name for c in columns.get(key, [])
                                             if c.name is not None and c.type is not None and c.type != "error"}))
            out.append(_Read(d, scores, page, row, names_of_columns))
        yield out


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
                "labels": [low, high]}
    top = column.top_values
    if top and (column.distinct_count or 0) <= 50:
        most = max(n for _, n in top) or 1
        return {"kind": "bars", "bars": [{"label": str(v), "count": n, "width": round(100 * n / most, 1)}
                                         for v, n in top[:5]]}
    return None


def _once(rows: list[DatasetRow], copies: list[DatasetCopy]) -> list[DatasetRow]:
    """The rows without the copies of another row (store/copies.py: a catalog that is a slice of another,
    files republished): the site's totals count each dataset once, as search and the packs do. Each
    catalog's own page and bands still count all of its datasets."""
    present = {r.ref for r in rows}
    gone = {f"{c.catalog_id}/{c.name}" for c in copies if f"{c.of_catalog_id}/{c.of_name}" in present}
    return [r for r in rows if r.ref not in gone]


def _distribution(rows: Iterable[DatasetRow], catalogs: list[CatalogPage],
                  by_catalog: dict[str, list[DatasetRow]]) -> dict[str, Any]:
    bins = [0] * MQA_BINS
    stars = [0] * 6
    for d in rows:
        bins[min(MQA_BINS - 1, int(d.mqa_total // 45))] += 1
        if 0 <= d.best_stars < len(stars):
            stars[d.best_stars] += 1
    top = max(bins) or 1
    histogram = [{"label": f"{45 * i}–{45 * (i + 1)}", "count": n, "height": round(100 * n / top, 1)}
                 for i, n in enumerate(bins)]
    bands = []
    for c in catalogs:
        mine = by_catalog.get(c.id, [])
        counts = {b: sum(1 for d in mine if d.mqa_band == b) for b in BAND_ORDER}
        bands.append({"catalog": c.id, "total": len(mine), "counts": counts,
                      "widths": {b: round(100 * n / len(mine), 2) if mine else 0 for b, n in counts.items()}})
    most = max(stars) or 1
    return {"histogram": histogram, "bands": bands,
            "stars": [{"label": f"{s}★", "count": n, "width": round(100 * n / most, 1)} for s, n in enumerate(stars)]}


def _themes(settings: Settings) -> list[Theme]:
    """The theme profiles, by file name."""
    from harvester.themes import load_theme

    if not settings.profiles.is_dir():
        return []
    return [load_theme(path) for path in sorted(settings.profiles.glob("*.toml"))]


def _packs(settings: Settings, themes: list[Theme], found: list[list[Candidate]]) -> list[dict[str, Any]]:
    """Each theme: its candidates (scores and gates, `found`) and its latest published pack, if any."""
    out = []
    for theme, candidates in zip(themes, found):
        latest = settings.paths.packs / theme.name / "latest"
        pack: dict[str, Any] | None = None
        if latest.is_dir() and (latest / "SHA256SUMS").is_file():
            folder = latest.resolve()
            version = folder.name
            base = f"downloads/{theme.name}/{version}"
            files = [f"{theme.name}-{version}.zip", "datapackage.json", "README.md", "README.en.md"] + sorted(
                p.relative_to(folder).as_posix() for p in (folder / "data").glob("*.parquet"))
            sizes = {f: (folder / f).stat().st_size for f in files if (folder / f).is_file()}
            pack = {"version": version, "folder": folder, "base": base,
                    "downloads": [{"name": f, "href": f"{base}/{f}", "size": sizes[f]} for f in files if f in sizes],
                    "allies": json.loads((folder / "allies.json").read_text(encoding="utf-8"))["allies"],
                    "expectations": json.loads((folder / "expectations.json").read_text(encoding="utf-8"))["tables"],
                    "provenance": json.loads((folder / "provenance.json").read_text(encoding="utf-8"))["resources"]}
        out.append({"name": theme.name, "title": theme.title, "problem_es": theme.problem_es,
                    "problem_en": theme.problem_en, "candidates": candidates,
                    "accepted": sum(1 for c in candidates if c.accepted), "pack": pack,
                    "page": f"packs/{page_slug(theme.name)}.html"})
    return out


# --- what a build keeps of each dataset (ROWS) ------------------------------------------------------------

@dataclass(frozen=True)
class _Kept:
    """What the aggregate pages and the packs need of a dataset, as a build keeps it in `ROWS` with the
    store fingerprint of the rows it came from (`store/fingerprints.py`) and its page's inputs hash: a later
    build whose fingerprint, page and shared inputs are the same takes it from there instead of reading and
    scoring the dataset again. Nothing in it depends on the day but `row.verdict` (`row.age_days` is None):
    the age comes from `declared` and `modified` each day, and a verdict that changed reads the dataset again."""

    fingerprint: str
    page: str
    inputs: str
    """The inputs hashes of the dataset's page in each language (`_Build.keys`)."""
    row: DatasetRow
    declared: Any
    """The update frequency the dataset declares (`Freshness.declared_frequency`)."""
    modified: str | None
    license_id: str | None
    summary: dict[str, Any] | None
    """`CandidateScores` without its age (None when no theme brings the dataset in)."""
    matches: dict[str, dict[str, Any]]
    """Theme name → `Match` as a dict, for the themes that bring the dataset in."""

    def line(self, key: tuple[str, str]) -> str:
        """One line of `ROWS`: the key, a tab, the rest (JSON escapes a tab inside a string)."""
        row = {f.name: getattr(self.row, f.name) for f in fields(self.row) if f.name != "age_days"}
        return json.dumps(list(key)) + "\t" + json.dumps(
            {"fingerprint": self.fingerprint, "inputs": self.inputs, "row": row, "declared": self.declared,
             "modified": self.modified, "license_id": self.license_id, "summary": self.summary,
             "matches": self.matches}, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str) -> _Kept | None:
        """A line's rest as written by `line`; None when it is not one (the dataset is then read again)."""
        try:
            data = json.loads(text)
            kept = cls(data["fingerprint"], data["row"]["page"], data["inputs"],
                       DatasetRow(**data["row"], age_days=None), data["declared"], data["modified"],
                       data["license_id"], data["summary"], data["matches"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return kept

    def freshness(self, today: date) -> Freshness:
        return freshness_on(self.declared, datetime.fromisoformat(self.modified) if self.modified else None, today)

    def scores(self, freshness: Freshness) -> CandidateScores:
        summary = dict(self.summary or {})
        use = summary.pop("usefulness")
        coverage = use["time_coverage"]
        return CandidateScores(**summary, age_days=freshness.age_days, freshness=freshness.verdict,
                               usefulness=Usefulness(tuple(use["by_sex_or_gender"]), tuple(use["geographic_levels"]),
                                                     tuple(coverage) if coverage is not None else None))


def _kept_of(read: _Read, fingerprint: str, inputs: str, matches: dict[str, Match]) -> _Kept:
    summary = None
    if matches:
        scores = CandidateScores.of(read.scores)
        summary = {f.name: getattr(scores, f.name) for f in fields(scores) if f.name not in ("age_days", "freshness")}
        summary["usefulness"] = {f.name: getattr(scores.usefulness, f.name) for f in fields(scores.usefulness)}
    modified = read.dataset.metadata_modified
    return _Kept(fingerprint, read.page.page, inputs, replace(read.row, age_days=None),
                 read.scores.freshness.declared_frequency, modified.isoformat() if modified else None,
                 read.dataset.license_id, summary,
                 {name: {"matched": m.matched, "reasons": m.reasons} for name, m in matches.items()})


def _context(version: str, links: dict[str, Any], nav: list[dict[str, str]], themes: list[Theme]) -> str:
    """The first line of `ROWS`: what every kept row depends on besides its own store rows (the code, the
    catalogs' links and the packs' menu that every dataset page shows, what each theme matches on)."""
    matching = [(t.name, sorted(t.terms.items()), t.fields, t.catalogs, t.organizations, t.groups, t.include,
                 t.exclude, t.min_terms) for t in themes]
    return json.dumps({"rows": 1, "context": _inputs_hash(version, "ROWS", "", {"links": links, "nav": nav,
                                                                                    "themes": matching})})


def _kept_rows(current: Path | None, context: str) -> dict[str, str]:
    """The published build's `ROWS` as {key line: rest}, when it was made in this context; else {}."""
    if current is None:
        return {}
    try:
        with (current / ROWS).open(encoding="utf-8") as handle:
            if handle.readline().rstrip("\n") != context:
                return {}
            return dict(line.rstrip("\n").partition("\t")[::2] for line in handle)
    except (OSError, UnicodeDecodeError, ValueError):
        return {}


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
        # as its JSON file will read (lists, not tuples): the next build's inputs are then the same
        summaries[current.started_at] = json.loads(json.dumps(current.as_dict(), ensure_ascii=False))
    out = []
    for started, s in sorted(summaries.items(), reverse=True):
        changes = {k: v for k, v in (s.get("changes") or {}).items() if v}
        if changes or s.get("failures"):
            out.append({"started_at": started, "status": s.get("status"), "changes": changes,
                        "failures": s.get("failures") or []})
    return out


# --- building and publishing ---------------------------------------------------------------------------

def _code_version() -> str:
    """What renders the pages: the package's code, the templates, the translations, Jinja, Babel and
    Python. A change to any of them changes every page's inputs, so the next build renders every page again."""
    digest = hashlib.sha256(f"{sys.version_info[:2]} jinja2 {jinja2.__version__} babel {babel.__version__}".encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")) + sorted(TEMPLATES.iterdir()) + sorted(package.rglob("*.po")):
        digest.update(path.relative_to(package).as_posix().encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _inputs_hash(version: str, template: str, path: str, values: dict[str, Any]) -> str:
    """The sha256 of everything a page is rendered from. Pickled without its memo (`fast`), so the bytes
    depend on the values only, never on which of them happen to be one object."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True
    pickler.dump((version, template, path, sorted(values.items())))
    return hashlib.sha256(buffer.getbuffer()).hexdigest()


def _listing(path: Path) -> dict[str, str]:
    """A `MANIFEST` or `INPUTS` file as {site path: hash} (a download's hash is `pack`); {} when missing."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    out = {}
    for line in text.splitlines():
        digest, found, name = line.partition("  ")
        if found:
            out[name] = digest
    return out


def _listing_text(hashes: dict[str, str], downloads: Iterable[str] = ()) -> str:
    lines = [f"{digest}  {path}" for path, digest in sorted(hashes.items())]
    lines += [f"pack  {path}" for path in sorted(downloads)]
    return "\n".join(lines) + "\n"


class _Build:
    """A site being assembled next to the published one (`current`): a page whose inputs hash is the one
    the published build recorded (`INPUTS`) is carried over from it (a hard link: builds are never
    changed in place), any other is rendered. The staging folder is made when the first file is written,
    so a build that finds everything the same writes nothing.

    Each page is made in every language (`LANGUAGES`): Spanish at `path`, English at `en/<path>`, each
    linking to its twin; the language is one of the values its inputs hash covers."""

    def __init__(self, builds: Path, current: Path | None, full: bool,
                 shard_pages: int = sitesearch.SHARD_PAGES) -> None:
        self.envs = {lang: _environment(lang) for lang in LANGUAGES}
        self.builds = builds
        self.current = current
        self.full = full
        self.shard_pages = shard_pages
        self.rows: list[str] | None = None
        self.search: sitesearch.IndexStats | None = None
        """This build's `ROWS`, line by line (see `_Kept`), set by `_render`."""
        self.version = _code_version()
        self.published_inputs = {} if current is None else _listing(current / INPUTS)
        self.before_inputs = {} if full else self.published_inputs
        self.before = {} if current is None else {p: d for p, d in _listing(current / "MANIFEST").items()
                                                   if d != "pack"}
        self.inputs: dict[str, str] = {}
        self.digests: dict[str, str] = {}
        self.carried: list[str] = []
        self.rendered: list[str] = []
        self.staging: Path | None = None
        self._folders: set[Path] = set()

    def page(self, path: str, template: str, **values: Any) -> None:
        """The page at `path` in every language, from `template` with these values and nothing else (no
        shared context: what a page's inputs hash covers is what it is rendered from). `root` leads to the
        language's home, `top` to the site's (the stylesheet and the downloads are shared)."""
        for lang in LANGUAGES:
            own = _prefix(lang) + path
            up = "../" * own.count("/")
            twin: Language = LANGUAGES[1] if lang == LANGUAGES[0] else LANGUAGES[0]
            mine = dict(values, lang=lang, root="../" * path.count("/"), top=up, path=path,
                        other={"lang": twin, "name": i18n.NAMES[twin], "href": up + _prefix(twin) + path})
            key = _inputs_hash(self.version, template, own, mine)
            self.inputs[own] = key
            if not self._carry(own, key):
                self._write(own, self.envs[lang].get_template(template).render(**mine).encode("utf-8"))

    def keys(self, path: str) -> str:
        """The inputs hashes of the page at `path` in every language, as one text (what `ROWS` keeps)."""
        return " ".join(self.inputs[_prefix(lang) + path] for lang in LANGUAGES)

    def carry(self, path: str, keys: str) -> bool:
        """Carry the page at `path` over in every language when `keys`, its inputs hashes as a build kept
        them (`keys`), are the published one's (and its files are there); else False, nothing is carried,
        and the page is for `page` to render."""
        hashes = keys.split(" ")
        pairs = list(zip((_prefix(lang) + path for lang in LANGUAGES), hashes))
        if len(hashes) != len(LANGUAGES) or not all(self._carries(own, key) for own, key in pairs):
            return False
        for own, key in pairs:
            self._carry(own, key)
            self.inputs[own] = key
        return True

    def file(self, path: str, data: bytes) -> None:
        key = hashlib.sha256(data).hexdigest()
        self.inputs[path] = key
        if not self._carry(path, key):
            self._write(path, data)

    def _carries(self, path: str, key: str) -> bool:
        return self.current is not None and self.before_inputs.get(path) == key and path in self.before \
            and (self.current / path).is_file()

    def _carry(self, path: str, key: str) -> bool:
        if not self._carries(path, key):
            return False
        self.digests[path] = self.before[path]
        self.carried.append(path)
        return True

    def _write(self, path: str, data: bytes) -> None:
        target = self._staging() / path
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        target.write_bytes(data)
        self.digests[path] = hashlib.sha256(data).hexdigest()
        self.rendered.append(path)

    def _staging(self) -> Path:
        if self.staging is None:
            self.staging = self.builds / f".build-{uuid.uuid4().hex[:12]}"
            self.staging.mkdir(parents=True)
        return self.staging

    def publish(self, link: Path, manifest: str, downloads: dict[str, Path]) -> Path:
        """Carry the unchanged pages over, copy the downloads, and switch `link` to the finished build."""
        staging = self._staging()
        for path in self.carried:
            _link_or_copy(self.current / path, staging / path, self._folders)  # type: ignore[operator]
        for path, source in downloads.items():
            _link_or_copy(source, staging / path, self._folders)  # packs are never modified in place
        # the assembled pages, before the build is published; the published index when no indexed page changed
        changed = [p for p in set(self.digests) | set(self.before) if self.digests.get(p) != self.before.get(p)]
        self.search = sitesearch.index_site(staging, self.current, None if self.full else sorted(changed),
                                            shard_pages=self.shard_pages)
        (staging / INPUTS).write_text(_listing_text(self.inputs), encoding="utf-8")
        if self.rows is not None:
            _write_lines(staging / ROWS, self.rows)
        (staging / "MANIFEST").write_text(manifest, encoding="utf-8")
        final = self.builds / f"{utcnow().strftime('%Y%m%dT%H%M%S')}-{hashlib.sha256(manifest.encode()).hexdigest()[:8]}"
        if final.exists():  # the same pages again within the second: their search index made again (a failed shard)
            final = final.with_name(f"{final.name}-{uuid.uuid4().hex[:4]}")
        os.rename(staging, final)
        self.staging = None
        _point(link, final)
        return final

    def discard(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def _link_or_copy(source: Path, target: Path, folders: set[Path]) -> None:
    if target.parent not in folders:
        target.parent.mkdir(parents=True, exist_ok=True)
        folders.add(target.parent)
    try:
        os.link(source, target)  # a hard link is a copy of a file nobody changes in place
    except OSError:
        shutil.copy2(source, target)


class SiteBusy(HarvesterError):
    """Another process is building the site (the nightly's report stage, or a `harvester report`)."""


@contextmanager
def _lock(root: Path, command: str, wait: bool) -> Iterator[None]:
    """The site builders' lock, `<root>/.report.lock`, saying who holds it (`<command>: pid N, started T`).
    `wait`: wait for the other builder (the nightly's report stage waits for one run by hand); else raise
    SiteBusy at once, naming the lock file and its holder. Readers of the site never take it."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / ".report.lock"
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = (handle.read(400).strip().splitlines() or ["unknown"])[0]
            raise SiteBusy(N_("%(file)s: another site build is in progress (%(holder)s); nothing was done"), file=path,
                           holder=holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{command}: pid {os.getpid()}, started {utcnow().isoformat(timespec='seconds')}Z\n")
        handle.flush()
        yield


def _render(build: _Build, settings: Settings, current_run: NightlySummary | None, today: date | None,
            batch: int) -> tuple[dict[str, Path], datetime | None]:
    """Every page through `build` (rendered or carried over); returns the downloads to copy (site path →
    pack file) and, when a writer held the store, when the read copy read instead was published.

    A dataset whose store rows have the fingerprint the published build kept for it (`ROWS`), whose page
    and verdict are the same and whose page is carried over, is not read again: its row on the aggregate
    pages and its candidacy in the packs come from `ROWS`. The others are read, scored, matched against
    the themes and rendered a batch at a time."""
    day = (today or utcnow().date()).isoformat()
    themes = _themes(settings)
    matchers = [Matcher(theme) for theme in themes]
    nav = [{"page": f"packs/{page_slug(t.name)}.html", "title": t.title} for t in themes]
    # the current read copy when there is one: a long build never holds the store a writer may want
    with Store(settings.paths.database, read_only=True, prefer_copy=True) as store:
        read_copy_at = store.published_at if store.published_copy is not None and not store.copy_is_current \
            else None
        catalogs = _catalog_health(store, settings)
        links = {c.id: {"id": c.id, "title": c.title, "page": c.page, "portal": c.portal, "kind": c.kind}
                 for c in catalogs}
        context = _context(build.version, links, nav, themes)
        kept = {} if build.full else _kept_rows(build.current, context)
        refs = store.current_dataset_refs()
        names = {(c, r): n for c, r, n in refs}
        paths = _page_paths(refs)
        fingerprints = dataset_fingerprints(store)
        copies = store.dataset_copies()  # a pack's candidates list each dataset once, as find_candidates does
        facts = store.publisher_facts()
        # what a dataset's page links to beyond its own rows: its publisher's page and the packs holding it;
        # a change of either is a change of its page, as a change of its rows is
        publishers = allies.gather(facts, {}, copies)  # scored below, once every dataset's row is known
        del facts
        ally_of = allies.pages_by_ref(publishers)
        in_packs = _pack_membership(settings, themes)
        for key in fingerprints:
            ref = f"{key[0]}/{names.get(key)}"
            if ref in ally_of or ref in in_packs:
                fingerprints[key] += "+" + hashlib.sha256(json.dumps([ally_of.get(ref), in_packs.get(ref)])
                                                          .encode()).hexdigest()[:16]
        now = utcnow()
        held: list[tuple[DatasetRow, list[Candidate | None]] | None] = [None] * len(refs)
        lines: list[str | None] = [None] * len(refs)
        wanted: dict[tuple[str, str], tuple[int, str]] = {}
        for i, ((catalog_id, remote_id, _), path) in enumerate(zip(refs, paths)):
            key = (catalog_id, remote_id)
            head = json.dumps(list(key))
            previous = _Kept.parse(text) if (text := kept.pop(head, None)) is not None else None
            if previous is not None:
                fresh = previous.freshness(now.date())
                if previous.fingerprint == fingerprints.get(key) and previous.page == path \
                        and fresh.verdict == previous.row.verdict and build.carry(path, previous.inputs):
                    row = replace(previous.row, age_days=fresh.age_days)
                    summary = previous.scores(fresh) if previous.summary is not None else None
                    found = [None if (m := previous.matches.get(t.name)) is None or summary is None else
                             matcher.candidate(catalog_id, remote_id, row.name, row.title, row.organization,
                                               Match(m["matched"], m["reasons"]), summary, previous.license_id)
                             for t, matcher in zip(themes, matchers)]
                    held[i], lines[i] = (row, found), f"{head}\t{text}"
                    continue
            wanted[key] = (i, path)
        del kept
        for reads in _read_datasets(store, [(key, path) for key, (_, path) in wanted.items()], now, batch):
            for read in reads:
                d, page = read.dataset, read.page
                # no date in a dataset page's footer: it changes when its dataset does, not every midnight
                build.page(page.page, "dataset.html", d=page, catalog=links.get(page.catalog_id), packs=nav,
                           today=None, ally=ally_of.get(d.ref), in_packs=in_packs.get(d.ref, []))
                key = (d.catalog_id, d.remote_id)
                texts = texts_of(d, read.columns) if any(m.wants(d.catalog_id) for m in matchers) else {}
                matches = {t.name: m for t, matcher in zip(themes, matchers) if matcher.wants(d.catalog_id)
                           for m in [matcher.match(d, texts)] if m is not None}
                summary = CandidateScores.of(read.scores) if matches else None
                found = [None if t.name not in matches or summary is None else
                         matcher.candidate(d.catalog_id, d.remote_id, d.name, d.title, d.organization,
                                           matches[t.name], summary, d.license_id)
                         for t, matcher in zip(themes, matchers)]
                i = wanted[key][0]
                held[i] = (read.row, found)
                lines[i] = _kept_of(read, fingerprints[key], build.keys(page.page), matches).line(key)
    build.rows = [context] + [line for line in lines if line is not None]
    del lines
    by_catalog: dict[str, list[DatasetRow]] = {}
    pages_by_ref: dict[str, str] = {}
    candidates: list[list[Candidate]] = [[] for _ in themes]
    for entry in held:
        if entry is None:
            continue
        row, found = entry
        by_catalog.setdefault(row.catalog_id, []).append(row)
        pages_by_ref[row.ref] = row.page
        for mine, candidate in zip(candidates, found):
            if candidate is not None:
                mine.append(candidate)
    del held
    packs = _packs(settings, themes, [ranked(once(mine, copies)) for mine in candidates])
    del candidates
    downloads = {f"{p['pack']['base']}/{f['name']}": p["pack"]["folder"] / f["name"]
                 for p in packs if p["pack"] for f in p["pack"]["downloads"]}
    for p in packs:  # where the data folder is is no input of a page (a copied folder renders nothing)
        if p["pack"]:
            p["pack"] = {k: v for k, v in p["pack"].items() if k != "folder"}
    runs = _runs(settings, current_run)
    rows = [r for mine in by_catalog.values() for r in mine]
    publishers = allies.with_rows(publishers, {r.ref: r for r in rows})
    unique = _once(rows, copies)
    ally_pages = {allies.name_key(a.name): a.page for a in publishers}
    for p in packs:  # a pack's allies link to their pages
        for a in (p["pack"] or {}).get("allies", []):
            a["page"] = ally_pages.get(allies.name_key(a["organization"] or a["id"] or ""))
    # the index shows how many candidates each pack has, not their scores: their refs are its inputs
    build.page("index.html", "index.html", catalogs=catalogs, today=day,
               packs=[{**p, "candidates": [c.ref for c in p["candidates"]]} for p in packs],
               distribution=_distribution(unique, catalogs, by_catalog),
               totals={"datasets": len(unique), "copies": len(rows) - len(unique),
                       "tables": sum(r.tables for r in unique), "valid": sum(r.valid_tables for r in unique)},
               last_change=i18n.local_day(runs[0]["started_at"]) if runs else None)
    del rows, unique

    def refs_of(wanted: Iterable[str]) -> dict[str, str]:  # the pages a page links to, of all the datasets'
        return {ref: pages_by_ref[ref] for ref in wanted if ref in pages_by_ref}
    changed = {_entry_ref(entry) for run in runs for entries in run["changes"].values() for entry in entries}
    about = {r.ref: {"title": r.title or r.name, "organization": r.organization, "page": r.page}
             for mine in by_catalog.values() for r in mine if r.ref in changed}
    build.page("changes.html", "changes.html", runs=runs, packs=nav, today=day, about=about,
               pack_pages={t.name: f"packs/{page_slug(t.name)}.html" for t in themes})
    for c in catalogs:
        mine = sorted(by_catalog.pop(c.id, []), key=lambda d: (-d.mqa_total, d.name))
        build.page(c.page, "catalog.html", catalog=c, datasets=mine, packs=nav, today=day)
    for p in packs:
        wanted_refs = [c.ref for c in p["candidates"]] + [ref for a in (p["pack"] or {}).get("allies", [])
                                                          for ref in a["datasets"]]
        build.page(p["page"], "pack.html", pack=p, packs=nav, today=day, pages_by_ref=refs_of(wanted_refs))
    build.page("allies.html", "allies.html", allies=publishers, packs=nav, today=day)
    for ally in publishers:
        build.page(ally.page, "ally.html", ally=ally, message=allies.request_text(ally), packs=nav, today=day,
                   pages_by_ref=refs_of(d.ref for d in ally.datasets))
    build.file("assets/site.css", (TEMPLATES / "site.css").read_bytes())
    build.file("assets/site.js", (TEMPLATES / "site.js").read_bytes())
    build.file("assets/search/pagefind.js", (TEMPLATES / "search.js").read_bytes())  # the shards as one bundle
    return downloads, read_copy_at


def _entry_ref(entry: str) -> str:
    """The dataset a nightly summary's entry is about (`cdmx/llamadas-911`, `cdmx/llamadas-911: <resource>:
    <status>`), or a pack's name (`care-economy <version>`)."""
    return entry.split(": ", 1)[0].split(" ", 1)[0]


def _pack_membership(settings: Settings, themes: list[Theme]) -> dict[str, list[dict[str, str]]]:
    """Per dataset ref, the published packs holding one of its tables (title and page), by theme."""
    held: dict[str, list[dict[str, str]]] = {}
    for theme in themes:
        provenance = settings.paths.packs / theme.name / "latest" / "provenance.json"
        if not provenance.is_file():
            continue
        entries = json.loads(provenance.read_text(encoding="utf-8"))["resources"]
        for ref in dict.fromkeys(f"{e['catalog']}/{e['dataset']}" for e in entries):
            held.setdefault(ref, []).append({"title": theme.title, "page": f"packs/{page_slug(theme.name)}.html"})
    return held


def build_site(settings: Settings, current_run: NightlySummary | None = None,
               today: date | None = None, *, full: bool = False, batch: int = BATCH,
               wait: bool = True, shard_pages: int = sitesearch.SHARD_PAGES) -> SiteResult:
    """Build the site and publish it atomically, unless it is the same as the published one.

    Each page whose inputs are those of the published build is carried over from it, the others are
    rendered (`full`: every page rendered, as from scratch). The result is the same bytes either way.
    The search index is made in shards of about `shard_pages` pages (`sitesearch`); a shard whose Pagefind
    run failed keeps its published index, and says so in one line of `SiteResult.notes`.

    The store is read as a reader reads it: while a writer holds it, from the read copy it last published
    (`SiteResult.read_copy_at`). One builder at a time: with `wait` (the nightly) this waits for another
    one to finish, else it raises SiteBusy at once and touches nothing (`harvester report`)."""
    begun = time.monotonic()
    if not settings.paths.database.exists():
        raise HarvesterError(N_("%(file)s: no store yet; run `harvester harvest` first"), file=settings.paths.database)
    link = settings.paths.site
    builds = settings.paths.site_builds
    with _lock(settings.paths.root, "nightly" if current_run is not None else "report", wait):
        published = link.resolve() if link.is_symlink() else None
        current = published if published is not None and (published / "MANIFEST").is_file() else None
        build = _Build(builds, current, full, shard_pages)
        try:
            downloads, read_copy_at = _render(build, settings, current_run, today, batch)
            manifest = _listing_text(build.digests, downloads)
            pages = len(build.digests) - 1
            if current is not None and (current / "MANIFEST").read_text(encoding="utf-8") == manifest \
                    and sitesearch.is_indexed(current, shard_pages):
                build.discard()
                if build.inputs != build.published_inputs:  # the same pages from other inputs (new code)
                    _replace_text(current / INPUTS, _listing_text(build.inputs))
                if build.rows is not None and _digest_of(current / ROWS) != _lines_digest(build.rows):
                    # store rows changed that no page shows: the next build need not read those datasets again
                    temporary = current / f"{ROWS}.{uuid.uuid4().hex[:8]}.part"
                    _write_lines(temporary, build.rows)
                    os.replace(temporary, current / ROWS)
                return SiteResult(current, pages, len(downloads), False, round(time.monotonic() - begun, 2),
                                  rendered=build.rendered, carried=len(build.carried), read_copy_at=read_copy_at)
            final = build.publish(link, manifest, downloads)
        except BaseException:
            build.discard()
            raise
        _prune(builds, keep={final.name, published.name if published else ""})
    return SiteResult(final, pages, len(downloads), True, round(time.monotonic() - begun, 2),
                      notes=list(build.search.failures) if build.search else [],
                      rendered=build.rendered, carried=len(build.carried), read_copy_at=read_copy_at,
                      search=build.search)


def _write_lines(path: Path, lines: list[str]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line)
            handle.write("\n")


def _lines_digest(lines: list[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _digest_of(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def _replace_text(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + f".{uuid.uuid4().hex[:8]}.part")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


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
