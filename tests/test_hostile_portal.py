"""A portal that attacks its client, served by the sandbox on loopback: every attack ends in that catalog
recorded as failed with a one-line reason, bounded in time and memory, while the good catalog of the same
run is harvested (issue 15, "Hangs and memory blow-ups" and "One hostile input takes the whole night down")."""
from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import peak
from harvester.config import load_settings
from harvester.harvest import harvest
from harvester.store import Store

GOOD, BAD = "infocdmx", "veracruz"
ENVELOPE = '{"help": "", "success": true, "result": '


def _config(make_config, **bad):
    return make_config(GOOD, BAD, veracruz=bad)


def _outcome(results):
    by_id = {r.catalog_id: r for r in results}
    assert by_id[GOOD].status == "ok" and by_id[GOOD].added > 0, by_id[GOOD]
    bad = by_id[BAD]
    assert bad.status == "failed" and bad.error and "\n" not in bad.error, bad
    return bad


@pytest.mark.parametrize("name, faults, settings, reason", [
    ("trickle", {"trickle": 0.5}, {"timeout": 2, "max_answer_seconds": 3}, "max_answer_seconds 3"),
    ("stalls mid-answer", {"trickle": 3.0}, {"timeout": 1, "max_answer_seconds": 60}, "no answer from "),
    ("count is a word", {"raw_body": ENVELOPE + '{"count": "lots", "results": []}}'}, {},
     "gave count 'lots', not a number of datasets"),
    ("nested too deeply", {"raw_body": ENVELOPE + '{"count": 1, "results": [' + "[" * 100_000 + "]" * 100_000 + "]}}"},
     {}, "nested too deeply"),
    ("endless answer", {"endless": True}, {"max_answer_bytes": 20_000_000}, "max_answer_bytes 20000000"),
    ("gzip bomb", {"gzip_bomb_bytes": 1 << 30}, {"max_answer_bytes": 20_000_000}, "max_answer_bytes 20000000"),
])
def test_a_hostile_api_answer_fails_that_catalog_alone(portal, make_config, name, faults, settings, reason):
    for key, value in faults.items():
        setattr(portal.faults(BAD), key, value)
    started = time.monotonic()
    results = harvest(load_settings(_config(make_config, **settings), env={}))
    seconds = time.monotonic() - started
    bad = _outcome(results)
    assert reason in bad.error, bad.error
    assert seconds < 20, seconds
    if name == "made-up count, same page":
        assert bad.requests <= 8, bad.requests  # 6 datasets, 2 a page: it stops where the pages repeat


def test_a_lone_surrogate_in_an_answer_is_marked_not_fatal(portal, make_config):
    dataset = {"id": "surrogate-1", "name": "sustituto", "title": "T\\ud800tulo", "metadata_modified":
               "2024-01-01T00:00:00", "resources": [], "tags": [{"name": "\\udfff"}]}
    portal.faults(BAD).raw_body = ENVELOPE + json.dumps({"count": 1, "results": [dataset]}).replace("\\\\u", "\\u") + "}"
    config = _config(make_config)
    results = {r.catalog_id: r for r in harvest(load_settings(config, env={}))}
    assert results[GOOD].status == "ok" and results[GOOD].added > 0
    assert results[BAD].status == "ok" and results[BAD].added == 1, results[BAD]
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        rows = store.query("SELECT title, tags FROM datasets WHERE remote_id = 'surrogate-1'")
    # the broken characters are marked with U+FFFD, the rest of the value kept: not null, not dropped
    assert rows == [{"title": "T\ufffdtulo", "tags": ["\ufffd"]}]


class _Canary(BaseHTTPRequestHandler):
    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        self.asked.append(self.path)
        body = json.dumps({"success": True, "result": {"count": 0, "results": []}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_an_api_redirect_to_another_host_is_not_followed(portal, make_config):
    canary = ThreadingHTTPServer(("127.0.0.2", 0), _Canary)
    threading.Thread(target=canary.serve_forever, daemon=True).start()
    try:
        portal.faults(BAD).redirect_to = f"http://127.0.0.2:{canary.server_address[1]}/api/3/action/package_search"
        bad = _outcome(harvest(load_settings(_config(make_config), env={})))
    finally:
        canary.shutdown()
    assert "another host, not followed" in bad.error and "127.0.0.2" in bad.error
    assert _Canary.asked == []


def test_a_gzip_bomb_answer_stays_within_memory(portal, make_config):
    """In a process of its own (bench/peak.py), so its peak memory is its own: a 1 GB gzip bomb with the
    default cap."""
    portal.faults(BAD).gzip_bomb_bytes = 1 << 30
    config = _config(make_config)
    child = peak.run([sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "harvest"], timeout=300)
    assert child.returncode == 3, child.stderr[-2000:]  # some catalogs failed
    assert "max_answer_bytes 100000000" in child.stderr
    assert child.peak_mb < 700, child.peak_mb


def test_a_trickled_file_stops_at_max_seconds(portal, make_config):
    """A byte every 0.2 s never trips a read timeout; the download's own deadline must stop it."""
    from harvester.fetch import fetch
    base = portal.base_url.replace("127.0.0.1", "localhost")
    portal.add(BAD, {"name": "goteo", "title": "Goteo", "resources": [
        {"id": "trickle", "name": "trickle", "format": "CSV", "url": f"{base}/hostile/trickle.csv"}]})
    config = make_config(BAD)
    config.write_text(config.read_text() + '\n[fetch]\nallow_hosts = ["localhost"]\ntimeout = 2\nmax_seconds = 3\n',
                      encoding="utf-8")
    settings = load_settings(config, env={})
    assert harvest(settings)[0].status == "ok"
    started = time.monotonic()
    summary = fetch(settings, datasets=["goteo"])
    assert time.monotonic() - started < 15
    with Store(settings.paths.database, read_only=True) as store:
        row = store.query("SELECT status, reason FROM resource_files WHERE resource_id = 'trickle'")[0]
    assert (row["status"], row["reason"]) == ("timeout", "download took over 3 s") and summary.total == 1


@pytest.mark.parametrize("fault, said, received", [
    ("ignore_start", "gave 6 datasets but the window holds 1000000000000000", 6),
    ("same_page", "the portal repeats its pages", 2)])
def test_pages_that_repeat_stop_the_listing_and_keep_what_was_received(portal, make_config, fault, said, received):
    """A made-up count with `start` ignored was paged forever (3,825 requests in 15 s). Keyset paging does
    not need `start` (it gets all 6 datasets, then the count is found made up); a portal answering the
    very same page to every request stops at the first page that adds nothing. Either way the datasets
    received are kept (the run is partial, the window stays)."""
    faults = portal.faults(BAD)
    faults.count, faults.rows_max = 10 ** 15, 2
    setattr(faults, fault, True)
    config = _config(make_config, rows=2)
    started = time.monotonic()
    by_id = {r.catalog_id: r for r in harvest(load_settings(config, env={}))}
    assert time.monotonic() - started < 20
    assert by_id[GOOD].status == "ok"
    bad = by_id[BAD]
    assert bad.status == "partial" and said in bad.error and "\n" not in bad.error
    assert portal.api_url(BAD) in bad.error
    assert bad.requests <= 8 and bad.added == received and len(portal.datasets(BAD)) == 6, bad
