"""The report site in a real browser: Debian's Chromium (/usr/bin/chromium, installed by the project's
set-up: scripts/install-chromium), headless, driven by Playwright over pages served on 127.0.0.1.

Every page loads without console errors or failed requests, every internal link resolves, nothing is
fetched from outside the site, a hostile dataset title stays text, and the pages fit a phone's width.
Set HARVESTER_SCREENSHOTS to a folder to keep screenshots of the pages checked."""
from __future__ import annotations

import functools
import os
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


def test_every_page_loads_cleanly_and_every_internal_link_resolves(demo, browser):
    out, result = demo
    assert result.exit_code == 0, result.output
    site = (out / "site").resolve()
    pages, problems, outside, files = crawl(browser, site, screenshots())
    assert problems == []
    assert outside == []  # nothing from a CDN, a font service or a portal is loaded
    on_disk = {str(p.relative_to(site)) for p in site.rglob("*.html")}
    assert pages == on_disk  # every page is reachable from the index, and every link to a page resolved
    assert "assets/site.css" in files
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
            assert visit.page.locator("script").count() == 0 and visit.page.locator("iframe").count() == 0
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
            width = visit.page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px phone"
            size = visit.page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
            assert size >= 14, f"{path}: body text of {size}px"
            if shots is not None:
                visit.page.screenshot(path=str(shots / ("phone_" + path.replace("/", "_") + ".png")))
        assert visit.problems == [] and visit.outside == []
    finally:
        visit.close()
        server.shutdown()
