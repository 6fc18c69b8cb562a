"""Harvest behaviour, over real HTTP against the sandbox portal on 127.0.0.1."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from harvester.config import load_settings
from harvester.harvest import CatalogResult, harvest
from harvester.sandbox import SandboxPortal
from harvester.store import Store


def run(config: Path, *ids: str, full: bool = False) -> dict[str, CatalogResult]:
    results = harvest(load_settings(config, env={}), ids, full=full)
    return {r.catalog_id: r for r in results}


def rows(config: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        return store.query(sql, params)


def current_ids(config: Path, catalog: str) -> set[str]:
    return {r["remote_id"] for r in rows(config, "SELECT remote_id FROM datasets WHERE catalog_id = ? "
                                                 "AND deleted_at IS NULL", [catalog])}


def served(portal: SandboxPortal, site: str, organization: str | None = None) -> dict[str, dict[str, Any]]:
    """What the portal holds now, minus ckanext-harvest pseudo-datasets."""
    return {d["id"]: d for d in portal.datasets(site)
            if d.get("type", "dataset") != "harvest"
            and (organization is None or (d.get("organization") or {}).get("name") == organization)}


def test_full_harvest_stores_every_dataset_with_its_metadata(portal, make_config):
    config = make_config("cdmx")
    result = run(config, "cdmx")["cdmx"]
    expected = served(portal, "cdmx")
    harvest_types = [d for d in portal.datasets("cdmx") if d.get("type") == "harvest"]
    assert result.status == "ok" and result.mode == "full"
    assert result.added == len(expected) and result.updated == result.deleted == result.failed == 0
    assert result.skipped == len(harvest_types) > 0
    assert current_ids(config, "cdmx") == set(expected)

    some = next(d for d in expected.values() if d.get("resources") and d.get("organization"))
    stored = rows(config, "SELECT * FROM datasets WHERE catalog_id = 'cdmx' AND remote_id = ?", [some["id"]])[0]
    assert stored["title"] == some["title"] and stored["name"] == some["name"]
    assert stored["organization_name"] == some["organization"]["name"]
    assert json.loads(stored["raw"]) == some
    assert stored["first_seen"] is not None and stored["deleted_at"] is None
    resources = rows(config, "SELECT remote_id, url FROM resources WHERE dataset_id = ? ORDER BY position",
                     [some["id"]])
    assert [r["remote_id"] for r in resources] == [r["id"] for r in some["resources"]]
    orgs = rows(config, "SELECT name FROM organizations WHERE catalog_id = 'cdmx'")
    assert {o["name"] for o in orgs} == {d["organization"]["name"] for d in expected.values() if d.get("organization")}
    run_row = rows(config, "SELECT * FROM harvest_runs WHERE catalog_id = 'cdmx'")[0]
    assert run_row["status"] == "ok" and run_row["added"] == len(expected) and run_row["window_end"] is not None


def test_unchanged_catalog_is_reharvested_in_at_most_three_requests(portal, make_config):
    config = make_config("cdmx")
    run(config, "cdmx")
    portal.clear_requests()
    result = run(config, "cdmx")["cdmx"]
    assert result.status == "ok" and result.mode == "incremental"
    assert result.added == result.updated == result.deleted == 0
    assert result.requests <= 3
    assert len(portal.requests("cdmx")) == result.requests


def test_incremental_run_picks_up_changes_additions_and_deletions(portal, make_config):
    config = make_config("cdmx")
    run(config, "cdmx")
    datasets = list(served(portal, "cdmx").values())
    changed, gone = datasets[0], datasets[1]
    portal.touch("cdmx", changed["id"], title="Título corregido")
    portal.delete("cdmx", gone["id"])
    new = portal.add("cdmx", {"name": "nuevo-conjunto", "title": "Nuevo conjunto de datos",
                              "organization": changed.get("organization"), "resources": []})
    result = run(config, "cdmx")["cdmx"]
    assert result.status == "ok" and result.mode == "incremental"
    assert (result.added, result.updated, result.deleted) == (1, 1, 1)
    assert current_ids(config, "cdmx") == set(served(portal, "cdmx"))
    assert rows(config, "SELECT title FROM datasets WHERE remote_id = ?", [changed["id"]])[0]["title"] == \
        "Título corregido"
    assert new["id"] in current_ids(config, "cdmx")


def test_deleted_datasets_are_marked_with_the_time_and_kept_as_history(portal, make_config):
    config = make_config("cdmx")
    run(config, "cdmx")
    victim = next(iter(served(portal, "cdmx").values()))
    portal.delete("cdmx", victim["id"])
    before = time.time()
    result = run(config, "cdmx")["cdmx"]
    assert result.deleted == 1
    row = rows(config, "SELECT deleted_at, title FROM datasets WHERE remote_id = ?", [victim["id"]])
    assert len(row) == 1 and row[0]["title"] == victim["title"]
    assert row[0]["deleted_at"] is not None and row[0]["deleted_at"].timestamp() >= before - 5
    assert victim["id"] not in current_ids(config, "cdmx")
    live = rows(config, "SELECT count(*) AS n FROM resources WHERE dataset_id = ? AND deleted_at IS NULL",
                [victim["id"]])
    assert live[0]["n"] == 0
    # A third run does not delete it again, and a full run agrees.
    assert run(config, "cdmx")["cdmx"].deleted == 0
    assert run(config, "cdmx", full=True)["cdmx"].deleted == 0


def test_a_server_rows_cap_lower_than_asked_is_followed(portal, make_config):
    portal.faults("cdmx").rows_max = 7
    config = make_config("cdmx")
    result = run(config, "cdmx")["cdmx"]
    assert result.status == "ok"
    assert current_ids(config, "cdmx") == set(served(portal, "cdmx"))
    assert result.notes.get("rows_cap") == 7
    searches = [r for r in portal.requests("cdmx") if r.action == "package_search"]
    assert len(searches) >= len(served(portal, "cdmx")) // 7


def test_datasets_changing_while_paging_are_neither_skipped_nor_duplicated(portal, make_config):
    faults = portal.faults("cdmx")
    faults.rows_max = 5
    faults.mutate_after_pages = 2
    faults.mutate_count = 3
    config = make_config("cdmx")
    result = run(config, "cdmx")["cdmx"]
    assert result.status == "ok"
    expected = served(portal, "cdmx")
    assert current_ids(config, "cdmx") == set(expected)
    dupes = rows(config, "SELECT remote_id, count(*) AS n FROM datasets GROUP BY ALL HAVING n > 1")
    assert dupes == []
    # Every stored copy is the newest one the portal serves.
    stored = {r["remote_id"]: r["raw"] for r in rows(config, "SELECT remote_id, raw FROM datasets")}
    next_run = run(config, "cdmx")["cdmx"]
    assert next_run.deleted == 0
    stored = {r["remote_id"]: json.loads(r["raw"]) for r in rows(config, "SELECT remote_id, raw FROM datasets")}
    assert all(stored[i]["metadata_modified"] == d["metadata_modified"] for i, d in expected.items())


def test_same_slug_on_two_catalogs_is_two_datasets(portal, make_config):
    original = next(iter(served(portal, "infocdmx").values()))
    copy = {k: v for k, v in original.items() if k not in ("id",)}
    copy["resources"] = []
    portal.add("veracruz", copy)
    config = make_config("infocdmx", "veracruz")
    run(config)
    both = rows(config, "SELECT catalog_id FROM datasets WHERE name = ? ORDER BY catalog_id", [original["name"]])
    assert [r["catalog_id"] for r in both] == ["infocdmx", "veracruz"]


def test_organization_filter_harvests_only_xalapa(portal, make_config):
    config = make_config("xalapa", federal={})
    result = run(config, "xalapa")["xalapa"]
    expected = served(portal, "federal", organization="ayuntamiento-de-xalapa")
    assert result.status == "ok" and len(expected) > 0
    assert current_ids(config, "xalapa") == set(expected)
    assert all("ayuntamiento-de-xalapa" in r.params.get("fq", "")
               for r in portal.requests("federal") if r.action == "package_search")


def test_federal_waf_refuses_generic_user_agent_but_not_ours(portal, make_config):
    config = make_config("federal", federal={"user_agent": "python-requests/2.32"})
    result = run(config, "federal")["federal"]
    assert result.status == "failed"
    assert "blocked or not a CKAN API" in result.error and portal.api_url("federal") in result.error
    config = make_config("federal")
    assert run(config, "federal")["federal"].status == "ok"
    assert all(r.user_agent.startswith("datathon-harvester") or r.user_agent.startswith("python-requests")
               for r in portal.requests("federal"))


@pytest.mark.parametrize("site", ["zapopan", "puebla", "mardelplata"])
def test_dkan_portals_are_harvested_with_package_list_and_package_show(portal, make_config, site):
    config = make_config(site)
    result = run(config, site)[site]
    assert result.status == "ok" and result.mode == "list"
    assert current_ids(config, site) == set(served(portal, site))
    actions = {r.action for r in portal.requests(site)}
    assert actions <= {"package_list", "package_show"}


@pytest.mark.parametrize("status", [404, 400])
def test_missing_package_search_falls_back_and_is_remembered(portal, make_config, status):
    portal.faults("cdmx").search_missing = status
    config = make_config("cdmx")
    result = run(config, "cdmx")["cdmx"]
    assert result.status == "ok" and result.mode == "list" and "fallback" in result.notes
    assert current_ids(config, "cdmx") == set(served(portal, "cdmx"))
    portal.clear_requests()
    second = run(config, "cdmx")["cdmx"]
    assert second.mode == "list"
    assert not any(r.action == "package_search" for r in portal.requests("cdmx"))


def test_missing_package_search_does_not_drop_a_group_filter(portal, make_config):
    portal.faults("cdmx").search_missing = 404
    config = make_config("cdmx", cdmx={"groups": ["movilidad"]})
    result = run(config, "cdmx")["cdmx"]
    assert result.status == "failed" and "action not available (404)" in result.error
    assert not any(r.action == "package_list" for r in portal.requests("cdmx"))


def test_a_refused_search_query_fails_instead_of_falling_back(portal, make_config):
    config = make_config("cdmx", cdmx={"fq": 'title:"unbalanced'})  # CKAN 2.11 answers 409 Search Error
    result = run(config, "cdmx")["cdmx"]
    assert result.status == "failed" and "search query refused" in result.error
    assert portal.api_url("cdmx") in result.error


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(portal, make_config, status):
    faults = portal.faults("infocdmx")
    faults.fail_status, faults.fail_count = status, 2
    config = make_config("infocdmx", infocdmx={"retries": 3})
    result = run(config, "infocdmx")["infocdmx"]
    assert result.status == "ok" and result.retries == 2
    assert current_ids(config, "infocdmx") == set(served(portal, "infocdmx"))
    assert result.requests == len(portal.requests("infocdmx"))


def test_429_waits_for_retry_after(portal, make_config):
    faults = portal.faults("infocdmx")
    faults.fail_status, faults.fail_count, faults.retry_after = 429, 1, 1
    config = make_config("infocdmx", infocdmx={"backoff": 0.0})
    started = time.monotonic()
    result = run(config, "infocdmx")["infocdmx"]
    assert result.status == "ok" and result.retries == 1
    assert time.monotonic() - started >= 1.0


def test_dropped_connections_are_retried(portal, make_config):
    portal.faults("infocdmx").drop_count = 2
    config = make_config("infocdmx", infocdmx={"retries": 3})
    result = run(config, "infocdmx")["infocdmx"]
    assert result.status == "ok" and result.retries == 2


def test_persistent_server_errors_fail_the_catalog_and_keep_its_data(portal, make_config):
    config = make_config("infocdmx", "veracruz", infocdmx={"retries": 1})
    run(config)
    before = current_ids(config, "infocdmx")
    portal.touch("infocdmx", next(iter(before)), title="cambiado")
    faults = portal.faults("infocdmx")
    faults.fail_status, faults.fail_count = 503, 1000
    results = run(config)
    assert results["infocdmx"].status == "failed" and "503" in results["infocdmx"].error
    assert results["veracruz"].status == "ok"
    assert current_ids(config, "infocdmx") == before
    last = rows(config, "SELECT status, error FROM harvest_runs WHERE catalog_id = 'infocdmx' ORDER BY run_id DESC")
    assert last[0]["status"] == "failed" and "503" in last[0]["error"]
    # The failed run did not move the window: the next good run still sees the change.
    faults.fail_count = 0
    assert run(config, "infocdmx")["infocdmx"].updated == 1


def test_hanging_portal_times_out_and_the_others_complete(portal, make_config):
    portal.faults("veracruz").hang = True
    config = make_config("veracruz", "infocdmx", veracruz={"timeout": 0.5, "retries": 0})
    try:
        results = run(config)
    finally:
        portal.faults("veracruz").hang = False
    assert results["veracruz"].status == "failed" and "no answer" in results["veracruz"].error
    assert portal.api_url("veracruz") in results["veracruz"].error
    assert results["infocdmx"].status == "ok"


def test_html_with_status_200_is_reported_as_blocked(portal, make_config):
    portal.faults("veracruz").html_200 = True
    config = make_config("veracruz")
    result = run(config, "veracruz")["veracruz"]
    assert result.status == "failed"
    assert result.error.startswith("blocked or not a CKAN API: " + portal.api_url("veracruz"))


def test_politeness_delay_spaces_requests(portal, make_config):
    config = make_config("infocdmx", infocdmx={"delay": 0.3, "rows": 3})
    started = time.monotonic()
    result = run(config, "infocdmx")["infocdmx"]
    assert result.status == "ok" and result.requests >= 3
    assert time.monotonic() - started >= 0.3 * (result.requests - 1)


def test_full_flag_lists_everything_again(portal, make_config):
    config = make_config("infocdmx")
    run(config, "infocdmx")
    result = run(config, "infocdmx", full=True)["infocdmx"]
    assert result.mode == "full" and result.unchanged == len(served(portal, "infocdmx"))


def test_a_probe_remembers_the_ckan_version_of_a_harvested_catalog_and_creates_no_store(portal, make_config):
    from harvester.probe import probe_catalog
    config = make_config("cdmx", "zapopan")
    settings = load_settings(config, env={})
    assert probe_catalog(settings, settings.catalogs["cdmx"]).ckan_version.startswith("2.10")
    assert not settings.paths.database.exists()
    run(config, "cdmx", "zapopan")
    assert rows(config, "SELECT ckan_version FROM catalogs WHERE id = 'cdmx'")[0]["ckan_version"] is None
    for catalog in settings.catalogs.values():
        probe_catalog(settings, catalog)
    versions = {r["id"]: r["ckan_version"] for r in rows(config, "SELECT id, ckan_version FROM catalogs")}
    assert versions["cdmx"].startswith("2.10") and versions["zapopan"] is None
    # The harvest asks nothing more to keep it, and does not forget it.
    portal.clear_requests()
    result = run(config, "cdmx")["cdmx"]
    assert result.requests <= 3 and not any(r.action == "status_show" for r in portal.requests("cdmx"))
    assert rows(config, "SELECT ckan_version FROM catalogs WHERE id = 'cdmx'")[0]["ckan_version"] == versions["cdmx"]


def test_connectors_say_how_they_fall_back_and_whether_they_confirm_deletions(make_config):
    from harvester.connectors import PackageListConnector, PackageSearchConnector, connector_for
    config = make_config("cdmx", "zapopan", cdmx={"groups": []})
    settings = load_settings(config, env={})
    cdmx, zapopan = settings.catalogs["cdmx"], settings.catalogs["zapopan"]
    search = connector_for(cdmx, None, None)  # type: ignore[arg-type]
    assert isinstance(search, PackageSearchConnector) and not search.confirms_deletions
    assert isinstance(search.fallback(), PackageListConnector) and search.fallback().confirms_deletions
    assert search.fallback().fallback() is None
    assert isinstance(connector_for(cdmx, None, False), PackageListConnector)  # type: ignore[arg-type]
    assert isinstance(connector_for(zapopan, None, None), PackageListConnector)  # type: ignore[arg-type]
    grouped = load_settings(make_config("cdmx", cdmx={"groups": ["movilidad"]}), env={}).catalogs["cdmx"]
    assert connector_for(grouped, None, None).fallback() is None  # type: ignore[arg-type]


def test_a_listing_that_ends_short_of_its_count_keeps_what_it_received(portal, make_config):
    """The portal counts more datasets than paging gives (it skipped some): the run is partial with a warning
    naming the URL, every dataset received is stored, no deletion is inferred, and the window does not move."""
    config = make_config("cdmx", cdmx={"rows": 10})
    assert run(config, "cdmx")["cdmx"].status == "ok"
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        window = store.query("SELECT last_window_end FROM catalogs WHERE id = 'cdmx'")[0]["last_window_end"]
    portal.delete("cdmx", "linea-mujeres")  # gone upstream: must not be inferred from a short listing
    portal.add("cdmx", {"name": "nuevo-conjunto", "title": "Nuevo conjunto"})
    portal.faults("cdmx").count = len(portal.datasets("cdmx")) + 3
    result = run(config, "cdmx", full=True)["cdmx"]
    assert result.status == "partial" and result.deleted == 0 and result.added == 1
    assert "gave" in result.error and "window holds" in result.error and portal.api_url("cdmx") in result.error
    assert "nuevo-conjunto" in {r["name"] for r in _names(config)}
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        assert store.query("SELECT last_window_end FROM catalogs WHERE id = 'cdmx'")[0]["last_window_end"] == window
        runs = store.query("SELECT status, error FROM harvest_runs WHERE catalog_id = 'cdmx' ORDER BY run_id")
    assert [r["status"] for r in runs] == ["ok", "partial"] and portal.api_url("cdmx") in runs[1]["error"]


def _names(config):
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        return store.query("SELECT name FROM datasets WHERE deleted_at IS NULL")
