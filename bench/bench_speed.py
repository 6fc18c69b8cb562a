"""Speed benchmark (issue 13, "At DuckDB speed"): this project's validate and profile next to the tools
they are measured against, on one realistic 1,000,000-row CSV and its Latin-1 twin.

Run:  python bench/bench_speed.py [--rows 1000000] [--only utf-8|latin-1] [--skip-frictionless]

The file is victimas-like: integers, a year, ISO and day-first dates, times, money with decimals,
coordinates, a quoted "lat,lon" point, categories spelled several ways with and without accents, free
text with quoted commas and quotes, placeholders (`NA`, `-`, `S/N`) and empty cells; and errors at
known rows: missing and extra cells, type errors after frictionless's 100-row sample, blank rows and
empty lines. The Latin-1 twin holds the same text encoded ISO-8859-1.

Each line is one child process measured by bench/peak.py (wall time including Python's start and imports,
CPU time, which moves less than wall time on a shared machine, and the child's own peak memory):

- `frictionless validate --json` (given the encoding for the Latin-1 twin, so that both validators read
  the same text) against validate_file in a child: the error counts by type of both, and whether they
  agree on every (type, row, field position);
- profile (profile_file, after the UTF-8 copy a Latin-1 file needs) against DuckDB's
  `SUMMARIZE SELECT * FROM read_csv(..., ignore_errors=true)` (without it DuckDB stops at the first bad row);
- profile and then the pack's Parquet (harvester.packtable.write_table, zstd, through csvscan.utf8_copy, in
  the pack's own DuckDB, packtable.pack_connection, as `pack build` does) against DuckDB's
  `COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'`.

Results: a table on stdout and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peak  # noqa: E402

BIN = Path(sys.executable).parent
HEADER = ["id", "anio", "fecha_inicio", "fecha_hecho", "hora", "delito", "categoria", "sexo", "edad",
          "alcaldia", "colonia", "monto", "latitud", "longitud", "punto", "calificacion", "observaciones"]
ALCALDIAS = ["Álvaro Obregón", "Azcapotzalco", "Benito Juárez", "Coyoacán", "Cuajimalpa de Morelos", "Cuauhtémoc",
             "Gustavo A. Madero", "Iztacalco", "Iztapalapa", "La Magdalena Contreras", "Miguel Hidalgo",
             "Milpa Alta", "Tláhuac", "Tlalpan", "Venustiano Carranza", "Xochimilco",
             "CUAUHTEMOC", "GUSTAVO A MADERO", "Alvaro Obregon"]  # the same places spelled another way
DELITOS = ["Robo a transeúnte en vía pública", "Robo de vehículo con violencia", "Fraude", "Lesiones dolosas",
           "Violencia familiar", "Daño en propiedad ajena", "Amenazas", "Robo a negocio sin violencia",
           "Abuso de confianza", "Despojo"]
CATEGORIAS = ["Delito de bajo impacto", "Hecho no delictivo", "Robo a transeúnte con violencia",
              "Robo de vehículo", "Lesiones dolosas por disparo de arma de fuego"]
COLONIA_PARTS = ["Centro", "Peñón de los Baños", "Santa María la Ribera", "San Ángel", "Doctores", "Roma Norte",
                 "Narvarte", "Pedregal", "Tepito", "Industrial", "Año de Juárez", "Ejército de Oriente"]
NOTES = ["", "", "", "Sin observaciones", 'Denuncia "en línea", ratificada', "Víctima, testigo y policía",
         "Se canalizó a la Fiscalía", "-"]


def _line(i: int, rng: random.Random) -> list[str]:
    edad = "NA" if i % 9973 == 0 else "" if i % 101 == 0 else str(18 + i % 60)
    return [str(i + 1), str(2016 + i % 9), f"20{16 + i % 9}-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
            f"{i % 28 + 1:02d}/{i % 12 + 1:02d}/20{16 + i % 9}", f"{i % 24:02d}:{i % 60:02d}:00",
            DELITOS[i % len(DELITOS)], CATEGORIAS[(i * 7) % len(CATEGORIAS)],
            "Mujer" if i % 2 else "Hombre" if i % 3 else "NA", edad, ALCALDIAS[i % len(ALCALDIAS)],
            f"{COLONIA_PARTS[i % 12]} {COLONIA_PARTS[(i // 12) % 12]} {i % 83}",
            f"{rng.random() * 50_000:.2f}", f"{19.3 + rng.random() / 5:.6f}", f"{-99.2 + rng.random() / 5:.6f}",
            f"{19.3 + rng.random() / 5:.5f},{-99.2 + rng.random() / 5:.5f}",
            "true" if i % 4 else "false", NOTES[i % len(NOTES)]]


def _cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(ch in text for ch in ',"\n') else text


def write_csv(path: Path, rows: int, encoding: str) -> dict[str, int]:
    """The file, with errors at known rows: one of each kind about every 50,000 rows (about 120 errors per
    million rows, under frictionless's 1,000); returns how many of each were planted."""
    rng = random.Random(13)
    planted: Counter[str] = Counter()
    with path.open("w", encoding=encoding, newline="") as out:
        out.write(",".join(HEADER) + "\n")
        for i in range(rows):
            cells = _line(i, rng)
            k = i % 50_000
            if i > 200 and k == 11_000:
                cells = cells[:6]  # missing cells
                planted["missing-cell"] += len(HEADER) - 6
            elif i > 200 and k == 22_000:
                cells = cells + ["sobra"]  # an extra cell
                planted["extra-cell"] += 1
            elif i > 200 and k == 33_000:
                cells[1], cells[8], cells[11] = "dos mil", "treinta", "1.234,50"  # type errors
                planted["type-error"] += 3
            elif i > 200 and k == 44_000:
                cells = [""] * len(HEADER)  # a blank row
                planted["blank-row"] += 1
            elif i > 200 and k == 45_000:
                out.write("\n")  # an empty line, then the row
                planted["blank-row"] += 1
            out.write(",".join(_cell(c) for c in cells) + "\n")
    return dict(planted)


CHILD_VALIDATE = """
import json, sys
from pathlib import Path
from harvester.validate import validate_file
r = validate_file(Path(sys.argv[1]))
json.dump(r, open(sys.argv[2], "w"), default=str)
print(r["engine"], r["valid"], r["error_count"], r["errors_by_type"], "in", r["seconds"], "s")
"""
CHILD_PROFILE = """
import sys, tempfile, time
from pathlib import Path
from harvester.csvscan import utf8_copy
from harvester.profile import profile_file, scratch_connection
path, encoding = Path(sys.argv[1]), sys.argv[2]
con = scratch_connection(Path(tempfile.mkdtemp()))
t = time.monotonic()
with utf8_copy(path, encoding) as readable:
    cols = profile_file(con, readable, ",", 1)
profiled = time.monotonic() - t
if len(sys.argv) > 3:  # and the pack's Parquet, as pack build writes it (a UTF-8 copy first when needed),
    # from the profile kept for this file (its sha256, as the store hands it to the pack)
    import dataclasses, hashlib
    from harvester.packtable import pack_connection, write_table
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    kept = {c.name: dataclasses.replace(c, source_sha256=digest) for c in cols}
    packing = pack_connection(Path(tempfile.mkdtemp()))  # pack build's own DuckDB
    with utf8_copy(path, encoding) as readable:
        write_table(packing, readable, ",", 1, kept, Path(sys.argv[3]), sha256=digest)
print(len(cols), "columns, profile in", round(profiled, 2), "s,",
      "in all", round(time.monotonic() - t, 2), "s")
"""
CHILD_DUCKDB = """
import sys, duckdb
path, encoding, what = sys.argv[1], sys.argv[2], sys.argv[3]
# ignore_errors: DuckDB's read_csv stops at the first row of the wrong width otherwise
source = f"read_csv('{path}', ignore_errors=true" + (", encoding='latin-1'" if encoding == "latin-1" else "") + ")"
if what == "summarize":
    print(len(duckdb.sql(f"SUMMARIZE SELECT * FROM {source}").fetchall()), "columns summarized")
else:
    duckdb.sql(f"COPY (SELECT * FROM {source}) TO '{sys.argv[4]}'")
    print("copied to", sys.argv[4])
"""


def measure(argv: list[str]) -> dict[str, Any]:
    measured = peak.run(argv)
    output = (measured.stdout if measured.stdout.strip() else measured.stderr).strip()
    ok = measured.returncode in (0, 1)  # frictionless exits 1 on an invalid file
    last = output.splitlines()[-1][:160] if output else ""
    return {"seconds": round(measured.seconds, 2), "cpu_seconds": measured.cpu_seconds, "peak_mb": measured.peak_mb, "ok": ok,
            "summary": last if ok else "FAILED: " + output[-600:], "stdout": measured.stdout}


def frictionless_errors(stdout: str) -> list[tuple[str, int, int]]:
    task = json.loads(stdout[stdout.index("{"):])["tasks"][0]
    return sorted((e["type"], e.get("rowNumber") or 0, e.get("fieldNumber") or 0) for e in task["errors"])


def our_errors(report: dict[str, Any]) -> list[tuple[str, int, int]]:
    return sorted((e["type"], e.get("row") or 0, e.get("field_number") or 0) for e in report["errors"])


def run_case(work: Path, label: str, encoding: str, rows: int, skip_frictionless: bool) -> list[dict[str, Any]]:
    path = work / f"victimas-{label}.csv"
    planted = write_csv(path, rows, encoding)
    size = path.stat().st_size
    print(f"\n{label}: {rows:,} rows, {size / 1e6:.1f} MB, planted {planted}", flush=True)
    py = sys.executable
    report_file = work / "report.json"
    clients: list[tuple[str, list[str]]] = []
    if not skip_frictionless:
        clients.append(("frictionless validate", [str(BIN / "frictionless"), "validate", "--trusted", "--json",
                                                  *(["--encoding", encoding] if encoding != "utf-8" else []),
                                                  str(path)]))
    clients += [("harvester validate", [py, "-c", CHILD_VALIDATE, str(path), str(report_file)]),
                ("harvester profile", [py, "-c", CHILD_PROFILE, str(path), encoding]),
                ("duckdb SUMMARIZE", [py, "-c", CHILD_DUCKDB, str(path), encoding, "summarize"]),
                ("harvester profile + Parquet", [py, "-c", CHILD_PROFILE, str(path), encoding,
                                                 str(work / "pack.parquet")]),
                ("duckdb COPY to Parquet", [py, "-c", CHILD_DUCKDB, str(path), encoding, "copy",
                                            str(work / "copy.parquet")])]
    results = []
    for name, argv in clients:
        r = measure(argv)
        r.update(client=name, file=label, rows=rows, bytes=size)
        if name == "frictionless validate" and r["ok"]:
            found = frictionless_errors(r.pop("stdout"))
            r["errors"] = found
            r["summary"] = f"{len(found)} errors {dict(Counter(e[0] for e in found))}"
        elif name == "harvester validate" and r["ok"]:
            r["errors"] = our_errors(json.loads(report_file.read_text()))
        r.pop("stdout", None)
        results.append(r)
        print(f"  {name:<28} {r['seconds']:>7.2f} s (cpu {r['cpu_seconds']:>6.2f} s) {r['peak_mb']:>7.1f} MB  "
              f"{r['summary']}", flush=True)
    by = {r["client"]: r for r in results}
    if "frictionless validate" in by and "errors" in by["frictionless validate"] and "errors" in by["harvester validate"]:
        theirs, ours = by["frictionless validate"]["errors"], by["harvester validate"]["errors"]
        agree = theirs == ours
        print(f"  errors agree on every (type, row, field): {agree}"
              + ("" if agree else f" (only frictionless: {sorted(set(theirs) - set(ours))[:5]}, "
                                  f"only ours: {sorted(set(ours) - set(theirs))[:5]})"))
        ratio = by["frictionless validate"]["seconds"] / by["harvester validate"]["seconds"]
        print(f"  validate: frictionless / harvester = {ratio:.1f}x")
    print(f"  profile / SUMMARIZE = {by['harvester profile']['seconds'] / by['duckdb SUMMARIZE']['seconds']:.2f}x; "
          f"profile + Parquet / COPY = "
          f"{by['harvester profile + Parquet']['seconds'] / by['duckdb COPY to Parquet']['seconds']:.2f}x")
    for r in results:
        r.pop("errors", None)
    path.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["utf-8", "latin-1"])
    parser.add_argument("--skip-frictionless", action="store_true")
    args = parser.parse_args()
    print(f"bench_speed: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, Python "
          f"{sys.version.split()[0]}")
    peak.byte_compile()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as scratch:
        for label in ("utf-8", "latin-1"):
            if args.only in (None, label):
                results += run_case(Path(scratch), label, label, args.rows, args.skip_frictionless)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"speed-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
