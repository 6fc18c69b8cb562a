"""`harvester pack build`, as the demo runs it on the sandbox: validated Parquet packs with a data
dictionary, provenance, expectations and allies; reproducible byte for byte; never half-published."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from frictionless import Package

from harvester.config import load_settings
from harvester.errors import HarvesterError
from harvester.pack import build_packs
from harvester.places import describe_keying

THEMES = ("care-economy", "mobility-and-women")


@pytest.fixture(scope="module")
def packs(demo) -> Path:
    out, result = demo
    assert result.exit_code == 0, result.output
    return out / "packs"


def _with_profile(copy: Path, theme: str, old: str, new: str):
    """Settings of a copied demo whose profiles folder holds only `theme`, edited."""
    from harvester.demo import BUNDLED_PROFILES
    profiles = copy / "profiles"
    profiles.mkdir(exist_ok=True)
    text = (BUNDLED_PROFILES / f"{theme}.toml").read_text(encoding="utf-8")
    assert old in text
    (profiles / f"{theme}.toml").write_text(text.replace(old, new), encoding="utf-8")
    config = copy / "catalogs.toml"
    config.write_text("\n".join(f'profiles = "{profiles.as_posix()}"' if line.startswith("profiles =") else line
                                for line in config.read_text(encoding="utf-8").splitlines()), encoding="utf-8")
    return load_settings(config, env={})


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("theme", THEMES)
def test_a_pack_holds_everything_a_team_needs(packs: Path, theme: str):
    latest = packs / theme / "latest"
    assert latest.is_symlink() and (packs / theme / latest.readlink()).is_dir()
    version = latest.readlink().name
    files = {p.name for p in latest.iterdir()}
    assert {"datapackage.json", "README.md", "README.en.md", "provenance.json", "allies.json", "expectations.json",
            "SHA256SUMS", "INPUTS", f"{theme}-{version}.zip", "data", "docs", "inicio.ipynb"} == files
    # the checksums cover every file, and the zip holds them all
    sums = dict(reversed(line.split("  ", 1)) for line in (latest / "SHA256SUMS").read_text().splitlines())
    assert sums == {k: v for k, v in digests(latest).items() if k not in ("SHA256SUMS", f"{theme}-{version}.zip")}
    import zipfile
    with zipfile.ZipFile(latest / f"{theme}-{version}.zip") as archive:
        assert sorted(n.split("/", 1)[1] for n in archive.namelist()) == sorted([*sums, "SHA256SUMS"])


@pytest.mark.parametrize("theme", THEMES)
def test_the_datapackage_validates_with_frictionless(packs: Path, theme: str):
    report = Package(str(packs / theme / "latest" / "datapackage.json")).validate()
    assert report.valid, report.flatten(["resourcePath", "rowNumber", "fieldName", "type", "note"])[:5]


def test_parquet_reads_back_with_pandas_and_duckdb(packs: Path):
    latest = packs / "mobility-and-women" / "latest"
    provenance = {r["resource"]: r for r in json.loads((latest / "provenance.json").read_text())["resources"]}
    for name, entry in provenance.items():
        path = latest / entry["parquet"]
        frame = pd.read_parquet(path)
        ((count,),) = duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchall()
        assert len(frame) == count == entry["rows"] and count > 0, name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["parquet_sha256"]
        assert all(c == c.lower() and " " not in c for c in frame.columns), frame.columns
    victims = "cdmx__victimas_en_carpetas_de_investigacion_fgj__victimas"  # the yearly files, stacked
    frame = pd.read_parquet(latest / provenance[victims]["parquet"])
    # snake_case names, the profile's types, and text decoded from cp1252
    assert {"id_carpeta", "ano_inicio", "fecha_inicio", "alcaldia_hechos", "latitud"} <= set(frame.columns)
    assert str(frame["id_carpeta"].dtype) == "int64" and str(frame["latitud"].dtype) == "float64"
    assert duckdb.sql(f"SELECT typeof(fecha_inicio) FROM '{latest / provenance[victims]['parquet']}' LIMIT 1"
                      ).fetchall() == [("DATE",)]
    assert "Álvaro Obregón" in set(frame["alcaldia_hechos"])
    # originals are kept in the metadata
    descriptor = json.loads((latest / "datapackage.json").read_text())
    fields = next(r for r in descriptor["resources"] if r["name"] == victims)["schema"]["fields"]
    assert {"name": "ano_inicio", "type": "integer", "title": "Ano_inicio"} in fields
    # a dataset the gates reject is not in the pack
    assert not any(e["dataset"] == "afluencia-diaria-de-metrobus-cdmx" for e in provenance.values())


def test_places_get_their_inegi_keys_beside_the_original_column(packs: Path):
    """Issue 13, places that join: an alcaldía column gets its INEGI key (five digits, leading zeros kept)
    and official name, whatever the spelling; the original is kept; the share matched is in the dictionary."""
    latest = packs / "mobility-and-women" / "latest"
    provenance = {r["resource"]: r for r in json.loads((latest / "provenance.json").read_text())["resources"]}
    victims = "cdmx__victimas_en_carpetas_de_investigacion_fgj__victimas"
    path = latest / provenance[victims]["parquet"]
    pairs = duckdb.sql(f"SELECT DISTINCT alcaldia_hechos, alcaldia_hechos_cve_mun, alcaldia_hechos_nombre_oficial "
                       f"FROM '{path}' WHERE alcaldia_hechos IS NOT NULL").fetchall()
    keyed = {source: (key, name) for source, key, name in pairs}
    assert keyed["Álvaro Obregón"] == ("09010", "Álvaro Obregón")
    assert {key for key, _ in keyed.values() if key} <= {f"09{n:03d}" for n in range(2, 18)}
    assert duckdb.sql(f"SELECT typeof(alcaldia_hechos_cve_mun) FROM '{path}' LIMIT 1").fetchall() == [("VARCHAR",)]
    assert duckdb.sql(f"SELECT count(*) FROM '{path}' WHERE alcaldia_hechos IS NOT NULL "
                      "AND alcaldia_hechos_cve_mun IS NULL").fetchall() == [(0,)]  # every spelling matched
    descriptor = json.loads((latest / "datapackage.json").read_text())
    fields = {f["name"]: f for f in next(r for r in descriptor["resources"] if r["name"] == victims)["schema"]["fields"]}
    keying = fields["alcaldia_hechos_cve_mun"]["inegi_keying"]
    assert keying["share_matched"] == 1.0 and keying["state_hint"] == "09" and keying["unmatched"] == []
    assert "INEGI" in fields["alcaldia_hechos"]["description"]  # the original says how it was keyed
    # one description per field: the keying in Spanish, whole, then in English, whole (packtable.field_description)
    inegi = "(INEGI, Marco Geoestadístico 2023 (harvester/data/inegi_places.csv))"
    column = keying["column"]  # the first file's name (the keying names the columns as the source does)
    assert column == "AlcaldiaHechos"
    assert fields["alcaldia_hechos_cve_mun"]["description"] == (
        f"Clave INEGI de «{column}». {describe_keying(keying, 'es')} {inegi} / "
        f"INEGI key of «{column}». {describe_keying(keying, 'en')} {inegi}")
    assert fields["alcaldia_hechos_nombre_oficial"]["description"] == (
        f"Nombre oficial INEGI de «{column}». {describe_keying(keying, 'es')} {inegi} / "
        f"INEGI official name of «{column}». {describe_keying(keying, 'en')} {inegi}")
    assert fields["alcaldia_hechos"]["description"] == (f"{describe_keying(keying, 'es')} {inegi} / "
                                                        f"{describe_keying(keying, 'en')} {inegi}")
    assert describe_keying(keying, "es") == (
        "«AlcaldiaHechos» (municipio o alcaldía): AlcaldiaHechos_cve_mun y AlcaldiaHechos_nombre_oficial según INEGI "
        "(Marco Geoestadístico 2023); 3,000 de 3,000 filas con valor coinciden (100.0%).")
    readme = (latest / "README.md").read_text(encoding="utf-8")
    assert "alcaldia_hechos_cve_mun" in readme and "filas con valor coinciden (100.0%)" in readme
    assert "| Clave INEGI de «alcaldia_hechos». «alcaldia_hechos» (municipio o alcaldía): alcaldia_hechos_cve_mun y " \
        "alcaldia_hechos_nombre_oficial según INEGI (Marco Geoestadístico 2023); " in readme
    english = (latest / "README.en.md").read_text(encoding="utf-8")
    assert "| INEGI key of «alcaldia_hechos». «alcaldia_hechos» (municipio or alcaldía): alcaldia_hechos_cve_mun and " \
        "alcaldia_hechos_nombre_oficial from INEGI (Marco Geoestadístico 2023); " in english
    assert "rows with a value match (100.0%)" in english
    # a federal (national) table has no portal state to prefer, but its own alcaldías are all the CDMX's: the
    # names several states share are read there, and the keying lists them (places.py, state_from_values)
    national = next(r for r in descriptor["resources"] if r["name"].startswith("federal__") and any(
        "inegi_keying" in f for f in r["schema"]["fields"]))
    keying = next(f["inegi_keying"] for f in national["schema"]["fields"] if "inegi_keying" in f)
    assert (keying["state_hint"], keying["state_from_values"], keying["ambiguous"]) == (None, "09", [])
    assert {(r["value"], tuple(r["candidates"])) for r in keying["resolved"]} >= {
        ("Cuauhtémoc", ("09015",)), ("Venustiano Carranza", ("09017",))}
    assert keying["share_matched"] == 1.0


def test_placeholders_become_nulls_and_the_readme_documents_each_table(packs: Path):
    latest = packs / "care-economy" / "latest"
    provenance = json.loads((latest / "provenance.json").read_text())["resources"]
    pension = next(e for e in provenance if e["dataset"] == "adultos-mayores-pension")
    frame = pd.read_parquet(latest / pension["parquet"])
    assert frame["monto_pension"].isna().sum() == len(range(154, 300, 7))  # every `N/D`
    readme = (latest / "README.md").read_text()
    assert "| `monto_pension` | monto_pension | `number` | 7% |" in readme  # nullable whole numbers, see pack.py
    assert f'pd.read_parquet("{provenance[0]["parquet"]}")' in readme and "arrow::read_parquet" in readme
    assert pension["source_url"] in readme and "cc-by-4.0" in readme
    allies = json.loads((latest / "allies.json").read_text())["allies"]
    imss = next(a for a in allies if a["organization"] == "Instituto Mexicano del Seguro Social")
    assert imss["contacts"] and imss["datasets"] == ["federal/guarderias_imss"]
    results = json.loads((latest / "expectations.json").read_text())["tables"]
    checked = {c["check"] for r in results for c in r["checks"]}
    assert "alcaldia: one of the 16 alcaldías" in checked


def test_rebuilding_unchanged_inputs_gives_byte_identical_files(demo, tmp_path: Path):
    out, _ = demo
    copy = tmp_path / "demo"
    shutil.copytree(out, copy, symlinks=True)
    shutil.rmtree(copy / "packs")
    settings = load_settings(copy / "catalogs.toml", env={})
    rebuilt = {r.name: r for r in build_packs(settings)}
    for theme in THEMES:
        original = (out / "packs" / theme / "latest").resolve()
        assert rebuilt[theme].version == original.name and rebuilt[theme].new
        assert digests(rebuilt[theme].path) == digests(original)
    again = build_packs(settings, ["care-economy"])[0]
    assert not again.new and again.version == rebuilt["care-economy"].version


def test_a_failed_build_never_replaces_the_last_good_pack(demo, tmp_path: Path):
    out, _ = demo
    copy = tmp_path / "demo"
    shutil.copytree(out, copy, symlinks=True)
    home = copy / "packs" / "care-economy"
    before = (home / "latest").readlink()
    provenance = json.loads((home / "latest" / "provenance.json").read_text())["resources"]
    source = next(e for e in provenance if e["dataset"] == "caci")
    with duckdb.connect(str(copy / "catalog.duckdb"), read_only=True) as con:
        (path,) = con.execute("SELECT coalesce(table_path, f.path) FROM validations v JOIN resource_files f "
                              "USING (catalog_id, dataset_id, resource_id) WHERE v.resource_id = ? AND v.part = ?",
                              [source["resource_id"], source["part"] or ""]).fetchone()
    (copy / path).unlink()  # a source file lost between validation and the build
    settings = _with_profile(copy, "care-economy", "max_errors = 1000", "max_errors = 999")  # so it must rebuild
    with pytest.raises((HarvesterError, duckdb.Error, OSError)):
        build_packs(settings, ["care-economy"])
    assert (home / "latest").readlink() == before
    assert sorted(p.name for p in home.iterdir()) == sorted([before.name, "latest"])  # nothing half-built left


def test_pack_build_cli(demo, run_cli, tmp_path: Path):
    out, _ = demo
    copy = tmp_path / "demo"
    shutil.copytree(out, copy, symlinks=True)
    result = run_cli("pack", "build", "care-economy", "--json", config=copy / "catalogs.toml")
    assert result.exit_code == 0, result.output
    (built,) = json.loads(result.stdout)
    assert built["name"] == "care-economy" and built["new"] is False and built["tables"] > 5
    missing = run_cli("pack", "build", "deportes", config=copy / "catalogs.toml")
    assert missing.exit_code == 1 and "no such theme profile" in missing.output


@pytest.mark.parametrize("names, expected", [
    (["idCarpeta", "Año_inicio", "AlcaldiaHechos"], ["id_carpeta", "anio_inicio", "alcaldia_hechos"]),
    # issue 13: readable in Spanish, nothing silently dropped
    (["año", "ano", "% mujeres", "Número", "AÃ±o_hechos"], ["anio", "ano", "pct_mujeres", "numero", "anio_hechos"]),
    (["N° de casos", "Temperatura °C", "Monto ($)", "Hombres + Mujeres", "CalleAlumbrado%", "# folio"],
     ["num_de_casos", "temperatura_grados_c", "monto_pesos", "hombres_mas_mujeres", "calle_alumbrado_pct",
      "num_folio"]),
    (["Straße", "a☃b", "DISTANCIA DE VIAJE (km)", "location/lat"],
     ["straße", "a_u2603_b", "distancia_de_viaje_km", "location_lat"]),
    (["ï»¿Conjunto de datos", "EDAD_V", "Ciclo_EstacionArribo"], ["conjunto_de_datos", "edad_v", "ciclo_estacion_arribo"]),
    (["total", "Total", "", "2020"], ["total", "total_2", "column_3", "c_2020"]),
])
def test_column_names_become_unique_snake_case(names, expected):
    from harvester.colnames import snake
    taken: set[str] = set()
    assert [snake(n, taken, i) for i, n in enumerate(names, 1)] == expected


def test_an_exclude_added_to_the_profile_changes_the_next_build(demo, tmp_path: Path):
    out, _ = demo
    copy = tmp_path / "demo"
    shutil.copytree(out, copy, symlinks=True)
    settings = _with_profile(copy, "care-economy", 'exclude = []', 'exclude = ["cdmx/caci"]')
    before = (copy / "packs" / "care-economy" / "latest").readlink().name
    (built,) = build_packs(settings)
    assert built.new and built.version != before
    provenance = json.loads((built.path / "provenance.json").read_text())["resources"]
    assert "caci" not in {e["dataset"] for e in provenance} and len(provenance) > 3


def test_an_include_or_exclude_naming_no_harvested_dataset_is_reported(demo, tmp_path: Path, run_cli):
    """Issue 14: before, a misspelt ref in include or exclude was ignored in silence."""
    out, _ = demo
    copy = tmp_path / "demo"
    shutil.copytree(out, copy, symlinks=True)
    settings = _with_profile(copy, "care-economy", 'exclude = []', 'exclude = ["cdmx/caci", "cdmx/no-existe"]')
    (built,) = build_packs(settings)
    assert built.unknown_refs == ["exclude cdmx/no-existe"]
    config = copy / "catalogs.toml"
    listed = run_cli("pack", "candidates", "care-economy", config=config)
    assert listed.exit_code == 0
    warned = [line for line in listed.stderr.splitlines() if "no-existe" in line]
    assert warned == ["Warning: care-economy: exclude cdmx/no-existe: names no harvested dataset"]
    as_json = run_cli("pack", "candidates", "care-economy", "--json", config=config)
    assert json.loads(as_json.stdout)["unknown_refs"] == ["exclude cdmx/no-existe"]


def test_folders_left_by_a_killed_build_are_removed_by_the_next(demo, tmp_path: Path):
    import os
    import time
    out, _ = demo
    copy = tmp_path / "demo"
    shutil.copytree(out, copy, symlinks=True)
    home = copy / "packs" / "care-economy"
    stale, live = home / ".build-0123456789ab", home / ".build-ba9876543210"
    for folder in (stale, live):
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "half.parquet").write_bytes(b"PAR1")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))  # killed two hours ago
    build_packs(load_settings(copy / "catalogs.toml", env={}), ["care-economy"])  # nothing to rebuild
    assert not stale.exists()
    assert live.is_dir()  # younger than an hour: it may be another build still running


def test_a_pack_says_how_many_rows_it_left_out_and_why(packs: Path):
    """The sandbox's Línea Mujeres file has a row with one cell more than its header (line 82): DuckDB cannot
    read it as the header's columns, and the pack says so (how many, against the validated count, and why)
    in provenance.json and the README, instead of holding one row less in silence."""
    latest = packs / "mobility-and-women" / "latest"
    provenance = [r for r in json.loads((latest / "provenance.json").read_text())["resources"]
                  if r["dataset"] == "linea-mujeres"]
    assert len(provenance) == 1 and provenance[0]["rows_left_out"] == 1, provenance
    spanish, english = provenance[0]["why_left_out"].split(" / ")  # Spanish first, then English, each whole
    assert "más celdas que el encabezado" in spanish and "more cells than the header" in english
    readme = (latest / "README.en.md").read_text(encoding="utf-8")
    assert f"{provenance[0]['rows']} rows (1 of the source's {provenance[0]['rows'] + 1} left out: " in readme
    readme = (latest / "README.md").read_text(encoding="utf-8")
    assert f"{provenance[0]['rows']} filas (1 de las {provenance[0]['rows'] + 1} de la fuente quedaron fuera: " in readme


def test_portal_text_in_a_pack_readme_is_inert_and_names_are_bounded():
    """Issue 15: raw HTML from a portal reached the pack README (a Markdown renderer then ran `<img onerror>`),
    and a 10,000-character name broke `pack build` with "File name too long"."""
    from harvester.model import Dataset, PackTable, TableValidation
    from harvester.pack import MAX_NAME, _file_name
    from harvester.packreadme import md_cell as _cell

    hostile = '<img src=x onerror="window.__pwned=1"> <script>alert(1)</script> | fila\nnueva'
    shown = _cell(hostile)
    assert "<" not in shown and ">" not in shown and "\n" not in shown and " \\| fila" in shown
    taken: set[str] = set()

    def table(name: str) -> PackTable:
        return PackTable(dataset=Dataset(catalog_id="cdmx", remote_id=name[:36], name=name),
                         validation=TableValidation(catalog_id="cdmx", dataset_id=name[:36], resource_id="r1",
                                                    sha256="x"), resource_name="datos", url=None, path="raw/x.csv",
                         changed_at=None)
    first, second = _file_name(table("a" * 10_000), taken), _file_name(table("a" * 9_999 + "b"), taken)
    assert len(first) <= MAX_NAME and len(second) <= MAX_NAME and first != second
    assert _file_name(table("metro"), taken) == "cdmx__metro__datos"  # ordinary names unchanged


def test_the_theme_s_expectations_read_the_published_columns_not_the_inegi_companions_nor_a_dictionary(demo):
    """`alcaldia*` is the alcaldía names as published: the companion `alcaldia_cve_mun` the pack adds holds keys
    (`09015`), not names; and a dataset's data dictionary holds none of the data's required columns."""
    out, _ = demo
    tables = json.loads((out / "packs/care-economy/latest/expectations.json").read_text(encoding="utf-8"))["tables"]
    checks = {t["table"]: t["checks"] for t in tables}
    assert not [c["check"] for cs in checks.values() for c in cs if "_cve_mun" in c["check"] or "_cvegeo" in c["check"]]
    alcaldias = [c for cs in checks.values() for c in cs if c["check"].startswith("alcaldia") and "16 alcald" in c["check"]]
    assert alcaldias and all(c["success"] for c in alcaldias), alcaldias  # the names themselves are checked
    (microdata,) = [t for t in checks if "enut_2019__microdatos" in t]
    assert {c["check"] for c in checks[microdata]} >= {"required column SEXO", "required column EDAD_V"}
    assert all(c["success"] for c in checks[microdata])
    (dictionary,) = [t for t in checks if "enut_2019__diccionario" in t]
    assert checks[dictionary] == []
