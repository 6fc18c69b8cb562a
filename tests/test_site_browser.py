"""The report site in a real browser: Debian's Chromium (/usr/bin/chromium, installed by the project's
set-up: scripts/install-chromium), headless, driven by Playwright over pages served on 127.0.0.1.

Every page loads without console errors or failed requests, every internal link resolves, nothing is
fetched from outside the site, a hostile dataset title stays text, and the pages fit a phone's width.
Set HARVESTER_SCREENSHOTS to a folder to keep screenshots of the pages checked."""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.request
from collections import deque
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import urldefrag, urlsplit

import pytest

from conftest import HOSTILE_TITLE

CHROMIUM = os.environ.get("HARVESTER_CHROMIUM", "/usr/bin/chromium")
# Headless, no sandbox (CI runs as root), and no background traffic: this machine's network is closed.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
                 "--disable-extensions", "--metrics-recording-only", "--no-default-browser-check"]
PHONE = {"width": 390, "height": 844}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM}: Chromium is not installed; run `sh scripts/install-chromium` (Debian's chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        import sys
        if not isinstance(sys.exc_info()[1], ConnectionResetError):  # Chromium dropping a keep-alive: fine
            super().handle_error(request, client_address)


def serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    server = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


class Visit:
    """A page opened in the browser, with everything that went wrong while it loaded."""

    def __init__(self, browser, base: str, viewport: dict[str, int] | None = None) -> None:
        self.base = base
        self.context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.problems.append(f"console {m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        self.context.route("**/*", self._only_the_site)

    def _only_the_site(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith("data:"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, url: str) -> None:
        self.page.goto(url, wait_until="load")

    def links(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "a[href], link[href], img[src], script[src]", "els => els.map(e => e.href || e.src)")

    def close(self) -> None:
        self.context.close()


def crawl(browser, site: Path, shots: Path | None = None) -> tuple[set[str], list[str], list[str], set[str]]:
    """Open every page reachable from index.html; return the pages, problems, outside requests and files."""
    server, base = serve(site)
    visit = Visit(browser, base)
    seen, problems, files = set(), [], set()
    queue = deque([base + "index.html"])
    try:
        while queue:
            url = queue.popleft()
            if url in seen:
                continue
            seen.add(url)
            visit.problems.clear()
            visit.open(url)
            problems += [f"{url}: {p}" for p in visit.problems]
            for link in visit.links():
                target = urldefrag(link).url
                if target.startswith("data:"):
                    continue  # the empty favicon, so that no browser asks for /favicon.ico
                if not target.startswith(base):
                    if urlsplit(target).scheme in ("http", "https"):
                        continue  # a portal's page: the site links out, it does not load from there
                    problems.append(f"{url}: odd link {link}")
                elif target.endswith(".html"):
                    queue.append(target)
                else:
                    files.add(target)
            if shots is not None and url.endswith(("index.html", "mobility-and-women.html", "changes.html")):
                visit.page.screenshot(path=str(shots / (url[len(base):].replace("/", "_") + ".png")), full_page=True)
        for target in sorted(files):  # downloads and the stylesheet: asked for like a browser would
            with urllib.request.urlopen(urllib.request.Request(target, method="HEAD"), timeout=10) as answer:
                if answer.status != 200:
                    problems.append(f"HTTP {answer.status}: {target}")
        outside = list(visit.outside)
    finally:
        visit.close()
        server.shutdown()
    return {u[len(base):] for u in seen}, problems, outside, {u[len(base):] for u in files}


def screenshots() -> Path | None:
    folder = os.environ.get("HARVESTER_SCREENSHOTS")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


def own_scripts(visit: Visit) -> list[str | None]:
    return visit.page.eval_on_selector_all("script", "els => els.map(e => e.getAttribute('src'))")


def test_every_page_loads_cleanly_and_every_internal_link_resolves(demo, browser):
    out, result = demo
    assert result.exit_code == 0, result.output
    site = (out / "site").resolve()
    pages, problems, outside, files = crawl(browser, site, screenshots())
    assert problems == []
    assert outside == []  # nothing from a CDN, a font service or a portal is loaded
    on_disk = {str(p.relative_to(site)) for p in site.rglob("*.html")}
    assert pages == on_disk  # every page is reachable from the index, and every link to a page resolved
    assert {"assets/site.css", "assets/site.js", "pagefind/pagefind-ui.js", "pagefind/pagefind-ui.css"} <= files
    assert any(f.endswith(".parquet") for f in files) and any(f.endswith(".zip") for f in files)


def test_a_hostile_title_stays_text(hostile_site: Path, browser):
    site = (hostile_site / "site").resolve()
    page_file = next(site.glob("datasets/veracruz/hostil-*.html"))
    server, base = serve(site)
    visit = Visit(browser, base)
    try:
        for path in (str(page_file.relative_to(site)), "catalogs/veracruz.html", "index.html", "changes.html"):
            visit.open(base + path)
            assert visit.page.evaluate("typeof window.__pwned") == "undefined", path
            root = "../" * path.count("/")  # the only scripts are the site's own two, by their relative paths
            assert own_scripts(visit) == [root + "pagefind/pagefind-ui.js", root + "assets/site.js"], path
            assert visit.page.locator("iframe").count() == 0
        visit.open(base + str(page_file.relative_to(site)))
        assert visit.page.inner_text("h1") == HOSTILE_TITLE
        shots = screenshots()
        if shots is not None:
            visit.page.screenshot(path=str(shots / "hostile_dataset.png"))
        assert visit.page.locator("h1 b").count() == 0  # the markup in the title is not markup
        assert "<iframe src=javascript:window.__pwned=1>" in visit.page.inner_text("p.tags")
        hrefs = visit.page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        assert not [h for h in hrefs if h.strip().lower().startswith("javascript")]
        visit.open(base + "catalogs/veracruz.html")
        catalog_links = visit.page.get_by_role("link", name=HOSTILE_TITLE)
        assert catalog_links.count() == 1
        catalog_links.click()
        visit.page.wait_for_load_state("load")
        assert visit.page.url == base + str(page_file.relative_to(site))
        assert visit.problems == [] and visit.outside == []
    finally:
        visit.close()
        server.shutdown()


def test_pages_fit_a_phone(demo, browser):
    out, _ = demo
    site = (out / "site").resolve()
    server, base = serve(site)
    visit = Visit(browser, base, viewport=PHONE)
    shots = screenshots()
    try:
        for path in ("index.html", "packs/mobility-and-women.html", "datasets/cdmx/afluencia-diaria-del-metro-cdmx.html",
                     "catalogs/cdmx.html", "changes.html"):
            visit.open(base + path)
            width = visit.page.evaluate("Math.max(document.documentElement.scrollWidth, document.scrollingElement.scrollWidth)")
            assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px phone"
            size = visit.page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
            assert size >= 14, f"{path}: body text of {size}px"
            if shots is not None:
                visit.page.screenshot(path=str(shots / ("phone_" + path.replace("/", "_") + ".png")))
        assert visit.problems == [] and visit.outside == []
    finally:
        visit.close()
        server.shutdown()


# --- search, sortable and filterable tables, rows as cards (assets/site.js, pagefind/) -------------------

METRO = "datasets/cdmx/afluencia-diaria-del-metro-cdmx.html"
CATALOG = "catalogs/cdmx.html"
PACK = "packs/mobility-and-women.html"


@pytest.fixture(scope="module")
def served(demo) -> Iterator[tuple[Path, str]]:
    out, result = demo
    assert result.exit_code == 0, result.output
    site = (out / "site").resolve()
    server, base = serve(site)
    try:
        yield site, base
    finally:
        server.shutdown()


@pytest.fixture
def visit(browser, served) -> Iterator[Visit]:
    one = Visit(browser, served[1])
    yield one
    try:
        assert one.problems == [] and one.outside == []  # no console error, nothing asked outside the site
    finally:
        one.close()


@pytest.fixture
def phone(browser, served) -> Iterator[Visit]:
    one = Visit(browser, served[1], viewport=PHONE)
    yield one
    try:
        assert one.problems == [] and one.outside == []
    finally:
        one.close()


def search(visit: Visit, words: str) -> list[tuple[str, str]]:
    """Type `words` into the page's search box: the results as (title, link), once they are all shown."""
    visit.page.fill(".pagefind-ui__search-input", words)
    # the results of these words, not the ones of an earlier search still shown: the message counts them; and
    # every result shown loaded: Pagefind's UI lists each result at once and fills in its link when its page's
    # data arrives, so on a slow machine a first result can be there while the others are still loading
    visit.page.wait_for_function(
        """words => { const m = document.querySelector(".pagefind-ui__message");
                      const shown = document.querySelectorAll(".pagefind-ui__result");
                      return m !== null && /^[0-9]/.test(m.textContent.trim()) && m.textContent.includes(words)
                             && shown.length > 0
                             && [...shown].every(r => r.querySelector(".pagefind-ui__result-link") !== null); }""",
        arg=words, timeout=15_000)
    return [(a.inner_text().strip(), a.get_attribute("href"))
            for a in visit.page.locator(".pagefind-ui__result-link").all()]


@pytest.mark.parametrize("start", ["index.html", CATALOG, "datasets/cdmx/alcaldias.html"])
def test_search_finds_a_dataset_by_a_word_of_its_title_and_opens_its_page(visit, served, start):
    site, base = served
    visit.open(base + start)
    results = search(visit, "Trolebús")
    titles = [title for title, _ in results]
    assert "Afluencia diaria de Trolebús" in titles, titles
    assert all("trolebús" in t.lower() or "trolebus" in t.lower() for t in titles[:1])
    visit.page.get_by_role("link", name="Afluencia diaria de Trolebús", exact=True).first.click()
    visit.page.wait_for_url(base + "datasets/cdmx/afluencia-diaria-de-trolebus.html")
    assert visit.page.inner_text("h1") == "Afluencia diaria de Trolebús"


def test_search_finds_by_organization_and_description_and_only_dataset_pages(visit, served):
    site, base = served
    visit.open(base + "index.html")
    results = search(visit, "Metrobús")
    assert any(t == "Afluencia diaria de Metrobús CDMX" for t, _ in results), results
    hrefs = [href for _, href in search(visit, "Ecobici")]
    assert hrefs and all(h.startswith("/datasets/") and h.endswith(".html") for h in hrefs), hrefs
    # what is indexed: every dataset's, pack's and publisher's page, the demo's in one shard a language
    listing = json.loads((site / "pagefind" / "indexes.json").read_text(encoding="utf-8"))
    assert listing == {"en": ["en-00"], "es": ["es-00"]}
    for lang, prefix in (("es", ""), ("en", "en/")):
        entry = json.loads((site / "pagefind" / f"{lang}-00" / "pagefind-entry.json").read_text(encoding="utf-8"))
        assert entry["languages"][lang]["page_count"] == sum(
            len(list(site.glob(prefix + pattern))) for pattern in ("datasets/*/*.html", "packs/*.html", "allies/*.html"))


def kinds(visit: Visit) -> dict[str, str]:
    """Each result shown: its link and the kind of page it says it is."""
    return dict(visit.page.eval_on_selector_all(
        ".pagefind-ui__result", """els => els.map(e => [e.querySelector(".pagefind-ui__result-link").getAttribute("href"),
                                                          (e.querySelector(".kind") || {}).textContent || ""])"""))


def test_search_finds_a_pack_and_a_publisher_and_says_which_kind_of_page(visit, served):
    site, base = served
    visit.open(base + "index.html")
    results = search(visit, "cuidados")
    assert ("Economía de los cuidados", "/packs/care-economy.html") in results, results
    shown = kinds(visit)
    assert shown["/packs/care-economy.html"] == "Paquete", shown  # the kind of page, in Spanish
    assert {kind for href, kind in shown.items() if href.startswith("/datasets/")} == {"Conjunto de datos"}, shown
    results = search(visit, "Zapopan")
    assert ("Gobierno de Zapopan", "/allies/gobierno-de-zapopan.html") in results, results
    assert kinds(visit)["/allies/gobierno-de-zapopan.html"] == "Publicador"
    visit.open(base + "en/index.html")
    results = search(visit, "care")
    assert any(href == "/en/packs/care-economy.html" for _, href in results), results
    assert kinds(visit)["/en/packs/care-economy.html"] == "Pack"
    results = search(visit, "Zapopan")
    assert kinds(visit)["/en/allies/gobierno-de-zapopan.html"] == "Publisher"


def column(visit: Visit, table: str, index: int, attribute: str = "data-sort-value") -> list[str]:
    """The visible rows' cells of column `index` (from 0): their `attribute`, else their text."""
    return visit.page.eval_on_selector_all(
        f"{table} tbody tr:not([hidden])",
        f"rows => rows.map(r => {{ const c = r.cells[{index}]; const v = c.getAttribute('{attribute}');"
        " return v === null ? c.textContent.trim() : v; })")


def test_clicking_a_header_sorts_the_table(visit, served):
    _, base = served
    visit.open(base + CATALOG)
    table = "table[data-sortable]"
    before = column(visit, table, 0)
    heads = visit.page.locator(f"{table} thead th")
    mqa = heads.nth(2)
    mqa.locator("button").click()
    assert mqa.get_attribute("aria-sort") == "ascending"
    values = [float(v) for v in column(visit, table, 2)]
    assert values == sorted(values) and values[0] < values[-1]
    mqa.locator("button").click()
    assert mqa.get_attribute("aria-sort") == "descending"
    values = [float(v) for v in column(visit, table, 2)]
    assert values == sorted(values, reverse=True)
    # freshness sorts by age in days (the text reads "stale (2085 d)"); datasets with no age come last
    freshness = heads.nth(6)
    freshness.locator("button").click()
    ages = column(visit, table, 6)
    known = [int(a) for a in ages if a != ""]
    assert known == sorted(known) and len(known) > 1
    assert ages == [str(a) for a in known] + [""] * (len(ages) - len(known))
    assert sorted(column(visit, table, 0)) == sorted(before)  # the same rows, in another order


def test_pack_candidates_sort_by_errors(visit, served):
    _, base = served
    visit.open(base + PACK)
    table = "table.candidates"
    visit.page.locator(f"{table} thead th").nth(4).locator("button").click()
    errors = [int(v) for v in column(visit, table, 4)]
    assert errors == sorted(errors) and len(errors) > 2


def test_a_filter_hides_the_rows_that_do_not_match(visit, served):
    _, base = served
    visit.open(base + CATALOG)
    table = "table[data-sortable]"
    total = len(column(visit, table, 0))
    freshness = visit.page.locator("select.table-select[data-column='6']")
    options = [o for o in freshness.locator("option").evaluate_all("os => os.map(o => o.value)") if o]
    assert {"fresh", "stale"} <= set(options), options
    freshness.select_option("stale")
    shown = column(visit, table, 6, "data-filter-value")
    assert shown and set(shown) == {"stale"} and len(shown) < total
    assert visit.page.locator(f"{table} tbody tr[hidden]").count() == total - len(shown)
    assert visit.page.inner_text(".table-shown") == f"{len(shown)} de {total}"  # the Spanish site's words
    # the share of working links, offered as all / some / none / not checked
    links = visit.page.locator("select.table-select[data-column='4']")
    freshness.select_option("")
    links.select_option("all")
    assert {float(v) for v in column(visit, table, 4)} == {1.0}
    links.select_option("")
    # the text box: rows holding the words, accents or not
    visit.page.fill("input.table-filter", "trolebus")
    assert column(visit, table, 0) == ["Afluencia diaria de Trolebús"]
    visit.page.fill("input.table-filter", "")
    assert len(column(visit, table, 0)) == total


def test_pack_candidates_filter_by_catalog(visit, served):
    _, base = served
    visit.open(base + PACK)
    table = "table.candidates"
    catalogs = visit.page.locator("select.table-select[data-column='0']")
    values = [o for o in catalogs.locator("option").evaluate_all("os => os.map(o => o.value)") if o]
    assert "cdmx" in values and len(values) > 1, values
    catalogs.select_option("cdmx")
    refs = visit.page.eval_on_selector_all(f"{table} tbody tr:not([hidden]) td:first-child .muted",
                                           "els => els.map(e => e.textContent)")
    assert refs and all(r.startswith("cdmx/") for r in refs)


def test_on_a_phone_rows_read_as_cards_and_nothing_is_off_screen(phone, served):
    _, base = served
    for path in ("index.html", CATALOG, PACK, METRO, "changes.html"):
        phone.open(base + path)
        width = phone.page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px phone"
        offscreen = phone.page.eval_on_selector_all(
            "main a, main td, main select, main input, main .tag, h1",
            f"els => els.filter(e => e.getClientRects().length && (e.getBoundingClientRect().right > {PHONE['width']} + 0.5"
            " || e.getBoundingClientRect().left < -0.5)).map(e => e.outerHTML.slice(0, 80))")
        assert offscreen == [], (path, offscreen)
    phone.open(base + CATALOG)
    row = phone.page.locator("table[data-sortable] tbody tr").first
    assert row.evaluate("r => getComputedStyle(r).display") == "block"
    assert phone.page.locator("table[data-sortable] thead").evaluate("h => h.getBoundingClientRect().height") <= 1
    cells = row.locator("td")
    assert cells.nth(2).evaluate("c => getComputedStyle(c, '::before').content") == '"MQA"'
    # the title heads the card without a label; every cell is a line of the card, not a table cell
    assert cells.nth(0).evaluate("c => getComputedStyle(c, '::before').content") == "none"
    assert set(cells.evaluate_all("cs => cs.map(c => getComputedStyle(c).display)")) <= {"block", "flow-root"}
    box = row.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"] and box["height"] > 4 * 20  # one cell a line
    # on a phone the headers are hidden, so the sort is a select box
    phone.page.locator("select.table-sort").select_option("2:down")
    values = [float(v) for v in column(phone, "table[data-sortable]", 2)]
    assert values == sorted(values, reverse=True)
    # a column's alerts on a dataset's page show, on screen
    phone.open(base + METRO)
    alerts = phone.page.locator("table.profile .tag.warn")
    assert alerts.count() > 0
    for i in range(alerts.count()):
        assert alerts.nth(i).is_visible()


def test_without_the_script_tables_are_plain_and_readable(browser, served):
    _, base = served
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base + CATALOG)
        assert page.locator(".table-tools").count() == 0
        assert page.locator("table[data-sortable] thead").is_visible()
        assert page.locator("table[data-sortable] tbody tr").first.evaluate("r => getComputedStyle(r).display") == "table-row"
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]  # the table scrolls in its box
    finally:
        context.close()


def test_screenshots_of_the_tools(browser, served):
    """With HARVESTER_SCREENSHOTS set: index, a catalog, a pack and a dataset on a desktop and a phone, and
    the search with its results."""
    shots = screenshots()
    if shots is None:
        return
    _, base = served
    for name, viewport in (("desktop", None), ("phone", PHONE)):
        visit = Visit(browser, base, viewport=viewport)
        try:
            for path in ("index.html", CATALOG, PACK, METRO):
                visit.open(base + path)
                visit.page.screenshot(path=str(shots / f"tools-{name}-{path.replace('/', '_')}.png"), full_page=True)
            visit.open(base + CATALOG)
            search(visit, "mujeres")
            visit.page.screenshot(path=str(shots / f"tools-{name}-search.png"))
            assert visit.problems == [] and visit.outside == []
        finally:
            visit.close()


def test_a_hostile_dataset_found_by_search_stays_text(hostile_site: Path, browser):
    """The search results show a portal's markup (title, notes, publisher, tags) as text, as the pages do."""
    site = (hostile_site / "site").resolve()
    page_file = next(site.glob("datasets/veracruz/hostil-*.html"))
    server, base = serve(site)
    visit = Visit(browser, base)
    try:
        visit.open(base + "index.html")
        for words in ("Movilidad segura", "Notas", "Org", "iframe"):
            results = search(visit, words)
            assert any(href.endswith(page_file.name) for _, href in results), (words, results)
            drawer = visit.page.locator(".pagefind-ui__results")
            assert drawer.count() == 1 and drawer.locator("mark").count() > 0  # the results, words marked
            assert drawer.locator("script, img, svg, iframe, b").count() == 0, words  # no markup from the portal
            assert visit.page.evaluate("typeof window.__pwned") == "undefined", words
        title = visit.page.locator(".pagefind-ui__result-link", has_text="Movilidad").first.inner_text()
        assert title.strip() == HOSTILE_TITLE
        assert visit.problems == [] and visit.outside == []
    finally:
        visit.close()
        server.shutdown()


def test_search_in_two_languages_from_any_depth(visit, served):
    """Spanish pages at the root and English ones under en/: each page's search box searches its own
    language's index and opens pages of that language."""
    site, base = served
    assert sorted(json.loads((site / "pagefind" / "indexes.json").read_text(encoding="utf-8"))) == ["en", "es"]
    visit.open(base + "datasets/cdmx/alcaldias.html")
    results = search(visit, "Trolebús")
    assert ("Afluencia diaria de Trolebús", "/datasets/cdmx/afluencia-diaria-de-trolebus.html") in results
    assert not [href for _, href in results if href.startswith("/en/")]
    visit.open(base + "en/datasets/cdmx/alcaldias.html")
    results = search(visit, "Trolebús")
    assert results and all(href.startswith("/en/datasets/") for _, href in results), results
    visit.page.get_by_role("link", name="Afluencia diaria de Trolebús", exact=True).first.click()
    visit.page.wait_for_url(base + "en/datasets/cdmx/afluencia-diaria-de-trolebus.html")
    assert visit.page.inner_text("h1") == "Afluencia diaria de Trolebús"
    assert visit.page.evaluate("document.documentElement.lang") == "en"


# --- the index in shards, merged in the browser ----------------------------------------------------------

SMALL = 8  # pages a shard, so that the demo's index has many shards
TROLEBUS = "datasets/cdmx/afluencia-diaria-de-trolebus.html"


@pytest.fixture(scope="module")
def sharded(demo, tmp_path_factory) -> Iterator[tuple[Path, str, str, set[str]]]:
    """The demo's site indexed in shards of 8 pages, then one dataset retitled (a word of its own) and the
    site built again, so that its shards were indexed again and the others carried over: the site, its
    address, the retitled dataset's page and the shards Pagefind ran for."""
    from harvester import sitesearch
    from harvester.report import build_site
    from test_report_scale import copy_of
    from test_sitesearch import retitle

    settings = copy_of(demo[0], tmp_path_factory.mktemp("sharded"), "a")
    build_site(settings, shard_pages=SMALL)
    site = settings.paths.site.resolve()
    listing = json.loads((site / "pagefind" / "indexes.json").read_text(encoding="utf-8"))
    count = len(listing["es"])
    trolebus = sitesearch.shard_of(TROLEBUS, "es", count)
    page = next(str(p.relative_to(site)) for p in sorted(site.glob("datasets/*/*.html"))
                if sitesearch.shard_of(str(p.relative_to(site)), "es", count) != trolebus)
    retitle(settings, page, "Conjunto renombrado Xochiquetzal")
    result = build_site(settings, shard_pages=SMALL)
    assert result.search is not None and trolebus not in result.search.indexed
    assert sitesearch.shard_of(page, "es", count) in result.search.indexed
    site = settings.paths.site.resolve()
    single_index(site)
    server, base = serve(site)
    try:
        yield site, base, page, set(result.search.indexed)
    finally:
        server.shutdown()


def single_index(site: Path) -> None:
    """One Pagefind index of every marked page of `site`, in `site/single/`: what the shards stand for."""
    from harvester import sitesearch

    slim = site.parent / "single-slim"
    for path in sitesearch._html_pages(site):
        sitesearch._slim_into(site, path, slim)
    subprocess.run([str(sitesearch.executable()), "--site", str(slim), "--output-path", str(site / "single"),
                    "--silent"], check=True, capture_output=True)
    shutil.rmtree(slim)


HITS = """async ([bundles, words]) => {
  const pagefind = await import(bundles[0] + "pagefind.js");
  await pagefind.options({ baseUrl: "/" });
  for (const other of bundles.slice(1)) await pagefind.mergeIndex(other, { baseUrl: "/" });
  const found = await pagefind.search(words);
  return (await Promise.all(found.results.map(r => r.data()))).map(d => d.url).sort();
}"""


def folded(text: str) -> str:
    import unicodedata
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def holds(site: Path, url: str, word: str) -> bool:
    """Whether the searched part of the page at `url` has a word starting with `word` (accents aside)."""
    from harvester import sitesearch
    text = re.sub(r"<[^>]+>", " ", sitesearch._slim(site / url.lstrip("/")).decode("utf-8"))
    return any(w.startswith(folded(word)) for w in re.findall(r"\w+", folded(text)))


def test_the_merged_shards_find_what_one_index_finds(browser, sharded):
    """For each query, in either language, the shards merged (Pagefind's mergeIndex) find every page one
    index of the same pages finds, and the same pages among those holding the word. The only others come
    from Pagefind's fallback inside a shard that lacks the word (it then matches the longest indexed
    prefix of it: "metro" for "Metrobús"), which one index does only when no page has the word; and the
    UI finds a word of an unchanged shard and one of the shard indexed again."""
    site, base, page, indexed = sharded
    listing = json.loads((site / "pagefind" / "indexes.json").read_text(encoding="utf-8"))
    assert len(listing["es"]) > 6 and len(listing["en"]) > 6
    for lang, words in (("es", ["Trolebús", "Metrobús", "mujeres", "agua", "Xochiquetzal", "cuidados",
                                "Zapopan", "Secretaría"]),
                        ("en", ["Trolebús", "care", "Zapopan", "women", "Secretaría", "Xochiquetzal"])):
        visit = Visit(browser, base)
        try:
            visit.open(base + ("en/" if lang == "en" else "") + "index.html")
            for word in words:
                visit.open(base + ("en/" if lang == "en" else "") + "index.html")  # a fresh Pagefind
                merged = visit.page.evaluate(HITS, [[f"/pagefind/{s}/" for s in listing[lang]], word])
                one = visit.page.evaluate(HITS, [["/single/"], word])
                assert one and set(one) <= set(merged), (lang, word)
                assert {u for u in merged if holds(site, u, word)} == {u for u in one if holds(site, u, word)}, \
                    (lang, word)
                assert not [u for u in set(merged) - set(one) if holds(site, u, word)], (lang, word)
            assert visit.problems == [] and visit.outside == []
        finally:
            visit.close()

    visit = Visit(browser, base)
    try:
        visit.open(base + "index.html")
        results = search(visit, "Xochiquetzal")  # in the shard indexed again
        assert results == [("Conjunto renombrado Xochiquetzal", "/" + page)], results
        results = search(visit, "Trolebús")  # in a shard carried over
        assert ("Afluencia diaria de Trolebús", "/" + TROLEBUS) in results, results
        results = search(visit, "Zapopan")  # a publisher, in its own shards
        assert ("Gobierno de Zapopan", "/allies/gobierno-de-zapopan.html") in results, results
        assert visit.problems == [] and visit.outside == []
    finally:
        visit.close()
