"""The site's search index (harvester/sitesearch.py, Pagefind): only the pages marked for it are indexed, one
index per language of `<html lang>` wherever the page is, and the same pages give the same bytes whatever
the order their files were made in (so an incremental build publishes what a from-scratch one does)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from harvester import sitesearch

PAGE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><title>{title}</title></head>
<body><nav>Catálogos Cambios</nav>
<main>{body}</main>
</body>
</html>
"""


def dataset(lang: str, title: str, words: str) -> str:
    return PAGE.format(lang=lang, title=title, body=f"<div data-pagefind-body data-pagefind-meta=\"kind:dataset\"><h1>{title}</h1><p>{words}</p></div>"
                                                    "<table><tr><td>no indexado</td></tr></table>")


PAGES = {
    "index.html": PAGE.format(lang="es", title="Catálogos", body="<h1>Catálogos</h1><p>inicio portada</p>"),
    "datasets/cdmx/metro.html": dataset("es", "Afluencia diaria del Metro", "Sistema de Transporte Colectivo"),
    "datasets/cdmx/trolebus.html": dataset("es", "Afluencia de Trolebús", "Servicio de Transportes Eléctricos"),
    "datasets/puebla/agua.html": dataset("es", "Consumo de agua", "Organismo operador de agua"),
    "en/index.html": PAGE.format(lang="en", title="Catalogs", body="<h1>Catalogs</h1><p>home page</p>"),
    "en/datasets/cdmx/metro.html": dataset("en", "Daily ridership of the Metro", "Collective transport system"),
    "en/datasets/cdmx/trolebus.html": dataset("en", "Trolleybus ridership", "Electric transport service"),
    "en/datasets/puebla/agua.html": dataset("en", "Water use", "Water utility"),
}


def write(site: Path, order: list[str], mtime: int) -> None:
    for path in order:
        target = site / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(PAGES[path], encoding="utf-8")
        os.utime(target, (mtime, mtime))


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def page_counts(site: Path) -> dict[str, int]:
    """The pages each language's shards hold, as their Pagefind entries say."""
    listing = json.loads((site / "pagefind" / "indexes.json").read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    for lang, shards in listing.items():
        for shard in shards:
            entry = json.loads((site / "pagefind" / shard / "pagefind-entry.json").read_text(encoding="utf-8"))
            assert list(entry["languages"]) == [lang], shard  # a shard holds one language
            counts[lang] = counts.get(lang, 0) + entry["languages"][lang]["page_count"]
    return counts


def test_one_index_per_language_of_the_marked_pages_only(tmp_path: Path):
    site = tmp_path / "site"
    write(site, sorted(PAGES), 1_700_000_000)
    stats = sitesearch.index_site(site)
    assert sitesearch.is_indexed(site)
    assert json.loads((site / "pagefind" / "indexes.json").read_text(encoding="utf-8")) == {"en": ["en-00"],
                                                                                           "es": ["es-00"]}
    assert page_counts(site) == {"es": 3, "en": 3}
    assert (site / "pagefind" / "pagefind-ui.js").is_file() and (site / "pagefind" / "pagefind-ui.css").is_file()
    assert not any((site / "pagefind" / name).exists() for name in sitesearch.UNUSED)
    # the UI once, at pagefind/; each shard its own index
    assert not [p for p in (site / "pagefind").rglob("pagefind-ui.*") if p.parent != site / "pagefind"]
    assert stats.files == len(tree(site / "pagefind")) and stats.bytes > 0
    assert stats.shards == 2 and stats.indexed == ("en-00", "es-00") and not stats.carried


def test_the_same_pages_give_the_same_bytes_whatever_order_they_were_written_in(tmp_path: Path):
    first = tmp_path / "a"
    write(first, sorted(PAGES), 1_700_000_000)
    sitesearch.index_site(first)
    # Pagefind's own order changes from run to run (a hash map): several runs, so that one would differ
    for run in range(6):
        second = tmp_path / f"b{run}"
        write(second, sorted(PAGES, reverse=run % 2 == 0), 1_800_000_000 + run)
        sitesearch.index_site(second)
        assert tree(first / "pagefind") == tree(second / "pagefind"), run
    # and a changed page changes the index
    (second / "datasets/cdmx/metro.html").write_text(dataset("es", "Afluencia del Metro", "otra descripción"),
                                                     encoding="utf-8")
    sitesearch.index_site(second)
    assert tree(first / "pagefind") != tree(second / "pagefind")


def test_a_missing_pagefind_is_one_error_naming_the_package(tmp_path: Path, monkeypatch):
    import pagefind_bin

    def missing():
        raise FileNotFoundError("no pagefind binary")
    monkeypatch.setattr(pagefind_bin, "get_executable", missing)
    with pytest.raises(sitesearch.SearchIndexError, match=r"pagefind\[bin\]"):
        sitesearch.index_site(tmp_path)


# --- shards: only the changed ones indexed again -------------------------------------------------------

WORDS = ["agua", "metro", "bosque", "escuela", "mercado", "hospital", "museo", "parque", "puente", "tianguis"]


def many_pages(count: int) -> dict[str, str]:
    """`count` dataset pages in each language, each with a word of its own (`palabraNN` / `wordNN`)."""
    pages = {"index.html": PAGES["index.html"], "en/index.html": PAGES["en/index.html"]}
    for i in range(count):
        topic = WORDS[i % len(WORDS)]
        pages[f"datasets/cdmx/c{i:02d}.html"] = dataset("es", f"Conjunto {i} de {topic}", f"palabra{i:02d}")
        pages[f"en/datasets/cdmx/c{i:02d}.html"] = dataset("en", f"Dataset {i} about {topic}", f"word{i:02d}")
    return pages


def lay_out(site: Path, pages: dict[str, str]) -> None:
    for path, text in pages.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(text, encoding="utf-8")


def next_build(published: Path, site: Path, pages: dict[str, str]) -> list[str]:
    """A build assembled as the report does: the unchanged pages hard links to the published ones, the
    others written; the paths that changed (added and removed ones too)."""
    before = {p.relative_to(published).as_posix() for p in published.rglob("*.html")
              if not p.relative_to(published).as_posix().startswith("pagefind/")}
    changed = []
    for path, text in pages.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        if path in before and (published / path).read_text(encoding="utf-8") == text:
            os.link(published / path, site / path)
        else:
            (site / path).write_text(text, encoding="utf-8")
            changed.append(path)
    return sorted(changed + [p for p in before if p not in pages])


def shard_trees(site: Path) -> dict[str, dict[str, bytes]]:
    return {folder.name: tree(folder) for folder in sorted((site / "pagefind").iterdir()) if folder.is_dir()}


def inodes(folder: Path) -> set[int]:
    return {p.stat().st_ino for p in folder.rglob("*") if p.is_file()}


def test_shards_are_bounded_by_the_page_count_of_each_language(tmp_path: Path):
    assert [sitesearch.shard_count(n, 100) for n in (0, 1, 100, 101, 200, 201, 50_000)] == [1, 1, 1, 2, 2, 4, 512]
    assert sitesearch.shard_count(50_000) == 32  # 1,563 pages a shard at the site's default
    site = tmp_path / "site"
    lay_out(site, many_pages(40))
    stats = sitesearch.index_site(site, shard_pages=8)
    listing = json.loads((site / "pagefind" / "indexes.json").read_text(encoding="utf-8"))
    assert sorted(listing) == ["en", "es"] and all(len(shards) > 4 for shards in listing.values()), listing
    assert stats.shards == sum(len(v) for v in listing.values()) and len(stats.indexed) == stats.shards
    assert page_counts(site) == {"es": 40, "en": 40}
    manifest = (site / "pagefind" / "SHARDS").read_text(encoding="utf-8").splitlines()
    assert manifest[0] == sitesearch.header(8)
    listed = {line.split("  ", 1)[1]: line.split(" ")[1] for line in manifest if "  " in line}
    assert len(listed) == 80 and "index.html" not in listed  # the marked pages only
    assert all(shard == sitesearch.shard_of(path, "en" if path.startswith("en/") else "es", 8)
               for path, shard in listed.items())


def test_a_changed_page_indexes_its_shard_again_and_carries_the_others_over(tmp_path: Path):
    pages = many_pages(40)
    first = tmp_path / "first"
    lay_out(first, pages)
    sitesearch.index_site(first, shard_pages=8)
    before = shard_trees(first)

    changed_pages = dict(pages)
    changed_pages["datasets/cdmx/c07.html"] = dataset("es", "Conjunto 7 renovado", "xochiquetzal")
    changed_pages["en/datasets/cdmx/c07.html"] = dataset("en", "Dataset 7 renewed", "xochiquetzal")
    second = tmp_path / "second"
    changed = next_build(first, second, changed_pages)
    assert changed == ["datasets/cdmx/c07.html", "en/datasets/cdmx/c07.html"]
    stats = sitesearch.index_site(second, first, changed, shard_pages=8)
    mine = {sitesearch.shard_of("datasets/cdmx/c07.html", "es", 8),
            sitesearch.shard_of("en/datasets/cdmx/c07.html", "en", 8)}
    assert set(stats.indexed) == mine and len(mine) == 2 and not stats.carried and not stats.failures
    after = shard_trees(second)
    assert sorted(after) == sorted(before)
    assert {name for name in after if after[name] != before[name]} == mine  # one shard per language changed
    for name in after:  # and the others are the published ones: the same files, hard links
        if name not in mine:
            assert inodes(second / "pagefind" / name) == inodes(first / "pagefind" / name), name
    # the same files, manifest and listing included, as a from-scratch index of the same pages
    scratch = tmp_path / "scratch"
    lay_out(scratch, changed_pages)
    sitesearch.index_site(scratch, shard_pages=8)
    assert tree(second / "pagefind") == tree(scratch / "pagefind")

    # an added and a removed page mark their own shards
    third_pages = {p: t for p, t in changed_pages.items() if p != "datasets/cdmx/c11.html"}
    third_pages["datasets/cdmx/c99.html"] = dataset("es", "Conjunto nuevo", "nuevo")
    third = tmp_path / "third"
    changed = next_build(second, third, third_pages)
    stats = sitesearch.index_site(third, second, changed, shard_pages=8)
    assert set(stats.indexed) == {sitesearch.shard_of("datasets/cdmx/c11.html", "es", 8),
                                  sitesearch.shard_of("datasets/cdmx/c99.html", "es", 8)}
    assert page_counts(third) == {"es": 40, "en": 40}
    scratch = tmp_path / "scratch3"
    lay_out(scratch, third_pages)
    sitesearch.index_site(scratch, shard_pages=8)
    assert tree(third / "pagefind") == tree(scratch / "pagefind")

    # nothing changed: every shard carried over
    fourth = tmp_path / "fourth"
    stats = sitesearch.index_site(fourth, third, next_build(third, fourth, third_pages), shard_pages=8)
    assert stats.carried and stats.indexed == ()
    assert tree(fourth / "pagefind") == tree(third / "pagefind")


def test_a_page_whose_marked_part_did_not_change_changes_no_shard(tmp_path: Path):
    pages = many_pages(12)
    first = tmp_path / "first"
    lay_out(first, pages)
    sitesearch.index_site(first, shard_pages=8)
    moved = dict(pages)
    moved["datasets/cdmx/c03.html"] = pages["datasets/cdmx/c03.html"].replace("no indexado", "otra tabla")
    second = tmp_path / "second"
    stats = sitesearch.index_site(second, first, next_build(first, second, moved), shard_pages=8)
    assert stats.carried and stats.indexed == ()


def test_a_failing_shard_run_keeps_the_previous_index(tmp_path: Path):
    """Pagefind killed midway (its time is up) on the one changed shard: that shard's published index stays,
    whole; the failure is one line naming the shard; no half-written folder is left; the next build makes
    it again even though no page changed since."""
    pages = many_pages(40)
    first = tmp_path / "first"
    lay_out(first, pages)
    sitesearch.index_site(first, shard_pages=8)
    changed_pages = dict(pages)
    changed_pages["datasets/cdmx/c07.html"] = dataset("es", "Conjunto 7 renovado", "xochiquetzal")
    second = tmp_path / "second"
    stats = sitesearch.index_site(second, first, next_build(first, second, changed_pages), shard_pages=8,
                                  timeout=0.001)
    mine = sitesearch.shard_of("datasets/cdmx/c07.html", "es", 8)
    assert stats.indexed == () and len(stats.failures) == 1
    (line,) = stats.failures
    assert "\n" not in line and f"pagefind/{mine}:" in line and "did not finish" in line \
        and "previous index is kept" in line, line
    assert shard_trees(second) == shard_trees(first)  # every shard as published, the failed one too
    assert not [p for p in (second / "pagefind").iterdir() if p.name.startswith(".")]
    assert not sitesearch.is_indexed(second, 8)
    assert f"stale {mine} " in (second / "pagefind" / "SHARDS").read_text(encoding="utf-8")

    third = tmp_path / "third"
    stats = sitesearch.index_site(third, second, next_build(second, third, changed_pages), shard_pages=8)
    assert stats.indexed == (mine,) and not stats.failures and sitesearch.is_indexed(third, 8)
    scratch = tmp_path / "scratch"
    lay_out(scratch, changed_pages)
    sitesearch.index_site(scratch, shard_pages=8)
    assert tree(third / "pagefind") == tree(scratch / "pagefind")


def test_a_failing_shard_run_with_no_published_index_is_an_error(tmp_path: Path):
    site = tmp_path / "site"
    lay_out(site, many_pages(4))
    with pytest.raises(sitesearch.SearchIndexError, match=r"shard pagefind/e[ns]-00: Pagefind did not finish"):
        sitesearch.index_site(site, timeout=0.001)


# --- in the report's builds --------------------------------------------------------------------------------

def test_a_build_whose_dataset_pages_did_not_change_carries_the_index_over(demo, tmp_path: Path):
    """Another day changes the aggregate pages (their date), not a dataset's page: the published index is
    carried over (hard links), and it is the index a from-scratch build makes."""
    from datetime import date

    from harvester.report import build_site
    from test_report_scale import copy_of, tree

    settings = copy_of(demo[0], tmp_path, "a")
    before = settings.paths.site.resolve()
    result = build_site(settings, today=date(2031, 1, 2))
    assert result.published and result.search is not None and result.search.carried
    assert result.rendered and not [p for p in result.rendered if p.startswith("datasets/")]
    site = settings.paths.site.resolve()
    files = [p.relative_to(before) for p in (before / "pagefind").rglob("*") if p.is_file()]
    assert files and all((site / f).stat().st_ino == (before / f).stat().st_ino for f in files)

    scratch = copy_of(demo[0], tmp_path, "b")
    shutil.rmtree(scratch.paths.site_builds)
    scratch.paths.site.unlink()
    made = build_site(scratch, today=date(2031, 1, 2), full=True)
    assert made.search is not None and not made.search.carried
    assert tree(site) == tree(scratch.paths.site)


def retitle(settings, page: str, title: str) -> None:
    """The dataset of the site's `page` gets a new title (a real write through the store)."""
    from test_report_scale import key_of

    from harvester.store import Store
    key = key_of(settings, page)
    with Store(settings.paths.database) as store:
        store.query("UPDATE datasets SET title = ? WHERE catalog_id = ? AND remote_id = ?", [title, *key])


def sharded(demo, tmp_path: Path, name: str):
    """A copy of the demo's data folder whose published site is indexed in shards of 8 pages."""
    from harvester.report import build_site
    from test_report_scale import copy_of

    settings = copy_of(demo[0], tmp_path, name)
    result = build_site(settings, shard_pages=SMALL)  # the same pages, indexed again in small shards
    assert result.published and result.search is not None and len(result.search.indexed) > 4
    return settings


SMALL = 8
TROLEBUS = "datasets/cdmx/afluencia-diaria-de-trolebus.html"


def test_a_changed_dataset_indexes_one_shard_per_language_again(demo, tmp_path: Path):
    """A dataset's new title: Pagefind runs for its page's shard in Spanish and in English, no other; every
    other shard is the published one (hard links), and the site is what a from-scratch build makes."""
    from harvester.report import build_site
    from test_report_scale import copy_of, tree

    settings = sharded(demo, tmp_path, "a")
    before = settings.paths.site.resolve()
    retitle(settings, TROLEBUS, "Afluencia diaria de Trolebús y Xochiquetzal")
    result = build_site(settings, shard_pages=SMALL)
    assert result.published and result.search is not None and not result.search.failures
    site = settings.paths.site.resolve()
    shards = json.loads((site / "pagefind" / "indexes.json").read_text(encoding="utf-8"))
    mine = {sitesearch.shard_of(TROLEBUS, "es", len(shards["es"])),
            sitesearch.shard_of("en/" + TROLEBUS, "en", len(shards["en"]))}
    assert set(result.search.indexed) == mine
    folders = sorted(p.name for p in (site / "pagefind").iterdir() if p.is_dir())
    assert folders == sorted(shards["es"] + shards["en"]) and len(folders) > 6
    for name in folders:
        now, then = tree(site / "pagefind" / name), tree(before / "pagefind" / name)
        if name in mine:
            assert now != then, name
        else:  # byte-identical: the published files themselves
            assert now == then and all((site / "pagefind" / name / f).stat().st_ino ==
                                       (before / "pagefind" / name / f).stat().st_ino for f in now), name
    assert "Xochiquetzal" in (site / TROLEBUS).read_text(encoding="utf-8")

    scratch = copy_of(settings.paths.root, tmp_path, "b")  # the same pages from scratch: the same files
    shutil.rmtree(scratch.paths.site_builds)
    scratch.paths.site.unlink()
    made = build_site(scratch, shard_pages=SMALL)
    assert made.carried == 0 and made.search is not None and len(made.search.indexed) == len(folders)
    assert tree(site) == tree(scratch.paths.site)


def test_a_changed_page_whose_searched_part_is_the_same_indexes_nothing(demo, tmp_path: Path):
    """A broken link changes a dataset's page but not what the search reads of it: no shard is made again."""
    from harvester.report import build_site
    from test_report_scale import break_one_link

    settings = sharded(demo, tmp_path, "a")
    _, page = break_one_link(settings)
    result = build_site(settings, shard_pages=SMALL)
    assert result.published and page in result.rendered
    assert result.search is not None and result.search.carried and result.search.indexed == ()


def test_a_failing_shard_keeps_its_index_and_the_build_says_so(demo, tmp_path: Path, monkeypatch):
    """The report publishes the new pages with the failed shard's previous index, one note naming it, and
    the next build (nothing changed since) makes that shard again."""
    from harvester.report import build_site
    from test_report_scale import tree

    settings = sharded(demo, tmp_path, "a")
    before = settings.paths.site.resolve()
    retitle(settings, TROLEBUS, "Afluencia diaria de Trolebús y Xochiquetzal")
    with monkeypatch.context() as patch:
        patch.setattr(sitesearch, "TIMEOUT", 0.001)  # Pagefind's time is up at once: a real run, killed
        failed = build_site(settings, shard_pages=SMALL)
    assert failed.published and failed.search is not None and len(failed.search.failures) == 2
    assert failed.notes == list(failed.search.failures)
    assert all(line.startswith("search index shard pagefind/e") and "previous index is kept" in line
               for line in failed.notes), failed.notes
    site = settings.paths.site.resolve()
    assert tree(site / "pagefind") != tree(before / "pagefind")  # the manifest says which shards are stale
    for name in json.loads((site / "pagefind" / "indexes.json").read_text(encoding="utf-8"))["es"]:
        assert tree(site / "pagefind" / name) == tree(before / "pagefind" / name)  # every index as it was
    again = build_site(settings, shard_pages=SMALL)
    assert again.published and again.search is not None and len(again.search.indexed) == 2
    assert not again.search.failures and sitesearch.is_indexed(settings.paths.site.resolve(), SMALL)


def test_a_full_build_indexes_again(demo, tmp_path: Path):
    from datetime import date

    from harvester.report import build_site
    from test_report_scale import copy_of

    settings = copy_of(demo[0], tmp_path, "a")
    result = build_site(settings, today=date(2031, 1, 2), full=True)
    assert result.published and result.search is not None and not result.search.carried
