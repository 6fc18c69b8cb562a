"""Conformance: does this project's validation report the same error types at the same rows as
`frictionless validate`?

Run:  python bench/conformance.py [--json OUT]

The corpus: the invalid (and a few valid) delimited files of frictionless-py's own test data, in
tests/conformance/frictionless/, plus every delimited mess case the sandbox serves
(harvester/sandbox/files.py, written to a temporary folder). For each file the real CLI runs,
`frictionless validate --json`, given the encoding, delimiter and header row this project detected
(left alone, frictionless guesses a cp1252 file's encoding from a sample and calls it big5hkscs); it is
compared with `harvester.validate.validate_file` (the DuckDB fast path) on (error type, row, field).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "tests" / "conformance" / "frictionless"
DELIMITED = (".csv", ".tsv", ".txt")


def corpus(folder: Path) -> list[Path]:
    """frictionless-py's files, and the sandbox's delimited mess cases written into `folder`."""
    from harvester.sandbox.files import MESS_CASES, resource_files

    files = sorted(CORPUS.glob("*.csv"))
    served = resource_files()
    for name, key in sorted(MESS_CASES.items()):
        data = served[key]
        if key.endswith(DELIMITED) and not data.lstrip().lower().startswith(b"<!doctype html"):
            path = folder / f"mess-{name}{Path(key).suffix}"
            path.write_bytes(data)
            files.append(path)
    return files


def key(errors: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    return sorted((e["type"], e.get("row") or e.get("rowNumber") or 0,
                   str(e.get("field") if "field" in e else e.get("fieldName") or "")) for e in errors)


def frictionless_cli(path: Path, ours: dict[str, Any]) -> dict[str, Any]:
    """`frictionless validate --json` on the file, with the dialect and encoding we detected."""
    argv = [str(Path(sys.executable).parent / "frictionless"), "validate", "--json", "--trusted",
            "--encoding", "utf-8-sig" if ours["encoding"] == "utf-8-sig" else ours["encoding"]]
    if ours.get("delimiter"):
        argv += ["--dialect", json.dumps({"headerRows": [ours["header_row"]], "csv": {"delimiter": ours["delimiter"]}})]
    done = subprocess.run(argv + [str(path)], capture_output=True, text=True, timeout=600)
    if "{" not in done.stdout:
        raise RuntimeError(f"frictionless validate {path.name}: {(done.stderr or done.stdout).strip()[-300:]}")
    report = json.loads(done.stdout[done.stdout.index("{"):])
    task = report["tasks"][0] if report.get("tasks") else {"valid": report["valid"], "errors": report["errors"]}
    for error in task["errors"]:
        error.setdefault("field", error.get("fieldName"))
    return {"valid": task["valid"], "errors": task["errors"]}


def compare(path: Path) -> dict[str, Any]:
    from harvester.validate import validate_file

    ours = validate_file(path, engine="duckdb")
    reference = frictionless_cli(path, ours)
    agree = ours["valid"] == reference["valid"] and key(ours["errors"]) == key(reference["errors"])
    return {"file": path.name, "agree": agree, "engine": ours["engine"],
            "ours": dict(Counter(e["type"] for e in ours["errors"])),
            "frictionless": dict(Counter(e["type"] for e in reference["errors"])),
            "ours_errors": key(ours["errors"]), "frictionless_errors": key(reference["errors"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conformance-") as folder:
        results = [compare(path) for path in corpus(Path(folder))]
    for r in results:
        print(f"{r['file']:<40} {'agree' if r['agree'] else 'DIFFER':<7} {r['engine']:<12} ours {r['ours']}  "
              f"frictionless {r['frictionless']}")
        if not r["agree"]:
            print(f"    ours:         {r['ours_errors'][:8]}\n    frictionless: {r['frictionless_errors'][:8]}")
    print(f"conformance: {sum(r['agree'] for r in results)} of {len(results)} files agree "
          f"({sum(r['engine'] == 'duckdb' for r in results)} on the DuckDB path)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
