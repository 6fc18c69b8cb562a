"""A kill while the store is first created: the next nightly (not a hand-run harvest) repairs it and
completes. Before, 6 kills of 6 at that moment left a store every later nightly failed on."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb

from harvester.store import SCHEMA_VERSION, Store


def _nightly(config):
    return subprocess.run([sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "nightly"],
                          capture_output=True, text=True, timeout=300)


def _allow_sandbox(config):
    config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n',
                      encoding="utf-8")


def test_a_database_left_empty_by_a_killed_creation_is_repaired_by_any_reader(tmp_path):
    path = tmp_path / "catalog.duckdb"
    duckdb.connect(str(path)).close()  # the file exists, the creating transaction never committed
    with Store(path, read_only=True) as store:
        assert store.query("SELECT max(version) AS v FROM schema_version")[0]["v"] == SCHEMA_VERSION
        assert store.query("SELECT count(*) AS n FROM resource_files")[0]["n"] == 0


def test_kills_during_store_creation_then_a_nightly_completes(portal, make_config, tmp_path):
    config = make_config("veracruz")
    _allow_sandbox(config)
    database = tmp_path / "data" / "catalog.duckdb"
    kills = 0
    for trial in range(6):
        for leftover in database.parent.glob("catalog.duckdb*"):
            leftover.unlink()
        child = subprocess.Popen([sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "nightly"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not database.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        time.sleep(0.002 * trial)  # at the file's birth, then a little later each time
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            kills += 1
        child.wait(timeout=30)
        assert database.exists()
        result = _nightly(config)
        assert result.returncode == 0, (trial, result.stdout[-2000:], result.stderr[-2000:])
        with Store(database, read_only=True) as store:
            assert store.query("SELECT count(*) AS n FROM datasets")[0]["n"] > 0
            assert store.query("SELECT count(*) AS n FROM resource_files")[0]["n"] > 0
    assert kills == 6


def test_a_store_file_cut_short_at_its_birth_is_set_aside_and_made_anew(tmp_path):
    """A kill right as DuckDB created the file leaves 0 or 4,096 bytes that DuckDB refuses as no database:
    it held nothing committed, so it is moved aside (kept, named) and a new store is made."""
    for size in (0, 4096):
        folder = tmp_path / f"size-{size}"
        folder.mkdir()
        path = folder / "catalog.duckdb"
        path.write_bytes(b"\0" * size)
        with Store(path) as store:
            assert store.query("SELECT max(version) AS v FROM schema_version")[0]["v"] == SCHEMA_VERSION
        kept = [p for p in folder.iterdir() if p.name.startswith("catalog.duckdb.broken-")]
        assert len(kept) == 1 and kept[0].stat().st_size == size


def test_a_store_that_is_not_one_is_never_set_aside(tmp_path):
    """Only a file too short to hold DuckDB's headers is taken for a cut-short birth: anything else is an
    error naming the file, and the file stays as it is."""
    import pytest
    from harvester.errors import StoreError
    path = tmp_path / "catalog.duckdb"
    path.write_bytes(b"not a database " * 2000)
    with pytest.raises(StoreError, match="catalog.duckdb: cannot open"):
        Store(path)
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.duckdb"]
