"""One table as a pack's Parquet file (harvester/packtable.py), at a size where DuckDB writes several row
groups on several threads: the same bytes on every run, and the profile's counts reused only when they are
the profile of these bytes by these rules."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from harvester.packtable import READ_THREADS, PackField, field_descriptor, profiled, write_table
from harvester.profile import profile_file, scratch_connection

ALCALDIAS = ["Álvaro Obregón", "CUAUHTEMOC", "Gustavo A. Madero", "Iztapalapa", "Coyoacán", "Tlalpan"]


def _csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("id,alcaldia,monto,fecha,edad,nota\n")
        for i in range(rows):
            edad = "N/D" if i % 997 == 0 else str(18 + i % 60)
            out.write(f"{i},{ALCALDIAS[i % 6]},\"{i % 1000},{i % 100:02d}\",2024-{i % 12 + 1:02d}-{i % 28 + 1:02d},"
                      f"{edad},nota {i % 13}\n")


def _write(tmp_path: Path, source: Path, profiles: dict, name: str, sha256: str | None) -> tuple[bytes, list]:
    con = scratch_connection(tmp_path, "1GB")
    con.execute(f"SET threads = {max(2, READ_THREADS)}")
    try:
        target = tmp_path / name
        fields = write_table(con, source, ",", 1, profiles, target, state="09", sha256=sha256)
        return target.read_bytes(), fields
    finally:
        con.close()


def test_a_large_table_is_the_same_bytes_on_every_run_whether_counted_again_or_taken_from_the_profile(
        tmp_path: Path) -> None:
    source = tmp_path / "grande.csv"
    _csv(source, 300_000)
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    with duckdb.connect() as con:
        profiles = {p.name: replace(p, source_sha256=sha) for p in profile_file(con, source, ",", 1)}
    assert (profiles["monto"].type, profiles["monto"].form) == ("number", "decimal_comma")
    assert profiles["edad"].placeholder_spellings == (("N/D", 301),) and profiles["edad"].present == 300_000 - 301
    first, fields = _write(tmp_path, source, profiles, "a.parquet", sha)
    again, fields_again = _write(tmp_path, source, profiles, "b.parquet", sha)
    counted, fields_counted = _write(tmp_path, source, profiles, "c.parquet", None)  # the pack counts itself
    assert pq.ParquetFile(tmp_path / "a.parquet").metadata.num_row_groups > 1  # several row groups, threads
    assert first == again == counted
    assert fields == fields_again == fields_counted
    assert [f.name for f in fields][-2:] == ["alcaldia_cve_mun", "alcaldia_nombre_oficial"]
    assert fields[4].placeholders == {"N/D": 301} and fields[4].has_nulls
    with duckdb.connect() as con:
        keyed = con.execute(f"SELECT count(alcaldia_cve_mun), min(monto), max(monto), count(edad) FROM "
                            f"read_parquet('{tmp_path / 'a.parquet'}')").fetchone()
        # the source's row order, row group by row group (a placeholder test planned as a join shuffled them)
        moved = [con.execute(f"SELECT count(*) FILTER (WHERE id <> n - 1) FROM (SELECT id, row_number() OVER () "
                             f"AS n FROM read_parquet('{tmp_path / name}'))").fetchone()[0]
                 for name in ("a.parquet", "b.parquet", "c.parquet")]
    assert keyed == (300_000, 0.0, 999.99, 300_000 - 301)
    assert moved == [0, 0, 0]


def test_the_profile_is_reused_only_for_the_bytes_and_rules_it_was_made_from(tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text("a,b\n1,x\n2,y\n", encoding="utf-8")
    with duckdb.connect() as con:
        profiles = {p.name: replace(p, source_sha256="s1") for p in profile_file(con, source, ",", 1)}
    names = ["a", "b"]
    assert profiled(profiles, names, "s1", 2) is not None
    assert profiled(profiles, names, "s2", 2) is None  # another file
    assert profiled(profiles, names, None, 2) is None
    assert profiled(profiles, names, "s1", 3) is None  # not the rows profiled
    assert profiled({**profiles, "a": replace(profiles["a"], rules="older")}, names, "s1", 2) is None
    assert profiled({**profiles, "a": replace(profiles["a"], present=None)}, names, "s1", 2) is None  # an old profile
    assert profiled(profiles, ["b", "a"], "s1", 2) is None  # not the columns' positions


def test_a_field_description_is_the_portal_s_then_the_pack_s_in_spanish_then_english() -> None:
    """datapackage.json has one `description` per field: the portal's words once, with their source; then what the
    pack says, whole in Spanish, ` / `, whole in English; the README shows the keying in its own language only."""
    from test_i18n import english_fragments, english_on

    from harvester.packreadme import _described
    from harvester.packtable import BOTH, field_description, pack_text

    keying = {"column": "alcaldia", "kind": "municipio", "level": "municipio", "key_column": "alcaldia_cve_mun",
              "name_column": "alcaldia_nombre_oficial", "rows_matched": 9, "rows_with_value": 10,
              "share_matched": 0.9, "ambiguous": [], "ambiguous_count": 0,
              "unmatched": [{"value": "Fuera", "rows": 1, "state": None, "candidates": []}], "unmatched_count": 1}
    inegi = "(INEGI, Marco Geoestadístico 2023 (harvester/data/inegi_places.csv))"
    paragraph = {
        "es": "«alcaldia» (municipio o alcaldía): alcaldia_cve_mun y alcaldia_nombre_oficial según INEGI (Marco "
              "Geoestadístico 2023); 9 de 10 filas con valor coinciden (90.0%). Valor sin coincidencia: 'Fuera' (1).",
        "en": "«alcaldia» (municipio or alcaldía): alcaldia_cve_mun and alcaldia_nombre_oficial from INEGI (Marco "
              "Geoestadístico 2023); 9 of 10 rows with a value match (90.0%). Value with no match: 'Fuera' (1)."}
    source = PackField("alcaldia", "alcaldia", "string", None, description="Alcaldía del hecho",
                       described_by="diccionario.csv", place=keying)
    key = PackField("alcaldia_cve_mun", "alcaldia_cve_mun", "string", None, place=keying, keying=keying,
                    companion=True)
    name = PackField("alcaldia_nombre_oficial", "alcaldia_nombre_oficial", "string", None, place=keying,
                     companion=True)
    assert BOTH == " / "
    assert field_description(source) == (f"Alcaldía del hecho (diccionario.csv). {paragraph['es']} {inegi} / "
                                         f"{paragraph['en']} {inegi}")
    assert field_description(key) == (f"Clave INEGI de «alcaldia». {paragraph['es']} {inegi} / "
                                      f"INEGI key of «alcaldia». {paragraph['en']} {inegi}")
    assert field_description(name) == (f"Nombre oficial INEGI de «alcaldia». {paragraph['es']} {inegi} / "
                                       f"INEGI official name of «alcaldia». {paragraph['en']} {inegi}")
    assert field_descriptor(key)["inegi_keying"] == keying and "inegi_keying" not in field_descriptor(name)
    assert _described(source, "es") == f"Alcaldía del hecho (diccionario.csv) {paragraph['es']} {inegi}"
    assert _described(key, "en") == f"INEGI key of «alcaldia». {paragraph['en']} {inegi}"
    # a nullable integer declared a number, points whose order is unknown, GeoJSON with an altitude
    whole = PackField("n", "n", "integer", None, has_nulls=True)
    assert field_descriptor(whole) == {"name": "n", "type": "number", "title": "n", "description": (
        "Números enteros (int64 en el archivo Parquet), con algunos faltantes. / "
        "Whole numbers (int64 in the Parquet file), some missing.")}
    assert "description" not in field_descriptor(replace(whole, has_nulls=False))
    point = PackField("p", "p", "geopoint", None, form="unknown", description="Ubicación", described_by="DCAT field")
    assert field_descriptor(point) == {"name": "p", "type": "string", "title": "p", "description": (
        "Ubicación (DCAT field). Punto geográfico: no se sabe si va primero la latitud o la longitud. / "
        "Geographic point: whether latitude or longitude comes first is not known.")}
    array = PackField("q", "q", "geopoint", None, form="lat_lon_array")
    assert pack_text(array, "en") == ("Geographic point «[lat, lon]»: latitude first (Frictionless's geopoint wants "
                                      "longitude first).")
    shape = PackField("g", "g", "geojson", None, form="3d")
    assert field_descriptor(shape)["type"] == "string"
    assert pack_text(shape, "es") == ("Geometría GeoJSON con altitud en sus posiciones (Frictionless solo acepta "
                                      "posiciones de 2 números).")
    messages = english_fragments()
    for f in (source, key, name, whole, point, array, shape):
        assert english_on(pack_text(f, "es"), messages) == [], f.name
