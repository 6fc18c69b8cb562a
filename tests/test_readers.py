"""Issue 12, readers are never locked out: while a writer (a nightly stage, a long fetch) holds the store,
`search`, `show`, `pack candidates`, `catalogs --probe` and `report` (tests/test_hostile_site.py) answer at once from the read copy the last writer published
(`<data_dir>/cache/catalog.read.duckdb`), saying so in one line; a second writer is still refused (exit 5).
Real processes, real DuckDB files; HARVESTER_STORE_WAIT is unset, so a reader that waited would take 60 s."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from harvester.config import load_settings
from harvester.demo import BUNDLED_PROFILES
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.paths import read_copy_of
from harvester.store import SCHEMA_VERSION, Store

NOTICE = "reading the last published copy"
QUICK = 5.0  # seconds for a whole reader process, Python's start and imports included

HOLDER = """
import sys
from harvester.store import Store
from harvester.store.core import StoreBase
StoreBase.publish_every = float(sys.argv[3])
store = Store(sys.argv[1])
with store.transaction() as con:
    con.execute("UPDATE datasets SET title = ? WHERE name = 'linea-mujeres'", [sys.argv[2]])
print("held", flush=True)
sys.stdin.readline()
store.close()
print("closed", flush=True)
sys.stdin.readline()
"""

RAW_HOLDER = ("import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
              "sys.stdin.readline()")

PUBLISHER = """
import sys
from harvester.store import Store
store = Store(sys.argv[1])
print("open", flush=True)
while True:
    store.publish()
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "HARVESTER_STORE_WAIT"}


def _config(make_config) -> Path:
    config = make_config("cdmx", cdmx={"timeout": 60})  # the sandbox's slow answers are waited for
    text = config.read_text(encoding="utf-8").replace(
        "[harvester]\n", f'[harvester]\nprofiles = "{BUNDLED_PROFILES.as_posix()}"\n', 1)
    config.write_text(text + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\ntimeout = 5\n', encoding="utf-8")
    return config


def _cli(config: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "harvester", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120, env=_env())
    return done, time.monotonic() - started


def _start(code: str, *args: str) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=_env())
    return child


def _expect(child: subprocess.Popen[str], line: str) -> None:
    assert child.stdout is not None
    assert child.stdout.readline().strip() == line


def _stop(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait(30)


def _held(database: Path) -> bool:
    """Whether another process holds the store for writing (a read-only open meets its lock)."""
    try:
        duckdb.connect(str(database), read_only=True).close()
    except duckdb.IOException as exc:
        return "lock" in str(exc).lower()
    return False


def _title(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["title"]


def _harvested(make_config) -> tuple[Path, Path]:
    config = _config(make_config)
    settings = load_settings(config, env={})
    harvest(settings, ["cdmx"])
    return config, settings.paths.database


def test_read_commands_answer_at_once_from_the_read_copy_while_a_harvest_writes(portal, make_config):
    config, database = _harvested(make_config)
    copy = read_copy_of(database)
    assert copy == database.parent / "cache" / "catalog.read.duckdb" and copy.is_file()
    portal.faults("cdmx").hang = True  # a real `harvester harvest`, holding the store until the portal answers
    writer = subprocess.Popen([sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "harvest",
                               "cdmx", "--full"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env())
    try:
        deadline = time.monotonic() + 30
        while not _held(database) and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _held(database), "the harvest never held the store"

        found, seconds = _cli(config, "search", "mujeres", "--json")
        assert found.returncode == 0, found.stderr
        assert seconds < QUICK
        assert "linea-mujeres" in {h["name"] for h in json.loads(found.stdout)}
        lines = found.stderr.strip().splitlines()
        assert len(lines) == 1 and NOTICE in lines[0] and lines[0].startswith("Warning: reading the last published copy")

        shown, seconds = _cli(config, "show", "cdmx/linea-mujeres")
        assert shown.returncode == 0 and seconds < QUICK, shown.stderr
        assert shown.stdout.startswith("cdmx/linea-mujeres: ") and NOTICE in shown.stderr

        candidates, seconds = _cli(config, "pack", "candidates", "mobility-and-women", "--json")
        assert candidates.returncode == 0 and seconds < QUICK, candidates.stderr
        assert json.loads(candidates.stdout)["theme"] == "mobility-and-women" and NOTICE in candidates.stderr

        listed, seconds = _cli(config, "catalogs", "--json")  # reads the configuration, never the store
        assert listed.returncode == 0 and seconds < QUICK
        assert [c["id"] for c in json.loads(listed.stdout)] == ["cdmx"]

        for second in (["fetch"], ["harvest", "cdmx"]):  # writers: one at a time, as before
            refused, seconds = _cli(config, *second)
            assert refused.returncode == 5, (second, refused.stderr)
            lines = refused.stderr.strip().splitlines()
            assert len(lines) == 1 and "another harvest run is in progress (pid" in lines[0], lines
            assert seconds < QUICK
        assert writer.poll() is None and _held(database), "the readers did not run while the harvest wrote"
    finally:
        portal.faults("cdmx").hang = False
        writer.communicate(timeout=120)
    assert writer.returncode == 0
    after, _ = _cli(config, "search", "mujeres", "--json")
    assert after.returncode == 0 and after.stderr == ""  # the store is free again: read itself, no notice
    with duckdb.connect(str(copy), read_only=True) as con:
        modes = [r[0] for r in con.execute("SELECT mode FROM harvest_runs ORDER BY run_id").fetchall()]
    assert len(modes) == 2 and modes[-1] == "full"  # the copy holds the harvest that just closed


def test_a_reader_sees_the_last_published_state_and_the_copy_follows_the_writer_when_it_closes(portal,
                                                                                                make_config):
    config, database = _harvested(make_config)
    before, _ = _cli(config, "show", "cdmx/linea-mujeres", "--json")
    original = _title(before)
    holder = _start(HOLDER, str(database), "TÍTULO NUEVO", "600")
    try:
        _expect(holder, "held")  # committed, not yet published
        during, seconds = _cli(config, "show", "cdmx/linea-mujeres", "--json")
        assert _title(during) == original and seconds < QUICK and NOTICE in during.stderr
        holder.stdin.write("\n")
        holder.stdin.flush()
        _expect(holder, "closed")
    finally:
        _stop(holder)
    raw = _start(RAW_HOLDER, str(database))  # a writer that publishes nothing: readers read the copy
    try:
        _expect(raw, "held")
        after, seconds = _cli(config, "show", "cdmx/linea-mujeres", "--json")
        assert _title(after) == "TÍTULO NUEVO" and seconds < QUICK and NOTICE in after.stderr
    finally:
        _stop(raw)


def test_a_long_writer_publishes_as_it_commits(portal, make_config):
    """A writer that keeps the store open (a long fetch) publishes every `publish_every` seconds of commits:
    readers see its work before it ends."""
    config, database = _harvested(make_config)
    holder = _start(HOLDER, str(database), "A MEDIO CAMINO", "0")
    try:
        _expect(holder, "held")
        during, seconds = _cli(config, "show", "cdmx/linea-mujeres", "--json")
        assert _title(during) == "A MEDIO CAMINO" and seconds < QUICK and NOTICE in during.stderr
        # DuckDB's lock is a POSIX record lock, which closing any descriptor of the file drops: publishing
        # reads the store through one kept open until the connection closes, so the writer still holds it
        assert _held(database) and holder.poll() is None
    finally:
        _stop(holder)


def test_with_no_read_copy_yet_a_reader_says_so_at_once_and_exits_busy(portal, make_config):
    config, database = _harvested(make_config)
    read_copy_of(database).unlink()
    raw = _start(RAW_HOLDER, str(database))
    try:
        _expect(raw, "held")
        for command in (["search", "mujeres"], ["show", "cdmx/linea-mujeres"],
                        ["pack", "candidates", "care-economy"]):
            done, seconds = _cli(config, *command)
            assert done.returncode == 5, (command, done.stderr)
            assert seconds < QUICK  # not the 60 s a writer waits
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and "no read copy has been published yet" in lines[0], lines
            assert " / " not in lines[0] and done.stdout == ""  # one language: English, as LANGUAGE=en asks
    finally:
        _stop(raw)


def test_a_read_copy_of_another_schema_is_refused_in_one_line(portal, make_config):
    config, database = _harvested(make_config)
    copy = read_copy_of(database)
    for version, code, words in ((SCHEMA_VERSION - 1, 5, "the read copy has schema"),
                                 (SCHEMA_VERSION + 1, 1, "upgrade the harvester")):
        with duckdb.connect(str(copy)) as con:
            con.execute("UPDATE schema_version SET version = ?", [version])
        raw = _start(RAW_HOLDER, str(database))
        try:
            _expect(raw, "held")
            done, seconds = _cli(config, "search", "mujeres")
            assert done.returncode == code and seconds < QUICK, done.stderr
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and words in lines[0] and f"schema {version}" in lines[0], lines
        finally:
            _stop(raw)
    with Store(database) as store:  # the next writer to close replaces it with one of this schema
        store.query("SELECT 1")
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_a_kill_while_publishing_leaves_the_previous_copy_whole(tmp_path):
    """kill -9 in the middle of publishing, again and again: the read copy is always a whole store (the
    previous one), and the next publish sweeps the half-written temporary file away."""
    database = tmp_path / "catalog.duckdb"
    with Store(database) as store:
        with store.transaction() as con:  # enough data that a publish takes a while
            con.execute("CREATE TABLE padding AS SELECT i, md5(i::VARCHAR) || md5((i * 7)::VARCHAR) AS t "
                        "FROM range(1500000) r(i)")
    copy = read_copy_of(database)
    assert copy.is_file()
    cut = 0
    for trial in range(8):
        publisher = _start(PUBLISHER, str(database))
        try:
            _expect(publisher, "open")
            time.sleep(0.05 + 0.03 * trial)
            os.kill(publisher.pid, signal.SIGKILL)
        finally:
            publisher.wait(30)
        parts = list(copy.parent.glob(f".{copy.name}.*.part"))
        cut += bool(parts)
        with duckdb.connect(str(copy), read_only=True) as con:
            assert con.execute("SELECT count(*), max(version) FROM padding, schema_version").fetchone() \
                == (1500000, SCHEMA_VERSION)
    assert cut >= 1, "no kill landed while a copy was being written"
    with Store(database) as store:
        store.query("SELECT 1")
    assert list(copy.parent.glob(f".{copy.name}.*.part")) == []


def test_the_copy_holds_each_stage_once_it_closes(portal, make_config):
    config, database = _harvested(make_config)
    settings = load_settings(config, env={})
    fetch(settings, catalogs=["cdmx"])
    copy = read_copy_of(database)
    counts = "SELECT (SELECT count(*) FROM datasets), (SELECT count(*) FROM resource_files)"
    with duckdb.connect(str(copy), read_only=True) as con:
        published = con.execute(counts).fetchone()
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute(counts).fetchone() == published
    assert published[1] > 0


def test_a_probe_answers_at_once_while_a_writer_holds_the_store_and_remembers_the_version_later(portal,
                                                                                                make_config):
    """`catalogs --probe` remembers a catalog's CKAN version in the store, but never waits for a writer to
    do it: while a nightly (its lock) or another process (the store file) writes, it answers at once."""
    from harvester.nightly import _Lock

    config, database = _harvested(make_config)

    def version() -> str | None:
        with Store(database, read_only=True) as store:
            return store.query("SELECT ckan_version FROM catalogs WHERE id = 'cdmx'")[0]["ckan_version"]

    holder = _start(HOLDER, str(database), "OTRO TÍTULO", "600")
    try:
        _expect(holder, "held")
        probed, seconds = _cli(config, "catalogs", "--probe", "--json")
        assert probed.returncode == 0 and seconds < QUICK, probed.stderr
        assert json.loads(probed.stdout)[0]["probe"]["ckan_version"].startswith("2.10")
    finally:
        _stop(holder)
    assert version() is None  # the holder had the store: nothing was written, nothing waited for
    with _Lock(database.parent / ".nightly.lock"):  # a nightly runs
        probed, seconds = _cli(config, "catalogs", "--probe", "--json")
        assert probed.returncode == 0 and seconds < QUICK, probed.stderr
    assert version() is None
    probed, _ = _cli(config, "catalogs", "--probe", "--json")  # no writer: remembered
    assert probed.returncode == 0 and version() == json.loads(probed.stdout)[0]["probe"]["ckan_version"]


def test_a_long_reader_reads_the_current_copy_so_a_writer_never_waits_for_it(portal, make_config):
    """The site's build reads for a long time (90 s at 50,000 datasets): with `prefer_copy` it reads the read
    copy whenever that holds what the store holds, so a writer starting meanwhile opens the store at once."""
    config, database = _harvested(make_config)
    with Store(database, read_only=True, prefer_copy=True) as reader:
        assert reader.copy_is_current and reader.published_copy == read_copy_of(database)
        with Store(database, wait=0.0) as writer:  # before: StoreBusy, the reader held the file
            with writer.transaction() as con:
                con.execute("UPDATE datasets SET title = 'DESPUÉS' WHERE name = 'linea-mujeres'")
        title = reader.query("SELECT title FROM datasets WHERE name = 'linea-mujeres'")[0]["title"]
        assert title != "DESPUÉS"  # the reader keeps the state it opened
    raw = duckdb.connect(str(database))  # a change no writer published: the copy is behind, the store is read
    raw.execute("UPDATE datasets SET title = 'SIN PUBLICAR' WHERE name = 'linea-mujeres'")
    raw.close()
    with Store(database, read_only=True, prefer_copy=True) as reader:
        assert not reader.copy_is_current and reader.published_copy is None
        assert reader.query("SELECT title FROM datasets WHERE name = 'linea-mujeres'")[0]["title"] == "SIN PUBLICAR"
