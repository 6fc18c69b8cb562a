"""The site's search: static indexes built by Pagefind (the `pagefind[bin]` package's binary) over the
assembled site, written into the site under `pagefind/`, and searched in the reader's browser with
Pagefind's own UI (no server, nothing from the internet).

What is indexed is marked in the templates: the pages holding `<div data-pagefind-body>` (the datasets',
the packs' and the publishers' pages), whatever their path. Pagefind cannot add to an index, so the pages
are split into shards, each its own Pagefind index in `pagefind/<lang>-<NN>/`: a page's language is its
`<html lang>`, its shard a hash of its path modulo its language's shard count, a power of two chosen from
the language's page count so that no shard holds more than `SHARD_PAGES` pages on average (a site of
fewer pages has one index a language). The kind of page (dataset, pack, publisher) is a Pagefind meta
(`data-pagefind-meta="kind:..."`), shown with each result by `assets/site.js`; not a filter: Pagefind
writes a filter's values in a hash map's order, so an index holding two values would differ from run to
run. A build runs
Pagefind again only for the shards whose pages changed; the others are carried over from the published
build (hard links). The browser merges a language's shards at query time (Pagefind's `mergeIndex`), listed
in `pagefind/indexes.json`; the UI's script and stylesheet are `pagefind/pagefind-ui.{js,css}`.

`pagefind/SHARDS` is the manifest: its first line names the Pagefind version and this module's format
(another one indexes every shard again), then one line per shard with the sha256 of the pages its index was
made from (`shard`), or `stale` when its last run failed (the previous index kept, or none), then one line
per indexed page: the sha256 of what Pagefind reads of it, its shard and its path. What Pagefind reads of a
page is a copy holding its `<head>` and its marked part only (`_slim`: Pagefind parses every page in full,
25 s instead of 65 s at 50,000 pages), so a page whose marked part did not change (an aggregate page's
date, a dataset's link check) changes no shard.

An index is a function of its pages alone: the same pages give the same bytes (Pagefind names its files by
their content; the one file it writes in no fixed order, `pagefind-entry.json`, whose languages come out of
a hash map, is written again with them sorted; `tests/test_sitesearch.py` indexes one site twice, its files
made in different orders). So a shard carried over is what a from-scratch build would make of it, and a
from-scratch build and an incremental one that reach the same pages write the same files, manifest included.

A shard's run writes into a temporary folder renamed into place when Pagefind succeeded: a failed run
(its exit status, a timeout) leaves no half-written index; the published shard of that name is kept, and
the failure is one line naming the shard in `IndexStats.failures`. A build with no published index to
fall back on fails with SearchIndexError instead.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from harvester.errors import HarvesterError
from harvester.i18n import N_

FOLDER = "pagefind"
"""Where the indexes go, inside the site."""
ENTRY = "pagefind-entry.json"
LISTING = "indexes.json"
"""`pagefind/indexes.json`: each language's shards, for the UI to merge (`assets/site.js`)."""
SHARDS = "SHARDS"
"""`pagefind/SHARDS`: the manifest of the shards and their pages (see the module's docstring)."""
FORMAT = 1
"""The manifest's and the slim copies' format: another one indexes every shard again."""
SHARD_PAGES = 2000
"""The most pages a shard holds on average: a language's shard count is the least power of two that keeps
its pages under this many per shard (50,000 datasets: 32 shards of about 1,570)."""
MARK = b"data-pagefind-body"
"""What marks a page for the index; a page's `<div data-pagefind-body>` in its first `HEAD_BYTES`."""
UI = ("pagefind-ui.css", "pagefind-ui.js")
"""Pagefind's default UI, once for the whole site at `pagefind/` (the same bytes for every run of a version)."""
# What Pagefind writes besides its default UI and the index, unused by the site: left out of it.
UNUSED = ("pagefind-component-ui.css", "pagefind-component-ui.js", "pagefind-modular-ui.css",
          "pagefind-modular-ui.js", "pagefind-highlight.js")
TIMEOUT = 3600.0
"""The longest one shard's Pagefind run may take."""
HEAD_BYTES = 64 * 1024
"""How far into a page its marked part must start (the datasets' pages: a few kilobytes in)."""
_LANG = re.compile(rb"<html[^>]*?\slang=\"([^\"]*)\"", re.IGNORECASE)


class SearchIndexError(HarvesterError):
    """Pagefind could not index the site (missing binary, or it failed with no published index to keep)."""


@dataclass(frozen=True)
class IndexStats:
    files: int
    bytes: int
    seconds: float
    carried: bool = False
    """True when no shard changed, so the published indexes were carried over, none made again."""
    shards: int = 0
    indexed: tuple[str, ...] = ()
    """The shards Pagefind indexed this time (the others were carried over)."""
    failures: tuple[str, ...] = ()
    """One line per shard whose run failed (its previous index kept, when there was one)."""
    pagefind_peak_mb: float = 0.0
    """The largest peak resident memory (VmHWM) of a Pagefind run of this process so far (0: none ran)."""


@dataclass(frozen=True)
class _Page:
    digest: str
    """The sha256 of what Pagefind reads of the page (its slim copy)."""
    group: str
    """Its language, its `<html lang>`: the shards of one language merge into one search."""


def executable() -> Path:
    try:
        from pagefind_bin import get_executable
        return get_executable()
    except (ImportError, FileNotFoundError) as exc:
        raise SearchIndexError(N_("Pagefind is not installed (%(reason)s); install the `pagefind[bin]` package"),
                               reason=exc) from None


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed
    try:
        return installed("pagefind_bin")
    except PackageNotFoundError:
        return "unknown"


def header(shard_pages: int = SHARD_PAGES) -> str:
    return f"pagefind {version()}, format {FORMAT}, {shard_pages} pages a shard"


def index_site(site: Path, published: Path | None = None, changed: list[str] | None = None, *,
               shard_pages: int = SHARD_PAGES, timeout: float | None = None) -> IndexStats:
    """Index the marked HTML pages of `site` (a folder being assembled, not yet published) into
    `site/pagefind/`, one Pagefind index per shard.

    With `published` (the published build) and `changed` (the site paths whose bytes differ between the two,
    added and removed ones included), only the changed pages are read, and only the shards whose pages
    changed are indexed again; the others are carried over from the published build. Without `changed`,
    every page is read and every shard indexed; a shard whose run fails keeps the published one's index.
    Without `published`, a failed run is a SearchIndexError."""
    begun = time.monotonic()
    timeout = TIMEOUT if timeout is None else timeout
    output = site / FOLDER
    output.mkdir(parents=True, exist_ok=True)
    old_pages, old_shards = _read_manifest(published / FOLDER / SHARDS, shard_pages) \
        if published is not None and changed is not None else ({}, {})
    previous = published / FOLDER if published is not None and (published / FOLDER).is_dir() else None
    # the slim copies live next to the build (a killed build's are removed with its staging folder's leftovers)
    slim = site.parent / f".search-{uuid.uuid4().hex[:12]}"
    try:
        if old_shards:
            pages = dict(old_pages)
            for path in changed or ():
                if path.endswith(".html") and not path.startswith(FOLDER + "/"):
                    pages.pop(path, None)
                    if (page := _slim_into(site, path, slim / "all")) is not None:
                        pages[path] = page
        else:
            pages = {path: page for path in _html_pages(site)
                     if (page := _slim_into(site, path, slim / "all")) is not None}
        shards = _shards(pages, shard_pages)
        digests = {name: _digest(members, pages) for name, members in shards.items()}
        dirty = [name for name in sorted(shards) if old_shards.get(name) != ("shard", digests[name])
                 or previous is None or not (previous / name / ENTRY).is_file()]
        recorded: dict[str, tuple[str, str]] = {}
        indexed, failures = [], []
        for name in sorted(shards):
            if name not in dirty:
                _carry(previous / name, output / name)  # type: ignore[operator]
                recorded[name] = ("shard", digests[name])
                continue
            for path in shards[name]:
                _slim_into(site, path, slim / "all", known=pages[path])
                _link_or_copy(slim / "all" / path, slim / name / path)
            problem = _run(slim / name, output, name, timeout)
            if problem is None:
                indexed.append(name)
                recorded[name] = ("shard", digests[name])
                continue
            kept = previous is not None and (previous / name / ENTRY).is_file()
            if not kept and (previous is None or not (previous / SHARDS).is_file()):
                raise SearchIndexError(N_("%(folder)s: search index shard %(shard)s: %(reason)s"), folder=site,
                                       shard=f"{FOLDER}/{name}", reason=problem)
            if kept:
                _carry(previous / name, output / name)  # type: ignore[operator]
            old = old_shards.get(name, ("", "-"))[1] if kept else "-"
            recorded[name] = ("stale", old)
            failures.append(f"search index shard {FOLDER}/{name}: {problem}; "
                            + ("its previous index is kept" if kept else "its pages are not searchable until it is made"))
        _ui(output, previous, slim, site)
    finally:
        shutil.rmtree(slim, ignore_errors=True)
    listing = {}
    for name in sorted(shards):
        if (output / name / ENTRY).is_file():
            listing.setdefault(language_of(name), []).append(name)
    _write(output / LISTING, (json.dumps(dict(sorted(listing.items())), separators=(",", ":")) + "\n").encode(),
           previous)
    _write(output / SHARDS, _manifest(shard_pages, recorded, shards, pages), previous)
    return _stats(output, begun, carried=not indexed and not failures, shards=len(shards),
                  indexed=tuple(indexed), failures=tuple(failures))


def is_indexed(site: Path, shard_pages: int = SHARD_PAGES) -> bool:
    """Whether `site` (a published build) has its search index as this code makes it (Pagefind's version,
    the format, the shard size), every shard of it up to date (a shard whose last run failed is made again
    by the next build, even when no page changed)."""
    try:
        with (site / FOLDER / SHARDS).open(encoding="utf-8") as handle:
            if handle.readline().rstrip("\n") != header(shard_pages):
                return False
            for line in handle:
                if line.startswith("stale "):
                    return False
                if not line.startswith("shard "):
                    return True
    except OSError:
        return False
    return True


# --- the shards ----------------------------------------------------------------------------------------

def shard_count(pages: int, shard_pages: int = SHARD_PAGES) -> int:
    count = 1
    while pages > count * shard_pages:
        count *= 2
    return count


def shard_of(path: str, group: str, count: int) -> str:
    """A page's shard in its group (its language): a hash of its path, so a page stays in its shard while
    the group's shard count does."""
    bucket = int.from_bytes(hashlib.sha256(path.encode("utf-8")).digest()[:8], "big") % count
    return f"{group}-{bucket:0{max(2, len(str(count - 1)))}d}"


def language_of(shard: str) -> str:
    return shard.split("-", 1)[0]


def _shards(pages: dict[str, _Page], shard_pages: int) -> dict[str, list[str]]:
    """The pages of each shard."""
    by_group: dict[str, list[str]] = {}
    for path, page in pages.items():
        by_group.setdefault(page.group, []).append(path)
    shards: dict[str, list[str]] = {}
    for group, paths in by_group.items():
        count = shard_count(len(paths), shard_pages)
        for path in paths:
            shards.setdefault(shard_of(path, group, count), []).append(path)
    return {name: sorted(paths) for name, paths in shards.items()}


def _digest(paths: list[str], pages: dict[str, _Page]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{pages[path].digest}  {path}\n".encode("utf-8"))
    return digest.hexdigest()


def _read_manifest(path: Path, shard_pages: int) -> tuple[dict[str, _Page], dict[str, tuple[str, str]]]:
    """The pages and shards a published manifest lists; nothing when it is missing or of another Pagefind,
    format or shard size (then every page is read again and every shard made again)."""
    pages: dict[str, _Page] = {}
    shards: dict[str, tuple[str, str]] = {}
    try:
        with path.open(encoding="utf-8") as handle:
            if handle.readline().rstrip("\n") != header(shard_pages):
                return {}, {}
            for line in handle:
                line = line.rstrip("\n")
                if line.startswith(("shard ", "stale ")):
                    state, name, digest = line.split(" ")
                    shards[name] = (state, digest)
                    continue
                head, _, page = line.partition("  ")
                digest, _, shard = head.partition(" ")
                pages[page] = _Page(digest, shard.rsplit("-", 1)[0])
    except (OSError, ValueError):
        return {}, {}
    return pages, shards


def _manifest(shard_pages: int, recorded: dict[str, tuple[str, str]], shards: dict[str, list[str]],
              pages: dict[str, _Page]) -> bytes:
    of = {page: name for name, members in shards.items() for page in members}
    lines = [header(shard_pages)] + [f"{recorded[name][0]} {name} {recorded[name][1]}" for name in sorted(recorded)]
    lines += [f"{pages[page].digest} {of[page]}  {page}" for page in sorted(pages)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _write(path: Path, data: bytes, previous: Path | None) -> None:
    """`data` at `path`: a hard link to the published build's file of that name when it holds these bytes."""
    if previous is not None:
        try:
            same = (previous / path.name).read_bytes() == data
        except OSError:
            same = False
        if same:
            _link_or_copy(previous / path.name, path)
            return
    path.write_bytes(data)


# --- what Pagefind reads of a page ---------------------------------------------------------------------

def _html_pages(site: Path) -> list[str]:
    found = []
    for folder, folders, names in os.walk(site):
        if Path(folder) == site:
            folders[:] = [f for f in folders if f != FOLDER]
        for name in names:
            if name.endswith(".html"):
                found.append((Path(folder) / name).relative_to(site).as_posix())
    return found


def _slim(path: Path) -> bytes | None:
    """The page at `path` as `<head>` + its marked element, what Pagefind is given of it (None: not marked,
    or gone). The marked element is a `<div data-pagefind-body>` holding no other div (the templates' rule),
    found in the page's first `HEAD_BYTES`; its end is the first `</div>` after it."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    with handle:
        data = handle.read(HEAD_BYTES)
        start = data.find(b"<div " + MARK)
        if start < 0:
            return None
        while (end := data.find(b"</div>", start)) < 0:
            more = handle.read(1 << 20)
            if not more:
                raise SearchIndexError(N_("%(file)s: its marked part for the search index has no end"), file=path)
            data += more
    body = data.find(b"<body")
    if body < 0 or body > start:
        raise SearchIndexError(N_("%(file)s: no <body> before its marked part for the search index"), file=path)
    return data[:body] + b"<body>\n" + data[start:end + len(b"</div>")] + b"\n</body>\n</html>\n"


def _slim_into(site: Path, path: str, into: Path, known: _Page | None = None) -> _Page | None:
    """Write the slim copy of the page at `path` under `into` (unless it is there) and say what it is."""
    target = into / path
    if known is not None and target.is_file():
        return known
    data = _slim(site / path)
    if data is None:
        if known is not None:
            raise SearchIndexError(N_("%(file)s: no longer marked for the search index while it was indexed"),
                                   file=site / path)
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return _Page(hashlib.sha256(data).hexdigest(), _word(_LANG.search(data), "unknown"))


def _word(found: re.Match[bytes] | None, default: str) -> str:
    """A language as a part of a shard's name: lower case letters, digits and `_` only."""
    word = re.sub(r"[^a-z0-9_]", "", found.group(1).decode("ascii", "replace").lower().replace("-", "_")) \
        if found else ""
    return word or default


# --- Pagefind's runs and their output ------------------------------------------------------------------

def _run(slim: Path, output: Path, name: str, timeout: float) -> str | None:
    """Index the slim copies under `slim` into `output/name`, through a temporary folder renamed into
    place: None when done, else what went wrong, in one line."""
    temporary = output / f".{name}-{uuid.uuid4().hex[:8]}.part"
    command = [str(executable()), "--site", str(slim), "--output-path", str(temporary.absolute()), "--silent"]
    try:
        try:
            returncode, output_text = _pagefind(command, timeout)
        except subprocess.TimeoutExpired:
            return f"Pagefind did not finish in {timeout:g} s"
        except OSError as exc:
            return f"Pagefind did not run: {exc}"
        if returncode != 0 or not (temporary / ENTRY).is_file():
            message = output_text.strip().splitlines()
            return f"Pagefind failed (exit {returncode})" + (f": {message[-1]}" if message else "")
        for unused in UNUSED:
            (temporary / unused).unlink(missing_ok=True)
        if not (output / UI[0]).is_file():  # the UI once, for the whole site
            for ui in UI:
                os.replace(temporary / ui, output / ui)
        for ui in UI:
            (temporary / ui).unlink(missing_ok=True)
        _sort_entry(temporary / ENTRY)
        if (output / name).exists():
            shutil.rmtree(output / name)
        os.rename(temporary, output / name)
        return None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


_peak_kb = 0
"""The largest peak resident memory of a Pagefind run of this process (its VmHWM, in kB)."""


def _pagefind(command: list[str], timeout: float) -> tuple[int, str]:
    """Run Pagefind: its exit status and what it wrote. Its own peak memory is read from its
    `/proc/<pid>/status` while it runs (the high-water mark of its memory after exec; the rusage of a child
    of this process would start from this process's own peak)."""
    global _peak_kb
    with tempfile.TemporaryFile() as said:
        deadline = time.monotonic() + timeout
        process = subprocess.Popen(command, stdout=said, stderr=subprocess.STDOUT)  # returns once exec'd
        status = Path(f"/proc/{process.pid}/status")
        try:
            while True:
                try:
                    found = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.MULTILINE)
                    if found:
                        _peak_kb = max(_peak_kb, int(found.group(1)))
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(command, timeout)
                if process.poll() is not None:
                    break
                time.sleep(0.02)
        except BaseException:
            process.kill()
            process.wait()
            raise
        said.seek(0)
        return process.returncode, said.read().decode("utf-8", "replace")


def _ui(output: Path, previous: Path | None, slim: Path, site: Path) -> None:
    """Pagefind's UI at `output`: from this build's first run, else the published one's (the same
    Pagefind: its manifest's first line), else from a run over one empty marked page."""
    if (output / UI[0]).is_file():
        return
    if previous is not None and all((previous / ui).is_file() for ui in UI):
        for ui in UI:
            _link_or_copy(previous / ui, output / ui)
        return
    page = slim / "ui" / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text('<!doctype html><html lang="en"><head></head><body><div data-pagefind-body>-</div>'
                    "</body></html>\n", encoding="utf-8")
    problem = _run(slim / "ui", output, ".ui", TIMEOUT)
    shutil.rmtree(output / ".ui", ignore_errors=True)
    if problem is not None:
        raise SearchIndexError(N_("%(folder)s: Pagefind's UI: %(reason)s"), folder=site, reason=problem)


def _carry(source: Path, target: Path) -> None:
    """A published shard into the build being assembled: hard links (builds never change in place)."""
    for folder, _, names in os.walk(source):
        into = target / Path(folder).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in names:
            _link_or_copy(Path(folder) / name, into / name)


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except FileExistsError:
        pass
    except OSError:
        shutil.copy2(source, target)


def _stats(output: Path, begun: float, **more: object) -> IndexStats:
    files = [p for p in output.rglob("*") if p.is_file()]
    return IndexStats(len(files), sum(p.stat().st_size for p in files), round(time.monotonic() - begun, 2),
                      pagefind_peak_mb=round(_peak_kb / 1024, 1), **more)  # type: ignore[arg-type]


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
