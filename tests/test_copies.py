"""Issue 13, one dataset once: the Xalapa catalog is a slice of the federal portal (the same datasets, the same
remote ids), and a file republished on another portal is the same bytes. Copies are found (store/copies.py),
left out of search, and named where the kept dataset is shown. Real sandbox portal, real store."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import query_store
from harvester.config import load_settings
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.search import search
from harvester.store import Store
from harvester.validate import validate

ALLOW = '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n'


def _store(make_config, *catalogs: str, fetched: bool = False) -> Path:
    config = make_config(*catalogs)
    config.write_text(config.read_text(encoding="utf-8") + ALLOW, encoding="utf-8")
    settings = load_settings(config, env={})
    assert {r.status for r in harvest(settings)} == {"ok"}
    if fetched:
        fetch(settings)
        validate(settings)
    return config


def test_a_catalog_that_is_a_slice_of_another_is_counted_once(portal, make_config):
    config = _store(make_config, "federal", "xalapa")
    xalapa = {r["remote_id"]: r["name"] for r in query_store(config, "SELECT remote_id, name FROM datasets "
                                                                     "WHERE catalog_id = 'xalapa'")}
    assert len(xalapa) >= 5
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        copies = store.dataset_copies()
    # every Xalapa dataset is the federal portal's own, under the same id: the federal one is kept
    assert {(c.catalog_id, c.dataset_id) for c in copies} == {("xalapa", i) for i in xalapa}
    assert {c.reason for c in copies} == {"same_portal"}
    assert all(c.of_catalog_id == "federal" and c.of_dataset_id == c.dataset_id for c in copies)


def test_search_lists_each_dataset_once_and_names_where_else_it_is_published(portal, make_config, run_cli):
    config = _store(make_config, "federal", "xalapa")
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        hits = search(store, "xalapa", limit=100)
        only_xalapa = search(store, "xalapa", catalogs=["xalapa"], limit=100)
    names = [h.name for h in hits]
    assert names and len(names) == len(set(names))  # before: each Xalapa dataset twice
    assert {h.catalog_id for h in hits if h.name.startswith("xalapa-")} == {"federal"}
    mercados = next(h for h in hits if h.name == "xalapa-mercados")
    assert mercados.also_in == ("xalapa/xalapa-mercados",)
    # a search of the slice alone still finds its datasets
    assert {h.catalog_id for h in only_xalapa} == {"xalapa"} and "xalapa-mercados" in [h.name for h in only_xalapa]

    shown = run_cli("search", "mercados xalapa", "--json", config=config)
    assert shown.exit_code == 0, shown.output
    found = [h for h in json.loads(shown.stdout) if h["name"] == "xalapa-mercados"]
    assert len(found) == 1 and found[0]["also_in"] == ["xalapa/xalapa-mercados"]

    kept = run_cli("show", "federal/xalapa-mercados", config=config)
    assert "Also published at: xalapa/xalapa-mercados (the same portal" in kept.stdout
    copy = run_cli("show", "xalapa/xalapa-mercados", "--json", config=config)
    assert json.loads(copy.stdout)["copy_of"] == "federal/xalapa-mercados"


def test_a_dataset_republished_with_the_same_files_is_a_copy_and_a_shared_file_is_one_file(portal, make_config,
                                                                                            run_cli):
    """The same table republished on another portal (byte-identical files): one dataset, kept where it was
    harvested first; a single file shared with another dataset is a file copy."""
    federal = next(d for d in portal.datasets("federal") if d["name"] == "xalapa-mercados")
    portal.add("veracruz", {"name": "mercados-de-xalapa", "title": "Mercados municipales (Xalapa)",
                            "resources": [{**r, "id": f"v-{r['id']}"} for r in federal["resources"]]})
    config = _store(make_config, "federal", "veracruz", fetched=True)
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        copies = {c.ref: c for c in store.dataset_copies()}
        files = store.file_copies()
    copy = copies["veracruz/mercados-de-xalapa"]
    assert copy.reason == "same_files" and copy.of_ref == "federal/xalapa-mercados"
    assert {k.catalog_id for k in files} >= {"veracruz"}
    assert all(files[k].catalog_id == "federal" for k in files if k.catalog_id == "veracruz")
    hits = json.loads(run_cli("search", "mercados", "--json", config=config).stdout)
    assert [h["name"] for h in hits].count("mercados-de-xalapa") == 0
    assert next(h for h in hits if h["name"] == "xalapa-mercados")["also_in"] == ["veracruz/mercados-de-xalapa"]


def test_the_same_title_and_publisher_elsewhere_is_only_a_hint(portal, make_config, run_cli):
    cdmx = next(d for d in portal.datasets("cdmx") if d["name"] == "linea-mujeres")
    portal.add("veracruz", {"name": "linea-mujeres-copia", "title": cdmx["title"],
                            "organization": cdmx["organization"], "resources": []})
    config = _store(make_config, "cdmx", "veracruz")
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        assert not [c for c in store.dataset_copies() if c.catalog_id == "veracruz"]  # not left out
        similar = [(c.ref, c.of_ref) for c in store.similar_datasets()]
    assert similar == [("veracruz/linea-mujeres-copia", "cdmx/linea-mujeres")]
    shown = run_cli("show", "cdmx/linea-mujeres", config=config)
    assert "Possibly the same as: veracruz/linea-mujeres-copia" in shown.stdout
    hits = [h["name"] for h in json.loads(run_cli("search", "linea mujeres", "--json", config=config).stdout)]
    assert "linea-mujeres" in hits and "linea-mujeres-copia" in hits


def test_the_demo_packs_hold_each_dataset_and_each_file_once(demo, run_cli):
    """Before, the care-economy pack held the Xalapa guarderías twice (federal and xalapa, byte-identical)."""
    out, result = demo
    assert result.exit_code == 0, result.output
    for theme in ("care-economy", "mobility-and-women"):
        provenance = json.loads((out / "packs" / theme / "latest" / "provenance.json").read_text())["resources"]
        parts = [s for r in provenance for s in r.get("stacked_from", [r])]  # a stack's files, each
        sources = [(s["source_sha256"], s["part"]) for s in parts]
        assert len(sources) == len(set(sources)), theme  # no file packed twice
        assert not [s for s in parts if s["catalog"] == "xalapa"], theme  # the slice's copies are not packed
    # the kept table names where else it is published, in provenance.json and in both READMEs
    latest = out / "packs" / "care-economy" / "latest"
    provenance = json.loads((latest / "provenance.json").read_text())["resources"]
    kept = next(r for r in provenance if r["dataset"] == "xalapa-guarderias-municipales")
    assert (kept["catalog"], kept["also_published"]) == ("federal", ["xalapa/xalapa-guarderias-municipales"])
    assert not [r for r in provenance if r is not kept and r.get("also_published")]
    assert ("- También publicado como (en el paquete una sola vez, aquí): `xalapa/xalapa-guarderias-municipales`"
            in (latest / "README.md").read_text(encoding="utf-8"))
    assert ("- Also published as (packed once, here): `xalapa/xalapa-guarderias-municipales`"
            in (latest / "README.en.md").read_text(encoding="utf-8"))
    listed = run_cli("pack", "candidates", "care-economy", "--json", config=out / "catalogs.toml")
    candidates = json.loads(listed.stdout)["candidates"]
    refs = [c["ref"] for c in candidates]
    assert len(refs) == len(set(refs)) and not [r for r in refs if r.startswith("xalapa/")]
    guarderias = next(c for c in candidates if c["ref"] == "federal/xalapa-guarderias-municipales")
    assert guarderias["also_published"] == ["xalapa/xalapa-guarderias-municipales"]


def test_a_packed_table_names_the_datasets_holding_its_file_and_its_datasets_copies():
    """pack._published_elsewhere: of two accepted tables with the same file, the copy is left out and the kept
    one names its dataset, and so does a table whose file a dataset outside the pack holds too (the store's
    file copies, either way round); the copies of the kept table's own dataset (Candidate.also_published) are
    named too; a table with neither names nothing."""
    from types import SimpleNamespace

    from harvester.model import Dataset, PackTable, ResourceKey, TableValidation
    from harvester.pack import _published_elsewhere

    def table(catalog: str, dataset: str, resource: str) -> PackTable:
        return PackTable(dataset=Dataset(catalog, dataset, name=f"{dataset}-name"),
                         validation=TableValidation(catalog, dataset, resource, "0" * 64), resource_name=None,
                         url=None, path=f"{catalog}/{resource}.csv", changed_at=None)

    kept, copy, shared, alone = (table("federal", "d1", "r1"), table("veracruz", "d9", "r9"),
                                 table("cdmx", "d2", "r2"), table("cdmx", "d3", "r3"))
    accepted = [SimpleNamespace(catalog=t.validation.catalog_id, remote_id=t.validation.dataset_id,
                                also_published=("xalapa/d1-name",) if t is kept else ())
                for t in (kept, copy, shared, alone)]
    outside, original = ResourceKey("otro", "d7", "r7"), ResourceKey("puebla", "d8", "r8")
    copies = {copy.validation.key: kept.validation.key, outside: kept.validation.key,
              shared.validation.key: original}  # `shared` is itself the copy of a file first seen in Puebla
    names = {("veracruz", "d9"): "d9-name", ("otro", "d7"): "d7-name", ("puebla", "d8"): "d8-name"}
    packed = _published_elsewhere([kept, copy, shared, alone], accepted, copies, names)  # type: ignore[arg-type]
    assert [(t.validation.key, t.also_published) for t in packed] == [
        (kept.validation.key, ("otro/d7-name", "veracruz/d9-name", "xalapa/d1-name")),
        (shared.validation.key, ("puebla/d8-name",)), (alone.validation.key, ())]
