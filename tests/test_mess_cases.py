"""Every mess case of ../shared/REAL_WORLD.md, as the bundled sandbox serves it (harvester/sandbox/files.py),
found by the demo's own run of harvest, fetch, validate and profile."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import duckdb
import pytest
from click.testing import Result

from harvester.sandbox.files import MESS_CASES
from harvester.tables import schema_path


class Found:
    """What the demo's store says about the resource behind one sandbox file."""

    def __init__(self, con: duckdb.DuckDBPyConnection, key: str) -> None:
        site = key.split("/", 1)[0]
        rows = con.execute("SELECT * FROM resource_files WHERE catalog_id = ? AND url LIKE ?",
                           [site, f"%/files/{key}"]).fetchall()
        names = [d[0] for d in con.description]
        assert len(rows) == 1, f"{key}: {len(rows)} fetched resources"
        self.file = dict(zip(names, rows[0]))
        ids = [self.file["catalog_id"], self.file["dataset_id"], self.file["resource_id"]]
        self.tables = {r["part"]: r for r in _query(con, "SELECT * FROM validations WHERE catalog_id = ? AND "
                                                         "dataset_id = ? AND resource_id = ?", ids)}
        self.columns = {(r["part"], r["name"]): r for r in _query(
            con, "SELECT * FROM column_profiles WHERE catalog_id = ? AND dataset_id = ? AND resource_id = ?", ids)}

    @property
    def table(self) -> dict[str, Any]:
        return self.tables[""]

    def column(self, name: str, part: str = "") -> dict[str, Any]:
        return self.columns[(part, name)]

    def errors(self, part: str = "") -> list[tuple[str, int | None]]:
        return [(e["type"], e["row"]) for e in json.loads(self.tables[part]["first_errors"])]

    def error_types(self, part: str = "") -> dict[str, int]:
        return json.loads(self.tables[part]["errors_by_type"])


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def cp1252_late_accent(f: Found) -> None:
    # the first accented byte comes after 2,800 rows: decided over the whole file, every accent read right
    assert f.table["valid"] and f.table["encoding"] in ("cp1252", "latin-1")
    assert f.column("AlcaldiaHechos")["max"] == "Álvaro Obregón"


def utf8_bom_snake_case(f: Found) -> None:
    assert f.table["encoding"] == "utf-8-sig" and f.table["valid"]
    assert f.column("id_carpeta")["position"] == 0  # no BOM glued to the first name


def placeholder_nan(f: Found) -> None:
    column = f.column("afluencia")
    assert "placeholder_missing" in column["alerts"]
    details = json.loads(column["details"])  # `NaN` is no number: it is neither the max nor a quartile
    assert all(math.isfinite(v) for v in (details["min"], details["max"], *details["quartiles"]))


def sibling_columns_differ(f: Found) -> None:
    # afluencia_tl.csv (Tren Ligero) has no `linea`: its sibling's `linea` carries the alert
    assert f.table["valid"]


def mojibake(f: Found) -> None:
    assert "mojibake" in f.column("estacion")["alerts"]


def decimal_comma_latin1(f: Found) -> None:
    assert f.table["encoding"] == "latin-1"
    assert "decimal_comma" in f.column("latitud")["alerts"] and f.column("latitud")["type"] == "number"


def mixed_dates_spellings(f: Found) -> None:
    assert "mixed_date_formats" in f.column("fecha_creacion")["alerts"]
    assert "category_spellings" in f.column("alcaldia_catalogo")["alerts"]


def dmy_dates_header_typo(f: Found) -> None:
    assert f.column("Fecha_Retiro")["type"] == "date" and f.column("Ciclo_EstacionArribo")["rows"] == 500


def ragged_rows(f: Found) -> None:
    assert f.errors() == [("missing-cell", 42), ("extra-cell", 82)]


def semicolon_delimiter(f: Found) -> None:
    assert f.table["delimiter"] == ";" and f.table["valid"] and f.column("capacidad")["type"] == "integer"


def preamble_rows(f: Found) -> None:
    # INEGI: three title rows above the header, a source note below the data
    assert f.table["header_row"] == 4 and f.column("SEXO")["type"] == "integer"
    assert f.errors() == [("type-error", 405)]


def html_instead_of_file(f: Found) -> None:
    assert f.file["status"] == "html_page" and f.file["declared_format"] == "CSV" and f.tables == {}


def _placeholder(f: Found, column: str, rows: int) -> None:
    # past frictionless's 100-row sample the column is an integer, so each placeholder is a type error;
    # the profile counts them as missing and says so
    assert f.error_types() == {"type-error": len(range(154, rows, 7))}
    assert f.errors()[0] == ("type-error", 156)
    profile = f.column(column)
    assert "placeholder_missing" in profile["alerts"] and profile["type"] == "integer"
    assert json.loads(profile["details"])["placeholders"] == f.error_types()["type-error"]


def placeholder_nd(f: Found) -> None:
    _placeholder(f, "monto_pension", 300)


def placeholder_na(f: Found) -> None:
    _placeholder(f, "consultorios", 250)


def placeholder_dash(f: Found) -> None:
    _placeholder(f, "capacidad", 260)


def xlsx_several_sheets(f: Found) -> None:
    assert set(f.tables) == {"sheet:2023", "sheet:2024"}
    assert all(t["valid"] and t["rows"] == 200 and t["source"] == "xlsx sheet" for t in f.tables.values())
    assert f.column("lesionados", "sheet:2024")["type"] == "integer"
    assert f.column("fecha", "sheet:2023")["type"] == "date"


def bom_mojibake_header(f: Found) -> None:
    assert "mojibake_name" in f.column("ï»¿Conjunto de datos")["alerts"]
    assert "mojibake" in f.column("periodicidad")["alerts"]


def lost_enye_header(f: Found) -> None:
    assert f.table["valid"] and f.column("ao_hechos")["type"] == "integer"


def opendatasoft_columns(f: Found) -> None:
    assert f.column("geo_point_2d")["rows"] == 400 and f.column("geo_shape")["missing_share"] == 0


def cp1252_c1_bytes(f: Found) -> None:
    assert f.table["encoding"] == "cp1252" and f.table["valid"]
    assert "“Programa de cuidados” – 2024" in json.dumps(json.loads(f.column("descripcion")["details"]),
                                                         ensure_ascii=False)


def type_errors_late(f: Found) -> None:
    assert f.errors() == [("type-error", 300), ("type-error", 301)]
    assert "decimal_comma" not in f.column("monto")["alerts"]


def blank_row(f: Found) -> None:
    assert f.errors() == [("blank-row", 62)]


def zip_with_csv(f: Found) -> None:
    assert [(part, t["source"], t["valid"]) for part, t in f.tables.items()] == [
        ("member:consumo_agua_historico.csv", "zip member", True)]


def shapefile_zip(f: Found) -> None:
    # the layer's attribute table (a real dBase III file), its cp1252 text read as its language driver byte says
    assert f.file["sniffed_format"] == "SHP-ZIP" and set(f.tables) == {"layer:ciclovias"}
    table = f.tables["layer:ciclovias"]
    assert table["valid"] and table["rows"] == 30 and table["source"] == "shapefile attribute table"
    assert f.column("ALCALDIA", "layer:ciclovias")["max"] == "Álvaro Obregón"
    assert f.column("NOMBRE", "layer:ciclovias")["distinct_count"] == 30


def geojson(f: Found) -> None:
    assert f.file["sniffed_format"] == "GEOJSON" and f.tables["features"]["valid"]
    assert f.column("nombre", "features")["rows"] == 20


def json_table(f: Found) -> None:
    assert f.tables["json"]["valid"] and f.tables["json"]["rows"] == 100
    assert f.column("alcaldia", "json")["distinct_count"] == 16


CHECKS: dict[str, Callable[[Found], None]] = {name: check for name, check in globals().items()
                                              if name in MESS_CASES and callable(check)}


@pytest.fixture(scope="module")
def store(demo: tuple[Path, Result]) -> duckdb.DuckDBPyConnection:
    out, result = demo
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(out / "catalog.duckdb"), read_only=True)
    yield con
    con.close()


def test_every_mess_case_has_a_check():
    assert sorted(set(MESS_CASES) - set(CHECKS)) == []


@pytest.mark.parametrize("case", sorted(MESS_CASES))
def test_mess_case(case: str, store: duckdb.DuckDBPyConnection) -> None:
    CHECKS[case](Found(store, MESS_CASES[case]))


def test_sibling_resources_whose_columns_differ(store: duckdb.DuckDBPyConnection) -> None:
    simple = Found(store, "cdmx/afluencia-diaria-de-metrobus-cdmx/afluenciamb_simple.csv")
    tren_ligero = Found(store, MESS_CASES["sibling_columns_differ"])
    linea = simple.column("linea")
    assert "sibling_columns_differ" in linea["alerts"]
    assert json.loads(linea["details"])["sibling_missing_in"] == [tren_ligero.file["resource_id"]]
    assert not any("sibling_columns_differ" in c["alerts"] for c in tren_ligero.columns.values())


def test_declared_types_are_written_beside_the_tables(demo: tuple[Path, Result],
                                                     store: duckdb.DuckDBPyConnection) -> None:
    """The Table Schema sidecar of the shapefile's attribute table (its dBase field types: CVE_MUN is a
    character field of zero-padded codes) and of a workbook's sheet (its cells' types)."""
    out, _ = demo

    def declared(key: str, part: str) -> list[tuple[str, str]]:
        table = Found(store, key).tables[part]
        schema = json.loads(schema_path(out / table["table_path"]).read_text(encoding="utf-8"))
        return [(f["name"], f["type"]) for f in schema["fields"]]

    assert declared(MESS_CASES["shapefile_zip"], "layer:ciclovias") == [
        ("ID", "integer"), ("NOMBRE", "string"), ("ALCALDIA", "string"), ("CVE_MUN", "string"),
        ("LONG_KM", "number"), ("INAUGURA", "date"), ("CONFINADA", "boolean")]
    assert declared(MESS_CASES["xlsx_several_sheets"], "sheet:2024") == [
        ("fecha", "date"), ("hora", "time"), ("alcaldia", "string"), ("tipo_evento", "string"),
        ("lesionados", "integer"), ("latitud", "number"), ("longitud", "number")]
