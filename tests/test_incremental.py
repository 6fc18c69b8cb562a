"""A nightly run with nothing changed upstream: no downloads, no validation, no profiling, nothing rewritten."""
from __future__ import annotations

from harvester.config import load_settings
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.profile import profile
from harvester.validate import validate


def test_a_second_run_with_no_upstream_change_does_no_work(portal, make_config):
    config = make_config("cdmx")
    config.write_text(config.read_text() + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n', encoding="utf-8")
    settings = load_settings(config, env={})

    def run():
        return harvest(settings, ["cdmx"]), fetch(settings), validate(settings), profile(settings)

    _, fetched, validated, profiled = run()
    assert fetched.by_status.get("ok", 0) > 60 and validated.validated > 40 and profiled.profiled > 40
    written = {p: p.stat().st_mtime_ns for p in settings.paths.root.rglob("*") if p.is_file() and p.suffix != ".duckdb"
               and ".wal" not in p.name}
    portal.clear_requests()

    harvested, fetched, validated, profiled = run()
    files, api = portal.file_requests(), portal.requests()
    assert harvested[0].status == "ok" and len(api) <= 3
    assert files and {r.status for r in files} == {304}  # every file asked for conditionally, none sent
    # every file unchanged; the CSV link that serves an HTML page stays html_page (same page, 304)
    assert set(fetched.by_status) == {"not_modified", "html_page"} and fetched.by_status["html_page"] == 1
    assert (validated.validated, profiled.profiled) == (0, 0)
    assert validated.unchanged > 40 and profiled.unchanged > 40
    assert {p: p.stat().st_mtime_ns for p in written} == written  # no file rewritten
