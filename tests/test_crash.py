"""A harvest killed at any point leaves the previous state readable; the next run completes the work."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harvester.config import load_settings
from harvester.harvest import harvest
from harvester.store import Store


def snapshot(config: Path) -> list[tuple]:
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        return store.con.execute("SELECT catalog_id, remote_id, content_hash, deleted_at FROM datasets "
                                 "ORDER BY ALL").fetchall()


def test_kill_minus_nine_mid_harvest_loses_nothing_and_next_run_completes(portal, make_config):
    config = make_config("cdmx")
    harvest(load_settings(config, env={}), ["cdmx"])
    before = snapshot(config)
    for dataset in portal.datasets("cdmx")[:5]:
        portal.touch("cdmx", dataset["id"], notes="cambiado")
    faults = portal.faults("cdmx")
    faults.rows_max, faults.delay = 2, 0.1
    child = subprocess.Popen([sys.executable, "-m", "harvester", "--config", str(config), "--quiet",
                              "harvest", "cdmx", "--full"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)
    assert child.poll() is None, "the harvest finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    faults.rows_max, faults.delay = 1000, 0.0

    assert snapshot(config) == before  # readable, and exactly the previous state
    result = harvest(load_settings(config, env={}), ["cdmx"])[0]
    assert result.status == "ok" and result.updated == 5
    after = snapshot(config)
    assert len(after) == len(before) and len({(r[0], r[1]) for r in after}) == len(after)
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        statuses = [r[0] for r in store.con.execute(
            "SELECT status FROM harvest_runs WHERE catalog_id = 'cdmx' ORDER BY run_id").fetchall()]
    assert statuses == ["ok", "interrupted", "ok"]


def test_second_process_is_refused_while_the_store_is_in_use(portal, make_config, run_cli, monkeypatch):
    """A process holding the store outside the writers' lock (a reader such as `search`, or DuckDB itself):
    with no wait allowed, a writer is refused at once with one line. (A second writing command meets the
    writers' lock first and exits 5: tests/test_hostile_site.py.)"""
    monkeypatch.setenv("HARVESTER_STORE_WAIT", "0")  # refused at once, not after waiting for the holder
    config = make_config("cdmx")
    settings = load_settings(config, env={})
    harvest(settings, ["cdmx"])
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(30)", str(settings.paths.database)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = run_cli("harvest", "cdmx", config=config)
        assert result.exit_code == 1
        assert "in use by another harvester process" in result.stderr
    finally:
        holder.kill()
        holder.wait(10)


def test_a_writer_waits_for_a_reader_holding_the_store_briefly(portal, make_config, run_cli):
    """A `harvester search` (or any reader) holding the store made the nightly's stages fail at once; now a
    writer waits for it (HARVESTER_STORE_WAIT, 60 s by default) and goes on."""
    config = make_config("cdmx")
    settings = load_settings(config, env={})
    harvest(settings, ["cdmx"])
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time, duckdb; "
                               "c = duckdb.connect(sys.argv[1], read_only=True); print('held', flush=True); "
                               "time.sleep(2); c.close()", str(settings.paths.database)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        result = run_cli("--quiet", "harvest", "cdmx", config=config)
        waited = time.monotonic() - started
    finally:
        holder.wait(10)
    assert result.exit_code == 0, result.output
    assert waited >= 1.0  # it did wait for the reader, then harvested
