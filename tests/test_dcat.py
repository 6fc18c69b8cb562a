"""A CKAN's DCAT catalog as ckanext-dcat serves it (`/catalog.ttl`, hydra paging, `modified_since`), harvested
from the sandbox's CKAN sites: the same datasets, titles, dates and resource URLs as package_search; paging
problems end as a partial run that keeps what it received; a document that does not parse fails the catalog
and loses nothing stored. The same harvest against a real CKAN is in tests/test_contract.py."""
from __future__ import annotations

import pytest

from conftest import harvest_one, query_store
from harvester.config import load_settings
from harvester.errors import ConfigError

PER_PAGE = 10


COMPARED = ("SELECT d.remote_id, d.title, d.notes, d.metadata_created, d.metadata_modified, d.organization_id, "
            "d.organization_title, d.tags, d.url, d.maintainer, d.formats, list_sort(list(r.url)) AS urls, "
            "list_sort(list(r.remote_id)) AS resource_ids, list_sort(list(coalesce(r.name, ''))) AS resource_names "
            "FROM datasets d LEFT JOIN resources r ON r.catalog_id = d.catalog_id AND r.dataset_id = d.remote_id "
            "WHERE d.deleted_at IS NULL GROUP BY ALL ORDER BY d.remote_id")


def _listed(portal, site):
    """What a harvest lists: public datasets of type dataset (not the harvest sources)."""
    return [d for d in portal.datasets(site) if not d.get("private") and (d.get("type") or "dataset") == "dataset"]


def _dcat_requests(portal, site):
    return [r for r in portal.requests(site) if r.action == "dcat_catalog_show"]


def test_dcat_pages_a_ckan_catalog_and_stores_what_package_search_stores(portal, make_config, tmp_path):
    portal.dcat_per_page["cdmx"] = PER_PAGE
    searched = make_config("cdmx", data_dir=tmp_path / "search")
    assert harvest_one(searched).status == "ok"
    portal.clear_requests()
    config = make_config("cdmx", data_dir=tmp_path / "dcat", cdmx={"dcat": True})
    result = harvest_one(config)
    public = _listed(portal, "cdmx")
    pages = -(-len(public) // PER_PAGE)
    assert (result.status, result.mode, result.added, result.error) == ("ok", "dcat", len(public), None)
    assert pages >= 4 and result.notes["pages"] == pages and result.requests == pages
    assert [r.params["page"] for r in _dcat_requests(portal, "cdmx")] == [str(n) for n in range(1, pages + 1)]
    by_dcat, by_search = query_store(config, COMPARED), query_store(searched, COMPARED)
    assert [r["remote_id"] for r in by_dcat] == sorted(d["id"] for d in public)
    for dcat_row, search_row in zip(by_dcat, by_search):
        assert dcat_row == search_row
    names = query_store(config, "SELECT DISTINCT organization_name AS name FROM datasets WHERE organization_name IS NOT NULL")
    assert names and all(r["name"] for r in names)


def test_an_incremental_dcat_run_asks_for_what_changed_and_sees_a_deletion(portal, make_config):
    portal.dcat_per_page["veracruz"] = 2
    config = make_config("veracruz", veracruz={"dcat": True, "safety_margin": 0})
    first = harvest_one(config)
    assert (first.status, first.mode, first.added) == ("ok", "dcat", len(_listed(portal, "veracruz")))
    gone = portal.datasets("veracruz")[0]
    portal.delete("veracruz", gone["id"])
    changed = portal.datasets("veracruz")[0]
    portal.touch("veracruz", changed["id"], title="Presupuesto (actualizado)")
    portal.clear_requests()
    second = harvest_one(config)
    assert (second.status, second.mode, second.updated, second.deleted, second.added) == \
        ("ok", "dcat-incremental", 1, 1, 0)
    asked = _dcat_requests(portal, "veracruz")
    # the changes; the total, one short of what is held; so every id (3 pages of 2), without modified_since
    assert [(r.params["page"], "modified_since" in r.params) for r in asked] == \
        [("1", True), ("100000", False), ("1", False), ("2", False), ("3", False)]
    gone_asked = [r for r in portal.requests("veracruz") if r.action == "dcat_dataset_show"]
    assert [r.path.rsplit("/", 1)[-1] for r in gone_asked] == [f"{gone['id']}.ttl"]  # asked before calling it gone
    rows = {r["remote_id"]: r for r in query_store(config, "SELECT remote_id, title, deleted_at FROM datasets")}
    assert rows[changed["id"]]["title"] == "Presupuesto (actualizado)" and rows[changed["id"]]["deleted_at"] is None
    assert rows[gone["id"]]["deleted_at"] is not None
    portal.clear_requests()
    third = harvest_one(config)  # nothing changed: the changes (none) and the total
    assert (third.status, third.requests, third.updated, third.deleted) == ("ok", 2, 0, 0)


def test_a_dcat_document_that_does_not_parse_fails_the_catalog_in_one_line_and_keeps_what_was_stored(portal, make_config):
    config = make_config("infocdmx", infocdmx={"dcat": True})
    assert harvest_one(config).status == "ok"
    before = query_store(config, COMPARED)
    faults = portal.faults("infocdmx")
    faults.actions, faults.raw_body = {"dcat_catalog_show"}, "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<a> dcat:x [ ;"
    result = harvest_one(config)
    assert result.status == "failed"
    assert "\n" not in result.error
    assert result.error.startswith("catalog infocdmx: the DCAT catalog page at ")
    assert f"{portal.base_url}/infocdmx/catalog.ttl?" in result.error and "page=1" in result.error
    assert "does not parse as Turtle: BadSyntax" in result.error
    assert query_store(config, COMPARED) == before and len(before) == len(_listed(portal, "infocdmx"))


def test_a_catalog_whose_pages_repeat_is_a_partial_run_that_keeps_the_first_page(portal, make_config):
    portal.dcat_per_page["cdmx"] = PER_PAGE
    portal.faults("cdmx").same_page = True  # every ?page=N answers page 1, and names a next page
    config = make_config("cdmx", cdmx={"dcat": True})
    result = harvest_one(config)
    assert (result.status, result.added, result.deleted) == ("partial", PER_PAGE, 0)
    assert "page 2" in result.error and "brought no new dataset, the portal repeats its pages" in result.error
    assert result.error.endswith("kept what was received, the next run asks again")


def test_pages_capped_by_rows_max_are_an_incomplete_listing_naming_both_settings(portal, make_config):
    portal.faults("cdmx").rows_max = 7  # ckan.search.rows_max below ckanext.dcat.datasets_per_page (100)
    config = make_config("cdmx", cdmx={"dcat": True})
    result = harvest_one(config)
    public = len(_listed(portal, "cdmx"))
    assert (result.status, result.added) == ("partial", 7)
    assert f"gave 7 datasets but hydra:totalItems says {public}" in result.error
    assert "ckan.search.rows_max below ckanext.dcat.datasets_per_page" in result.error


def test_a_portal_without_a_dcat_catalog_is_harvested_with_package_search(portal, make_config):
    faults = portal.faults("veracruz")
    faults.actions, faults.fail_status, faults.fail_count = {"dcat_catalog_show"}, 404, 1
    config = make_config("veracruz", veracruz={"dcat": True})
    result = harvest_one(config)
    assert (result.status, result.mode, result.added) == ("ok", "full", len(_listed(portal, "veracruz")))
    assert result.notes["fallback"].startswith("the DCAT catalog unusable (no DCAT catalog at ")
    assert result.notes["fallback"].endswith("using package_search")


def test_an_organization_is_asked_of_the_catalog_itself(portal, make_config):
    config = make_config("xalapa", xalapa={"dcat": True})
    result = harvest_one(config)
    expected = [d["id"] for d in _listed(portal, "federal")
                if (d.get("organization") or {}).get("name") == "ayuntamiento-de-xalapa"]
    assert (result.status, result.added) == ("ok", len(expected)) and expected
    assert [r["remote_id"] for r in query_store(config, "SELECT remote_id FROM datasets ORDER BY remote_id")] == sorted(expected)
    assert {r.params["fq"] for r in _dcat_requests(portal, "federal")} == {"organization:ayuntamiento-de-xalapa"}


def test_a_dcat_answer_over_max_answer_bytes_is_refused(portal, make_config):
    config = make_config("cdmx", cdmx={"dcat": True, "max_answer_bytes": 20_000})
    result = harvest_one(config)
    assert result.status == "failed" and "max_answer_bytes 20000" in result.error
    assert "/cdmx/catalog.ttl" in result.error


def test_the_dcat_key_takes_true_or_a_turtle_catalog_url(tmp_path):
    def load(entry: str, env: dict[str, str] | None = None):
        path = tmp_path / "catalogs.toml"
        path.write_text('[catalogs.x]\ntitle = "X"\napi_url = "https://datos.example.org/api/3/action/"\n' + entry,
                        encoding="utf-8")
        return load_settings(path, env=env or {}).catalogs["x"]
    assert load("dcat = true\n").dcat_url() == "https://datos.example.org/catalog.ttl"
    assert load('dcat = "https://otro.example.org/dcat/catalog.ttl"\n').dcat_url() == \
        "https://otro.example.org/dcat/catalog.ttl"
    assert load("", {"HARVESTER_X_DCAT": "true"}).dcat == "true" and load("dcat = false\n").dcat == ""
    for bad, said in (('dcat = "https://x.org/catalog.jsonld"', "expected true, false or the URL"),
                      ("dcat = 3", "expected true, false or the URL"),
                      ('dcat = true\ngroups = ["a"]', "cannot be combined with groups"),
                      ('dcat = true\nkind = "dkan"', "cannot be combined with kind")):
        with pytest.raises(ConfigError, match=said):
            load(bad + "\n")
