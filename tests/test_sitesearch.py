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
    return PAGE.format(lang=lang, title=title, body=f"<div data-pagefind-body><h1>{title}</h1><p>{words}</p></div>"
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


def test_one_index_per_language_of_the_marked_pages_only(tmp_path: Path):
    site = tmp_path / "site"
    write(site, sorted(PAGES), 1_700_000_000)
    stats = sitesearch.index_site(site)
    assert sitesearch.is_indexed(site)
    entry = json.loads((site / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert {lang: v["page_count"] for lang, v in entry["languages"].items()} == {"es": 3, "en": 3}
    assert (site / "pagefind" / "pagefind-ui.js").is_file() and (site / "pagefind" / "pagefind-ui.css").is_file()
    assert not any((site / "pagefind" / name).exists() for name in sitesearch.UNUSED)
    assert stats.files == len(tree(site / "pagefind")) and stats.bytes > 0


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


def test_a_changed_dataset_page_is_indexed_again(demo, tmp_path: Path):
    from harvester.report import build_site
    from test_report_scale import break_one_link, copy_of

    settings = copy_of(demo[0], tmp_path, "a")
    before = settings.paths.site.resolve()
    break_one_link(settings)
    result = build_site(settings)
    assert result.published and result.search is not None and not result.search.carried
    site = settings.paths.site.resolve()
    assert (site / "pagefind" / "pagefind-entry.json").stat().st_ino != \
        (before / "pagefind" / "pagefind-entry.json").stat().st_ino


def test_a_full_build_indexes_again(demo, tmp_path: Path):
    from datetime import date

    from harvester.report import build_site
    from test_report_scale import copy_of

    settings = copy_of(demo[0], tmp_path, "a")
    result = build_site(settings, today=date(2031, 1, 2), full=True)
    assert result.published and result.search is not None and not result.search.carried
