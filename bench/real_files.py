"""Real-file report: every file of the real-file corpus through every stage, table by table.

Run:  python bench/real_files.py [--keep]

Takes the corpus (tests/real_files.py `load_corpus`: ../shared/real-files or $HARVESTER_REAL_FILES, checked
against tests/realfiles_manifest.json) exactly as tests/test_real_files.py does. The sandbox portal
(harvester.sandbox) serves each file as a dataset's resource, and the CLI runs harvest, fetch, validate,
profile and pack build in a temporary folder. Everything talks to 127.0.0.1 only. The setup is the test's
module-scoped `run` fixture, factored here because a fixture cannot be called outside pytest. Everything
else is imported from the test: its datasets, generated files, store queries and its no-value-lost
comparison (`lost_values`).

One row per file and table (a workbook's sheet, a ZIP's member): engine, validity, errors by type, column
alerts (the store's read `Store.table_columns`), rows in (the source rows of the table as validated), rows
out (rows in the pack's Parquet), values lost per column, and the stated reason for a file with no table.
Then totals and the wall time per stage, and a check that the test's assertions hold (exit 1 if not).
Results: a table on stdout and JSON in bench/results/. --keep keeps the temporary folder.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # tests/test_real_files.py imports conftest and real_files

from bench_harvest import save_results  # noqa: E402
from harvester.model import ResourceKey  # noqa: E402
from harvester.sandbox import SandboxPortal  # noqa: E402
from harvester.store import Store  # noqa: E402
from real_files import load_corpus, names  # noqa: E402
from test_real_files import (GENERATED, MAY_BE_TABLES, _fetched, _provenance, _validations, lost_values,  # noqa: E402
                             run_stages)


def _alerts(store: Store, v: dict[str, Any]) -> dict[str, int]:
    """How many of the table's columns carry each alert (the store's column profiles)."""
    counts: dict[str, int] = {}
    for column in store.table_columns(ResourceKey(v["catalog_id"], v["dataset_id"], v["resource_id"]), v["part"] or ""):
        for alert in column.alerts:
            counts[str(alert)] = counts.get(str(alert), 0) + 1
    return dict(sorted(counts.items()))


def table_rows(data: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per file and table, and the test's assertions that do not hold (none, when all is well)."""
    rows: list[dict[str, Any]] = []
    broken: list[str] = []
    packed = {(p["resource_id"], p["part"] or ""): p for p in _provenance(data)}
    with Store(data / "catalog.duckdb", read_only=True) as store:
        for file in names() + list(GENERATED):
            fetched = _fetched(data, file)
            base = {"file": file, "generated": file in GENERATED, "fetch": fetched["status"],
                    "sniffed": fetched["sniffed_format"]}
            if fetched["status"] != "ok":
                broken.append(f"{file}: fetched {fetched['status']} ({fetched.get('reason')})")
            validations = _validations(data, fetched)
            if not validations:
                may_be = fetched["sniffed_format"] in MAY_BE_TABLES
                if may_be:
                    broken.append(f"{file} ({fetched['sniffed_format']}) was skipped without a word")
                rows.append({**base, "part": "", "engine": None, "valid": None, "errors_by_type": {}, "alerts": {},
                             "rows_in": None, "rows_out": None, "lost": {},
                             "reason": f"not validated: sniffed as {fetched['sniffed_format']}, not a table format"
                             if not may_be else "not validated"})
                continue
            for v in validations:
                row = {**base, "part": v["part"] or "", "engine": v["engine"], "valid": v["valid"],
                       "errors_by_type": json.loads(v["errors_by_type"] or "{}"), "alerts": _alerts(store, v),
                       "validated_rows": v["rows"], "rows_in": None, "rows_out": None, "lost": {}, "reason": None}
                if v["valid"] is None:
                    row["reason"] = v["source"]
                    if not (str(v["source"]).endswith("without tables") or "no table" in (v["source"] or "")):
                        broken.append(f"{file} {v['part']}: no table, but no stated reason: {v['source']!r}")
                elif v["engine"] not in ("duckdb", "frictionless"):
                    broken.append(f"{file} {v['part']}: engine {v['engine']!r}")
                if v["delimiter"] is not None:  # a CSV-like table: the pack holds it
                    entry = packed.get((v["resource_id"], v["part"] or ""))
                    if entry is None:
                        row["reason"] = "validated but not in the pack"
                        broken.append(f"{file} {v['part']}: validated but not in the pack")
                    else:
                        source = data / (v["table_path"] or fetched["path"])
                        result = lost_values(source, v["encoding"], v["delimiter"], v["header_row"], entry["path"])
                        row.update(rows_in=result["rows_in"], rows_out=result["rows_out"],
                                   lost={c: {"count": n, "examples": e} for c, (n, e) in result["lost"].items()})
                        if result["lost"]:
                            broken.append(f"{file} {v['part']}: values lost {result['lost']}")
                        if result["rows_out"] != result["rows_in"]:
                            broken.append(f"{file} {v['part']}: rows in {result['rows_in']}, out {result['rows_out']}")
                elif v["valid"] is not None:
                    row["reason"] = "a table without a delimiter: not packed"
                rows.append(row)
    return rows, broken


def _cell(value: Any) -> str:
    return "—" if value is None or value == {} or value == "" else str(value).replace("|", "\\|")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (data, served files)")
    args = parser.parse_args()
    corpus = load_corpus()
    home = Path(tempfile.mkdtemp(prefix="bench-real-files-"))
    started = time.monotonic()
    try:
        with SandboxPortal() as portal:
            data, seconds = run_stages(portal, corpus, home)
        compared = time.monotonic()
        rows, broken = table_rows(data)
        seconds["report (store reads, lost-value comparison)"] = round(time.monotonic() - compared, 2)
        seconds["total"] = round(time.monotonic() - started, 2)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)

    print(f"\nReal files through every stage: {len(corpus)} corpus files + {len(GENERATED)} generated by "
          f"tests/test_real_files.py ({os.cpu_count()} cores, Python {sys.version.split()[0]})\n")
    print("| file | table part | engine | valid | errors by type | alerts (columns) | rows in | rows out "
          "| values lost | no table: reason |\n|---|---|---|---|---|---|---:|---:|---|---|")
    for r in rows:
        lost = ", ".join(f"{c}: {x['count']}" for c, x in r["lost"].items()) if r["lost"] else \
            ("0" if r["rows_out"] is not None else "—")
        print(f"| {r['file']}{' (generated)' if r['generated'] else ''} | {_cell(r['part'] or ('(file)' if r['engine'] else ''))} "
              f"| {_cell(r['engine'])} | {_cell(r['valid'])} | {_cell(_counts(r['errors_by_type']))} "
              f"| {_cell(_counts(r['alerts']))} | {_cell(r['rows_in'])} | {_cell(r['rows_out'])} | {lost} "
              f"| {_cell(r['reason'])} |")
    tables = [r for r in rows if r["valid"] is not None]
    packed = [r for r in rows if r["rows_out"] is not None]
    no_table = sorted({r["file"] for r in rows} - {r["file"] for r in tables})
    totals = {"files": len({r["file"] for r in rows}), "corpus_files": len(corpus), "generated_files": len(GENERATED),
              "files_with_tables": len({r["file"] for r in tables}), "files_without_table": len(no_table),
              "tables": len(tables), "valid_tables": sum(1 for r in tables if r["valid"]),
              "packed_tables": len(packed), "rows_in": sum(r["rows_in"] for r in packed),
              "rows_out": sum(r["rows_out"] for r in packed),
              "values_lost": sum(x["count"] for r in rows for x in r["lost"].values())}
    print(f"\n**Totals:** {totals['files']} files ({totals['corpus_files']} corpus + {totals['generated_files']} "
          f"generated), {totals['files_with_tables']} with tables, {totals['files_without_table']} without; "
          f"{totals['tables']} tables ({totals['valid_tables']} valid, {totals['packed_tables']} packed); "
          f"rows in {totals['rows_in']}, rows out {totals['rows_out']}; values lost {totals['values_lost']}\n")
    print("| stage | wall time (s) |\n|---|---:|")
    for stage, s in seconds.items():
        print(f"| {stage} | {s} |")
    print("\ntests/test_real_files.py's assertions (fetched ok, no file skipped in silence, no value lost, rows in = "
          "rows out): " + ("all hold" if not broken else f"{len(broken)} do not hold"))
    for line in broken:
        print(f"- {line}")
    path = save_results("real_files", {"totals": totals, "seconds": seconds, "rows": rows, "broken": broken})
    print(f"\nJSON: {path.relative_to(HERE.parent)}", file=sys.stderr)
    if args.keep:
        print(f"kept: {home}", file=sys.stderr)
    if broken:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
