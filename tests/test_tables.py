"""Tables inside files (XLSX sheets, JSON tables, CSVs in ZIPs), sibling columns and the store migration,
fetched over real HTTP from pytest-httpserver."""
from __future__ import annotations

import io
import json
import warnings
import zipfile
from typing import Any

import duckdb
import openpyxl

from harvester.config import load_settings
from harvester.fetch import fetch
from harvester.profile import profile
from harvester.sandbox.files import zip_bytes
from harvester.store import SCHEMA_VERSION, Store
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
