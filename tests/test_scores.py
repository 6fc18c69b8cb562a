"""`harvester show`: MQA arithmetic, stars, freshness, link health and datathon usefulness."""
from __future__ import annotations

import json

from harvester.config import load_settings
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.profile import profile
from harvester.validate import validate

CSV = "fecha,sexo,edad,alcaldia,colonia,latitud,longitud\n" + "".join(
    f"2023-0{i % 9 + 1}-1{i % 9},{'Mujer' if i % 2 else 'Hombre'},{20 + i},Tlalpan,Centro,19.3{i},-99.1{i}\n"
    for i in range(60))


def test_show_scores(portal, make_config, httpserver, run_cli):
    httpserver.expect_request("/v.csv").respond_with_data(CSV)
    httpserver.expect_request("/d.pdf").respond_with_data("", status=404)
    portal.add("veracruz", {
        "name": "victimas-prueba", "title": "Víctimas (prueba)", "license_id": "cc-by-4.0",
        "maintainer_email": "datos@example.org", "metadata_created": "2020-01-01T00:00:00",
        "tags": [{"name": "víctimas"}], "groups": [{"name": "seguridad"}],
        "organization": {"id": "o1", "name": "fiscalia", "title": "Fiscalía"},
        "extras": [{"key": "frecuencia", "value": "R/P1Y"}],
        "resources": [{"id": "r-csv", "name": "Víctimas", "format": "CSV", "url": httpserver.url_for("/v.csv")},
                      {"id": "r-pdf", "name": "Diccionario", "format": "PDF", "url": httpserver.url_for("/d.pdf")}]})
    config = make_config("veracruz")
    config.write_text(config.read_text() + '\n[fetch]\nallow_hosts = ["localhost"]\n')
    settings = load_settings(config, env={})
    harvest(settings, ["veracruz"])
    fetch(settings, datasets=["victimas-prueba"])
    validate(settings)
    profile(settings)
    result = run_cli("show", "veracruz/victimas-prueba", "--json", config=config)
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    # keywords 30 + themes 30; reachable 25 + present 20 + reachable 15; format 20 + vocabulary 10 +
    # non-proprietary 10 + machine-readable 10; licence 20 + vocabulary 10 + contact 20 + publisher 10;
    # issued 5 + modified 5.
    assert scores["mqa"]["total"] == 240 and scores["mqa"]["band"] == "good"
    assert scores["mqa"]["dimensions"] == {"findability": 60, "accessibility": 60, "interoperability": 50,
                                           "reusability": 60, "contextuality": 10}
    by_id = {r["id"]: r for r in scores["resources"]}
    assert by_id["r-csv"]["stars"] == 3 and by_id["r-csv"]["valid"] is True
    assert by_id["r-pdf"]["stars"] == 0 and by_id["r-pdf"]["link_status"] == "not_found"
    assert scores["link_health"] == {"checked": 2, "ok": 1, "share_ok": 0.5}
    assert scores["freshness"]["declared_frequency"] == "R/P1Y" and scores["freshness"]["verdict"] == "fresh"
    assert scores["usefulness"]["by_sex_or_gender"] == ["sexo"]
    assert scores["usefulness"]["geographic_levels"] == ["alcaldía/municipio", "colonia", "coordinates"]
    assert scores["usefulness"]["time_coverage"][0].startswith("2023-01")
    text = run_cli("show", "veracruz/victimas-prueba", config=config)
    assert "Metadata quality (MQA): 240/405, good" in text.stdout


def test_show_unknown_dataset(portal, make_config, run_cli):
    config = make_config("veracruz")
    harvest(load_settings(config, env={}), ["veracruz"])
    result = run_cli("show", "veracruz/nope", config=config)
    assert result.exit_code == 1 and result.stderr == "Error: no dataset veracruz/nope in the store\n"


def test_bulk_scores_are_each_datasets_own_scores(demo):
    """The site scores every dataset in a few queries per batch: the same scores as one at a time."""
    import json as _json

    from harvester.scores import all_scores, dataset_scores
    from harvester.store import Store

    out, result = demo
    assert result.exit_code == 0, result.output
    with Store(out / "catalog.duckdb", read_only=True) as store:
        bulk = all_scores(store, batch=7)  # batches that split catalogs
        current = store.query("SELECT count(*) AS n FROM datasets WHERE deleted_at IS NULL")[0]["n"]
        assert len(bulk) == current > 100
        for (catalog, remote_id), scores in bulk.items():
            alone = dataset_scores(store, catalog, remote_id)
            assert _json.dumps(scores.as_dict(), sort_keys=True, default=str) == \
                _json.dumps(alone.as_dict(), sort_keys=True, default=str)


def test_ages_are_calendar_days_so_they_change_only_at_midnight():
    from datetime import datetime as _dt

    from harvester.model import Dataset, replace
    from harvester.scores import freshness
    dataset = Dataset(catalog_id="cdmx", remote_id="d1", extras="[]", metadata_modified=_dt(2026, 11, 22, 23, 59))
    assert freshness(dataset, [], _dt(2026, 11, 23, 0, 1)).age_days == 1
    assert freshness(dataset, [], _dt(2026, 11, 23, 23, 58)).age_days == 1  # the same all day
    assert freshness(replace(dataset, metadata_modified=_dt(2026, 11, 23, 0, 1)), [], _dt(2026, 11, 23, 23, 59)) \
        .age_days == 0
