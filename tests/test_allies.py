"""The publishers as allies (harvester/allies.py) on the demo's store: each dataset once, what is wrong with
each named, and a Spanish message an organizer can send."""
from __future__ import annotations

from dataclasses import dataclass, replace

from harvester import allies
from harvester.linkstatus import FAILURES
from harvester.model import BrokenLink, PublisherFacts
from harvester.store import Store


def _gathered(demo, rows=None):
    out, _ = demo
    with Store(out / "catalog.duckdb", read_only=True) as store:
        facts, copies = store.publisher_facts(), store.dataset_copies()
    return facts, copies, allies.gather(facts, rows or {}, copies)


def _ally(found, name):
    (ally,) = [a for a in found if a.name == name]
    return ally


def test_a_publisher_s_broken_links_and_closed_licences_are_named_in_its_message(demo) -> None:
    _, _, found = _gathered(demo)
    c5 = _ally(found, "Centro de Comando, Control, Cómputo, Comunicaciones y Contacto Ciudadano (C5)")
    assert c5.slug == "centro-de-comando-control-computo-comunicaciones-y-contacto-ciudadano-c5"
    assert [b.resource for d in c5.broken for b in d.broken] == ["Llamadas 911 primer semestre"]
    assert {d.ref: d.licence for d in c5.unlicensed} == {"cdmx/llamadas-911": "Other (Not Open)",
                                                        "cdmx/camaras-del-c5": None}
    assert "datos@c5.gob.mx" in c5.emails
    text = allies.request_text(c5, "Movilidad, seguridad y mujeres")
    assert text.startswith("Asunto: Datos abiertos de Centro de Comando")
    assert "el datatón «Movilidad, seguridad y mujeres»" in text
    assert ("- «Llamadas al 911» (cdmx/llamadas-911): «Llamadas 911 primer semestre»: se recibe una página web en "
            "lugar del archivo") in text
    assert "- «Cámaras de videovigilancia del C5» (cdmx/camaras-del-c5): sin licencia" in text
    assert "Sin licencia abierta" in text and "Enlaces que no descargan el archivo (1):" in text


def test_a_catalog_that_is_a_slice_of_another_counts_its_datasets_once(demo) -> None:
    facts, copies, found = _gathered(demo)
    xalapa = _ally(found, "H. Ayuntamiento de Xalapa")
    published = [f for f in facts if f.organization_title == "H. Ayuntamiento de Xalapa"]
    slice_copies = [c for c in copies if c.catalog_id == "xalapa"]
    assert len(slice_copies) == 8 and len(published) == 16
    assert len(xalapa.datasets) == 8 and {d.catalog_id for d in xalapa.datasets} == {"federal"}
    assert sorted(r for d in xalapa.datasets for r in d.also_in) == sorted(c.ref for c in slice_copies)
    assert sum(len(a.datasets) for a in found) == len(facts) - len({(c.catalog_id, c.dataset_id) for c in copies})


@dataclass(frozen=True)
class Row:
    ref: str
    page: str
    mqa_total: float = 100.0
    mqa_band: str = "sufficient"
    verdict: str = "fresh"
    age_days: int | None = 10
    tables: int = 1
    valid_tables: int = 1


def test_stale_data_and_invalid_tables_come_from_the_site_s_rows_and_a_publisher_with_nothing_wrong_is_thanked(
        ) -> None:
    fact = PublisherFacts("cdmx", "1", "viajes", "Viajes", "semovi", "Secretaría de Movilidad (SEMOVI)", "cc-by",
                          "Creative Commons Attribution", (("Datos SEMOVI", "datos@semovi.cdmx.gob.mx"),))
    other = replace(fact, remote_id="2", name="aforos", title="Aforos")
    rows = {"cdmx/viajes": Row("cdmx/viajes", "datasets/cdmx/viajes.html", verdict="stale", age_days=800),
            "cdmx/aforos": Row("cdmx/aforos", "datasets/cdmx/aforos.html", tables=3, valid_tables=1)}
    (semovi,) = allies.gather([fact, other], rows)
    text = allies.request_text(semovi)
    assert "Hola, Datos SEMOVI:" in text and "un datatón" in text
    assert "- «Viajes» (cdmx/viajes): sin cambios desde hace 2 años" in text
    assert "- «Aforos» (cdmx/aforos): 2 de 3 tablas no pasan la validación" in text
    assert "Enlaces" not in text and "Sin licencia" not in text
    assert semovi.datasets[0].page in {"datasets/cdmx/viajes.html", "datasets/cdmx/aforos.html"}
    (fine,) = allies.gather([fact], {"cdmx/viajes": Row("cdmx/viajes", "datasets/cdmx/viajes.html")})
    thanked = allies.request_text(fine)
    assert "No encontramos problemas" in thanked and "Encontramos lo siguiente" not in thanked


def test_every_failing_link_status_has_its_sentence_and_the_http_code_is_given() -> None:
    assert set(allies.LINK_WHY) == set(FAILURES)
    assert allies._why(BrokenLink("a.csv", "not_found", None, 404)) == "no se encuentra (HTTP 404)"
    assert allies._why(BrokenLink("a.csv", "timeout")) == "no responde a tiempo"


def test_two_publishers_whose_names_fold_to_one_page_name_get_two_pages() -> None:
    a = PublisherFacts("cdmx", "1", "a", "A", "x", "Secretaría de Obras", None, None, ())
    b = PublisherFacts("federal", "2", "b", "B", "y", "Secretaria de Obras!", None, None, ())
    c = PublisherFacts("puebla", "3", "c", "C", "z", "Secretaría  de  Obras (Puebla)", None, None, ())
    found = allies.gather([a, b, c], {})
    assert [x.slug for x in found] == ["secretaria-de-obras", "secretaria-de-obras-puebla"]
    assert found[0].ids == (("cdmx", "x"), ("federal", "y"))  # one publisher, wherever it publishes
