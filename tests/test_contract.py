"""One contract, two portals: the same harvests against the sandbox and against a real CKAN 2.11 with Solr 9
(scripts/ckan), both on 127.0.0.1, seeded with the same datasets. Wherever the two can be compared they must
agree; `test_the_sandbox_and_the_real_ckan_store_the_same_rows` compares what the harvester stored from each."""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from ckanapi import RemoteCKAN

from conftest import FAST, harvest_one, query_store, toml_value
from harvester.config import load_settings
from harvester.harvest import harvest
from harvester.progress import SilentProgress
from harvester.sandbox.server import LICENSES
from realckan import RealCkan, start

ROWS_MAX = 5  # both portals cap package_search's rows here, so every full harvest pages
ORGS = {"movilidad-contrato": "Movilidad (contrato)", "cuidados-contrato": "Cuidados (contrato)"}


def _dataset(name: str, org: str, title: str, *, private: bool = False, formats: tuple[str, ...] = ("CSV",),
             tags: tuple[str, ...] = ("contrato",)) -> dict[str, Any]:
    return {"name": name, "title": title, "notes": f"Notas de {title}", "owner_org": org, "private": private,
            "license_id": "cc-by", "tags": [{"name": t} for t in tags],
            "resources": [{"name": f"{name}-{i}", "url": f"http://127.0.0.1:9/{name}-{i}.{f.lower()}", "format": f}
                          for i, f in enumerate(formats)]}


SEED = [
    _dataset("mov-metro", "movilidad-contrato", "Afluencia del Metro", formats=("CSV", "XLSX"), tags=("metro", "movilidad")),
    _dataset("mov-metrobus", "movilidad-contrato", "Afluencia de Metrobús", tags=("metrobus",)),
    _dataset("mov-ciclovias", "movilidad-contrato", "Ciclovías", formats=("CSV", "GeoJSON")),
    _dataset("mov-senderos", "movilidad-contrato", "Senderos seguros para mujeres", tags=("mujeres", "seguridad")),
    _dataset("mov-privado", "movilidad-contrato", "Borrador privado", private=True),
    _dataset("cui-caci", "cuidados-contrato", "Centros de Atención y Cuidado Infantil", tags=("cuidados",)),
    _dataset("cui-estancias", "cuidados-contrato", "Estancias infantiles"),
    _dataset("cui-enut", "cuidados-contrato", "Encuesta Nacional sobre Uso del Tiempo", formats=("CSV", "PDF")),
]
PUBLIC = sorted(d["name"] for d in SEED if not d["private"])


@dataclass
class Side:
    """One portal under contract: where its Action API is, and how to seed and change it."""

    name: str
    api_url: str
    create: Callable[[dict[str, Any]], None]
    patch: Callable[..., None]
    delete: Callable[[str], None]


def _licences(folder: Path) -> Path:
    """The sandbox's licence register as a CKAN licence file: a portal lists its own licences (datos.cdmx.gob.mx
    adds CC BY 4.0 to CKAN's defaults), and both portals must give a licence id the same title."""
    path = folder / "licencias.json"
    path.write_text(json.dumps([{"id": key, "title": title, "od_conformance": "approved" if is_open else "not reviewed",
                                 "url": ""} for key, (title, is_open) in LICENSES.items()]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def real_ckan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCkan]:
    scratch = tmp_path_factory.mktemp("contract-ckan")
    ckan = start(scratch, {"licenses_group_url": f"file://{_licences(scratch)}",
                           "ckanext.dcat.datasets_per_page": DCAT_PER_PAGE}, rows_max=ROWS_MAX)
    try:
        yield ckan
    finally:
        ckan.stop()


def _sandbox_side(portal: Any) -> Side:
    site = "veracruz"
    for dataset in portal.datasets(site):
        portal.delete(site, dataset["id"])
    portal.faults(site).rows_max = ROWS_MAX
    ids = {name: f"org-{i}-{name}" for i, name in enumerate(ORGS)}

    def create(dataset: dict[str, Any]) -> None:
        new = copy.deepcopy(dataset)
        org = new["owner_org"]
        new["owner_org"] = ids[org]
        new["organization"] = {"id": ids[org], "name": org, "title": ORGS[org], "description": "",
                               "image_url": ""}
        portal.add(site, new)

    return Side("sandbox", portal.api_url(site), create,
                lambda name, **changes: portal.touch(site, name, **changes) and None,
                lambda name: portal.delete(site, name))


def _ckan_side(ckan: RealCkan) -> Side:
    ckan.reset()
    admin = RemoteCKAN(ckan.site_url, apikey=ckan.token)
    for name, title in ORGS.items():
        admin.action.organization_create(name=name, title=title)

    def create(dataset: dict[str, Any]) -> None:
        admin.action.package_create(**dataset)

    return Side("ckan", ckan.api_url, create, lambda name, **changes: admin.action.package_patch(id=name, **changes)
                and None, lambda name: admin.action.package_delete(id=name))


@pytest.fixture(params=["sandbox", "ckan"])
def side(request: pytest.FixtureRequest, portal: Any) -> Side:
    chosen = _sandbox_side(portal) if request.param == "sandbox" else _ckan_side(request.getfixturevalue("real_ckan"))
    for dataset in SEED:
        chosen.create(dataset)
    return chosen


def _config(tmp_path: Path, side: Side, **catalog: Any) -> Path:
    entry = {"title": f"contrato ({side.name})", "api_url": side.api_url, "safety_margin": 0, **FAST, **catalog}
    lines = ["[harvester]", f"data_dir = {toml_value(str(tmp_path / ('data-' + side.name)))}", "",
             "[catalogs.contrato]"] + [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    path = tmp_path / f"catalogs-{side.name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _current(config: Path) -> list[str]:
    return [r["name"] for r in query_store(config, "SELECT name FROM datasets WHERE deleted_at IS NULL ORDER BY name")]


def test_a_full_harvest_pages_past_the_rows_cap_and_sees_only_public_datasets(side, tmp_path):
    config = _config(tmp_path, side)
    result = harvest_one(config)
    assert (result.status, result.mode, result.added, result.error) == ("ok", "full", len(PUBLIC), None)
    assert result.notes.get("rows_cap") == ROWS_MAX and result.notes.get("pages", 0) >= 2
    assert _current(config) == PUBLIC  # the private dataset is not seen anonymously


def test_an_incremental_run_picks_up_a_patch_in_at_most_3_requests(side, tmp_path):
    config = _config(tmp_path, side)
    # The seed a second in the past: a run's window ends at the server's Date header, cut to the second,
    # so what changed in the same second is asked again next time (as unchanged), by design.
    time.sleep(1.1)
    assert harvest_one(config).status == "ok"
    side.patch("mov-metrobus", title="Afluencia diaria de Metrobús")
    result = harvest_one(config)
    assert (result.status, result.mode, result.updated, result.added, result.deleted) == ("ok", "incremental", 1, 0, 0)
    assert result.requests <= 3, result.requests
    titles = {r["name"]: r["title"] for r in query_store(config, "SELECT name, title FROM datasets")}
    assert titles["mov-metrobus"] == "Afluencia diaria de Metrobús"


def test_a_deleted_dataset_is_marked_and_kept_as_history(side, tmp_path):
    config = _config(tmp_path, side)
    assert harvest_one(config).status == "ok"
    side.delete("cui-estancias")
    result = harvest_one(config)
    assert (result.status, result.deleted) == ("ok", 1)
    assert _current(config) == [n for n in PUBLIC if n != "cui-estancias"]
    kept = query_store(config, "SELECT title, deleted_at FROM datasets WHERE name = 'cui-estancias'")
    assert len(kept) == 1 and kept[0]["title"] == "Estancias infantiles" and kept[0]["deleted_at"] is not None


def test_an_organization_filter_harvests_that_publisher_only(side, tmp_path):
    config = _config(tmp_path, side, organization="cuidados-contrato")
    result = harvest_one(config)
    assert (result.status, result.added) == ("ok", 3)
    assert _current(config) == ["cui-caci", "cui-enut", "cui-estancias"]


def test_list_mode_sees_the_same_datasets(side, tmp_path):
    config = _config(tmp_path, side, kind="dkan")  # package_list + package_show, as for a DKAN portal
    result = harvest_one(config)
    assert (result.status, result.mode, result.added) == ("ok", "list", len(PUBLIC))
    assert _current(config) == PUBLIC


class _ChangeAfterFirstPage(SilentProgress):
    """Changes the portal while a harvest pages: the listing reports each page, and after the first one
    this waits past the second the run's window ends in and makes `change`."""

    def __init__(self, change: Callable[[], None]) -> None:
        self.change, self.pages = change, 0

    def update(self, task: str, done: int, total: int | None = None) -> None:
        self.pages += 1
        if self.pages == 1:
            time.sleep(1.1)
            self.change()


def _first_page(side: Side) -> list[str]:
    """The names on the first page of a full harvest's listing, as the portal orders it now."""
    answer = requests.get(side.api_url.rstrip("/") + "/package_search",
                          params={"sort": "metadata_modified asc, id asc", "rows": ROWS_MAX}, timeout=30)
    return [r["name"] for r in answer.json()["result"]["results"]]


def test_datasets_changing_while_paged_are_neither_lost_nor_doubled(side, tmp_path):
    """Pages of 5 in `metadata_modified, id` order. Between the first page and the second, one dataset
    already received and one not yet received are patched, one already received is deleted and one is
    created. The run keeps every dataset left alone: on the sandbox the seed shares one millisecond, and
    skipping the received ties by offset jumped over the unread dataset on page 2 once two of them had
    moved away. The next, incremental, run brings the store to what the portal holds now, each dataset
    once."""
    config = _config(tmp_path, side)
    time.sleep(1.1)  # the seed in a past second, so the first run's window holds all of it
    first_page = _first_page(side)
    later = [n for n in PUBLIC if n not in first_page]
    assert len(first_page) == ROWS_MAX and len(later) == len(PUBLIC) - ROWS_MAX == 2
    received, deleted, patched = first_page[0], first_page[1], later[0]

    def change() -> None:
        side.patch(received, title="Título corregido")
        side.patch(patched, title="Título nuevo")
        side.delete(deleted)
        side.create(_dataset("cui-nuevo", "cuidados-contrato", "Cuidados: datos nuevos"))

    progress = _ChangeAfterFirstPage(change)
    [first] = harvest(load_settings(config, env={}), progress=progress)
    assert progress.pages >= 2 and (first.status, first.mode, first.error) == ("ok", "full", None)
    untouched = set(PUBLIC) - {received, deleted, patched}
    assert untouched | {received, deleted} <= set(_current(config)) <= set(PUBLIC)
    second = harvest_one(config)
    assert (second.status, second.mode) == ("ok", "incremental")
    now = sorted((set(PUBLIC) - {deleted}) | {"cui-nuevo"})
    assert _current(config) == now
    rows = query_store(config, "SELECT name, title FROM datasets WHERE deleted_at IS NULL")
    assert len(rows) == len(now)  # each dataset once
    titles = {r["name"]: r["title"] for r in rows}
    assert (titles[received], titles[patched]) == ("Título corregido", "Título nuevo")


def test_catalogs_probe_reads_status_show(side, tmp_path, run_cli):
    result = run_cli("catalogs", "--probe", "--json", config=_config(tmp_path, side))
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)
    probe = entry["probe"]
    assert probe["reachable"] is True and str(probe["ckan_version"]).startswith("2.")
    assert probe["package_search"] is True and probe["datasets"] == len(PUBLIC)


def test_an_uploaded_resource_is_fetched_from_ckans_own_download_url(real_ckan, tmp_path):
    """FileStore uploads are the real CKAN's own (the sandbox has none): fetched like any link."""
    real_ckan.reset()
    admin = RemoteCKAN(real_ckan.site_url, apikey=real_ckan.token)
    admin.action.organization_create(name="subidas", title="Subidas")
    dataset = admin.action.package_create(name="con-subida", title="Con subida", owner_org="subidas")
    data = "clave,municipio,mujeres\n001,Zapopan,12\n009,Álvaro Obregón,7\n".encode("utf-8")
    upload = tmp_path / "tabla.csv"
    upload.write_bytes(data)
    with upload.open("rb") as handle:
        admin.action.resource_create(package_id=dataset["id"], name="tabla", format="CSV", upload=handle)
    side = Side("ckan", real_ckan.api_url, lambda d: None, lambda *a, **k: None, lambda n: None)
    config = _config(tmp_path, side)
    config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n', encoding="utf-8")
    assert harvest_one(config).status == "ok"
    from harvester.fetch import fetch
    from harvester.validate import validate
    summary = fetch(load_settings(config, env={}))
    assert summary.by_status == {"ok": 1}
    [row] = query_store(config, "SELECT f.status, f.size, f.final_url, r.url_type FROM resource_files f JOIN resources r "
                          "ON r.catalog_id = f.catalog_id AND r.remote_id = f.resource_id")
    assert (row["status"], row["size"], row["url_type"]) == ("ok", len(data), "upload")
    assert row["final_url"].startswith(real_ckan.site_url + "/dataset/")
    assert validate(load_settings(config, env={})).valid == 1


SNAPSHOT_SITE = "cdmx"
SEEDED = ("name", "title", "notes", "author", "author_email", "maintainer", "maintainer_email", "license_id", "url",
          "version")


def _seed_snapshot(ckan: RealCkan, datasets: list[dict[str, Any]], scratch: Path) -> None:
    """The sandbox site's datasets, created in the real CKAN through its Action API as a sysadmin: their
    organizations and groups, each resource in order, uploads into CKAN's own FileStore with the bytes the
    sandbox serves, and harvest sources through ckanext-harvest."""
    ckan.reset()
    admin = RemoteCKAN(ckan.site_url, apikey=ckan.token)
    for org in {d["organization"]["name"]: d["organization"] for d in datasets if d.get("organization")}.values():
        admin.action.organization_create(name=org["name"], title=org["title"], description=org.get("description", ""))
    for group in {g["name"]: g for d in datasets for g in d["groups"]}.values():
        admin.action.group_create(name=group["name"], title=group["title"], description=group.get("description", ""))
    for dataset in datasets:
        fields = {k: dataset[k] for k in SEEDED if dataset.get(k) is not None}
        owner = (dataset.get("organization") or {}).get("name")
        if dataset["type"] == "harvest":
            admin.action.harvest_source_create(**fields, source_type=dataset["source_type"], owner_org=owner,
                                               frequency=dataset["frequency"])
            continue
        created = admin.action.package_create(
            **fields, owner_org=owner, private=dataset["private"], tags=[{"name": t["name"]} for t in dataset["tags"]],
            groups=[{"name": g["name"]} for g in dataset["groups"]],
            extras=[{"key": e["key"], "value": e["value"]} for e in dataset["extras"]])
        for resource in dataset["resources"]:
            described = {k: resource[k] for k in ("name", "description", "format", "mimetype")
                         if resource.get(k) is not None}
            if resource.get("url_type") != "upload":
                admin.action.resource_create(package_id=created["id"], url=resource["url"], **described)
                continue
            upload = scratch / resource["id"] / resource["url"].rsplit("/", 1)[-1]
            upload.parent.mkdir(parents=True)
            upload.write_bytes(requests.get(resource["url"], timeout=30).content)
            with upload.open("rb") as handle:
                admin.action.resource_create(package_id=created["id"], upload=handle, **described)


def _stored(config: Path) -> dict[str, Any]:
    """What a harvest and a fetch stored, without what each portal makes up for itself (ids, times)."""
    datasets = query_store(config, f"SELECT {COMPARED} FROM datasets ORDER BY name")
    resources = query_store(config, "SELECT d.name AS dataset, r.position, r.name, r.description, r.format, r.url_type, "
                              "f.status, f.sha256, r.url FROM resources r "
                              "JOIN datasets d ON d.catalog_id = r.catalog_id AND d.remote_id = r.dataset_id "
                              "LEFT JOIN resource_files f ON f.catalog_id = r.catalog_id AND f.resource_id = r.remote_id "
                              "ORDER BY dataset, r.position")
    organizations = query_store(config, "SELECT name, title FROM organizations ORDER BY name")
    return {"datasets": datasets, "resources": resources, "organizations": organizations}


def _differences(left: list[dict[str, Any]], right: list[dict[str, Any]], key: str) -> list[Any]:
    pairs = zip(left, right)
    return [(a.get(key), {k: (v, b.get(k)) for k, v in a.items() if v != b.get(k)}) for a, b in pairs if a != b]


@pytest.mark.timeout(900)
def test_the_sandbox_snapshot_seeded_into_the_real_ckan_is_harvested_and_fetched_alike(portal, real_ckan, tmp_path):
    """The sandbox's CDMX portal (47 datasets, uploads, harvest sources), seeded into the real CKAN; both
    harvested and fetched: the same datasets, resources, organizations and the very same bytes, uploads
    coming from CKAN's own FileStore."""
    snapshot = portal.datasets(SNAPSHOT_SITE)
    _seed_snapshot(real_ckan, snapshot, tmp_path / "uploads")
    apis = {"sandbox": RemoteCKAN(portal.api_url(SNAPSHOT_SITE).removesuffix("/api/3/action/")),
            "ckan": RemoteCKAN(real_ckan.site_url)}
    listed = {name: (api.action.package_list(),
                     [(o["name"], o["package_count"]) for o in api.action.organization_list(all_fields=True)],
                     [(g["name"], g["package_count"]) for g in api.action.group_list(all_fields=True)])
              for name, api in apis.items()}
    assert listed["sandbox"] == listed["ckan"]  # package_list names harvest sources; package counts do not
    assert "cosecha-datos-gob-mx" in listed["ckan"][0]
    from harvester.fetch import fetch
    stored = {}
    for side in (Side("sandbox", portal.api_url(SNAPSHOT_SITE), *(lambda *a, **k: None,) * 3),
                 Side("ckan", real_ckan.api_url, *(lambda *a, **k: None,) * 3)):
        config = _config(tmp_path, side, rows=1000)
        # CKAN's own robots.txt asks `Crawl-Delay: 10`, which the fetch honours up to max_wait: 48 uploads
        # from one host would take 8 minutes here
        config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n'
                          'max_wait = 0.2\n', encoding="utf-8")
        assert harvest_one(config).status == "ok"
        fetch(load_settings(config, env={}))
        stored[side.name] = _stored(config)
    sandbox, ckan = stored["sandbox"], stored["ckan"]
    assert len(sandbox["datasets"]) == len([d for d in snapshot if d["type"] == "dataset"]) == 45
    # CKAN guesses an empty format from the URL when a resource is created (if_empty_guess_format); the
    # snapshot keeps one from before, as long-lived portals have them
    differences = _differences(sandbox["datasets"], ckan["datasets"], "name")
    assert differences == [("cetram", {"formats": ([], ["CSV"])})], differences
    assert sandbox["organizations"] == ckan["organizations"]
    uploads = [r for r in ckan["resources"] if r["url_type"] == "upload"]
    assert uploads and all(r["url"].startswith(real_ckan.site_url + "/dataset/") for r in uploads)
    for rows in (sandbox["resources"], ckan["resources"]):
        for row in rows:
            if row["url_type"] == "upload":
                row["url"] = row["url"].rsplit("/", 1)[-1]  # the FileStore's URL ends in the file's name
    differences = _differences(sandbox["resources"], ckan["resources"], "dataset")
    assert differences == [("cetram", {"format": (None, "CSV")})], differences
    assert sum(r["status"] == "ok" for r in ckan["resources"]) >= len(uploads)
    for name, api_url in (("sandbox-list", portal.api_url(SNAPSHOT_SITE)), ("ckan-list", real_ckan.api_url)):
        config = _config(tmp_path, Side(name, api_url, *(lambda *a, **k: None,) * 3), kind="dkan")
        assert harvest_one(config).mode == "list"  # package_list names the harvest sources; they are left out
        assert _current(config) == [d["name"] for d in sandbox["datasets"]], name


COMPARED = ("name, title, notes, organization_name, organization_title, tags, groups, license_id, license_title, "
            "formats, type, state, author, maintainer, url, version")


def test_the_sandbox_and_the_real_ckan_store_the_same_rows(portal, real_ckan, tmp_path):
    stored = {}
    for chosen in (_sandbox_side(portal), _ckan_side(real_ckan)):
        for dataset in SEED:
            chosen.create(dataset)
        config = _config(tmp_path, chosen)
        assert harvest_one(config).status == "ok"
        datasets = query_store(config, f"SELECT {COMPARED} FROM datasets ORDER BY name")
        resources = query_store(config, "SELECT d.name AS dataset, r.position, r.name, r.description, r.url, r.format, "
                                  "r.mimetype, r.size, r.url_type, r.hash FROM resources r "
                                  "JOIN datasets d ON d.catalog_id = r.catalog_id AND d.remote_id = r.dataset_id "
                                  "ORDER BY dataset, r.position")
        organizations = query_store(config, "SELECT name, title FROM organizations ORDER BY name")
        stored[chosen.name] = (datasets, resources, organizations)
    for sandbox_row, ckan_row in zip(stored["sandbox"][0], stored["ckan"][0]):
        assert {k: v for k, v in sandbox_row.items() if v != ckan_row[k]} == \
            {k: v for k, v in ckan_row.items() if v != sandbox_row[k]}
    assert stored["sandbox"][0] == stored["ckan"][0]
    assert stored["sandbox"][1] == stored["ckan"][1]
    assert stored["sandbox"][2] == stored["ckan"][2]


# DCAT (harvester/connectors/dcat.py): ckanext-dcat's paged Turtle catalog -------------------------------------

DCAT_PER_PAGE = 3  # ckanext.dcat.datasets_per_page on both portals (set on the real one where it starts): 3 pages
DCAT_COMPARED = ("SELECT d.remote_id, d.title, d.notes, d.metadata_created, d.metadata_modified, d.organization_id, "
                 "d.organization_title, d.tags, list_sort(d.formats) AS formats, list_sort(list(r.url)) AS urls, "
                 "list_sort(list(r.remote_id)) AS resource_ids FROM datasets d LEFT JOIN resources r "
                 "ON r.catalog_id = d.catalog_id AND r.dataset_id = d.remote_id AND r.deleted_at IS NULL "
                 "WHERE d.deleted_at IS NULL GROUP BY ALL ORDER BY d.remote_id")


def _dcat_side(side: Side, portal: Any) -> None:
    if side.name == "sandbox":
        portal.dcat_per_page["veracruz"] = DCAT_PER_PAGE


def test_a_dcat_harvest_pages_and_stores_what_package_search_stores(side, portal, tmp_path):
    _dcat_side(side, portal)
    (tmp_path / "search").mkdir()
    (tmp_path / "dcat").mkdir()
    searched = _config(tmp_path / "search", side)
    assert harvest_one(searched).status == "ok"
    config = _config(tmp_path / "dcat", side, dcat=True)
    result = harvest_one(config)
    assert (result.status, result.mode, result.added, result.error) == ("ok", "dcat", len(PUBLIC), None)
    assert result.notes["pages"] == result.requests == -(-len(PUBLIC) // DCAT_PER_PAGE) == 3
    by_dcat, by_search = query_store(config, DCAT_COMPARED), query_store(searched, DCAT_COMPARED)
    assert len(by_dcat) == len(PUBLIC) and by_dcat == by_search  # ids, titles, dates, resource URLs, ...
    names = query_store(config, "SELECT DISTINCT organization_name FROM datasets ORDER BY 1")
    assert [r["organization_name"] for r in names] == sorted(ORGS)  # the slug of each title stands in


def test_an_incremental_dcat_run_sees_a_patch_and_a_deletion(side, portal, tmp_path):
    _dcat_side(side, portal)
    config = _config(tmp_path, side, dcat=True)
    time.sleep(1.1)  # as in test_an_incremental_run_picks_up_a_patch_in_at_most_3_requests
    assert harvest_one(config).status == "ok"
    side.patch("mov-metrobus", title="Afluencia diaria de Metrobús")
    side.delete("cui-estancias")
    result = harvest_one(config)
    assert (result.status, result.mode, result.updated, result.deleted, result.added) == \
        ("ok", "dcat-incremental", 1, 1, 0)
    rows = {r["title"]: r["deleted_at"] for r in query_store(config, "SELECT title, deleted_at FROM datasets")}
    assert rows["Afluencia diaria de Metrobús"] is None and rows["Estancias infantiles"] is not None
    assert len([t for t, gone in rows.items() if gone is None]) == len(PUBLIC) - 1


def test_dcat_gives_resource_urls_as_ckanext_dcat_cleans_them(side, portal, tmp_path):
    _dcat_side(side, portal)
    odd = _dataset("cui-url-rara", "cuidados-contrato", "URL con espacios")
    odd["resources"][0]["url"] = "http://127.0.0.1:9/datos abiertos (2024),v1.csv"
    side.create(odd)
    (tmp_path / "search").mkdir()
    searched = _config(tmp_path / "search", side)
    assert harvest_one(searched).status == "ok"
    config = _config(tmp_path, side, dcat=True)
    assert harvest_one(config).status == "ok"
    sql = "SELECT r.url FROM resources r JOIN datasets d ON d.remote_id = r.dataset_id WHERE d.title = 'URL con espacios'"
    assert query_store(searched, sql) == [{"url": "http://127.0.0.1:9/datos abiertos (2024),v1.csv"}]
    assert query_store(config, sql) == [{"url": "http://127.0.0.1:9/datos%20abiertos%20%282024%29%2Cv1.csv"}]


def _turtle_shape(url: str) -> tuple[str, list[str], set[tuple[str, str, str]]]:
    """A catalog page's content type, prefix lines and shape: (subject's type, predicate, object's kind)."""
    import requests
    from rdflib import RDF, BNode, Graph, Literal
    answer = requests.get(url, timeout=30)
    graph = Graph().parse(data=answer.content, format="turtle")
    shape = set()
    for subject, predicate, obj in graph:
        kind = "bnode" if isinstance(obj, BNode) else str(obj.datatype or "literal") if isinstance(obj, Literal) \
            else str(obj) if predicate == RDF.type else "uri"
        types = sorted(str(t) for t in graph.objects(subject, RDF.type)) or ["untyped"]
        shape.add((types[0], str(predicate), kind))
    prefixes = [line for line in answer.text.splitlines() if line.startswith("@prefix")]
    return answer.headers["Content-Type"], prefixes, shape


def test_the_sandbox_serves_the_dcat_catalog_in_the_real_ckans_shape(portal, real_ckan):
    shapes = {}
    for chosen, site_url in ((_sandbox_side(portal), f"{portal.base_url}/veracruz"),
                             (_ckan_side(real_ckan), real_ckan.site_url)):
        _dcat_side(chosen, portal)
        for dataset in SEED:
            chosen.create(dataset)
        shapes[chosen.name] = [_turtle_shape(f"{site_url}/catalog.ttl?page={n}") for n in (1, 2, 3)]
    catalog = "http://www.w3.org/ns/dcat#Catalog"
    for sandbox_page, ckan_page in zip(shapes["sandbox"], shapes["ckan"]):
        assert sandbox_page[:2] == ckan_page[:2]  # Content-Type, prefixes
        # the catalog's own description and language are the site's settings; everything else is the same
        assert {s for s in sandbox_page[2] if s[0] != catalog} == {s for s in ckan_page[2] if s[0] != catalog}
