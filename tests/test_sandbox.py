"""The sandbox portal itself: CKAN semantics the harvester relies on, each site's flavour, each fault."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from harvester.sandbox import SandboxPortal
from harvester.sandbox.synthetic import generate

UA = {"User-Agent": "datathon-harvester/test"}


def call(portal: SandboxPortal, site: str, action: str, **params):
    return requests.get(portal.api_url(site) + action, params=params, headers=UA, timeout=10)


def search(portal: SandboxPortal, site: str, **params):
    answer = call(portal, site, "package_search", **params)
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def test_envelope_status_show_and_help(portal):
    body = call(portal, "cdmx", "status_show").json()
    assert body["success"] is True and body["result"]["ckan_version"] == "2.10.4"
    assert body["help"].startswith(portal.base_url + "/cdmx/api/3/action/help_show")
    assert call(portal, "federal", "status_show").json()["result"]["ckan_version"].startswith("2.11")


def test_ckanapi_cli_style_post_to_api_action(portal):
    answer = requests.post(f"{portal.base_url}/cdmx/api/action/package_search", json={"rows": 2}, headers=UA)
    assert answer.status_code == 200 and len(answer.json()["result"]["results"]) == 2


def test_stable_sort_rows_start_and_count(portal):
    everything = search(portal, "cdmx", rows=1000, sort="metadata_modified asc, id asc")
    keys = [(d["metadata_modified"][:23], d["id"]) for d in everything["results"]]
    assert keys == sorted(keys) and everything["count"] == len(portal.datasets("cdmx"))
    page = search(portal, "cdmx", rows=5, start=5, sort="metadata_modified asc, id asc")
    assert [d["id"] for d in page["results"]] == [d["id"] for d in everything["results"][5:10]]
    assert search(portal, "cdmx", rows=0)["results"] == []


def test_date_ranges_are_inclusive_at_millisecond_precision(portal):
    target = search(portal, "cdmx", rows=1000, sort="metadata_modified asc, id asc")["results"][10]
    millis = target["metadata_modified"][:23] + "Z"
    exact = search(portal, "cdmx", rows=1000, fq=f"metadata_modified:[{millis} TO {millis}]")
    assert target["id"] in {d["id"] for d in exact["results"]}
    after = search(portal, "cdmx", rows=1000, fq=f"metadata_modified:[{millis} TO *]")
    assert all(d["metadata_modified"][:23] >= millis[:-1] for d in after["results"])


@pytest.mark.parametrize("params", [{"fq": "metadata_modified:[2024-01-01T00:00:00 TO *]"},
                                    {"fq": "colour:blue"}, {"sort": "popularity desc"}])
def test_bad_queries_are_search_query_errors(portal, params):
    answer = call(portal, "cdmx", "package_search", **params)
    assert answer.status_code == 400
    assert answer.json()["error"]["__type"] == "Search Query Error"


def test_filters_negation_lists_fl_and_free_text(portal):
    harvest_types = search(portal, "cdmx", fq="dataset_type:harvest", rows=100)
    assert harvest_types["count"] == 2
    rest = search(portal, "cdmx", fq="-dataset_type:harvest", rows=0)
    assert rest["count"] == len(portal.datasets("cdmx")) - 2
    xalapa = search(portal, "federal", fq='organization:"ayuntamiento-de-xalapa"', rows=100)
    assert xalapa["count"] >= 6 and all(d["organization"]["name"] == "ayuntamiento-de-xalapa"
                                        for d in xalapa["results"])
    two = [d["id"] for d in portal.datasets("cdmx")[:2]]
    chosen = search(portal, "cdmx", fq=f'id:("{two[0]}" OR "{two[1]}")', fl="id,metadata_modified", rows=10)
    assert sorted(d["id"] for d in chosen["results"]) == sorted(two)
    assert all(set(d) == {"id", "metadata_modified"} for d in chosen["results"])
    genero = search(portal, "cdmx", q="GENERO", rows=100)
    assert genero["count"] > 0 and all("nero" in str(d).lower() for d in genero["results"])


def test_package_show_and_list(portal):
    dataset = portal.datasets("cdmx")[0]
    shown = call(portal, "cdmx", "package_show", id=dataset["name"]).json()["result"]
    assert shown == dataset and "{sandbox}" not in str(shown) and portal.base_url in str(shown["resources"])
    missing = call(portal, "cdmx", "package_show", id="nope")
    assert missing.status_code == 404 and missing.json()["error"]["__type"] == "Not Found Error"
    names = call(portal, "cdmx", "package_list").json()["result"]
    assert names == sorted(d["name"] for d in portal.datasets("cdmx") if d["type"] == "dataset")
    orgs = call(portal, "cdmx", "organization_list", all_fields="true").json()["result"]
    assert all({"name", "title", "package_count"} <= set(o) for o in orgs)


def test_dkan_flavour_and_drupal_q_urls(portal):
    assert call(portal, "zapopan", "package_search").status_code == 404
    assert "html" in call(portal, "zapopan", "package_search").headers["Content-Type"]
    name = call(portal, "zapopan", "package_list").json()["result"][0]
    shown = call(portal, "zapopan", "package_show", id=name).json()["result"]
    assert isinstance(shown, list) and shown[0]["name"] == name
    assert portal.api_url("mardelplata").endswith("/mardelplata/?q=api/3/action/")
    names = requests.get(portal.api_url("mardelplata") + "package_list", headers=UA).json()["result"]
    assert names
    clean = requests.get(f"{portal.base_url}/mardelplata/api/3/action/package_list", headers=UA)
    assert clean.status_code == 404


def test_federal_waf_and_old_base(portal):
    refused = requests.get(portal.api_url("federal") + "package_search")  # python-requests User-Agent
    assert refused.status_code == 403 and "html" in refused.headers["Content-Type"]
    assert call(portal, "federal", "package_search").status_code == 200
    old = requests.get(f"{portal.base_url}/federal/busca/api/3/action/package_search", headers=UA)
    assert old.status_code == 404 and [r.status_code for r in old.history] == [301]


def test_fault_switches(portal):
    faults = portal.faults("veracruz")
    faults.rows_max = 2
    assert len(search(portal, "veracruz", rows=100)["results"]) == 2
    faults.fail_status, faults.fail_count = 503, 1
    assert call(portal, "veracruz", "status_show").status_code == 503
    assert call(portal, "veracruz", "status_show").status_code == 200
    faults.fail_status, faults.fail_count, faults.retry_after = 429, 1, 7
    assert call(portal, "veracruz", "status_show").headers["Retry-After"] == "7"
    faults.html_200 = True
    answer = call(portal, "veracruz", "status_show")
    assert answer.status_code == 200 and answer.text.startswith("<!DOCTYPE html>")
    faults.html_200 = False
    faults.drop_count = 1
    with pytest.raises(requests.ConnectionError):
        call(portal, "veracruz", "status_show")
    faults.delay = 0.3
    started = time.monotonic()
    call(portal, "veracruz", "status_show")
    assert time.monotonic() - started >= 0.3
    faults.delay = 0
    faults.search_missing = 400
    assert call(portal, "veracruz", "package_search").status_code == 400
    assert call(portal, "veracruz", "status_show").status_code == 200


def test_mutation_during_paging_moves_already_served_datasets(portal):
    faults = portal.faults("cdmx")
    faults.mutate_after_pages, faults.mutate_count = 1, 2
    first = search(portal, "cdmx", rows=5, sort="metadata_modified asc, id asc")["results"]
    second = search(portal, "cdmx", rows=5, start=5, sort="metadata_modified asc, id asc")["results"]
    assert {d["id"] for d in first[:2]}.isdisjoint({d["id"] for d in second})
    newest = search(portal, "cdmx", rows=2, sort="metadata_modified desc")["results"]
    assert {d["id"] for d in newest} == {d["id"] for d in first[:2]}


def test_touch_delete_add_and_request_log(portal):
    dataset = portal.datasets("infocdmx")[0]
    touched = portal.touch("infocdmx", dataset["id"], title="Nuevo")
    assert touched["metadata_modified"] > dataset["metadata_modified"]
    portal.delete("infocdmx", dataset["id"])
    assert call(portal, "infocdmx", "package_show", id=dataset["id"]).status_code == 404
    added = portal.add("infocdmx", {"name": "nuevo", "title": "Nuevo"})
    assert call(portal, "infocdmx", "package_show", id="nuevo").json()["result"]["id"] == added["id"]
    log = portal.requests("infocdmx")
    assert [r.action for r in log] == ["package_show", "package_show"] and log[0].user_agent == UA["User-Agent"]
    portal.reset()
    assert dataset["id"] in {d["id"] for d in portal.datasets("infocdmx")} and not portal.requests()


def test_stop_returns_while_a_request_hangs():
    portal = SandboxPortal().start()
    portal.faults("cdmx").hang = True
    errors: list[Exception] = []

    def hang() -> None:
        try:
            requests.get(portal.api_url("cdmx") + "status_show", timeout=30)
        except Exception as exc:  # noqa: BLE001 - any outcome but hanging is fine
            errors.append(exc)
    thread = threading.Thread(target=hang, daemon=True)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    portal.stop()
    assert time.monotonic() - started < 5
    thread.join(10)
    assert not thread.is_alive()


def test_control_endpoints(portal):
    requests.post(f"{portal.base_url}/_sandbox/cdmx/faults", json={"rows_max": 3})
    assert portal.faults("cdmx").rows_max == 3
    call(portal, "cdmx", "status_show")
    count = requests.get(f"{portal.base_url}/_sandbox/requests", params={"site": "cdmx"}).json()["count"]
    assert count == 1


def test_synthetic_catalog_is_deterministic_and_realistic():
    first, again = generate(300, seed=3), generate(300, seed=3)
    assert first == again and generate(300, seed=4) != first
    assert all(2 <= len(d["resources"]) <= 4 and 3 <= len(d["tags"]) <= 8 for d in first)
    assert len({d["id"] for d in first}) == 300
    assert max(d["metadata_modified"] for d in first) < "2026-11"


def test_missing_files_answer_404(portal):
    assert requests.get(f"{portal.base_url}/files/cdmx/nope/nothing.csv").status_code == 404
