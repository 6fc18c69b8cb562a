"""`harvester report`: the organizers' site, as the demo and the nightly job build it: complete, escaped,
published atomically, and not rewritten when nothing it shows changed. Browser checks: test_site_browser.py."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import HOSTILE_TITLE
from harvester import allies
from harvester.config import load_settings
from harvester.report import build_site, page_slug, safe_url
from harvester.store import Store

# The site's own scripts, by their relative paths: Pagefind's search UI and assets/site.js, nothing else.
OWN_SCRIPTS = re.compile(r'<script src="(?:\.\./)*(pagefind/pagefind-ui\.js|assets/site\.js)"></script>\n')


def without_own_scripts(text: str) -> str:
    """A page without the site's own two scripts, which every page loads, once each and in this order."""
    assert [m.group(1) for m in OWN_SCRIPTS.finditer(text)] == ["pagefind/pagefind-ui.js", "assets/site.js"]
    return OWN_SCRIPTS.sub("", text)


@pytest.fixture(scope="module")
def site(demo) -> Path:
    out, result = demo
    assert result.exit_code == 0, result.output
    return out / "site"


def copy_demo(demo, tmp_path: Path) -> Path:
    out, _ = demo
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, symlinks=True)
    return copy


def manifest(folder: Path) -> dict[str, str]:
    return {line.split("  ", 1)[1]: line.split("  ", 1)[0]
            for line in (folder / "MANIFEST").read_text(encoding="utf-8").splitlines()}


def test_the_demo_publishes_every_page(demo, site: Path):
    out, result = demo
    assert site.is_symlink() and site.resolve().parent == (out / ".site").resolve()
    assert f"site     {site / 'index.html'}" in result.output
    with Store(out / "catalog.duckdb", read_only=True) as store:
        datasets = store.query("SELECT catalog_id, name FROM datasets WHERE deleted_at IS NULL")
        catalogs = [r["id"] for r in store.query("SELECT id FROM catalogs")]
        publishers = allies.gather(store.publisher_facts(), {}, store.dataset_copies())
    pages = {str(p.relative_to(site)) for p in site.rglob("*.html")}
    spanish = {p for p in pages if not p.startswith("en/")}
    assert {"index.html", "changes.html", "packs/care-economy.html", "packs/mobility-and-women.html"} <= spanish
    assert {f"catalogs/{c}.html" for c in catalogs} <= spanish
    assert {f"datasets/{d['catalog_id']}/{page_slug(d['name'])}.html" for d in datasets} <= spanish
    assert {"allies.html"} | {a.page for a in publishers} <= spanish  # a page per publisher
    assert len(spanish) == 4 + len(catalogs) + len(datasets) + 1 + len(publishers)
    assert pages - spanish == {f"en/{p}" for p in spanish}  # every page in English too, under en/
    # the manifest names every file and its sha256; the downloads are the packs' own files
    listed = manifest(site.resolve())
    for path, digest in listed.items():
        if digest != "pack":
            assert hashlib.sha256((site / path).read_bytes()).hexdigest() == digest, path
    for theme in ("care-economy", "mobility-and-women"):
        version = (out / "packs" / theme / "latest").resolve().name
        sums = dict(reversed(line.split("  ", 1)) for line in
                    (out / "packs" / theme / "latest" / "SHA256SUMS").read_text().splitlines())
        parquet = [k for k in sums if k.startswith("data/")]
        assert parquet
        for name in parquet + ["datapackage.json", "README.md"]:
            copy = site / "downloads" / theme / version / name
            assert listed[f"downloads/{theme}/{version}/{name}"] == "pack"
            assert hashlib.sha256(copy.read_bytes()).hexdigest() == sums[name]
        assert (site / "downloads" / theme / version / f"{theme}-{version}.zip").is_file()


@pytest.mark.parametrize("lang, words", [
    ("es", {"index": ("Salud de los catálogos", "Enlaces rotos", "Tablas válidas", "Conjuntos de datos por puntaje MQA",
                      "Niveles MQA por catálogo"),
            "pack": ("Aliados",), "gate": r"el mejor recurso tiene 0 estrellas; se piden al menos \d",
            "dataset": ("Evaluación", "MQA de 405", "Validación", "Columnas")}),
    ("en", {"index": ("Catalog health", "Broken links", "Valid tables", "Datasets by MQA score", "MQA bands per catalog"),
            "pack": ("Allies",), "gate": r"best resource has 0 stars, at least \d wanted",
            "dataset": ("Scorecard", "MQA of 405", "Validation", "Columns")}),
])
def test_pages_show_what_organizers_need(site: Path, lang: str, words: dict):
    home = site if lang == "es" else site / "en"
    index = (home / "index.html").read_text(encoding="utf-8")
    assert f'<html lang="{lang}">' in index
    for text in words["index"] + ("Economía de los cuidados", "Transporte público, seguridad y mujeres"):
        assert text in index
    assert "<script" not in without_own_scripts(index) and "http://" not in index.split("</head>")[0]  # nothing loaded from outside
    pack = (home / "packs" / "mobility-and-women.html").read_text(encoding="utf-8")
    for text in words["pack"] + ("Fiscalía General de Justicia", ".parquet"):
        assert text in pack
    assert re.search(words["gate"], pack)  # a gate that failed, and why
    metro = (home / "datasets" / "cdmx" / "afluencia-diaria-del-metro-cdmx.html").read_text(encoding="utf-8")
    for text in words["dataset"] + ("afluencia", '<svg class="box"'):
        assert text in metro
    ragged = next(p for p in (home / "datasets").rglob("*.html") if "missing-cell" in p.read_text(encoding="utf-8"))
    assert "Row at position" in ragged.read_text(encoding="utf-8")  # validation errors are listed (frictionless's words)


def test_each_page_links_to_its_twin_in_the_other_language(site: Path):
    page = "datasets/cdmx/afluencia-diaria-del-metro-cdmx.html"
    spanish = (site / page).read_text(encoding="utf-8")
    english = (site / "en" / page).read_text(encoding="utf-8")
    assert '<a class="language" href="../../en/datasets/cdmx/afluencia-diaria-del-metro-cdmx.html" hreflang="en" ' \
           'lang="en">English</a>' in spanish
    assert '<a class="language" href="../../../datasets/cdmx/afluencia-diaria-del-metro-cdmx.html" hreflang="es" ' \
           'lang="es">Español</a>' in english
    # the English pages share the stylesheet and the downloads at the site's top
    assert 'href="../../../assets/site.css"' in english and not (site / "en" / "assets").exists()
    pack = (site / "en" / "packs" / "care-economy.html").read_text(encoding="utf-8")
    assert 'href="../../downloads/care-economy/' in pack and not (site / "en" / "downloads").exists()


def test_portal_strings_are_escaped_and_hostile_links_dropped(hostile_site: Path):
    site = hostile_site / "site"
    pages = list(site.rglob("*.html"))
    page = next(p for p in pages if "hostil" in p.name)
    assert page.resolve().is_relative_to(site.resolve())  # a name with ../ cannot leave the site
    assert page.parent.name == "veracruz" and "/" not in page.stem and ".." not in page.stem
    html = page.read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__pwned = &#34;title&#34;&lt;/script&gt;" in html
    for p in pages:
        text = without_own_scripts(p.read_text(encoding="utf-8"))
        for hostile in ("<script", "<img src=x", "<svg onload", "<iframe"):
            assert hostile not in text, (hostile, p)
        assert not re.search(r"""<[^<>]*\b(href|src)=["']?\s*javascript""", text, re.I), p  # shown as text, never a link
    assert "&lt;iframe src=javascript:window.__pwned=1&gt;" in html
    assert "/dataset/hostil%2F..%2F..%2F..%2Ffuera" in html  # the portal link stays on the dataset's page
    catalog = (site / "catalogs" / "veracruz.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in catalog and HOSTILE_TITLE not in catalog


def test_safe_url_and_page_slug():
    assert safe_url("https://datos.cdmx.gob.mx/dataset/x") == "https://datos.cdmx.gob.mx/dataset/x"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "file:///etc/passwd", "//x", "", None):
        assert safe_url(bad) is None
    assert page_slug("afluencia-del-metro") == "afluencia-del-metro"
    for name in ("../../etc/passwd", "a/b", "Título con acentos", ".."):
        slug = page_slug(name)
        assert re.fullmatch(r"[a-z0-9_-]+", slug), slug
    assert page_slug("a/b") != page_slug("a-b")  # a changed name gets a hash, so it cannot collide


def test_an_unchanged_site_is_not_rewritten_and_a_change_is_published_whole(demo, tmp_path: Path):
    settings = load_settings(copy_demo(demo, tmp_path) / "catalogs.toml", env={})
    link = settings.paths.site
    first = build_site(settings)
    assert not first.published and first.path == link.resolve()  # the demo's site is this one already
    stamps = {p: p.stat().st_mtime_ns for p in first.path.rglob("*")}
    assert not build_site(settings).published
    assert {p: p.stat().st_mtime_ns for p in first.path.rglob("*")} == stamps
    # a killed build left a folder behind; the next publish (a day later: ages change) removes it
    leftover = link.parent / ".site" / ".build-deadbeef0000"
    (leftover / "datasets").mkdir(parents=True)
    dangling = link.parent / ".site-link-deadbeef"
    dangling.symlink_to(".site/.build-deadbeef0000")  # killed between making the new link and moving it
    later = build_site(settings, today=date.today() + timedelta(days=1))
    assert later.published and link.resolve() == later.path != first.path
    assert not leftover.exists() and not dangling.is_symlink()
    assert first.path.is_dir()  # the previous site stays for readers still on it
    build_site(settings, today=date.today() + timedelta(days=2))
    assert not first.path.exists()  # but not the one before that
    assert len(list((link.parent / ".site").iterdir())) == 2


def test_a_failed_build_leaves_the_published_site_alone(demo, tmp_path: Path, monkeypatch):
    settings = load_settings(copy_demo(demo, tmp_path) / "catalogs.toml", env={})
    published = settings.paths.site.resolve()
    before = manifest(published)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    # the pages are written, then the disk fills while the pack downloads are copied
    monkeypatch.setattr(os, "link", disk_full)
    monkeypatch.setattr(shutil, "copy2", disk_full)
    with pytest.raises(OSError, match="No space left"):
        build_site(settings, today=date.today() + timedelta(days=1))
    monkeypatch.undo()
    assert settings.paths.site.resolve() == published and manifest(published) == before
    assert not list((settings.paths.root / ".site").glob(".build-*"))


def test_report_command(demo, tmp_path: Path, run_cli):
    config = copy_demo(demo, tmp_path) / "catalogs.toml"
    result = run_cli("report", config=config)
    assert result.exit_code == 0, result.output
    assert re.search(r"Site: \d+ pages and \d+ pack downloads, unchanged, nothing written", result.output)
    data = json.loads(run_cli("report", "--json", config=config).stdout)
    assert data["pages"] > 100 and data["published"] is False


def test_report_without_a_store_is_one_clear_line(tmp_path: Path, run_cli):
    config = tmp_path / "catalogs.toml"
    config.write_text(f'[harvester]\ndata_dir = "{(tmp_path / "data").as_posix()}"\n', encoding="utf-8")
    result = run_cli("report", config=config)
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "no store yet" in result.stderr


def test_the_site_follows_upstream_changes(portal, make_config, run_cli):
    """A resource removed upstream leaves the dataset's page and its catalog's counts; the run that saw it
    is on the changes page; a run with nothing new publishes nothing."""
    config = make_config("veracruz")
    config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n',
                      encoding="utf-8")
    assert run_cli("--quiet", "nightly", config=config).exit_code == 0
    site = config.parent / "data" / "site"
    page = site / "datasets" / "veracruz" / "guarderias-dif-veracruz.html"
    assert "válida</span>" in page.read_text(encoding="utf-8") or "errores</span>" in page.read_text(encoding="utf-8")
    health = re.search(r"(\d+) de (\d+)</span></td>\s*<td>[^<]*</td>\s*</tr>",
                       (site / "index.html").read_text(encoding="utf-8"))
    tables_before = int(health.group(2))
    portal.touch("veracruz", "guarderias-dif-veracruz", resources=[], title="Guarderías DIF Veracruz (sin archivos)")
    result = run_cli("--quiet", "nightly", "--json", config=config)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["work"]["site_published"] is True
    text = page.read_text(encoding="utf-8")
    assert "Guarderías DIF Veracruz (sin archivos)" in text
    assert "Ninguna tabla de este conjunto pudo validarse" in text and "Ninguna tabla de este conjunto fue perfilada" in text
    english = (site / "en" / "datasets" / "veracruz" / "guarderias-dif-veracruz.html").read_text(encoding="utf-8")
    assert "No table of this dataset could be validated" in english and "No table of this dataset was profiled" in english
    health = re.search(r"(\d+) de (\d+)</span></td>\s*<td>[^<]*</td>\s*</tr>",
                       (site / "index.html").read_text(encoding="utf-8"))
    assert int(health.group(2)) == tables_before - 1
    changes = (site / "changes.html").read_text(encoding="utf-8")
    assert "Conjuntos actualizados: 1" in changes and 'href="datasets/veracruz/guarderias-dif-veracruz.html"' in changes
    # a change names its dataset by title and publisher, not by slug alone
    assert ('<a href="datasets/veracruz/guarderias-dif-veracruz.html">Guarderías DIF Veracruz (sin archivos)</a> '
            '<span class="muted small">H. Ayuntamiento de Veracruz · veracruz/guarderias-dif-veracruz</span>') in changes
    changes = (site / "en" / "changes.html").read_text(encoding="utf-8")
    assert "Updated datasets: 1" in changes and 'href="datasets/veracruz/guarderias-dif-veracruz.html"' in changes
    quiet = run_cli("--quiet", "nightly", "--json", config=config)
    assert json.loads(quiet.stdout)["work"]["site_published"] is False
    assert len(list((config.parent / "data" / "runs").glob("*.json"))) == 3  # runs within a second each keep theirs


def test_each_publisher_has_a_page_linked_from_its_datasets_and_the_packs_with_the_message_to_send(
        demo, site: Path) -> None:
    out, _ = demo
    c5 = (site / "allies/centro-de-comando-control-computo-comunicaciones-y-contacto-ciudadano-c5.html").read_text(
        encoding="utf-8")
    assert "Llamadas 911 primer semestre" in c5 and "datos@c5.gob.mx" in c5
    assert "Un mensaje para enviarles" in c5 and "Asunto: Datos abiertos de Centro de Comando" in c5
    assert "Sin licencia abierta (los equipos no pueden reutilizarlos con certeza) (2):" in c5
    english = (site / "en/allies/centro-de-comando-control-computo-comunicaciones-y-contacto-ciudadano-c5.html"
               ).read_text(encoding="utf-8")
    assert "A message to send them" in english and "Asunto: Datos abiertos" in english  # the message stays Spanish
    index = (site / "allies.html").read_text(encoding="utf-8")
    assert 'href="allies/h-ayuntamiento-de-xalapa.html"' in index
    xalapa = (site / "allies/h-ayuntamiento-de-xalapa.html").read_text(encoding="utf-8")
    assert "8 conjuntos de datos" in xalapa and "también en xalapa/" in xalapa  # the slice's copies once
    dataset = (site / "datasets/cdmx/llamadas-911.html").read_text(encoding="utf-8")
    assert 'href="../../allies/centro-de-comando-control-computo-comunicaciones-y-contacto-ciudadano-c5.html"' in dataset
    pack = (site / "packs/mobility-and-women.html").read_text(encoding="utf-8")
    provenance = json.loads((out / "packs/mobility-and-women/latest/provenance.json").read_text(encoding="utf-8"))
    assert "cdmx/afluencia-diaria-del-metro-cdmx" in {f"{e['catalog']}/{e['dataset']}" for e in provenance["resources"]}
    metro = (site / "datasets/cdmx/afluencia-diaria-del-metro-cdmx.html").read_text(encoding="utf-8")
    assert 'En los paquetes: <a href="../../packs/mobility-and-women.html">' in metro
    assert 'href="../allies/' in pack  # a pack's allies link to their pages


def test_the_changes_page_names_datasets_resources_and_packs_in_local_time(demo, tmp_path: Path) -> None:
    """A nightly's summary (runs/*.json) as the changes page shows it: the dataset's title and publisher
    linking its page, the resource by name, the link status in words, a rebuilt pack linking its page, and
    the run's time in Mexico City's (UTC-6: 07:30 UTC is 01:30)."""
    settings = load_settings(copy_demo(demo, tmp_path) / "catalogs.toml", env={})
    settings.paths.runs.mkdir(parents=True, exist_ok=True)
    (settings.paths.runs / "20261201T073000Z.json").write_text(json.dumps({
        "started_at": "2026-12-01T07:30:00+00:00", "status": "ok", "failures": [],
        "changes": {"newly_broken_links": ["cdmx/llamadas-911: Llamadas 911 primer semestre: not_found"],
                    "packs_rebuilt": ["care-economy 2026-12-01-abc"]}}), encoding="utf-8")
    build_site(settings)
    changes = (settings.paths.site / "changes.html").read_text(encoding="utf-8")
    assert ('<a href="datasets/cdmx/llamadas-911.html">Llamadas al 911</a> <span class="muted small">Centro de Comando, '
            'Control, Cómputo, Comunicaciones y Contacto Ciudadano (C5) · cdmx/llamadas-911</span>: Llamadas 911 primer '
            'semestre <span class="bad">no encontrado</span>') in changes
    assert '<a href="packs/care-economy.html">care-economy 2026-12-01-abc</a>' in changes
    assert ">1 dic 2026, 01:30 CST</time>" in changes  # the datetime attribute keeps UTC for machines
    english = (settings.paths.site / "en" / "changes.html").read_text(encoding="utf-8")
    assert '<span class="bad">not found</span>' in english and "1:30" in english


def test_a_column_s_alerts_read_as_sentences_with_the_values_that_raised_them(site: Path) -> None:
    page = (site / "datasets/cdmx/adultos-mayores-pension.html").read_text(encoding="utf-8")
    row = page[page.index("<code>monto_pension</code>"):]
    row = row[:row.index("</tr>")]
    assert 'class="tag warn"' in row and "N/D" in row  # the portal's spelling of "no data", named
    assert "monto_pension" in row and "nulos" in row  # a Spanish sentence, not the alert's code
    english = (site / "en/datasets/cdmx/adultos-mayores-pension.html").read_text(encoding="utf-8")
    assert "the portal writes missing data as a filler text (N/D)" in english


def test_the_index_counts_each_dataset_once_and_says_how_many_copies_it_left_out(demo, site: Path) -> None:
    """Issue 13, one dataset once: the Xalapa catalog is a slice of the federal portal; its copies are in its
    own catalog's page, but the index's totals count each dataset once and say so."""
    out, _ = demo
    with Store(out / "catalog.duckdb", read_only=True) as store:
        (current,) = store.query("SELECT count(*) AS n FROM datasets WHERE deleted_at IS NULL")
        copies = store.dataset_copies()
        (xalapa,) = store.query("SELECT count(*) AS n FROM datasets WHERE deleted_at IS NULL AND catalog_id = 'xalapa'")
    assert len(copies) >= 8 and xalapa["n"] >= 8
    once = current["n"] - len(copies)
    index = (site / "index.html").read_text(encoding="utf-8")
    english = (site / "en/index.html").read_text(encoding="utf-8")
    assert f"{once:,} conjuntos de datos en " in index and f"{current['n']:,} conjuntos de datos en " not in index
    assert f"{len(copies):,} más son copias de estos en otros catálogos" in index
    assert f"{once:,} datasets in " in english and f"{len(copies):,} more are copies of these" in english
    catalog = (site / "catalogs/xalapa.html").read_text(encoding="utf-8")
    assert f"{xalapa['n']:,} conjuntos de datos" in catalog  # a catalog's own page counts all of its own
