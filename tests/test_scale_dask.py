"""Issue 12: validate and profile as Dask distributed tasks (harvester/scale.py) on a real LocalCluster of two
worker processes, against the sandbox: the same store as a run here; a worker killed in mid-task has its task
run again elsewhere, and each result comes back once."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from bench.bench_fetch import FileHost
from conftest import query_store
from harvester.config import load_settings
from harvester.errors import ConfigError
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.scale import ScaleConfig, parse_scale, run_tasks

pytestmark = pytest.mark.timeout(300)

VALIDATIONS = ("SELECT resource_id, part, engine, valid, rows, error_count, errors_by_type, encoding, delimiter, "
               "header_row FROM validations ORDER BY ALL")
COLUMNS = ("SELECT resource_id, part, position, name, type, rows, missing_share, distinct_count, min, max, alerts, "
           "details "
           "FROM column_profiles ORDER BY resource_id, part, position")


def _fetched(make_config, tmp_path: Path, name: str) -> Path:
    config = make_config("cdmx", data_dir=tmp_path / name)
    config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n',
                      encoding="utf-8")
    settings = load_settings(config, env={})
    assert harvest(settings)[0].status == "ok"
    assert fetch(settings).by_status.get("ok", 0) > 20
    return config


def test_validate_and_profile_on_a_local_cluster_store_what_a_run_here_stores(portal, make_config, tmp_path,
                                                                               run_cli):
    here, there = _fetched(make_config, tmp_path, "here"), _fetched(make_config, tmp_path, "cluster")
    for command in ("validate", "profile"):
        assert run_cli(command, config=here).exit_code == 0
        done = run_cli(command, "--dask", "local", config=there)
        assert done.exit_code == 0, done.output
    validations = query_store(here, VALIDATIONS)
    assert len(validations) > 20 and validations == query_store(there, VALIDATIONS)
    columns = query_store(here, COLUMNS)
    assert len(columns) > 100 and columns == query_store(there, COLUMNS)
    # and nothing is recorded twice: one row per (resource, part) and per column
    assert len({(v["resource_id"], v["part"]) for v in query_store(there, VALIDATIONS)}) == len(validations)


def _double_once_killing(item: tuple[int, str]) -> int:
    """A task that kills its worker process the first time it meets item 3 (a marker file remembers)."""
    number, marker = item
    if number == 3 and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        os._exit(1)  # the worker dies in mid-task, as under an OOM kill
    return number * 2


def test_a_worker_killed_in_mid_task_has_its_task_run_again_elsewhere(tmp_path):
    marker = str(tmp_path / "killed-once")
    items = [(n, marker) for n in range(8)]
    results = list(run_tasks(ScaleConfig(dask="local", local_workers=2), _double_once_killing, items))
    assert Path(marker).exists()  # a worker did die
    assert sorted(r for _, r in results) == [n * 2 for n in range(8)]  # every task once, none lost
    assert sorted(i for i, _ in results) == items


def test_run_here_keeps_the_order_and_needs_no_cluster():
    assert list(run_tasks(ScaleConfig(), lambda n: n + 1, [3, 1, 2])) == [(3, 4), (1, 2), (2, 3)]


@pytest.mark.parametrize("table, message", [
    ({"dask": 5}, "[scale] dask: expected an address"),
    ({"dask": ""}, "[scale] dask: expected an address"),
    ({"local_workers": 0}, "[scale] local_workers: expected a whole number of at least 1"),
    ({"workers": 2}, "[scale]: unknown key 'workers'"),
    ("tcp://x", "[scale] must be a table")])
def test_a_wrong_scale_table_is_one_line(table, message):
    with pytest.raises(ConfigError) as caught:
        parse_scale(table, "catalogs.toml")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_unreachable_scheduler_is_one_line_naming_it(portal, make_config, tmp_path, run_cli):
    config = _fetched(make_config, tmp_path, "unreachable")
    done = run_cli("validate", "--dask", "tcp://127.0.0.1:9", config=config)
    assert done.exit_code != 0
    lines = [line for line in done.output.strip().splitlines() if line]
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in lines[-1] and "Traceback" not in done.output


# Fetch as Dask tasks -------------------------------------------------------------------------------------

FILES = "SELECT resource_id, url, status, http_status, path, size, sha256, sniffed_format FROM resource_files ORDER BY ALL"


def test_fetch_on_a_local_cluster_stores_what_a_run_here_stores(portal, make_config, tmp_path, run_cli):
    stores = []
    for name, extra in (("here", ()), ("cluster", ("--dask", "local"))):
        config = make_config("cdmx", data_dir=tmp_path / name)
        config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n',
                          encoding="utf-8")
        assert run_cli("harvest", config=config).exit_code == 0
        done = run_cli("fetch", "--json", *extra, config=config)
        assert done.exit_code == 0, done.output
        stores.append(query_store(config, FILES))
        root = load_settings(config, env={}).paths.root
        assert not [p for p in (root / "raw").rglob("*") if p.name.endswith((".incoming", ".part"))]
    here, cluster = stores
    assert len([r for r in here if r["status"] == "ok"]) > 20
    for row in here + cluster:  # the data folders differ; the paths inside them must not
        row["url"] = row["url"].split("/", 3)[-1]
    assert cluster == here


def _fetch_config(portal, make_config, data: Path, urls: list[str], keys: str) -> Path:
    portal.add("veracruz", {"name": "en-cluster", "title": "En el clúster", "resources": [
        {"id": f"r{i:03d}", "name": f"r{i}", "format": "CSV", "url": url} for i, url in enumerate(urls)]})
    config = make_config("veracruz", data_dir=data)
    config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.2", "127.0.0.3"]\n'
                      f'timeout = 5\n{keys}\n', encoding="utf-8")
    assert harvest(load_settings(config, env={}), ["veracruz"])[0].status == "ok"
    return config


def test_per_host_politeness_holds_across_the_whole_cluster(portal, make_config, tmp_path):
    """Only the driver schedules: with two worker processes downloading, a host still gets one connection at a
    time and its delay between requests."""
    with FileHost("127.0.0.2", latency=0.1) as polite, FileHost("127.0.0.3", latency=0.1) as other:
        urls = [u for i in range(6) for u in (polite.url(f"/p/{i}.csv"), other.url(f"/o/{i}.csv"))]
        config = _fetch_config(portal, make_config, tmp_path / "data", urls,
                               'workers = 8\n\n[fetch.hosts."127.0.0.2"]\ndelay = 0.3\n\n[scale]\ndask = "local"\n')
        summary = fetch(load_settings(config, env={}), datasets=["en-cluster"])
    assert summary.by_status == {"ok": 12}
    assert polite.most_at_once == 1 and other.most_at_once == 1
    served = polite.files()
    gaps = [later.start - earlier.end for earlier, later in zip(served, served[1:])]
    assert len(served) == 6 and min(gaps) >= 0.3 - 0.01, gaps
    agents = {s.user_agent for s in served + other.files()}
    assert len(agents) == 1 and "contact: " in agents.pop()  # the workers speak as the product too


def test_a_worker_killed_in_mid_download_loses_nothing(portal, make_config, tmp_path):
    """A download task whose worker dies is run again on another worker: every file fetched and recorded
    once, no half-written file left."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client, \
            FileHost("127.0.0.2", latency=0.4) as first, FileHost("127.0.0.3", latency=0.4) as second:
        urls = [u for i in range(6) for u in (first.url(f"/a/{i}.csv"), second.url(f"/b/{i}.csv"))]
        config = _fetch_config(portal, make_config, tmp_path / "data", urls,
                               f'\n[scale]\ndask = "{cluster.scheduler_address}"\n')
        settings = load_settings(config, env={})
        killed: list[int] = []

        def kill_a_busy_worker() -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not killed:
                busy = [worker for worker, keys in client.processing().items() if keys]
                if busy and len(first.files()) + len(second.files()) >= 2:
                    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        summary = fetch(settings, datasets=["en-cluster"])
        killer.join()
    assert killed, "no worker was killed while downloading"
    assert summary.total == 12 and summary.by_status == {"ok": 12} and summary.deferred == 0
    rows = query_store(config, FILES)
    assert len(rows) == 12 and {r["status"] for r in rows} == {"ok"}
    for row in rows:
        path = settings.paths.root / row["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
    assert not [p for p in settings.paths.raw.rglob("*") if p.name.endswith((".incoming", ".part"))]


def test_a_nightly_on_a_local_cluster_stores_what_a_nightly_here_stores(portal, make_config, tmp_path, run_cli):
    """Fetch, validate and profile of the nightly on one LocalCluster (shared by the three stages)."""
    stored = []
    for name, extra in (("here", ()), ("cluster", ("--dask", "local"))):
        config = make_config("cdmx", data_dir=tmp_path / name)
        config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n',
                          encoding="utf-8")
        done = run_cli("nightly", "--json", *extra, config=config)
        assert done.exit_code == 0, done.output
        stored.append([query_store(config, sql) for sql in (FILES, VALIDATIONS, COLUMNS)])
    for row in stored[0][0] + stored[1][0]:
        row["url"] = row["url"].split("/", 3)[-1]
    assert len(stored[0][1]) > 20 and stored[1] == stored[0]


def test_a_nightly_whose_scheduler_is_unreachable_reports_the_stage_that_needed_it(portal, make_config, run_cli):
    """The files were fetched by hand; the nightly finds none due, so its fetch needs no cluster, and its
    validate, which does, fails with the reason while the run goes on to the site."""
    config = make_config("cdmx")
    config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n',
                      encoding="utf-8")
    assert run_cli("harvest", config=config).exit_code == 0 and run_cli("fetch", config=config).exit_code == 0
    result = run_cli("nightly", "--json", "--dask", "tcp://127.0.0.1:9", config=config)
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    failures = {f["stage"]: f["reason"] for f in summary["failures"]}
    assert set(failures) == {"validate"}, failures
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in failures["validate"]
    assert summary["work"]["site_published"]
