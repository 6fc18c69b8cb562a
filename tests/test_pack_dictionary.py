"""Issue 13: a pack's data dictionary has the descriptions and value labels the portals give (a dictionary
resource of the same dataset, DCAT `field` metadata), and a dataset's documentation files are under `docs/`."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from harvester.packdict import dcat_fields, read_dictionary
from harvester.sandbox.files import resource_files
from real_files import RealFile


@pytest.fixture(scope="module")
def care(demo) -> Path:
    out, result = demo
    assert result.exit_code == 0, result.output
    return out / "packs" / "care-economy" / "latest"


def _fields(latest: Path, dataset: str, resource: str) -> dict[str, dict[str, Any]]:
    provenance = json.loads((latest / "provenance.json").read_text())["resources"]
    (entry,) = [e for e in provenance if e["dataset"] == dataset and e["resource"].endswith(resource)]
    package = json.loads((latest / "datapackage.json").read_text())
    (descriptor,) = [r for r in package["resources"] if r["name"] == entry["resource"]]
    return {f["title"]: f for f in descriptor["schema"]["fields"]}


def test_a_dictionary_resource_describes_its_datasets_columns_and_labels_coded_values(care: Path):
    fields = _fields(care, "encuesta_nacional_uso_del_tiempo_enut_2019", "microdatos_enut_2019")
    assert fields["SEXO"]["description"] == (  # the portal's words, then the pack's in Spanish / English
        "Sexo de la persona (Diccionario de datos). Números enteros (int64 en el archivo Parquet), con algunos "
        "faltantes. / Whole numbers (int64 in the Parquet file), some missing.")
    assert fields["SEXO"]["value_labels"] == {"1": "Hombre", "2": "Mujer"}
    assert fields["FAC_PER"]["description"].startswith("Factor de expansión: cuántas personas representa")
    assert "value_labels" not in fields["EDAD_V"] and fields["EDAD_V"]["description"].startswith("Edad en años")
    readme = (care / "README.md").read_text(encoding="utf-8")
    assert "| Sexo de la persona — `1` = Hombre; `2` = Mujer (Diccionario de datos) |" in readme
    # the dictionary stays a table of its own, and does not describe itself
    own = _fields(care, "encuesta_nacional_uso_del_tiempo_enut_2019", "diccionario_de_datos")
    assert own and not any("(Diccionario de datos)" in f.get("description", "") or "value_labels" in f
                           for f in own.values())


def test_documentation_files_are_copied_under_docs(care: Path):
    provenance = json.loads((care / "provenance.json").read_text())
    (doc,) = [d for d in provenance["docs"] if d["dataset"] == "federal/encuesta_nacional_uso_del_tiempo_enut_2019"]
    assert doc["path"] == "docs/federal__encuesta_nacional_uso_del_tiempo_enut_2019__descriptor.pdf"
    data = (care / doc["path"]).read_bytes()
    assert data == resource_files()["federal/encuesta_nacional_uso_del_tiempo_enut_2019/enut_fd.pdf"]
    assert doc["sha256"] == hashlib.sha256(data).hexdigest()
    sums = (care / "SHA256SUMS").read_text()
    assert f"{doc['sha256']}  {doc['path']}" in sums
    assert f"`{doc['path']}`" in (care / "README.md").read_text(encoding="utf-8")


def test_real_dcat_field_metadata_describes_its_distributions_columns(corpus: dict[str, RealFile]):
    catalog = json.loads(corpus["ar-justicia-datajson__catalogo_justicia.json"].path.read_text(encoding="utf-8"))
    (dataset,) = [d for d in catalog["dataset"] if d["title"].startswith("Base de datos legislativos Infoleg")]
    distribution = next(d for d in dataset["distribution"] if d.get("field"))
    book = dcat_fields(json.dumps({"dcat": dataset}), distribution["downloadURL"])
    assert book is not None and book.source == "DCAT field"
    assert book.describe("id_norma") == ("Identificador único de la norma dentro de la base de datos.", {})
    assert book.describe("TIPO_NORMA")[0] == "Tipo legal de la norma (Ley, Decreto, etc.)."
    assert len(book.descriptions) == len([f for f in distribution["field"] if f.get("description")])
    assert dcat_fields(json.dumps({"dcat": dataset}), "http://elsewhere/other.csv") is None


def test_a_headerless_two_column_dictionary_reads_its_first_row_too():
    book = read_dictionary("Diccionario", ["clave_entidad", "clave_de_la_entidad_segun_inegi"],
                           ["Clave Entidad", "Clave de la Entidad según INEGI"],
                           [("Nombre Entidad", "Nombre de la Entidad según INEGI"), ("Clave Región ", "Clave de la Región")],
                           named=True)
    assert book is not None
    assert book.describe("clave_entidad")[0] == "Clave de la Entidad según INEGI"
    assert book.describe("Clave Región")[0] == "Clave de la Región"
    assert read_dictionary("Datos", ["a", "b"], ["a", "b"], [("x", "y")], named=False) is None
