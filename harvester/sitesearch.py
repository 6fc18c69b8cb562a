"""The site's search: a static index built by Pagefind (the `pagefind[bin]` package's binary) over the
assembled site, written into the site under `pagefind/`, and searched in the reader's browser with
Pagefind's own UI (no server, nothing from the internet).

What is indexed is marked in the templates: the pages holding `data-pagefind-body` (the datasets' pages:
title, publisher, catalog, description, tags), whatever their path, one index per language (Pagefind reads
`<html lang>`, so Spanish pages at the root and English ones under `en/` are searched apart).

The index is a function of the pages alone: the same pages give the same bytes (Pagefind names its files
by their content; the one file it writes in no fixed order, `pagefind-entry.json`, whose languages come out
of a hash map, is written again with them sorted; `tests/test_sitesearch.py` indexes one site twice, its
files made in different orders). So the
report indexes a build only when its pages differ from the published ones, and a build with nothing
changed writes nothing.
"""
from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harvester.errors import HarvesterError

FOLDER = "pagefind"
"""Where the index goes, inside the site."""
ENTRY = "pagefind-entry.json"
# What Pagefind writes besides its default UI and the index, unused by the site: left out of it.
UNUSED = ("pagefind-component-ui.css", "pagefind-component-ui.js", "pagefind-modular-ui.css",
          "pagefind-modular-ui.js", "pagefind-highlight.js")
TIMEOUT = 3600.0


class SearchIndexError(HarvesterError):
    """Pagefind could not index the site (missing binary, or it failed)."""


@dataclass(frozen=True)
class IndexStats:
    files: int
    bytes: int
    seconds: float


def executable() -> Path:
    try:
        from pagefind_bin import get_executable
        return get_executable()
    except (ImportError, FileNotFoundError) as exc:
        raise SearchIndexError(f"Pagefind is not installed ({exc}); install the `pagefind[bin]` package") from None


def index_site(site: Path) -> IndexStats:
    """Index the HTML pages of `site` (a folder being assembled, not yet published) into `site/pagefind/`."""
    begun = time.monotonic()
    command = [str(executable()), "--site", str(site), "--output-subdir", FOLDER, "--silent"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SearchIndexError(f"{site}: Pagefind did not index the site: {exc}") from None
    output = site / FOLDER
    if done.returncode != 0 or not (output / ENTRY).is_file():
        message = (done.stderr or done.stdout).strip().splitlines()
        raise SearchIndexError(f"{site}: Pagefind did not index the site (exit {done.returncode})"
                               + (f": {message[-1]}" if message else ""))
    for name in UNUSED:
        (output / name).unlink(missing_ok=True)
    _sort_entry(output / ENTRY)
    files = [p for p in output.rglob("*") if p.is_file()]
    return IndexStats(len(files), sum(p.stat().st_size for p in files), round(time.monotonic() - begun, 2))


def _sort_entry(path: Path) -> None:
    """Pagefind lists the languages of `pagefind-entry.json` in a hash map's order, which changes from run to
    run: sorted, the same pages give the same bytes. (Its readers look the languages up by name.)"""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        entry["languages"] = dict(sorted(entry["languages"].items()))
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise SearchIndexError(f"{path}: not the index entry Pagefind writes ({exc})") from None
    path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def is_indexed(site: Path) -> bool:
    """Whether `site` (a published build) has its search index."""
    return (site / FOLDER / ENTRY).is_file()
