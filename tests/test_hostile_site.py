"""Hostile portal text and hostile conditions around the site and the commands (issue 15): names that try to
drive the terminal or forge log lines, a 10,000-character name, an unreadable table, same-name datasets
and repeated resource ids on the site, two writers at once, and a full disk."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench import peak
from harvester.clock import utcnow
from harvester.config import load_settings
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.model import ColumnProfile, ResourceKey
from harvester.profile import profile
import harvester.report as report
from harvester.report import build_site
from harvester.store import Store
from harvester.validate import validate

FORGED = "\x1b[2J\x1b[31mrojo\x9b0m\nFAILED harvest cdmx: forged line\r\u202etxt.exe"
GOOD_FILE = "/files/cdmx/linea-mujeres/linea_mujeres.csv"


def _allow(config: Path, extra: str = "") -> Path:
    config.write_text(config.read_text(encoding="utf-8") + f'\n[fetch]\nallow_hosts = ["127.0.0.1"]\n{extra}',
                      encoding="utf-8")
    return config


def _harvester(config: Path, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harvester", "--config", str(config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _every_stage(make_config):
    """Harvest, fetch, validate and profile the Veracruz sandbox (plus what a test added): the settings."""
    settings = load_settings(_allow(make_config("veracruz")), env={})
    harvest(settings)
    fetch(settings)
    validate(settings)
    profile(settings)
    return settings


# Portal text in the terminal -----------------------------------------------------------------------------

def test_control_characters_in_portal_names_are_shown_escaped(portal, make_config, run_cli):
    portal.add("veracruz", {"name": "nombre-hostil", "title": "Título " + FORGED,
                            "organization": {"name": "org", "title": "Org " + FORGED},
                            "resources": [{"id": "r1", "name": "Recurso " + FORGED, "format": "CSV",
                                           "url": portal.base_url + GOOD_FILE}]})
    config = _allow(make_config("veracruz"))
    outputs = [run_cli("nightly", config=config), run_cli("search", "titulo", config=config),
               run_cli("show", "veracruz/nombre-hostil", config=config),
               run_cli("search", "titulo", "--json", config=config)]
    for result in outputs:
        text = result.stdout + result.stderr
        assert result.exit_code in (0, 3), text
        assert not any(c in text for c in "\x1b\x9b\r\u202e"), repr(text)
        assert not any(line.startswith("FAILED harvest cdmx") for line in text.splitlines()), text
    shown = outputs[2].stdout
    assert "Título \\x1b[2J\\x1b[31mrojo\\x9b0m\\nFAILED harvest cdmx: forged line\\r\\u202etxt.exe" in shown
    assert '\\u009b' in outputs[3].stdout and '"Título \\u001b[2J' in outputs[3].stdout  # still JSON


def test_progress_lines_of_the_commands_keep_portal_text_on_one_line():
    """The commands' progress (log lines in cron and CI) goes through PrintableProgress: a failure reason
    carrying a portal's text cannot clear the screen or start a forged line of its own."""
    import io

    from harvester.progress import LogProgress
    from harvester.render import PrintableProgress
    stream = io.StringIO()
    shown = PrintableProgress(LogProgress(stream))
    shown.start("harvest veracruz\x1b[2J")
    shown.finish("harvest veracruz", "failed: " + FORGED)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and not any(c in stream.getvalue() for c in "\x1b\x9b\r\u202e")
    assert lines[1].endswith("harvest veracruz: failed: \\x1b[2J\\x1b[31mrojo\\x9b0m\\nFAILED harvest cdmx: "
                             "forged line\\r\\u202etxt.exe")


def test_a_ten_thousand_character_name_does_not_break_the_site(portal, make_config, run_cli):
    long_name = "d" * 10_000
    portal.add("veracruz", {"name": long_name, "title": "Nombre largo " + "x" * 10_000, "resources": [
        {"id": "r" * 10_000, "name": "n" * 10_000, "format": "CSV", "url": portal.base_url + GOOD_FILE}]})
    config = _allow(make_config("veracruz"))
    result = run_cli("--quiet", "nightly", config=config)
    assert result.exit_code == 0, result.output
    root = load_settings(config, env={}).paths.root
    assert all(len(p.name) <= 255 for p in root.rglob("*"))
    pages = list((root / "site" / "datasets" / "veracruz").glob("d*.html"))
    assert len(pages) == 1 and "Nombre largo" in pages[0].read_text(encoding="utf-8")
    with Store(root / "catalog.duckdb", read_only=True) as store:
        row = store.query("SELECT status, path FROM resource_files WHERE length(resource_id) = 10000")[0]
    assert row["status"] == "ok" and len(Path(row["path"]).name) < 160


# The site ---------------------------------------------------------------------------------------------------

def test_a_table_whose_profiling_failed_is_shown_with_its_reason(portal, make_config):
    settings = _every_stage(make_config)
    with Store(settings.paths.database) as store:
        row = store.query("SELECT catalog_id, dataset_id, resource_id, sha256 FROM column_profiles LIMIT 1")[0]
        store.record_profile(ResourceKey(row["catalog_id"], row["dataset_id"], row["resource_id"]), row["sha256"],
                             [ColumnProfile(position=-1, name="", type="error", rows=0, alerts=("unreadable",),
                                            error="Invalid Input Error: the file ends inside a quote")], utcnow())
        name = store.query("SELECT name FROM datasets WHERE remote_id = ?", [row["dataset_id"]])[0]["name"]
    result = build_site(settings)
    page = (result.path / "datasets" / "veracruz" / f"{name}.html").read_text(encoding="utf-8")
    assert 'Esta tabla no pudo perfilarse</span>: <span lang="en">Invalid Input Error: the file ends inside a ' \
           'quote</span>' in page  # the reason as the reader of the store wrote it, marked as English
    page = (result.path / "en" / "datasets" / "veracruz" / f"{name}.html").read_text(encoding="utf-8")
    assert 'This table could not be profiled</span>: <span lang="en">Invalid Input Error: the file ends inside a ' \
           'quote</span>' in page


def test_same_name_datasets_get_a_page_each_and_tables_show_once(portal, make_config):
    """A resource id repeated across datasets showed each validation twice; two datasets of one name
    shared one page."""
    url = portal.base_url + GOOD_FILE
    for suffix in ("a", "b"):
        portal.add("veracruz", {"id": f"gemelo-{suffix}", "name": f"gemelo-{suffix}", "title": f"Gemelo {suffix}",
                                "resources": [{"id": "repetido", "name": f"recurso {suffix}", "format": "CSV",
                                               "url": url}]})
    portal.touch("veracruz", "gemelo-b", name="gemelo-a")  # a hostile portal: two datasets, one name
    settings = _every_stage(make_config)
    with Store(settings.paths.database, read_only=True) as store:
        assert store.query("SELECT count(*) AS n FROM datasets WHERE name = 'gemelo-a'")[0]["n"] == 2
    site = build_site(settings).path
    pages = sorted((site / "datasets" / "veracruz").glob("gemelo-a*.html"))
    assert len(pages) == 2
    for page, suffix in zip(sorted(pages, key=lambda p: "Gemelo b" in p.read_text()), "ab"):
        text = page.read_text(encoding="utf-8")
        assert f"Gemelo {suffix}" in text
        assert text.count('<article class="table-report">') == 1, page  # its one table, once
        assert text.count('<article class="table-profile">') == 1, page
        assert f"recurso {suffix} <span" in text or f"recurso {suffix}" in text


# Two writers ------------------------------------------------------------------------------------------------

def _wait_for_lock(root: Path, holder: str, child: subprocess.Popen) -> None:
    lock = root / ".nightly.lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if lock.is_file() and lock.read_text(encoding="utf-8").startswith(f"{holder}: pid {child.pid}"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{holder} never took the lock")


@pytest.mark.parametrize("second", [["harvest"], ["fetch"], ["validate"], ["profile"], ["pack", "build"]])
def test_a_writing_command_during_a_nightly_exits_5_and_touches_nothing(portal, make_config, second):
    """Before, a `harvest` started during a nightly aborted it (no summary)."""
    config = _allow(make_config("veracruz"))
    root = load_settings(config, env={}).paths.root
    portal.faults("veracruz").delay = 0.2  # a nightly that takes a while
    nightly = _harvester(config, "--quiet", "nightly")
    _wait_for_lock(root, "nightly", nightly)
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*") if "cache" not in p.parts)
    asked = len(portal.requests())
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "harvester", "--config", str(config), *second],
                          capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 10
    assert done.returncode == 5, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "another nightly run is in progress (pid" in lines[0] and "nothing was done" in lines[0]
    assert done.stdout == ""
    assert nightly.poll() is None, "the nightly ended while the second writer ran"
    assert len(portal.requests()) - asked <= 3  # only the nightly's own requests (one every 0.2 s)
    portal.faults("veracruz").delay = 0.0
    out, err = nightly.communicate(timeout=300)
    assert nightly.returncode == 0, err[-2000:]
    after = {str(p.relative_to(root)) for p in root.rglob("*")}
    # nothing that was there is gone, but for what the running nightly itself owns while it runs (its lock,
    # DuckDB's write-ahead log, which it checkpoints into the store when it closes it)
    assert set(before) - after <= {".nightly.lock", "catalog.duckdb.wal"}
    assert list((root / "runs").glob("*.json"))  # the nightly wrote its summary


def _store_held(database: Path, child: subprocess.Popen) -> None:
    """Wait until a writer holds the store: a reader then opens the read copy instead."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        with Store(database, read_only=True) as store:
            if store.published_copy is not None:
                return
        time.sleep(0.05)
    raise AssertionError("the writer never held the store")


def test_a_report_during_a_nightly_builds_the_site_from_the_last_published_copy(portal, make_config):
    """Readers are never locked out: `report` used to take the nightly's lock and exit 5 during a nightly."""
    config = _allow(make_config("veracruz", veracruz={"timeout": 60}))  # the hanging portal is waited for
    settings = load_settings(config, env={})
    root, database = settings.paths.root, settings.paths.database
    harvest(settings)  # a store and its read copy; no site yet
    assert not settings.paths.site.exists()
    portal.faults("veracruz").hang = True  # a nightly whose harvest holds the store until the portal answers
    nightly = _harvester(config, "--quiet", "nightly")
    try:
        _wait_for_lock(root, "nightly", nightly)
        _store_held(database, nightly)
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "harvester", "--config", str(config), "report"],
                              capture_output=True, text=True, timeout=60)
        seconds = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        assert seconds < 10, seconds
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Warning: reading the last published copy (") \
            and "while another process writes" in lines[0], lines
        assert re.match(r"Site: \d+ pages and 0 pack downloads, published \(", done.stdout), done.stdout
        site = settings.paths.site.resolve()
        assert (site / "index.html").is_file() and list((site / "datasets" / "veracruz").glob("*.html"))
        assert nightly.poll() is None, "the nightly ended while the report ran"
        with Store(database, read_only=True) as store:
            assert store.published_copy is not None  # the nightly's harvest still held the store throughout
    finally:
        portal.faults("veracruz").hang = False
        out, err = nightly.communicate(timeout=300)
    assert nightly.returncode == 0, err[-2000:]
    assert list((root / "runs").glob("*.json"))  # the nightly completed, its report stage included
    assert settings.paths.site.resolve() != site  # and published the site again, with what it fetched


def test_a_report_while_another_builder_holds_the_site_lock_exits_5_in_one_line(portal, make_config):
    """Two site builders do not wait long for each other: `harvester report` finds the site being built (the
    nightly's report stage) and exits 5 at once, naming the lock and its holder; the nightly's stage waits."""
    config = _allow(make_config("veracruz"))
    settings = load_settings(config, env={})
    root = settings.paths.root
    harvest(settings)
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    with report._lock(root, "nightly", wait=True):  # what the nightly's report stage holds while it builds
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "harvester", "--config", str(config), "report"],
                              capture_output=True, text=True, timeout=60)
        assert time.monotonic() - started < 10
        assert done.returncode == 5, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {root / '.report.lock'}: another site build is in "
                                                       f"progress (nightly: pid {os.getpid()}, started "), lines
        assert lines[0].endswith("Z); nothing was done"), lines
        assert done.stdout == ""
        assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == sorted(before + [".report.lock"])
        # a builder that waits (the nightly's report stage) waits for the one holding the lock
        waiting = threading.Thread(target=lambda: built.append(build_site(settings)))
        built: list = []
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive() and not built
    waiting.join(60)
    assert built and built[0].published and (settings.paths.site / "index.html").is_file()
    assert (root / ".report.lock").read_text(encoding="utf-8").startswith(f"report: pid {os.getpid()}, started ")


def test_a_nightly_during_a_manual_harvest_exits_5(portal, make_config):
    config = _allow(make_config("veracruz"))
    root = load_settings(config, env={}).paths.root
    portal.faults("veracruz").delay = 2.0  # a harvest that takes a while
    manual = _harvester(config, "--quiet", "harvest")
    _wait_for_lock(root, "harvest", manual)
    done = subprocess.run([sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "nightly"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 5, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "another harvest run is in progress (pid" in lines[0], lines
    assert not (root / "runs").exists()  # the nightly touched nothing
    portal.faults("veracruz").delay = 0.0
    manual.communicate(timeout=300)
    assert manual.returncode == 0


# A full disk --------------------------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (root only); else the test is skipped with the reason."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_not_a_traceback(portal, make_config, small_disk, tmp_path):
    """The store lives on the ordinary disk; the files go to a 2 MB disk that a 3 MB download fills."""
    portal.add("veracruz", {"name": "grande", "title": "Grande", "resources": [
        {"id": "grande", "name": "grande", "format": "CSV", "url": f"{portal.base_url}/hostile/big.csv"}]})
    config = make_config("veracruz", data_dir=small_disk / "data")
    text = config.read_text(encoding="utf-8").replace(
        "[harvester]\n", f'[harvester]\ndatabase = "{tmp_path / "catalog.duckdb"}"\n', 1)
    config.write_text(text, encoding="utf-8")
    _allow(config)
    assert subprocess.run([sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "harvest"],
                          capture_output=True, timeout=120).returncode == 0
    done = peak.run([sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "fetch",
                     "--dataset", "grande"], timeout=120)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0] and "Traceback" not in done.stderr, lines
    assert not [p for p in (small_disk / "data" / "raw").rglob("*") if p.is_file()]  # nothing half-written left
    assert done.peak_mb < 1024, done.peak_mb
