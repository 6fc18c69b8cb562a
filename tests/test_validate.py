"""The validate stage on the mess of REAL_WORLD.md, served over real HTTP and fetched first."""
from __future__ import annotations

import json
from typing import Any

from harvester.config import load_settings
from harvester.fetch import fetch
from harvester.store import Store
from harvester.validate import validate
from tests.test_fetch import setup

ASCII_ROWS = "".join(f"{i},2024-01-01,Iztapalapa,{i % 50}\n" for i in range(9000))
LATE_CP1252 = ("folio,fecha,alcaldia,victimas\n" + ASCII_ROWS + "9001,2024-01-02,Cuauhtémoc — “Centro”,4\n").encode("cp1252")
PREAMBLE = ("Instituto Nacional de Estadística y Geografía,,\nCuadro 1. Víctimas,,\n,,\n"
            "alcaldia,anio,victimas\n" + "Tlalpan,2023,5\n" * 30).encode("utf-8")
BROKEN = ("alcaldia,anio,victimas\nTlalpan,2023,5\nCoyoacán,2023\nXochimilco,2023,7,extra\n\n"
          "Iztacalco,2023,8\n").encode("utf-8")


def run_all(config) -> tuple[Any, dict[str, dict[str, Any]]]:
    settings = load_settings(config, env={})
    fetch(settings, datasets=["prueba-recursos"])
    summary = validate(settings)
    with Store(settings.paths.database, read_only=True) as store:
        rows = {r["resource_id"]: r for r in store.query("SELECT * FROM validations")}
    return summary, rows


def test_encoding_preamble_and_errors(portal, make_config, httpserver):
    httpserver.expect_request("/late.csv").respond_with_data(LATE_CP1252, content_type="text/csv")
    httpserver.expect_request("/inegi.csv").respond_with_data(PREAMBLE)
    httpserver.expect_request("/broken.csv").respond_with_data(BROKEN)
    config = setup(portal, make_config, httpserver, [("Late", "CSV", "/late.csv"), ("INEGI", "CSV", "/inegi.csv"),
                                                     ("Broken", "CSV", "/broken.csv")])
    summary, rows = run_all(config)
    assert summary.validated == 3
    late = rows["res-0"]
    assert late["encoding"] == "cp1252" and late["valid"] and late["rows"] == 9001
    inegi = rows["res-1"]
    assert inegi["header_row"] == 4 and inegi["valid"] and inegi["rows"] == 30
    broken = rows["res-2"]
    assert not broken["valid"]
    errors = {(e["type"], e["row"]) for e in json.loads(broken["first_errors"])}
    assert {("missing-cell", 3), ("extra-cell", 4), ("blank-row", 5)} <= errors
    report = load_settings(config, env={}).paths.root / broken["report_path"]
    assert json.loads(report.read_text())["errors_by_type"]["missing-cell"] == 1


def test_an_unchanged_file_is_not_validated_again(portal, make_config, httpserver):
    httpserver.expect_request("/inegi.csv").respond_with_data(PREAMBLE, headers={"ETag": '"a"'})
    config = setup(portal, make_config, httpserver, [("INEGI", "CSV", "/inegi.csv")])
    first, _ = run_all(config)
    second, _ = run_all(config)
    assert (first.validated, second.validated, second.unchanged) == (1, 0, 1)


def test_non_tables_are_not_validated(portal, make_config, httpserver):
    httpserver.expect_request("/doc.pdf").respond_with_data(b"%PDF-1.4\n%%EOF\n")
    config = setup(portal, make_config, httpserver, [("Doc", "CSV", "/doc.pdf")])
    summary, rows = run_all(config)
    assert summary.validated == 0 and rows == {}


def test_a_csv_that_is_one_long_line_is_refused_quickly_with_its_reason(tmp_path):
    """Issue 15: a CSV that is one long line of cells (a header thousands of columns wide) validated in
    quadratic time (64 KiB: 48 s, 128 KiB: 196 s, 200 MB unfinished after 15 min at 2.2 GB). Run in a
    process of its own, started by bench/peak.py, so its peak memory is the validation's alone (a child
    forked from pytest itself inherits pytest's peak, 2 GB after the whole suite)."""
    import json as _json
    import sys

    from bench import peak
    from harvester.validate import MAX_COLUMNS
    path = tmp_path / "una_linea.csv"
    path.write_text(",".join(f"c{i}" for i in range(1_200_000)), encoding="utf-8")  # about 9 MB on one line
    code = ("import json, sys\nfrom pathlib import Path\nfrom harvester.validate import validate_file\n"
            "print(json.dumps(validate_file(Path(sys.argv[1])), default=str))\n")
    child = peak.run([sys.executable, "-c", code, str(path)], timeout=120)
    assert child.seconds < 30 and child.returncode == 0, child.stderr[-2000:]
    report = _json.loads(child.stdout)
    assert (report["valid"], report["engine"], report["errors_by_type"], report["delimiter"]) == \
        (False, "none", {"table-error": 1}, None)  # no delimiter: neither profiled nor packed
    assert f"more than {MAX_COLUMNS} columns" in report["first_errors"][0]["message"]
    assert child.peak_mb < 500, child.peak_mb  # about 110 MB; the quadratic check reached 2.2 GB


def test_a_table_as_wide_as_allowed_is_still_validated(tmp_path):
    from harvester.validate import MAX_COLUMNS, validate_file
    path = tmp_path / "ancha.csv"
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS))
    path.write_text(header + "\n" + ",".join("1" for _ in range(MAX_COLUMNS)) + "\n", encoding="utf-8")
    report = validate_file(path)
    assert report["valid"] is True and report["fields"] == MAX_COLUMNS and report["delimiter"] == ","
