"""Smoke test of the real CKAN (scripts/ckan, tests/realckan.py): CKAN 2.11 with ckanext-dcat and
ckanext-harvest, its own PostgreSQL, Redis and Solr 9, seeded through the Action API as a
sysadmin and read anonymously."""
from __future__ import annotations

import os
from typing import Iterator

import pytest
import requests
from ckanapi import NotAuthorized, NotFound, RemoteCKAN

from realckan import RealCkan, start

@pytest.fixture(scope="module")
def real_ckan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCkan]:
    ckan = start(tmp_path_factory.mktemp("realckan"))
    try:
        yield ckan
    finally:
        ckan.stop()


# The first test that uses the fixture pays for install (first time on a machine) and start.
@pytest.mark.timeout(1800)
def test_seeded_datasets_are_seen_anonymously_and_private_ones_are_not(real_ckan: RealCkan,
                                                                        tmp_path) -> None:
    admin = RemoteCKAN(real_ckan.site_url, apikey=real_ckan.token)
    anon = RemoteCKAN(real_ckan.site_url)
    assert real_ckan.api_url == real_ckan.site_url + "/api/3/action/"

    status = anon.action.status_show()
    assert status["ckan_version"].startswith(("2.11.", "2.12."))
    assert {"dcat", "dcat_json_interface", "harvest"} <= set(status["extensions"])

    org = admin.action.organization_create(name="smoke-org", title="Smoke organization")
    upload = tmp_path / "tabla.csv"
    upload.write_bytes("clave,nombre\n001,Ñuñoa\n".encode("utf-8"))
    public = admin.action.package_create(
        name="smoke-public", title="Conjunto público", owner_org=org["id"],
        notes="Un conjunto de prueba", tags=[{"name": "prueba"}],
        resources=[{"name": "externa", "url": "http://127.0.0.1:9/externa.csv", "format": "CSV"}])
    with upload.open("rb") as handle:
        uploaded = admin.action.resource_create(package_id=public["id"], name="subida",
                                                format="CSV", upload=handle)
    admin.action.package_create(name="smoke-private", title="Conjunto privado",
                                owner_org=org["id"], private=True)
    # ckanext-harvest: a harvest source is a dataset of type "harvest".
    source = admin.action.harvest_source_create(name="smoke-source", title="Fuente",
                                                url="http://127.0.0.1:9/", source_type="ckan",
                                                owner_org=org["id"])
    assert source["type"] == "harvest"

    # Solr: the anonymous search sees the public dataset, not the private one.
    found = anon.action.package_search(q="*:*", rows=10)
    assert [d["name"] for d in found["results"]] == ["smoke-public"]
    assert found["count"] == 1
    assert anon.action.package_search(q="público")["count"] == 1
    assert anon.action.package_search(fq="organization:smoke-org")["count"] == 1
    # The sysadmin sees both when asking for private ones too.
    assert admin.action.package_search(q="*:*", include_private=True)["count"] == 2

    shown = anon.action.package_show(id="smoke-public")
    assert shown["organization"]["name"] == "smoke-org"
    assert {r["name"] for r in shown["resources"]} == {"externa", "subida"}
    # As on real portals with ckanext-harvest: package_search leaves harvest sources out unless
    # asked for their type, package_list does not.
    assert anon.action.package_search(fq="dataset_type:harvest")["count"] == 1
    assert anon.action.package_list() == ["smoke-public", "smoke-source"]
    assert anon.action.organization_list() == ["smoke-org"]
    with pytest.raises((NotAuthorized, NotFound)):
        anon.action.package_show(id="smoke-private")

    # FileStore: the uploaded file comes back byte for byte from CKAN's own download URL.
    assert uploaded["url_type"] == "upload"
    assert uploaded["url"].startswith(real_ckan.site_url + "/dataset/")
    got = requests.get(uploaded["url"], timeout=10)
    assert got.status_code == 200 and got.content == upload.read_bytes()

    # ckanext-dcat: the catalog endpoint lists the public dataset and not the private one.
    catalog = requests.get(real_ckan.site_url + "/catalog.ttl", timeout=10)
    assert catalog.status_code == 200
    # Served as text/turtle with no charset: decode as Turtle says (UTF-8), not as requests guesses.
    text = catalog.content.decode("utf-8")
    assert "Conjunto público" in text and "Conjunto privado" not in text


@pytest.mark.timeout(300)
def test_package_search_rows_are_capped_by_rows_max(real_ckan: RealCkan) -> None:
    """ckan.search.rows_max (50 unless CKAN_ROWS_MAX says otherwise) caps `rows` without a word."""
    rows_max = int(os.environ.get("CKAN_ROWS_MAX", "50"))
    admin = RemoteCKAN(real_ckan.site_url, apikey=real_ckan.token)
    anon = RemoteCKAN(real_ckan.site_url)
    org = admin.action.organization_create(name="paging-org")
    for n in range(rows_max + 3):
        admin.action.package_create(name=f"paging-{n:03d}", owner_org=org["id"])
    page = anon.action.package_search(fq="organization:paging-org", rows=1000, sort="name asc")
    assert page["count"] == rows_max + 3
    assert len(page["results"]) == rows_max
    rest = anon.action.package_search(fq="organization:paging-org", rows=1000, start=rows_max,
                                      sort="name asc")
    assert [d["name"] for d in rest["results"]] == [f"paging-{n:03d}" for n in range(rows_max, rows_max + 3)]


@pytest.mark.timeout(300)
def test_reset_leaves_an_empty_portal(real_ckan: RealCkan) -> None:
    admin = RemoteCKAN(real_ckan.site_url, apikey=real_ckan.token)
    org = admin.action.organization_create(name="reset-org")
    admin.action.package_create(name="reset-private", owner_org=org["id"], private=True)
    admin.action.package_create(name="reset-deleted", owner_org=org["id"])
    admin.action.package_delete(id="reset-deleted")
    admin.action.group_create(name="reset-group")
    real_ckan.reset()
    assert admin.action.package_search(q="*:*", fq="+dataset_type:*", include_private=True,
                                       include_drafts=True, include_deleted=True)["count"] == 0
    assert admin.action.package_list() == []
    assert admin.action.organization_list() == []
    assert admin.action.group_list() == []
    with pytest.raises(NotFound):
        admin.action.package_show(id="reset-deleted")
    # The portal still works, and a name can be taken again.
    admin.action.organization_create(name="reset-org")
