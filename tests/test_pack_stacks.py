"""Issue 13: sibling files of one dataset that are the same table over time are one table in the pack, with
columns saying which file and period each row came from, the column mapping shown, and no row or value lost;
files that do not fit stay apart with the reason."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harvester.packstack import ORIGIN_COLUMNS, Alignment, Match, align, period_of, too_different, why_matched
from harvester.sandbox.files import resource_files


@pytest.fixture(scope="module")
def women(demo) -> Path:
    out, result = demo
    assert result.exit_code == 0, result.output
    return out / "packs" / "mobility-and-women" / "latest"


def _entry(latest: Path, dataset: str, stacked: bool = True) -> dict[str, Any]:
    entries = [e for e in json.loads((latest / "provenance.json").read_text())["resources"]
               if e["dataset"] == dataset and ("stacked_from" in e) == stacked]
    assert len(entries) == 1, [e["resource"] for e in entries]
    return entries[0]


def _descriptor(latest: Path, name: str) -> dict[str, Any]:
    (resource,) = [r for r in json.loads((latest / "datapackage.json").read_text())["resources"] if r["name"] == name]
    return resource


def _rows(parquet: Path, sql: str) -> list[tuple[Any, ...]]:
    return duckdb.sql(sql.replace("FROM T", f"FROM read_parquet('{parquet}')")).fetchall()


def _source(key: str, encoding: str = "utf-8") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(resource_files()[key].decode(encoding).lstrip("\ufeff"))))


def test_yearly_victims_files_are_one_table_with_their_file_and_period(women: Path):
    entry = _entry(women, "victimas-en-carpetas-de-investigacion-fgj")
    assert entry["resource"] == "cdmx__victimas_en_carpetas_de_investigacion_fgj__victimas"
    files = entry["stacked_from"]
    assert [(f["file"], f["period"], f["rows"]) for f in files] == [("Víctimas 2019-2022", "2019-2022", 3000),
                                                                   ("Víctimas 2023", "2023", 3000)]
    parquet = women / entry["parquet"]
    assert entry["rows"] == sum(f["rows"] for f in files) == _rows(parquet, "SELECT count(*) FROM T")[0][0]
    assert _rows(parquet, "SELECT origen_archivo, origen_periodo, origen_anio, origen_anio_hasta, origen_mes, count(*) "
                          "FROM T GROUP BY ALL ORDER BY 1") == [
        ("Víctimas 2019-2022", "2019-2022", 2019, 2022, None, 3000), ("Víctimas 2023", "2023", 2023, 2023, None, 3000)]
    # camelCase against snake_case and `Ano_inicio` against `anio_inicio` line up; the mapping is shown
    assert files[1]["columns"]["anio_inicio"] == "ano_inicio" and files[1]["columns"]["id_carpeta"] == "id_carpeta"
    assert files[0]["columns"]["idCarpeta"] == "id_carpeta"
    readme = (women / "README.md").read_text(encoding="utf-8")
    assert "| Ano_inicio | anio_inicio | `ano_inicio` |" in readme and "| idCarpeta | id_carpeta | `id_carpeta` |" in readme
    descriptor = _descriptor(women, entry["resource"])
    assert descriptor["stacked_from"][1]["columns"]["anio_inicio"] == "ano_inicio"
    mapped = [c for c in descriptor["changes"] if c["code"] == "column_mapped"]
    assert [(c["column"], c["file"]) for c in mapped] == [("ano_inicio", "Víctimas 2023")]
    # no value lost: each file's ids and ages, read from the sandbox's own bytes, are its rows in the stack
    for f, key, encoding in ((files[0], "victimas_2019_2022.csv", "cp1252"), (files[1], "victimas_2023.csv", "utf-8")):
        source = _source(f"cdmx/victimas-en-carpetas-de-investigacion-fgj/{key}", encoding)
        ids = [r.get("idCarpeta") or r.get("id_carpeta") for r in source]
        stacked = _rows(parquet, f"SELECT id_carpeta, edad, ano_inicio FROM T WHERE origen_archivo = '{f['file']}'")
        assert [str(r[0]) for r in stacked] == ids
        assert [str(r[1]) for r in stacked] == [r["Edad"] for r in source]
        assert [str(r[2]) for r in stacked] == [r.get("Ano_inicio") or r.get("anio_inicio") for r in source]


def test_a_letter_lost_to_a_broken_encoding_is_mapped(women: Path):
    entry = _entry(women, "carpetas-de-investigacion-fgj-de-la-ciudad-de-mexico")
    files = entry["stacked_from"]
    assert [f["rows"] for f in files] == [400, 250] and entry["rows"] == 650
    assert files[1]["columns"]["año_hechos"] == "ao_hechos" and files[1]["columns"]["FechaHechos"] == "fecha_hechos"
    (mapped,) = [c for c in _descriptor(women, entry["resource"])["changes"] if c["code"] == "column_mapped"]
    assert mapped["column"] == "ao_hechos"
    assert mapped["es"] == (f"En el archivo «{mapped['file']}» la columna «año_hechos» se unió con `ao_hechos` (una letra "
                            "perdida por una codificación rota).")
    assert mapped["en"] == (f"In the file «{mapped['file']}» the column «año_hechos» was joined with `ao_hechos` (a letter "
                            "lost to a broken encoding).")
    parquet = women / entry["parquet"]
    assert _rows(parquet, "SELECT origen_periodo, min(ao_hechos), max(ao_hechos), count(*) FROM T GROUP BY ALL "
                          "ORDER BY 1 NULLS FIRST") == [(None, 2019, 2022, 400), ("2024", 2024, 2024, 250)]
    # the 2024 file's day-first dates are dates, as the older file's ISO ones
    assert _rows(parquet, "SELECT typeof(fecha_hechos), count(fecha_hechos) FROM T GROUP BY ALL") == [("DATE", 650)]


def test_a_later_file_without_some_columns_is_stacked_and_says_which(women: Path):
    entry = _entry(women, "incidentes-viales-c5")
    assert [(f["period"], f["rows"]) for f in entry["stacked_from"]] == [("2019", 400), ("2023", 400)]
    changes = _descriptor(women, entry["resource"])["changes"]
    absent = sorted(c["column"] for c in changes if c["code"] == "column_absent")
    assert absent == ["colonia_catalogo", "hora_creacion"]
    parquet = women / entry["parquet"]
    assert _rows(parquet, "SELECT count(hora_creacion) FROM T WHERE origen_periodo = '2023'") == [(0,)]
    assert _rows(parquet, "SELECT count(*) FROM T WHERE hora_creacion IS NOT NULL") == [(400,)]


def test_files_too_different_stay_apart_with_the_reason(women: Path):
    provenance = json.loads((women / "provenance.json").read_text())["resources"]
    apart = [e for e in provenance if e["dataset"] == "fotocivicas"]
    assert len(apart) == 2 and not any("stacked_from" in e for e in apart)
    later = _descriptor(women, apart[1]["resource"])
    (why,) = [c for c in later["changes"] if c["code"] == "not_stacked"]
    assert why["es"] == ("No se unió con «Fotocívicas 2024» aunque es del mismo conjunto de datos: comparten 2 de 5 "
                         "columnas (hace falta al menos el 60% para unirlas).")
    assert why["en"] == ("Not stacked with «Fotocívicas 2024» although it is of the same dataset: they share 2 of 5 "
                         "columns (at least 60% are needed to stack them).")
    assert why["es"] in (women / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("text", "period"), [
    ("Víctimas 2019-2022", ("2019-2022", 2019, 2022, None)), ("Víctimas 2023", ("2023", 2023, 2023, None)),
    ("ecobici_2024_01.csv", ("2024-01", 2024, 2024, 1)), ("Viajes febrero 2024", ("2024-02", 2024, 2024, 2)),
    ("ResumenDeActividadPorVehiculoAbr2016.csv", ("2016-04", 2016, 2016, 4)),
    ("http://host/datos/afluencia_202403.csv", ("2024-03", 2024, 2024, 3)), ("Afluencia Tren Ligero", None),
])
def test_the_period_is_read_from_names_and_urls(text: str, period: tuple[Any, ...] | None):
    found = period_of(text)
    assert (found and (found.text, found.year, found.year_to, found.month)) == period


def test_columns_line_up_by_spelling_and_lost_letters_but_not_by_guessing():
    a = align(["idCarpeta", "Año_inicio", "Alcaldía", "año_hechos"], ["id_carpeta", "ano_inicio", "alcaldia", "ao_hechos"])
    assert {(m.base, m.other, m.how) for m in a.matches} == {
        ("idCarpeta", "id_carpeta", "same"), ("Año_inicio", "ano_inicio", "spelling"), ("Alcaldía", "alcaldia", "same"),
        ("año_hechos", "ao_hechos", "lost_letter")}
    # two columns one letter away from the same name: no guess
    b = align(["casa", "cosa", "total"], ["csa", "Total"])
    assert [(m.base, m.other) for m in b.matches] == [("total", "Total")] and b.unmatched == ["csa"]
    assert b.missing == ["casa", "cosa"]


def test_why_files_stay_apart_or_columns_line_up_is_said_wholly_in_each_language():
    one = Alignment(matches=[Match("a", "a", "same")])
    assert too_different(["a"], ["a"], one, 0.8, "es") == "comparten 1 de 1 columna (hace falta al menos el 80% para unirlas)"
    assert too_different(["a"], ["a"], one, 0.8, "en") == "they share 1 of 1 column (at least 80% are needed to stack them)"
    many = Alignment(matches=[Match(str(i), str(i), "same") for i in range(1_200)])
    wide = [str(i) for i in range(1_500)]
    assert too_different(wide, wide[:1_200], many, 0.6, "es") == ("comparten 1,200 de 1,500 columnas (hace falta al "
                                                                  "menos el 60% para unirlas)")
    assert too_different(wide, wide[:1_200], many, 0.6, "en") == ("they share 1,200 of 1,500 columns (at least 60% are "
                                                                  "needed to stack them)")
    assert why_matched("spelling", "es") == "el mismo nombre escrito de otra forma: mayúsculas, acentos, ñ o guiones"
    assert why_matched("spelling", "en") == "the same name written another way: case, accents, ñ or separators"
    assert why_matched("lost_letter", "es") == "una letra perdida por una codificación rota"
    assert why_matched("lost_letter", "en") == "a letter lost to a broken encoding"


def test_a_stack_s_origin_columns_are_titled_in_spanish_then_english(women: Path):
    entry = _entry(women, "victimas-en-carpetas-de-investigacion-fgj")
    fields = {f["name"]: f for f in _descriptor(women, entry["resource"])["schema"]["fields"]}
    assert [fields[c]["title"] for c in ORIGIN_COLUMNS] == [
        "archivo de origen / source file", "periodo del archivo / the file's period",
        "año del archivo (el primero, si cubre varios) / the file's year (the first, when it covers several)",
        "último año del archivo / the file's last year", "mes del archivo / the file's month"]
