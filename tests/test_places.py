"""Places that join (issue 13): INEGI keys and official names beside the place columns of real files.

The facts are harvester/data/inegi_places.csv, derived by scripts/derive-inegi-places from INEGI's own
tables in the real-file corpus (tests/real_files.py: a missing corpus fails, never skips). The tables keyed
are real portal files read as the pack builder reads them (every column text, through harvester.tables
for workbooks and GeoJSON), or as DuckDB's own reader types them (numeric keys without their zeros); the
only generated data are spellings of the real names, in memory.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import unicodedata
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from harvester.csvscan import header_names, read_csv_sql
from harvester.placenames import PlacesError, normalize_place, parse_place, place, places, state_key
from harvester.i18n import format_percent
from harvester.places import PlaceKind, PlaceLevel, describe_keying, detect_place_columns, key_places
from harvester.tables import extract_tables

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "derive-inegi-places"
FACTS = REPO / "harvester" / "data" / "inegi_places.csv"
ALCALDIAS = "cdmx-alcaldias__alcaldias.geojson"
CHIRPS = "gee-chirps-inegi-mun__mex_chirps_pr_mm_mun_year_2020.csv"
CONAPO = "conapo__6_Esperanza_Vida_Nacer_1950_2070.xlsx"
INECC = "inecc-anvcc__Diccionario de datos_3 clasi.xlsx"


# The facts ---------------------------------------------------------------------------------------------

def test_the_committed_facts_are_what_the_script_derives_from_inegis_tables(corpus, tmp_path):
    source = corpus["inegi-mg__00mun.dbf"].path.parent
    assert corpus["inegi-mg__00ent.dbf"].path.parent == source
    out = tmp_path / "inegi_places.csv"
    done = subprocess.run([sys.executable, str(SCRIPT), "--source", str(source), "--output", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == FACTS.read_bytes(), "scripts/derive-inegi-places gives another CSV: run it again"
    check = subprocess.run([sys.executable, str(SCRIPT), "--source", str(source), "--check"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_derivation_fails_in_one_line_without_the_dbfs(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--source", str(tmp_path), "--output", "-"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ") and "inegi-mg__00ent.dbf: no existe / not found" in done.stderr


def test_the_facts_are_32_states_and_2475_municipios_sorted_by_key_with_their_source():
    text = FACTS.read_text(encoding="utf-8")
    assert text.startswith("# Fuente / source: INEGI, Marco Geoestadístico 2023 (00ent.dbf, 00mun.dbf)")
    assert text.splitlines()[1] == "cvegeo,cve_ent,cve_mun,nomgeo,nom_ent"
    found = places()
    assert [p.cvegeo for p in found] == sorted(p.cvegeo for p in found)
    assert sum(1 for p in found if not p.cve_mun) == 32 and sum(1 for p in found if p.cve_mun) == 2475
    assert all(p.cvegeo == p.cve_ent + p.cve_mun for p in found)
    assert place("09015").name == "Cuauhtémoc" and place("09015").state_name == "Ciudad de México"
    assert place("09").name == "Ciudad de México" and place("15").name == "México"
    assert place("01008").name == "San José de Gracia"


def test_an_installed_package_carries_the_facts():
    """setuptools' package data names the CSV (a wheel built from this pyproject holds it)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["harvester"]
    assert any(FACTS in (REPO / "harvester").glob(pattern) for pattern in patterns)


# Spellings ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelled, key", [
    ("CUAUHTEMOC", "cuauhtemoc"), ("Cuauhtemoc", "cuauhtemoc"), ("Cuauhtémoc", "cuauhtemoc"),
    ("GUSTAVO A. MADERO", "gustavo a madero"), ("Gustavo A Madero", "gustavo a madero"),
    ("  gustavo  a.madero ", "gustavo a madero"), ("Álvaro Obregón", "alvaro obregon"),
    ("Alcaldía Álvaro Obregón", "alvaro obregon"), ("DELEGACION ALVARO OBREGON", "alvaro obregon"),
    ("Del. Coyoacán", "coyoacan"), ("Del Nayar", "del nayar"), ("Gral. Escobedo", "general escobedo"),
    ("Cd. Madero", "ciudad madero"), ("Sta. Ma. del Tule", "santa maria del tule"), ("Sn. Pedro", "san pedro"),
    ("Municipio de Zapopan", "zapopan"), ("San Jos\ufffd de Gracia", "san jos_ de gracia"),
    ("R?o Bravo", "r_o bravo"), ("San Vicente Nu\ufffd\ufffd", "san vicente nu__"),
    ("JosÃ© MarÃ\xada Morelos", "jose maria morelos"), ("MAGDALENA_CONTRERAS", "magdalena contreras"),
])
def test_a_place_name_is_folded_whatever_the_spelling(spelled, key):
    assert normalize_place(spelled) == key


@pytest.mark.parametrize("spelled, key, state", [
    ("Cuauhtémoc, CDMX", "cuauhtemoc", "09"), ("Cuauhtémoc (Chih.)", "cuauhtemoc", "08"),
    ("Benito Juárez - Quintana Roo", "benito juarez", "23"), ("Alcaldía Tlalpan, Ciudad de México", "tlalpan", "09"),
    ("Heroica Villa Tezoatlán de Segura y Luna, Cuna de la Independencia de Oaxaca",
     "heroica villa tezoatlan de segura y luna cuna de la independencia de oaxaca", None),
])
def test_a_state_after_the_name_is_the_values_own_state(spelled, key, state):
    assert parse_place(spelled).key == key and parse_place(spelled).state == state


@pytest.mark.parametrize("hint, key", [("CDMX", "09"), ("cdmx", "09"), ("Ciudad de México", "09"), ("9", "09"),
                                       ("09", "09"), ("D.F.", "09"), ("Edomex", "15"), ("Coahuila", "05"),
                                       ("Veracruz", "30"), ("Q. Roo", "23"), (None, None)])
def test_a_state_hint_is_a_key_or_a_name(hint, key):
    assert state_key(hint) == key


def test_an_unknown_state_hint_is_an_error_in_spanish_and_english():
    with pytest.raises(PlacesError, match=r"^unknown state: 'Atlántida'"):
        state_key("Atlántida")
    with pytest.raises(PlacesError, match="unknown state: '33'"):
        state_key("33")


# Real files --------------------------------------------------------------------------------------------

def _load(con: duckdb.DuckDBPyConnection, name: str, csv: Path, typed: bool = False) -> list[str]:
    """A table as the pack builder holds it (every column text) or as DuckDB's reader types it."""
    if typed:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_csv('{csv}')")
    else:
        names = header_names(csv, ",", 1)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {read_csv_sql(csv, ',', 1, names)}")
    return [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]


def _table_of(corpus, tmp_path: Path, file: str, kind: str, part: str) -> Path:
    copy = tmp_path / file
    shutil.copyfile(corpus[file].path, copy)
    [table] = [t for t in extract_tables(copy, kind, max_member_bytes=1 << 30) if t.part == part]
    return table.path


def _unchanged(con: duckdb.DuckDBPyConnection, source: str, target: str) -> None:
    """Every row of `source` is in `target`, in order, each original cell as it was, companions after."""
    columns = [r[0] for r in con.execute(f"DESCRIBE {source}").fetchall()]
    keyed = [r[0] for r in con.execute(f"DESCRIBE {target}").fetchall()]
    assert keyed[:len(columns)] == columns
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    assert con.execute(f"SELECT {quoted} FROM {target}").fetchall() == con.execute(
        f"SELECT {quoted} FROM {source}").fetchall()


@pytest.fixture
def alcaldias(corpus, tmp_path):
    con = duckdb.connect()
    _load(con, "alcaldias", _table_of(corpus, tmp_path, ALCALDIAS, "GEOJSON", "features"))
    yield con
    con.close()


def test_the_cdmx_alcaldias_names_and_keys_padded_or_not_get_the_same_inegi_keys(alcaldias):
    con = alcaldias
    found = {c.name: (c.kind, c.level) for c in detect_place_columns(con, "alcaldias", "CDMX")}
    assert found == {"cve_mun": (PlaceKind.KEY, PlaceLevel.MUNICIPIO), "cvegeo": (PlaceKind.KEY, PlaceLevel.MUNICIPIO),
                     "cve_ent": (PlaceKind.KEY, PlaceLevel.ENTIDAD), "nomgeo": (PlaceKind.MUNICIPIO, PlaceLevel.MUNICIPIO),
                     "municipio": (PlaceKind.KEY, PlaceLevel.MUNICIPIO)}  # not geo_point_2d
    keyings = key_places(con, "alcaldias", None, None, target="keyed")
    by = {k.column: k for k in keyings}
    assert [k.column for k in keyings] == ["cve_mun", "cvegeo", "cve_ent", "nomgeo", "municipio"]
    assert (by["nomgeo"].key_column, by["nomgeo"].name_column) == ("nomgeo_cve_mun", "nomgeo_nombre_oficial")
    assert by["municipio"].companion_columns == ("municipio_cvegeo", "municipio_nombre_oficial")
    assert by["cve_ent"].companion_columns == ("cve_ent_cve_ent", "cve_ent_nombre_oficial")
    assert by["nomgeo"].state_column == "cve_ent" and by["municipio"].state_column == "cve_ent"
    for k in keyings:
        assert (k.rows, k.rows_with_value, k.rows_matched, k.share_matched) == (16, 16, 16, 1.0)
        assert k.unmatched == () and k.ambiguous == () and k.relation == "keyed"
    rows = con.execute("SELECT cvegeo, cve_mun, municipio, nomgeo, nomgeo_cve_mun, nomgeo_nombre_oficial, "
                       "municipio_cvegeo, cve_mun_cvegeo, cvegeo_cvegeo, cve_ent_cve_ent, cve_ent_nombre_oficial "
                       "FROM keyed ORDER BY cvegeo").fetchall()
    assert [r[0] for r in rows] == [f"09{n:03d}" for n in range(2, 18)]
    for cvegeo, cve_mun, municipio, nomgeo, *companions in rows:
        assert companions == [cvegeo, nomgeo, cvegeo, cvegeo, cvegeo, "09", "Ciudad de México"]
        assert cve_mun == cvegeo[2:] and municipio == str(int(cvegeo[2:]))  # the originals, zeros or not
    assert con.execute("SELECT nomgeo, nomgeo_cve_mun FROM keyed WHERE cvegeo = '09015'").fetchone() == (
        "Cuauhtémoc", "09015")
    _unchanged(con, "alcaldias", "keyed")


def test_an_unpadded_municipio_key_without_a_state_column_takes_the_hint_or_stays_unmatched(alcaldias):
    con = alcaldias
    con.execute("CREATE TABLE solo AS SELECT municipio FROM alcaldias")
    [hinted] = key_places(con, "solo", ["municipio"], "CDMX", target="hinted")
    assert (hinted.kind, hinted.level, hinted.share_matched) == (PlaceKind.KEY, PlaceLevel.MUNICIPIO, 1.0)
    assert con.execute("SELECT municipio_cvegeo FROM hinted WHERE municipio = '9'").fetchone() == ("09009",)
    [bare] = key_places(con, "solo", ["municipio"], None, target="bare")
    assert (bare.rows_matched, bare.unmatched_count, bare.share_matched) == (0, 16, 0.0)
    assert {v.value for v in bare.unmatched} == {str(n) for n in range(2, 18)}
    assert con.execute("SELECT count(*) FROM bare WHERE municipio_cvegeo IS NOT NULL").fetchone() == (0,)


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _spellings(name: str) -> list[str]:
    """How portals write an alcaldía's name: upper case, accents lost or destroyed, prefixes, suffixes."""
    lost = "".join("\ufffd" if _plain(c) != c else c for c in name)
    question = "".join("?" if _plain(c) != c else c for c in name)
    return [name, name.upper(), _plain(name), _plain(name).upper(), f"Alcaldía {name}", f"DELEGACION {_plain(name).upper()}",
            f"Del. {name}", f"{name}, CDMX", f"{_plain(name)} (Ciudad de México)", lost, question, f" {name.lower()} "]


def test_every_spelling_of_the_real_alcaldia_names_gets_its_key_and_the_rest_is_listed(alcaldias):
    con = alcaldias
    real = con.execute("SELECT nomgeo, cvegeo FROM alcaldias ORDER BY cvegeo").fetchall()
    spelled = [(s, cvegeo) for name, cvegeo in real for s in _spellings(name)]
    spelled += [("GUSTAVO A. MADERO", "09005"), ("Gustavo A Madero", "09005"), ("GAM", "09005"),
                ("Magdalena Contreras", "09008"), ("MAGDALENA CONTRERAS", "09008"), ("La Magdalena Contreras", "09008"),
                ("Cuajimalpa", "09004"), ("Alvaro Obregon", "09010"), ("Álvaro Obregón", "09010")]
    junk = [("Cuahutemoc", None), ("FUERA DE LA CDMX", None), ("Cuahutemoc", None)]
    empty = [("NA", None), ("", None), ("N/D", None), (None, None)]
    rows = spelled + junk + empty
    con.execute("CREATE TABLE victimas AS SELECT * FROM (SELECT unnest(?) AS \"AlcaldiaHechos\", "
                "unnest(?) AS esperada, range(?) AS n)", [[r[0] for r in rows], [r[1] for r in rows], len(rows)])
    [k] = key_places(con, "victimas", ["AlcaldiaHechos"], "CDMX", target="keyed")
    assert (k.kind, k.key_column, k.name_column) == (PlaceKind.MUNICIPIO, "AlcaldiaHechos_cve_mun",
                                                     "AlcaldiaHechos_nombre_oficial")
    assert (k.rows, k.rows_with_value, k.rows_matched) == (len(rows), len(spelled) + 3, len(spelled))
    assert k.share_matched == pytest.approx(len(spelled) / (len(spelled) + 3))
    assert [(v.value, v.rows) for v in k.unmatched] == [("Cuahutemoc", 2), ("FUERA DE LA CDMX", 1)]
    assert k.unmatched_count == 2 and k.ambiguous == ()
    got = con.execute('SELECT "AlcaldiaHechos", esperada, "AlcaldiaHechos_cve_mun", "AlcaldiaHechos_nombre_oficial" '
                      "FROM keyed ORDER BY n").fetchall()
    assert all(found == expected for _, expected, found, _ in got), [g for g in got if g[1] != g[2]]
    assert all(name == (place(key).name if key else None) for _, _, key, name in got)
    approximate = {v.value for v in k.approximate}
    assert {"Magdalena Contreras", "Cuajimalpa", "GAM", "Cuauht\ufffdmoc", "Cuauht?moc"} <= approximate
    assert "CUAUHTEMOC" not in approximate and "Alcaldía Tlalpan" not in approximate
    _unchanged(con, "victimas", "keyed")
    share = {"es": format_percent(k.share_matched, "es", 1), "en": format_percent(k.share_matched, "en", 1)}
    assert k.describe("es") == (
        f"«AlcaldiaHechos» (municipio o alcaldía): AlcaldiaHechos_cve_mun y AlcaldiaHechos_nombre_oficial según "
        f"INEGI (Marco Geoestadístico 2023); {len(spelled):,} de {len(spelled) + 3:,} filas con valor coinciden "
        f"({share['es']}). Valores sin coincidencia: 'Cuahutemoc' (2); 'FUERA DE LA CDMX' (1).")
    assert k.describe("en") == (
        f"«AlcaldiaHechos» (municipio or alcaldía): AlcaldiaHechos_cve_mun and AlcaldiaHechos_nombre_oficial from "
        f"INEGI (Marco Geoestadístico 2023); {len(spelled):,} of {len(spelled) + 3:,} rows with a value match "
        f"({share['en']}). Values with no match: 'Cuahutemoc' (2); 'FUERA DE LA CDMX' (1).")
    data = k.as_dict()
    assert (data["kind"], data["key_column"], data["share_matched"]) == ("municipio", "AlcaldiaHechos_cve_mun",
                                                                        k.share_matched)
    assert data["unmatched"] == [{"value": "Cuahutemoc", "rows": 2, "state": None, "candidates": []},
                                 {"value": "FUERA DE LA CDMX", "rows": 1, "state": None, "candidates": []}]


def test_a_name_several_states_share_is_ambiguous_never_guessed_unless_a_state_says_which(alcaldias):
    con = alcaldias
    names = [r[0] for r in con.execute("SELECT nomgeo FROM alcaldias WHERE cvegeo IN ('09014', '09015')").fetchall()]
    assert sorted(names) == ["Benito Juárez", "Cuauhtémoc"]
    elsewhere = {n: tuple(p.cvegeo for p in places() if p.cve_mun and _plain(p.name).lower() == _plain(n).lower())
                 for n in names}
    assert len(elsewhere["Benito Juárez"]) == 7 and len(elsewhere["Cuauhtémoc"]) == 4
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('Benito Juárez', 'Quintana Roo'), ('Benito Juárez', NULL), "
                "('CUAUHTEMOC', 'Chihuahua'), ('Cuauhtémoc', 'Ciudad de México'), ('Cuauhtémoc', 'Atlántida'), "
                "('Benito Juárez', 'Durango')) v(municipio, estado)")
    [bare] = key_places(con, "t", ["municipio"], None, target="bare", state_column=None)
    # the table's own state column is detected: rows whose state says which are keyed, the others not
    assert bare.state_column == "estado"
    keyed = con.execute("SELECT municipio, estado, municipio_cve_mun FROM bare").fetchall()
    assert keyed == [("Benito Juárez", "Quintana Roo", "23005"), ("Benito Juárez", None, None),
                     ("CUAUHTEMOC", "Chihuahua", "08017"), ("Cuauhtémoc", "Ciudad de México", "09015"),
                     ("Cuauhtémoc", "Atlántida", None), ("Benito Juárez", "Durango", None)]
    assert {(v.value, v.state, v.candidates) for v in bare.ambiguous} == {
        ("Benito Juárez", None, elsewhere["Benito Juárez"]), ("Cuauhtémoc", "Atlántida", elsewhere["Cuauhtémoc"])}
    assert [(v.value, v.state) for v in bare.unmatched] == [("Benito Juárez", "Durango")]  # none there
    assert (bare.rows_matched, bare.rows_ambiguous) == (3, 2)
    con.execute("CREATE TABLE sin_estado AS SELECT municipio FROM t")
    [none] = key_places(con, "sin_estado", ["municipio"], None, target="none")
    assert (none.rows_matched, none.rows_ambiguous, none.unmatched) == (0, 6, ())
    assert [v.value for v in none.ambiguous] == ["Benito Juárez", "Cuauhtémoc", "CUAUHTEMOC"]
    assert con.execute("SELECT count(*) FROM none WHERE municipio_cve_mun IS NOT NULL").fetchone() == (0,)
    # the dataset's portal is the CDMX's: its alcaldías are meant
    [hinted] = key_places(con, "sin_estado", ["municipio"], "CDMX", target="hinted")
    assert con.execute("SELECT municipio_cve_mun FROM hinted").fetchall() == [
        ("09014",), ("09014",), ("09015",), ("09015",), ("09015",), ("09014",)]
    assert (hinted.share_matched, hinted.state_hint) == (1.0, "09")


def test_chirps_names_with_lost_accents_match_their_own_cvegeo_but_two_oaxaca_twins_stay_ambiguous(corpus):
    con = duckdb.connect()
    _load(con, "chirps", corpus[CHIRPS].path)
    assert con.execute("SELECT count(*) FROM chirps WHERE NOMGEO LIKE '%\ufffd%'").fetchone()[0] > 800
    keyings = key_places(con, "chirps", None, None, target="keyed")
    by = {k.column: k for k in keyings}
    assert set(by) == {"CVEGEO", "CVE_ENT", "CVE_MUN", "NOMGEO"}
    assert by["NOMGEO"].state_column == "CVE_ENT" and by["NOMGEO"].kind == PlaceKind.MUNICIPIO
    nomgeo = by["NOMGEO"]
    assert (nomgeo.rows, nomgeo.rows_with_value, nomgeo.rows_matched, nomgeo.rows_ambiguous) == (2475, 2475, 2471, 4)
    assert nomgeo.share_matched == pytest.approx(2471 / 2475)
    assert nomgeo.unmatched == ()
    assert [(v.value, v.state, v.candidates) for v in nomgeo.ambiguous] == [
        ("San Juan Mixtepec", "20", ("20208", "20209")), ("San Pedro Mixtepec", "20", ("20318", "20319"))]
    assert con.execute("SELECT count(*) FROM keyed WHERE NOMGEO_cve_mun IS NOT NULL AND NOMGEO_cve_mun <> CVEGEO"
                       ).fetchone() == (0,)
    assert con.execute("SELECT NOMGEO, NOMGEO_cve_mun, NOMGEO_nombre_oficial FROM keyed WHERE CVEGEO = '01008'"
                       ).fetchone() == ("San Jos\ufffd de Gracia", "01008", "San José de Gracia")
    for column in ("CVEGEO", "CVE_MUN"):
        assert by[column].share_matched == 1.0
        assert con.execute(f"SELECT count(*) FROM keyed WHERE {column}_cvegeo <> CVEGEO").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM keyed WHERE CVE_ENT_cve_ent <> CVE_ENT").fetchone() == (0,)
    _unchanged(con, "chirps", "keyed")


def test_conapo_state_keys_without_zeros_are_padded_and_the_national_total_is_listed(corpus, tmp_path):
    con = duckdb.connect()
    sheet = _table_of(corpus, tmp_path, CONAPO, "XLSX", "sheet:EV_completa")
    _load(con, "conapo", sheet, typed=True)  # DuckDB reads CVE_GEO as a number: 0, 1, ... 32
    assert con.execute("SELECT typeof(CVE_GEO) FROM conapo LIMIT 1").fetchone() == ("BIGINT",)
    keyings = key_places(con, "conapo", ["ENTIDAD", "CVE_GEO"], None, target="keyed")
    entidad, cve_geo = keyings
    assert (entidad.kind, entidad.key_column) == (PlaceKind.ENTIDAD, "ENTIDAD_cve_ent")
    assert (cve_geo.kind, cve_geo.level, cve_geo.key_column) == (PlaceKind.KEY, PlaceLevel.ENTIDAD, "CVE_GEO_cve_ent")
    for k in keyings:
        assert (k.rows, k.rows_with_value, k.rows_matched) == (10059, 10059, 10059 - 363)
        assert k.distinct_values == 33 and k.unmatched_count == 1 and k.ambiguous == ()
    assert [(v.value, v.rows) for v in entidad.unmatched] == [("República Mexicana", 363)]
    assert [(v.value, v.rows) for v in cve_geo.unmatched] == [("0", 363)]
    assert {v.value for v in entidad.approximate} == {"Coahuila", "Michoacán", "Veracruz"}
    rows = con.execute("SELECT DISTINCT CVE_GEO, CVE_GEO_cve_ent, ENTIDAD, ENTIDAD_cve_ent, ENTIDAD_nombre_oficial "
                       "FROM keyed ORDER BY CVE_GEO").fetchall()
    assert rows[0] == (0, None, "República Mexicana", None, None)
    assert [r[1] for r in rows[1:]] == [f"{n:02d}" for n in range(1, 33)] == [r[3] for r in rows[1:]]
    assert rows[9] == (9, "09", "Ciudad de México", "09", "Ciudad de México")
    assert rows[5][2:] == ("Coahuila", "05", "Coahuila de Zaragoza")
    assert con.execute("SELECT typeof(CVE_GEO_cve_ent) FROM keyed LIMIT 1").fetchone() == ("VARCHAR",)
    _unchanged(con, "conapo", "keyed")
    # the same keys as floats, as a workbook reader gives them (9.0): the same companions
    con.execute("CREATE TABLE floats AS SELECT CAST(CVE_GEO AS DOUBLE) AS CVE_GEO FROM conapo")
    [floats] = key_places(con, "floats", None, None, target="floats_keyed")
    assert (floats.kind, floats.level, floats.rows_matched) == (PlaceKind.KEY, PlaceLevel.ENTIDAD, 10059 - 363)
    assert con.execute("SELECT list(CVE_GEO_cve_ent) FROM floats_keyed").fetchone() == con.execute(
        "SELECT list(CVE_GEO_cve_ent) FROM keyed").fetchone()


INECC_UNMATCHED = {"Ahualulco", "Celestén", "Dzidzantén", "Heroica Ciudad de Juchitán de Zaragoza", "Hoctén",
                   "Homén", "Maxcané", "San Blas Atempa", "San Juan Mixtepec -Dto. 08 -", "San Juan Mixtepec -Dto. 26 -",
                   "San Juan Ðumí", "San Pedro Mixtepec -Dto. 22 -", "San Pedro Mixtepec -Dto. 26 -",
                   "San Vicente Nuñé", "Santa María Yosoyéa", "Santiago Chazumba", "Séchil",
                   "Teél de González Ortega", "Ucé", "Villa Tejépam de la Unión", "Villa de Tututepec de Melchor Ocampo"}
"""INECC's names that are not INEGI's: older names, districts in the name, and 'ú' mangled into 'é' upstream."""


@pytest.mark.parametrize("typed", [False, True], ids=["text", "numbers"])
def test_inecc_names_agree_with_its_own_unpadded_keys(corpus, tmp_path, typed):
    con = duckdb.connect()
    _load(con, "inecc", _table_of(corpus, tmp_path, INECC, "XLSX", "sheet:1448"), typed=typed)
    assert con.execute('SELECT "Clave Entidad", "Clave Municipio" FROM inecc LIMIT 1').fetchone() == (
        (20, 20453) if typed else ("20", "20453"))
    detected = {c.name for c in detect_place_columns(con, "inecc")}
    assert detected == {"Clave Entidad", "Nombre Entidad", "Clave Municipio", "Nombre Municipio"}
    keyings = key_places(con, "inecc", None, None, target="keyed", listed=50)
    by = {k.column: k for k in keyings}
    names = by["Nombre Municipio"]
    assert names.state_column == "Clave Entidad"
    assert (names.rows, names.rows_matched, names.ambiguous_count) == (1448, 1448 - 21, 0)
    assert {v.value for v in names.unmatched} == INECC_UNMATCHED
    assert by["Clave Municipio"].share_matched == 1.0 and by["Clave Entidad"].share_matched == 1.0
    assert by["Nombre Entidad"].share_matched == 1.0
    assert [v.value for v in by["Nombre Entidad"].approximate] == ["Distrito Federal"]
    assert con.execute('SELECT count(*) FROM keyed WHERE "Nombre Municipio_cve_mun" IS NOT NULL AND '
                       '"Nombre Municipio_cve_mun" <> "Clave Municipio_cvegeo"').fetchone() == (0,)
    assert con.execute('SELECT count(*) FROM keyed WHERE "Clave Municipio_cvegeo" <> '
                       'lpad(CAST("Clave Municipio" AS VARCHAR), 5, \'0\')').fetchone() == (0,)
    assert con.execute('SELECT DISTINCT "Clave Entidad_cve_ent", "Nombre Entidad_cve_ent" FROM keyed '
                       'WHERE "Clave Entidad" IN (8, \'8\')').fetchall() == [("08", "08")]
    _unchanged(con, "inecc", "keyed")


def test_columns_that_are_not_places_are_not_detected_nor_changed(corpus, tmp_path):
    con = duckdb.connect()
    _load(con, "inecc", _table_of(corpus, tmp_path, INECC, "XLSX", "sheet:1448"))
    detected = {c.name for c in detect_place_columns(con, "inecc")}
    assert not detected & {"Región", "Clave Región", "ClasVFEH", "A_VFEH"}
    assert key_places(con, "inecc", [], None, target="nothing") == []
    _unchanged(con, "inecc", "nothing")
    with pytest.raises(PlacesError, match=r"^inecc: no column 'Alcaldía'$"):
        key_places(con, "inecc", ["Alcaldía"], None)


def test_a_companion_name_never_overwrites_a_column(alcaldias):
    con = alcaldias
    con.execute("CREATE TABLE t AS SELECT nomgeo, cvegeo AS nomgeo_cve_mun FROM alcaldias")
    [k] = key_places(con, "t", ["nomgeo"], "CDMX", target="keyed")
    assert k.key_column == "nomgeo_cve_mun_2"
    assert con.execute("SELECT count(*) FROM keyed WHERE nomgeo_cve_mun <> nomgeo_cve_mun_2").fetchone() == (0,)


def test_in_place_the_table_gains_the_companions_and_a_parquet_copy_is_the_same_bytes_on_any_threads(corpus, tmp_path):
    con = duckdb.connect()
    _load(con, "chirps", corpus[CHIRPS].path)
    con.execute("CREATE TABLE original AS SELECT * FROM chirps")
    table = key_places(con, "chirps", ["NOMGEO", "CVE_MUN"], None, target="as_table")
    groups = con.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('chirps')").fetchone()
    in_place = key_places(con, "chirps", ["NOMGEO", "CVE_MUN"], None, in_place=True)
    assert in_place == [replace(k, relation="chirps") for k in table]
    assert con.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('chirps')").fetchone() == groups
    _unchanged(con, "original", "chirps")
    assert con.execute("SELECT * FROM chirps").fetchall() == con.execute("SELECT * FROM as_table").fetchall()
    written = []
    for threads in (1, 2, 4):
        con.execute(f"SET threads = {threads}")
        out = tmp_path / f"chirps-{threads}.parquet"
        con.execute(f"COPY (SELECT * FROM chirps) TO '{out}' (FORMAT parquet)")
        written.append(out.read_bytes())
    assert written[0] == written[1] == written[2]
    assert con.execute(f"SELECT CVE_MUN, CVE_MUN_cvegeo, NOMGEO_nombre_oficial FROM '{out}' WHERE CVEGEO = '09015'"
                       ).fetchone() == ("015", "09015", "Cuauhtémoc")
    assert not con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '__places%'").fetchall()
    with pytest.raises(PlacesError, match="only a table is keyed in place"):
        key_places(con, "chirps", ["NOMGEO"], None, target="elsewhere", in_place=True)


def test_an_exact_official_name_wins_over_a_short_one_but_the_states_own_portal_means_its_own():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('Tlalnepantla'), ('Cuajimalpa'), ('La Paz'), ('Paz')) v(municipio)")
    [national] = key_places(con, "t", ["municipio"], None, target="national")
    assert con.execute("SELECT municipio_cve_mun FROM national").fetchall() == [("17023",), ("09004",), (None,), (None,)]
    assert place("17023").name == "Tlalnepantla" and place("15104").name == "Tlalnepantla de Baz"
    assert {(v.value, v.candidates) for v in national.ambiguous} == {("La Paz", ("03003", "15070")),
                                                                     ("Paz", ("03003", "15070"))}
    [edomex] = key_places(con, "t", ["municipio"], "Estado de México", target="edomex")
    assert con.execute("SELECT municipio_cve_mun FROM edomex").fetchall() == [("15104",), ("09004",), ("15070",), ("15070",)]
    assert edomex.state_hint == "15" and edomex.share_matched == 1.0
    with pytest.raises(PlacesError, match="the target cannot replace the relation it reads"):
        key_places(con, "t", ["municipio"], None, target="t")


def test_a_loose_match_is_taken_only_when_no_other_place_came_up():
    """'Salto' is El Salto (Jalisco) without its article and Salto de Agua (Chiapas) by its short name."""
    assert (place("14070").name, place("07077").name) == ("El Salto", "Salto de Agua")
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('Salto', NULL), ('Salto', 'Jalisco'), ('Salto', 'Chis.'), "
                "('Vigas', NULL), ('El Salto', NULL)) v(municipio, entidad)")
    [k] = key_places(con, "t", ["municipio"], None, target="keyed")
    assert k.state_column == "entidad"
    assert con.execute("SELECT municipio_cve_mun FROM keyed").fetchall() == [
        (None,), ("14070",), ("07077",), (None,), ("14070",)]
    assert [(v.value, v.candidates) for v in k.ambiguous] == [("Salto", ("07077", "14070")),
                                                              ("Vigas", ("12082", "30132"))]


PARQUIMETROS = "cdmx-movilidad__mapa_ingresos_parquimetros.csv"
CICLOVIAS = "cdmx-bici__ciclovias.csv"


def test_the_parking_meters_alcaldias_need_the_cdmx_hint_for_the_names_other_states_share(corpus):
    con = duckdb.connect()
    _load(con, "parquimetros", corpus[PARQUIMETROS].path)
    assert [c.name for c in detect_place_columns(con, "parquimetros", "CDMX")] == ["Alcaldía"]
    [hinted] = key_places(con, "parquimetros", None, "CDMX", target="hinted")
    assert (hinted.column, hinted.rows, hinted.rows_matched, hinted.share_matched) == ("Alcaldía", 2426, 2426, 1.0)
    assert sorted(con.execute('SELECT DISTINCT "Alcaldía", "Alcaldía_cve_mun", "Alcaldía_nombre_oficial" '
                              "FROM hinted").fetchall()) == [
        ("Alvaro Obregón", "09010", "Álvaro Obregón"), ("Benito Juárez", "09014", "Benito Juárez"),
        ("Cuauhtémoc", "09015", "Cuauhtémoc"), ("Miguel Hidalgo", "09016", "Miguel Hidalgo")]
    _unchanged(con, "parquimetros", "hinted")
    [bare] = key_places(con, "parquimetros", ["Alcaldía"], None, target="bare")
    # Álvaro Obregón is also in Michoacán; Miguel Hidalgo only in the CDMX
    def named(name: str) -> tuple[str, ...]:
        return tuple(p.cvegeo for p in places() if p.cve_mun and p.name == name)

    assert [(v.value, v.rows, v.candidates) for v in bare.ambiguous] == [
        ("Benito Juárez", 620, named("Benito Juárez")), ("Cuauhtémoc", 369, named("Cuauhtémoc")),
        ("Alvaro Obregón", 81, ("09010", "16003"))]
    assert len(named("Benito Juárez")) == 7 and len(named("Cuauhtémoc")) == 4
    assert (bare.rows_matched, bare.rows_ambiguous, bare.unmatched) == (1356, 620 + 369 + 81, ())


def test_a_status_column_called_estado_is_not_a_state(corpus):
    con = duckdb.connect()
    _load(con, "ciclovias", corpus[CICLOVIAS].path)
    assert con.execute("SELECT DISTINCT ESTADO FROM ciclovias ORDER BY 1").fetchall() == [
        ("Activa",), ("En construccion",), ("Fuera de servicio",)]
    assert detect_place_columns(con, "ciclovias", "CDMX") == []
    [estado] = key_places(con, "ciclovias", ["ESTADO"], "CDMX", target="keyed")
    assert (estado.kind, estado.rows_matched, estado.unmatched_count) == (PlaceKind.ENTIDAD, 0, 3)


def _keying(**changed: object) -> dict[str, object]:
    """A keying as a pack keeps it (PlaceKeying.as_dict()): one alcaldía column, one value of each sort."""
    keying: dict[str, object] = {
        "column": "alcaldia", "kind": "municipio", "level": "municipio", "key_column": "alcaldia_cve_mun",
        "name_column": "alcaldia_nombre_oficial", "rows_matched": 1, "rows_with_value": 1, "share_matched": 1.0,
        "ambiguous": [], "ambiguous_count": 0, "unmatched": [], "unmatched_count": 0}
    keying.update(changed)
    return keying


def test_a_keying_is_described_wholly_in_each_language_with_the_right_forms_for_one():
    from test_i18n import english_fragments, english_on

    one = _keying(ambiguous=[{"value": "Benito Juárez", "rows": 1, "state": None, "candidates": ["09014", "23005"]}],
                  ambiguous_count=1, unmatched=[{"value": "Fuera", "rows": 1, "state": "09", "candidates": []}],
                  unmatched_count=2)
    assert describe_keying(one, "es") == (
        "«alcaldia» (municipio o alcaldía): alcaldia_cve_mun y alcaldia_nombre_oficial según INEGI (Marco "
        "Geoestadístico 2023); 1 de 1 fila con valor coincide (100.0%). Valor ambiguo, sin clave: 'Benito Juárez' "
        "(1: 09014, 23005). Valores sin coincidencia: 'Fuera' [09] (1); y 1 valor más.")
    assert describe_keying(one, "en") == (
        "«alcaldia» (municipio or alcaldía): alcaldia_cve_mun and alcaldia_nombre_oficial from INEGI (Marco "
        "Geoestadístico 2023); 1 of 1 row with a value matches (100.0%). Ambiguous value, no key: 'Benito Juárez' "
        "(1: 09014, 23005). Values with no match: 'Fuera' [09] (1); and 1 more value.")
    many = _keying(kind="key", level="entidad", column="cve_ent", key_column="cve_ent_cvegeo",
                   name_column="cve_ent_nombre_oficial", rows_matched=12_345, rows_with_value=12_346,
                   share_matched=12_345 / 12_346, unmatched=[{"value": "99", "rows": 1, "state": None, "candidates": []}],
                   unmatched_count=1_001, ambiguous=[{"value": "x", "rows": 1_500, "state": None, "candidates": []}],
                   ambiguous_count=2)
    assert describe_keying(many, "es") == (
        "«cve_ent» (clave de entidad): cve_ent_cvegeo y cve_ent_nombre_oficial según INEGI (Marco Geoestadístico "
        "2023); 12,345 de 12,346 filas con valor coinciden (100.0%). Valores ambiguos, sin clave: 'x' (1,500); y 1 "
        "valor más. Valores sin coincidencia: '99' (1); y 1,000 valores más.")
    assert describe_keying(many, "en") == (
        "«cve_ent» (state key): cve_ent_cvegeo and cve_ent_nombre_oficial from INEGI (Marco Geoestadístico 2023); "
        "12,345 of 12,346 rows with a value match (100.0%). Ambiguous values, no key: 'x' (1,500); and 1 more value. "
        "Values with no match: '99' (1); and 1,000 more values.")
    none = _keying(kind="entidad", level="entidad", rows_matched=0, rows_with_value=0, share_matched=None)
    assert describe_keying(none, "es").endswith("«alcaldia» (entidad): alcaldia_cve_mun y alcaldia_nombre_oficial "
                                                "según INEGI (Marco Geoestadístico 2023); 0 de 0 filas con valor "
                                                "coinciden (—).")
    assert describe_keying(_keying(kind="key"), "es").startswith("«alcaldia» (clave de municipio): ")
    messages = english_fragments()
    for keying in (one, many, none):
        assert english_on(describe_keying(keying, "es"), messages) == []


def test_a_column_whose_matched_municipios_all_lie_in_one_state_reads_its_shared_names_in_that_state(alcaldias):
    """INEGI's own 16 alcaldías, named, with no state column and no portal state (a national portal's table):
    the 12 names only the CDMX has tell the column's state, so the 4 names other states share (Cuauhtémoc,
    Benito Juárez, ...) are keyed in the CDMX, and the keying says so. Fewer than STATE_EVIDENCE such names,
    or names of several states, tell nothing: the shared names stay ambiguous."""
    from harvester.places import STATE_EVIDENCE

    con = alcaldias
    official = dict(con.execute("SELECT nomgeo, cvegeo FROM alcaldias").fetchall())
    assert len(official) == 16
    con.execute("CREATE TABLE nacional AS SELECT nomgeo AS alcaldia FROM alcaldias ORDER BY cvegeo")
    [keying] = key_places(con, "nacional", ["alcaldia"], None, target="nacional_lugares")
    keyed = dict(con.execute("SELECT alcaldia, alcaldia_cve_mun FROM nacional_lugares").fetchall())
    assert keyed == official
    assert (keying.state_hint, keying.state_from_values, keying.rows_matched, keying.ambiguous) == (None, "09", 16, ())
    shared = {"Álvaro Obregón", "Benito Juárez", "Cuauhtémoc", "Venustiano Carranza"}  # Miguel Hidalgo: CDMX only
    assert {v.value for v in keying.resolved} == shared and keying.resolved_count == 4
    assert all(v.candidates == (official[v.value],) for v in keying.resolved)
    es, en = keying.describe("es"), keying.describe("en")
    assert "leídos en el estado 09" in es and "read in state 09" in en, (es, en)
    # two places only the CDMX has are not enough, however spelled; names of two states tell no state
    for rows in (["Iztapalapa", "Coyoacán", "Cuauhtémoc"][:STATE_EVIDENCE - 1] + ["Cuauhtémoc"],
                 ["Iztapalapa", "IZTAPALAPA", "Iztapalapa.", "Coyoacán", "Cuauhtémoc"],  # one place spelled thrice
                 ["Iztapalapa", "Coyoacán", "Tlalpan", "Zapopan", "Cuauhtémoc"]):
        con.execute("CREATE OR REPLACE TABLE pocos AS SELECT unnest(?::VARCHAR[]) AS alcaldia", [rows])
        [few] = key_places(con, "pocos", ["alcaldia"], None, target="pocos_lugares")
        assert few.state_from_values is None and few.resolved == ()
        assert [v.value for v in few.ambiguous] == ["Cuauhtémoc"], rows
