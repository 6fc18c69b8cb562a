"""Tables inside files (XLSX sheets, JSON tables, CSVs in ZIPs), sibling columns and the store migration,
fetched over real HTTP from pytest-httpserver; sheets as their workbooks declare them (two-row headers, cell
types in the Table Schema sidecar, date-formatted serial numbers), from workbooks built here and the real
CONAPO and INECC ones."""
from __future__ import annotations

import csv
import datetime
import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest
import xlwt

import real_files

from harvester.config import load_settings
from harvester.dialect import detect_dialect
from harvester.fetch import fetch
from harvester.profile import profile
from harvester.sandbox.files import zip_bytes
from harvester.sniff import sniff
from harvester.store import SCHEMA_VERSION, Store
from harvester.tables import Table, extract_tables, schema_path
from harvester.validate import validate
from tests.test_fetch import setup


def workbook() -> bytes:
    book = openpyxl.Workbook()
    first = book.active
    first.title = "2023"
    first.append(["fecha", "alcaldia", "lesionados"])
    for i in range(30):
        first.append([f"2023-01-{i % 28 + 1:02d}", "Tlalpan", i])
    second = book.create_sheet("2024")
    second.append(["Hechos de tránsito 2024"])  # a title row above the header
    second.append([])
    second.append(["fecha", "alcaldia", "lesionados"])
    for i in range(150):  # frictionless infers types from the first 100 rows: the bad cell comes later
        second.append([f"2024-01-{i % 28 + 1:02d}", "Coyoacán", "dos" if i == 120 else i])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def tables(config) -> dict[tuple[str, str], dict[str, Any]]:
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        return {(r["resource_id"], r["part"]): r for r in store.query("SELECT * FROM validations")}


def run(config) -> tuple[Any, Any]:
    settings = load_settings(config, env={})
    fetch(settings, datasets=["prueba-recursos"])
    return validate(settings), profile(settings)


def test_sheets_json_and_zip_members_are_validated_and_profiled(portal, make_config, httpserver):
    records = [{"id": i, "tramite": f"Trámite {i}", "costo": 10 * i} for i in range(140)]
    records[125]["costo"] = "gratuito"
    cp1252 = "alcaldia,total\n" + "Tlalpan,1\n" * 50 + "Álvaro Obregón “Centro”,2\n"
    httpserver.expect_request("/hechos.xlsx").respond_with_data(workbook())
    httpserver.expect_request("/tramites.json").respond_with_data(json.dumps(records))
    httpserver.expect_request("/historico.zip").respond_with_data(zip_bytes({
        "historico/consumo_2019.csv": cp1252.encode("cp1252"), "historico/LEAME.pdf": b"%PDF-1.4\n%%EOF\n",
        "historico/consumo_2020.csv": b"alcaldia,total\nTlalpan,1\nTlalpan,2,3\n"}))
    config = setup(portal, make_config, httpserver, [("Hechos", "XLSX", "/hechos.xlsx"),
                                                     ("Trámites", "JSON", "/tramites.json"),
                                                     ("Histórico", "ZIP", "/historico.zip")])
    validated, profiled = run(config)
    found = tables(config)
    assert set(found) == {("res-0", "sheet:2023"), ("res-0", "sheet:2024"), ("res-1", "json"),
                          ("res-2", "member:historico/consumo_2019.csv"), ("res-2", "member:historico/consumo_2020.csv")}
    assert validated.validated == 5 and validated.invalid == 3
    assert found[("res-0", "sheet:2023")]["valid"] and found[("res-0", "sheet:2023")]["rows"] == 30
    sheet = found[("res-0", "sheet:2024")]
    assert sheet["header_row"] == 3 and not sheet["valid"]
    assert [(e["type"], e["row"], e["field"]) for e in json.loads(sheet["first_errors"])] == [
        ("type-error", 124, "lesionados")]
    assert [(e["type"], e["row"]) for e in json.loads(found[("res-1", "json")]["first_errors"])] == [("type-error", 127)]
    member = found[("res-2", "member:historico/consumo_2019.csv")]
    assert member["valid"] and member["encoding"] == "cp1252" and member["source"] == "zip member"
    assert json.loads(found[("res-2", "member:historico/consumo_2020.csv")]["errors_by_type"]) == {"extra-cell": 1}
    # every table is profiled, under its part
    assert profiled.profiled == 3 and profiled.failed == 0
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        parts = {(r["resource_id"], r["part"], r["name"]): r for r in store.query("SELECT * FROM column_profiles")}
    assert parts[("res-0", "sheet:2024", "lesionados")]["rows"] == 150
    assert parts[("res-1", "json", "tramite")]["distinct_count"] == 140 and parts[("res-1", "json", "id")]["type"] == "integer"
    assert "Álvaro Obregón" in json.dumps(parts[("res-2", "member:historico/consumo_2019.csv", "alcaldia")]["details"],
                                          ensure_ascii=False)
    again = run(config)
    assert (again[0].validated, again[0].unchanged, again[1].profiled, again[1].unchanged) == (0, 3, 0, 3)


def test_members_of_one_name_are_each_a_table_of_its_own_part(portal, make_config, httpserver):
    """A ZIP appended to twice holds members of the same name: the store keeps one validation per part, so
    a repeat with other contents gets a numbered part, an identical repeat is left out with a note, and two
    names that clean to one file name ('a b.csv', 'a_b.csv') no longer overwrite each other's copy."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name: that is the point
        archive.writestr("datos.csv", "alcaldia,total\nTlalpan,1\n")
        archive.writestr("datos.csv", "alcaldia,total\nTlalpan,1\nCoyoacán,dos\n")
        archive.writestr("datos.csv", "alcaldia,total\nTlalpan,1\n")  # the first one again, byte for byte
        archive.writestr("a b.csv", "x,y\n1,2\n")
        archive.writestr("a_b.csv", "x,y,z\n1,2,3\n")
    httpserver.expect_request("/repetido.zip").respond_with_data(buffer.getvalue())
    config = setup(portal, make_config, httpserver, [("Repetido", "ZIP", "/repetido.zip")])
    validated, profiled = run(config)
    found = tables(config)
    assert set(found) == {("res-0", "member:datos.csv"), ("res-0", "member:datos.csv (2)"),
                          ("res-0", "member:a b.csv"), ("res-0", "member:a_b.csv")}
    assert validated.validated == 4 and validated.invalid == 0 and profiled.profiled == 1 and profiled.failed == 0
    assert (found[("res-0", "member:datos.csv")]["rows"], found[("res-0", "member:datos.csv (2)")]["rows"]) == (1, 2)
    root = load_settings(config, env={}).paths.root
    assert len({found[k]["table_path"] for k in found}) == 4
    reports = {k[1]: json.loads((root / found[k]["report_path"]).read_text(encoding="utf-8")) for k in found}
    assert reports["member:datos.csv"]["note"] == "an identical copy of this member in the archive left out"
    assert "more than one table named 'member:datos.csv'" in reports["member:datos.csv (2)"]["note"]
    assert "note" not in reports["member:a b.csv"] and reports["member:a_b.csv"]["header"] == ["x", "y", "z"]
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        columns = store.query("SELECT part, name, type FROM column_profiles ORDER BY part, position")
    assert [(c["part"], c["name"]) for c in columns if c["part"].startswith("member:datos")] == [
        ("member:datos.csv", "alcaldia"), ("member:datos.csv", "total"),
        ("member:datos.csv (2)", "alcaldia"), ("member:datos.csv (2)", "total")]
    assert [c["type"] for c in columns if c["part"] == "member:datos.csv (2)"] == ["string", "string"]


def test_a_broken_workbook_is_one_error_naming_the_file(portal, make_config, httpserver):
    broken = zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook>"})
    httpserver.expect_request("/roto.xlsx").respond_with_data(broken)
    config = setup(portal, make_config, httpserver, [("Roto", "XLSX", "/roto.xlsx")])
    validated, _ = run(config)
    row = tables(config)[("res-0", "")]
    assert validated.invalid == 1 and not row["valid"]
    error = json.loads(row["first_errors"])[0]
    assert error["type"] == "table-error" and "res-0.xlsx: unreadable XLSX" in error["message"]
    assert "\n" not in error["message"]


def test_sibling_tables_whose_columns_differ(portal, make_config, httpserver):
    rows = "".join(f"2024-01-{d:02d},2024,1,Línea {d % 7 + 1},{4000 + d}\n" for d in range(1, 28))
    httpserver.expect_request("/mb.csv").respond_with_data("fecha,anio,mes,linea,afluencia\n" + rows)
    tl = "".join(f"{4000 + d},2024,1,2024-01-{d:02d}\n" for d in range(1, 28))
    httpserver.expect_request("/tl.csv").respond_with_data("afluencia,anio,mes,fecha\n" + tl)
    httpserver.expect_request("/diccionario.csv").respond_with_data("campo,descripcion\nfecha,Fecha\nanio,Año\n")
    config = setup(portal, make_config, httpserver, [("Metrobús", "CSV", "/mb.csv"), ("Tren Ligero", "CSV", "/tl.csv"),
                                                     ("Diccionario", "CSV", "/diccionario.csv")])
    _, profiled = run(config)
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        flagged = store.query("SELECT resource_id, name, details->'sibling_missing_in' AS missing_in "
                              "FROM column_profiles WHERE list_contains(alerts, 'sibling_columns_differ')")
    # the Tren Ligero file has no `linea`; the data dictionary is not a sibling of either
    assert [(r["resource_id"], r["name"], json.loads(r["missing_in"])) for r in flagged] == [("res-0", "linea", ["res-1"])]
    assert profiled.alerts["sibling_columns_differ"] == 1


def test_a_version_1_store_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    con.execute("INSERT INTO schema_version VALUES (1)")
    con.execute("""CREATE TABLE validations (catalog_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL,
        resource_id VARCHAR NOT NULL, sha256 VARCHAR, valid BOOLEAN, encoding VARCHAR, delimiter VARCHAR,
        header_row INTEGER, rows BIGINT, error_count BIGINT, errors_by_type JSON, first_errors JSON,
        report_path VARCHAR, seconds DOUBLE, validated_at TIMESTAMP)""")
    con.execute("INSERT INTO validations (catalog_id, dataset_id, resource_id, sha256, valid) "
                "VALUES ('cdmx', 'd1', 'r1', 'abc', true)")
    con.close()
    with Store(path) as store:
        assert store.query("SELECT max(version) AS v FROM schema_version")[0]["v"] == SCHEMA_VERSION
        kept = store.query("SELECT resource_id, part, valid FROM validations")
    assert kept == [{"resource_id": "r1", "part": "", "valid": True}]


# Sheets as the workbook declares them: two-row headers, cell types, dates --------------------------------

def _extract(tmp_path: Path, name: str, data: bytes) -> dict[str, Table]:
    path = tmp_path / name
    path.write_bytes(data)
    return {t.part: t for t in extract_tables(path, sniff(path), max_member_bytes=50 << 20)}


def _rows(table: Table) -> list[list[str]]:
    with table.path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _declared(table: Table) -> list[tuple[str, str]]:
    assert table.schema == schema_path(table.path)
    return [(f["name"], f["type"]) for f in json.loads(table.schema.read_text(encoding="utf-8"))["fields"]]


CONAPO = [["Población por entidad federativa, 2020"], [],
          ["Clave", "Entidad", "Población", None, None, "Viviendas", None],
          [None, None, "Hombres", "Mujeres", "Total", "Habitadas", "Total"],
          ["01", "Aguascalientes", 696683, 728924, 1425607, 386671, 458360],
          ["09", "Ciudad de México", 4404927, 4804017, 9209944, 2756319, 3036416],
          ["32", "Zacatecas", 793733, 828405, 1622138, 421927, 528312]]
JOINED = ["Clave", "Entidad", "Población Hombres", "Población Mujeres", "Población Total", "Viviendas Habitadas",
          "Viviendas Total"]


def test_a_two_row_workbook_header_becomes_one_row(tmp_path: Path) -> None:
    """INEGI/CONAPO layout: a title merged over the table, a blank row, group cells merged over their
    sub-headers ('Población' over 'Hombres | Mujeres | Total') and labels merged down both rows."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Cuadro 1"
    for row in CONAPO:
        sheet.append(row)
    for cells in ("A1:G1", "A3:A4", "B3:B4", "C3:E3", "F3:G3"):
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    table = _extract(tmp_path, "poblacion.xlsx", buffer.getvalue())["sheet:Cuadro 1"]
    assert _rows(table) == [["Población por entidad federativa, 2020"], [], JOINED,
                            ["01", "Aguascalientes", "696683", "728924", "1425607", "386671", "458360"],
                            ["09", "Ciudad de México", "4404927", "4804017", "9209944", "2756319", "3036416"],
                            ["32", "Zacatecas", "793733", "828405", "1622138", "421927", "528312"]]
    assert table.note == ("the header spans two rows (sheet rows 3 and 4: group cells merged over sub-headers): "
                          "written as one row, each sub-header after its group's label")
    # the validator finds the joined header after the title rows; the text codes stay text
    assert detect_dialect(table.path, "utf-8", ",").header_row == 3
    assert _declared(table) == [("Clave", "string"), ("Entidad", "string")] + [(n, "integer") for n in JOINED[2:]]


def test_a_two_row_header_in_an_xls_workbook_and_years_as_sub_headers(tmp_path: Path) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Cuadro 2")
    sheet.write_merge(0, 0, 0, 3, "Defunciones por año")
    sheet.write_merge(1, 2, 0, 0, "Entidad")
    sheet.write_merge(1, 1, 1, 3, "Defunciones")
    for column, year in enumerate((2019, 2020, 2021), 1):
        sheet.write(2, column, year)  # the years are number cells
    for row, values in enumerate([("Jalisco", 49622, 71373, 72001), ("Oaxaca", 24518, 32021, 30011)], 3):
        for column, value in enumerate(values):
            sheet.write(row, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    table = _extract(tmp_path, "defunciones.xls", buffer.getvalue())["sheet:Cuadro 2"]
    assert _rows(table) == [["Defunciones por año"], ["Entidad", "Defunciones 2019", "Defunciones 2020",
                                                       "Defunciones 2021"],
                            ["Jalisco", "49622", "71373", "72001"], ["Oaxaca", "24518", "32021", "30011"]]
    assert "sheet rows 2 and 3" in table.note and table.source == "xls sheet"
    assert _declared(table) == [("Entidad", "string"), ("Defunciones 2019", "integer"),
                                ("Defunciones 2020", "integer"), ("Defunciones 2021", "integer")]


def test_a_title_merged_over_a_one_row_header_is_no_group(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    rows = [["Cuadro 3", "Accidentes de tránsito, 2023", None], ["alcaldia", "mes", "total"],
            ["Tlalpan", "enero", 12], ["Coyoacán", "enero", 9]]
    for row in rows:
        sheet.append(row)
    sheet.merge_cells("B1:C1")  # 'Cuadro 3' in A1 sits over 'alcaldia': a title row, not a group row
    buffer = io.BytesIO()
    book.save(buffer)
    (table,) = _extract(tmp_path, "accidentes.xlsx", buffer.getvalue()).values()
    assert _rows(table) == [[str(c) for c in row if c is not None] for row in rows] and table.note is None


REAL_SHEETS = {
    "conapo__6_Esperanza_Vida_Nacer_1950_2070.xlsx": {
        "sheet:EV_completa": (10060, [("RENGLON", "integer"), ("AÑO", "integer"), ("ENTIDAD", "string"),
                                      ("CVE_GEO", "integer"), ("SEXO", "string"), ("EV", "number")])},
    "inecc-anvcc__Diccionario de datos_3 clasi.xlsx": {
        "sheet:1448": (1449, set()), "sheet:273": (274, {"ClasVFEH"}),
        "sheet:83": (84, {"ClasVFEH", "ClasVGEH", "ClasVGINU"}),
        "sheet:Diccionario": (20, [("Clave Entidad", "string"), ("Clave de la Entidad según INEGI", "string")])},
}
INECC = [("Clave Entidad", "integer"), ("Nombre Entidad", "string"), ("Clave Municipio", "integer"),
         ("Nombre Municipio", "string"), ("Clave Región ", "integer"), ("Región", "string")]


@pytest.mark.parametrize("name", sorted(REAL_SHEETS))
def test_real_workbooks_with_one_header_row_are_written_as_they_are(tmp_path: Path, name: str) -> None:
    """CONAPO's and INECC's sheets: one header row, no merges: every row as in the sheet, no note; the
    declared types from the cells (INECC's classes are text, or text with -9999 numbers: 'any')."""
    import openpyxl

    source = real_files.corpus_dir() / name
    tables = _extract(tmp_path, "libro.xlsx", source.read_bytes())
    assert set(tables) == set(REAL_SHEETS[name])
    book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    for part, (count, declared) in REAL_SHEETS[name].items():
        table = tables[part]
        written = _rows(table)
        sheet = [[_cell(v) for v in row] for row in book[part.removeprefix("sheet:")].iter_rows(values_only=True)]
        assert len(written) == count == len(sheet) and table.note is None
        assert written[0] == sheet[0] and written[1] == sheet[1] and written[-1] == sheet[-1]
        if isinstance(declared, set):  # a class column is text, or text and -9999 numbers ('any')
            declared = INECC + [(h, ("string" if h in declared else "any") if h.startswith("Clas") else "integer")
                                for h in written[0][6:]]
        assert _declared(table) == declared
    book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def test_date_formatted_cells_are_iso_dates_and_text_codes_stay_text(tmp_path: Path) -> None:
    """Excel keeps a date as a serial number in a date format: written as an ISO date (a date and time, a
    time of day), never as the number; a plain number stays a number, a text cell '01' text."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "fechas"
    sheet.append(["clave", "fecha", "registro", "hora", "fecha_local", "serie", "dia"])
    for i, (serial, code) in enumerate([(45292, "01"), (45322, "02"), (45351, "09")]):
        sheet.append([code, serial, serial + 0.5, 0.75, serial, serial, datetime.date(2024, 3, i + 1)])
        for column, style in zip("BCDE", ("DD/MM/YYYY", "dd/mm/yyyy hh:mm", "hh:mm", "[$-080A]dd/mm/yyyy")):
            sheet[f"{column}{i + 2}"].number_format = style
    buffer = io.BytesIO()
    book.save(buffer)
    table = _extract(tmp_path, "fechas.xlsx", buffer.getvalue())["sheet:fechas"]
    assert _rows(table)[1:] == [
        ["01", "2024-01-01", "2024-01-01T12:00:00", "18:00:00", "2024-01-01", "45292", "2024-03-01"],
        ["02", "2024-01-31", "2024-01-31T12:00:00", "18:00:00", "2024-01-31", "45322", "2024-03-02"],
        ["09", "2024-02-29", "2024-02-29T12:00:00", "18:00:00", "2024-02-29", "45351", "2024-03-03"]]
    assert _declared(table) == [("clave", "string"), ("fecha", "date"), ("registro", "datetime"), ("hora", "time"),
                                ("fecha_local", "date"), ("serie", "integer"), ("dia", "date")]


def test_date_formatted_cells_of_an_xls_workbook(tmp_path: Path) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("fechas")
    styles = [xlwt.easyxf(num_format_str=f) for f in ("DD/MM/YYYY", "dd/mm/yyyy hh:mm", "hh:mm")]
    for column, name in enumerate(["clave", "fecha", "registro", "hora", "serie", "activo"]):
        sheet.write(0, column, name)
    sheet.write(1, 0, "01")
    for column, (value, style) in enumerate(zip((45292, 45292.5, 0.75), styles), 1):
        sheet.write(1, column, value, style)
    sheet.write(1, 4, 45292)
    sheet.write(1, 5, True)
    buffer = io.BytesIO()
    book.save(buffer)
    table = _extract(tmp_path, "fechas.xls", buffer.getvalue())["sheet:fechas"]
    assert _rows(table)[1] == ["01", "2024-01-01", "2024-01-01T12:00:00", "18:00:00", "45292", "true"]
    assert _declared(table) == [("clave", "string"), ("fecha", "date"), ("registro", "datetime"), ("hora", "time"),
                                ("serie", "integer"), ("activo", "boolean")]
