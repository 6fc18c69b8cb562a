"""Hostile files and addresses at the fetch stage (issue 15, "Also"): the address policy on IP literals,
bad downloads that must not replace the last good file, resources that must not share a raw file, and
archives that amplify on disk. Each is refused or recorded as failed with a one-line reason, the run goes
on, and time, memory and disk stay bounded."""
from __future__ import annotations

import hashlib
import ipaddress
import json
import sys
import zipfile

import pytest
from werkzeug import Response

from bench import peak
from harvester.archives import inspect_zip
from harvester.config import load_settings
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.profile import profile
from harvester.sandbox.files import zip_bytes
from harvester.store import Store
from harvester.urlpolicy import Refused, UrlPolicy, address_kind
from harvester.validate import validate

CSV = "alcaldia,victimas\nCuauhtémoc,12\nIztapalapa,30\n".encode()
NEWER = "alcaldia,victimas\nCuauhtémoc,13\nIztapalapa,31\nTlalpan,4\n".encode()


# 1. The address policy, on IP literals only (nothing is resolved) ---------------------------------------

@pytest.mark.parametrize("address, kind", [
    ("100.64.0.1", "shared"), ("100.100.100.200", "shared"), ("100.127.255.254", "shared"),
    ("2002:a00:1::", "private (6to4 of 10.0.0.1)"), ("2002:a9fe:a9fe::1", "link-local (6to4 of 169.254.169.254)"),
    ("2002:6440:1::", "shared (100.64.0.0/10) (6to4 of 100.64.0.1)"), ("2002:7f00:1::", "loopback (6to4 of 127.0.0.1)"),
    ("::ffff:10.0.0.1", "private (IPv4-mapped of 10.0.0.1)"), ("::ffff:100.64.0.1", "shared"),
    ("64:ff9b::a9fe:a9fe", "link-local (NAT64 of 169.254.169.254)"), ("64:ff9b::6440:1", "shared"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private (Teredo of 10.0.0.1)"),
])
def test_shared_space_and_ipv6_forms_of_internal_addresses_are_refused(address, kind):
    assert kind in (address_kind(ipaddress.ip_address(address)) or "")
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(Refused, match="resolves to"):
        UrlPolicy().check(f"http://{host}/datos.csv")


@pytest.mark.parametrize("address", ["8.8.8.8", "100.128.0.1", "100.63.255.255", "2002:808:808::1",
                                     "64:ff9b::808:808", "::ffff:8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_and_their_ipv6_forms_pass(address):
    assert address_kind(ipaddress.ip_address(address)) is None
    host = f"[{address}]" if ":" in address else address
    assert UrlPolicy().check(f"http://{host}/datos.csv") == address.lower()


# 2. The last good file survives any bad download ---------------------------------------------------------

def _setup(portal, make_config, resources, extra=""):
    portal.add("veracruz", {"name": "ultimo-bueno", "title": "Último bueno", "resources": [
        {"id": rid, "name": rid, "format": fmt, "url": url} for rid, fmt, url in resources]})
    config = make_config("veracruz")
    config.write_text(config.read_text() + '\n[fetch]\nallow_hosts = ["localhost", "127.0.0.1"]\nmax_ratio = 50\n'
                      f"timeout = 2\n{extra}", encoding="utf-8")
    settings = load_settings(config, env={})
    assert harvest(settings, ["veracruz"])[0].status == "ok"
    return settings


def _state(settings):
    with Store(settings.paths.database, read_only=True) as store:
        files = {r["resource_id"]: r for r in store.query("SELECT * FROM resource_files")}
        validations = {r["resource_id"]: (r["sha256"], r["rows"], r["valid"])
                       for r in store.query("SELECT * FROM validations")}
        profiles = store.query("SELECT resource_id, sha256, count(*) AS n FROM column_profiles "
                               "GROUP BY ALL ORDER BY ALL")
    return files, validations, profiles


def test_a_bad_download_never_replaces_the_last_good_file(portal, make_config, httpserver):
    """Before, a 200 HTML page or an empty answer replaced the good file (the rebuilt pack had 0 rows while
    provenance.json named the old hash), and a refused archive replacing a good one deleted it."""
    bomb = zip_bytes({"ceros.csv": b"0" * 20_000_000})
    answers = {"/datos.csv": [(CSV, "text/csv"), (b"<!DOCTYPE html><html><body>Mantenimiento</body></html>",
                                                  "text/html"), (b"", "text/csv"), (bomb, "application/zip"),
                              (NEWER, "text/csv")],
               "/datos.zip": [(zip_bytes({"datos.csv": CSV}), "application/zip"), (bomb, "application/zip")]}

    def answer(request):  # each path its own sequence of answers, the last one repeated
        queue = answers[request.path]
        body, ctype = queue.pop(0) if len(queue) > 1 else queue[0]
        return Response(body, content_type=ctype)

    for path in answers:
        httpserver.expect_request(path).respond_with_handler(answer)
    settings = _setup(portal, make_config, [("csv", "CSV", httpserver.url_for("/datos.csv")),
                                            ("zip", "ZIP", httpserver.url_for("/datos.zip"))])

    def run():
        fetch(settings, datasets=["ultimo-bueno"])
        validate(settings)
        profile(settings)
        return _state(settings)

    files, validations, profiles = run()
    good = files["csv"]
    good_zip = files["zip"]
    assert good["status"] == good_zip["status"] == "ok" and validations["csv"][0] == good["sha256"]
    expected = [("html_page", "an HTML page was served instead of the file; the last good file is kept"),
                ("http_error", "200 with an empty body instead of the file; the last good file is kept"),
                ("refused", "; the last good file is kept")]
    for number, (status, reason) in enumerate(expected):
        files_now, validations_now, profiles_now = run()
        row = files_now["csv"]
        assert (row["status"], reason in row["reason"], "\n" in row["reason"]) == (status, True, False), row
        assert (row["path"], row["sha256"], row["size"]) == (good["path"], good["sha256"], good["size"])
        assert (settings.paths.root / good["path"]).read_bytes() == CSV
        assert validations_now == validations and profiles_now == profiles  # its results survive too
        if number == 0:  # the archive: refused, the good one kept on disk with its facts
            zipped = files_now["zip"]
            assert zipped["status"] == "refused" and "zip bomb" in zipped["reason"]
            assert (zipped["path"], zipped["sha256"]) == (good_zip["path"], good_zip["sha256"])
            assert zipfile.ZipFile(settings.paths.root / zipped["path"]).read("datos.csv") == CSV
    files_now, validations_now, _ = run()  # the publisher fixes the file: the new one replaces the old
    assert files_now["csv"]["status"] == "ok" and files_now["csv"]["sha256"] == hashlib.sha256(NEWER).hexdigest()
    assert (settings.paths.root / good["path"]).read_bytes() == NEWER and validations_now["csv"][1] == 3
    assert not [p for p in settings.paths.raw.rglob("*") if p.name.startswith(".")]  # no temporary left


# 3. One raw file per resource ------------------------------------------------------------------------------

def test_resources_never_share_a_raw_file(portal, make_config, httpserver):
    """Ids that differ only in case, and two datasets whose names clean to one folder with the same resource
    id, each wrote one file: the store then recorded one file's hash against another's content."""
    bodies = {f"/{n}.csv": f"a,b\n{n},{i}\n".encode() for i, n in enumerate(("upper", "lower", "one", "two", "plain"))}
    for path, body in bodies.items():
        httpserver.expect_request(path).respond_with_data(body, content_type="text/csv")
    url = httpserver.url_for
    portal.add("veracruz", {"name": "mayusculas", "title": "Mayúsculas", "resources": [
        {"id": "Recurso-A", "name": "A", "format": "CSV", "url": url("/upper.csv")},
        {"id": "recurso-a", "name": "a", "format": "CSV", "url": url("/lower.csv")}]})
    portal.add("veracruz", {"name": "Datos_2020", "title": "Datos 2020", "resources": [
        {"id": "recurso", "name": "uno", "format": "CSV", "url": url("/one.csv")}]})
    portal.add("veracruz", {"name": "datos_2020", "title": "datos 2020", "resources": [
        {"id": "recurso", "name": "dos", "format": "CSV", "url": url("/two.csv")}]})
    ordinary_id = "5f0c2f7e-1b7c-4a7e-9d2a-0c1d2e3f4a5b"
    portal.add("veracruz", {"name": "ordinario", "title": "Ordinario", "resources": [
        {"id": ordinary_id, "name": "plain", "format": "CSV", "url": url("/plain.csv")}]})
    config = make_config("veracruz")
    config.write_text(config.read_text() + '\n[fetch]\nallow_hosts = ["localhost", "127.0.0.1"]\n', encoding="utf-8")
    settings = load_settings(config, env={})
    assert harvest(settings, ["veracruz"])[0].status == "ok"
    names = ["mayusculas", "Datos_2020", "datos_2020", "ordinario"]
    for _ in range(2):  # and the paths hold from one run to the next
        fetch(settings, datasets=names)
        with Store(settings.paths.database, read_only=True) as store:
            rows = store.query("SELECT f.* FROM resource_files f JOIN datasets d ON d.catalog_id = f.catalog_id "
                               "AND d.remote_id = f.dataset_id WHERE d.name IN (?, ?, ?, ?)", names)
        assert len(rows) == 5 and len({r["path"] for r in rows}) == 5
        for row in rows:  # every recorded hash is the hash of the file at its path
            assert hashlib.sha256((settings.paths.root / row["path"]).read_bytes()).hexdigest() == row["sha256"]
        assert sorted(hashlib.sha256(b).hexdigest() for b in bodies.values()) == sorted(r["sha256"] for r in rows)
    ordinary = next(r for r in rows if r["resource_id"] == ordinary_id)
    assert ordinary["path"] == f"raw/veracruz/ordinario/{ordinary_id}.csv"  # an ordinary resource keeps its path


# 4. Archives that amplify on disk ------------------------------------------------------------------------

AMPLIFIERS = {
    "many-members.zip": ("ZIP", "refused", "archive bomb: its members expand"),
    "same-member.zip": ("ZIP", "refused", "member 'datos.csv' appears 300 times (limit 20)"),
    "many-entries.zip": ("ZIP", "refused", "5000 members, more than the limit of 1000"),
    "shared-string.xlsx": ("XLSX", "refused", "workbook bomb: its cells repeat shared strings"),
    "ordinary.xlsx": ("XLSX", "ok", ""),
}


def test_archives_that_amplify_are_refused_in_bounded_time_memory_and_disk(portal, make_config, tmp_path):
    """Before: a 1 MB ZIP of 100 x 10 MiB members and an 8 KB XLSX with one huge shared string each wrote
    1 GB; a 26 KB ZIP with 300 entries naming one member gave 300 validations. Fetch and validate run as
    the command would, in their own processes, with the default caps."""
    base = portal.base_url.replace("127.0.0.1", "localhost")
    portal.add("veracruz", {"name": "amplificadores", "title": "Amplificadores", "resources": [
        {"id": name.replace(".", "-"), "name": name, "format": fmt, "url": f"{base}/hostile/{name}"}
        for name, (fmt, _, _) in AMPLIFIERS.items()]})
    config = make_config("veracruz")
    config.write_text(config.read_text() + '\n[fetch]\nallow_hosts = ["localhost"]\n', encoding="utf-8")
    settings = load_settings(config, env={})
    assert harvest(settings, ["veracruz"])[0].status == "ok"
    seconds, peak_mb = 0.0, 0.0
    for command in (["fetch", "--dataset", "amplificadores"], ["validate"]):
        done = peak.run([sys.executable, "-m", "harvester", "--config", str(config), "--quiet", *command], timeout=120)
        assert done.returncode == 0, done.stderr
        seconds, peak_mb = seconds + done.seconds, max(peak_mb, done.peak_mb)
    with Store(settings.paths.database, read_only=True) as store:
        rows = {r["resource_id"]: r for r in store.query("SELECT * FROM resource_files")}
        tables = store.query("SELECT resource_id, count(*) AS n FROM validations GROUP BY ALL")
    for name, (_, status, reason) in AMPLIFIERS.items():
        row = rows[name.replace(".", "-")]
        assert (row["status"], reason in (row["reason"] or "")) == (status, True), (name, row["reason"])
    assert {t["resource_id"]: t["n"] for t in tables if "xlsx" in t["resource_id"] or "zip" in t["resource_id"]} \
        == {"ordinary-xlsx": 1}
    written = sum(p.stat().st_size for p in settings.paths.root.rglob("*") if p.is_file())
    assert written < 50_000_000, written  # the bombs would have written gigabytes
    assert seconds < 60 and peak_mb < 600, (seconds, peak_mb)
    print(json.dumps({"seconds": round(seconds, 1), "peak_mb": round(peak_mb), "written": written}))


def test_a_lying_header_is_caught_while_decompressing(tmp_path):
    """A member declaring a small size: the stream is counted, and the whole file's ratio stops it."""
    path = tmp_path / "liar.zip"
    path.write_bytes(zip_bytes({f"p{i}.csv": b"0" * (3 << 20) for i in range(10)}))
    report = inspect_zip(path, max_member_bytes=2_000_000_000, max_ratio=200)
    assert not report.ok and "archive bomb" in report.reason
    assert inspect_zip(path, 2_000_000_000, 200, max_total_bytes=5 << 20).reason.startswith(
        "archive bomb: its members declare")
