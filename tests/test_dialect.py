"""Delimiter and header row, after INEGI-style preamble rows."""
from __future__ import annotations

import pytest

from harvester.dialect import DialectError, detect_dialect

BODY = [["Cuauhtémoc", "2024-01-01", "12"], ["Iztapalapa", "2024-01-02", "30"]] * 30


def write(tmp_path, lines, encoding="utf-8"):
    path = tmp_path / "t.csv"
    path.write_bytes("\n".join(lines).encode(encoding) + b"\n")
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path, delimiter):
    lines = [delimiter.join(["alcaldia", "fecha", "victimas"])] + [delimiter.join(r) for r in BODY]
    found = detect_dialect(write(tmp_path, lines), "utf-8")
    assert (found.delimiter, found.header_row, found.header) == (delimiter, 1, ("alcaldia", "fecha", "victimas"))


def test_header_after_title_and_preamble_rows(tmp_path):
    lines = ["Instituto Nacional de Estadística y Geografía,,", "Cuadro 3. Víctimas por alcaldía,,", ",,",
             "alcaldia,fecha,victimas"] + [",".join(r) for r in BODY] + ["Fuente: INEGI.,,", "Nota: cifras preliminares.,,"]
    found = detect_dialect(write(tmp_path, lines, "cp1252"), "cp1252")
    assert found.header_row == 4 and found.header == ("alcaldia", "fecha", "victimas")


def test_decimal_commas_in_quoted_cells_do_not_fool_the_delimiter(tmp_path):
    lines = ["folio,latitud,longitud"] + [f'C5-{i},"19,4326","-99,1332"' for i in range(40)]
    found = detect_dialect(write(tmp_path, lines), "utf-8")
    assert found.delimiter == "," and found.columns == 3


def test_not_a_table(tmp_path):
    with pytest.raises(DialectError, match="no delimiter"):
        detect_dialect(write(tmp_path, ["solo texto libre"] * 10), "utf-8")
