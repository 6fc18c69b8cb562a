"""The sandbox portal itself: CKAN semantics the harvester relies on, each site's flavour, each fault."""
from __future__ import annotations

import csv
import datetime
import hashlib
import http.client
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any, Iterator

import openpyxl
import pytest
import requests

from harvester.sandbox import SandboxPortal, server
from harvester.sandbox.build_snapshot import build, dump
from harvester.sandbox.files import MESS_CASES, resource_files
from harvester.sandbox.sites import DATA
from harvester.sandbox.synthetic import generate

UA = {"User-Agent": "datathon-harvester/test (sandbox tests)"}
STABLE = "metadata_modified asc, id asc"


def call(portal: SandboxPortal, site: str, action: str, **params: Any) -> requests.Response:
    return requests.get(portal.api_url(site) + action, params=params, headers=UA, timeout=10)


def search(portal: SandboxPortal, site: str, **params: Any) -> dict[str, Any]:
    answer = call(portal, site, "package_search", **params)
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def ids(results: list[dict[str, Any]]) -> list[str]:
    return [d["id"] for d in results]


@pytest.fixture(scope="module")
def big() -> Iterator[SandboxPortal]:
    with SandboxPortal(synthetic=3000, seed=5) as portal:
        yield portal


# The snapshot -------------------------------------------------------------------------------------

def test_snapshot_files_are_what_build_snapshot_writes() -> None:
    built = build()
    assert sorted(p.stem for p in DATA.glob("*.json")) == sorted(built)
    for site, datasets in built.items():
        assert (DATA / f"{site}.json").read_text(encoding="utf-8") == dump(datasets), site
    assert sum(p.stat().st_size for p in DATA.glob("*.json")) < 1_000_000


def test_snapshot_models_the_real_portals(portal: SandboxPortal) -> None:
    sizes = {site: len(portal.datasets(site)) for site in portal.sites}
    assert 40 <= sizes["cdmx"] <= 60 and 20 <= sizes["federal"] <= 30 and 6 <= sizes["infocdmx"] <= 10
    assert 5 <= sizes["veracruz"] <= 8 and 5 <= sizes["zapopan"] <= 10 and 5 <= sizes["puebla"] <= 10
    assert 10 <= sizes["mardelplata"] <= 20 and sizes["synthetic"] == 0
    cdmx = {d["name"]: d for d in portal.datasets("cdmx")}
    for name in ("victimas-en-carpetas-de-investigacion-fgj", "carpetas-de-investigacion-fgj-de-la-ciudad-de-mexico",
                 "afluencia-diaria-del-metro-cdmx", "incidentes-viales-c5", "linea-mujeres", "centros-de-salud"):
        assert name in cdmx
    assert sum(d["type"] == "harvest" for d in cdmx.values()) == 2
    formats = {r["format"] for d in cdmx.values() for r in d["resources"]}
    assert {"CSV", "csv", ".csv", "text/csv", "XLSX", "JSON", "GeoJSON", "ZIP", "PDF", "SHP", ""} <= formats
    stamps = sorted(d["metadata_modified"] for d in cdmx.values())
    assert stamps[0] >= "2016" and "2026-09" <= stamps[-1] < "2026-11" and len(stamps[0]) == 26
    assert any(not d.get("license_id") for d in cdmx.values() if d["type"] == "dataset")
    federal = portal.datasets("federal")
    assert 6 <= sum(d["organization"]["name"] == "ayuntamiento-de-xalapa" for d in federal) <= 10
    assert all("update_frequency" in r for d in federal for r in d["resources"])
    enut = next(d for d in federal if d["name"].startswith("encuesta_nacional_uso_del_tiempo"))
    assert all(v in enut["notes"] for v in ("SEXO", "EDAD_V", "FAC_PER"))


# Actions and the envelope -------------------------------------------------------------------------

def test_envelope_headers_status_show_and_help(portal: SandboxPortal) -> None:
    answer = call(portal, "cdmx", "status_show")
    body = answer.json()
    assert body["success"] is True and body["result"]["ckan_version"] == "2.10.4"
    assert body["help"] == portal.base_url + "/cdmx/api/3/action/help_show?name=status_show"
    assert answer.headers["Content-Type"] == "application/json;charset=utf-8"
    assert int(answer.headers["Content-Length"]) == len(answer.content) and "Date" in answer.headers
    assert call(portal, "federal", "status_show").json()["result"]["ckan_version"].startswith("2.11")
    assert call(portal, "infocdmx", "status_show").json()["result"]["ckan_version"].startswith("2.9")
    assert "Searches for packages" in call(portal, "cdmx", "help_show", name="package_search").json()["result"]
    unknown = call(portal, "cdmx", "no_such_action")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == {"__type": "Bad request", "message": "Action name not known: no_such_action"}


def test_connections_are_kept_alive(portal: SandboxPortal) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", int(portal.base_url.rsplit(":", 1)[1]), timeout=5)
    for _ in range(3):
        conn.request("GET", "/cdmx/api/3/action/package_search?rows=2", headers=UA)
        answer = conn.getresponse()
        assert answer.status == 200 and len(json.loads(answer.read())["result"]["results"]) == 2
    assert conn.sock is not None  # still the first socket
    conn.close()


def test_post_json_form_and_the_api_action_path(portal: SandboxPortal) -> None:
    answer = requests.post(f"{portal.base_url}/cdmx/api/action/package_search", json={"rows": 2}, headers=UA)
    assert answer.status_code == 200 and len(answer.json()["result"]["results"]) == 2
    form = requests.post(portal.api_url("cdmx") + "package_show", data={"id": "linea-mujeres"}, headers=UA)
    assert form.json()["result"]["name"] == "linea-mujeres"
    bad = requests.post(portal.api_url("cdmx") + "package_show", data=b"{nope", headers={
        **UA, "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["success"] is False


def test_package_show_list_and_organizations(portal: SandboxPortal) -> None:
    dataset = portal.datasets("cdmx")[0]
    shown = call(portal, "cdmx", "package_show", id=dataset["name"]).json()["result"]
    assert shown == dataset and "{sandbox}" not in json.dumps(shown)
    assert shown["resources"][0]["url"].startswith(portal.base_url + "/files/cdmx/")
    assert call(portal, "cdmx", "package_show", id=dataset["id"]).json()["result"]["name"] == dataset["name"]
    missing = call(portal, "cdmx", "package_show", id="nope")
    assert missing.status_code == 404 and missing.json()["error"]["__type"] == "Not Found Error"
    names = call(portal, "cdmx", "package_list").json()["result"]
    assert names == sorted(d["name"] for d in portal.datasets("cdmx"))  # harvest sources too, as in CKAN 2.11
    assert {"cosecha-datos-alcaldias", "cosecha-datos-gob-mx"} <= set(names)
    assert call(portal, "cdmx", "package_list", limit=3, offset=2).json()["result"] == names[2:5]
    orgs = call(portal, "cdmx", "organization_list", all_fields="true").json()["result"]
    assert all({"id", "name", "title", "description", "package_count"} <= set(o) for o in orgs)
    assert sum(o["package_count"] for o in orgs) == len([d for d in portal.datasets("cdmx") if d["type"] == "dataset"])
    assert call(portal, "cdmx", "organization_list").json()["result"] == [o["name"] for o in orgs]
    assert "movilidad" in call(portal, "cdmx", "group_list").json()["result"]


def test_dkan_sites_answer_only_list_and_show(portal: SandboxPortal) -> None:
    for action in ("package_search", "status_show", "organization_list", "group_list"):
        answer = call(portal, "puebla", action)
        assert answer.status_code == 404 and answer.headers["Content-Type"].startswith("text/html")
    name = call(portal, "zapopan", "package_list").json()["result"][0]
    shown = call(portal, "zapopan", "package_show", id=name).json()["result"]
    assert isinstance(shown, list) and len(shown) == 1 and shown[0]["name"] == name


def test_mardelplata_uses_drupal_q_urls(portal: SandboxPortal) -> None:
    assert portal.api_url("mardelplata") == portal.base_url + "/mardelplata/?q=api/3/action/"
    names = requests.get(portal.api_url("mardelplata") + "package_list", headers=UA).json()["result"]
    assert len(names) >= 10
    shown = requests.get(f"{portal.base_url}/mardelplata/", params={"q": "/api/3/action/package_show",
                                                                     "id": names[0]}, headers=UA)
    assert shown.json()["result"][0]["name"] == names[0]
    assert [r.action for r in portal.requests("mardelplata")] == ["package_list", "package_show"]
    clean = requests.get(f"{portal.base_url}/mardelplata/api/3/action/package_list", headers=UA)
    assert clean.status_code == 404 and clean.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("agent", ["python-requests/2.32.3", "curl/8.5.0", ""])
def test_federal_waf_refuses_generic_user_agents(portal: SandboxPortal, agent: str) -> None:
    refused = requests.get(portal.api_url("federal") + "package_search", headers={"User-Agent": agent})
    assert refused.status_code == 403 and refused.headers["Content-Type"].startswith("text/html")
    assert call(portal, "federal", "package_search").status_code == 200


def test_federal_old_base_redirects_to_a_404(portal: SandboxPortal) -> None:
    old = requests.get(f"{portal.base_url}/federal/busca/api/3/action/package_search", headers=UA)
    assert old.status_code == 404 and [r.status_code for r in old.history] == [301]
    assert old.url == portal.base_url + "/federal/busca/not-here"


# package_search semantics -------------------------------------------------------------------------

def test_rows_start_sort_count_and_rows_max(portal: SandboxPortal) -> None:
    everything = search(portal, "cdmx", rows=1000, sort=STABLE)
    keys = [(d["metadata_modified"][:23], d["id"]) for d in everything["results"]]
    assert keys == sorted(keys) and everything["count"] == len(everything["results"]) == len(portal.datasets("cdmx"))
    page = search(portal, "cdmx", rows=5, start=5, sort=STABLE)
    assert ids(page["results"]) == ids(everything["results"][5:10]) and page["sort"] == STABLE
    counted = search(portal, "cdmx", rows=0)
    assert counted["results"] == [] and counted["count"] == everything["count"]
    assert counted["facets"] == {} and counted["search_facets"] == {}
    assert len(search(portal, "cdmx")["results"]) == 10  # default rows
    assert len(search(portal, "cdmx", rows=5000)["results"]) == everything["count"]  # under the cap of 1000
    by_name = search(portal, "cdmx", rows=1000, sort="name desc")["results"]
    assert [d["name"] for d in by_name] == sorted((d["name"] for d in by_name), reverse=True)
    default = search(portal, "cdmx", rows=1000)["results"]  # score desc, metadata_modified desc
    assert [d["metadata_modified"][:23] for d in default] == sorted((d["metadata_modified"][:23] for d in default),
                                                                    reverse=True)


def test_millisecond_precision_of_dates(portal: SandboxPortal) -> None:
    # The snapshot holds two datasets modified within one millisecond (.100 and .700 microseconds).
    stamps: dict[str, dict[str, str]] = {}
    for d in portal.datasets("cdmx"):
        stamps.setdefault(d["metadata_modified"][:23], {})[d["id"]] = d["metadata_modified"]
    moment, pair = next((m, sorted(p)) for m, p in stamps.items() if len(set(p.values())) == 2)
    exact = search(portal, "cdmx", rows=1000, fq=f"metadata_modified:[{moment}Z TO {moment}Z]")
    assert sorted(ids(exact["results"])) == sorted(pair)
    after = search(portal, "cdmx", rows=1000, fq=f"metadata_modified:[{moment}Z TO *]", sort=STABLE)
    assert all(d["metadata_modified"][:23] >= moment for d in after["results"])
    assert ids(after["results"])[:2] == sorted(pair)  # ties on the millisecond broken by id
    before = search(portal, "cdmx", rows=1000, fq=f"metadata_modified:[* TO {moment}Z]")
    assert before["count"] + after["count"] == len(portal.datasets("cdmx")) + 2
    exclusive = search(portal, "cdmx", rows=0, fq=f"metadata_modified:{{{moment}Z TO *]")
    assert exclusive["count"] == after["count"] - 2
    created = search(portal, "cdmx", rows=0, fq="metadata_created:[2016-01-01T00:00:00Z TO 2016-12-31T23:59:59.999Z]")
    assert created["count"] == sum(d["metadata_created"].startswith("2016") for d in portal.datasets("cdmx"))


# As a real CKAN 2.11 with Solr 9 answers (tests/test_contract.py asks both): a filter Solr cannot run is a 409
# "Search Error", a sort it cannot read a 400 "Search Query Error", an unknown field simply matches nothing.
@pytest.mark.parametrize("params", [
    {"fq": "metadata_modified:[2024-01-01T00:00:00 TO *]"}, {"fq": "metadata_modified:[2024-01-01 TO *]"},
    {"fq": 'title:"unbalanced'}])
def test_filters_solr_cannot_run_are_search_errors(portal: SandboxPortal, params: dict[str, str]) -> None:
    answer = call(portal, "cdmx", "package_search", **params)
    assert answer.status_code == 409
    assert answer.json()["success"] is False and answer.json()["error"]["__type"] == "Search Error"


@pytest.mark.parametrize("params", [{"sort": "metadata_modified upwards"}, {"sort": "metadata_modified"}])
def test_unreadable_sorts_are_search_query_errors(portal: SandboxPortal, params: dict[str, str]) -> None:
    answer = call(portal, "cdmx", "package_search", **params)
    assert answer.status_code == 400
    assert answer.json()["success"] is False and answer.json()["error"]["__type"] == "Search Query Error"


@pytest.mark.parametrize("params", [{"fq": "colour:blue"}, {"q": "colour:blue"}])
def test_unknown_fields_match_nothing(portal: SandboxPortal, params: dict[str, str]) -> None:
    answer = call(portal, "cdmx", "package_search", **params)
    assert answer.status_code == 200 and answer.json()["result"]["count"] == 0


def test_private_datasets_are_not_seen_anonymously(portal: SandboxPortal) -> None:
    private = portal.add("cdmx", {"name": "privado", "title": "Privado", "private": True})
    assert "privado" not in call(portal, "cdmx", "package_list").json()["result"]
    found = call(portal, "cdmx", "package_search", rows=1000).json()["result"]["results"]
    assert private["id"] not in {d["id"] for d in found}
    shown = call(portal, "cdmx", "package_show", id="privado")
    assert shown.status_code == 403 and shown.json()["error"]["__type"] == "Authorization Error"


@pytest.mark.parametrize("params", [{"rows": "ten"}, {"start": "-1"}, {"rows": "1.5"}])
def test_bad_rows_and_start_are_validation_errors(portal: SandboxPortal, params: dict[str, str]) -> None:
    answer = call(portal, "cdmx", "package_search", **params)
    assert answer.status_code == 409 and answer.json()["error"]["__type"] == "Validation Error"


def test_fq_fields_negation_and_lists(portal: SandboxPortal) -> None:
    everything = portal.datasets("cdmx")
    assert search(portal, "cdmx", fq="dataset_type:harvest", rows=100)["count"] == 2
    assert search(portal, "cdmx", fq="type:harvest", rows=100)["count"] == 2
    assert search(portal, "cdmx", fq="-dataset_type:harvest", rows=0)["count"] == len(everything) - 2
    assert search(portal, "cdmx", fq="NOT dataset_type:harvest", rows=0)["count"] == len(everything) - 2
    xalapa = search(portal, "federal", fq='organization:"ayuntamiento-de-xalapa"', rows=100)
    assert xalapa["count"] >= 6 and {d["organization"]["name"] for d in xalapa["results"]} == {"ayuntamiento-de-xalapa"}
    owner = search(portal, "federal", fq=f"+owner_org:{xalapa['results'][0]['owner_org']}", rows=0)
    assert owner["count"] == xalapa["count"]
    two = ids(everything[:2])
    chosen = search(portal, "cdmx", fq=f'id:("{two[0]}" OR "{two[1]}")', rows=10)
    assert sorted(ids(chosen["results"])) == sorted(two)
    tagged = search(portal, "cdmx", fq='tags:"incidentes viales" groups:movilidad', rows=100)
    assert ids(tagged["results"]) == [d["id"] for d in everything if d["name"] == "incidentes-viales-c5"]
    shp = search(portal, "cdmx", fq="res_format:SHP", rows=100)["results"]
    assert shp and all(any(r["format"] == "SHP" for r in d["resources"]) for d in shp)
    licensed = search(portal, "cdmx", fq="license_id:cc-by-4.0 state:active", rows=0)["count"]
    assert licensed == sum(d.get("license_id") == "cc-by-4.0" for d in everything)
    assert search(portal, "cdmx", fq="name:linea-mujeres", rows=1)["results"][0]["name"] == "linea-mujeres"
    assert search(portal, "cdmx", fq='title:"Línea Mujeres"', rows=5)["count"] >= 1


def test_q_free_text_fields_and_fl(portal: SandboxPortal) -> None:
    genero = search(portal, "cdmx", q="GENERO", rows=100)  # accent- and case-insensitive
    assert genero["count"] > 0 and all("nero" in json.dumps(d, ensure_ascii=False).lower() for d in genero["results"])
    both = search(portal, "cdmx", q="afluencia metro", rows=100)["results"]
    assert both and all("metro" in d["title"].lower() for d in both)
    assert both[0]["title"].lower().startswith("afluencia diaria del metro")  # title matches weigh more
    assert search(portal, "cdmx", q="afluencia zzzzqqq", rows=0)["count"] == 0
    assert search(portal, "cdmx", q="*:*", rows=0)["count"] == len(portal.datasets("cdmx"))
    fielded = search(portal, "cdmx", q="organization:metrobus", rows=10)["results"]
    assert fielded and all(d["organization"]["name"] == "metrobus" for d in fielded)
    slim = search(portal, "cdmx", fl="id,metadata_modified", rows=3)["results"]
    assert len(slim) == 3 and all(set(d) == {"id", "metadata_modified"} for d in slim)
    spaced = search(portal, "cdmx", fl="name resources", rows=1)["results"][0]
    assert set(spaced) == {"name", "resources"} and "{sandbox}" not in json.dumps(spaced)


def test_windowed_paging_agrees_with_the_general_path(big: SandboxPortal) -> None:
    window = "metadata_modified:[2018-01-01T00:00:00Z TO 2022-06-30T23:59:59.999Z]"
    fast = search(big, "synthetic", fq=window, sort=STABLE, rows=1000)
    slow = search(big, "synthetic", fq=window, sort=STABLE + ", name asc", rows=1000)  # not the bisect shape
    assert fast["count"] == slow["count"] > 1000 and ids(fast["results"]) == ids(slow["results"])
    paged: list[str] = []
    while len(paged) < fast["count"]:
        paged += ids(search(big, "synthetic", fq=window, sort=STABLE, rows=400, start=len(paged))["results"])
    assert len(set(paged)) == fast["count"] == len(paged)
    org = search(big, "synthetic", fq=window + " organization:organizacion-07", sort=STABLE, rows=1000)
    assert org["count"] and {d["organization"]["name"] for d in org["results"]} == {"organizacion-07"}


# Faults ---------------------------------------------------------------------------------------------

def test_fail_status_html_and_429_retry_after(portal: SandboxPortal) -> None:
    faults = portal.faults("veracruz")
    for status in (500, 502, 503):
        faults.fail_status, faults.fail_count = status, 1
        failed = call(portal, "veracruz", "status_show")
        assert failed.status_code == status and failed.headers["Content-Type"].startswith("text/html")
        assert call(portal, "veracruz", "status_show").status_code == 200
    faults.fail_status, faults.fail_count, faults.retry_after = 429, 2, 7
    assert [call(portal, "veracruz", "status_show").headers.get("Retry-After") for _ in range(3)] == ["7", "7", None]


def test_rows_max_drop_delay_html_200(portal: SandboxPortal) -> None:
    faults = portal.faults("veracruz")
    faults.rows_max = 2
    assert len(search(portal, "veracruz", rows=100)["results"]) == 2
    faults.html_200 = True
    answer = call(portal, "veracruz", "status_show")
    assert answer.status_code == 200 and answer.text.startswith("<!DOCTYPE html>")
    faults.html_200 = False
    faults.drop_count = 1
    with pytest.raises(requests.ConnectionError):
        call(portal, "veracruz", "status_show")
    assert call(portal, "veracruz", "status_show").status_code == 200
    faults.delay = 0.3
    started = time.monotonic()
    call(portal, "veracruz", "status_show")
    assert time.monotonic() - started >= 0.3
    assert [r.status for r in portal.requests("veracruz")][-3:] == [0, 200, 200]


@pytest.mark.parametrize("status", [404, 400, 500])
def test_search_missing(portal: SandboxPortal, status: int) -> None:
    portal.faults("cdmx").search_missing = status
    answer = call(portal, "cdmx", "package_search")
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("text/html" if status == 404 else "application/json")
    assert call(portal, "cdmx", "package_show", id="linea-mujeres").status_code == 200
    assert call(portal, "cdmx", "package_list").status_code == 200


def test_faults_limited_to_actions(portal: SandboxPortal) -> None:
    faults = portal.faults("cdmx")
    faults.fail_status, faults.fail_count, faults.actions = 503, 5, {"package_show"}
    assert call(portal, "cdmx", "package_search").status_code == 200
    assert call(portal, "cdmx", "package_show", id="linea-mujeres").status_code == 503
    assert faults.fail_count == 4


def test_faults_do_not_touch_files_or_control(portal: SandboxPortal) -> None:
    portal.faults("cdmx").html_200 = True
    assert requests.get(f"{portal.base_url}/files/cdmx/nope/nothing.csv").status_code == 404
    assert requests.get(f"{portal.base_url}/_sandbox/requests").json() == {"count": 0}


def test_mutation_during_paging_moves_already_served_datasets(portal: SandboxPortal) -> None:
    faults = portal.faults("cdmx")
    faults.mutate_after_pages, faults.mutate_count = 1, 2
    first = search(portal, "cdmx", rows=5, sort=STABLE)["results"]
    second = search(portal, "cdmx", rows=5, start=5, sort=STABLE)["results"]
    assert set(ids(first[:2])).isdisjoint(ids(second))
    newest = search(portal, "cdmx", rows=2, sort="metadata_modified desc")["results"]
    assert set(ids(newest)) == set(ids(first[:2])) and faults.mutate_after_pages is None
    skipped = set(ids(search(portal, "cdmx", rows=1000)["results"])) - set(ids(first + second))
    assert len(skipped) == len(portal.datasets("cdmx")) - 10


def test_stop_returns_while_a_request_hangs() -> None:
    portal = SandboxPortal().start()
    portal.faults("cdmx").hang = True
    outcome: list[Any] = []

    def hang() -> None:
        try:
            outcome.append(requests.get(portal.api_url("cdmx") + "status_show", headers=UA, timeout=30))
        except requests.RequestException as exc:
            outcome.append(exc)
    thread = threading.Thread(target=hang, daemon=True)
    thread.start()
    idle = http.client.HTTPConnection("127.0.0.1", int(portal.base_url.rsplit(":", 1)[1]), timeout=5)
    idle.request("GET", "/veracruz/api/3/action/status_show", headers=UA)
    assert idle.getresponse().read()  # a kept-alive connection, idle while we stop
    time.sleep(0.3)
    assert thread.is_alive()
    started = time.monotonic()
    portal.stop()
    assert time.monotonic() - started < 2
    thread.join(5)
    assert not thread.is_alive() and isinstance(outcome[0], requests.ConnectionError)
    with pytest.raises((http.client.HTTPException, OSError)):
        idle.request("GET", "/veracruz/api/3/action/status_show", headers=UA)
        idle.getresponse()


def test_hang_cleared_answers(portal: SandboxPortal) -> None:
    portal.faults("veracruz").hang = True
    timer = threading.Timer(0.3, lambda: setattr(portal.faults("veracruz"), "hang", False))
    timer.start()
    assert call(portal, "veracruz", "status_show").status_code == 200
    timer.join()


# Changes, the log, control -------------------------------------------------------------------------

def test_touch_delete_add_and_reset(portal: SandboxPortal) -> None:
    dataset = portal.datasets("infocdmx")[0]
    touched = portal.touch("infocdmx", dataset["name"], title="Nuevo título")
    assert touched["title"] == "Nuevo título" and touched["metadata_modified"] > dataset["metadata_modified"]
    assert len(touched["metadata_modified"]) == 26 and "{sandbox}" not in json.dumps(touched)
    newest = search(portal, "infocdmx", rows=1, sort="metadata_modified desc")["results"][0]
    assert newest["id"] == dataset["id"] and newest["title"] == "Nuevo título"
    portal.delete("infocdmx", dataset["id"])
    assert call(portal, "infocdmx", "package_show", id=dataset["id"]).status_code == 404
    assert dataset["id"] not in ids(search(portal, "infocdmx", rows=100)["results"])
    assert dataset["name"] not in call(portal, "infocdmx", "package_list").json()["result"]
    added = portal.add("infocdmx", {"title": "Conjunto añadido"})
    assert added["name"] == "conjunto-anadido" and len(added["id"]) == 36 and added["metadata_created"]
    assert call(portal, "infocdmx", "package_show", id="conjunto-anadido").json()["result"]["id"] == added["id"]
    with pytest.raises(KeyError):
        portal.touch("infocdmx", "no-such-dataset")
    portal.reset()
    restored = {d["id"]: d for d in portal.datasets("infocdmx")}
    assert restored[dataset["id"]] == dataset and added["id"] not in restored


def test_request_log(portal: SandboxPortal) -> None:
    call(portal, "infocdmx", "package_show", id="recursos-de-revision")
    call(portal, "cdmx", "package_search", rows=1)
    log = portal.requests("infocdmx")
    assert [(r.method, r.action, r.status, r.user_agent) for r in log] == [
        ("GET", "package_show", 200, UA["User-Agent"])]
    assert log[0].params == {"id": "recursos-de-revision"} and log[0].path == "/infocdmx/api/3/action/package_show"
    assert len(portal.requests()) == 2
    portal.clear_requests()
    assert portal.requests() == []


def test_control_endpoints(portal: SandboxPortal) -> None:
    base = f"{portal.base_url}/_sandbox"
    assert requests.post(f"{base}/cdmx/faults", json={"rows_max": 3, "actions": ["package_search"]}).ok
    assert portal.faults("cdmx").rows_max == 3 and portal.faults("cdmx").actions == {"package_search"}
    assert requests.post(f"{base}/cdmx/faults", json={"nonsense": 1}).status_code == 400
    call(portal, "cdmx", "status_show")
    assert requests.get(f"{base}/requests", params={"site": "cdmx"}).json() == {"count": 1}
    target = portal.datasets("cdmx")[0]
    touched = requests.post(f"{base}/cdmx/touch", json={"id": target["id"], "changes": {"notes": "x"}}).json()
    assert touched["notes"] == "x" and touched["metadata_modified"] > target["metadata_modified"]
    assert requests.post(f"{base}/cdmx/delete", json={"id": target["id"]}).ok
    assert requests.post(f"{base}/cdmx/delete", json={"id": target["id"]}).status_code == 404
    assert call(portal, "cdmx", "package_show", id=target["id"]).status_code == 404
    assert requests.post(f"{base}/reset").ok
    assert portal.faults("cdmx").rows_max == 1000 and portal.requests() == []
    assert call(portal, "cdmx", "package_show", id=target["id"]).status_code == 200


# Files -----------------------------------------------------------------------------------------------

def test_files_with_validators(portal: SandboxPortal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert requests.get(f"{portal.base_url}/files/cdmx/nope/nothing.csv").status_code == 404
    monkeypatch.setattr(server, "FILES", tmp_path)
    (tmp_path / "cdmx" / "linea-mujeres").mkdir(parents=True)
    (tmp_path / "cdmx" / "linea-mujeres" / "linea_mujeres.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    url = f"{portal.base_url}/files/cdmx/linea-mujeres/linea_mujeres.csv"
    first = requests.get(url)
    assert first.status_code == 200 and first.text == "a,b\n1,2\n" and first.headers["Content-Length"] == "8"
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert requests.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert requests.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert requests.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert requests.get(f"{portal.base_url}/files/cdmx/../../etc/passwd").status_code == 404


def test_file_paths_are_unquoted_and_stay_inside(portal: SandboxPortal, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """'Diccionario%20de%20datos.xlsx' is the file with spaces, as a web server reads it; a quoted '..' or
    '/' does not lead out of the files folder."""
    files = tmp_path / "files"
    monkeypatch.setattr(server, "FILES", files)
    (files / "cdmx" / "anvcc").mkdir(parents=True)
    (files / "cdmx" / "anvcc" / "Diccionario de datos_3 clasi.xlsx").write_bytes(b"PK libro")
    (tmp_path / "secreto.csv").write_text("no\n", encoding="utf-8")
    answer = requests.get(f"{portal.base_url}/files/cdmx/anvcc/Diccionario%20de%20datos_3%20clasi.xlsx")
    assert (answer.status_code, answer.content) == (200, b"PK libro")
    for escape in ("cdmx/%2e%2e/%2e%2e/secreto.csv", "cdmx/anvcc/..%2F..%2F..%2Fsecreto.csv", "%2E%2E/secreto.csv"):
        assert requests.get(f"{portal.base_url}/files/{escape}").status_code == 404, escape


# Generated files and their mess cases (harvester/sandbox/files.py) ------------------------------------------

def fetch(portal: SandboxPortal, key: str) -> bytes:
    answer = requests.get(f"{portal.base_url}/files/{key}", headers=UA, timeout=10)
    assert answer.status_code == 200, key
    return answer.content


def csv_rows(body: bytes, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(encoding))))


def declared(portal: SandboxPortal, key: str) -> dict[str, Any]:
    site, dataset, _ = key.split("/")
    resources = call(portal, site, "package_show", id=dataset).json()["result"]["resources"]
    return next(r for r in resources if r["url"].endswith("/files/" + key))


def test_every_mess_case_is_a_declared_and_served_file(portal: SandboxPortal) -> None:
    for name, key in MESS_CASES.items():
        assert declared(portal, key)["url"] == f"{portal.base_url}/files/{key}", name
        assert fetch(portal, key) == resource_files()[key], name


def test_html_page_behind_a_csv_link(portal: SandboxPortal) -> None:
    key = MESS_CASES["html_instead_of_file"]
    assert key.endswith(".csv") and declared(portal, key)["format"].strip(".").upper() == "CSV"
    assert fetch(portal, key).startswith(b"<!DOCTYPE html>") and b"</html>" in fetch(portal, key)
    wifi = "cdmx/wifi-gratuito/mapa_wifi.html"
    assert declared(portal, wifi)["format"] == "HTML" and fetch(portal, wifi).startswith(b"<!DOCTYPE html>")


@pytest.mark.parametrize("case, column, placeholder", [("placeholder_nd", "monto_pension", "N/D"),
                                                       ("placeholder_na", "consultorios", "NA"),
                                                       ("placeholder_dash", "capacidad", "-")])
def test_placeholders_come_after_the_first_150_rows(portal: SandboxPortal, case: str, column: str,
                                                    placeholder: str) -> None:
    header, *rows = csv_rows(fetch(portal, MESS_CASES[case]))
    values = [row[header.index(column)] for row in rows]
    assert all(v.isdigit() for v in values[:150])  # whole numbers wherever a type sample looks
    marked = [i for i, v in enumerate(values) if not v.isdigit()]
    assert marked == list(range(154, len(values), 7)) and {values[i] for i in marked} == {placeholder}


def test_placeholder_nan_and_the_metrobus_siblings(portal: SandboxPortal) -> None:
    header, *rows = csv_rows(fetch(portal, MESS_CASES["placeholder_nan"]))
    assert header == ["fecha", "anio", "mes", "linea", "afluencia"]
    assert sum(row[4] == "NaN" for row in rows) == len(range(0, 300, 9))
    tren_ligero = csv_rows(fetch(portal, MESS_CASES["sibling_columns_differ"]))[0]
    assert "linea" not in tren_ligero and sorted(tren_ligero) == sorted(set(header) - {"linea"})
    assert tren_ligero != [c for c in header if c != "linea"]  # the same columns, another order
    metro = csv_rows(fetch(portal, "cdmx/afluencia-diaria-del-metro-cdmx/afluenciastc_simple.csv"))[0]
    desglosado = csv_rows(fetch(portal, MESS_CASES["mojibake"]))
    assert metro == ["fecha", "anio", "mes", "linea", "estacion", "afluencia"]
    assert desglosado[0] == metro[:5] + ["tipo_pago", "afluencia"] and any("SuÃ¡rez" in r[4] for r in desglosado)


def test_ecobici_header_typo_and_day_first_dates(portal: SandboxPortal) -> None:
    for key in (MESS_CASES["dmy_dates_header_typo"], "cdmx/ecobici-viajes/ecobici_2024_02.csv"):
        header, *rows = csv_rows(fetch(portal, key))
        assert header == ["Genero_Usuario", "Edad_Usuario", "Bici", "Ciclo_Estacion_Retiro", "Fecha_Retiro",
                          "Hora_Retiro", "Ciclo_EstacionArribo", "Fecha_Arribo", "Hora_Arribo"]
        month = key[-6:-4]
        assert all(re.fullmatch(rf"\d\d/{month}/2024", row[4]) and row[7] == row[4] for row in rows)
        assert any(int(row[4][:2]) > 12 for row in rows)  # day first, unmistakably


def test_xlsx_with_several_sheets(portal: SandboxPortal) -> None:
    book = openpyxl.load_workbook(io.BytesIO(fetch(portal, MESS_CASES["xlsx_several_sheets"])), read_only=True)
    assert book.sheetnames == ["2023", "2024"]
    for sheet in book.worksheets:
        header, *rows = list(sheet.iter_rows(values_only=True))
        assert header == ("fecha", "hora", "alcaldia", "tipo_evento", "lesionados", "latitud", "longitud")
        assert len(rows) == 200 and {row[0].year for row in rows} == {int(sheet.title)}
        assert all(isinstance(row[1], datetime.time) and isinstance(row[4], int) for row in rows)
        assert all(19.3 <= row[5] <= 19.5 and -99.2 <= row[6] <= -99.0 for row in rows)


def test_every_other_xlsx_is_a_real_workbook(portal: SandboxPortal) -> None:
    keys = [k for k in resource_files() if k.endswith(".xlsx") and k != MESS_CASES["xlsx_several_sheets"]]
    assert len(keys) >= 10
    for key in keys:
        book = openpyxl.load_workbook(io.BytesIO(fetch(portal, key)), read_only=True)
        assert 1 <= len(book.sheetnames) <= 2, key
        for sheet in book.worksheets:
            header, *rows = list(sheet.iter_rows(values_only=True))
            assert all(isinstance(name, str) for name in header) and len(rows) >= 20, key
    assert openpyxl.load_workbook(io.BytesIO(fetch(portal, "federal/xalapa-presupuesto-2016/xal_presupuesto.xlsx")),
                                  read_only=True).sheetnames == ["ingresos", "egresos"]


def test_generated_files_are_byte_identical_across_processes() -> None:
    script = ("import hashlib, json; from harvester.sandbox.files import resource_files as r; "
              "print(json.dumps({k: hashlib.sha256(v).hexdigest() for k, v in r().items()}))")
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                      env={**os.environ, "PYTHONHASHSEED": seed}).stdout) for seed in ("1", "2")]
    assert runs[0] == runs[1] == {k: hashlib.sha256(v).hexdigest() for k, v in resource_files().items()}
    with zipfile.ZipFile(io.BytesIO(resource_files()[MESS_CASES["xlsx_several_sheets"]])) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2024, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2024-01-01T00:00:00Z") == 2  # created and modified


def test_bom_mojibake_header(portal: SandboxPortal) -> None:
    body = fetch(portal, MESS_CASES["bom_mojibake_header"])
    assert body.startswith(b"\xc3\xaf\xc2\xbb\xc2\xbfConjunto de datos,")  # 'ï»¿': the BOM read as cp1252
    assert not body.startswith(b"\xef\xbb\xbf") and body.decode("utf-8").count("PeriodicidadÃ³n") == 20


def test_lost_enye_and_opendatasoft_columns(portal: SandboxPortal) -> None:
    assert MESS_CASES["lost_enye_header"] == MESS_CASES["opendatasoft_columns"]
    body = fetch(portal, MESS_CASES["lost_enye_header"])
    header, *rows = csv_rows(body)
    assert header[0] == "ao_hechos" and header[-2:] == ["geo_point_2d", "geo_shape"]
    assert body.splitlines()[1].count(b'"') >= 2 and b',"19.30000,-99.20000",' in body  # the point, quoted
    latitude, longitude = map(float, rows[-1][-2].split(","))
    assert 19 < latitude < 20 and -100 < longitude < -99
    assert json.loads(rows[-1][-1]) == {"type": "Point", "coordinates": [longitude, latitude]}


def test_cp1252_bytes_that_latin1_readers_refuse(portal: SandboxPortal) -> None:
    body = fetch(portal, MESS_CASES["cp1252_c1_bytes"])
    assert {0x80, 0x93, 0x94, 0x96, 0x97} <= set(body)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = body.decode("cp1252")
    assert "“Programa de cuidados” – 2024" in text and "€" in text and "—" in text


def test_type_errors_late_and_a_blank_row(portal: SandboxPortal) -> None:
    lines = fetch(portal, MESS_CASES["type_errors_late"]).decode().splitlines()
    assert lines[0].endswith(",monto") and all(re.search(r",\d+$", line) for line in lines[1:299])
    assert lines[299].endswith(",sin dato") and lines[300].endswith(',"12,5"')  # file lines 300 and 301
    assert all(re.search(r",\d+$", line) for line in lines[301:])
    cendi = fetch(portal, MESS_CASES["blank_row"]).decode().splitlines()
    assert [i + 1 for i, line in enumerate(cendi) if not line.strip(",")] == [62] and cendi[61] == ",,,"
    assert len(cendi) == 122


def test_json_table_zips_and_geojson(portal: SandboxPortal) -> None:
    records = json.loads(fetch(portal, MESS_CASES["json_table"]))
    assert isinstance(records, list) and len(records) == 100 and len({tuple(r) for r in records}) == 1
    assert len(records[0]) >= 6 and {type(v) for v in records[0].values()} >= {str, int, bool}
    with zipfile.ZipFile(io.BytesIO(fetch(portal, MESS_CASES["zip_with_csv"]))) as archive:
        assert archive.namelist() == ["consumo_agua_historico.csv"]
        header, *rows = csv_rows(archive.read("consumo_agua_historico.csv"))
    assert header == ["anio", "bimestre", "alcaldia", "colonia", "consumo_m3"] and len(rows) == 300
    shapefile = MESS_CASES["shapefile_zip"]
    assert declared(portal, shapefile)["format"] == "SHP"
    with zipfile.ZipFile(io.BytesIO(fetch(portal, shapefile))) as archive:
        assert sorted(name.rsplit(".", 1)[1] for name in archive.namelist()) == ["dbf", "prj", "shp", "shx"]
    collection = json.loads(fetch(portal, MESS_CASES["geojson"]))
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 20


# Synthetic catalogs and the command line ---------------------------------------------------------------

def test_synthetic_catalog_is_deterministic_and_realistic() -> None:
    first, again = generate(300, seed=3), generate(300, seed=3)
    assert first == again and generate(300, seed=4) != first
    assert all(2 <= len(d["resources"]) <= 4 and 3 <= len(d["tags"]) <= 8 for d in first)
    assert all(200 <= len(d["notes"]) <= 600 and d["extras"] for d in first)
    assert len({d["id"] for d in first}) == 300 and len({d["organization"]["name"] for d in first}) > 40
    stamps = sorted(d["metadata_modified"] for d in first)
    assert "2015" <= stamps[0][:4] < "2018" and "2025" < stamps[-1] < "2026-11"


def test_synthetic_site_serves_the_generated_catalog(big: SandboxPortal) -> None:
    assert search(big, "synthetic", rows=0)["count"] == 3000
    assert call(big, "synthetic", "package_list", limit=5).json()["result"] == [f"conjunto-{i:06d}" for i in range(5)]
    assert len(call(big, "synthetic", "organization_list").json()["result"]) == 60
    shown = call(big, "synthetic", "package_show", id="conjunto-000042").json()["result"]
    assert shown == next(d for d in generate(43, seed=5) if d["name"] == "conjunto-000042") | {
        "resources": shown["resources"]} and shown["resources"][0]["url"].startswith(big.base_url)


def test_command_line_prints_the_sites_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "harvester.sandbox", "--synthetic", "10"], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("sandbox listening on http://127.0.0.1:")
        base = first.rsplit(" ", 1)[1]
        lines = dict(proc.stdout.readline().split() for _ in range(8))
        assert lines["cdmx"] == f"{base}/cdmx/api/3/action/" and lines["mardelplata"].endswith("?q=api/3/action/")
        assert requests.get(lines["synthetic"] + "package_search", params={"rows": 0}, headers=UA,
                            timeout=5).json()["result"]["count"] == 10
        proc.terminate()
        assert proc.wait(5) == 0
    finally:
        proc.kill()
