"""Packs built from the real-file corpus (tests/real_files.py): every stage runs over the real portal files
as in tests/test_real_files.py, and what a team reads in the pack is held against the files' own headers,
placeholders and errors."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

import test_real_files
from harvester.places import describe_keying
from harvester.sandbox import SandboxPortal
from real_files import RealFile
from test_real_files import THEME, _fetched, _provenance, run_stages

pytestmark = pytest.mark.timeout(600)


ECOBICI = "cdmx-ecobici-viajes__2010-02.csv.zip"
CAMEL = {"Genero_Usuario": "GeneroUsuario", "Edad_Usuario": "EdadUsuario", "Ciclo_Estacion_Retiro": "CicloEstacionRetiro",
         "Ciclo_Estacion_Arribo": "Ciclo_EstacionArribo", "Fecha_Retiro": "fecha_retiro"}


def monthly_files(corpus: dict[str, RealFile]) -> dict[str, bytes]:
    """Two monthly trip files made at test time from the real Ecobici file: February as published, and the same
    trips as a "March" file the way later files are written: camelCase headers, the `Ciclo_EstacionArribo` typo,
    and one bike id written as text (so the column cannot stay a number in both)."""
    with zipfile.ZipFile(corpus[ECOBICI].path) as archive:
        (member,) = archive.namelist()
        february = archive.read(member)
    header, rest = february.split(b"\n", 1)
    for old, new in CAMEL.items():
        header = header.replace(f'"{old}"'.encode(), f'"{new}"'.encode())
    first, others = rest.split(b"\n", 1)
    cells = first.split(b",")
    cells[2] = b'"' + cells[2] + b'-A"'
    return {"ecobici_2010-02.csv": february, "ecobici_2010-03.csv": header + b"\n" + b",".join(cells) + b"\n" + others}


@pytest.fixture(scope="module")
def run(_portal: SandboxPortal, corpus: dict[str, RealFile], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every stage over the corpus (with the two monthly files beside the generated ones), once for the module:
    the data folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(test_real_files, "GENERATED", {**test_real_files.GENERATED, **monthly_files(corpus)})
        return run_stages(_portal, corpus, tmp_path_factory.mktemp("pack-real-files"))[0]


def _latest(data: Path) -> Path:
    return data / "packs" / THEME / "latest"


def _descriptor(data: Path, file: str, part: str = "") -> dict[str, Any]:
    fetched = _fetched(data, file)
    (entry,) = [p for p in _provenance(data) for source in [p, *p.get("stacked_from", [])]
                if source["resource_id"] == fetched["resource_id"] and (source["part"] or "") == part]
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


def test_real_monthly_trip_files_are_one_table_and_no_value_is_lost(run: Path, corpus: dict[str, RealFile]) -> None:
    latest = _latest(run)
    (entry,) = [e for e in json.loads((latest / "provenance.json").read_text())["resources"] if "stacked_from" in e]
    files = entry["stacked_from"]
    assert [(f["file"], f["period"]) for f in files] == [("ecobici_2010-02.csv", "2010-02"),
                                                         ("ecobici_2010-03.csv", "2010-03")]
    sources = monthly_files(corpus)
    parsed = {name: list(csv.DictReader(io.StringIO(data.decode()))) for name, data in sources.items()}
    assert [f["rows"] for f in files] == [len(parsed[f["file"]]) for f in files] == [1057, 1057]
    assert entry["rows"] == 2 * 1057
    # camelCase and the header typo line up with the published names; the mapping is in both documents
    march = files[1]["columns"]
    assert march["GeneroUsuario"] == "genero_usuario" and march["Ciclo_EstacionArribo"] == "ciclo_estacion_arribo"
    assert march["fecha_retiro"] == "fecha_retiro" and march["Bici"] == "bici"
    descriptor = _descriptor(run, "ecobici_2010-02.csv")
    assert descriptor["stacked_from"][1]["columns"] == march
    readme = (latest / "README.md").read_text(encoding="utf-8")
    assert "| Genero_Usuario | GeneroUsuario | `genero_usuario` |" in readme
    # a bike id written as text in one file: the column is the source's text in both, every value kept
    assert any(c["code"] == "type_widened" and c["column"] == "bici" for c in descriptor["changes"])
    parquet = latest / entry["parquet"]
    for f in files:
        rows = duckdb.sql(f"SELECT bici, edad_usuario, fecha_retiro, hora_arribo FROM read_parquet('{parquet}') "
                          f"WHERE origen_archivo = '{f['file']}'").fetchall()
        source = parsed[f["file"]]
        assert [r[0] for r in rows] == [s["Bici"] for s in source]
        assert [str(r[1]) for r in rows] == [s.get("Edad_Usuario") or s["EdadUsuario"] for s in source]
        assert [str(r[2]) for r in rows] == [s.get("Fecha_Retiro") or s["fecha_retiro"] for s in source]
        assert [r[3] for r in rows] == [s["Hora_Arribo"] for s in source]


def test_real_sibling_tables_that_differ_stay_apart_with_the_reason(run: Path) -> None:
    states, municipios = (_descriptor(run, f"inegi-mg__00{x}.dbf", "dbf") for x in ("ent", "mun"))
    assert not any(c["code"] == "not_stacked" for c in states["changes"])
    (why,) = [c for c in municipios["changes"] if c["code"] == "not_stacked"]
    assert "comparten 3 de 4 columnas" in why["es"] and "80%" in why["es"] and "they share 3 of 4 columns" in why["en"]
    one_column = _descriptor(run, "con_comentarios.csv")
    assert any(c["code"] == "not_stacked" for c in one_column["changes"])


def test_a_real_dictionary_sheet_describes_the_workbooks_other_sheets(run: Path) -> None:
    """INECC's workbook: sheet `Diccionario` (no header: field | description) describes the sheets' columns."""
    fields = {f["title"]: f for f in _descriptor(run, "inecc-anvcc__Diccionario de datos_3 clasi.xlsx",
                                                 "sheet:1448")["schema"]["fields"]}
    # the sheet's words and their source once, then how the pack keyed the state keys, in Spanish / English
    keying = fields["Clave Entidad_cve_ent"]["inegi_keying"]
    inegi = "(INEGI, Marco Geoestadístico 2023 (harvester/data/inegi_places.csv))"
    assert fields["Clave Entidad"]["description"] == (
        "Clave de la Entidad según INEGI (inecc-anvcc__Diccionario de datos_3 clasi.xlsx (sheet:Diccionario)). "
        f"{describe_keying(keying, 'es')} {inegi} / {describe_keying(keying, 'en')} {inegi}")
    assert describe_keying(keying, "es") == (
        "«Clave Entidad» (clave de entidad): Clave Entidad_cve_ent y Clave Entidad_nombre_oficial según INEGI (Marco "
        "Geoestadístico 2023); 1,448 de 1,448 filas con valor coinciden (100.0%).")
    assert fields["ClasVFEH"]["description"].startswith("Clasificación de la Vulnerabilidad de acuerdo a la")
    readme = (_latest(run) / "README.md").read_text(encoding="utf-8")
    assert "Clave de la Entidad según INEGI (inecc-anvcc__Diccionario de datos_3 clasi.xlsx (sheet:Diccionario))" in readme


def test_the_starter_notebook_runs_on_the_real_files_pack(run: Path, tmp_path: Path) -> None:
    from test_pack_notebook import run_notebook

    latest = _latest(run).resolve()
    names = [r["name"] for r in json.loads((latest / "datapackage.json").read_text())["resources"]]
    document = run_notebook(latest, tmp_path)
    outputs = [o for c in document.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    assert all(f"{name}: " in text for name in names)
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1
    assert not any(o.get("output_type") == "error" for o in outputs)


def test_real_tables_pack_to_the_same_bytes_from_the_profiles_counts_as_when_counted_again(
        run: Path, tmp_path: Path) -> None:
    """The pack takes each column's reading, cells present and placeholder spellings from the stored profile
    of the same file (packtable.profiled): on every real table, the same Parquet bytes and fields as a pack
    that counts everything again."""
    from dataclasses import replace

    from harvester.csvscan import declared_strings, utf8_copy
    from harvester.model import ResourceKey
    from harvester.packtable import profiled, write_table
    from harvester.paths import DataPaths
    from harvester.profile import scratch_connection
    from harvester.store import Store

    paths = DataPaths(run)
    with Store(paths.database, read_only=True) as store:
        tables = [(t, store.table_columns(ResourceKey(t.catalog_id, t.dataset_id, t.resource_id), t.part))
                  for t in store.tables_to_profile(None)]
    compared = 0
    for table, columns in tables:
        profiles = {c.name: c for c in columns}
        if not columns or columns[0].type == "error":
            continue
        source = paths.under_root(table.path)
        with utf8_copy(source, table.encoding, folder=tmp_path) as readable:
            con = scratch_connection(tmp_path)
            try:
                reused = write_table(con, readable, table.delimiter, table.header_row, profiles, tmp_path / "r.parquet",
                                     declared_strings(source), sha256=table.sha256)
                counted = write_table(con, readable, table.delimiter, table.header_row,
                                      {n: replace(c, rules=None) for n, c in profiles.items()}, tmp_path / "c.parquet",
                                      declared_strings(source), sha256=table.sha256)
            finally:
                con.close()
        names = [c.name for c in columns]
        if len(set(names)) == len(names):
            assert profiled(profiles, names, table.sha256, columns[0].rows) is not None, table.path
            compared += 1
        assert [replace(f, profile=None) for f in reused] == [replace(f, profile=None) for f in counted], table.path
        assert (tmp_path / "r.parquet").read_bytes() == (tmp_path / "c.parquet").read_bytes(), table.path
    assert compared >= 20
