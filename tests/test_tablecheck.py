"""The DuckDB fast path of validation against frictionless itself, on files built to hit every rule."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from frictionless import fields

from harvester.encoding import LineCounter
from harvester.tablecheck import SAFE_FORMS, line_facts
from harvester.validate import validate_file

TRICKY = ["1", "-1", "+1", " 1", "1 ", "1e2", "1.0", "1.5", "0x10", "1_000", "007", "-0", ".5", "5.", "nan", "NaN",
          "inf", "-inf", "Infinity", "1,5", "1e", "--1", "1-", "９", "١٢", "2024-01-01", "2024-1-1", "0999-01-01",
          "0000-01-01", "2024-02-30", "2024-02-29", "2023-02-29", "+2024-01-01", "2024-01-01 ", "20240101",
          "2024-01-01T10:00:00", "2024-01-01T24:00:00", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00", "10:00:00",
          "24:00:00", "9:00:00", "true", "True", "TRUE", "yes", "0", "2024", "99999", "123456789012345678",
          "1234567890123456789012", "   ", "\t1", "1.2.3", "١"]


@pytest.mark.parametrize("kind", sorted(SAFE_FORMS))
def test_safe_forms_are_a_subset_of_what_frictionless_accepts(kind):
    """A cell the scan clears must be one frictionless's reader accepts; the others go to frictionless."""
    con = duckdb.connect()
    reader = {"integer": fields.IntegerField, "number": fields.NumberField, "year": fields.YearField,
              "boolean": fields.BooleanField, "date": fields.DateField, "time": fields.TimeField,
              "datetime": fields.DatetimeField}[kind](name="c").create_cell_reader()
    cleared = [v for v in TRICKY if con.execute(f"SELECT {SAFE_FORMS[kind]('$1::VARCHAR')}", [v]).fetchone()[0]]
    assert cleared, f"nothing cleared for {kind}: the check is useless"
    rejected = [v for v in cleared if (reader(v)[1] or {}).get("type")]
    assert rejected == [], f"{kind}: the scan clears values frictionless rejects: {rejected}"


@pytest.mark.parametrize("data", [b"h\n1\n\n2\n", b"\nh\n\r\n1", b"h\n1\n\n", b"h\r\n\r\n\r\n1\r\n", b"a\n\n\n\nb",
                                  b"", b"\n", b"no newline", b"\r\n\n\r\r\n\n", b"a\n\r\n\n\r\nb\r\n\r\n"])
def test_line_counts_do_not_depend_on_chunk_boundaries(tmp_path: Path, data: bytes):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    whole = line_facts(path)
    for size in range(1, 6):
        counter = LineCounter()
        for start in range(0, len(data), size):
            counter.feed(data[start:start + size])
        assert counter.result() == whole, (size, data)
    expected_lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    assert whole[0] == expected_lines


def errors(report: dict) -> list[tuple]:
    return sorted((e["type"], e["row"] or 0, str(e["field"])) for e in report["errors"])


MESSY = ("Cuadro 1. Víctimas por alcaldía\r\nFuente: FGJ\r\n\r\n"
         "alcaldia,anio,,total,total,fecha\r\n"
         + "".join(f"Tlalpan,{2000 + i % 20},x,{i},{i * 2},2024-01-{i % 28 + 1:02d}\r\n" for i in range(120))
         + "Coyoacán,2021,x,5\r\n"                       # missing cells
         + "Iztapalapa,2021,x,5,10,2024-02-01,sobra\r\n"  # an extra cell
         + "\r\n"                                         # an empty line
         + ",,,,,\r\n"                                    # a blank row
         + "Xochimilco,dos mil,x,abc,7,2024-02-30\r\n"    # type errors after the 100-row sample
         + '"Milpa Alta, pueblo",2022,x,"8",9,2024-03-01\r\n'
         + "Nota: cifras preliminares,,,,,\r\n")


def test_fast_path_agrees_with_frictionless_on_every_rule(tmp_path: Path):
    path = tmp_path / "messy.csv"
    path.write_bytes(MESSY.encode("cp1252"))
    fast, slow = validate_file(path), validate_file(path, engine="frictionless")
    assert fast["engine"] == "duckdb" and slow["engine"] == "frictionless"
    assert fast["encoding"] == "latin-1" and fast["header_row"] == 4
    assert errors(fast) == errors(slow)
    assert fast["rows"] == slow["rows"] == 127
    kinds = {e[0] for e in errors(fast)}
    assert kinds == {"blank-label", "duplicate-label", "missing-cell", "extra-cell", "blank-row", "type-error"}


def test_a_cell_holding_a_line_break_falls_back_to_frictionless(tmp_path: Path):
    path = tmp_path / "multiline.csv"
    path.write_text("id,nota,total\n" + "".join(f"{i},ok,{i}\n" for i in range(5))
                    + '6,"dos\nlíneas",6\n7,ok\n', encoding="utf-8")
    report = validate_file(path)
    assert report["engine"] == "frictionless" and "line break" in report["engine_note"]
    assert errors(report) == [("missing-cell", 8, "total")]  # frictionless counts records, not lines


def test_suspect_cells_that_are_valid_do_not_use_up_the_error_limit(tmp_path: Path):
    """A type with no SQL form (yearmonth) sends every cell to frictionless: errors past the first
    `limit` suspects are still found."""
    from frictionless import Resource
    from harvester.tablecheck import check_table

    path = tmp_path / "meses.csv"
    path.write_text("mes,total\n" + "".join(f"2024-{i % 12 + 1:02d},{i}\n" for i in range(200))
                    + "trece,5\n", encoding="utf-8")
    resource = Resource(path=path.name, basepath=str(tmp_path), format="csv", encoding="utf-8")
    with resource:
        fields = list(resource.schema.fields)
    assert fields[0].type == "yearmonth"
    checked = check_table(path, delimiter=",", header_row=1, fields=fields, limit=5)
    assert checked is not None and [(e.type, e.row) for e in checked.errors] == [("type-error", 202)]


def test_a_utf8_start_with_cp1252_late_is_validated_again_in_cp1252(tmp_path: Path):
    """The scan starts on the guess the file's start gives (UTF-8) while a thread reads every byte; the
    guess is dropped when the whole file says otherwise, and the report is the exact encoding's."""
    path = tmp_path / "tarde.csv"
    rows = "".join(f"Tlalpan,{2000 + i % 20},{i}\n" for i in range(30_000))  # far past the 256 KB start
    path.write_bytes(("alcaldia,anio,total\n" + rows + "Coyoacán — “Centro”,dos mil,5\nTláhuac,2021\n")
                     .encode("cp1252"))
    fast, slow = validate_file(path), validate_file(path, engine="frictionless")
    assert fast["engine"] == "duckdb" and fast["encoding"] == "cp1252" and "cp1252" in fast["encoding_reason"]
    assert errors(fast) == errors(slow) == [("missing-cell", 30_003, "total"), ("type-error", 30_002, "anio")]


@pytest.mark.parametrize("where", ["extra cell", "missing cells", "bad quote", "accepted row", "header"])
def test_a_byte_that_is_no_utf8_is_found_wherever_the_scan_left_it(tmp_path: Path, where: str):
    """DuckDB checks the encoding of the lines it reads, not of those it rejects for their shape, nor of
    the header it skips: a Latin-1 `é` late in such a line still makes the file Latin-1, with the errors
    frictionless reports for it read in Latin-1."""
    rows = [f"Tlalpan,{2000 + i % 20},{i}" for i in range(30_000)]  # past the 256 KB the guess looks at
    late = {"extra cell": "Coyoac\xe1n,2021,5,sobra", "missing cells": "Coyoac\xe1n", "bad quote": 'Coyoac\xe1n,"20"21,5',
            "accepted row": "Coyoac\xe1n,2021,5", "header": None}[where]
    header = "alcaldia,anio,total"
    if late is None:  # a preamble longer than the start the guess read, then a header with an accent
        lines = [f"nota {i}" for i in range(30_000)] + ["alcald\xeda,anio,total"] + rows[:100]
    else:
        lines = [header] + rows + [late, "Tláhuac,2021,3"]
    path = tmp_path / "tarde.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    fast, slow = validate_file(path), validate_file(path, engine="frictionless")
    assert fast["encoding"] == slow["encoding"] == "latin-1", (fast["encoding"], fast["encoding_reason"])
    assert errors(fast) == errors(slow)


def test_a_utf8_file_is_confirmed_by_the_scan_with_rejected_lines_checked(tmp_path: Path):
    """The common case: a UTF-8 file with accents everywhere and lines DuckDB rejects (missing and extra
    cells, accented): UTF-8 over the whole file, the same errors as frictionless."""
    path = tmp_path / "bien.csv"
    rows = "".join(f"Coyoacán,{2000 + i % 20},{i}\n" for i in range(30_000))
    path.write_text("alcaldía,año,total\n" + rows + "Tláhuac,2021\nPeñón,2021,3,4\n\n\"Ñ\",1,2\n", encoding="utf-8")
    fast, slow = validate_file(path), validate_file(path, engine="frictionless")
    assert fast["engine"] == "duckdb" and fast["encoding"] == "utf-8"
    assert fast["encoding_reason"] == "the whole file is valid UTF-8"
    assert errors(fast) == errors(slow) and {e[0] for e in errors(fast)} == {"missing-cell", "extra-cell", "blank-row"}


def test_a_file_whose_lines_end_two_ways_is_validated_by_frictionless_with_the_reason(tmp_path: Path):
    """One CRLF among LF lines stops DuckDB's parser (an error that used to escape the validator as a
    pyarrow OSError): frictionless validates the file, and the report says why."""
    path = tmp_path / "mezcla.csv"
    rows = "".join(f"Coyoacán,{2000 + i % 20},{i}\n" for i in range(3_000))
    path.write_text("alcaldía,año,total\n" + rows + "Peñón,2021,3,4\r\nTláhuac,2021\n", encoding="utf-8")
    fast, slow = validate_file(path), validate_file(path, engine="frictionless")
    assert fast["engine"] == "frictionless" and "the DuckDB scan failed" in fast["engine_note"]
    assert errors(fast) == errors(slow) == [("extra-cell", 3_002, ""), ("missing-cell", 3_003, "total")]


@pytest.mark.parametrize("c1", [b"", b"\x81"])
def test_latin1_is_read_by_duckdb_itself_unless_it_holds_c1_bytes(tmp_path: Path, c1: bytes):
    """Without bytes 0x80-0x9F DuckDB reads ISO-8859-1 itself (no UTF-8 copy); with one (0x81 is no
    cp1252 character, so the file is Latin-1) DuckDB refuses it and the copy is read: the same errors."""
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"alcaldia,anio,total\n" + b"".join(b"Tlalpan,%d,%d\n" % (2000 + i % 20, i) for i in range(200))
                     + b"Coyoac\xe1n" + c1 + b",dos mil,5\nTl\xe1huac,2021\nPe\xf1\xf3n,2021,3,4\n")
    fast, slow = validate_file(path), validate_file(path, engine="frictionless")
    assert fast["engine"] == "duckdb" and fast["encoding"] == "latin-1"
    assert errors(fast) == errors(slow)
    assert {e[0] for e in errors(fast)} == {"type-error", "missing-cell", "extra-cell"}
