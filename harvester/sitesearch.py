"""The site's search: a static index built by Pagefind (the `pagefind[bin]` package's binary) over the
assembled site, written into the site under `pagefind/`, and searched in the reader's browser with
Pagefind's own UI (no server, nothing from the internet).

What is indexed is marked in the templates: the pages holding `data-pagefind-body` (the datasets' pages:
title, publisher, catalog, description, tags), whatever their path, one index per language (Pagefind reads
`<html lang>`, so Spanish pages at the root and English ones under `en/` are searched apart).

The index is a function of the marked pages alone: the same pages give the same bytes (Pagefind names its files
by their content; the one file it writes in no fixed order, `pagefind-entry.json`, whose languages come out
of a hash map, is written again with them sorted; `tests/test_sitesearch.py` indexes one site twice, its
files made in different orders). So the
report indexes a build only when its pages differ from the published ones, and a build with nothing
changed writes nothing; and a build in which no marked page changed (the aggregate pages show ages, so
they change every day; the datasets' pages do not) carries the published index over, as hard links, instead
of indexing every page again: what Pagefind would make of the same marked pages with the same version.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from harvester.errors import HarvesterError
from harvester.i18n import N_

FOLDER = "pagefind"
"""Where the index goes, inside the site."""
ENTRY = "pagefind-entry.json"
MARK = b"data-pagefind-body"
"""What marks a page for the index; a page holding these bytes anywhere (a portal's text too) counts as marked."""
# What Pagefind writes besides its default UI and the index, unused by the site: left out of it.
UNUSED = ("pagefind-component-ui.css", "pagefind-component-ui.js", "pagefind-modular-ui.css",
          "pagefind-modular-ui.js", "pagefind-highlight.js")
TIMEOUT = 3600.0
HEAD_BYTES = 64 * 1024
"""How far into a page its marked part must start (the datasets' pages: a few kilobytes in)."""


class SearchIndexError(HarvesterError):
    """Pagefind could not index the site (missing binary, or it failed)."""


@dataclass(frozen=True)
class IndexStats:
    files: int
    bytes: int
    seconds: float
    carried: bool = False
    """True when no marked page changed, so the published index was carried over, not made again."""


def executable() -> Path:
    try:
        from pagefind_bin import get_executable
        return get_executable()
    except (ImportError, FileNotFoundError) as exc:
        raise SearchIndexError(N_("Pagefind is not installed (%(reason)s); install the `pagefind[bin]` package"),
                               reason=exc) from None


def index_site(site: Path, published: Path | None = None, changed: list[str] | None = None) -> IndexStats:
    """Index the HTML pages of `site` (a folder being assembled, not yet published) into `site/pagefind/`.

    With `published` (the published build) and `changed` (the site paths whose bytes differ between the
    two, added and removed ones included): when none of those is a marked page in either build, and the
    published index is this Pagefind's, it is carried over instead."""
    begun = time.monotonic()
    if published is not None and changed is not None and _same_index(site, published, changed):
        return _carry(published / FOLDER, site / FOLDER, begun)
    output = site / FOLDER
    # Pagefind parses a whole page even when only a part is marked: it reads a copy of each marked page
    # holding its <head> and its marked part only: 25 s instead of 65 s at 50,000 datasets. Same paths, so the
    # same URLs; the copies live next to the build (a killed build's are removed with its staging folder).
    slim = site.parent / f".search-{uuid.uuid4().hex[:12]}"
    try:
        _slim_copies(site, slim)
        command = [str(executable()), "--site", str(slim), "--output-path", str(output.absolute()), "--silent"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SearchIndexError(N_("%(folder)s: Pagefind did not index the site: %(reason)s"), folder=site,
                                   reason=exc) from None
    finally:
        shutil.rmtree(slim, ignore_errors=True)
    if done.returncode != 0 or not (output / ENTRY).is_file():
        message = (done.stderr or done.stdout).strip().splitlines()
        raise SearchIndexError(N_("%(folder)s: Pagefind did not index the site (exit %(code)s)%(said)s"), folder=site,
                               code=done.returncode, said=f": {message[-1]}" if message else "")
    for name in UNUSED:
        (output / name).unlink(missing_ok=True)
    _sort_entry(output / ENTRY)
    return _stats(output, begun, carried=False)


def _slim_copies(site: Path, slim: Path) -> int:
    """Each marked HTML page of `site` (outside `pagefind/`) as `<head>` + its marked element, under `slim`
    at the same path. The marked element is a `<div data-pagefind-body>` holding no other div (the
    templates' rule), found in the page's first `HEAD_BYTES`; its end is the first `</div>` after it."""
    count = 0
    for folder, folders, names in os.walk(site):
        if Path(folder) == site:
            folders[:] = [f for f in folders if f != FOLDER]
        for name in names:
            if not name.endswith(".html"):
                continue
            path = Path(folder) / name
            with path.open("rb") as handle:
                data = handle.read(HEAD_BYTES)
                start = data.find(b"<div " + MARK)
                if start < 0:
                    continue
                while (end := data.find(b"</div>", start)) < 0:
                    more = handle.read(1 << 20)
                    if not more:
                        raise SearchIndexError(N_("%(file)s: its marked part for the search index has no end"),
                                               file=path)
                    data += more
            body = data.find(b"<body")
            if body < 0 or body > start:
                raise SearchIndexError(N_("%(file)s: no <body> before its marked part for the search index"), file=path)
            target = slim / path.relative_to(site)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data[:body] + b"<body>\n" + data[start:end + len(b"</div>")] + b"\n</body>\n</html>\n")
            count += 1
    return count


def _stats(output: Path, begun: float, carried: bool) -> IndexStats:
    files = [p for p in output.rglob("*") if p.is_file()]
    return IndexStats(len(files), sum(p.stat().st_size for p in files), round(time.monotonic() - begun, 2),
                      carried)


def _marked(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            tail = b""
            while chunk := handle.read(1 << 20):
                if MARK in tail + chunk:
                    return True
                tail = chunk[-len(MARK):]
    except FileNotFoundError:
        return False
    return False


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed
    try:
        return installed("pagefind_bin")
    except PackageNotFoundError:
        return "unknown"


def _same_index(site: Path, published: Path, changed: list[str]) -> bool:
    """Whether indexing `site` would give the published index: the same Pagefind, no marked page changed."""
    try:
        entry = json.loads((published / FOLDER / ENTRY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(entry, dict) or entry.get("version") != version():
        return False
    return not any(_marked(site / path) or _marked(published / path)
                   for path in changed if path.endswith(".html") and not path.startswith(FOLDER + "/"))


def _carry(source: Path, target: Path, begun: float) -> IndexStats:
    """The published index into the build being assembled: hard links (builds never change in place)."""
    for folder, _, names in os.walk(source):
        into = target / Path(folder).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in names:
            try:
                os.link(Path(folder) / name, into / name)
            except OSError:
                shutil.copy2(Path(folder) / name, into / name)
    return _stats(target, begun, carried=True)


def _sort_entry(path: Path) -> None:
    """Pagefind lists the languages of `pagefind-entry.json` in a hash map's order, which changes from run to
    run: sorted, the same pages give the same bytes. (Its readers look the languages up by name.)"""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        entry["languages"] = dict(sorted(entry["languages"].items()))
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise SearchIndexError(N_("%(file)s: not the index entry Pagefind writes (%(reason)s)"), file=path,
                               reason=exc) from None
    path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def is_indexed(site: Path) -> bool:
    """Whether `site` (a published build) has its search index."""
    return (site / FOLDER / ENTRY).is_file()
