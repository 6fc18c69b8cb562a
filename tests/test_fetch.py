"""The fetch stage: link statuses, conditional requests and every safety refusal, over real HTTP."""
from __future__ import annotations

import gzip
import hashlib
import io
import threading
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from harvester import clock
from harvester.config import load_settings
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.store import Store

CSV = "alcaldia,victimas\nCuauhtémoc,12\nIztapalapa,30\n".encode()


def setup(portal, make_config, httpserver: HTTPServer, resources: list[tuple[str, str, str]],
          fetch_config: str = 'allow_hosts = ["localhost", "127.0.0.1"]') -> Path:
    """One dataset on the sandbox whose resources (name, format, path on httpserver) are served there."""
    portal.add("veracruz", {"name": "prueba-recursos", "title": "Prueba de recursos", "resources": [
        {"id": f"res-{i}", "name": name, "format": fmt,
         "url": path if "://" in path else httpserver.url_for(path)} for i, (name, fmt, path) in enumerate(resources)]})
    config = make_config("veracruz")
    config.write_text(config.read_text() + f"\n[fetch]\nmax_member_bytes = 5000000\nmax_ratio = 50\n"
                                           f"timeout = 1\nmax_bytes = 1000000\n{fetch_config}\n")
    assert harvest(load_settings(config, env={}), ["veracruz"])[0].status == "ok"
    return config


def results(config: Path) -> dict[str, dict[str, Any]]:
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        return {r["resource_id"]: r for r in store.query("SELECT * FROM resource_files")}


def run(config: Path) -> dict[str, dict[str, Any]]:
    fetch(load_settings(config, env={}), datasets=["prueba-recursos"])
    return results(config)


def test_ok_then_not_modified_with_etag(portal, make_config, httpserver):
    httpserver.expect_request("/victimas.csv", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304, headers={"ETag": '"v1"'})
    httpserver.expect_request("/victimas.csv").respond_with_data(CSV, content_type="text/csv", headers={"ETag": '"v1"'})
    config = setup(portal, make_config, httpserver, [("Víctimas", "CSV", "/victimas.csv")])
    first = run(config)["res-0"]
    assert first["status"] == "ok" and first["size"] == len(CSV)
    assert first["sha256"] == hashlib.sha256(CSV).hexdigest() and first["sniffed_format"] == "CSV"
    path = load_settings(config, env={}).paths.root / first["path"]
    assert path.read_bytes() == CSV and path.name == "res-0.csv"
    assert path.parent.name == "prueba-recursos" and path.parent.parent.name == "veracruz"
    mtime = path.stat().st_mtime_ns
    second = run(config)["res-0"]
    assert second["status"] == "not_modified" and second["sha256"] == first["sha256"]
    assert path.stat().st_mtime_ns == mtime
    assert second["last_success_at"] > first["last_success_at"]


@pytest.mark.parametrize("status, verdict", [(404, "not_found"), (410, "not_found"), (500, "server_error"),
                                             (503, "server_error"), (403, "http_error")])
def test_http_failures_get_a_link_status(portal, make_config, httpserver, status, verdict):
    httpserver.expect_request("/f.csv").respond_with_data("no", status=status)
    config = setup(portal, make_config, httpserver, [("F", "CSV", "/f.csv")])
    row = run(config)["res-0"]
    assert row["status"] == verdict and row["http_status"] == status and str(status) in row["reason"]
    assert row["first_failure_at"] is not None and row["last_success_at"] is None and row["path"] is None


def test_failure_after_success_keeps_the_good_file_and_dates(portal, make_config, httpserver):
    httpserver.expect_ordered_request("/f.csv").respond_with_data(CSV)
    httpserver.expect_ordered_request("/f.csv").respond_with_data("caído", status=502)
    config = setup(portal, make_config, httpserver, [("F", "CSV", "/f.csv")])
    good = run(config)["res-0"]
    bad = run(config)["res-0"]
    assert bad["status"] == "server_error" and bad["sha256"] == good["sha256"]
    assert bad["last_success_at"] == good["last_success_at"] and bad["first_failure_at"] > good["last_success_at"]
    assert (load_settings(config, env={}).paths.root / good["path"]).read_bytes() == CSV


def nightly_fetch(config: Path, hours: float, **options: Any) -> tuple[int, int, int]:
    """A fetch as the nightly runs it (`backoff`: only what is due), `hours` from now: how many resources
    it asked, how many broken links and how many unchanged files were not due."""
    with clock.shifted(timedelta(hours=hours)):
        summary = fetch(load_settings(config, env={}), datasets=["prueba-recursos"], backoff=True, **options)
    return summary.total, summary.backed_off, summary.not_due


def test_a_failing_link_waits_as_long_as_it_has_been_failing(portal, make_config, httpserver):
    """With `backoff` (the nightly job) a link failing at the same URL is asked again only when due: after
    at least 20 hours, then after as long as it had been failing, at most a week. The clock is moved, not
    the stored rows. (The good file beside it rests on its own schedule, the next test's.)"""
    httpserver.expect_request("/roto.csv").respond_with_data("no", status=404)
    httpserver.expect_request("/bueno.csv").respond_with_data(CSV, content_type="text/csv")
    config = setup(portal, make_config, httpserver, [("Roto", "CSV", "/roto.csv"), ("Bueno", "CSV", "/bueno.csv")])

    def broken_asked(hours: float) -> bool:
        asked, broken_waiting, _ = nightly_fetch(config, hours)
        assert asked + broken_waiting + _ == 2
        return not broken_waiting

    assert nightly_fetch(config, 0) == (2, 0, 0)
    assert not broken_asked(19)  # broken last night: not due for 20 hours
    assert broken_asked(21)  # due; it has now been failing for 21 hours
    assert not broken_asked(21 + 20)
    assert broken_asked(21 + 22)  # failing for 43 hours now
    assert broken_asked(212)  # failing for 212 hours, more than a week
    assert not broken_asked(212 + 24 * 7 - 1)
    assert broken_asked(212 + 24 * 7 + 1)  # never more than a week, however long it has been failing
    failing = results(config)["res-0"]
    assert failing["status"] == "not_found" and failing["checked_at"] - failing["first_failure_at"] > timedelta(days=8)
    assert fetch(load_settings(config, env={}), datasets=["prueba-recursos"]).total == 2  # without backoff: all


def test_an_unchanged_file_is_asked_less_often_the_longer_it_stays_unchanged(portal, make_config, httpserver):
    """A file fine and unchanged when last checked is asked again after a quarter of the time it has been
    unchanged (at least 20 hours, at most a week); a changed dataset or URL is asked at once."""
    httpserver.expect_request("/v.csv", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304, headers={"ETag": '"v1"'})
    httpserver.expect_request("/v.csv").respond_with_data(CSV, content_type="text/csv", headers={"ETag": '"v1"'})
    httpserver.expect_request("/w.csv").respond_with_data(CSV + b"Tlalpan,4\n", content_type="text/csv")
    config = setup(portal, make_config, httpserver, [("Víctimas", "CSV", "/v.csv")])
    asked, resting = (1, 0, 0), (0, 0, 1)
    assert nightly_fetch(config, 0) == asked
    first = results(config)["res-0"]
    assert nightly_fetch(config, 19) == resting  # checked last night
    assert nightly_fetch(config, 21) == asked  # unchanged for 21 hours: due after 20
    assert results(config)["res-0"]["status"] == "not_modified"
    assert nightly_fetch(config, 21 + 19) == resting
    assert nightly_fetch(config, 24 * 8) == asked  # unchanged for 8 days when checked: waits 2 days
    assert nightly_fetch(config, 24 * 10 - 1) == resting
    assert nightly_fetch(config, 24 * 10 + 1) == asked  # unchanged for 10 days: waits 2.5 days
    assert nightly_fetch(config, 24 * 12.5 - 1) == resting
    assert nightly_fetch(config, 24 * 40) == asked  # unchanged for 40 days: a week, the longest wait
    assert nightly_fetch(config, 24 * 47 - 1) == resting
    assert nightly_fetch(config, 24 * 47 + 1) == asked
    row = results(config)["res-0"]
    assert row["changed_at"] == first["changed_at"] and row["sha256"] == first["sha256"]  # never changed
    assert fetch(load_settings(config, env={}), datasets=["prueba-recursos"]).total == 1  # without backoff: asked

    # the publisher edits the dataset: harvested, its file is asked at once, however long it rested
    portal.touch("veracruz", "prueba-recursos", title="Prueba de recursos (corregida)")
    with clock.shifted(timedelta(hours=24 * 47 + 2)):
        assert harvest(load_settings(config, env={}), ["veracruz"], full=True)[0].updated == 1
    assert nightly_fetch(config, 24 * 47 + 3) == asked
    assert nightly_fetch(config, 24 * 47 + 4) == resting
    # a new URL: asked at once, and its new file is a change
    dataset = portal.datasets("veracruz")[-1]
    portal.touch("veracruz", "prueba-recursos", resources=[{**dataset["resources"][0],
                                                            "url": httpserver.url_for("/w.csv")}])
    with clock.shifted(timedelta(hours=24 * 47 + 5)):
        assert harvest(load_settings(config, env={}), ["veracruz"], full=True)[0].updated == 1
    assert nightly_fetch(config, 24 * 47 + 6) == asked
    moved = results(config)["res-0"]
    assert moved["status"] == "ok" and moved["changed_at"] > row["changed_at"] and moved["sha256"] != row["sha256"]


def test_a_run_ended_by_its_deadline_is_continued_by_the_next_oldest_first(portal, make_config, httpserver):
    """`max_seconds` (--max-duration) ends a run on time; the next run asks the resources left, never
    checked first, then the oldest checks; nothing recorded is asked again before it is due."""
    def slow(request: Any) -> Response:
        time.sleep(0.3)
        return Response(CSV, content_type="text/csv")

    paths = [f"/f{i}.csv" for i in range(8)]
    for path in paths:
        httpserver.expect_request(path).respond_with_handler(slow)
    config = setup(portal, make_config, httpserver, [(path, "CSV", path) for path in paths])

    def asked_since(count: int) -> list[str]:
        return [request.path for request, _ in httpserver.log[count:] if request.path != "/robots.txt"]

    total, _, _ = nightly_fetch(config, 0, max_seconds=1.0)
    first = asked_since(0)
    assert 2 <= len(first) <= 5 and total == 8
    assert sorted(results(config)) == sorted(f"res-{paths.index(p)}" for p in first)  # each asked is recorded
    seen = len(httpserver.log)
    nightly_fetch(config, 0.1)  # no deadline: the rest, and none of the first run's (not due)
    second = asked_since(seen)
    assert sorted(first + second) == sorted(paths) and not set(first) & set(second)
    assert nightly_fetch(config, 0.2) == (0, 0, 8)  # everything checked: nothing due
    # a run that asks everything starts with the oldest checks: the first run's
    seen = len(httpserver.log)
    fetch(load_settings(config, env={}), datasets=["prueba-recursos"], max_seconds=0.5)
    assert asked_since(seen) and set(asked_since(seen)) <= set(first)


def test_html_page_instead_of_a_file(portal, make_config, httpserver):
    httpserver.expect_request("/datos.csv", headers={"If-None-Match": '"p1"'}).respond_with_data(
        "", status=304, headers={"ETag": '"p1"'})
    httpserver.expect_request("/datos.csv").respond_with_data(
        "<!DOCTYPE html><html><body>Inicie sesión</body></html>", content_type="text/html", headers={"ETag": '"p1"'})
    config = setup(portal, make_config, httpserver, [("Datos", "CSV", "/datos.csv")])
    row = run(config)["res-0"]
    assert row["status"] == "html_page" and row["sniffed_format"] == "HTML"
    again = run(config)["res-0"]  # unchanged upstream (304): still the same page, not a repaired link
    assert again["status"] == "html_page" and again["first_failure_at"] == row["first_failure_at"]


def test_real_format_is_sniffed_whatever_format_claims(portal, make_config, httpserver):
    pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    geojson = b'{"type": "FeatureCollection", "features": []}'
    httpserver.expect_request("/a").respond_with_data(pdf)
    httpserver.expect_request("/b").respond_with_data(geojson)
    httpserver.expect_request("/c").respond_with_data("a\tb\n1\t2\n3\t4\n")
    config = setup(portal, make_config, httpserver, [("A", "CSV", "/a"), ("B", "JSON", "/b"), ("C", "", "/c")])
    rows = run(config)
    assert [rows[f"res-{i}"]["sniffed_format"] for i in range(3)] == ["PDF", "GEOJSON", "TSV"]
    assert rows["res-0"]["declared_format"] == "CSV"


def test_too_large_by_header_and_by_stream(portal, make_config, httpserver):
    big = b"x" * 1_500_000
    httpserver.expect_request("/declared").respond_with_data(big)

    def no_length(_request: Any) -> Response:
        return Response(iter([b"y" * 500_000] * 3), headers={"Content-Type": "text/csv"})
    httpserver.expect_request("/streamed").respond_with_handler(no_length)
    config = setup(portal, make_config, httpserver, [("A", "CSV", "/declared"), ("B", "CSV", "/streamed")])
    rows = run(config)
    assert rows["res-0"]["status"] == "too_large" and "Content-Length" in rows["res-0"]["reason"]
    assert rows["res-1"]["status"] == "too_large" and "more than 1000000 bytes" in rows["res-1"]["reason"]
    raw = load_settings(config, env={}).paths.raw
    assert not list(raw.rglob("*.part")) and not list(raw.rglob("res-1.*"))


def test_timeout(portal, make_config, httpserver):
    answer = threading.Event()

    def slow(_request: Any) -> Response:
        answer.wait(10)  # past the 1 s read timeout
        return Response(CSV)
    httpserver.expect_request("/lento.csv").respond_with_handler(slow)
    config = setup(portal, make_config, httpserver, [("Lento", "CSV", "/lento.csv")])
    assert run(config)["res-0"]["status"] in ("timeout",)
    answer.set()  # the server's slow answers end here, not in the next test's log
    seen = -1
    while seen != len(httpserver.log):
        seen = len(httpserver.log)
        time.sleep(0.3)


def test_refusals_scheme_and_internal_addresses(portal, make_config, httpserver):
    httpserver.expect_request("/f.csv").respond_with_data(CSV)
    url = httpserver.url_for("/f.csv")
    config = setup(portal, make_config, httpserver,
                   [("FTP", "CSV", "ftp://example.org/f.csv"), ("File", "CSV", "file:///etc/passwd"),
                    ("Local", "CSV", url), ("Meta", "JSON", "http://169.254.169.254/latest/meta-data/"),
                    ("Private", "CSV", "http://10.0.0.8/f.csv")],
                   fetch_config="allow_hosts = []")
    rows = run(config)
    assert rows["res-0"]["status"] == "refused" and "scheme 'ftp'" in rows["res-0"]["reason"]
    assert rows["res-1"]["status"] == "refused" and "scheme 'file'" in rows["res-1"]["reason"]
    assert rows["res-2"]["status"] == "refused" and "loopback address" in rows["res-2"]["reason"]
    assert rows["res-3"]["status"] == "refused" and "link-local address 169.254.169.254" in rows["res-3"]["reason"]
    assert rows["res-4"]["status"] == "refused" and "private address 10.0.0.8" in rows["res-4"]["reason"]
    assert len(httpserver.log) == 0  # nothing was contacted


def test_redirect_to_an_internal_address_is_refused(portal, make_config, httpserver):
    httpserver.expect_request("/salto").respond_with_data("", status=302,
                                                          headers={"Location": "http://127.0.0.1:9/secreto"})
    config = setup(portal, make_config, httpserver, [("Salto", "CSV", "/salto")],
                   fetch_config='allow_hosts = ["localhost"]')
    row = run(config)["res-0"]
    assert row["status"] == "refused" and "loopback address 127.0.0.1" in row["reason"]
    assert row["final_url"] == "http://127.0.0.1:9/secreto"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_archive_safety(portal, make_config, httpserver):
    httpserver.expect_request("/ok.zip").respond_with_data(_zip({"datos/victimas.csv": CSV}))
    httpserver.expect_request("/bomb.zip").respond_with_data(_zip({"ceros.csv": b"0" * 20_000_000}))
    httpserver.expect_request("/slip.zip").respond_with_data(_zip({"../../evil.csv": CSV}))
    httpserver.expect_request("/abs.zip").respond_with_data(_zip({"/etc/cron.d/x": CSV}))
    httpserver.expect_request("/bomb.csv.gz").respond_with_data(gzip.compress(b"0" * 20_000_000))
    config = setup(portal, make_config, httpserver, [("Ok", "ZIP", "/ok.zip"), ("Bomb", "ZIP", "/bomb.zip"),
                                                     ("Slip", "ZIP", "/slip.zip"), ("Abs", "ZIP", "/abs.zip"),
                                                     ("GzBomb", "CSV", "/bomb.csv.gz")])
    rows = run(config)
    assert rows["res-0"]["status"] == "ok" and rows["res-0"]["members"] == ["datos/victimas.csv"]
    assert rows["res-1"]["status"] == "refused" and "zip bomb" in rows["res-1"]["reason"]
    assert rows["res-2"]["status"] == "refused" and "leaves its folder" in rows["res-2"]["reason"]
    assert rows["res-3"]["status"] == "refused" and "leaves its folder" in rows["res-3"]["reason"]
    assert rows["res-4"]["status"] == "refused" and "gzip bomb" in rows["res-4"]["reason"]
    raw = load_settings(config, env={}).paths.raw
    assert sorted(p.name for p in raw.rglob("*") if p.is_file()) == ["res-0.zip"]


def test_fetch_cli_summary(portal, make_config, httpserver, run_cli):
    httpserver.expect_request("/f.csv").respond_with_data(CSV)
    httpserver.expect_request("/g.csv").respond_with_data("", status=404)
    config = setup(portal, make_config, httpserver, [("F", "CSV", "/f.csv"), ("G", "CSV", "/g.csv")])
    result = run_cli("fetch", "veracruz", "--dataset", "prueba-recursos", "--json", config=config)
    assert result.exit_code == 0, result.output
    assert '"not_found": 1' in result.stdout and '"ok": 1' in result.stdout
