"""Fetch is concurrent across hosts and polite to each (issue 12): one queue per host, at most `per_host`
connections to it, its delay between requests, robots.txt (RFC 9309) and Retry-After honoured, and the
results written in batches by one thread. Every host is a real HTTP server on its own loopback address
(bench/bench_fetch.py's FileHost on 127.0.0.2, 127.0.0.3, ...), which logs and counts what it serves."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bench.bench_fetch import FileHost
from harvester.config import load_settings
from harvester.errors import ConfigError
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.store import Store

ADDRESSES = [f"127.0.0.{i}" for i in range(2, 8)]
DATASET = "cortesia"


def setup(portal, make_config, urls: list[str], fetch_keys: str = "", data: Path | None = None) -> Path:
    """One dataset on the sandbox whose resources r000, r001, ... are these URLs (in this order)."""
    portal.add("veracruz", {"name": DATASET, "title": "Cortesía", "resources": [
        {"id": f"r{i:03d}", "name": f"r{i}", "format": "CSV", "url": url} for i, url in enumerate(urls)]})
    config = make_config("veracruz", data_dir=data)
    allow = ", ".join(f'"{a}"' for a in ADDRESSES)
    timeout = "" if fetch_keys.startswith("timeout") else "timeout = 5\n"
    config.write_text(config.read_text() + f"\n[fetch]\nallow_hosts = [{allow}]\n{timeout}{fetch_keys}\n",
                      encoding="utf-8")
    assert harvest(load_settings(config, env={}), ["veracruz"])[0].status == "ok"
    return config


def results(config: Path) -> dict[str, dict[str, Any]]:
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        return {r["resource_id"]: r for r in store.query("SELECT * FROM resource_files")}


def run(config: Path):
    return fetch(load_settings(config, env={}), datasets=[DATASET])


def test_a_slow_host_never_holds_back_a_fast_one(portal, make_config):
    with FileHost(ADDRESSES[0], latency=0.5) as slow, FileHost(ADDRESSES[1]) as fast:
        urls = [u for i in range(4) for u in (slow.url(f"/lento/{i}.csv"), fast.url(f"/rapido/{i}.csv"),
                                             fast.url(f"/rapido/{i}b.csv"))]
        config = setup(portal, make_config, urls, "workers = 4")
        started = time.monotonic()
        summary = run(config)
        seconds = time.monotonic() - started
    assert summary.by_status == {"ok": 12}
    slow_ends = sorted(s.end for s in slow.files())
    fast_ends = sorted(s.end for s in fast.files())
    assert len(slow_ends) == 4 and len(fast_ends) == 8
    # all eight fast files are done while the slow host is still on its first or second file
    assert fast_ends[-1] < slow_ends[1], (fast_ends, slow_ends)
    assert seconds < 4 * 0.5 + 1.5, seconds  # the run is as long as the slow host, not slow + fast
    assert slow.most_at_once == 1 and fast.most_at_once == 1


def test_never_more_connections_to_a_host_than_per_host(portal, make_config):
    hosts = [FileHost(a, latency=0.15) for a in ADDRESSES[:3]]
    for host in hosts:
        host.__enter__()
    try:
        urls = [h.url(f"/f/{i}.csv") for i in range(6) for h in hosts]
        config = setup(portal, make_config, urls, f'workers = 8\n\n[fetch.hosts."{ADDRESSES[2]}"]\nper_host = 3\n')
        started = time.monotonic()
        summary = run(config)
        seconds = time.monotonic() - started
    finally:
        for host in hosts:
            host.__exit__()
    assert summary.by_status == {"ok": 18}
    assert [h.most_at_once for h in hosts] == [1, 1, 3]
    assert seconds < 18 * 0.15 * 0.75, seconds  # the hosts were fetched side by side, not one after another


ROBOTS = """# the portal's rules
User-agent: *
Disallow: /privado/

User-agent: otro-robot
Disallow: /
"""


def test_robots_disallow_is_refused_with_its_reason_and_read_once(portal, make_config):
    with FileHost(ADDRESSES[0], robots=ROBOTS) as host:
        urls = [host.url("/publico/a.csv"), host.url("/privado/b.csv"), host.url("/publico/c.csv"),
                host.url("/privado/d.csv")]
        config = setup(portal, make_config, urls)
        run(config)
        second = run(config)
    rows = results(config)
    assert [rows[f"r{i:03d}"]["status"] for i in range(4)] == ["not_modified", "refused", "not_modified", "refused"]
    for key in ("r001", "r003"):
        assert rows[key]["reason"] == f"disallowed by {host.base}/robots.txt for datathon-harvester"
        assert rows[key]["path"] is None and rows[key]["first_failure_at"] is not None
    assert not [s for s in host.served if s.path.startswith("/privado/")]  # never asked
    assert [s.path for s in host.served].count("/robots.txt") == 2  # once per run, before any file
    assert host.served[0].path == "/robots.txt" and second.by_status == {"not_modified": 2, "refused": 2}
    assert all(s.user_agent.startswith("datathon-harvester/") and "contact: " in s.user_agent for s in host.served)


@pytest.mark.parametrize("answer, verdict", [(404, "ok"), (403, "ok"), (500, "refused"), (503, "refused"),
                                             (429, "refused")])
def test_robots_unavailable_allows_and_unreachable_disallows_all(portal, make_config, answer, verdict):
    """RFC 9309: a 4xx robots.txt means no rules; a 5xx (or 429) means the whole host is off limits this run."""
    with FileHost(ADDRESSES[0], robots=answer) as host:
        config = setup(portal, make_config, [host.url("/a.csv"), host.url("/b.csv")])
        summary = run(config)
    rows = results(config)
    assert summary.by_status == {verdict: 2}
    if verdict == "refused":
        assert not host.files()
        assert rows["r000"]["reason"].startswith(f"{host.base}/robots.txt answered {answer} ")
        assert "the whole host is disallowed for this run (RFC 9309" in rows["r000"]["reason"]
    else:
        assert len(host.files()) == 2


def test_robots_timeout_disallows_the_host_and_others_go_on(portal, make_config):
    with FileHost(ADDRESSES[0]) as good:
        # a listening socket that never answers: robots.txt times out
        import socket
        silent = socket.socket()
        silent.bind((ADDRESSES[1], 0))
        silent.listen(8)
        try:
            hung = f"http://{ADDRESSES[1]}:{silent.getsockname()[1]}"
            config = setup(portal, make_config, [f"{hung}/a.csv", good.url("/b.csv")], "timeout = 1")
            started = time.monotonic()
            summary = run(config)
            seconds = time.monotonic() - started
        finally:
            silent.close()
    rows = results(config)
    assert rows["r000"]["status"] == "timeout" and f"{hung}/robots.txt" in rows["r000"]["reason"]
    assert "RFC 9309" in rows["r000"]["reason"] and rows["r001"]["status"] == "ok"
    assert summary.by_status == {"timeout": 1, "ok": 1} and seconds < 8


def test_crawl_delay_and_host_delay_are_respected(portal, make_config):
    with FileHost(ADDRESSES[0], robots="User-agent: *\nCrawl-delay: 0.6\n") as crawl, \
            FileHost(ADDRESSES[1]) as configured, FileHost(ADDRESSES[2]) as free:
        urls = [u for i in range(4) for u in (crawl.url(f"/c/{i}.csv"), configured.url(f"/h/{i}.csv"),
                                             free.url(f"/f/{i}.csv"))]
        config = setup(portal, make_config, urls, f'workers = 4\ndelay = 0\n\n[fetch.hosts."{ADDRESSES[1]}"]\n'
                                                  "delay = 0.4\n")
        summary = run(config)
    assert summary.by_status == {"ok": 12}

    def gaps(host: FileHost) -> list[float]:
        served = sorted(host.served, key=lambda s: s.start)  # robots.txt first, then the files
        return [b.start - a.end for a, b in zip(served, served[1:])]
    assert len(gaps(crawl)) == 4 and min(gaps(crawl)) >= 0.6 - 0.02, gaps(crawl)  # robots.txt counts too
    assert min(gaps(configured)) >= 0.4 - 0.02, gaps(configured)
    assert max(s.end for s in free.files()) < sorted(s.start for s in configured.files())[2]
    assert any("Crawl-delay 0.6 s" in note for note in summary.notes)


def test_a_catalogs_delay_holds_for_the_files_on_its_own_host(portal, make_config):
    """A portal asking for 10 s between requests (datos.gob.mx) asks it of its files too: the delay of a
    catalog whose API is on a host is that host's fetch delay, unless [fetch.hosts] says otherwise."""
    with FileHost(ADDRESSES[0]) as portal_host, FileHost(ADDRESSES[1]) as other:
        urls = [u for i in range(4) for u in (portal_host.url(f"/p/{i}.csv"), other.url(f"/o/{i}.csv"))]
        config = setup(portal, make_config, urls, "workers = 4\ndelay = 0\n")
        own = (f'\n[catalogs.portal-propio]\ntitle = "Su propio portal"\napi_url = "{portal_host.base}/api/3/action/"\n'
               'kind = "ckan"\nenabled = false\ndelay = 0.4\n')
        config.write_text(config.read_text(encoding="utf-8") + own, encoding="utf-8")
        assert run(config).by_status == {"ok": 8}
        served = portal_host.files()
        gaps = [b.start - a.end for a, b in zip(served, served[1:])]
        assert len(gaps) == 3 and min(gaps) >= 0.4 - 0.02, gaps
        others = other.files()
        assert max(b.start - a.end for a, b in zip(others, others[1:])) < 0.3  # the other host is not held
        # a host table says otherwise: its own delay wins
        config.write_text(config.read_text(encoding="utf-8").replace(
            "[catalogs.portal-propio]", f'[fetch.hosts."{ADDRESSES[0]}"]\ndelay = 0\n\n[catalogs.portal-propio]'),
            encoding="utf-8")
        portal_host.served.clear()
        fetch(load_settings(config, env={}), datasets=[DATASET])
        served = portal_host.files()
        assert len(served) == 4 and min(b.start - a.end for a, b in zip(served, served[1:])) < 0.3


def test_retry_after_cools_off_that_host_only(portal, make_config):
    asked: list[str] = []

    def busy_once(path: str) -> tuple[int, str] | None:
        asked.append(path)
        return (429, "1") if path == "/a/0.csv" and asked.count(path) == 1 else None

    with FileHost(ADDRESSES[0], busy=busy_once) as busy, FileHost(ADDRESSES[1], latency=0.05) as other:
        urls = [busy.url("/a/0.csv"), busy.url("/a/1.csv")] + [other.url(f"/b/{i}.csv") for i in range(8)]
        config = setup(portal, make_config, urls, "workers = 4")
        summary = run(config)
    assert summary.by_status == {"ok": 10}
    first, again, after = busy.files()
    assert (first.path, first.status, again.path, again.status) == ("/a/0.csv", 429, "/a/0.csv", 200)
    assert again.start - first.end >= 1.0 - 0.02  # the host was left alone for Retry-After
    assert max(s.end for s in other.files()) - first.end < 1.0  # the other host went on meanwhile
    assert after.path == "/a/1.csv" and results(config)["r000"]["status"] == "ok"


@pytest.mark.parametrize("retry_after, keys, said", [
    ("3600", "", "it asked to wait 3600 s (Retry-After), more than max_wait 300"),
    ("4", "max_run_seconds = 2", "it asked to wait 4 s (Retry-After), past the run's deadline (max_run_seconds 2)")])
def test_a_retry_after_too_long_leaves_that_host_for_the_next_run(portal, make_config, retry_after, keys, said):
    with FileHost(ADDRESSES[0], busy=lambda path: (503, retry_after)) as busy, FileHost(ADDRESSES[1]) as other:
        urls = [busy.url(f"/a/{i}.csv") for i in range(3)] + [other.url(f"/b/{i}.csv") for i in range(3)]
        config = setup(portal, make_config, urls, keys)
        started = time.monotonic()
        summary = run(config)
        seconds = time.monotonic() - started
    rows = results(config)
    assert summary.by_status == {"ok": 3} and summary.deferred == 3 and seconds < 3
    assert sorted(rows) == ["r003", "r004", "r005"]  # the busy host's resources are not recorded at all
    assert [n for n in summary.notes if n.startswith(ADDRESSES[0])] == \
        [f"{ADDRESSES[0]}: 3 resources left for the next run: {said}"]
    assert len(busy.files()) == 1  # asked once, then left alone


def test_the_fetch_command_says_what_it_left_for_the_next_run(portal, make_config, run_cli):
    """`harvester fetch` prints (and --json gives) the resources left for the next run and why."""
    with FileHost(ADDRESSES[0], busy=lambda path: (503, "3600")) as busy, FileHost(ADDRESSES[1]) as other:
        busy_urls = [busy.url(f"/a/{i}.csv") for i in range(2)]
        config = setup(portal, make_config, busy_urls + [other.url("/b/0.csv")])
        shown = run_cli("fetch", "--dataset", DATASET, "--json", config=config)
        assert shown.exit_code == 0, shown.output
        answer = json.loads(shown.stdout)
        assert (answer["by_status"], answer["deferred"]) == ({"ok": 1}, 2)
        assert any(n.startswith(f"{ADDRESSES[0]}: 2 resources left for the next run") for n in answer["notes"])
        table = run_cli("fetch", "--dataset", DATASET, config=config)
    assert "2 resources left for the next run" in table.output and f"{ADDRESSES[0]}: 2 resources" in table.output


def _comparable(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    times = ("checked_at", "changed_at", "last_success_at", "first_failure_at")
    return {key: {k: v for k, v in row.items() if k not in times} for key, row in rows.items()}


def test_results_match_the_sequential_fetch_on_the_sandbox_catalogs(portal, make_config, tmp_path):
    ids = ("cdmx", "federal", "infocdmx", "veracruz", "zapopan", "puebla", "mardelplata")
    outcomes = []
    for name, keys in (("sequential", "workers = 1"), ("pool", "workers = 8\nper_host = 4\nbatch_size = 7")):
        config = make_config(*ids, data_dir=tmp_path / name)
        text = config.read_text() + f'\n[fetch]\nallow_hosts = ["127.0.0.1"]\ntimeout = 5\n{keys}\n'
        config = tmp_path / f"{name}.toml"
        config.write_text(text, encoding="utf-8")
        settings = load_settings(config, env={})
        assert all(r.status == "ok" for r in harvest(settings))
        summary = fetch(settings)
        with Store(settings.paths.database, read_only=True) as store:
            rows = {f"{r['catalog_id']}/{r['dataset_id']}/{r['resource_id']}": r
                    for r in store.query("SELECT * FROM resource_files")}
        files = {str(p.relative_to(settings.paths.root)): p.read_bytes()
                 for p in settings.paths.raw.rglob("*") if p.is_file()}
        outcomes.append((summary.by_status, _comparable(rows), files))
    (seq_status, seq_rows, seq_files), (pool_status, pool_rows, pool_files) = outcomes
    assert sum(seq_status.values()) > 100 and seq_status == pool_status
    assert pool_rows == seq_rows
    assert pool_files == seq_files


def test_a_killed_run_then_rerun_fetches_nothing_twice_that_was_recorded(portal, make_config):
    with FileHost(ADDRESSES[0], latency=0.04) as host:
        urls = [host.url(f"/k/{i:03d}.csv") for i in range(60)]
        config = setup(portal, make_config, urls, "batch_size = 5\nbatch_seconds = 30")
        child = subprocess.Popen([sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "fetch",
                                  "--dataset", DATASET], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env={**os.environ, "HARVESTER_CONFIG": str(config)})
        deadline = time.monotonic() + 60
        while len(host.files()) < 25 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        served_before = {s.path for s in host.files() if s.status == 200}
        recorded = results(config)
        assert 25 <= len(served_before) < 60, len(served_before)
        # a kill loses at most the batch in flight and the one download under way
        assert len(served_before) - 5 - 1 <= len(recorded) <= len(served_before), (len(recorded), len(served_before))
        assert all(r["status"] == "ok" for r in recorded.values())
        first_run = len(host.served)
        summary = run(config)
        again = host.served[first_run:]
    recorded_paths = {"/k/" + Path(r["url"]).name for r in recorded.values()}
    downloaded_again = {s.path for s in again if s.status == 200}
    assert not downloaded_again & recorded_paths  # what was recorded is only asked conditionally: 304
    assert {s.path for s in again if s.status == 304} >= recorded_paths
    assert summary.by_status.get("ok", 0) + summary.by_status.get("not_modified", 0) == 60
    assert len(results(config)) == 60


def test_host_tables_are_checked(tmp_path):
    config = tmp_path / "catalogs.toml"
    config.write_text('[fetch]\nworkers = 2\n\n[fetch.hosts."datos.example.org"]\ndelay = 2\nper_host = 2\n')
    settings = load_settings(config, env={})
    assert settings.fetch.host_limits("datos.example.org") == (2.0, 2)
    assert settings.fetch.host_limits("otro.example.org") == (0.0, 1) and settings.fetch.workers == 2
    for text, error in (
            ('[fetch.hosts."datos.example.org"]\nretraso = 2\n',
             'catalogs.toml: [fetch.hosts."datos.example.org"] retraso: unknown key (known: delay, per_host)'),
            ('[fetch.hosts."datos.example.org"]\nper_host = 0\n',
             'catalogs.toml: [fetch.hosts."datos.example.org"] per_host: expected a whole number above 0, got 0'),
            ('[fetch.hosts."https://datos.example.org/"]\ndelay = 1\n',
             'catalogs.toml: [fetch.hosts."https://datos.example.org/"]: expected a host name as in a URL '
             '(no scheme, port or path)'),
            ("[fetch]\nworkers = 0\n", "catalogs.toml: [fetch] workers: expected a whole number above 0, got 0")):
        config.write_text(text)
        with pytest.raises(ConfigError) as caught:
            load_settings(config, env={})
        assert str(caught.value).endswith(error), str(caught.value)
