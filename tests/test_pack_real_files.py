"""Packs built from the real-file corpus (tests/real_files.py): every stage runs over the real portal files
as in tests/test_real_files.py, and what a team reads in the pack is held against the files' own headers,
placeholders and errors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harvester.sandbox import SandboxPortal
from real_files import RealFile
from test_real_files import THEME, _fetched, _provenance, run_stages

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def run(_portal: SandboxPortal, corpus: dict[str, RealFile], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every stage over the corpus, once for the module: the data folder."""
    return run_stages(_portal, corpus, tmp_path_factory.mktemp("pack-real-files"))[0]


def _latest(data: Path) -> Path:
    return data / "packs" / THEME / "latest"


def _descriptor(data: Path, file: str, part: str = "") -> dict[str, Any]:
    fetched = _fetched(data, file)
    (entry,) = [p for p in _provenance(data) if p["resource_id"] == fetched["resource_id"]
                and (p["part"] or "") == part]
    package = json.loads((_latest(data) / "datapackage.json").read_text(encoding="utf-8"))
    (descriptor,) = [r for r in package["resources"] if r["path"] == entry["parquet"]]
    return descriptor


@pytest.mark.parametrize(("file", "original", "name"), [
    ("cdmx-bici__ciclovias.csv", "AÑO", "anio"),
    ("cdmx-ecobici__estaciones-de-ecobici.csv", "Número", "numero"),
    ("cdmx-ecobici__estaciones-de-ecobici.csv", "Código postal", "codigo_postal"),
    ("ar-pba-censo-agro__base_censo.csv", "Año del censo", "anio_del_censo"),
    ("cdmx-movilidad__mapa_ingresos_parquimetros.csv", "70% Inmovi", "c_70_pct_inmovi"),
    ("zapopan__Colonias.csv", "CalleAlumbrado%", "calle_alumbrado_pct"),
    ("xalapa-limpia__ResumenDeActividadPorVehiculoAbr2016.csv", "DISTANCIA DE VIAJE (km)", "distancia_de_viaje_km"),
])
def test_real_column_names_read_in_spanish_and_keep_their_original(run: Path, file: str, original: str,
                                                                   name: str) -> None:
    fields = _descriptor(run, file)["schema"]["fields"]
    assert {"name": name, "title": original} == {k: v for f in fields if f["title"] == original
                                                 for k, v in f.items() if k in ("name", "title")}


def test_real_files_tables_say_what_was_changed_and_what_is_wrong_in_plain_sentences(run: Path) -> None:
    parking = _descriptor(run, "cdmx-movilidad__mapa_ingresos_parquimetros.csv")
    changes = {(c["code"], c.get("column")): c for c in parking["changes"]}
    assert changes[("placeholders_null", "ingreso_po")]["es"].startswith("Columna `ingreso_po`: ")
    assert "`-`" in changes[("placeholders_null", "ingreso_po")]["es"]
    assert ("thousands", "ingreso_po") in changes and "separador de miles" in changes[("thousands", "ingreso_po")]["es"]
    assert "«70% Inmovi» → `c_70_pct_inmovi`" in changes[("names_normalized", None)]["es"]
    stations = _descriptor(run, "cdmx-ecobici__estaciones-de-ecobici.csv")
    (numero,) = [c for c in stations["changes"] if c["code"] == "placeholders_null" and c["column"] == "numero"]
    assert "`S/N` (478)" in numero["es"] and "`s/n` (1)" in numero["es"]
    events = _descriptor(run, "zapopan__Eventos.csv")
    assert any(c["code"] == "day_first" for c in events["changes"]), events["changes"]
    census = _descriptor(run, "ar-pba-censo-agro__base_censo.csv")
    (typed,) = [e for e in census["validation_errors"] if e["code"] == "type-error"]
    assert typed["count"] > 0 and "no tienen el tipo del resto de su columna" in typed["es"]
    assert any(a["code"] == "decimal_comma" and "coma decimal" in a["es"] for a in census["alerts"])
    cameras = _descriptor(run, "cdmx-transito__fotocivicas.csv")
    assert any(a["code"] == "accents_lost" and "perdió los acentos" in a["es"] for a in cameras["alerts"])
    readme = (_latest(run) / "README.md").read_text(encoding="utf-8")
    assert numero["es"] in readme and typed["es"] in readme
