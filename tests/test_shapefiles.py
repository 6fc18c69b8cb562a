"""Shapefile ZIPs as INEGI and the portals publish them (.shp .shx .dbf .prj .cpg, in a sub-folder, several
layers): each layer's attribute table is a table, read with its .cpg's encoding, else its language driver
byte's, else a stated guess; its declared field types are written as a Table Schema sidecar. The real INEGI
dBase tables of the corpus (tests/real_files.py) are the attribute tables."""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from harvester.archives import inspect_zip
from harvester.sandbox.files import dbf_bytes, zip_bytes
from harvester.sniff import sniff
from harvester.tables import Table, TableError, _cpg_codec, extract_tables, schema_path
from real_files import RealFile

LIMIT = 50 << 20
FIELDS = [("CVE_MUN", "C", 3, 0), ("NOMGEO", "C", 30, 0), ("POB", "N", 8, 0), ("TASA", "N", 5, 1),
          ("ALTA", "D", 8, 0), ("URBANO", "L", 1, 0)]
RECORDS: list[list[object]] = [["003", "Coyoacán", 614447, 12.5, dt.date(1928, 12, 31), True],
                               ["013", "Xochimilco “Sur”", 442178, 7.0, None, False],
                               ["012", "Tláhuac", 392313, None, dt.date(1970, 1, 1), None]]


def extract(tmp_path: Path, members: dict[str, bytes], name: str = "capa.zip") -> list[Table]:
    path = tmp_path / name
    path.write_bytes(zip_bytes(members))
    return extract_tables(path, sniff(path), max_member_bytes=LIMIT)


def rows(table: Table) -> list[list[str]]:
    with table.path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def schema(table: Table) -> list[tuple[str, str]]:
    assert table.schema == schema_path(table.path) == table.path.with_name(table.path.name + ".schema.json")
    return [(f["name"], f["type"]) for f in json.loads(table.schema.read_text(encoding="utf-8"))["fields"]]


def layer(stem: str, dbf: bytes | None, cpg: str | None = None) -> dict[str, bytes]:
    members = {f"{stem}.shp": bytes(100), f"{stem}.shx": bytes(100), f"{stem}.prj": b'GEOGCS["WGS 84"]'}
    if dbf is not None:
        members[f"{stem}.dbf"] = dbf
    if cpg is not None:
        members[f"{stem}.cpg"] = cpg.encode()
    return members


def test_every_layer_in_a_sub_folder_is_a_table_read_with_its_cpg(tmp_path: Path, corpus: dict[str, RealFile]) -> None:
    """INEGI's Marco Geoestadístico: the state and municipal layers in one ZIP, under conjunto_de_datos/,
    each with a .cpg saying 'ISO 88591'; the real attribute tables, Latin-1 names and zero-padded keys."""
    folder = "mg2023_00/conjunto_de_datos"
    members = {"mg2023_00/LEAME.txt": b"Marco Geoestadistico 2023\n",
               **layer(f"{folder}/00ent", corpus["inegi-mg__00ent.dbf"].path.read_bytes(), "ISO 88591"),
               **layer(f"{folder}/00mun", corpus["inegi-mg__00mun.dbf"].path.read_bytes(), "ISO 88591\r\n")}
    tables = {t.part: t for t in extract(tmp_path, members, "mg2023_00.zip")}
    assert sniff(tmp_path / "mg2023_00.zip") == "SHP-ZIP"
    assert set(tables) == {f"layer:{folder}/00ent", f"layer:{folder}/00mun"}
    states, towns = tables[f"layer:{folder}/00ent"], tables[f"layer:{folder}/00mun"]
    assert (states.source, states.delimiter) == ("shapefile attribute table", ",")
    assert states.note == "text read as iso8859-1: its .cpg says 'ISO 88591'" == towns.note
    header, *records = rows(states)
    assert header == ["CVEGEO", "CVE_ENT", "NOMGEO"] and len(records) == 32
    assert ["09", "09", "Ciudad de México"] in records and ["16", "16", "Michoacán de Ocampo"] in records
    header, *records = rows(towns)
    assert header == ["CVEGEO", "CVE_ENT", "CVE_MUN", "NOMGEO"] and len(records) == 2475
    assert ["09010", "09", "010", "Álvaro Obregón"] in records
    assert schema(towns) == [("CVEGEO", "string"), ("CVE_ENT", "string"), ("CVE_MUN", "string"), ("NOMGEO", "string")]
    # only the table CSVs and their sidecars are left: no copied .dbf, no scratch folder
    assert sorted(p.name for p in (tmp_path / "mg2023_00.zip.tables").iterdir()) == sorted(
        [states.path.name, states.path.name + ".schema.json", towns.path.name, towns.path.name + ".schema.json"])


@pytest.mark.parametrize(("cpg", "codec"), [
    ("ISO 88591", "iso8859-1"), ("88591", "iso8859-1"), ("ISO-8859-1", "iso8859-1"), ("LATIN1", "iso8859-1"),
    ("UTF-8", "utf-8"), ("utf8", "utf-8"), ("65001", "utf-8"), ("1252", "cp1252"), ("ANSI 1252", "cp1252"),
    ("CP1252", "cp1252"), ("Windows-1252", "cp1252"), ("ISO 885915", "iso8859-15"), ("850", "cp850"),
    ("OEM", None), ("SYSTEM", None), ("", None)])
def test_the_code_page_names_a_cpg_is_written_with(cpg: str, codec: str | None) -> None:
    assert _cpg_codec(cpg) == codec


def test_the_cpg_comes_before_the_language_driver_byte(tmp_path: Path) -> None:
    """ArcGIS writes UTF-8 text with a .cpg 'UTF-8' and may leave the ANSI driver byte (0x57, cp1252)."""
    dbf = dbf_bytes(FIELDS, RECORDS, encoding="utf-8", language_driver=0x57)
    (table,) = extract(tmp_path, layer("alcaldias", dbf, "UTF-8"))
    assert table.part == "layer:alcaldias" and table.note == "text read as utf-8: its .cpg says 'UTF-8'"
    assert [r[1] for r in rows(table)[1:]] == ["Coyoacán", "Xochimilco “Sur”", "Tláhuac"]


def test_without_a_cpg_the_language_driver_byte_decides(tmp_path: Path) -> None:
    dbf = dbf_bytes(FIELDS, RECORDS, encoding="cp1252", language_driver=0x57)
    (table,) = extract(tmp_path, layer("alcaldias", dbf))
    assert table.note == "text read as cp1252: its language driver byte 0x57 says cp1252"
    header, *records = rows(table)
    assert header == ["CVE_MUN", "NOMGEO", "POB", "TASA", "ALTA", "URBANO"]
    # character fields as stored (zero-padded), numbers as their digits, dates ISO, logicals true/false
    assert records == [["003", "Coyoacán", "614447", "12.5", "1928-12-31", "true"],
                       ["013", "Xochimilco “Sur”", "442178", "7.0", "", "false"],
                       ["012", "Tláhuac", "392313", "", "1970-01-01", ""]]
    assert schema(table) == [("CVE_MUN", "string"), ("NOMGEO", "string"), ("POB", "integer"), ("TASA", "number"),
                             ("ALTA", "date"), ("URBANO", "boolean")]


def test_without_either_the_encoding_is_a_stated_guess(tmp_path: Path) -> None:
    latin1 = [r[:1] + [str(r[1]).replace("“", "").replace("”", "")] + r[2:] for r in RECORDS]
    guessed = {
        "latin": (dbf_bytes(FIELDS, latin1, encoding="latin-1", language_driver=0), "iso8859-1", "Tláhuac"),
        "ansi": (dbf_bytes(FIELDS, RECORDS, encoding="cp1252", language_driver=0), "cp1252", "Xochimilco “Sur”"),
        "utf8": (dbf_bytes(FIELDS, RECORDS, encoding="utf-8", language_driver=0), "utf-8", "Tláhuac"),
    }
    for stem, (dbf, codec, name) in guessed.items():
        (table,) = extract(tmp_path, layer(stem, dbf), f"{stem}.zip")
        assert table.note == f"no .cpg, no language driver byte: text read as {codec}, guessed from the bytes"
        assert name in [r[1] for r in rows(table)]


def test_a_cpg_the_text_belies_is_said_and_the_text_read_as_it_is(tmp_path: Path) -> None:
    dbf = dbf_bytes(FIELDS, [r[:1] + ["Tláhuac"] + r[2:] for r in RECORDS], encoding="latin-1", language_driver=0)
    (table,) = extract(tmp_path, layer("mal", dbf, "UTF-8"))
    assert table.note == "its .cpg says 'UTF-8', but its text is not utf-8: read as iso8859-1, guessed from the bytes"
    assert {r[1] for r in rows(table)[1:]} == {"Tláhuac"}
    ansi = dbf_bytes(FIELDS, RECORDS, encoding="cp1252", language_driver=0)
    (table,) = extract(tmp_path, layer("ansi", ansi, "ISO 88591"), "ansi.zip")
    assert table.note == ("its .cpg says 'ISO 88591', but its text holds cp1252's punctuation (bytes 0x80-0x9F): "
                          "read as cp1252")
    assert "Xochimilco “Sur”" in [r[1] for r in rows(table)]


def test_a_shapefile_without_its_dbf_says_so(tmp_path: Path) -> None:
    with pytest.raises(TableError) as caught:
        extract(tmp_path, layer("ciclovias/ciclovias", None), "ciclovias.zip")
    assert str(caught.value) == ("ciclovias.zip: shapefile without attribute table: 'ciclovias/ciclovias.shp' has no "
                                 ".dbf beside it (its geometry is not read as a table)")
    dbf = dbf_bytes(FIELDS, RECORDS, language_driver=0x57)
    tables = extract(tmp_path, {**layer("vias", dbf), **layer("puntos", None)}, "dos.zip")
    assert [t.part for t in tables] == ["layer:vias"]
    assert tables[0].note == ("text read as cp1252: its language driver byte 0x57 says cp1252; shapefile without "
                              "attribute table: 'puntos.shp' in the same archive has no .dbf beside it")


def test_a_lone_dbf_in_a_zip_is_a_member_table(tmp_path: Path, corpus: dict[str, RealFile]) -> None:
    """INEGI's census tables zipped without geometry: plain ZIP members, declared types and all."""
    real = corpus["inegi-censo2010-jalisco__jal_cpv2010_municipal_discapacidad.dbf"]
    tables = extract(tmp_path, {"censo/jal_discapacidad.DBF": real.path.read_bytes(), "censo/nota.csv": b"a,b\n1,2\n"})
    assert sniff(tmp_path / "capa.zip") == "ZIP"
    assert [(t.part, t.source) for t in tables] == [("member:censo/nota.csv", "zip member"),
                                                    ("member:censo/jal_discapacidad.DBF", "zip member")]
    assert len(rows(tables[1])) == 126 and schema(tables[1])[:3] == [("CVEGEO", "string"), ("DISC1", "integer"),
                                                                      ("DISC1_R", "number")]


def test_a_broken_dbf_is_one_line_naming_the_archive_and_member(tmp_path: Path) -> None:
    with pytest.raises(TableError) as caught:
        extract(tmp_path, layer("roto", bytes(33)), "roto.zip")
    assert str(caught.value) == "roto.zip: 'roto.dbf': not a dBase table (its header does not describe its records)"


def test_the_archive_limits_hold_for_attribute_tables(tmp_path: Path) -> None:
    """A .dbf that expands past the limits: refused by fetch's inspection, and bounded when extracted."""
    header = bytearray(dbf_bytes([("X", "C", 250, 0)], [["a"]], language_driver=0))
    records = 90_000
    header[4:8] = records.to_bytes(4, "little")
    bomb = bytes(header[:-252]) + (b" " + b"a" * 250) * records + b"\x1a"  # 22.6 MB of one letter
    path = tmp_path / "bomba.zip"
    path.write_bytes(zip_bytes(layer("bomba", bomb)))
    assert path.stat().st_size < 100_000 and sniff(path) == "SHP-ZIP"
    refused = inspect_zip(path, max_member_bytes=LIMIT, max_ratio=100)
    assert not refused.ok and re.fullmatch(r"zip bomb: 'bomba\.dbf' expands \d+x \(limit 100x\)", refused.reason)
    with pytest.raises(TableError) as caught:
        extract_tables(path, "SHP-ZIP", max_member_bytes=10 << 20)
    assert str(caught.value) == f"bomba.zip: member 'bomba.dbf' is larger than {10 << 20} bytes"
    assert list((tmp_path / "bomba.zip.tables").iterdir()) == []
    (table,) = extract_tables(path, "SHP-ZIP", max_member_bytes=LIMIT)
    assert len(rows(table)) == records + 1


def test_deleted_records_are_left_out(tmp_path: Path) -> None:
    dbf = bytearray(dbf_bytes(FIELDS, RECORDS, language_driver=0x57))
    record_length = int.from_bytes(dbf[10:12], "little")
    dbf[int.from_bytes(dbf[8:10], "little") + record_length] = ord("*")  # the second record deleted
    (table,) = extract(tmp_path, layer("borrado", bytes(dbf)))
    assert [r[0] for r in rows(table)] == ["CVE_MUN", "003", "012"]


REAL_DBF_FIELDS = {"inegi-mg__00ent.dbf": 3, "inegi-mg__00mun.dbf": 4,
                   "inegi-censo2010-jalisco__jal_cpv2010_municipal_discapacidad.dbf": 29,
                   "inegi-censo2010-jalisco__jal_cpv2010_municipal_hogares_censales.dbf": 51}


def declared_fields(path: Path) -> list[tuple[str, str, int]]:
    """(name, dBase type, decimals) of each field, read from the header by hand (32 bytes a field)."""
    data = path.read_bytes()
    fields, at = [], 32
    while data[at] != 0x0D:
        fields.append((data[at:at + 11].split(b"\0")[0].decode("ascii"), chr(data[at + 11]), data[at + 17]))
        at += 32
    return fields


@pytest.mark.parametrize("name", sorted(REAL_DBF_FIELDS))
def test_the_real_dbfs_declared_types_are_their_schema(tmp_path: Path, corpus: dict[str, RealFile], name: str) -> None:
    """Character fields are strings (CVEGEO '14001', CVE_ENT '01'), N fields integers without decimals and
    numbers with them (the census rates DISC1_R, N 4.1)."""
    path = tmp_path / name
    path.write_bytes(corpus[name].path.read_bytes())
    (table,) = extract_tables(path, sniff(path), max_member_bytes=LIMIT)
    assert (table.part, table.source) == ("dbf", "dbf table")
    fields = declared_fields(path)
    assert len(fields) == REAL_DBF_FIELDS[name] and {kind for _, kind, _ in fields} <= {"C", "N"}
    expected = [(field, "string" if kind == "C" else "number" if decimals else "integer")
                for field, kind, decimals in fields]
    assert schema(table) == expected
    assert [t for _, t in expected].count("string") == (1 if name.startswith("inegi-censo") else len(fields))
    if name.startswith("inegi-censo"):  # the rates (DISC1_R, N 4.1) are numbers, the counts integers
        assert all(t == ("number" if f.endswith("_R") else "integer") for f, t in expected[1:])
    header, first, *_ = rows(table)
    assert header == [field for field, _, _ in fields]
    assert first[0] in ("01", "01008", "14001")  # the key as stored, leading zeros and all
    ascii_ = name.startswith("inegi-censo")
    assert table.note == ("no .cpg, no language driver byte; its text is ASCII: read as utf-8" if ascii_ else
                          "no .cpg, no language driver byte: text read as iso8859-1, guessed from the bytes")
