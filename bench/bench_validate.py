"""Validation and profiling benchmark: this project against `frictionless validate` and pandas.

Run:  python bench/bench_validate.py [--rows 100000 1000000] [--skip-frictionless] [--big-gb 2]

Writes victimas-like CSVs (UTF-8; cp1252 whose first accent comes late; UTF-8 with errors at known
rows) and runs each client in its own process, reading wall time and own peak memory (bench/peak.py):
`harvester` validate_file and profile_file, `frictionless validate`, and pandas `read_csv`. The
process time includes starting Python and importing; the harvester lines also show, after "in",
the time validate_file itself took. `--big-gb N` adds a CSV of about N GB, validated and profiled by
this project only, to show that peak memory does not grow with the file.
Results: a table on stdout and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peak  # noqa: E402

BIN = Path(sys.executable).parent
ALCALDIAS = ["Álvaro Obregón", "Azcapotzalco", "Benito Juárez", "Coyoacán", "Cuajimalpa de Morelos", "Cuauhtémoc",
             "Gustavo A. Madero", "Iztacalco", "Iztapalapa", "La Magdalena Contreras", "Miguel Hidalgo",
             "Milpa Alta", "Tláhuac", "Tlalpan", "Venustiano Carranza", "Xochimilco"]
HEADER = "idCarpeta,Anio_inicio,FechaInicio,Delito,Sexo,Edad,AlcaldiaHechos,latitud,longitud\n"


def write_csv(path: Path, rows: int, encoding: str, errors: bool) -> None:
    rng = random.Random(rows)
    with path.open("w", encoding=encoding, newline="") as out:
        out.write(HEADER)
        late = rows - 10
        for i in range(rows):
            alcaldia = ALCALDIAS[i % 16] if (encoding == "utf-8" or i >= late) else "Iztapalapa"
            line = (f"{i},{2019 + i % 5},2024-{i % 12 + 1:02d}-{i % 28 + 1:02d},Robo a transeunte,"
                    f"{'Mujer' if i % 2 else 'Hombre'},{18 + i % 60},{alcaldia},"
                    f"{19.3 + rng.random() / 5:.6f},{-99.2 + rng.random() / 5:.6f}\n")
            if errors and i % 100_000 == 50_000:
                line = f"{i},{2019 + i % 5},2024-01-01,Robo,Mujer\n"  # missing cells
            elif errors and i % 100_000 == 70_000:
                line = line.rstrip("\n") + ",sobra\n"  # extra cell
            elif errors and i % 100_000 == 90_000:
                line = f"{i},dos mil,2024-01-01,Robo,Mujer,treinta,Tlalpan,19.3,-99.1\n"  # type errors
            out.write(line)


SNIPPETS = {
    "harvester validate": "from harvester.validate import validate_file; from pathlib import Path; "
                          "r = validate_file(Path({path!r})); print(r['engine'], r['valid'], r['error_count'], "
                          "r['errors_by_type'], 'in', r['seconds'], 's')",
    "harvester profile": "import tempfile, time; from pathlib import Path; from harvester.encoding import detect_encoding; "
                         "from harvester.profile import _profile_any_encoding, scratch_connection; "
                         "c = scratch_connection(Path(tempfile.mkdtemp())); t = time.monotonic(); "
                         "e = detect_encoding(Path({path!r})).name; "
                         "cols = _profile_any_encoding(c, Path({path!r}), e, ',', 1); "
                         "print(len(cols), 'columns in', round(time.monotonic() - t, 3), 's')",
    "pandas read_csv": "import pandas as pd; from harvester.encoding import detect_encoding; from pathlib import Path; "
                       "df = pd.read_csv({path!r}, encoding=detect_encoding(Path({path!r})).name, "
                       "on_bad_lines='skip'); print(len(df))",
}


def measure(argv: list[str]) -> tuple[float, float, str]:
    measured = peak.run(argv)
    output = measured.stdout if measured.stdout.strip() else measured.stderr
    text = output.strip().splitlines()
    summary = text[-1][:120] if text else ""
    if argv[-2:-1] == ["--json"]:  # frictionless validate --json: its verdict and error counts
        try:
            task = json.loads(output[output.index("{"):])["tasks"][0]
            counts: dict[str, int] = {}
            for error in task.get("errors", []):
                counts[error["type"]] = counts.get(error["type"], 0) + 1
            summary = f"{task['valid']} {task['stats'].get('errors')} {counts}"
        except (ValueError, KeyError, IndexError):
            pass
    if measured.returncode not in (0, 1):  # frictionless exits 1 on an invalid file
        summary = "FAILED: " + summary
    return round(measured.seconds, 2), measured.peak_mb, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--skip-frictionless", action="store_true")
    parser.add_argument("--big-gb", type=float, default=0, help="also a CSV of about this many GB (ours only)")
    args = parser.parse_args()
    peak.byte_compile()
    work = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    results = []
    cases = [(rows, label, encoding, errors) for rows in args.rows
             for label, encoding, errors in (("utf-8", "utf-8", False), ("cp1252", "cp1252", False),
                                             ("utf-8 with errors", "utf-8", True))]
    if args.big_gb:
        cases.append((int(args.big_gb * 1e9 / 88), f"{args.big_gb:g} GB utf-8 with errors", "utf-8", True))
    for rows, label, encoding, errors in cases:
        path = work / f"victimas-{rows}-{label.replace(' ', '-')}.csv"
        write_csv(path, rows, encoding, errors)
        clients = {name: [sys.executable, "-c", code.format(path=str(path))] for name, code in SNIPPETS.items()
                   if "GB" not in label or name.startswith("harvester")}
        if not args.skip_frictionless and "GB" not in label:
            clients["frictionless validate"] = [str(BIN / "frictionless"), "validate", "--trusted", "--json",
                                                str(path)]
        for name, argv in clients.items():
            seconds, peak_mb, summary = measure(argv)
            results.append({"rows": rows, "file": label, "bytes": path.stat().st_size, "client": name,
                            "seconds": seconds, "peak_mb": peak_mb, "summary": summary})
            print(f"{rows:>9} {label:<24} {name:<22} {seconds:>7.2f}s {peak_mb:>8.1f} MB  {summary}", flush=True)
        path.unlink()
    print("\nvalidate, frictionless time / ours (whole process):")
    for r in results:
        if r["client"] == "frictionless validate":
            ours = next(o for o in results if (o["rows"], o["file"], o["client"]) ==
                        (r["rows"], r["file"], "harvester validate"))
            print(f"  {r['rows']:>9} {r['file']:<24} {r['seconds'] / ours['seconds']:5.1f}x")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"validate-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
