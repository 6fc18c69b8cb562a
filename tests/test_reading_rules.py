"""The reading rules of profile and pack (csvscan's module doc) on small files written the way the real
portals write them: each file is profiled with `profile_file` and packed with `pack.write_table`, real
DuckDB both, and every source cell that is not a placeholder is held against its Parquet cell with the
real-file test's own reader (`test_real_files.conventions`)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harvester.csvscan import declared_strings
from harvester.model import ColumnProfile
from harvester.packreadme import dictionary_type as _dictionary_type
from harvester.packtable import PackField, field_descriptor as _field, profiled, write_table
from harvester.profile import _profile_any_encoding, profile_file, scratch_connection
from test_real_files import lost_values


class Packed:
    """A file profiled and packed: its profiles, Parquet columns and pack fields, by original name."""

    def __init__(self, profiles: list[ColumnProfile], fields: list[PackField], parquet: Path, lost: dict[str, Any]):
        self.profiles = {p.name: p for p in profiles}
        self.fields = {f.original: f for f in fields}
        with duckdb.connect() as con:
            rows = con.execute(f"SELECT * FROM read_parquet('{parquet}')").fetchall()
        self.columns = {f.original: [r[i] for r in rows] for i, f in enumerate(fields)}
        self.lost = lost

    def type(self, column: str) -> str:
        assert self.profiles[column].type == self.fields[column].type, column  # profile and pack agree
        return self.profiles[column].type


def pack(tmp_path: Path, text: str, delimiter: str = ",", schema: dict[str, Any] | None = None,
         name: str = "table.csv") -> Packed:
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    if schema is not None:
        (tmp_path / f"{name}.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    con = scratch_connection(tmp_path)
    try:
        profiles = _profile_any_encoding(con, source, "utf-8", delimiter, 1)
        target = tmp_path / f"{name}.parquet"
        fields = write_table(con, source, delimiter, 1, {p.name: p for p in profiles}, target,
                             declared_strings(source))
        # the same file packed from the profile's own counts (the profile of these bytes, these rules): the
        # same Parquet bytes and the same fields as the pack that counts again
        stored = {p.name: replace(p, source_sha256="sha-of-the-file") for p in profiles}
        names = [p.name for p in profiles]
        if all(p.type != "error" for p in profiles) and len(set(names)) == len(names):
            rows = profiles[0].rows if profiles else 0
            assert profiled(stored, names, "sha-of-the-file", rows) is not None
            reused = tmp_path / f"{name}.reused.parquet"
            assert write_table(con, source, delimiter, 1, stored, reused, declared_strings(source),
                               sha256="sha-of-the-file") == [replace(f, profile=stored.get(f.original)) for f in fields]
            assert reused.read_bytes() == target.read_bytes()
    finally:
        con.close()
    result = lost_values(source, "utf-8", delimiter, 1, target)
    assert result["rows_in"] == result["rows_out"]
    return Packed(profiles, fields, target, result["lost"])


def csv_text(columns: dict[str, list[str]]) -> str:
    """A CSV of these columns, every cell quoted as the CDMX portal quotes them."""
    height = max(len(v) for v in columns.values())
    lines = [",".join(f'"{c}"' for c in columns)]
    lines += [",".join('"' + v[i].replace('"', '""') + '"' if i < len(v) else "" for v in columns.values())
              for i in range(height)]
    return "\n".join(lines) + "\n"


# Numbers ------------------------------------------------------------------------------------------------

def test_thousands_separators_are_numbers_and_a_dash_is_a_counted_placeholder(tmp_path: Path) -> None:
    packed = pack(tmp_path, csv_text({
        "Ingreso po": ["1,306,521.00", "89,188.00", "-", "51,598.00", "\u2013"],
        "Cajones": ["1,234", "12", "-", "3,456", "7"],
    }))
    assert packed.lost == {}
    assert packed.type("Ingreso po") == "number" and packed.fields["Ingreso po"].form == "thousands"
    assert packed.columns["Ingreso po"] == [1306521.0, 89188.0, None, 51598.0, None]
    # no fraction anywhere: whole numbers, the file's other column says the commas group thousands
    assert packed.type("Cajones") == "integer"
    assert packed.columns["Cajones"] == [1234, 12, None, 3456, 7]
    ingreso = packed.profiles["Ingreso po"]
    assert ingreso.placeholders == 2 and "placeholder_missing" in ingreso.alerts
    assert "decimal_comma" not in ingreso.alerts
    assert (ingreso.min, ingreso.max) == (51598.0, 1306521.0)
    assert packed.fields["Ingreso po"].placeholders == {"-": 1, "\u2013": 1}  # named in the data dictionary
    assert _dictionary_type(packed.fields["Ingreso po"], "es") == "`number` (separador de miles)"
    assert _dictionary_type(packed.fields["Ingreso po"], "en") == "`number` (thousands separators)"


def test_decimal_commas_stay_decimals_and_ambiguous_commas_stay_text(tmp_path: Path) -> None:
    packed = pack(tmp_path, "Superficie;Total;Partes;Mezcla\n11657123,2;1,234;1,234;1,5\n252875;12,500;3;1,234.5\n"
                            "160513,4;7;12,500;2\n", delimiter=";")
    assert packed.lost == {}
    assert packed.type("Superficie") == "number" and "decimal_comma" in packed.profiles["Superficie"].alerts
    assert packed.columns["Superficie"] == [11657123.2, 252875.0, 160513.4]
    # '1,234' alone is a thousand or one and a fraction: in a decimal-comma file it follows the file
    assert packed.type("Total") == "number" and packed.columns["Total"] == [1.234, 12.5, 7.0]
    # decimal comma and thousands in one column: text, every value kept
    assert packed.type("Mezcla") == "string" and packed.columns["Mezcla"] == ["1,5", "1,234.5", "2"]


def test_a_column_of_only_ambiguous_commas_in_a_file_that_does_not_tell_stays_text(tmp_path: Path) -> None:
    packed = pack(tmp_path, csv_text({"Total": ["1,234", "12,500", "3"], "Nombre": ["a", "b", "c"]}))
    assert packed.type("Total") == "string" and packed.columns["Total"] == ["1,234", "12,500", "3"]


def test_leading_zeros_and_excel_serial_numbers_are_left_alone(tmp_path: Path) -> None:
    packed = pack(tmp_path, csv_text({"CP": ["06470", "11,510"], "Serial": ["43831", "43832"],
                                      "Monto": ["1,500.50", "2.5"]}))
    assert packed.lost == {}
    assert packed.type("CP") == "string" and packed.columns["CP"] == ["06470", "11,510"]
    assert packed.type("Serial") == "integer" and packed.columns["Serial"] == [43831, 43832]
    assert packed.type("Monto") == "number" and packed.columns["Monto"] == [1500.5, 2.5]


# Dates, timestamps and times ---------------------------------------------------------------------------

def test_spanish_month_names_are_dates_with_the_two_digit_year_pivot(tmp_path: Path) -> None:
    cells = ["30-Abr-07", "5 de junio de 2020", "01/Ene/2019", "1 Sept. 2020", "2-set-68", "3-SEP-69",
             "4 de Diciembre del 2021", "15/feb./2001"]
    packed = pack(tmp_path, csv_text({"Fecha": cells}))
    assert packed.lost == {}
    assert packed.type("Fecha") == "date"
    assert packed.columns["Fecha"] == [dt.date(2007, 4, 30), dt.date(2020, 6, 5), dt.date(2019, 1, 1),
                                       dt.date(2020, 9, 1), dt.date(2068, 9, 2), dt.date(1969, 9, 3),
                                       dt.date(2021, 12, 4), dt.date(2001, 2, 15)]
    assert (packed.profiles["Fecha"].date_min, packed.profiles["Fecha"].date_max) == ("1969-09-03", "2068-09-02")


def test_a_month_name_that_is_none_or_an_impossible_date_keeps_the_column_text(tmp_path: Path) -> None:
    packed = pack(tmp_path, csv_text({"Fecha": ["30-Abr-07", "31-Abr-07"], "Otra": ["5 de junio de 2020",
                                                                                   "5 de junior de 2020"]}))
    assert packed.type("Fecha") == "string" and packed.columns["Fecha"] == ["30-Abr-07", "31-Abr-07"]
    assert packed.type("Otra") == "string" and packed.lost == {}


def test_us_timestamps_with_am_pm_are_read_month_first_when_the_column_shows_it(tmp_path: Path) -> None:
    packed = pack(tmp_path, csv_text({
        "Fecha": ["1/1/2014 12:00:00 AM", "1/13/2014 12:00:00 AM", "2/3/2014 1:05 p.m.", "2/4/2014 11:30:00 a. m."],
        "Alta": ["1/2/2014 12:00:00 PM", "3/4/2014 12:00:00 AM"],  # never decidable alone: the file decides
        "Hora": ["7:05 p. m.", "12:00:00 AM", "11:59 PM"]}))
    assert packed.lost == {}
    assert packed.type("Fecha") == "timestamp" and packed.fields["Fecha"].form == "mdy"
    assert packed.columns["Fecha"] == [dt.datetime(2014, 1, 1), dt.datetime(2014, 1, 13),
                                       dt.datetime(2014, 2, 3, 13, 5), dt.datetime(2014, 2, 4, 11, 30)]
    assert packed.type("Alta") == "timestamp"
    assert packed.columns["Alta"][:2] == [dt.datetime(2014, 1, 2, 12), dt.datetime(2014, 3, 4)]
    assert packed.type("Hora") == "time" and packed.columns["Hora"] == [dt.time(19, 5), dt.time(0), dt.time(23, 59), None]
    assert _field(packed.fields["Fecha"])["type"] == "datetime" and _field(packed.fields["Hora"])["type"] == "time"


def test_day_first_timestamps_and_undecidable_ones(tmp_path: Path) -> None:
    packed = pack(tmp_path, csv_text({"Registro": ["13/01/2014 19:30", "02/01/2014 07:15:00"],
                                      "Mezcla": ["13/01/2014 10:00", "01/13/2014 10:00"]}))
    assert packed.type("Registro") == "timestamp" and packed.fields["Registro"].form == "dmy"
    assert packed.columns["Registro"] == [dt.datetime(2014, 1, 13, 19, 30), dt.datetime(2014, 1, 2, 7, 15)]
    assert packed.type("Mezcla") == "string" and packed.lost == {}
    alone = pack(tmp_path, csv_text({"Fecha": ["1/2/2014 12:00:00 AM", "3/4/2014 1:00:00 PM"]}), name="alone.csv")
    assert alone.type("Fecha") == "string"  # no cell and no other column tells day from month


def test_compact_iso_is_a_timestamp_and_durations_stay_text(tmp_path: Path) -> None:
    packed = pack(tmp_path, csv_text({"ULTIMA FECHA": ["20160513T1941", "20160501T000512"],
                                      "DURACION TOTAL": ["12d 06:25:32", "14d 08:09:36"],
                                      "DURACION DE VIAJE": ["294:25:32", "03:00:15"],
                                      "Registro": ["2016-05-13 19:41", "2016-05-13T19:41:00.5"]}))
    assert packed.lost == {}
    assert packed.type("ULTIMA FECHA") == "timestamp"
    assert packed.columns["ULTIMA FECHA"] == [dt.datetime(2016, 5, 13, 19, 41), dt.datetime(2016, 5, 1, 0, 5, 12)]
    assert packed.type("DURACION TOTAL") == "string" and packed.type("DURACION DE VIAJE") == "string"
    assert packed.type("Registro") == "timestamp"
    assert packed.columns["Registro"][1] == dt.datetime(2016, 5, 13, 19, 41, 0, 500000)


def test_numeric_dates_stay_day_first_unless_the_column_says_otherwise(tmp_path: Path) -> None:
    packed = pack(tmp_path, csv_text({"Vencimiento": ["03/01/2014", "06/01/2014"], "US": ["12/25/2014", "1/2/2014"]}))
    assert packed.lost == {}
    assert packed.columns["US"] == [dt.date(2014, 12, 25), dt.date(2014, 1, 2)]
    # the file's other column shows month first: the undecidable one follows it
    assert packed.columns["Vencimiento"] == [dt.date(2014, 3, 1), dt.date(2014, 6, 1)]
    alone = pack(tmp_path, csv_text({"Vencimiento": ["03/01/2014", "28/11/2013"]}), name="alone.csv")
    assert alone.columns["Vencimiento"] == [dt.date(2014, 1, 3), dt.date(2013, 11, 28)]


# Geo ---------------------------------------------------------------------------------------------------

LINE = '{"type": "LineString", "coordinates": [[-99.18, 19.42], [-99.17, 19.43]]}'


def test_geojson_and_points_in_cells_are_typed_and_kept_byte_for_byte(tmp_path: Path) -> None:
    from frictionless import fields as ff

    packed = pack(tmp_path, csv_text({
        "Geo Shape": [LINE, '{"type":"MultiPoint","coordinates":[]}'],
        "Geo Point": ["19.4224885742,-99.1842660301", "19.4, -99.1"],
        "geo_point_2d": ["[19.43, -99.15]", "[19.44, -99.16]"],
        "lonlat": ["-99.15,19.43", "-99.16,19.44"],
        "No geo": ['{"type": "Feature"}', "x"],
        "Con altitud": ['{"type": "LineString", "coordinates": [[-99.18, 19.42, 0.0], [-99.17, 19.43, 0.0]]}', LINE]}))
    assert packed.lost == {}
    assert packed.type("Geo Shape") == "geojson" and packed.columns["Geo Shape"][0] == LINE
    shape = _field(packed.fields["Geo Shape"])
    assert shape["type"] == "geojson"
    reader = ff.GeojsonField(name="g").create_value_reader()
    assert all(reader(v) is not None for v in packed.columns["Geo Shape"])
    # the portals' points are latitude first, which Frictionless's geopoint is not: text that says so
    assert packed.type("Geo Point") == "geopoint" and packed.fields["Geo Point"].form == "lat_lon"
    assert packed.columns["Geo Point"] == ["19.4224885742,-99.1842660301", "19.4, -99.1"]
    assert _field(packed.fields["Geo Point"])["type"] == "string"
    assert _field(packed.fields["Geo Point"])["description"] == (
        "Punto geográfico «lat,lon»: latitud primero (el geopoint de Frictionless pide la longitud primero). / "
        "Geographic point «lat,lon»: latitude first (Frictionless's geopoint wants longitude first).")
    assert packed.fields["geo_point_2d"].form == "lat_lon_array"
    assert _dictionary_type(packed.fields["Geo Point"], "es") == "`geopoint` (lat,lon)"
    lonlat = _field(packed.fields["lonlat"])
    assert lonlat["type"] == "geopoint" and "format" not in lonlat
    point = ff.GeopointField(name="p").create_value_reader()
    assert all(point(v) is not None for v in packed.columns["lonlat"])
    assert packed.type("No geo") == "string"
    # an altitude in a position is GeoJSON (RFC 7946), but Frictionless's GeoJSON profile refuses it
    assert packed.type("Con altitud") == "geojson" and packed.fields["Con altitud"].form == "3d"
    assert reader(packed.columns["Con altitud"][0]) is None
    assert _field(packed.fields["Con altitud"])["type"] == "string"
    assert _dictionary_type(packed.fields["Con altitud"], "en") == "`geojson` (3D)"


# Declared types ----------------------------------------------------------------------------------------

def test_a_column_the_table_schema_declares_string_stays_text(tmp_path: Path) -> None:
    text = "CVEGEO,NOM_MUN,POB\n14001,Acatic,21530\n14002,Acatlán de Juárez,23241\n"
    schema = {"fields": [{"name": "CVEGEO", "type": "string"}, {"name": "NOM_MUN", "type": "string"},
                         {"name": "POB", "type": "integer"}]}
    packed = pack(tmp_path, text, schema=schema)
    assert packed.type("CVEGEO") == "string" and packed.columns["CVEGEO"] == ["14001", "14002"]
    assert packed.type("POB") == "integer"  # a declared integer is still read from the data
    undeclared = pack(tmp_path, text, name="undeclared.csv")
    assert undeclared.type("CVEGEO") == "integer"


def test_a_broken_table_schema_is_one_clear_line(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("a\n1\n", encoding="utf-8")
    (tmp_path / "t.csv.schema.json").write_text('{"fields": 3}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"^t\.csv\.schema\.json: no es un Table Schema legible .*not a readable") as caught:
        declared_strings(table)
    assert "\n" not in str(caught.value)
    (tmp_path / "t.csv.schema.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^t\.csv\.schema\.json: "):
        declared_strings(table)


def test_profile_file_takes_declared_names_as_they_stand_in_the_header(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text(" CVEGEO ,X\n14001,1\n", encoding="utf-8")
    con = scratch_connection(tmp_path)
    try:
        (cve, x) = profile_file(con, table, ",", 1, frozenset({"CVEGEO"}))
    finally:
        con.close()
    assert (cve.name, cve.type, x.type) == ("CVEGEO", "string", "integer")


def test_a_reading_that_would_null_a_cell_is_caught_before_anything_is_written(tmp_path: Path) -> None:
    """The safety net under the counts: a column whose cells do not all convert under its reading (here a
    wrong one, forced) is named, and profile and pack keep such a column text."""
    from harvester.csvscan import Reading, unconverted

    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('1,234', '1,5'), ('7', '-')) v(a, b)")
        assert unconverted(con, "t", ["a", "b"], [Reading("integer", "decimal_comma"), Reading("number", "decimal_comma")]) == {0}
        assert unconverted(con, "t", ["a", "b"], [Reading("integer", "thousands"), Reading("string")]) == set()


VERIFIED_CASES = {
    ("integer", ""): ["12", "-7", "+3", "007", "19.4", "1e3", "1_000", "0x1F", "999999999999999999", "", "abc"],
    ("integer", "thousands"): ["1,234", "12", "1,234,567", "12,34", "1.234", "-5,000"],
    ("number", ""): ["1.5", "-0.25", ".5", "3.", "1e-3", "inf", "nan", "1,5", "1_0.5", "12"],
    ("number", "thousands"): ["1,234.50", "12.5", "1,234", "12,34.5", "1,234,567.891"],
    ("number", "decimal_comma"): ["1,5", "-0,25", ",5", "12", "3.5", "1,234,5", "1.234,5"],
    ("date", "dmy"): ["2024-01-31", "2024-13-01", "31/01/2024", "1/2/2024", "5-6-2020", "3 de mayo de 2021",
                      "12-may-21", "2024-1-31", "20240131", "abcd-ef-gh", "2024/01/31", "31-01-2024"],
    ("date", "mdy"): ["2024-02-29", "2023-02-29", "01/31/2024", "13/01/2024", "1 ene 2024"],
}


@pytest.mark.parametrize(("kind", "form"), sorted(VERIFIED_CASES))
def test_the_verified_conversion_gives_each_converting_cell_the_value_of_the_full_rule(kind: str, form: str) -> None:
    """verified_typed_sql (a pack's conversion once every kept cell is known to convert) against typed_sql (the
    rule with its patterns): the same value for every cell the rule converts."""
    from harvester.csvscan import Reading, typed_sql, verified_typed_sql

    cells = VERIFIED_CASES[(kind, form)]
    reading = Reading(kind, form)
    with duckdb.connect() as con:
        rows = con.execute(f"SELECT v, {typed_sql('v', reading)}, {verified_typed_sql('v', reading)} "
                           "FROM (SELECT unnest(?) AS v)", [cells]).fetchall()
    converted = [(v, full, fast) for v, full, fast in rows if full is not None]
    assert len(converted) >= 3, rows  # the cases do reach the rule
    assert [(v, fast) for v, _, fast in converted] == [(v, full) for v, full, _ in converted]


NUMBER_CELLS = {
    "plain": ["0", "-0", "12", "+7", "3.25", "-0.5", "123456789012345678", "0.000000000000001", "19.432608"],
    "mixed": ["0", "12", "3.25", "007", "1e5", "1,234", "1,306,521.00", "1,5", "1234567890123456789", ".5", "5.",
              "-11.", "2024-01-31", "0.1234567890123456", "+.5", "1.2.3"],
    "points": ["19.43,-99.15", "19.43 ,  -99.15", "-99.1,19.4", "120.5,19.0", "19.4,200.0", "91.0,95.0", "19.4,-99",
               "1,306"],
    "arrays": ["[19.43, -99.15]", "[ -99.1 ,19.4 ]", "[120, 19]", "[91.5, 95]", "[19, -99]", "[19.4,-99.1]"],
}


def test_number_columns_count_the_same_over_every_cell_as_over_their_distinct_values() -> None:
    """reading_counts over every cell (a number column's plain cells counted by one pattern, PLAIN_NUMBER, its
    points read by splitting at the comma) and over its distinct values (each form on each value): the same
    counts, for plain numbers, for every number form mixed, and for points of either order, and the points'
    counts those of the pattern's own groups read in Python."""
    import re

    from harvester import csvscan

    width = max(len(v) for v in NUMBER_CELLS.values())
    columns = {name: cells + [cells[0]] * (width - len(cells)) for name, cells in NUMBER_CELLS.items()}
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT " + ", ".join(
            f"unnest(?) AS {name}" for name in columns), list(columns.values()))
        share = csvscan.GROUPED_SHARE
        try:
            csvscan.GROUPED_SHARE = 0.0
            every = csvscan.reading_counts(con, "t", list(columns))
            csvscan.GROUPED_SHARE = 1.0
            distinct = csvscan.reading_counts(con, "t", list(columns))
        finally:
            csvscan.GROUPED_SHARE = share
    assert every == distinct
    plain = every[0]
    assert (plain["int"], plain["num"], plain["dot"]) == (width - 4, width, 4)  # '0' repeats as the padding
    assert sum(plain[name] for name in csvscan.COUNTS if name not in ("present", "int", "num", "dot")) == 0
    assert csvscan.decide_readings(every)[0] == csvscan.Reading("number")
    for (name, pattern), c in zip((("points", csvscan.POINT_TEXT), ("arrays", csvscan.POINT_ARRAY)), every[2:]):
        pairs = [tuple(float(x) for x in m.groups()) for m in map(lambda v: re.fullmatch(pattern, v), columns[name]) if m]
        ok = [(a, b) for a, b in pairs if abs(a) <= 180 and abs(b) <= 180 and min(abs(a), abs(b)) <= 90]
        key = "ptext" if name == "points" else "parray"
        assert (c[key], c["big1"], c["big2"]) == (len(ok), sum(abs(a) > 90 for a, _ in ok),
                                                  sum(abs(b) > 90 for _, b in ok)), name
        assert c[key] >= 4
