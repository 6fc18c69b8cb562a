"""The site at scale (issue 12): a page is rendered only when its inputs changed, else carried over from the
published build; a dataset is read and scored only when its store rows changed (their fingerprint is not the
one the published build kept in ROWS), else what the aggregate pages and the packs need of it comes from
ROWS; the result is byte for byte a from-scratch render; the datasets are read a batch at a time; a build
stopped midway publishes nothing. The 50,000-dataset figures: bench/bench_site.py."""
from __future__ import annotations

import html
import re
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

import harvester.report as report
from harvester import clock
from harvester.config import Settings, load_settings
from harvester.model import ResourceKey
from harvester.candidates import find_candidates
from harvester.report import build_site, page_slug
from harvester.scores import all_scores
from harvester.themes import load_theme
from harvester.store import Store
from harvester.store.reads import Reads


def copy_of(folder: Path, tmp_path: Path, name: str) -> Settings:
    copy = tmp_path / name
    shutil.copytree(folder, copy, symlinks=True)
    return load_settings(copy / "catalogs.toml", env={})


def tree(site: Path) -> dict[str, bytes]:
    root = site.resolve()
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def every_file(settings: Settings) -> set[str]:
    """The site's pages and stylesheet (what a build renders or carries over), by its manifest."""
    site = settings.paths.site.resolve()
    return {line.split("  ", 1)[1] for line in (site / "MANIFEST").read_text(encoding="utf-8").splitlines()
            if not line.startswith("pack  ")}


def in_both(pages: list[str]) -> list[str]:
    """Each page in Spanish (at the site's root) and English (under en/)."""
    return [page for p in pages for page in (p, f"en/{p}")]


def ally_of(settings: Settings, page: str) -> list[str]:
    """A dataset's publisher's page (the one its page links to) and the publishers' index: a broken link
    changes both."""
    html = (settings.paths.site.resolve() / page).read_text(encoding="utf-8")
    (link,) = set(re.findall(r'href="(?:\.\./)+(allies/[^"]+\.html)"', html))
    return ["allies.html", link]


def break_one_link(settings: Settings, candidate: bool = False, status: str = "not_found") -> tuple[str, str]:
    """A working link of a dataset no theme lists (`candidate`: of a candidate of a pack) turns 404, or
    `status` (a real write through the store): the dataset's catalog and page."""
    site = settings.paths.site.resolve()
    packs = " ".join(p.read_text(encoding="utf-8") for p in (site / "packs").glob("*.html"))
    with Store(settings.paths.database) as store:
        rows = store.query("SELECT d.catalog_id, d.name, f.dataset_id, f.resource_id FROM resource_files f "
                           "JOIN datasets d ON d.catalog_id = f.catalog_id AND d.remote_id = f.dataset_id "
                           "WHERE f.status = 'ok' AND d.deleted_at IS NULL ORDER BY ALL")
        row = next(r for r in rows if (f">{r['catalog_id']}/{r['name']}<" in packs) == candidate
                   and (site / "datasets" / r["catalog_id"] / f"{page_slug(r['name'])}.html").is_file())
        key = ResourceKey(row["catalog_id"], row["dataset_id"], row["resource_id"])
        check = store.link_check(key)
        assert check is not None
        if status == "not_found":
            store.record_link_check(replace(check, status="not_found", reason="HTTP 404", http_status=404))
        else:
            store.record_link_check(replace(check, status=status))
    return row["catalog_id"], f"datasets/{row['catalog_id']}/{page_slug(row['name'])}.html"


@pytest.fixture
def reads(monkeypatch) -> list[tuple[str, str]]:
    """The datasets the site reads from the store (and scores), as they are asked for."""
    asked: list[tuple[str, str]] = []
    read = Reads.current_datasets
    monkeypatch.setattr(Reads, "current_datasets",
                        lambda self, keys=None: (asked.extend(keys or [("every", "dataset")]), read(self, keys))[1])
    return asked


def key_of(settings: Settings, page: str) -> tuple[str, str]:
    with Store(settings.paths.database, read_only=True) as store:
        return next((c, d) for c, d, name in store.current_dataset_refs()
                    if page == f"datasets/{c}/{page_slug(name)}.html")


def from_scratch(settings: Settings, tmp_path: Path, name: str) -> Settings:
    """A copy of this data folder without its site, built from scratch: every dataset read, every page rendered."""
    copy = copy_of(settings.paths.root, tmp_path, name)
    shutil.rmtree(copy.paths.site_builds)
    copy.paths.site.unlink()
    scratch = build_site(copy)
    assert scratch.published and scratch.carried == 0 and len(scratch.rendered) == len(every_file(copy))
    return copy


def test_with_nothing_changed_no_page_is_rendered_no_dataset_read_and_nothing_written(demo, tmp_path: Path, reads):
    settings = copy_of(demo[0], tmp_path, "a")
    site = settings.paths.site.resolve()
    assert (site / "ROWS").is_file()
    stamps = {p: p.stat().st_mtime_ns for p in site.parent.rglob("*")}
    result = build_site(settings)
    assert not result.published and result.path == site
    assert result.rendered == [] and result.carried == len(every_file(settings)) == result.pages + 1
    assert reads == []  # every dataset's store rows are the ones the published build kept: none read again
    assert {p: p.stat().st_mtime_ns for p in site.parent.rglob("*")} == stamps


def test_one_changed_dataset_renders_its_page_and_the_aggregates_only_and_matches_a_full_render(demo, tmp_path,
                                                                                                 reads):
    settings = copy_of(demo[0], tmp_path, "a")
    before = settings.paths.site.resolve()
    catalog, page = break_one_link(settings)
    same_store = copy_of(settings.paths.root, tmp_path, "b")  # the changed store, its site not yet rebuilt

    result = build_site(settings)
    assert result.published
    assert reads == [key_of(settings, page)]  # that dataset alone is read and scored again
    assert sorted(result.rendered) == sorted(in_both([page, "index.html", f"catalogs/{catalog}.html",
                                                      *ally_of(settings, page)]))
    assert result.carried == len(every_file(settings)) - 10
    site = settings.paths.site.resolve()
    assert '<span class="bad">no encontrado</span>' in (site / page).read_text(encoding="utf-8")
    assert '<span class="bad">not found</span>' in (site / "en" / page).read_text(encoding="utf-8")
    # a carried page is the published one's file (a hard link), not a copy
    carried = next(p for p in every_file(settings) if p.startswith("datasets/") and p != page)
    assert (site / carried).stat().st_ino == (before / carried).stat().st_ino

    shutil.rmtree(same_store.paths.site_builds)  # from scratch: no build to carry anything from
    same_store.paths.site.unlink()
    scratch = build_site(same_store)
    assert scratch.published and scratch.carried == 0 and len(scratch.rendered) == len(every_file(same_store))
    assert tree(site) == tree(same_store.paths.site)  # pages, stylesheet, downloads, MANIFEST and INPUTS


def test_a_build_stopped_midway_publishes_nothing(demo, tmp_path: Path, monkeypatch):
    settings = copy_of(demo[0], tmp_path, "a")
    published = settings.paths.site.resolve()
    before = tree(published)
    _, page = break_one_link(settings)
    write = report._Build._write
    written: list[str] = []

    def interrupted(self, path: str, data: bytes) -> None:
        if len(written) == 40:
            raise KeyboardInterrupt  # Ctrl-C (or the nightly's timeout) with 40 pages of the new site written
        written.append(path)
        write(self, path, data)
    monkeypatch.setattr(report._Build, "_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_site(settings, full=True)
    monkeypatch.undo()
    assert len(written) == 40
    assert settings.paths.site.resolve() == published and tree(published) == before
    assert not list(settings.paths.site_builds.glob(".build-*"))
    result = build_site(settings)  # the next build publishes the change, from the untouched published site
    assert result.published and len(result.rendered) == 10  # 5 pages, in Spanish and English
    assert set(ally_of(settings, page)) <= set(result.rendered)


def test_the_datasets_are_read_a_batch_at_a_time(demo, tmp_path: Path, monkeypatch):
    settings = copy_of(demo[0], tmp_path, "a")
    asked: list[int] = []
    for name in ("published_columns_of", "published_validations_of"):
        read = getattr(Reads, name)
        monkeypatch.setattr(Reads, name, lambda self, keys, read=read: (asked.append(len(keys)), read(self, keys))[1])
    result = build_site(settings, full=True, batch=7)
    with Store(settings.paths.database, read_only=True) as store:
        datasets = len(store.current_dataset_keys())
    assert asked and max(asked) <= 7 and sum(asked) == 2 * datasets  # each dataset in one batch, once per read
    assert len(result.rendered) == len(every_file(settings))
    assert not result.published  # rendered 7 at a time, the very bytes of the published site


def test_new_code_renders_every_page_once(demo, tmp_path: Path, monkeypatch):
    settings = copy_of(demo[0], tmp_path, "a")
    site = settings.paths.site.resolve()
    inputs = (site / "INPUTS").read_text(encoding="utf-8")
    monkeypatch.setattr(report, "_code_version", lambda: "a template or the code changed")
    first = build_site(settings)
    assert not first.published  # the same bytes: nothing published
    assets = {"assets/site.css", "assets/site.js", "assets/search/pagefind.js"}
    assert sorted(first.rendered) == sorted(every_file(settings) - assets)  # every page, once
    assert first.carried == 3  # the stylesheet and the scripts are their own inputs
    assert (site / "INPUTS").read_text(encoding="utf-8") != inputs  # but the new inputs are remembered
    second = build_site(settings)
    assert second.rendered == [] and not second.published


def test_a_changed_candidate_renders_its_pack_pages_and_matches_a_full_render(demo, tmp_path: Path, reads):
    """A pack's candidates come from ROWS for the datasets not read again: a changed candidate among them
    gives the pack page a from-scratch build gives."""
    settings = copy_of(demo[0], tmp_path, "a")
    catalog, page = break_one_link(settings, candidate=True)
    result = build_site(settings)
    assert result.published and reads == [key_of(settings, page)]
    packs = {p for p in result.rendered if p.startswith("packs/")}
    assert packs and set(result.rendered) == set(in_both([page, "index.html", f"catalogs/{catalog}.html", *packs,
                                                          *ally_of(settings, page)]))
    assert '<span class="bad">no encontrado</span>' in (settings.paths.site / page).read_text(encoding="utf-8")
    assert '<span class="bad">not found</span>' in (settings.paths.site / "en" / page).read_text(encoding="utf-8")
    assert tree(settings.paths.site) == tree(from_scratch(settings, tmp_path, "b").paths.site)


def test_the_packs_candidates_are_find_candidates_whether_read_or_kept(demo, tmp_path: Path):
    """The site matches the themes over the datasets it reads (and keeps the matches in ROWS) instead of
    running find_candidates: the same candidates in the same order, read or kept."""
    settings = copy_of(demo[0], tmp_path, "a")
    break_one_link(settings, candidate=True)
    kept = build_site(settings)  # one dataset read, the others kept
    full = from_scratch(settings, tmp_path, "b")  # every dataset read
    with Store(settings.paths.database, read_only=True) as store:
        for path in sorted(settings.profiles.glob("*.toml")):
            theme = load_theme(path)
            wanted = [html.escape(c.ref) for c in find_candidates(store, theme)]
            assert len(wanted) > 3
            for site in (kept.path, full.paths.site):
                for home, heading in ((site, "<h2>Candidatos"), (site / "en", "<h2>Candidates")):
                    text = (home / "packs" / f"{page_slug(theme.name)}.html").read_text(encoding="utf-8")
                    shown = re.findall(r'<br><span class="muted small">(.*?)</span></td>', text.split(heading)[1])
                    assert shown == wanted


def test_store_rows_no_page_shows_read_the_dataset_once_and_publish_nothing(demo, tmp_path: Path, reads):
    """A change to a dataset's store rows (its fingerprint) that no page shows: it is read again once,
    nothing is published, and ROWS keeps its new fingerprint so the next build reads nothing."""
    settings = copy_of(demo[0], tmp_path, "a")
    site = settings.paths.site.resolve()
    rows = (site / "ROWS").read_text(encoding="utf-8")
    with Store(settings.paths.database) as store:
        key = store.current_dataset_keys()[3]
        store.query("UPDATE datasets SET search_text = search_text || ' más' WHERE catalog_id = ? AND remote_id = ?",
                    list(key))
    first = build_site(settings)
    assert reads == [key]
    assert not first.published and first.rendered == [] and first.path == site
    assert (site / "ROWS").read_text(encoding="utf-8") != rows
    reads.clear()
    second = build_site(settings)
    assert reads == [] and second.rendered == [] and not second.published
    assert tree(site) == tree(from_scratch(settings, tmp_path, "b").paths.site)


def test_a_link_that_answered_304_reads_nothing_again(demo, tmp_path: Path, reads):
    """A working link that answered 304 where it answered 200 is the same input of the pages and of ROWS:
    a quiet nightly reads no dataset again and writes nothing."""
    settings = copy_of(demo[0], tmp_path, "a")
    site = settings.paths.site.resolve()
    stamps = {p: p.stat().st_mtime_ns for p in site.parent.rglob("*")}
    break_one_link(settings, status="not_modified")
    result = build_site(settings)
    assert reads == [] and result.rendered == [] and not result.published
    assert {p: p.stat().st_mtime_ns for p in site.parent.rglob("*")} == stamps


def test_a_damaged_rows_file_reads_those_datasets_again(demo, tmp_path: Path, reads):
    settings = copy_of(demo[0], tmp_path, "a")
    site = settings.paths.site.resolve()
    lines = (site / "ROWS").read_text(encoding="utf-8").splitlines()
    damaged = [lines[0]] + [line[:len(line) // 2] if i % 2 else line for i, line in enumerate(lines[1:])]
    (site / "ROWS").unlink()  # a hard link of the build before's: replaced, not changed in place
    (site / "ROWS").write_text("\n".join(damaged) + "\n", encoding="utf-8")
    result = build_site(settings)
    assert len(reads) == len(lines[1:]) // 2  # every damaged line's dataset, and only those
    assert not result.published and result.rendered == []
    assert (site / "ROWS").read_text(encoding="utf-8").splitlines() == lines  # mended


def test_a_day_later_only_the_pages_that_show_ages_are_rendered(demo, tmp_path: Path):
    settings = copy_of(demo[0], tmp_path, "a")
    with Store(settings.paths.database, read_only=True) as store:
        today = all_scores(store)
        with clock.shifted(timedelta(days=1)):
            tomorrow = all_scores(store)
    flipped = {f"datasets/{s.catalog}/{page_slug(s.dataset)}" for k, s in today.items()
               if s.freshness.verdict != tomorrow[k].freshness.verdict}  # fresh → stale overnight
    asked: list[tuple[str, str]] = []
    read = Reads.current_datasets
    with clock.shifted(timedelta(days=1)), pytest.MonkeyPatch.context() as patch:
        patch.setattr(Reads, "current_datasets", lambda self, keys=None: (asked.extend(keys), read(self, keys))[1])
        result = build_site(settings)
    assert result.published
    # the datasets whose verdict changed are read again; every other one's age is worked out from ROWS
    assert sorted(asked) == sorted(k for k, s in today.items() if s.freshness.verdict != tomorrow[k].freshness.verdict)
    aggregates = {p for p in every_file(settings) if not p.startswith(("datasets/", "en/datasets/", "assets/"))}
    assert aggregates <= set(result.rendered)  # index, catalogs, packs, changes: ages and the date
    shown = [p for p in result.rendered if p.startswith(("datasets/", "en/datasets/"))]
    assert all(any(p.removeprefix("en/") == f"{f}.html" or re.fullmatch(re.escape(f) + r"-[0-9a-f]{8}\.html",
                                                                         p.removeprefix("en/")) for f in flipped)
               for p in shown), shown
    assert sorted(shown) == sorted(in_both([p for p in shown if not p.startswith("en/")]))  # both, or neither
    assert len(result.rendered) == len(aggregates) + len(shown)
