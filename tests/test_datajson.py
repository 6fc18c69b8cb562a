"""The whole catalog from /data.json (DCAT-US), as DKAN and Andino portals publish it (issue 11, part 3):
one request instead of package_list plus a package_show per dataset, the same datasets as list mode, and an
Andino catalog's per-distribution `field` schemas (data dictionaries) kept."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import harvest_one, query_store

REAL_FILES = Path(os.environ.get("HARVESTER_REAL_FILES") or Path(__file__).resolve().parents[2] / "shared" / "real-files")


COMPARED = ("SELECT d.name, d.title, d.organization_title, d.tags, d.metadata_modified, "
            "list(r.url ORDER BY r.position) AS urls, list(r.format ORDER BY r.position) AS formats "
            "FROM datasets d LEFT JOIN resources r ON r.catalog_id = d.catalog_id AND r.dataset_id = d.remote_id "
            "WHERE d.deleted_at IS NULL GROUP BY ALL ORDER BY d.name")


@pytest.mark.parametrize("site", ["zapopan", "mardelplata"])  # clean URLs, and Drupal's ?q= form
def test_data_json_lists_a_dkan_catalog_in_one_request_with_the_same_datasets(portal, make_config, tmp_path, site):
    listed = make_config(site, data_dir=tmp_path / "list")
    by_list = harvest_one(listed)
    config = make_config(site, data_dir=tmp_path / "datajson", **{site: {"data_json": True}})
    result = harvest_one(config)
    assert (result.status, result.mode, result.requests) == ("ok", "data.json", 1)
    assert result.added == by_list.added == len(portal.datasets(site)) and by_list.requests > 1
    assert query_store(config, COMPARED) == query_store(listed, COMPARED)


def test_data_json_sees_changes_and_deletions_on_the_next_run(portal, make_config):
    config = make_config("puebla", puebla={"data_json": True})
    first = harvest_one(config)
    gone = portal.datasets("puebla")[0]["name"]
    portal.delete("puebla", gone)
    changed = portal.datasets("puebla")[0]["name"]
    portal.touch("puebla", changed, title="Título nuevo")
    second = harvest_one(config)
    assert (second.status, second.requests, second.deleted, second.updated) == ("ok", 1, 1, 1)
    assert second.unchanged == first.added - 2
    titles = {r["name"]: (r["title"], r["deleted_at"]) for r in query_store(config, "SELECT name, title, deleted_at FROM datasets")}
    assert titles[changed][0] == "Título nuevo" and titles[gone][1] is not None


def test_a_portal_without_data_json_falls_back_to_package_list(portal, make_config):
    config = make_config("veracruz", veracruz={"data_json": True})  # a CKAN: no /data.json there
    result = harvest_one(config)
    assert (result.status, result.mode) == ("ok", "list") and result.added == len(portal.datasets("veracruz"))
    assert result.notes["fallback"].startswith("data.json unusable (action not available (404) at ")
    assert "/veracruz/data.json" in result.notes["fallback"]
    assert result.notes["fallback"].endswith("using package_list + package_show")


class _Andino(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802
        found = self.path == "/data.json"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json" if found else "text/html")
        payload = self.body if found else b"<html>Not Found</html>"
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def test_an_andino_data_json_keeps_its_field_schemas(tmp_path):
    """The real data.json of datos.jus.gob.ar (DCAT-AR), from ../shared/real-files, served on loopback."""
    source = REAL_FILES / "ar-justicia-datajson__catalogo_justicia.json"
    assert source.is_file(), f"{source}: the real-files corpus is missing (set HARVESTER_REAL_FILES)"
    document = json.loads(source.read_text(encoding="utf-8"))
    _Andino.body = source.read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Andino)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = tmp_path / "catalogs.toml"
        config.write_text(f'[harvester]\ndata_dir = "{tmp_path / "data"}"\n\n[catalogs.justicia]\ntitle = "Justicia"\n'
                          f'api_url = "http://127.0.0.1:{server.server_address[1]}/api/3/action/"\n'
                          "data_json = true\ntimeout = 5\nretries = 0\n", encoding="utf-8")
        result = harvest_one(config)
    finally:
        server.shutdown()
    assert (result.status, result.mode, result.added, result.requests) == ("ok", "data.json", len(document["dataset"]), 1)
    stored = query_store(config, "SELECT remote_id, title, organization_title, raw FROM datasets ORDER BY remote_id")
    by_id = {d["identifier"]: d for d in document["dataset"]}
    assert [r["remote_id"] for r in stored] == sorted(by_id)
    fields = 0
    for row in stored:
        original = by_id[row["remote_id"]]
        assert row["title"] == original["title"] and row["organization_title"] == original["publisher"]["name"]
        kept = json.loads(row["raw"])["dcat"]
        assert kept == original  # the DCAT dataset whole, with every distribution's `field` schema
        fields += sum(len(d.get("field") or []) for d in kept["distribution"])
    assert fields == sum(len(d.get("field") or []) for ds in document["dataset"] for d in ds["distribution"]) > 0
    resources = query_store(config, "SELECT count(*) AS n FROM resources")[0]["n"]
    assert resources == sum(len(ds["distribution"]) for ds in document["dataset"])
