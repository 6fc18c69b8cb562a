"""`harvester nightly` against the sandbox: twice (the second run does no work and rewrites nothing),
killed mid-run and run again, two at once, and one failing catalog among healthy ones."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from harvester import clock
from harvester.config import load_settings
from harvester.demo import BUNDLED_PROFILES
from harvester.nightly import _Lock
from harvester.store import Store

VOLATILE = ("runs", "cache", ".nightly.lock", ".report.lock", "catalog.duckdb", "catalog.duckdb.wal")


def nightly_config(make_config, *catalogs: str, fetch: str = "", **per_catalog) -> Path:
    """`fetch`: more lines for the [fetch] table."""
    config = make_config(*catalogs, **per_catalog)
    text = config.read_text(encoding="utf-8").replace(
        "[harvester]\n", f'[harvester]\nprofiles = "{BUNDLED_PROFILES.as_posix()}"\n', 1)
    config.write_text(text + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\ntimeout = 5\n' + fetch, encoding="utf-8")
    return config


def files(root: Path) -> dict[str, int]:
    """Every output file with its modification time, but the run's own log, cache and store."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).parts[0] not in VOLATILE}


def test_a_second_nightly_with_no_upstream_change_does_no_work(portal, make_config, run_cli):
    config = nightly_config(make_config, "cdmx", "federal")
    root = load_settings(config, env={}).paths.root
    first = run_cli("nightly", "--json", config=config)
    assert first.exit_code == 0, first.output
    done = json.loads(first.stdout)
    assert done["status"] == "ok" and done["work"]["downloaded"] > 80 and done["work"]["validated_tables"] > 60
    published = [d for site in ("cdmx", "federal") for d in portal.datasets(site) if d.get("type") != "harvest"]
    assert len(done["changes"]["new_datasets"]) == len(published)  # harvest sources are not datasets
    assert sorted(p.split()[0] for p in done["changes"]["packs_rebuilt"]) == ["care-economy", "mobility-and-women"]
    assert set(done["seconds"]) == {"harvest", "fetch", "validate", "profile", "packs", "report", "total"}
    assert done["work"]["site_published"] and (root / "site" / "index.html").is_file()
    # the broken links of the datasets harvested for the first time are newly broken links too
    with Store(root / "catalog.duckdb", read_only=True) as store:
        failing = store.query("SELECT count(*) AS n FROM resource_files WHERE status NOT IN ('ok', 'not_modified')")
    assert failing[0]["n"] >= 1 and len(done["changes"]["newly_broken_links"]) == failing[0]["n"]
    with Store(root / "catalog.duckdb", read_only=True) as store:
        named = store.query("SELECT r.name, f.status FROM resource_files f JOIN resources r ON r.catalog_id = "
                            "f.catalog_id AND r.remote_id = f.resource_id WHERE f.status NOT IN ('ok', 'not_modified')")
    # each says the resource's name, not its id (issue 14: no resource UUIDs for organizers)
    assert sorted(e.split(": ", 1)[1] for e in done["changes"]["newly_broken_links"]) == sorted(
        f"{r['name']}: {r['status']}" for r in named)
    before = files(root)
    portal.clear_requests()

    second = run_cli("nightly", config=config)
    assert second.exit_code == 0, second.output
    assert "Work: 0 downloaded" in second.stdout and "0 tables validated, 0 files profiled" in second.stdout
    assert "Packs rebuilt: 0" in second.stdout and "New datasets: 0" in second.stdout
    assert "site unchanged" in second.stdout
    with Store(root / "catalog.duckdb", read_only=True) as store:
        (broken,) = [r["url"] for r in store.query("SELECT url FROM resource_files WHERE status = 'html_page'")]
        (fine,) = store.query("SELECT count(*) AS n FROM resource_files WHERE status IN ('ok', 'not_modified')")
    # every link was checked minutes ago: none is due, so no file is asked for, not even conditionally; the one
    # broken link (an HTML page behind a CSV link) included
    assert portal.file_requests() == []
    assert "1 broken links not due for a re-check" in second.stdout
    assert f"{fine['n']} unchanged files not due yet" in second.stdout and fine["n"] > 80
    assert len(portal.requests()) <= 6  # at most 3 API requests per catalog
    assert files(root) == before  # nothing rewritten: store aside, not a pack, not a page of the site
    assert len(list((root / "runs").glob("*.json"))) == 2

    portal.clear_requests()
    with clock.shifted(timedelta(hours=21)):  # the next night: each file due, asked for conditionally
        third = run_cli("nightly", config=config)
    assert third.exit_code == 0, third.output
    assert "Work: 0 downloaded" in third.stdout and "0 tables validated, 0 files profiled" in third.stdout
    asked = [r for r in portal.file_requests() if not broken.endswith(r.path)]
    assert {r.status for r in asked} == {304} and len(asked) == fine["n"]  # none sent again
    assert "0 unchanged files not due yet" in third.stdout and "0 broken links not due" in third.stdout


def test_max_duration_ends_a_nightly_on_time_and_the_next_one_continues(portal, make_config, run_cli):
    """With --max-duration nothing is started after it; the packs and the site are still built from what
    was done, and the next run downloads what was left, and nothing twice."""
    # files 0.02 s apart (one at a time, the default): the ~70 take over 1.4 s, so the deadline passes
    # during the fetch however fast the machine (without the delay a quiet CI machine fetched them all)
    config = nightly_config(make_config, "cdmx", fetch="delay = 0.02\n")
    root = load_settings(config, env={}).paths.root
    first = run_cli("nightly", "--json", "--max-duration", "0.5", config=config)
    done = json.loads(first.stdout)
    # the deadline passed during the fetch: nothing validated, so a pack has no table yet (said, exit 3)
    assert first.exit_code == 3, first.output
    assert [(f["stage"], "no accepted dataset has a validated table" in f["reason"]) for f in done["failures"]] \
        == [("packs", True)]
    work = done["work"]
    assert work["left_for_next_run"] > 20 and work["validated_tables"] == work["profiled_files"] == 0, first.stdout
    assert work["site_published"] and (root / "site" / "index.html").is_file()
    downloaded = {r.path for r in portal.file_requests() if r.status == 200}
    portal.clear_requests()
    second = run_cli("nightly", "--json", config=config)
    assert second.exit_code == 0, second.output
    rest = json.loads(second.stdout)["work"]
    assert "left_for_next_run" not in rest and rest["validated_tables"] > 40
    again = {r.path for r in portal.file_requests()}
    assert not again & downloaded  # what the first run recorded is not due yet
    with Store(root / "catalog.duckdb", read_only=True) as store:
        (unchecked,) = store.query("SELECT count(*) AS n FROM resources r WHERE NOT EXISTS (SELECT 1 FROM "
                                   "resource_files f WHERE f.resource_id = r.remote_id AND f.catalog_id = r.catalog_id)"
                                   " AND r.url IS NOT NULL AND r.deleted_at IS NULL")
    assert unchecked["n"] == 0


def test_max_duration_must_be_a_duration(portal, make_config, run_cli):
    config = nightly_config(make_config, "cdmx")
    for bad in ("0", "-5", "soon", "2d"):
        result = run_cli("nightly", "--max-duration", bad, config=config)
        assert result.exit_code == 2 and "expected a duration above 0 like 90, 45m or 2h" in result.output, bad
    assert portal.requests() == []


def test_a_broken_link_is_checked_again_when_due(portal, make_config, run_cli):
    config = nightly_config(make_config, "cdmx")
    root = load_settings(config, env={}).paths.root
    assert run_cli("nightly", config=config).exit_code == 0
    with Store(root / "catalog.duckdb", read_only=True) as store:
        (broken,) = [r["url"] for r in store.query("SELECT url FROM resource_files WHERE status = 'html_page'")]

    def asked(url: str) -> bool:
        return any(url.endswith(r.path) for r in portal.file_requests())

    def nightly_at(hours: int):
        """A nightly run `hours` after the first one, as if nights had passed."""
        portal.clear_requests()
        with clock.shifted(timedelta(hours=hours)):
            return run_cli("nightly", config=config)

    result = nightly_at(21)  # last night's check, broken since then: due again
    assert "0 broken links not due" in result.stdout and asked(broken)

    assert nightly_at(24 * 12).exit_code == 0 and asked(broken)  # broken for 12 days when checked
    result = nightly_at(24 * 15)  # broken for 12 days, checked 3 days ago: waits up to 12 days (cap 7)
    assert "1 broken links not due" in result.stdout and not asked(broken)

    result = nightly_at(24 * 20)  # checked 8 days ago: a week is the longest wait
    assert result.exit_code == 0 and asked(broken)


def test_one_failing_catalog_is_reported_and_the_others_complete(portal, make_config, run_cli):
    config = nightly_config(make_config, "cdmx", "veracruz",
                            veracruz={"api_url": "http://127.0.0.1:9/api/3/action/", "retries": 0})
    result = run_cli("nightly", "--json", "cdmx", "veracruz", config=config)
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "partial" and summary["work"]["failed_catalogs"] == ["veracruz"]
    assert [f["what"] for f in summary["failures"]] == ["veracruz"]
    assert summary["work"]["downloaded"] > 40
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        fetched = {r["catalog_id"] for r in store.query("SELECT DISTINCT catalog_id FROM resource_files")}
    assert fetched == {"cdmx"}


def test_nothing_to_harvest_is_a_total_failure(portal, make_config, run_cli):
    config = nightly_config(make_config, "cdmx", cdmx={"api_url": "http://127.0.0.1:9/api/3/action/", "retries": 0})
    result = run_cli("nightly", config=config)
    assert result.exit_code == 4 and "failed (exit 4)" in result.stdout and "FAILED harvest cdmx" in result.stdout


def test_a_second_instance_exits_at_once_and_touches_nothing(portal, make_config, run_cli):
    config = nightly_config(make_config, "cdmx")
    root = load_settings(config, env={}).paths.root
    with _Lock(root / ".nightly.lock"):  # a run in progress
        before = sorted(p.name for p in root.iterdir())
        started = time.monotonic()
        result = run_cli("nightly", config=config)
        assert time.monotonic() - started < 5
        assert sorted(p.name for p in root.iterdir()) == before == [".nightly.lock"]
    assert result.exit_code == 5
    assert "another nightly run is in progress (pid" in result.stderr and "nothing was done" in result.stderr
    assert portal.requests() == [] and portal.file_requests() == []


def test_killed_mid_run_the_next_run_completes_the_work(portal, make_config, run_cli):
    config = nightly_config(make_config, "cdmx")
    child = subprocess.Popen([sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "nightly"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    root = load_settings(config, env={}).paths.root
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((root / "raw").rglob("*.csv")):
        time.sleep(0.05)  # wait until the run is fetching files
    time.sleep(0.5)
    assert child.poll() is None, "the nightly finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)

    result = run_cli("nightly", "--json", config=config)
    assert result.exit_code == 0, result.output
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        resources = store.query("SELECT count(*) AS n FROM resources WHERE catalog_id = 'cdmx'")[0]["n"]
        fetched = store.query("SELECT count(*) AS n, count(DISTINCT resource_id) AS d FROM resource_files")[0]
        unvalidated = store.query(
            "SELECT count(*) AS n FROM resource_files f WHERE f.sniffed_format IN ('CSV', 'TSV') AND f.status IN "
            "('ok', 'not_modified') AND NOT EXISTS (SELECT 1 FROM validations v WHERE v.resource_id = f.resource_id "
            "AND v.sha256 = f.sha256)")[0]["n"]
    assert fetched["n"] == fetched["d"] == resources  # every resource once, no duplicates
    assert unvalidated == 0
    assert not list(root.rglob("*.part")) and not list((root / "packs").glob("*/.build-*"))
    assert all((root / "packs" / theme / "latest" / "datapackage.json").is_file()
               for theme in ("care-economy", "mobility-and-women"))
    # the site is whole: every page its manifest names, no build folder left behind
    site = (root / "site").resolve()
    manifest = [line.split("  ", 1)[1] for line in (site / "MANIFEST").read_text().splitlines()]
    assert manifest and all((site / path).is_file() for path in manifest)
    assert not list((root / ".site").glob(".build-*"))


def test_runs_started_within_one_second_keep_their_own_summaries(tmp_path: Path):
    from datetime import datetime

    from harvester.config import Settings
    from harvester.nightly import NightlySummary, _write_summary
    from harvester.paths import DataPaths
    settings = Settings(source=None, paths=DataPaths(tmp_path))
    for started in (datetime(2026, 11, 23, 10, 51, 51, 100000), datetime(2026, 11, 23, 10, 51, 51, 900000)):
        _write_summary(settings, started, NightlySummary(started_at=started.isoformat(timespec="milliseconds") + "Z"))
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["20261123T105151.100Z.json",
                                                                      "20261123T105151.900Z.json"]


def test_with_no_catalogs_toml_harvest_and_nightly_are_one_line_errors(tmp_path, monkeypatch, run_cli):
    """Before, `harvester harvest` in a folder with no catalogs.toml made an empty store and said nothing."""
    monkeypatch.chdir(tmp_path)
    for command in ("harvest", "nightly"):
        result = run_cli(command)
        assert result.exit_code == 1, result.output  # a bad configuration
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "no catalogs.toml in" in lines[0] and "--config" in lines[0], lines
    assert list(tmp_path.iterdir()) == []  # no store, no data folder
    empty = tmp_path / "vacio.toml"
    empty.write_text("[harvester]\ndata_dir = \"datos\"\n", encoding="utf-8")
    result = run_cli("harvest", config=empty)
    assert result.exit_code == 1 and "no catalogs configured" in result.stderr
    assert not (tmp_path / "datos").exists()
