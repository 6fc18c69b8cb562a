"""Column profiles and alerts, on the mess cases of REAL_WORLD.md."""
from __future__ import annotations

from typing import Any

from harvester.config import load_settings
from harvester.fetch import fetch
from harvester.profile import profile
from harvester.store import Store
from harvester.validate import validate
from tests.test_fetch import setup

METROBUS = ("fecha,anio,linea,afluencia,latitud,fuente,alcaldia,nota,clave\n" + "".join(
    f"{'2024-01-%02d' % (i % 28 + 1) if i % 2 else '%02d/02/2024' % (i % 28 + 1)},2024,Línea {i % 7 + 1},"
    f"{'NaN' if i % 10 == 0 else 1000 + i},\"19,{4000 + i}\",Metrobús,"
    f"{['Cuauhtémoc', 'Cuauhtemoc', 'CUAUHTÉMOC', 'GUSTAVO A MADERO', 'GUSTAVO A. MADERO'][i % 5]},"
    f"{'PeriodicidadÃ³n' if i == 3 else ''},K{i:05d}\n" for i in range(200)))


def columns(config) -> dict[str, dict[str, Any]]:
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        return {r["name"]: r for r in store.query("SELECT * FROM column_profiles")}


def test_profiles_and_alerts(portal, make_config, httpserver):
    httpserver.expect_request("/mb.csv").respond_with_data(METROBUS.encode("cp1252", errors="replace"))
    config = setup(portal, make_config, httpserver, [("Metrobús", "CSV", "/mb.csv")])
    settings = load_settings(config, env={})
    fetch(settings, datasets=["prueba-recursos"])
    validate(settings)
    summary = profile(settings)
    assert summary.profiled == 1 and summary.failed == 0
    cols = columns(config)
    assert cols["anio"]["type"] == "integer" and "constant" in cols["anio"]["alerts"]
    assert cols["afluencia"]["type"] == "integer" and "placeholder_missing" in cols["afluencia"]["alerts"]
    assert abs(cols["afluencia"]["missing_share"] - 0.1) < 1e-9
    assert cols["latitud"]["type"] == "number" and "decimal_comma" in cols["latitud"]["alerts"]
    assert cols["fecha"]["type"] == "date" and "mixed_date_formats" in cols["fecha"]["alerts"]
    assert "category_spellings" in cols["alcaldia"]["alerts"]
    assert "mojibake" in cols["nota"]["alerts"]
    assert "high_cardinality" in cols["clave"]["alerts"]
    assert cols["linea"]["distinct_count"] == 7 and cols["linea"]["rows"] == 200
    assert profile(settings).unchanged == 1  # nothing changed: no work


def test_profiles_do_not_depend_on_how_the_file_is_read(tmp_path):
    """A Latin-1 file read by DuckDB itself and its UTF-8 copy; a column counted over its distinct values
    and over every cell; a quoted line break (the sequential reader): the same profiles."""
    import tempfile as _tempfile
    from pathlib import Path

    from harvester import csvscan
    from harvester.profile import profile_file, scratch_connection

    broken, money = '"dos\nlíneas"', '"1,306,521.00"'
    text = "fecha,monto,alcaldia,nota,punto\n" + "".join(
        f"{'%02d/03/2024' % (i % 28 + 1)},{money if i % 7 else '-'},"
        f"{['Cuauhtémoc', 'CUAUHTEMOC', 'Tláhuac'][i % 3]},{broken if i == 5 else 'ok'},"
        f'"19.{i % 90},-99.{i}"\n' for i in range(300))
    latin = tmp_path / "latin.csv"
    latin.write_bytes(text.encode("latin-1"))
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text(text, encoding="utf-8")
    con = scratch_connection(Path(_tempfile.mkdtemp(dir=tmp_path)))
    base = profile_file(con, utf8, ",", 1)
    assert [c.type for c in base] == ["date", "number", "string", "string", "geopoint"]
    assert profile_file(con, latin, ",", 1, encoding="latin-1") == base
    share = csvscan.GROUPED_SHARE
    try:
        csvscan.GROUPED_SHARE = 0.0  # every column counted over every cell
        assert profile_file(con, utf8, ",", 1) == base
    finally:
        csvscan.GROUPED_SHARE = share


def test_unconverted_answers_again_only_for_the_same_table(tmp_path):
    import duckdb

    from harvester.csvscan import Reading, unconverted

    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE packing AS SELECT * FROM (VALUES ('1'), ('2')) t(c)")
    assert unconverted(con, "packing", ["c"], [Reading("integer")]) == set()
    assert unconverted(con, "packing", ["c"], [Reading("integer")]) == set()  # pack asks once per column
    con.execute("DROP TABLE packing")
    con.execute("CREATE TEMP TABLE packing AS SELECT * FROM (VALUES ('1'), ('x2')) t(c)")
    assert unconverted(con, "packing", ["c"], [Reading("integer")]) == {0}
